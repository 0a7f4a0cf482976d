// Why: server-side apply needs to know who set which field. This keeps, per field manager, the set of leaf
// fields it owns (lists are atomic: a list is one field), in metadata.managedFields as the server does
// (`fieldsV1` trees of `f:` keys), and computes the merges, removals and conflicts of an apply.
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { copy, deepEqual, deepFreeze, deletePath, getPath, isObject, setPath } from './object-util.ts';

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

/** Adds the leaf fields of `v`, found at the (non-empty) path `at`, to `out`. */
function leaves(v: unknown, at: PathKey, out: Set<PathKey>): void {
  if (isObject(v)) {
    const keys = Object.keys(v);
    if (keys.length > 0) {
      for (const k of keys) if (v[k] !== undefined) leaves(v[k], at + SEP + k, out);
      return;
    }
  }
  out.add(at);
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
      if (k === 'status') leaves(v, 'status', out);
      continue;
    }
    if (k === 'status' && statusSubresource) continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!SYSTEM_META.has(mk) && mv !== undefined) leaves(mv, pathKey(['metadata', mk]), out);
      continue;
    }
    leaves(v, pathKey([k]), out);
  }
  return out;
}

export function toFieldsV1(paths: Iterable<PathKey>): JsonObject {
  return treeOf([...paths].sort());
}

function treeOf(sorted: readonly PathKey[]): JsonObject {
  const root: JsonObject = {};
  const owned: JsonObject[] = [];
  const parents = new Set<JsonObject>();
  for (const p of sorted) {
    let node = root;
    for (let start = 0; ; ) {
      const end = p.indexOf(SEP, start);
      const k = `f:${end < 0 ? p.slice(start) : p.slice(start, end)}`;
      parents.add(node);
      let child = node[k];
      if (!isObject(child)) node[k] = child = {};
      node = child;
      if (end < 0) break;
      start = end + 1;
    }
    owned.push(node);
  }
  // A field that is both owned itself and a parent of owned fields is marked with '.'.
  for (const n of owned) if (parents.has(n)) n['.'] = {};
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
  /** The fields it owns; `source`'s decoded (shared, cached) set until changed through `writable`. */
  paths: ReadonlySet<PathKey>;
  /** The stored (frozen) entry this came from: reused as it is when neither its fields nor its time changed. */
  source?: JsonObject;
  sourcePaths?: ReadonlySet<PathKey>;
}

/**
 * Encoded field sets, by content: objects of a kind written by the same controller own the same fields, so their
 * entries share one frozen tree. Bounded; what it holds changes only which equal object is used.
 */
const trees = new Map<string, JsonObject>();
const TREES_MAX = 2000;

function sharedTree(paths: ReadonlySet<PathKey>): JsonObject {
  const sorted = [...paths].sort();
  // A cheap key (no escaping of the NUL separators); a field name holding '\u0001' could make two sets collide, so a
  // hit is checked against the paths the tree decodes to.
  const key = sorted.join('\u0001');
  let tree = trees.get(key);
  if (tree && sameSet(decoded.get(tree) ?? new Set(), paths)) return tree;
  tree = deepFreeze(treeOf(sorted));
  // The next write decodes this tree again: it decodes to these paths.
  decoded.set(tree, new Set(sorted));
  if (trees.size >= TREES_MAX) trees.delete(trees.keys().next().value!);
  trees.set(key, tree);
  return tree;
}

/** Decoded `fieldsV1` trees of stored (frozen, so never changing) entries: a write decodes the same trees again and again. */
const decoded = new WeakMap<object, ReadonlySet<PathKey>>();

function decodeTree(tree: unknown): ReadonlySet<PathKey> | undefined {
  if (!isObject(tree) || !Object.isFrozen(tree)) return undefined;
  let paths = decoded.get(tree);
  if (!paths) decoded.set(tree, (paths = fromFieldsV1(tree)));
  return paths;
}

function decode(o: KubeObject | undefined): Owned[] {
  const list = o?.metadata.managedFields;
  if (!Array.isArray(list)) return [];
  const out: Owned[] = [];
  for (const e of list) {
    if (!isObject(e)) continue;
    const cached = Object.isFrozen(e) ? decodeTree(e.fieldsV1) : undefined;
    if (cached) out.push({ entry: e as unknown as ManagedEntry, paths: cached, source: e, sourcePaths: cached });
    else out.push({ entry: e as unknown as ManagedEntry, paths: fromFieldsV1(e.fieldsV1) });
  }
  return out;
}

