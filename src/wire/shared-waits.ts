// Why: a failover step waits on many objects of one kind at once (1,000 workloads scaled down, 1,000 volumes
// promoted). Each wait on its own lists the whole kind in the namespace (the cluster port has no field selector)
// and opens its own watch: N waits cost N lists of N objects. SharedWaits serves every wait of one step from ONE
// list and ONE watch per kind and namespace, kept until the step closes it, with the same semantics as
// watch-wait.ts `waitFor` (predicate over the objects in scope, checked after the list and on every event that
// touches them; bounded re-lists with backoff after a broken stream; a non-retryable list error fails the waits;
// a deadline per wait on the injected clock). The same feed also serves the read before a fenced write
// (`cached`): a write sent with the cached object's resourceVersion either lands on exactly that version or is
// refused with 409, so a stale cache costs a conflict and a fresh read, never a write on unchecked state.
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort, GVK, KubeObject, ObjectRef, WatchEvent, WatchHandle } from '../../drivers/cluster/cluster.port.ts';
import { DriverError, isDriverError } from '../../drivers/errors.ts';
import { WAIT_RELIST_BACKOFF_MAX_MS, WAIT_RELIST_BACKOFF_MS, WAIT_RELIST_MAX, waitFor, type WaitForOptions, type WaitScope } from './watch-wait.ts';

interface Waiter {
  scope: WaitScope;
  /** Equality pairs of the label selector (scope.labelSelector), when the wait has one. */
  labels?: ReadonlyArray<readonly [string, string]>;
  /** The objects in scope, kept current for selector waits; named waits read the feed directly. */
  inScope?: Map<string, KubeObject>;
  check(): void;
  fail(e: unknown): void;
}

/** `a=b,c=d` (what workload.ts selectorOf builds) as pairs; undefined for any other selector syntax. */
export function equalitySelector(selector: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  for (const part of selector.split(',')) {
    const m = /^\s*([A-Za-z0-9._/-]+)\s*==?\s*([A-Za-z0-9._-]*)\s*$/.exec(part);
    if (!m) return undefined;
    pairs.push([m[1], m[2]]);
  }
  return pairs.length ? pairs : undefined;
}

/**
 * Why a settled wait cancels its timeout sleep. Nothing reads it (that sleep's rejection is ignored); one shared
 * reason spares every wait the DOMException a reason-less abort() builds.
 */
const WAIT_SETTLED = new Error('the wait settled');
/** Why a closed feed stops its list, watch and backoff sleep: the feed's loop ends on it without reading it. */
const FEED_CLOSED = new Error('shared wait closed');

function matches(obj: KubeObject, labels: ReadonlyArray<readonly [string, string]>): boolean {
  const have = obj.metadata.labels;
  return labels.every(([k, v]) => have?.[k] === v);
}

/** One list and one watch of a kind in a namespace, serving every waiter registered on it. */
class Feed {
  readonly objects = new Map<string, KubeObject>();
  private readonly byName = new Map<string, Set<Waiter>>();
  private readonly bySelector = new Set<Waiter>();
  private synced = false;
  private closed = false;
  private handle: WatchHandle | undefined;
  private readonly stop = new AbortController();
  private markListed!: () => void;
  /** Settles once the first list has answered (either way) or the feed closed: `cached` never waits longer. */
  readonly firstListed = new Promise<void>((resolve) => (this.markListed = resolve));

  constructor(
    private readonly port: ClusterPort,
    private readonly gvk: GVK,
    private readonly namespace: string | undefined,
    private readonly clock: ClockPort,
    private readonly log: Logger | undefined,
    private readonly onEnd: () => void,
  ) {
    void this.loop();
  }

