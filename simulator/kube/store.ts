// Why: one simulated cluster's API server state, with the real server's semantics (resourceVersions,
// optimistic concurrency, generation, status subresource, finalizers, server-side apply, schema validation,
// label selectors, watch with a bounded history), so simulated runs exercise what a real cluster would do.
// Stored objects are deep-frozen when they are stored (a write stores a new object, sharing the unchanged frozen
// parts of the old one), so the watch history, the store's listeners, watchers and the read-only reads (`peek`,
// `peekList`) all share them without copying; `get`, `list` and the writes' results are copies the caller may change.
import jsonpatch from 'fast-json-patch';
import { apiVersionOf, gvkOf, type ApplyOpts, type DeleteOpts, type GVK, type KubeObject, type ListOpts, type ObjectList, type ObjectRef, type WatchEvent, type WatchOpts, type WriteOpts } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import {
  alreadyExists,
  applyConflict,
  badRequest,
  cause,
  conflict,
  expired,
  invalid,
  notFound,
  patchFailed,
  tooLargeResourceVersion,
  unknownResource,
  type FieldCause,
} from './api-errors.ts';
import { applyBuiltinDefaults, builtinCauses, prepareForCreate } from './builtin-types.ts';
import { EVERYTHING, parseLabelSelector, type LabelSelector } from './label-selector.ts';
import { appliedFields, conflictMessage, mergeApply, recordUpdate, showPath, type Scope } from './managed-fields.ts';
import { metadataCauses } from './metadata.ts';
import { copy, copyJson, copyJsonSharing, deepFreeze, deterministicUid, equalExcept, isObject, isoSeconds, nameSuffix, shareEqual } from './object-util.ts';
import { isCrdObject, storageKey } from './registry.ts';
import type { KubeStore, ResourceRegistry, ResourceType, StoreChange } from './store.types.ts';
import { applySchema, applyStatusSchema } from './validation.ts';
import { EventHistory, type HistoryEntry } from './watch-history.ts';

export interface SimKubeStoreOptions {
  /** How many changes the watch history keeps per resource type (default 1000). */
  watchHistory?: number;
  /** Internal to fork(): the store being forked (the constructor then leaves the new store empty for fork to fill). */
  forkOf?: SimKubeStore;
}

/**
 * What a fork renames: the objects of one resource type whose names are drawn per world (a Deployment's pods).
 * `name` is asked once per object, in creation order, with whether a name is taken at that point in the history.
 */
export interface ForkRename {
  gvk: GVK;
  name(object: Readonly<KubeObject>, taken: (namespace: string, name: string) => boolean): string;
}

/** What `watch` returns: stop it, or ask it for a bookmark. */
export interface StoreWatch {
  stop(): void;
  /** Delivers a BOOKMARK with the current resourceVersion (only if the watch allows bookmarks). */
  bookmark(): void;
}

interface Watcher {
  key: string;
  apiVersion: string;
  kind: string;
  namespace: string | undefined;
  selector: LabelSelector;
  allowBookmarks: boolean;
  deliver: (e: WatchEvent) => void;
  /** The last change this watcher has been shown (or had filtered out). */
  lastRv: number;
  stopped: boolean;
}

interface Queued {
  key: string;
  entry: HistoryEntry;
}

interface UpdateOptions {
  op: string;
  scope: Scope;
  manager: string;
  /** managedFields computed by apply; otherwise recorded as an Update by `manager`. */
  managedFields?: JsonObject[];
  /** Return the stored (frozen, shared) object instead of a copy. */
  shared?: boolean;
}

const DEFAULT_MANAGER = 'unknown';
const SKIP_MAIN = new Set(['apiVersion', 'kind', 'metadata']);
const SKIP_MAIN_AND_STATUS = new Set(['apiVersion', 'kind', 'metadata', 'status']);
const METADATA = new Set(['metadata']);
const MANAGED_AND_RV = new Set(['managedFields', 'resourceVersion']);
const TIME = new Set(['time']);
/** What a built-in kind's object passed (its rules are code, the same for every object of the kind). */
const BUILTIN_RULES = Object.freeze({});

const storageKeys = new WeakMap<ResourceType, string>();
const apiVersions = new WeakMap<ResourceType, string>();

/** The storage key of a type, worked out once per type (every read and write needs it). */
function keyOf(t: ResourceType): string {
  let k = storageKeys.get(t);
  if (k === undefined) storageKeys.set(t, (k = storageKey(t)));
  return k;
}

/** The apiVersion of a type, worked out once per type (every read needs it). */
function versionOf(t: ResourceType): string {
  let v = apiVersions.get(t);
  if (v === undefined) apiVersions.set(t, (v = apiVersionOf(t)));
  return v;
}

/** Deep, frozen copies of the CRD objects registries were built from (kept as long as the CRD object lives). */
const frozenCopies = new WeakMap<KubeObject, KubeObject>();

function frozenCopy(o: KubeObject): KubeObject {
  let c = frozenCopies.get(o);
  if (!c) frozenCopies.set(o, (c = deepFreeze(copy(o))));
  return c;
}

