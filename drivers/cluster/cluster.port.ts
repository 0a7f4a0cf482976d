// Why: the Kubernetes object API the engine needs, generic over group, version and kind, as one port with a
// real implementation (client-node over HTTP) and a simulated one (the simulator's in-memory clusters).
import type { Logger } from 'pino';
import type { JsonObject } from '../json.ts';

/** Group ('' for the core group), version and kind. */
export interface GVK {
  group: string;
  version: string;
  kind: string;
}

/** One object: its type, and its namespace (omitted for cluster-scoped kinds) and name. */
export interface ObjectRef extends GVK {
  namespace?: string;
  name: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: JsonObject[];
}

/** A Kubernetes object as JSON. `spec` and `status` are free-form: each kind's schema governs them. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: JsonObject;
  status?: JsonObject;
  [field: string]: unknown;
}

export interface ObjectList {
  items: KubeObject[];
  /** The list's resourceVersion: a watch started from it misses nothing. */
  resourceVersion: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

export interface CallOpts {
  log?: Logger;
  signal?: AbortSignal;
}

export interface ListOpts extends CallOpts {
  namespace?: string;
  /** Kubernetes label selector syntax: `a=b,c!=d,e in (f,g),!h`. */
  labelSelector?: string;
}

export interface WriteOpts extends CallOpts {
  /** The field manager recorded for this write (server-side apply requires one). */
  fieldManager?: string;
}

export interface ApplyOpts extends WriteOpts {
  fieldManager: string;
  /** Take ownership of fields another manager owns instead of failing with Conflict. */
  force?: boolean;
}

export interface DeleteOpts extends CallOpts {
  /** Precondition: delete only if the object is still at this resourceVersion (else Conflict). */
  resourceVersion?: string;
}

export interface WatchOpts extends ListOpts {
  /** Start after this resourceVersion. Too old a version fails with Conflict, reason `Expired` (HTTP 410 Gone). */
  resourceVersion?: string;
  allowBookmarks?: boolean;
}

export interface WatchHandle {
  stop(): void;
  /** Settles when the stream ends: undefined when stopped, or the error that ended it (reason `Expired` for 410). */
  readonly done: Promise<import('../errors.ts').DriverError | undefined>;
}

/**
 * The Kubernetes object API of one cluster. Concurrency is optimistic: a write that names a
 * resourceVersion (in `metadata.resourceVersion` of the body or patch) fails with Conflict when the
 * object has moved on. Every failure is a DriverError.
 */
export interface ClusterPort {
  /** The cluster's name (its kubeconfig context, or the simulated cluster's name). */
  readonly cluster: string;
  /**
   * Whether the server serves this group, version and kind (discovery): false when it does not, which is not an
   * error. An older server may serve a kind at another version (CronJob as batch/v1beta1 before Kubernetes 1.21).
   */
  served(gvk: GVK, opts?: CallOpts): Promise<boolean>;
  /** An unknown object resolves undefined; it is not an error. */
  get(ref: ObjectRef, opts?: CallOpts): Promise<KubeObject | undefined>;
  list(gvk: GVK, opts?: ListOpts): Promise<ObjectList>;
  /** Fails with Conflict, reason `AlreadyExists`, when the name is taken. */
  create(obj: KubeObject, opts?: WriteOpts): Promise<KubeObject>;
  /** Full replacement (PUT); `metadata.resourceVersion` is required and checked. */
  update(obj: KubeObject, opts?: WriteOpts): Promise<KubeObject>;
  /** JSON merge patch (RFC 7386) of the main resource; status is ignored. NotFound for an unknown object. */
  mergePatch(ref: ObjectRef, patch: JsonObject, opts?: WriteOpts): Promise<KubeObject>;
  /** Server-side apply: creates or updates the fields this field manager owns. */
  apply(obj: KubeObject, opts: ApplyOpts): Promise<KubeObject>;
  /** JSON merge patch of the status subresource. */
  patchStatus(ref: ObjectRef, patch: JsonObject, opts?: WriteOpts): Promise<KubeObject>;
  /** Resolves true when deleted, false when it was already gone. */
  delete(ref: ObjectRef, opts?: DeleteOpts): Promise<boolean>;
  /**
   * Streams changes after `resourceVersion` (or from now) to `onEvent`, in order. When `onEvent` throws, the stream
   * ends and `done` resolves with a Fatal error, reason `HandlerFailed` (never a silently dropped event).
   */
  watch(gvk: GVK, opts: WatchOpts, onEvent: (e: WatchEvent) => void): Promise<WatchHandle>;
}

export function apiVersionOf(gvk: GVK): string {
  return gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`;
}

export function gvkOf(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): GVK {
  const i = obj.apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: obj.apiVersion, kind: obj.kind }
    : { group: obj.apiVersion.slice(0, i), version: obj.apiVersion.slice(i + 1), kind: obj.kind };
}

export function refOf(obj: KubeObject): ObjectRef {
  const ref: ObjectRef = { ...gvkOf(obj), name: obj.metadata.name };
  if (obj.metadata.namespace !== undefined) ref.namespace = obj.metadata.namespace;
  return ref;
}

export function refString(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** The types the engine manages, by the names the rest of the code uses. */
export const Kinds = freezeKinds({
  Namespace: { group: '', version: 'v1', kind: 'Namespace' },
  ConfigMap: { group: '', version: 'v1', kind: 'ConfigMap' },
  Pod: { group: '', version: 'v1', kind: 'Pod' },
  PersistentVolumeClaim: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
  Deployment: { group: 'apps', version: 'v1', kind: 'Deployment' },
  StatefulSet: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
  CronJob: { group: 'batch', version: 'v1', kind: 'CronJob' },
  Ingress: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' },
  VirtualService: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' },
  VolumeReplication: { group: 'replication.storage.openshift.io', version: 'v1alpha1', kind: 'VolumeReplication' },
  VolumeReplicationClass: { group: 'replication.storage.openshift.io', version: 'v1alpha1', kind: 'VolumeReplicationClass' },
  NetworkFence: { group: 'csiaddons.openshift.io', version: 'v1alpha1', kind: 'NetworkFence' },
  Kustomization: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', kind: 'Kustomization' },
  HelmRelease: { group: 'helm.toolkit.fluxcd.io', version: 'v2', kind: 'HelmRelease' },
} as const satisfies Record<string, GVK>);

/**
 * Frozen: besides never changing, a frozen GVK spreads fast. On Node 20, V8 takes a slow path (about 0.5 µs per
 * added key) for `{ ...gvk, namespace, name }` when the spread object is not frozen, and refs are built that way
 * everywhere.
 */
function freezeKinds<T extends Record<string, GVK>>(kinds: T): T {
  for (const k of Object.values(kinds)) Object.freeze(k);
  return Object.freeze(kinds);
}