  get isSynced(): boolean {
    return this.synced;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  add(w: Waiter): void {
    if (w.scope.name !== undefined) {
      let set = this.byName.get(w.scope.name);
      if (!set) this.byName.set(w.scope.name, (set = new Set()));
      set.add(w);
    } else {
      w.inScope = new Map();
      if (this.synced) for (const [n, o] of this.objects) if (!w.labels || matches(o, w.labels)) w.inScope.set(n, o);
      this.bySelector.add(w);
    }
    if (this.synced) w.check();
  }

  remove(w: Waiter): void {
    if (w.scope.name !== undefined) {
      const set = this.byName.get(w.scope.name);
      set?.delete(w);
      if (set && set.size === 0) this.byName.delete(w.scope.name);
    } else this.bySelector.delete(w);
  }

  /** Stops the list and watch; waits still open fail with the error `reason` makes (made only when one is open). */
  close(reason?: () => unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.markListed();
    this.stop.abort(FEED_CLOSED);
    this.handle?.stop();
    if (reason === undefined) return;
    const open = this.waiters();
    if (open.length === 0) return;
    const error = reason();
    for (const w of open) w.fail(error);
  }

  private waiters(): Waiter[] {
    return [...[...this.byName.values()].flatMap((s) => [...s]), ...this.bySelector];
  }

  private failAll(e: unknown): void {
    this.onEnd();
    this.close(() => e);
  }

  /** List, then watch from the list's resourceVersion; after a broken stream, re-list (bounded, with backoff). */
  private async loop(): Promise<void> {
    let relists = 0;
    let lastError: unknown;
    while (!this.closed) {
      if (relists > WAIT_RELIST_MAX) {
        return this.failAll(new DriverError('Transient', 'engine', 'waitFor', `Gave up waiting for ${this.gvk.kind}${this.namespace ? ` in ${this.namespace}` : ''} after ${relists} re-lists: ${errorText(lastError)}`, { reason: 'WatchBroken' }));
      }
      if (relists > 0) {
        try {
          await this.clock.sleep(Math.min(WAIT_RELIST_BACKOFF_MAX_MS, WAIT_RELIST_BACKOFF_MS * 2 ** Math.min(5, relists - 1)), this.stop.signal);
        } catch {
          return;
        }
      }
      let list;
      try {
        list = await this.port.list(this.gvk, { namespace: this.namespace, log: this.log, signal: this.stop.signal });
      } catch (e) {
        this.markListed();
        if (this.closed) return;
        if (isDriverError(e) && e.retryable) {
          lastError = e;
          relists++;
          continue;
        }
        return this.failAll(e);
      }
      if (this.closed) return;
      this.objects.clear();
      for (const o of list.items) this.objects.set(o.metadata.name, o);
      this.synced = true;
      this.markListed();
      for (const w of this.bySelector) {
        w.inScope!.clear();
        for (const [n, o] of this.objects) if (!w.labels || matches(o, w.labels)) w.inScope!.set(n, o);
      }
      for (const w of this.waiters()) w.check();
      if (this.closed) return;

      let handle: WatchHandle;
      try {
        handle = await this.port.watch(this.gvk, { namespace: this.namespace, resourceVersion: list.resourceVersion, log: this.log, signal: this.stop.signal }, (e) => this.apply(e));
      } catch (e) {
        if (this.closed) return;
        if (isDriverError(e) && !e.retryable) return this.failAll(e);
        lastError = e;
        relists++;
        continue;
      }
      this.handle = handle;
      if (this.closed) {
        handle.stop();
        return;
      }
      let err: unknown;
      try {
        err = (await handle.done) ?? new Error('watch stream ended');
      } catch (e) {
        err = e;
      }
      this.handle = undefined;
      if (this.closed) return;
      // A stream that ended on an error no retry can mend (a handler that threw, Unauthorized) fails the waits now.
      if (isDriverError(err) && !err.retryable) return this.failAll(err);
      lastError = err;
      relists++;
      this.log?.debug({ kind: this.gvk.kind, namespace: this.namespace, relists, reason: errorText(err) }, 'Re-listed after the watch ended');
    }
  }

  private apply(e: WatchEvent): void {
    if (this.closed || e.type === 'BOOKMARK') return;
    const name = e.object.metadata.name;
    if (e.type === 'DELETED') this.objects.delete(name);
    else this.objects.set(name, e.object);
    const named = this.byName.get(name);
    if (named) for (const w of [...named]) w.check();
    for (const w of [...this.bySelector]) {
      const inScope = w.inScope!;
      const now = e.type !== 'DELETED' && (!w.labels || matches(e.object, w.labels));
      if (now) inScope.set(name, e.object);
      else if (!inScope.delete(name)) continue;
      w.check();
    }
  }
}

/**
 * One wait registered on a feed: its predicate is checked against the objects in scope until it gives a value, the
 * wait's signal aborts, its timeout passes or the feed fails. A class rather than closures: a step opens one per
 * resource, and it is its own abort listener (handleEvent).
 */
class Wait<T> implements Waiter {
  readonly labels?: ReadonlyArray<readonly [string, string]>;
  inScope?: Map<string, KubeObject>;
  /** Cancels the timeout sleep; made only for a wait the feed did not settle at once. */
  timer: AbortController | undefined;
  settled = false;
  /** The one-entry view a named wait's predicate gets. */
  private single: Map<string, KubeObject> | undefined;

  constructor(
    readonly feed: Feed,
    readonly scope: WaitScope,
    labels: ReadonlyArray<readonly [string, string]> | undefined,
    private readonly predicate: (objects: ReadonlyMap<string, KubeObject>) => T | undefined,
    private readonly resolve: (v: T) => void,
    private readonly reject: (e: unknown) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (labels) this.labels = labels;
  }

  check(): void {
    if (this.settled) return;
    let view: ReadonlyMap<string, KubeObject>;
    const name = this.scope.name;
    if (name !== undefined) {
      const single = (this.single ??= new Map());
      single.clear();
      const o = this.feed.objects.get(name);
      if (o && (!this.labels || matches(o, this.labels))) single.set(name, o);
      view = single;
    } else view = this.inScope!;
    let value: T | undefined;
    try {
      value = this.predicate(view);
    } catch (e) {
      return this.finish(false, e);
    }
    if (value !== undefined) this.finish(true, value);
  }

  fail(e: unknown): void {
    this.finish(false, e);
  }

  /** The wait's signal aborted. */
  handleEvent(): void {
    this.finish(false, this.signal?.reason);
  }