/**
 * A JSON merge patch (RFC 7386) of a stored object, with the same result as json-merge-patch's `apply` on a deep
 * copy of it (key order and its refusal of prototype keys included), except that the parts the patch leaves alone
 * are the stored (frozen) ones: only the objects on the patch's paths are new. `patch` is the caller's copy.
 */
function mergeSharing(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  const p = patch as JsonObject;
  for (const key of Object.keys(p)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return out;
    if (p[key] === null) {
      if (Object.hasOwn(out, key)) delete out[key];
    } else out[key] = mergeSharing(out[key], p[key]) as JsonObject[string];
  }
  return out;
}

/** Two objects equal but for managedFields times: a write that changes nothing stores nothing, as on the server. */
function sameObject(a: KubeObject, b: KubeObject): boolean {
  const ao = a as unknown as JsonObject;
  const bo = b as unknown as JsonObject;
  if (!equalExcept(ao, bo, METADATA)) return false;
  const am = a.metadata as unknown as JsonObject;
  const bm = b.metadata as unknown as JsonObject;
  if (!equalExcept(am, bm, MANAGED_AND_RV)) return false;
  const fa = a.metadata.managedFields ?? [];
  const fb = b.metadata.managedFields ?? [];
  if (fa === fb) return true;
  if (fa.length !== fb.length) return false;
  for (let i = 0; i < fa.length; i++) if (fa[i] !== fb[i] && !(isObject(fa[i]) && isObject(fb[i]) && equalExcept(fa[i], fb[i], TIME))) return false;
  return true;
}

export class SimKubeStore implements KubeStore {
  private rv = 1;
  private uidCounter = 0;
  private generateCounter = 0;
  /** storage key (group/kind) → namespace ('' when cluster-scoped) → name → object. */
  private readonly objects = new Map<string, Map<string, Map<string, KubeObject>>>();
  private readonly histories = new Map<string, EventHistory>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly listeners = new Set<(c: StoreChange) => void>();
  private readonly queue: Queued[] = [];
  private queueHead = 0;
  private draining = false;
  /** Every change up to here has been shown to every watcher and listener. */
  private deliveredRv = 1;
  private readonly historyCapacity: number;
  /** Stored objects and the rules they passed when written: their CRD version's schema, or BUILTIN_RULES. */
  private readonly passed = new WeakMap<KubeObject, object>();
  /** A fork's view of the rules its source's objects passed (the objects are shared, so is what they passed). */
  private inherited: ReadonlyArray<WeakMap<KubeObject, object>> = [];

  constructor(
    readonly cluster: string,
    readonly registry: ResourceRegistry,
    private readonly now: () => number,
    options: SimKubeStoreOptions = {},
  ) {
    this.historyCapacity = options.watchHistory ?? 1000;
    new EventHistory(this.historyCapacity); // validates the capacity up front
    // CRDs registered before the server started are served as CustomResourceDefinition objects too.
    if (options.forkOf) return; // fork() fills it in
    const known = (registry as Partial<{ crdObjects(): KubeObject[] }>).crdObjects?.() ?? [];
    for (const crd of known) {
      const t = this.typeOf(gvkOf(crd), 'kube.create');
      // Every world's servers store the same CRDs: their unchanging parts are copied and frozen once, then shared.
      const base = frozenCopy(crd);
      this.insert(t, { ...base, metadata: { ...base.metadata } }, { op: 'kube.create', scope: 'main', manager: DEFAULT_MANAGER, managedFields: [] }, false);
    }
  }

