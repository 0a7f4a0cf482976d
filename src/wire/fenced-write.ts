// Why: "no write carrying a stale fencing token takes effect" must hold on the clusters too, not only in global
// state. Every Kubernetes write of a failover carries its fencing token as an annotation, and is a conditional
// write: read, refuse if the object already carries a HIGHER token (a newer failover wrote it), then merge-patch
// with metadata.resourceVersion as a precondition, retrying a bounded number of times on 409. The read may come
// from a step's watch cache (`cached`): the resourceVersion precondition makes the server refuse the write unless
// the object is still exactly the copy the token was checked on, so a stale copy costs one 409 and a fresh read.
import type { Logger } from 'pino';
import type { ClusterPort, KubeObject, ObjectRef } from '../../drivers/cluster/cluster.port.ts';
import { refString } from '../../drivers/cluster/cluster.port.ts';
import { DriverError, isDriverError } from '../../drivers/errors.ts';
import type { JsonObject } from '../../drivers/json.ts';

export const FENCING_TOKEN_ANNOTATION = 'failover-engine.io/fencing-token';
/** Conflicting writes (409) tolerated before a fenced write gives up. */
export const FENCED_WRITE_CONFLICT_RETRIES_MAX = 5;
/** The field manager of every engine write. */
export const FIELD_MANAGER = 'failover-engine';

export interface FencedWriteOptions {
  token: number;
  log?: Logger;
  signal?: AbortSignal;
  /**
   * A recent copy of the object (a step's shared watch cache), tried instead of the first read. Only a write is
   * ever sent on it, with its resourceVersion as the precondition; every other outcome (nothing to change, a higher
   * token, no such object, a copy without a resourceVersion, a 409) is decided on a fresh read.
   */
  cached?: (ref: ObjectRef) => Promise<KubeObject | undefined>;
}

/** The fencing token an object carries (0 when none or malformed). */
export function fencingTokenOf(obj: KubeObject | undefined): number {
  const raw = obj?.metadata.annotations?.[FENCING_TOKEN_ANNOTATION];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

function staleToken(ref: ObjectRef, ours: number, theirs: number): DriverError {
  return new DriverError(
    'Conflict',
    'engine',
    'fencedWrite',
    `${refString(ref)} carries fencing token ${theirs}, newer than this failover's ${ours}: a newer failover owns it, so this write must not take effect`,
    { reason: 'StaleFencingToken', details: { object: refString(ref), ours, theirs } },
  );
}

/**
 * Applies `change(current)` (a JSON merge patch, or undefined when the object is already as wanted) under the
 * fencing token. Resolves with the object after the write (or as read, when nothing changed and it already
 * carries this token). NotFound when the object does not exist.
 */
export async function fencedPatch(
  port: ClusterPort,
  ref: ObjectRef,
  change: (current: KubeObject) => JsonObject | undefined,
  opts: FencedWriteOptions,
): Promise<KubeObject> {
  // A cached copy is tried once, for the first write only; it never counts as one of the conflict retries.
  let fromCache = opts.cached !== undefined;
  for (let attempt = 0; ; ) {
    if (fromCache) {
      fromCache = false;
      const copy = await opts.cached!(ref);
      const theirs = fencingTokenOf(copy);
      const patch = copy?.metadata.resourceVersion && theirs <= opts.token ? change(copy) : undefined;
      // Only a write goes out on the copy; "nothing to do", a higher token or a missing object is seen afresh.
      if (copy && patch !== undefined) {
        try {
          return await port.mergePatch(ref, fencedBody(copy, patch, opts.token), { log: opts.log, signal: opts.signal, fieldManager: FIELD_MANAGER });
        } catch (e) {
          if (!isConflict(e)) throw e; // a 409: the copy was stale, read afresh
        }
      }
    }
    const current = await port.get(ref, { log: opts.log, signal: opts.signal });
    if (!current) throw new DriverError('NotFound', 'kubernetes', 'fencedWrite', `${refString(ref)} does not exist on ${port.cluster}`, { reason: 'NotFound', code: 404 });
    const theirs = fencingTokenOf(current);
    if (theirs > opts.token) throw staleToken(ref, opts.token, theirs);
    const patch = change(current);
    if (patch === undefined && theirs === opts.token) return current;
    try {
      return await port.mergePatch(ref, fencedBody(current, patch, opts.token), { log: opts.log, signal: opts.signal, fieldManager: FIELD_MANAGER });
    } catch (e) {
      if (isConflict(e) && attempt < FENCED_WRITE_CONFLICT_RETRIES_MAX) {
        attempt++;
        continue;
      }
      throw e;
    }
  }
}

/** A 409 from a resourceVersion precondition (or an injected one): retried on a fresh read. */
function isConflict(e: unknown): boolean {
  return isDriverError(e) && e.kind === 'Conflict' && (e.reason === 'Conflict' || e.reason === undefined);
}

/** The merge patch carrying the token, with the read's resourceVersion as the precondition. */
function fencedBody(current: KubeObject, patch: JsonObject | undefined, token: number): JsonObject {
  const meta = (patch?.metadata ?? {}) as JsonObject;
  const annotations = { ...((meta.annotations ?? {}) as JsonObject), [FENCING_TOKEN_ANNOTATION]: String(token) };
  return {
    ...(patch ?? {}),
    metadata: { ...meta, annotations, ...(current.metadata.resourceVersion !== undefined ? { resourceVersion: current.metadata.resourceVersion } : {}) },
  };
}

/**
 * Creates the object carrying the token, or, when it exists, fenced-patches it to `obj`'s spec and annotations
 * (idempotent: a re-run after a lost answer converges on the same object).
 */
export async function fencedEnsure(port: ClusterPort, obj: KubeObject, opts: FencedWriteOptions): Promise<KubeObject> {
  const ref: ObjectRef = { ...gvkFromApiVersion(obj), name: obj.metadata.name };
  if (obj.metadata.namespace !== undefined) ref.namespace = obj.metadata.namespace;
  const existing = await port.get(ref, { log: opts.log, signal: opts.signal });
  if (!existing) {
    const withToken: KubeObject = {
      ...obj,
      metadata: { ...obj.metadata, annotations: { ...(obj.metadata.annotations ?? {}), [FENCING_TOKEN_ANNOTATION]: String(opts.token) } },
    };
    try {
      return await port.create(withToken, { log: opts.log, signal: opts.signal, fieldManager: FIELD_MANAGER });
    } catch (e) {
      if (!(isDriverError(e) && e.kind === 'Conflict' && e.reason === 'AlreadyExists')) throw e;
    }
  }
  return fencedPatch(
    port,
    ref,
    (current) => {
      const same = JSON.stringify(current.spec ?? {}) === JSON.stringify({ ...(current.spec ?? {}), ...(obj.spec ?? {}) });
      return same ? undefined : { spec: obj.spec ?? {} };
    },
    opts,
  );
}

function gvkFromApiVersion(obj: KubeObject) {
  const i = obj.apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: obj.apiVersion, kind: obj.kind } : { group: obj.apiVersion.slice(0, i), version: obj.apiVersion.slice(i + 1), kind: obj.kind };
}
