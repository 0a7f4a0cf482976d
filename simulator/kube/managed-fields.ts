// Why: server-side apply needs to know who set which field. This keeps, per field manager, the set of leaf
// fields it owns (lists are atomic: a list is one field), in metadata.managedFields as the server does
// (`fieldsV1` trees of `f:` keys), and computes the merges, removals and conflicts of an apply.
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { copy, deepEqual, deletePath, getPath, isObject, setPath } from './object-util.ts';

export type Operation = 'Apply' | 'Update';

export interface ManagedEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

/** A field path as one string: segments joined by NUL (label keys contain dots and slashes). */
export type PathKey = string;
const SEP = '\u0000';

export const pathKey = (segs: readonly string[]): PathKey => segs.join(SEP);
export const pathSegs = (k: PathKey): string[] => k.split(SEP);
/** `.spec.template.metadata.labels.app`, as the server prints a field in a conflict. */
export const showPath = (k: PathKey): string => `.${pathSegs(k).join('.')}`;

/** Metadata the server owns: never tracked as a manager's field. */
const SYSTEM_META = new Set([
  'name',
  'namespace',
  'generateName',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

export type Scope = 'main' | 'status';

function leaves(v: unknown, prefix: string[], out: Set<PathKey>): void {
  if (isObject(v) && Object.keys(v).length > 0) {
    for (const [k, c] of Object.entries(v)) if (c !== undefined) leaves(c, [...prefix, k], out);
  } else out.add(pathKey(prefix));
}

/**
 * The leaf fields an object sets, in a scope: `main` is everything but server-owned metadata (and status when
 * status is a subresource); `status` is status alone.
 */
export function fieldSet(o: KubeObject, scope: Scope, statusSubresource: boolean): Set<PathKey> {
  const out = new Set<PathKey>();
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || k === 'apiVersion' || k === 'kind') continue;
    if (scope === 'status') {
      if (k === 'status') leaves(v, ['status'], out);
      continue;
    }
    if (k === 'status' && statusSubresource) continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!SYSTEM_META.has(mk) && mv !== undefined) leaves(mv, ['metadata', mk], out);
      continue;
    }
    leaves(v, [k], out);
  }
  return out;
}

export function toFieldsV1(paths: Iterable<PathKey>): JsonObject {
  const root: JsonObject = {};
  const nodes: JsonObject[] = [];
  for (const p of [...paths].sort()) {
    let node = root;
    for (const seg of pathSegs(p)) {
      const k = `f:${seg}`;
      if (!isObject(node[k])) node[k] = {};
      node = node[k] as JsonObject;
    }
    nodes.push(node);
  }
  // A field that is both owned itself and a parent of owned fields is marked with '.'.
  for (const n of nodes) if (Object.keys(n).length > 0) n['.'] = {};
  return root;
}

export function fromFieldsV1(tree: unknown): Set<PathKey> {
  const out = new Set<PathKey>();
  const walk = (node: unknown, prefix: string[]) => {
    if (!isObject(node)) return;
    const keys = Object.keys(node);
    if (prefix.length > 0 && (keys.length === 0 || '.' in node)) out.add(pathKey(prefix));
    for (const k of keys) if (k.startsWith('f:')) walk(node[k], [...prefix, k.slice(2)]);
  };
  walk(tree, []);
  return out;
}

interface Owned {
  entry: ManagedEntry;
  paths: Set<PathKey>;
  /** The encoded tree `paths` came from, while they are unchanged (a stored, frozen object: reused as it is). */
  fieldsV1?: JsonObject;
}

/** Decoded `fieldsV1` trees of stored (frozen, so never changing) entries: a write decodes the same trees again and again. */
const decoded = new WeakMap<object, ReadonlySet<PathKey>>();

function decodeTree(tree: unknown): Set<PathKey> {
  if (!isObject(tree) || !Object.isFrozen(tree)) return fromFieldsV1(tree);
  let paths = decoded.get(tree);
  if (!paths) decoded.set(tree, (paths = fromFieldsV1(tree)));
  return new Set(paths);
}

function decode(o: KubeObject | undefined): Owned[] {
  const list = o?.metadata.managedFields;
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((e) => {
    const owned: Owned = { entry: e as unknown as ManagedEntry, paths: decodeTree(e.fieldsV1) };
    if (isObject(e.fieldsV1) && Object.isFrozen(e.fieldsV1)) owned.fieldsV1 = e.fieldsV1;
    return owned;
  });
}

function encode(owned: Owned[]): JsonObject[] {
  return owned
    .filter((o) => o.paths.size > 0)
    .map((o) => {
      const e: JsonObject = { manager: o.entry.manager, operation: o.entry.operation, apiVersion: o.entry.apiVersion, time: o.entry.time, fieldsType: 'FieldsV1', fieldsV1: o.fieldsV1 ?? toFieldsV1(o.paths) };
      if (o.entry.subresource) e.subresource = o.entry.subresource;
      return e;
    });
}