  /**
   * A new store holding exactly what this one holds (objects, resourceVersions, uid and name counters, watch
   * history), as if the same writes had been made to it: the frozen objects are shared, the indexes are its own,
   * and it has no watchers or listeners. `registry` must serve the same types (a fresh createRegistry of the same
   * CRDs). `rename` gives objects of one type other names (their history included), in creation order. Returns the
   * store and the renames made (`namespace/old` → new name). Throws when the history was compacted or the store
   * is in the middle of delivering a change.
   */
  fork(registry: ResourceRegistry, now: () => number, rename?: ForkRename): { store: SimKubeStore; renamed: Map<string, string> } {
    if (this.queue.length || this.draining) throw new Error(`fork of ${this.cluster}: the store is delivering a change`);
    const store = new SimKubeStore(this.cluster, registry, now, { watchHistory: this.historyCapacity, forkOf: this });
    const renamed = new Map<string, string>();
    const renameKey = rename ? keyOf(this.typeOf(rename.gvk, 'kube.fork')) : undefined;
    /** Each renamed version of an object, by the version it replaces (so history entries keep sharing them). */
    const versions = new Map<KubeObject, KubeObject>();
    const taken = new Set<string>();
    const renamedVersion = (o: KubeObject): KubeObject => {
      const ns = o.metadata.namespace ?? '';
      const name = renamed.get(`${ns}/${o.metadata.name}`);
      if (name === undefined || name === o.metadata.name) return o;
      let v = versions.get(o);
      if (!v) {
        v = Object.freeze({ ...o, metadata: Object.freeze({ ...o.metadata, name }) });
        versions.set(o, v);
        const rules = this.passedOf(o);
        if (rules) store.passed.set(v, rules);
      }
      return v;
    };
    for (const [key, h] of this.histories) {
      const copy = new EventHistory(this.historyCapacity);
      const entries = h.since(0);
      if (key === renameKey) {
        if (h.compactedRv !== 0) throw new Error(`fork of ${this.cluster}: the history of ${key} was compacted, so its objects cannot be renamed`);
        for (const e of entries) {
          if (e.type === 'DELETED') throw new Error(`fork of ${this.cluster}: ${key} ${e.object.metadata.name} was deleted; only objects never deleted can be renamed`);
          if (e.type !== 'ADDED') continue;
          const ns = e.object.metadata.namespace ?? '';
          const name = rename!.name(e.object, (n, x) => taken.has(`${n}/${x}`));
          if (taken.has(`${ns}/${name}`)) throw new Error(`fork of ${this.cluster}: rename to ${ns}/${name}, which is taken`);
          taken.add(`${ns}/${name}`);
          renamed.set(`${ns}/${e.object.metadata.name}`, name);
        }
      }
      for (const e of entries) {
        const entry: HistoryEntry = key === renameKey ? { rv: e.rv, type: e.type, object: renamedVersion(e.object) } : { ...e };
        if (key === renameKey && e.old) entry.old = renamedVersion(e.old);
        copy.push(entry);
      }
      if (copy.compactedRv !== h.compactedRv) throw new Error(`fork of ${this.cluster}: the history of ${key} was compacted`);
      store.histories.set(key, copy);
    }
    for (const [key, byNs] of this.objects) {
      const nsCopy = new Map<string, Map<string, KubeObject>>();
      for (const [ns, byName] of byNs) {
        if (key !== renameKey) nsCopy.set(ns, new Map(byName));
        else {
          const m = new Map<string, KubeObject>();
          for (const o of byName.values()) {
            const v = renamedVersion(o);
            m.set(v.metadata.name, v);
          }
          nsCopy.set(ns, m);
        }
      }
      store.objects.set(key, nsCopy);
    }
    store.rv = this.rv;
    store.uidCounter = this.uidCounter;
    store.generateCounter = this.generateCounter;
    store.deliveredRv = this.deliveredRv;
    store.inherited = [this.passed, ...this.inherited];
    return { store, renamed };
  }

  currentResourceVersion(): string {
    return String(this.rv);
  }

  // ---- reads ----

  get(ref: ObjectRef): KubeObject | undefined {
    const t = this.typeOf(ref, 'kube.get');
    const o = this.stored(t, this.nsOf(t, ref.namespace), ref.name);
    return o ? this.out(o, t) : undefined;
  }

  list(gvk: GVK, opts: Omit<ListOpts, 'log' | 'signal'> = {}): ObjectList {
    const { items, resourceVersion } = this.peekList(gvk, opts);
    return { items: items.map((o) => copy(o) as KubeObject), resourceVersion };
  }

  peek(ref: ObjectRef): Readonly<KubeObject> | undefined {
    const t = this.typeOf(ref, 'kube.get');
    const o = this.stored(t, this.nsOf(t, ref.namespace), ref.name);
    return o ? this.shared(o, t) : undefined;
  }

  peekList(gvk: GVK, opts: Omit<ListOpts, 'log' | 'signal'> = {}): { items: Array<Readonly<KubeObject>>; resourceVersion: string } {
    const t = this.typeOf(gvk, 'kube.list');
    const selector = parseLabelSelector(opts.labelSelector, 'kube.list');
    const byNs = this.objects.get(keyOf(t));
    const items: KubeObject[] = [];
    if (byNs) {
      const namespaces = t.namespaced && opts.namespace ? [opts.namespace] : [...byNs.keys()].sort();
      for (const ns of namespaces) {
        const byName = byNs.get(ns);
        if (!byName) continue;
        for (const name of [...byName.keys()].sort()) {
          const o = byName.get(name)!;
          if (selector.matches(o.metadata.labels)) items.push(this.shared(o, t));
        }
      }
    }
    return { items, resourceVersion: String(this.rv) };
  }

  // ---- writes ----

  create(obj: KubeObject, opts: Omit<WriteOpts, 'log' | 'signal'> = {}): KubeObject {
    const op = 'kube.create';
    const input = this.body(obj, op);
    const t = this.typeOf(gvkOf(input), op);
    const m = input.metadata;
    this.placeNamespace(t, input);
    if (m.resourceVersion !== undefined && m.resourceVersion !== '') throw badRequest(op, 'resourceVersion should not be set on objects to be created');
    if ((m.name === undefined || m.name === '') && typeof (m as unknown as JsonObject).generateName === 'string') {
      const base = (m as unknown as JsonObject).generateName as string;
      m.name = `${base}${nameSuffix(this.cluster, ++this.generateCounter)}`;
    }
    if (m.name && this.stored(t, this.nsOf(t, m.namespace), m.name)) throw alreadyExists(op, t, m.name);
    return this.commitCreate(t, input, { op, scope: 'main', manager: opts.fieldManager ?? DEFAULT_MANAGER });
  }