/** The owned set, made private (copied from the shared decoded one) before it is changed. */
function writable(o: Owned): Set<PathKey> {
  if (o.paths === o.sourcePaths) o.paths = new Set(o.paths);
  return o.paths as Set<PathKey>;
}

function sameSet(a: ReadonlySet<PathKey>, b: ReadonlySet<PathKey>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const p of a) if (!b.has(p)) return false;
  return true;
}

function encodeOne(o: Owned): JsonObject {
  const src = o.source;
  const unchanged = src !== undefined && o.sourcePaths !== undefined && sameSet(o.paths, o.sourcePaths);
  if (unchanged && src.manager === o.entry.manager && src.operation === o.entry.operation && src.apiVersion === o.entry.apiVersion && src.time === o.entry.time && src.subresource === o.entry.subresource) {
    return src;
  }
  const fieldsV1 = unchanged ? (src.fieldsV1 as JsonObject) : sharedTree(o.paths);
  const e: JsonObject = { manager: o.entry.manager, operation: o.entry.operation, apiVersion: o.entry.apiVersion, time: o.entry.time, fieldsType: 'FieldsV1', fieldsV1 };
  if (o.entry.subresource) e.subresource = o.entry.subresource;
  return e;
}

/**
 * The entries as managedFields. Entries (and the whole list) that did not change are the stored, frozen ones
 * themselves, so the new object shares them with the old one.
 */
function encode(owned: Owned[], before?: readonly unknown[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const o of owned) if (o.paths.size > 0) out.push(encodeOne(o));
  if (before && Object.isFrozen(before) && before.length === out.length && out.every((e, i) => e === before[i])) return before as JsonObject[];
  return out;
}

/** Proper prefixes of every path in `paths`. */
function prefixesOf(paths: Iterable<PathKey>): Set<PathKey> {
  const out = new Set<PathKey>();
  for (const p of paths) for (let i = p.indexOf(SEP); i >= 0; i = p.indexOf(SEP, i + 1)) out.add(p.slice(0, i));
  return out;
}

const isEmptyObject = (v: unknown): boolean => isObject(v) && Object.keys(v).length === 0;

const firstSeg = (p: PathKey): string => {
  const i = p.indexOf(SEP);
  return i < 0 ? p : p.slice(0, i);
};

const FEW_TOUCHED = 8;

/** Whether `q` is `t` or a field under it. */
const atOrUnder = (q: PathKey, t: PathKey): boolean => q.length >= t.length && q.startsWith(t) && (q.length === t.length || q.charCodeAt(t.length) === 0);

/** The fields a write changed (`touched`), with what `removeTouched` needs to know of them, computed once per write. */
interface Touched {
  paths: Set<PathKey>;
  /** The same paths as a list, when there are few: checked by prefix without building each prefix of a field. */
  few?: PathKey[];
  prefixes: Set<PathKey>;
  /** First segments of the touched paths: a field with another first segment is not affected. */
  firsts: Set<string>;
}

function touchedInfo(paths: Set<PathKey>): Touched {
  const firsts = new Set<string>();
  for (const p of paths) firsts.add(firstSeg(p));
  return { paths, prefixes: prefixesOf(paths), firsts, few: paths.size <= FEW_TOUCHED ? [...paths] : undefined };
}

/**
 * Removes from `o` the fields a write changed: each touched field, everything under it, and any owned
 * ancestor that is no longer a map in `next` (owning a map itself is not disturbed by changes inside it).
 */
function removeTouched(o: Owned, touched: Touched, next: KubeObject, regained?: ReadonlySet<PathKey>): void {
  if (touched.paths.size === 0 || o.paths.size === 0) return;
  let gone: PathKey[] | undefined;
  for (const q of o.paths) {
    let drop = false;
    if (touched.few) for (let j = 0; j < touched.few.length && !drop; j++) drop = atOrUnder(q, touched.few[j]);
    else {
      if (!touched.firsts.has(firstSeg(q))) continue;
      drop = touched.paths.has(q);
      for (let i = q.indexOf(SEP); i >= 0 && !drop; i = q.indexOf(SEP, i + 1)) drop = touched.paths.has(q.slice(0, i));
    }
    if (!drop && touched.prefixes.has(q) && !isObject(getPath(next, pathSegs(q)))) drop = true;
    if (drop) (gone ??= []).push(q);
  }
  // The writer's own entry loses nothing when it takes every field it would lose back (see recordUpdate).
  if (!gone || (regained && gone.every((q) => regained.has(q)))) return;
  const paths = writable(o);
  for (const q of gone) paths.delete(q);
}