/** Proper prefixes of every path in `paths`. */
function prefixesOf(paths: Iterable<PathKey>): Set<PathKey> {
  const out = new Set<PathKey>();
  for (const p of paths) {
    const segs = pathSegs(p);
    for (let i = 1; i < segs.length; i++) out.add(pathKey(segs.slice(0, i)));
  }
  return out;
}

const isEmptyObject = (v: unknown): boolean => isObject(v) && Object.keys(v).length === 0;

/**
 * Removes from `from` the fields a write changed: each touched field, everything under it, and any owned
 * ancestor that is no longer a map in `next` (owning a map itself is not disturbed by changes inside it).
 */
function removeTouched(from: Set<PathKey>, touched: Set<PathKey>, next: KubeObject): boolean {
  if (touched.size === 0 || from.size === 0) return false;
  const size = from.size;
  const touchedPrefixes = prefixesOf(touched);
  for (const q of [...from]) {
    if (touched.has(q)) {
      from.delete(q);
      continue;
    }
    const segs = pathSegs(q);
    let under = false;
    for (let i = 1; i < segs.length && !under; i++) under = touched.has(pathKey(segs.slice(0, i)));
    if (under || (touchedPrefixes.has(q) && !isObject(getPath(next, segs)))) from.delete(q);
  }
  return from.size !== size;
}

function entryFor(owned: Owned[], manager: string, operation: Operation, subresource: string | undefined, apiVersion: string, time: string): Owned {
  let o = owned.find((x) => x.entry.manager === manager && x.entry.operation === operation && x.entry.subresource === subresource);
  if (!o) {
    const entry: ManagedEntry = { manager, operation, apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: {} };
    if (subresource) entry.subresource = subresource;
    o = { entry, paths: new Set() };
    owned.push(o);
  }
  o.entry = { ...o.entry, apiVersion, time };
  return o;
}

/**
 * The managedFields after a non-apply write (create, update, patch, status write) by `manager`: it takes the
 * fields it changed, from whoever owned them; removed fields are owned by nobody. Unchanged entries keep their time.
 */
export function recordUpdate(old: KubeObject | undefined, next: KubeObject, manager: string, scope: Scope, statusSubresource: boolean, time: string): JsonObject[] {
  const owned = decode(old);
  const touched = new Set<PathKey>();
  const gained = new Set<PathKey>();
  if (old && scope === 'status') {
    // A status write: walk the two statuses together, skipping shared (identical) parts, instead of listing and
    // comparing every leaf of both.
    diffLeaves(old.status, next.status, ['status'], touched, gained);
  } else {
    const before = old ? fieldSet(old, scope, statusSubresource) : new Set<PathKey>();
    const after = fieldSet(next, scope, statusSubresource);
    for (const p of after) {
      if (!old || !deepEqual(getPath(old, pathSegs(p)), getPath(next, pathSegs(p)))) {
        touched.add(p);
        gained.add(p);
      }
    }
    for (const p of before) if (!after.has(p) || !deepEqual(getPath(old, pathSegs(p)), getPath(next, pathSegs(p)))) touched.add(p);
  }
  if (touched.size === 0) return encode(owned);
  for (const o of owned) if (removeTouched(o.paths, touched, next)) delete o.fieldsV1;
  const mine = entryFor(owned, manager, 'Update', scope === 'status' ? 'status' : undefined, next.apiVersion, time);
  for (const p of gained) mine.paths.add(p);
  if (gained.size > 0) delete mine.fieldsV1;
  return encode(owned);
}

const isMap = (v: unknown): v is JsonObject => isObject(v) && Object.keys(v).length > 0;

/**
 * The leaf fields (as `leaves` counts them) that differ between `a` and `b` under `prefix`: every differing leaf
 * of either side is touched, and those `b` sets are gained. The same result as comparing both leaf sets path by
 * path, computed by one walk that stops at identical parts.
 */
function diffLeaves(a: unknown, b: unknown, prefix: string[], touched: Set<PathKey>, gained: Set<PathKey>): void {
  if (a === b) return;
  if (isMap(a) && isMap(b)) {
    for (const k of Object.keys(a)) if (a[k] !== undefined) diffLeaves(a[k], b[k], [...prefix, k], touched, gained);
    for (const k of Object.keys(b)) if (b[k] !== undefined && a[k] === undefined) diffLeaves(undefined, b[k], [...prefix, k], touched, gained);
    return;
  }
  if (deepEqual(a, b)) return;
  if (a !== undefined) {
    const was = new Set<PathKey>();
    leaves(a, prefix, was);
    for (const p of was) touched.add(p);
  }
  if (b !== undefined) {
    const now = new Set<PathKey>();
    leaves(b, prefix, now);
    for (const p of now) {
      touched.add(p);
      gained.add(p);
    }
  }
}

export interface ApplyConflict {
  manager: string;
  apiVersion: string;
  path: PathKey;
}

export interface ApplyResult {
  /** The merged object (set only when there is no conflict, or force). */
  object?: KubeObject;
  conflicts: ApplyConflict[];
}

/** The managedFields of an object created by apply. */
export function appliedFields(cfg: KubeObject, manager: string, statusSubresource: boolean, time: string): JsonObject[] {
  const entry: ManagedEntry = { manager, operation: 'Apply', apiVersion: cfg.apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: {} };
  return encode([{ entry, paths: fieldSet(cfg, 'main', statusSubresource) }]);
}