  finish(ok: boolean, v: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.feed.remove(this);
    this.timer?.abort(WAIT_SETTLED);
    this.signal?.removeEventListener('abort', this);
    if (ok) this.resolve(v as T);
    else this.reject(v);
  }
}

function timedOut(gvk: GVK, scope: WaitScope, opts: WaitForOptions): DriverError {
  const what = opts.what ?? `${gvk.kind}${scope.namespace ? ` in ${scope.namespace}` : ''}${scope.name ? ` ${scope.name}` : ''}`;
  return new DriverError('Transient', 'engine', 'waitFor', `Timed out after ${opts.timeoutMs}ms waiting for ${what}`, { reason: 'Timeout' });
}

/**
 * The waits of one step, sharing one list and watch per kind and namespace. Close it when the step ends (the
 * feeds stop; waits still open fail with the close's reason). A wait whose label selector is not of the
 * `a=b,c=d` form falls back to watch-wait.ts `waitFor`.
 */
export class SharedWaits {
  private readonly feeds = new Map<string, Feed>();
  private closed = false;

  constructor(
    private readonly port: ClusterPort,
    private readonly clock: ClockPort,
    private readonly log?: Logger,
  ) {}

  /** Same contract as watch-wait.ts `waitFor`. */
  waitFor<T>(gvk: GVK, scope: WaitScope, predicate: (objects: ReadonlyMap<string, KubeObject>) => T | undefined, opts: WaitForOptions): Promise<T> {
    const labels = scope.labelSelector !== undefined ? equalitySelector(scope.labelSelector) : undefined;
    if (this.closed || (scope.labelSelector !== undefined && !labels)) return waitFor(this.port, gvk, scope, predicate, opts);
    return new Promise<T>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      if (opts.timeoutMs <= 0) return reject(timedOut(gvk, scope, opts));
      const wait = new Wait(this.feedOf(gvk, scope.namespace), scope, labels, predicate, resolve, reject, opts.signal);
      opts.signal?.addEventListener('abort', wait, { once: true });
      // A synced feed may settle the wait right here; only a wait still open needs its timeout (a sleep started
      // and aborted at once would never be scheduled anyway, so skipping it changes no event).
      wait.feed.add(wait);
      if (wait.settled) return;
      wait.timer = new AbortController();
      this.clock.sleep(Math.max(0, opts.timeoutMs), wait.timer.signal).then(
        () => wait.finish(false, timedOut(gvk, scope, opts)),
        () => {},
      );
    });
  }

  /**
   * The object as the shared cache holds it (after the feed's first list), for a wait that needs one read of an
   * object of the same kind first (the workload whose pods it waits on). Undefined when it does not exist.
   */
  get(gvk: GVK, namespace: string, name: string, opts: WaitForOptions): Promise<KubeObject | undefined> {
    const missing = Symbol('missing');
    return this.waitFor(gvk, { namespace, name }, (objects) => objects.get(name) ?? missing, opts).then((o) => (o === missing ? undefined : (o as KubeObject)));
  }

  /**
   * Opens the list+watch of a kind now (when not open yet), so that the reads before a step's fenced writes can be
   * served from it (`cached`) before any wait on the kind registers.
   */
  open(gvk: GVK, namespace: string | undefined): void {
    if (!this.closed) this.feedOf(gvk, namespace);
  }

  /**
   * The object as the feed of its kind last saw it, for the read before a fenced write: undefined when no feed of
   * the kind is open (nothing is opened here), when its first list failed, when the feed has closed, or when the
   * object is not in it. Waits for the feed's first list only. The copy may be stale (the watch lags, a broken
   * stream is being re-listed): the caller must send its resourceVersion as a precondition (fenced-write.ts does).
   */
  async cached(gvk: GVK, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const feed = this.closed ? undefined : this.feeds.get(feedKey(gvk, namespace));
    if (!feed) return undefined;
    await feed.firstListed;
    return feed.isSynced && !feed.isClosed ? feed.objects.get(name) : undefined;
  }

  /** `cached` in the shape fenced-write.ts takes (FencedWriteOptions.cached). */
  readonly cachedRef = (ref: ObjectRef): Promise<KubeObject | undefined> => this.cached(ref, ref.namespace, ref.name);

  /** Stops every feed (a wait still open fails: the step that owned it ended); later waits fall back to `waitFor`. */
  close(): void {
    this.closed = true;
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    for (const f of feeds) f.close(() => new DriverError('Transient', 'engine', 'waitFor', 'The step that owned this wait ended', { reason: 'Aborted' }));
  }

  private feedOf(gvk: GVK, namespace: string | undefined): Feed {
    const key = feedKey(gvk, namespace);
    let f = this.feeds.get(key);
    if (!f) {
      const feed = new Feed(this.port, gvk, namespace, this.clock, this.log, () => {
        if (this.feeds.get(key) === feed) this.feeds.delete(key);
      });
      this.feeds.set(key, (f = feed));
    }
    return f;
  }
}

function feedKey(gvk: GVK, namespace: string | undefined): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}/${namespace ?? ''}`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
