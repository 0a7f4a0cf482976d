// Why: the contract of one simulated Kubernetes API server's object store. The simulated cluster driver, the
// HTTP server that serves it, and the simulated controllers all use this one store, so there is no second copy.
// Methods are synchronous and fault-free: latency and faults are added by the caller through SimKernel.call.
import type { DriverError } from '../../drivers/errors.ts';
import type { ApplyOpts, DeleteOpts, GVK, KubeObject, ListOpts, ObjectList, ObjectRef, WatchEvent, WatchOpts, WriteOpts } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';

/** What the store knows of a resource type: its names, scope, subresources and (for CRDs) its schema. */
export interface ResourceType extends GVK {
  plural: string;
  singular: string;
  namespaced: boolean;
  /** Whether `status` is a subresource (main-resource writes ignore status; status writes ignore the rest). */
  statusSubresource: boolean;
  shortNames?: string[];
  /** The OpenAPI v3 schema of the object (from the CRD), for validation on create and update. */
  openAPIV3Schema?: JsonObject;
}

export interface ResourceRegistry {
  /** Registers a CRD object (apiextensions.k8s.io/v1 CustomResourceDefinition) for every served version. */
  registerCrd(crd: KubeObject): ResourceType[];
  lookup(gvk: GVK): ResourceType | undefined;
  /** Whether the server's clients see this type (discovery and the API); the store itself may still keep it. */
  served(gvk: GVK): boolean;
  byPlural(group: string, version: string, plural: string): ResourceType | undefined;
  all(): ResourceType[];
}

/**
 * A change as the store's own listeners (the simulated controllers, invariants) see it. The objects are the stored
 * ones, deep-frozen and shared by every listener: read them, never change them (copy first).
 */
export interface StoreChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  old?: KubeObject;
}

/**
 * One cluster's API server state. Semantics follow the real API server:
 * - every write bumps a cluster-wide resourceVersion (a decimal string) and sets it on the object;
 * - a write naming a stale resourceVersion throws DriverError Conflict (code 409, reason `Conflict`);
 * - create of an existing name throws Conflict (409, reason `AlreadyExists`); unknown objects throw NotFound (404);
 * - metadata.generation starts at 1 and is bumped on every change outside metadata and status;
 * - with a status subresource, main writes keep the old status and status writes keep the rest;
 * - schema violations throw Invalid (422, reason `Invalid`) with the field paths in the message and details;
 * - watches replay events after the given resourceVersion from a bounded history, and throw Conflict with
 *   reason `Expired` (code 410) when it is older than the history holds.
 * `get`, `list` and every write return deep copies the caller owns. `peek`, `peekList`, watch events and listener
 * changes hand out the stored objects themselves, deep-frozen and shared (no copy): for readers that never change them.
 */
export interface KubeStore {
  readonly cluster: string;
  readonly registry: ResourceRegistry;
  /** The current resourceVersion of the whole cluster. */
  currentResourceVersion(): string;
  get(ref: ObjectRef): KubeObject | undefined;
  list(gvk: GVK, opts?: Omit<ListOpts, 'log' | 'signal'>): ObjectList;
  /** As `get`, without the copy: the stored object, deep-frozen and shared. */
  peek(ref: ObjectRef): Readonly<KubeObject> | undefined;
  /** As `list`, without the copies: the stored objects, deep-frozen and shared. */
  peekList(gvk: GVK, opts?: Omit<ListOpts, 'log' | 'signal'>): { items: Array<Readonly<KubeObject>>; resourceVersion: string };
  create(obj: KubeObject, opts?: Omit<WriteOpts, 'log' | 'signal'>): KubeObject;
  update(obj: KubeObject, opts?: Omit<WriteOpts, 'log' | 'signal'>): KubeObject;
  updateStatus(obj: KubeObject): KubeObject;
  /** As `updateStatus`, returning the stored object itself (deep-frozen, shared): the controllers' status writes. */
  putStatus(obj: KubeObject): Readonly<KubeObject>;
  mergePatch(ref: ObjectRef, patch: JsonObject, opts?: Omit<WriteOpts, 'log' | 'signal'>): KubeObject;
  /** RFC 6902 JSON patch. */
  jsonPatch(ref: ObjectRef, ops: JsonObject[], opts?: Omit<WriteOpts, 'log' | 'signal'>): KubeObject;
  apply(obj: KubeObject, opts: Omit<ApplyOpts, 'log' | 'signal'>): KubeObject;
  patchStatus(ref: ObjectRef, patch: JsonObject): KubeObject;
  /** Returns false when the object did not exist. */
  delete(ref: ObjectRef, opts?: Omit<DeleteOpts, 'log' | 'signal'>): boolean;
  /** Starts a watch; events are delivered through `deliver` (the caller decides latency), their objects frozen and shared. */
  watch(gvk: GVK, opts: Omit<WatchOpts, 'log' | 'signal'>, deliver: (e: WatchEvent) => void): { stop(): void };
  /** Forgets the watch history (an API server restart, etcd compaction): older watches get 410 Gone and relist. */
  compactHistory(): void;
  /** Every committed change, synchronously, for the simulated controllers and invariants. */
  subscribe(listener: (c: StoreChange) => void): () => void;
}

export type StoreError = DriverError;
