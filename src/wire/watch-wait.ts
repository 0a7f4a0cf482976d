// Why: waits on Kubernetes objects are driven by watch events, never by sleeping and re-reading: list, check, then
// watch from the list's resourceVersion and re-check on every event. A broken stream or a 410 Expired re-lists
// (bounded), and the whole wait is bounded by a deadline on the injected clock.
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort, GVK, KubeObject, WatchEvent, WatchHandle } from '../../drivers/cluster/cluster.port.ts';
import { DriverError, isDriverError } from '../../drivers/errors.ts';

/** Re-lists after a broken stream or a failed list before the wait gives up (a bound on the loop). */
export const WAIT_RELIST_MAX = 30;
/** Pause before a re-list, so a dead API server is not hammered. */
export const WAIT_RELIST_BACKOFF_MS = 250;
export const WAIT_RELIST_BACKOFF_MAX_MS = 5_000;

export interface WaitScope {
  namespace?: string;
  /** Only this object (others of the kind are ignored). */
  name?: string;
  labelSelector?: string;
}

export interface WaitForOptions {
  clock: ClockPort;
  /** The wait fails with Transient/Timeout once this much time has passed. */
  timeoutMs: number;
  signal?: AbortSignal;
  log?: Logger;
  /** What is waited for, for the timeout message (`VolumeReplication shop/db-data-0 Primary`). */
  what?: string;
}

/**
 * Resolves with the predicate's first non-undefined answer over the objects in scope (keyed by name), checked
 * after the initial list and after every watch event. Rejects with DriverError Transient reason `Timeout` when
 * the deadline passes, or with the list's non-retryable error.
 */
export async function waitFor<T>(
  port: ClusterPort,
  gvk: GVK,
  scope: WaitScope,
  predicate: (objects: ReadonlyMap<string, KubeObject>) => T | undefined,
  opts: WaitForOptions,
): Promise<T> {
  const { clock } = opts;
  const deadline = clock.now() + opts.timeoutMs;
  const what = opts.what ?? `${gvk.kind}${scope.namespace ? ` in ${scope.namespace}` : ''}${scope.name ? ` ${scope.name}` : ''}`;
  const timeout = () =>
    new DriverError('Transient', 'engine', 'waitFor', `Timed out after ${opts.timeoutMs}ms waiting for ${what}`, { reason: 'Timeout' });
  let relists = 0;
  let lastError: unknown;
  for (;;) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (clock.now() >= deadline) throw timeout();
    if (relists > WAIT_RELIST_MAX) {
      throw new DriverError('Transient', 'engine', 'waitFor', `Gave up waiting for ${what} after ${relists} re-lists: ${errorText(lastError)}`, { reason: 'WatchBroken' });
    }
    if (relists > 0) await sleepBounded(clock, Math.min(WAIT_RELIST_BACKOFF_MAX_MS, WAIT_RELIST_BACKOFF_MS * 2 ** Math.min(5, relists - 1)), deadline, opts.signal);
    if (clock.now() >= deadline) throw timeout();
    let list;
    try {
      list = await port.list(gvk, { namespace: scope.namespace, labelSelector: scope.labelSelector, log: opts.log, signal: opts.signal });
    } catch (e) {
      if (isDriverError(e) && e.retryable) {
        lastError = e;
        relists++;
        continue;
      }
      throw e;
    }
    const objects = new Map<string, KubeObject>();
    for (const o of list.items) if (scope.name === undefined || o.metadata.name === scope.name) objects.set(o.metadata.name, o);
    const first = predicate(objects);
    if (first !== undefined) return first;

    const outcome = await watchUntil(port, gvk, scope, list.resourceVersion, objects, predicate, deadline, opts);
    if (outcome.kind === 'satisfied') return outcome.value;
    if (outcome.kind === 'timeout') throw timeout();
    // A stream that ended on an error no retry can mend (a handler that threw, Unauthorized) fails the wait now.
    if (isDriverError(outcome.error) && !outcome.error.retryable) throw outcome.error;
    lastError = outcome.error;
    relists++;
    opts.log?.debug({ what, relists, reason: errorText(outcome.error) }, 'Re-listed after the watch ended');
  }
}

type WatchOutcome<T> = { kind: 'satisfied'; value: T } | { kind: 'timeout' } | { kind: 'broken'; error: unknown };

async function watchUntil<T>(
  port: ClusterPort,
  gvk: GVK,
  scope: WaitScope,
  resourceVersion: string,
  objects: Map<string, KubeObject>,
  predicate: (objects: ReadonlyMap<string, KubeObject>) => T | undefined,
  deadline: number,
  opts: WaitForOptions,
): Promise<WatchOutcome<T>> {
  const timer = new AbortController();
  const onOuterAbort = () => timer.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let settle!: (o: WatchOutcome<T>) => void;
  const result = new Promise<WatchOutcome<T>>((resolve) => (settle = resolve));
  let done = false;
  const finish = (o: WatchOutcome<T>) => {
    if (done) return;
    done = true;
    settle(o);
  };
  const onEvent = (e: WatchEvent) => {
    if (done || e.type === 'BOOKMARK') return;
    if (scope.name !== undefined && e.object.metadata.name !== scope.name) return;
    if (e.type === 'DELETED') objects.delete(e.object.metadata.name);
    else objects.set(e.object.metadata.name, e.object);
    let value: T | undefined;
    try {
      value = predicate(objects);
    } catch (err) {
      finish({ kind: 'broken', error: err });
      return;
    }
    if (value !== undefined) finish({ kind: 'satisfied', value });
  };
  let handle: WatchHandle | undefined;
  try {
    handle = await port.watch(gvk, { namespace: scope.namespace, labelSelector: scope.labelSelector, resourceVersion, log: opts.log, signal: opts.signal }, onEvent);
  } catch (e) {
    opts.signal?.removeEventListener('abort', onOuterAbort);
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (isDriverError(e) && !e.retryable) throw e;
    return { kind: 'broken', error: e };
  }
  handle.done.then(
    (err) => finish({ kind: 'broken', error: err ?? new Error('watch stream ended') }),
    (err) => finish({ kind: 'broken', error: err }),
  );
  opts.clock.sleep(Math.max(0, deadline - opts.clock.now()), timer.signal).then(
    () => finish({ kind: 'timeout' }),
    () => finish({ kind: 'broken', error: opts.signal?.reason ?? new Error('aborted') }),
  );
  try {
    const outcome = await result;
    if (opts.signal?.aborted) throw opts.signal.reason;
    return outcome;
  } finally {
    handle.stop();
    timer.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** Sleeps `ms` but never past the deadline; honours the signal. */
export async function sleepBounded(clock: ClockPort, ms: number, deadline: number, signal?: AbortSignal): Promise<void> {
  const d = Math.max(0, Math.min(ms, deadline - clock.now()));
  if (d > 0) await clock.sleep(d, signal);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