const ownsAll = (o: Owned, paths: ReadonlySet<PathKey>): boolean => {
  for (const p of paths) if (!o.paths.has(p)) return false;
  return true;
};

const isEntry = (o: Owned, manager: string, operation: Operation, subresource: string | undefined): boolean =>
  o.entry.manager === manager && o.entry.operation === operation && o.entry.subresource === subresource;

function entryFor(owned: Owned[], manager: string, operation: Operation, subresource: string | undefined, apiVersion: string, time: string): Owned {
  let o = owned.find((x) => isEntry(x, manager, operation, subresource));
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
    diffLeaves(old.status, next.status, 'status', touched, gained);
  } else if (old && isObject(old.metadata) && isObject(next.metadata)) {
    diffMain(old, next, statusSubresource, touched, gained);
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
  const list = old?.metadata.managedFields;
  if (touched.size === 0) return encode(owned, list);
  const info = touchedInfo(touched);
  const subresource = scope === 'status' ? 'status' : undefined;
  // The writer's entry, when it already owns every field it gains: removing its touched fields and adding the
  // gained ones back leaves its set as it is, so that set need not be copied.
  const writer = owned.find((o) => isEntry(o, manager, 'Update', subresource));
  const keeps = writer && ownsAll(writer, gained) ? writer : undefined;
  for (const o of owned) removeTouched(o, info, next, o === keeps ? gained : undefined);
  const mine = entryFor(owned, manager, 'Update', subresource, next.apiVersion, time);
  if (!ownsAll(mine, gained)) {
    const paths = writable(mine);
    for (const p of gained) paths.add(p);
  }
  return encode(owned, list);
}

/**
 * The main-scope leaf fields (as `fieldSet` lists them) that differ between `old` and `next`: the same result as
 * comparing both field sets path by path, by one walk that stops at shared (identical) parts.
 */
function diffMain(old: KubeObject, next: KubeObject, statusSubresource: boolean, touched: Set<PathKey>, gained: Set<PathKey>): void {
  const a = old as unknown as JsonObject;
  const b = next as unknown as JsonObject;
  const each = (x: JsonObject, y: JsonObject, visit: (k: string) => void) => {
    for (const k of Object.keys(x)) visit(k);
    for (const k of Object.keys(y)) if (x[k] === undefined) visit(k);
  };
  each(a, b, (k) => {
    if (k === 'apiVersion' || k === 'kind' || (k === 'status' && statusSubresource)) return;
    if (k === 'metadata') {
      const am = a.metadata as JsonObject;
      const bm = b.metadata as JsonObject;
      each(am, bm, (mk) => {
        if (!SYSTEM_META.has(mk)) diffLeaves(am[mk], bm[mk], pathKey(['metadata', mk]), touched, gained);
      });
      return;
    }
    diffLeaves(a[k], b[k], pathKey([k]), touched, gained);
  });
}

const isMap = (v: unknown): v is JsonObject => isObject(v) && Object.keys(v).length > 0;

/**
 * The leaf fields (as `leaves` counts them) that differ between `a` and `b`, both at path `at`: every differing leaf
 * of either side is touched, and those `b` sets are gained. The same result as comparing both leaf sets path by
 * path, computed by one walk that stops at identical parts.
 */
function diffLeaves(a: unknown, b: unknown, at: PathKey, touched: Set<PathKey>, gained: Set<PathKey>): void {
  if (a === b) return;
  if (isMap(a) && isMap(b)) {
    for (const k of Object.keys(a)) if (a[k] !== undefined) diffLeaves(a[k], b[k], at + SEP + k, touched, gained);
    for (const k of Object.keys(b)) if (b[k] !== undefined && a[k] === undefined) diffLeaves(undefined, b[k], at + SEP + k, touched, gained);
    return;
  }
  if (deepEqual(a, b)) return;
  if (a !== undefined) leaves(a, at, touched);
  if (b !== undefined) {
    leaves(b, at, touched);
    leaves(b, at, gained);
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
    const paths = writable(o);
    for (const q of d) paths.delete(q);
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
  next.metadata.managedFields = encode(owned, current.metadata.managedFields);
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