/**
 * Server-side apply of `cfg` by `manager` onto `current`: fields another manager owns with a different value
 * conflict (unless `force`, which takes them); fields this manager applied last time and no longer applies are
 * removed unless another manager also owns them. Returns the merged object with its new managedFields.
 */
export function mergeApply(current: KubeObject, cfg: KubeObject, manager: string, force: boolean, statusSubresource: boolean, time: string): ApplyResult {
  const owned = decode(current);
  const wanted = fieldSet(cfg, 'main', statusSubresource);
  const isMine = (o: Owned) => o.entry.manager === manager && o.entry.operation === 'Apply' && !o.entry.subresource;
  const others = owned.filter((o) => !isMine(o) && !o.entry.subresource);
  const otherPrefixes = new Map(others.map((o) => [o, prefixesOf(o.paths)]));
  const conflicts: ApplyConflict[] = [];
  const drop = new Map<Owned, Set<PathKey>>();
  for (const p of [...wanted].sort()) {
    const segs = pathSegs(p);
    const want = getPath(cfg, segs);
    const have = getPath(current, segs);
    if (deepEqual(want, have)) continue;
    // An empty map in the config claims the map, not its contents: no conflict while it is a map.
    const mapOnly = isEmptyObject(want);
    if (mapOnly && isObject(have)) continue;
    for (const o of others) {
      const lost = new Set<PathKey>();
      if (o.paths.has(p)) lost.add(p);
      for (let i = 1; i < segs.length; i++) {
        const a = pathKey(segs.slice(0, i));
        if (o.paths.has(a) && !isObject(getPath(current, segs.slice(0, i)))) lost.add(a);
      }
      if (!mapOnly && otherPrefixes.get(o)!.has(p)) for (const q of o.paths) if (q.startsWith(p + SEP)) lost.add(q);
      if (lost.size === 0) continue;
      conflicts.push({ manager: o.entry.manager, apiVersion: o.entry.apiVersion, path: p });
      const d = drop.get(o) ?? new Set<PathKey>();
      for (const q of lost) d.add(q);
      drop.set(o, d);
    }
  }
  if (conflicts.length > 0 && !force) return { conflicts };
  for (const [o, d] of drop) {
    for (const q of d) o.paths.delete(q);
    delete o.fieldsV1;
  }

  const next = copy(current);
  const previous = owned.find(isMine)?.paths ?? new Set<PathKey>();
  const afterForce = others.map((o) => ({ paths: o.paths, prefixes: prefixesOf(o.paths) }));
  // Another manager still owns q, or something under it: q stays.
  const ownedByOthers = (q: PathKey) => afterForce.some((o) => o.paths.has(q) || o.prefixes.has(q));
  for (const q of [...previous].sort().reverse()) {
    if (wanted.has(q) || ownedByOthers(q)) continue;
    const segs = pathSegs(q);
    deletePath(next as unknown as JsonObject, segs);
    // Drop parents the removal left empty, unless someone owns or applies them.
    for (let i = segs.length - 1; i > 0; i--) {
      const parent = segs.slice(0, i);
      const pk = pathKey(parent);
      const v = getPath(next, parent);
      if (!isObject(v) || Object.keys(v).length > 0 || wanted.has(pk) || ownedByOthers(pk) || (parent.length === 1 && parent[0] === 'metadata')) break;
      deletePath(next as unknown as JsonObject, parent);
    }
  }
  for (const p of wanted) {
    const segs = pathSegs(p);
    const v = getPath(cfg, segs);
    if (v === undefined) continue;
    if (isObject(v) && Object.keys(v).length === 0) {
      if (!isObject(getPath(next, segs))) setPath(next as unknown as JsonObject, segs, {});
    } else setPath(next as unknown as JsonObject, segs, copy(v));
  }
  const mine = entryFor(owned, manager, 'Apply', undefined, cfg.apiVersion, time);
  mine.paths = wanted;
  delete mine.fieldsV1;
  next.metadata.managedFields = encode(owned);
  return { object: next, conflicts };
}

/** `Apply failed with 2 conflicts: conflicts with "alice" using v1:\n- .data.a\n- .data.b` (the server's words). */
export function conflictMessage(conflicts: ApplyConflict[]): string {
  const byManager = new Map<string, ApplyConflict[]>();
  for (const c of conflicts) byManager.set(`${c.manager}\u0000${c.apiVersion}`, [...(byManager.get(`${c.manager}\u0000${c.apiVersion}`) ?? []), c]);
  const n = conflicts.length;
  const parts = [...byManager.values()].map((cs) =>
    cs.length === 1 && n === 1
      ? `conflict with "${cs[0].manager}" using ${cs[0].apiVersion}: ${showPath(cs[0].path)}`
      : `conflicts with "${cs[0].manager}" using ${cs[0].apiVersion}:\n${cs.map((c) => `- ${showPath(c.path)}`).join('\n')}`,
  );
  return `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}`;
}