  update(obj: KubeObject, opts: Omit<WriteOpts, 'log' | 'signal'> = {}): KubeObject {
    const op = 'kube.update';
    const input = this.body(obj, op);
    const t = this.typeOf(gvkOf(input), op);
    this.placeNamespace(t, input);
    const cur = this.mustGet(t, input.metadata.namespace, input.metadata.name, op);
    const rv = input.metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      throw invalid(op, t, input.metadata.name, [{ field: 'metadata.resourceVersion', reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update' }]);
    }
    if (rv !== cur.metadata.resourceVersion) throw conflict(op, t, input.metadata.name);
    return this.commitUpdate(t, cur, input, { op, scope: 'main', manager: opts.fieldManager ?? DEFAULT_MANAGER });
  }

  updateStatus(obj: KubeObject): KubeObject {
    return this.statusWrite(obj, false);
  }

  /** As `updateStatus`, returning the stored object itself (deep-frozen, shared): for writers that only read it. */
  putStatus(obj: KubeObject): Readonly<KubeObject> {
    return this.statusWrite(obj, true);
  }

  private statusWrite(obj: KubeObject, shared: boolean): KubeObject {
    const op = 'kube.updateStatus';
    const input = this.statusBody(obj, op);
    const t = this.typeOf(gvkOf(input), op);
    if (!t.statusSubresource) throw unknownResource(op, `${t.plural}/status`);
    this.placeNamespace(t, input);
    const cur = this.mustGet(t, input.metadata.namespace, input.metadata.name, op);
    // The status is copied now that the stored one is known: the parts that did not change are not copied but shared.
    if (obj.status !== undefined) {
      const status = copyJsonSharing(obj.status, cur.status);
      if (status !== undefined) input.status = status;
    }
    const rv = input.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== cur.metadata.resourceVersion) throw conflict(op, t, input.metadata.name);
    return this.commitUpdate(t, cur, input, { op, scope: 'status', manager: DEFAULT_MANAGER, shared });
  }

  mergePatch(ref: ObjectRef, patch: JsonObject, opts: Omit<WriteOpts, 'log' | 'signal'> = {}): KubeObject {
    const op = 'kube.patch';
    const { t, cur } = this.target(ref, op);
    const next = this.mergeInto(t, cur, patch, op);
    return this.commitUpdate(t, cur, next, { op, scope: 'main', manager: opts.fieldManager ?? DEFAULT_MANAGER });
  }

  jsonPatch(ref: ObjectRef, ops: JsonObject[], opts: Omit<WriteOpts, 'log' | 'signal'> = {}): KubeObject {
    const op = 'kube.patch';
    const { t, cur } = this.target(ref, op);
    if (!Array.isArray(ops)) throw badRequest(op, 'a JSON patch must be a list of operations');
    let next: KubeObject;
    try {
      next = jsonpatch.applyPatch(copy(cur), copyJson(ops) as unknown as jsonpatch.Operation[], true, true).newDocument;
    } catch (e) {
      const err = e as { name?: string; operation?: { op?: string; path?: string }; message?: string };
      if (err.name === 'TEST_OPERATION_FAILED') throw patchFailed(op, t, ref.name, `testing value ${err.operation?.path ?? ''} failed: test failed`);
      if (typeof err.name === 'string' && err.name.startsWith('OPERATION_')) {
        throw patchFailed(op, t, ref.name, `${err.operation?.op ?? 'operation'} ${err.operation?.path ?? ''}: ${(err.message ?? '').split('\n')[0]}`);
      }
      throw e;
    }
    this.checkPatched(t, cur, next, ref.name, op);
    return this.commitUpdate(t, cur, next, { op, scope: 'main', manager: opts.fieldManager ?? DEFAULT_MANAGER });
  }

  patchStatus(ref: ObjectRef, patch: JsonObject): KubeObject {
    const op = 'kube.patchStatus';
    const t = this.typeOf(ref, op);
    if (!t.statusSubresource) throw unknownResource(op, `${t.plural}/status`);
    const cur = this.mustGet(t, ref.namespace, ref.name, op);
    const next = this.mergeInto(t, cur, patch, op);
    return this.commitUpdate(t, cur, next, { op, scope: 'status', manager: DEFAULT_MANAGER });
  }

  apply(obj: KubeObject, opts: Omit<ApplyOpts, 'log' | 'signal'>): KubeObject {
    const op = 'kube.apply';
    if (!opts?.fieldManager) throw badRequest(op, 'fieldManager: Required value: is required for apply patch');
    const input = this.body(obj, op);
    const t = this.typeOf(gvkOf(input), op);
    this.placeNamespace(t, input);
    const m = input.metadata;
    if (!m.name) throw badRequest(op, 'metadata.name: Required value: name is required for apply');
    if (t.statusSubresource) delete input.status;
    const cur = this.stored(t, this.nsOf(t, m.namespace), m.name);
    if (m.resourceVersion !== undefined && m.resourceVersion !== '' && m.resourceVersion !== cur?.metadata.resourceVersion) {
      if (!cur) throw notFound(op, t, m.name);
      throw conflict(op, t, m.name);
    }
    const time = isoSeconds(this.now());
    if (!cur) {
      delete m.resourceVersion;
      const managedFields = appliedFields(input, opts.fieldManager, t.statusSubresource, time);
      return this.commitCreate(t, input, { op, scope: 'main', manager: opts.fieldManager, managedFields });
    }
    const res = mergeApply(cur, input, opts.fieldManager, opts.force === true, t.statusSubresource, time);
    if (!res.object) {
      throw applyConflict(
        op,
        t,
        m.name,
        conflictMessage(res.conflicts),
        res.conflicts.map((c) => ({ manager: c.manager, apiVersion: c.apiVersion, field: showPath(c.path) })),
      );
    }
    return this.commitUpdate(t, cur, res.object, { op, scope: 'main', manager: opts.fieldManager, managedFields: res.object.metadata.managedFields as JsonObject[] });
  }

  delete(ref: ObjectRef, opts: Omit<DeleteOpts, 'log' | 'signal'> = {}): boolean {
    const op = 'kube.delete';
    const t = this.typeOf(ref, op);
    const cur = this.stored(t, this.nsOf(t, ref.namespace), ref.name);
    if (!cur) return false;
    if (opts.resourceVersion !== undefined && opts.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(
        op,
        t,
        ref.name,
        `the ResourceVersion in the precondition (${opts.resourceVersion}) does not match the ResourceVersion in record (${cur.metadata.resourceVersion}). The object might have been modified`,
      );
    }
    if ((cur.metadata.finalizers ?? []).length > 0) {
      // Graceful deletion: the object stays, terminating, until its finalizers are removed.
      if (cur.metadata.deletionTimestamp) return true;
      const next: KubeObject = { ...cur, metadata: { ...cur.metadata } };
      next.metadata.deletionTimestamp = isoSeconds(this.now());
      (next.metadata as unknown as JsonObject).deletionGracePeriodSeconds = 0;
      next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
      this.put(t, next, 'MODIFIED', cur);
      return true;
    }
    this.remove(t, cur);
    return true;
  }

  // ---- watch and listeners ----

  watch(gvk: GVK, opts: Omit<WatchOpts, 'log' | 'signal'>, deliver: (e: WatchEvent) => void): StoreWatch {
    const op = 'kube.watch';
    const t = this.typeOf(gvk, op);
    const key = storageKey(t);
    const w: Watcher = {
      key,
      apiVersion: apiVersionOf(t),
      kind: t.kind,
      namespace: t.namespaced && opts.namespace ? opts.namespace : undefined,
      selector: parseLabelSelector(opts.labelSelector, op),
      allowBookmarks: opts.allowBookmarks === true,
      deliver,
      lastRv: this.rv,
      stopped: false,
    };
    const from = opts.resourceVersion;
    if (from !== undefined && from !== '' && from !== '0') {
      if (!/^\d+$/.test(from)) throw badRequest(op, `resourceVersion: Invalid value: "${from}": must be a non-negative integer`);
      const n = Number(from);
      if (n > this.rv) throw tooLargeResourceVersion(op, n, this.rv);
      const h = this.history(key);
      if (n < h.compactedRv) throw expired(op, n, h.compactedRv + 1);
      w.lastRv = n;
      for (const e of h.since(n)) this.deliverTo(w, e);
      w.lastRv = this.rv;
    }
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(w);
    return {
      stop: () => {
        w.stopped = true;
        this.watchers.get(key)?.delete(w);
      },
      bookmark: () => this.bookmarkOne(w),
    };
  }

  /** Delivers a BOOKMARK to every watch that allows them. */
  bookmark(): void {
    for (const key of [...this.watchers.keys()].sort()) for (const w of [...this.watchers.get(key)!]) this.bookmarkOne(w);
  }

  /** Forgets the whole watch history (as etcd compaction does): a watch from any version before now is Expired. */
  compactHistory(): void {
    for (const h of this.histories.values()) h.compact(this.rv);
    for (const t of this.registry.all()) this.history(storageKey(t)).compact(this.rv);
  }

  subscribe(listener: (c: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- internals ----

  private typeOf(gvk: GVK, op: string): ResourceType {
    const t = this.registry.lookup(gvk);
    if (!t) throw unknownResource(op, `${gvk.group ? `${gvk.group}/` : ''}${gvk.version}, Kind=${gvk.kind}`);
    return t;
  }

  private nsOf(t: ResourceType, ns: string | undefined): string {
    return t.namespaced ? ns || 'default' : '';
  }

  private placeNamespace(t: ResourceType, o: KubeObject): void {
    if (t.namespaced) o.metadata.namespace = o.metadata.namespace || 'default';
    else delete o.metadata.namespace;
  }

  private stored(t: ResourceType, ns: string, name: string): KubeObject | undefined {
    return this.objects.get(keyOf(t))?.get(ns)?.get(name);
  }

  private mustGet(t: ResourceType, ns: string | undefined, name: string, op: string): KubeObject {
    const o = this.stored(t, this.nsOf(t, ns), name);
    if (!o) throw notFound(op, t, name);
    return o;
  }

  private target(ref: ObjectRef, op: string): { t: ResourceType; cur: KubeObject } {
    const t = this.typeOf(ref, op);
    return { t, cur: this.mustGet(t, ref.namespace, ref.name, op) };
  }

  /** A copy of a request body, checked for the fields every request needs. */
  private body(obj: KubeObject, op: string): KubeObject {
    if (!isObject(obj)) throw badRequest(op, 'the request body must be a JSON object');
    const o = copyJson(obj);
    if (typeof o.kind !== 'string' || o.kind === '') throw badRequest(op, `Object 'Kind' is missing in '${JSON.stringify(obj)}'`);
    if (typeof o.apiVersion !== 'string' || o.apiVersion === '') throw badRequest(op, `Object 'apiVersion' is missing in '${JSON.stringify(obj)}'`);
    if (!isObject(o.metadata)) o.metadata = { name: '' };
    return o;
  }

  /**
   * What a status write reads of its request body: the checks `body` makes, but only the object's identity and its
   * resourceVersion are copied (a status write ignores the rest, so copying it would be waste; the caller copies
   * the status once it has the stored object).
   */
  private statusBody(obj: KubeObject, op: string): KubeObject {
    if (!isObject(obj)) throw badRequest(op, 'the request body must be a JSON object');
    const head = { apiVersion: obj.apiVersion, kind: obj.kind } as Record<string, unknown>;
    if (typeof head.kind !== 'string' || head.kind === '') throw badRequest(op, `Object 'Kind' is missing in '${JSON.stringify(obj)}'`);
    if (typeof head.apiVersion !== 'string' || head.apiVersion === '') throw badRequest(op, `Object 'apiVersion' is missing in '${JSON.stringify(obj)}'`);
    const m = isObject(obj.metadata) ? (obj.metadata as unknown as JsonObject) : undefined;
    const name = m ? m.name : '';
    const namespace = m?.namespace;
    const resourceVersion = m?.resourceVersion;
    let metadata: KubeObject['metadata'];
    if (typeof name === 'string' && (namespace === undefined || typeof namespace === 'string') && (resourceVersion === undefined || typeof resourceVersion === 'string')) {
      // Strings (the usual case) are their own copies.
      metadata = { name };
      if (namespace !== undefined) metadata.namespace = namespace;
      if (resourceVersion !== undefined) metadata.resourceVersion = resourceVersion;
    } else metadata = copyJson({ name, namespace, resourceVersion }) as unknown as KubeObject['metadata'];
    return { apiVersion: head.apiVersion as string, kind: head.kind as string, metadata };
  }

  private mergeInto(t: ResourceType, cur: KubeObject, patch: JsonObject, op: string): KubeObject {
    if (!isObject(patch)) throw badRequest(op, 'a JSON merge patch must be a JSON object');
    const next = mergeSharing(cur, copyJson(patch)) as KubeObject;
    // The store sets metadata fields on the result: its metadata must be its own.
    if (isObject(next.metadata) && Object.isFrozen(next.metadata)) next.metadata = { ...next.metadata };
    this.checkPatched(t, cur, next, cur.metadata.name, op);
    return next;
  }

  /** After a patch: the object must still be one, keep its name, and be at the version the patch names. */
  private checkPatched(t: ResourceType, cur: KubeObject, next: KubeObject, name: string, op: string): void {
    if (!isObject(next) || !isObject(next.metadata)) throw badRequest(op, 'the patch must leave a JSON object with metadata');
    if (next.metadata.name !== cur.metadata.name) throw badRequest(op, `the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${cur.metadata.name})`);
    if (t.namespaced && next.metadata.namespace !== cur.metadata.namespace) {
      throw badRequest(op, `the namespace of the object (${String(next.metadata.namespace)}) does not match the namespace on the URL (${cur.metadata.namespace})`);
    }
    if (next.metadata.resourceVersion !== cur.metadata.resourceVersion) throw conflict(op, t, name);
    next.apiVersion = cur.apiVersion;
    next.kind = cur.kind;
  }

  /** The rules a stored object passed when it was written (in this store or the one it was forked from). */
  private passedOf(o: KubeObject): object | undefined {
    const own = this.passed.get(o);
    if (own !== undefined || this.inherited.length === 0) return own;
    for (const m of this.inherited) {
      const r = m.get(o);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  private validate(t: ResourceType, o: KubeObject, old: KubeObject | undefined, statusWrite = false): FieldCause[] {
    if (statusWrite && old && this.passedOf(old) === (t.openAPIV3Schema ?? BUILTIN_RULES)) {
      // A status write changes status alone: its metadata and the rest are the stored object's, which passed these
      // same rules. The built-in kinds' rules read no status; a CRD's schema checks status (and its root rules) again.
      return t.openAPIV3Schema ? applyStatusSchema(o as unknown as JsonObject, t.openAPIV3Schema) : [];
    }
    const causes = metadataCauses(t, o);
    if (t.openAPIV3Schema) causes.push(...applySchema(o as unknown as JsonObject, t.openAPIV3Schema));
    else causes.push(...builtinCauses(t, o, old));
    return causes;
  }

  private commitCreate(t: ResourceType, o: KubeObject, u: UpdateOptions): KubeObject {
    return this.out(this.insert(t, o, u, true), t);
  }

  /** Creates an object; returns the stored object itself (frozen). */
  private insert(t: ResourceType, o: KubeObject, u: UpdateOptions, registerCrd: boolean): KubeObject {
    const m = o.metadata as unknown as JsonObject;
    for (const f of ['uid', 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generation', 'creationTimestamp']) delete m[f];
    prepareForCreate(t, o, this.now());
    applyBuiltinDefaults(t, o);
    const causes = this.validate(t, o, undefined);
    if (causes.length) throw invalid(u.op, t, o.metadata.name ?? '', causes);
    this.passed.set(o, t.openAPIV3Schema ?? BUILTIN_RULES);
    o.metadata.uid = deterministicUid(this.cluster, ++this.uidCounter);
    o.metadata.creationTimestamp = isoSeconds(this.now());
    o.metadata.generation = 1;
    o.metadata.managedFields = u.managedFields ?? recordUpdate(undefined, o, u.manager, 'main', t.statusSubresource, isoSeconds(this.now()));
    if (o.metadata.managedFields.length === 0) delete o.metadata.managedFields;
    this.put(t, o, 'ADDED', undefined);
    if (registerCrd && isCrdObject(o)) this.registry.registerCrd(o);
    return o;
  }

  private commitUpdate(t: ResourceType, cur: KubeObject, input: KubeObject, u: UpdateOptions): KubeObject {
    let next: KubeObject;
    const extra: FieldCause[] = [];
    if (u.scope === 'status') {
      // A status write changes status alone: everything else is the stored object's.
      next = { ...cur, metadata: { ...cur.metadata } };
      // Parts of the new status equal to the stored one's become the stored (frozen) parts, before validation: a
      // CRD's schema then normalizes only what changed (see applyStatusSchema).
      if (input.status !== undefined) next.status = shareEqual(input.status, cur.status);
      else delete next.status;
    } else {
      next = input;
      const m = next.metadata as unknown as JsonObject;
      const c = cur.metadata as unknown as JsonObject;
      if (typeof m.uid === 'string' && m.uid !== '' && m.uid !== c.uid) extra.push(cause.immutable('metadata.uid', m.uid));
      for (const f of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
        if (c[f] === undefined) delete m[f];
        else m[f] = c[f];
      }
      if (t.statusSubresource) {
        if (cur.status !== undefined) next.status = cur.status;
        else delete next.status;
      }
      applyBuiltinDefaults(t, next);
      if (cur.metadata.deletionTimestamp) {
        const had = new Set(cur.metadata.finalizers ?? []);
        const added = (next.metadata.finalizers ?? []).filter((f) => !had.has(f));
        if (added.length) extra.push(cause.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`));
      }
    }
    const causes = [...extra, ...this.validate(t, next, cur, u.scope === 'status')];
    if (causes.length) throw invalid(u.op, t, cur.metadata.name, causes);
    this.passed.set(next, t.openAPIV3Schema ?? BUILTIN_RULES);
    if (u.scope === 'main') this.shareUnchanged(next, cur);
    if (u.scope === 'main' && !equalExcept(cur, next, t.statusSubresource ? SKIP_MAIN_AND_STATUS : SKIP_MAIN)) {
      next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
    }
    next.metadata.managedFields = u.managedFields ?? recordUpdate(cur, next, u.manager, u.scope, t.statusSubresource, isoSeconds(this.now()));
    if (next.metadata.managedFields.length === 0) delete next.metadata.managedFields;
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
    if (sameObject(cur, next)) return u.shared ? this.shared(cur, t) : this.out(cur, t);
    this.put(t, next, 'MODIFIED', cur);
    if (u.scope === 'main' && isCrdObject(next)) this.registry.registerCrd(next);
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) this.remove(t, next);
    return u.shared ? this.shared(next, t) : this.out(next, t);
  }

  /**
   * Replaces the parts of a new version equal to the stored version's by the stored (frozen) ones: the same content,
   * cheaper to freeze, diff and compare, and shared in memory as the store shares unchanged parts everywhere.
   */
  private shareUnchanged(next: KubeObject, cur: KubeObject): void {
    const n = next as unknown as JsonObject;
    const c = cur as unknown as JsonObject;
    for (const k of Object.keys(n)) if (k !== 'metadata' && n[k] !== undefined) n[k] = shareEqual(n[k], c[k]);
    const nm = n.metadata as JsonObject;
    const cm = c.metadata as JsonObject;
    for (const k of Object.keys(nm)) if (k !== 'managedFields' && k !== 'resourceVersion' && nm[k] !== undefined) nm[k] = shareEqual(nm[k], cm[k]);
  }

  /** Deletes for good: a DELETED change carrying the last state at a new resourceVersion. */
  private remove(t: ResourceType, cur: KubeObject): void {
    const gone: KubeObject = { ...cur, metadata: { ...cur.metadata } };
    this.put(t, gone, 'DELETED', cur);
    if (isCrdObject(cur)) {
      // Deleting a CRD deletes its objects and stops serving its types.
      const types = (this.registry as Partial<{ unregisterCrd(name: string): ResourceType[] }>).unregisterCrd?.(cur.metadata.name) ?? [];
      const keys = [...new Set(types.map(storageKey))];
      for (const key of keys) {
        const t2 = types.find((x) => storageKey(x) === key)!;
        const byNs = this.objects.get(key);
        if (!byNs) continue;
        for (const ns of [...byNs.keys()].sort()) for (const name of [...byNs.get(ns)!.keys()].sort()) {
          const o = byNs.get(ns)!.get(name)!;
          this.put(t2, { ...o, metadata: { ...o.metadata } }, 'DELETED', o);
        }
      }
    }
  }

  /** Commits a change: a new resourceVersion, the index, the history, then watchers and listeners in order. */
  private put(t: ResourceType, o: KubeObject, type: HistoryEntry['type'], old: KubeObject | undefined): void {
    this.rv++;
    o.metadata.resourceVersion = String(this.rv);
    deepFreeze(o);
    const key = keyOf(t);
    const ns = o.metadata.namespace ?? '';
    let byNs = this.objects.get(key);
    if (!byNs) this.objects.set(key, (byNs = new Map()));
    let byName = byNs.get(ns);
    if (!byName) byNs.set(ns, (byName = new Map()));
    if (type === 'DELETED') {
      byName.delete(o.metadata.name);
      if (byName.size === 0) byNs.delete(ns);
    } else byName.set(o.metadata.name, o);
    const entry: HistoryEntry = { rv: this.rv, type, object: o };
    if (old) entry.old = old;
    this.history(key).push(entry);
    this.queue.push({ key, entry });
    this.drain();
  }

  private history(key: string): EventHistory {
    let h = this.histories.get(key);
    if (!h) this.histories.set(key, (h = new EventHistory(this.historyCapacity)));
    return h;
  }

  /** Delivers queued changes in commit order, even when a listener writes while being told of a change. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queueHead < this.queue.length) {
        const { key, entry } = this.queue[this.queueHead++];
        const ws = this.watchers.get(key);
        if (ws) for (const w of [...ws]) if (!w.stopped) this.deliverTo(w, entry);
        if (this.listeners.size) {
          for (const l of [...this.listeners]) {
            const c: StoreChange = { type: entry.type, object: entry.object };
            if (entry.old) c.old = entry.old;
            l(c);
          }
        }
        this.deliveredRv = entry.rv;
      }
    } finally {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
      this.draining = false;
    }
  }

  /**
   * One change as one watcher sees it: filtered by namespace and selector, and an object that stops (starts)
   * matching the selector is DELETED (ADDED) for this watcher, as the real server's watch cache does.
   */
  private deliverTo(w: Watcher, e: HistoryEntry): void {
    if (e.rv <= w.lastRv) return;
    w.lastRv = e.rv;
    if (w.namespace !== undefined && (e.object.metadata.namespace ?? '') !== w.namespace) return;
    const sel = w.selector === EVERYTHING ? undefined : w.selector;
    const now = e.type !== 'DELETED' && (!sel || sel.matches(e.object.metadata.labels));
    const before = e.old !== undefined && (!sel || sel.matches(e.old.metadata.labels));
    let event: WatchEvent;
    if (now && !before) event = { type: 'ADDED', object: this.sharedAt(e.object, w.apiVersion) };
    else if (now && before) event = { type: 'MODIFIED', object: this.sharedAt(e.object, w.apiVersion) };
    else if (!now && before) {
      const last = e.type === 'DELETED' ? e.object : e.old!;
      const rv = String(e.rv);
      const object = last.metadata.resourceVersion === rv ? this.sharedAt(last, w.apiVersion) : Object.freeze({ ...last, apiVersion: w.apiVersion, metadata: Object.freeze({ ...last.metadata, resourceVersion: rv }) });
      event = { type: 'DELETED', object };
    } else return;
    w.deliver(event);
  }

  private bookmarkOne(w: Watcher): void {
    if (!w.allowBookmarks || w.stopped) return;
    const rv = this.draining ? Math.max(w.lastRv, this.deliveredRv) : this.rv;
    w.deliver({ type: 'BOOKMARK', object: { apiVersion: w.apiVersion, kind: w.kind, metadata: { name: '', resourceVersion: String(rv) } } });
  }

  /** A copy for the caller, at the version asked for (objects are stored once per group and kind). */
  private out(o: KubeObject, t: ResourceType): KubeObject {
    const c = copy(o);
    c.apiVersion = versionOf(t);
    return c;
  }

  /** The stored (frozen) object itself, at the version asked for: shared, never copied deeply. */
  private shared(o: KubeObject, t: ResourceType): KubeObject {
    return this.sharedAt(o, versionOf(t));
  }

  private sharedAt(o: KubeObject, apiVersion: string): KubeObject {
    return o.apiVersion === apiVersion ? o : Object.freeze({ ...o, apiVersion });
  }
}
