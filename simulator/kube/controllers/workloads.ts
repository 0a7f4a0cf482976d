// Why: the simulated kube-controller-manager for Deployments and StatefulSets. Replica counts move through real
// Pod objects that take podStartMs to become ready and podStopMs to go away, so "wait until the pods are gone"
// and "wait until ready" are observed the same way as on a real cluster.
import { Kinds, type GVK, type KubeObject, type ObjectRef } from '../../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../../drivers/json.ts';
import type { RandomStream } from '../../prng.ts';
import type { StoreChange } from '../store.types.ts';
import {
  asNumber,
  asObject,
  BaseController,
  isoTime,
  keyOf,
  objectRef,
  refFor,
  setCondition,
  shortHash,
  splitKey,
  stableJson,
  type Condition,
  type ControllerContext,
  type ControllerFork,
} from './common.ts';

export type ReplicatedKind = 'Deployment' | 'StatefulSet';

/** How a pod of a workload looks to its controller. */
interface PodView {
  name: string;
  ready: boolean;
  terminating: boolean;
  ordinal: number;
  createdSeq: number;
}

const POD_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const POD_NAME_SUFFIX_LENGTH = 5;

/** The stream a workload controller draws its pods' names from. */
export function podNameStream(cluster: string, kind: ReplicatedKind): string {
  return `pods/${cluster}/${kind.toLowerCase()}`;
}

/** `prefix` and a random suffix, drawn again while the name is taken. */
function drawPodName(rnd: RandomStream, prefix: string, taken: (name: string) => boolean): string {
  for (;;) {
    let suffix = '';
    for (let i = 0; i < POD_NAME_SUFFIX_LENGTH; i++) suffix += POD_NAME_ALPHABET[rnd.int(0, POD_NAME_ALPHABET.length - 1)];
    const name = `${prefix}${suffix}`;
    if (!taken(name)) return name;
  }
}

/**
 * The name a Deployment's controller would have given the pod `pod` had it drawn from `rnd` (the stream
 * podNameStream names) where `taken` names the pods existing then; any other pod keeps its name. A world cloned
 * from a template renames the template's Deployment pods with it, in creation order, as its own build would.
 */
export function redrawPodName(rnd: RandomStream, pod: Readonly<KubeObject>, taken: (namespace: string, name: string) => boolean): string {
  const owner = pod.metadata.ownerReferences?.find((o) => o.kind === 'Deployment');
  if (!owner) return pod.metadata.name;
  const prefix = `${owner.name}-${pod.metadata.labels?.['pod-template-hash'] ?? ''}-`;
  if (!pod.metadata.name.startsWith(prefix) || pod.metadata.name.length !== prefix.length + POD_NAME_SUFFIX_LENGTH) {
    throw new Error(`redrawPodName: pod ${pod.metadata.name} is not named as the Deployment controller names pods`);
  }
  return drawPodName(rnd, prefix, (name) => taken(pod.metadata.namespace ?? '', name));
}

/**
 * The simulated kubelet's finalizer: a deleted Pod stays (with deletionTimestamp, Terminating) until its
 * containers have stopped, podStopMs later, as on a real node.
 */
export const KUBELET_FINALIZER = 'simulator.failover-engine.io/kubelet';

/** A count from status (0 when absent). */
function count(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** The replicas a workload asks for: Kubernetes defaults an absent spec.replicas to 1. */
export function desiredReplicas(obj: KubeObject): number {
  const r = asNumber(obj.spec?.replicas);
  return r === undefined ? 1 : Math.max(0, Math.floor(r));
}

/** The selector's matchLabels (the only selector form the simulated world uses). */
export function selectorLabels(obj: KubeObject): Record<string, string> {
  const match = asObject(asObject(obj.spec?.selector)?.matchLabels);
  const out: Record<string, string> = {};
  if (match) for (const [k, v] of Object.entries(match)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * One controller for Deployments (pods start and stop in parallel) and StatefulSets (OrderedReady: one pod at
 * a time, created in ordinal order and removed from the highest ordinal down).
 */
export class ReplicatedWorkloadController extends BaseController {
  readonly name: string;
  protected readonly kinds: readonly GVK[];
  private readonly gvk: GVK;
  /** pod key → the order it was created in (newest pods are removed first by a Deployment). */
  private readonly podSeq = new Map<string, number>();
  private nextSeq = 0;
  /** Pods whose stop this controller has scheduled (the kubelet is stopping their containers). */
  private readonly stopping = new Set<string>();
  private readonly rnd: RandomStream;
  /** `namespace/workload` → the names of the pods whose ownerReferences name it (kept current from the store's changes). */
  private readonly owned = new Map<string, Set<string>>();
  /** Pod template (a frozen stored object, so its identity is its content) → its pod-template-hash. */
  private readonly hashes = new WeakMap<object, string>();

  constructor(
    ctx: ControllerContext,
    readonly kind: ReplicatedKind,
  ) {
    super(ctx, kind.toLowerCase());
    this.name = kind.toLowerCase();
    this.gvk = Kinds[kind];
    this.kinds = [this.gvk];
    this.rnd = ctx.kernel.prng.stream(podNameStream(ctx.store.cluster, kind));
  }

  protected override onChange(c: StoreChange): void {
    // Our own status writes do not change the generation; only spec changes, creation and deletion matter.
    if (c.type === 'MODIFIED' && c.old && c.old.metadata.generation === c.object.metadata.generation) return;
    super.onChange(c);
  }

  override start(): void {
    super.start();
    for (const pod of this.ctx.store.peekList(Kinds.Pod).items) this.index(undefined, pod);
  }

  protected override adoptState(src: this, fork: ControllerFork): void {
    super.adoptState(src, fork);
    const renamed = (key: string) => {
      const { namespace = '', name } = splitKey(key);
      return keyOf(namespace, fork.podName(namespace, name));
    };
    for (const [key, seq] of src.podSeq) this.podSeq.set(renamed(key), seq);
    this.nextSeq = src.nextSeq;
    for (const key of src.stopping) this.stopping.add(renamed(key));
    for (const [owner, names] of src.owned) {
      const { namespace = '' } = splitKey(owner);
      this.owned.set(owner, new Set([...names].map((n) => fork.podName(namespace, n))));
    }
  }

  /** Keeps the owner index: a pod moves from the owners its old version named to those its new version names. */
  private index(old: KubeObject | undefined, pod: KubeObject | undefined): void {
    // A new version that kept the same ownerReferences (the store shares a version's unchanged frozen parts) moves nothing.
    if (old && pod && old.metadata.ownerReferences === pod.metadata.ownerReferences) return;
    const before = this.ownerKeys(old);
    const after = this.ownerKeys(pod);
    for (const k of before) {
      if (after.includes(k)) continue;
      const set = this.owned.get(k);
      set?.delete(old!.metadata.name);
      if (set?.size === 0) this.owned.delete(k);
    }
    for (const k of after) {
      let set = this.owned.get(k);
      if (!set) this.owned.set(k, (set = new Set()));
      set.add(pod!.metadata.name);
    }
  }

  /** `namespace/workload` of each owner of this controller's kind that the pod names. */
  private ownerKeys(p: KubeObject | undefined): string[] {
    return (p?.metadata.ownerReferences ?? []).filter((o) => o.kind === this.kind).map((o) => keyOf(p!.metadata.namespace, o.name));
  }

  protected override onOtherChange(c: StoreChange): void {
    if (c.object.kind !== 'Pod' || c.object.apiVersion !== 'v1') return;
    this.index(c.old, c.type === 'DELETED' ? undefined : c.object);
    const owner = c.object.metadata.ownerReferences?.find((o) => o.kind === this.kind);
    if (!owner) return;
    if (c.type === 'DELETED') {
      const podKey = keyOf(c.object.metadata.namespace, c.object.metadata.name);
      this.timers.cancel(podKey);
      this.stopping.delete(podKey);
      this.podSeq.delete(podKey);
      this.queue.add(keyOf(c.object.metadata.namespace, owner.name));
    } else if (c.object.metadata.deletionTimestamp && !this.stopping.has(keyOf(c.object.metadata.namespace, c.object.metadata.name))) {
      // Someone else deleted one of our pods: its owner notices and the kubelet stops it.
      this.queue.add(keyOf(c.object.metadata.namespace, owner.name));
    }
  }

  /** The pods this workload owns, as the controller sees them. */
  pods(namespace: string, name: string): KubeObject[] {
    return this.ownedPods(namespace, name, this.ctx.store.peek(objectRef(this.gvk, namespace, name)));
  }

  /** As `pods`, given the workload's stored object as just read (undefined when it is gone). */
  private ownedPods(namespace: string, name: string, owner: Readonly<KubeObject> | undefined): KubeObject[] {
    // From the owner index (no scan of the namespace's pods), still narrowed by the workload's selector as a
    // list by label would be; ownership is what decides. The stored objects are shared and frozen: read only.
    const names = this.owned.get(keyOf(namespace, name));
    if (!names) return [];
    const selector = owner ? Object.entries(selectorLabels(owner)) : [];
    const out: KubeObject[] = [];
    for (const podName of names) {
      const p = this.ctx.store.peek(objectRef(Kinds.Pod, namespace, podName));
      if (!p || !p.metadata.ownerReferences?.some((o) => o.kind === this.kind && o.name === name)) continue;
      if (selector.some(([k, v]) => p.metadata.labels?.[k] !== v)) continue;
      out.push(p);
    }
    return out.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  }

  private view(pod: KubeObject, workload: string): PodView {
    const key = keyOf(pod.metadata.namespace, pod.metadata.name);
    const ready = (pod.status?.conditions as Condition[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const suffix = pod.metadata.name.slice(workload.length + 1);
    const terminating = pod.metadata.deletionTimestamp !== undefined || this.stopping.has(key);
    return {
      name: pod.metadata.name,
      ready: ready && !terminating,
      terminating,
      ordinal: this.kind === 'StatefulSet' && /^\d+$/.test(suffix) ? Number(suffix) : -1,
      createdSeq: this.podSeq.get(key) ?? -1,
    };
  }

  protected reconcile(key: string): void {
    const { namespace, name } = splitKey(key);
    if (namespace === undefined) return;
    const obj = this.ctx.store.peek(refFor(this.gvk, key));
    const pods = this.ownedPods(namespace, name, obj).map((p) => this.view(p, name));
    // Pods deleted by someone else: the kubelet stops them.
    for (const p of pods) if (p.terminating && !this.stopping.has(keyOf(namespace, p.name))) this.terminatePod(namespace, p.name, name);
    if (!obj) {
      // The garbage collector removes the pods of a deleted workload.
      for (const p of pods) if (!p.terminating) this.terminatePod(namespace, p.name, name);
      return;
    }
    const desired = desiredReplicas(obj);
    const live = pods.filter((p) => !p.terminating);
    if (this.kind === 'Deployment') {
      if (live.length < desired) for (let i = live.length; i < desired; i++) this.createPod(obj);
      if (live.length > desired) {
        // Unready pods go first, then the newest ones (the ReplicaSet controller's ranking, simplified).
        const victims = [...live].sort((a, b) => Number(a.ready) - Number(b.ready) || b.createdSeq - a.createdSeq).slice(0, live.length - desired);
        for (const v of victims) this.terminatePod(namespace, v.name, name);
      }
    } else if (!pods.some((p) => p.terminating || !p.ready)) {
      // OrderedReady: act only when every pod is ready and none is going away.
      if (live.length < desired) {
        const taken = new Set(live.map((p) => p.ordinal));
        let ordinal = 0;
        while (taken.has(ordinal)) ordinal++;
        this.createPod(obj, ordinal);
      } else if (live.length > desired) {
        const highest = [...live].sort((a, b) => b.ordinal - a.ordinal)[0];
        this.terminatePod(namespace, highest.name, name);
      }
    }
    this.updateStatus(obj);
  }

  private podTemplate(obj: KubeObject): JsonObject {
    return asObject(obj.spec?.template) ?? {};
  }

  private templateHash(obj: KubeObject): string {
    const template = this.podTemplate(obj);
    if (!Object.isFrozen(template)) return shortHash(stableJson(template), 10);
    let h = this.hashes.get(template);
    if (h === undefined) this.hashes.set(template, (h = shortHash(stableJson(template), 10)));
    return h;
  }

  private podName(obj: KubeObject, ordinal: number | undefined): string {
    if (ordinal !== undefined) return `${obj.metadata.name}-${ordinal}`;
    return drawPodName(this.rnd, `${obj.metadata.name}-${this.templateHash(obj)}-`, (name) => this.ctx.store.peek(objectRef(Kinds.Pod, obj.metadata.namespace, name)) !== undefined);
  }

  private podObject(obj: KubeObject, podName: string, ordinal: number | undefined): KubeObject {
    const template = this.podTemplate(obj);
    const tmplMeta = asObject(template.metadata);
    const labels: Record<string, string> = { ...selectorLabels(obj) };
    const tmplLabels = asObject(tmplMeta?.labels);
    if (tmplLabels) for (const [k, v] of Object.entries(tmplLabels)) if (typeof v === 'string') labels[k] = v;
    if (ordinal === undefined) labels['pod-template-hash'] = this.templateHash(obj);
    else {
      labels['statefulset.kubernetes.io/pod-name'] = podName;
      labels['apps.kubernetes.io/pod-index'] = String(ordinal);
    }
    const containers = Array.isArray(asObject(template.spec)?.containers) ? asObject(template.spec)?.containers : [{ name: 'app', image: 'registry.example/app:1' }];
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace: obj.metadata.namespace,
        labels,
        finalizers: [KUBELET_FINALIZER],
        ownerReferences: [{ apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, uid: obj.metadata.uid ?? '' }],
      },
      spec: { containers: containers ?? [], nodeName: `${this.cluster}-node-${(ordinal ?? this.nextSeq) % 3}` },
    };
  }

  private createPod(obj: KubeObject, ordinal?: number): void {
    const podName = this.podName(obj, ordinal);
    const namespace = obj.metadata.namespace ?? '';
    const created = this.ctx.store.create(this.podObject(obj, podName, ordinal));
    this.ctx.store.putStatus({ ...created, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: isoTime(this.now) }] } });
    const podKey = keyOf(namespace, podName);
    this.podSeq.set(podKey, this.nextSeq++);
    this.emit('pod.created', { kind: this.kind, ns: namespace, name: obj.metadata.name, pod: podName });
    const owner = obj.metadata.name;
    this.timers.set(podKey, this.ctx.kernel.draw(this.ctx.kernel.plan.physics.podStartMs), () => this.podStarted(namespace, podName, owner));
  }

  private podRef(namespace: string, podName: string): ObjectRef {
    return objectRef(Kinds.Pod, namespace, podName);
  }

  private readyStatus(): JsonObject {
    const t = isoTime(this.now);
    return {
      phase: 'Running',
      startTime: t,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
        { type: 'Initialized', status: 'True', lastTransitionTime: t },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: t },
        { type: 'Ready', status: 'True', lastTransitionTime: t },
      ],
    };
  }

  private podStarted(namespace: string, podName: string, owner: string): void {
    const pod = this.ctx.store.peek(this.podRef(namespace, podName));
    if (!pod || pod.metadata.deletionTimestamp || this.stopping.has(keyOf(namespace, podName))) return;
    this.ctx.store.putStatus({ ...pod, status: this.readyStatus() });
    this.emit('pod.ready', { kind: this.kind, ns: namespace, name: owner, pod: podName });
    this.queue.add(keyOf(namespace, owner));
  }

  private terminatePod(namespace: string, podName: string, owner: string): void {
    const podKey = keyOf(namespace, podName);
    if (this.stopping.has(podKey)) return;
    this.stopping.add(podKey);
    const ref = this.podRef(namespace, podName);
    this.ctx.store.delete(ref); // graceful: the kubelet finalizer keeps it, Terminating, until it has stopped
    const pod = this.ctx.store.peek(ref);
    if (pod) {
      const conditions = ((pod.status?.conditions as Condition[] | undefined) ?? []).map((c) =>
        c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False' as const, reason: 'PodTerminating', message: 'pod is terminating', lastTransitionTime: isoTime(this.now) } : c,
      );
      this.ctx.store.putStatus({ ...pod, status: { ...(pod.status ?? {}), conditions: conditions as unknown as JsonObject[] } });
    }
    this.emit('pod.terminating', { kind: this.kind, ns: namespace, name: owner, pod: podName });
    this.timers.set(podKey, this.ctx.kernel.draw(this.ctx.kernel.plan.physics.podStopMs), () => {
      const cur = this.ctx.store.peek(ref);
      if (cur) {
        const finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== KUBELET_FINALIZER);
        this.ctx.store.update({ ...cur, metadata: { ...cur.metadata, finalizers } });
        if (cur.metadata.deletionTimestamp === undefined) this.ctx.store.delete(ref);
      }
      this.stopping.delete(podKey);
      this.podSeq.delete(podKey);
      this.emit('pod.deleted', { kind: this.kind, ns: namespace, name: owner, pod: podName });
      this.queue.add(keyOf(namespace, owner));
    });
  }

  private computeStatus(obj: KubeObject, pods: PodView[]): JsonObject {
    const desired = desiredReplicas(obj);
    const live = pods.filter((p) => !p.terminating);
    const ready = live.filter((p) => p.ready).length;
    const generation = obj.metadata.generation ?? 1;
    const old = obj.status ?? {};
    const revision = `${obj.metadata.name}-${this.templateHash(obj)}`;
    if (this.kind === 'StatefulSet') {
      const s: JsonObject = { observedGeneration: generation, replicas: live.length, availableReplicas: ready, currentRevision: revision, updateRevision: revision, collisionCount: 0 };
      if (ready) s.readyReplicas = ready;
      if (live.length) {
        s.currentReplicas = live.length;
        s.updatedReplicas = live.length;
      }
      return s;
    }
    const s: JsonObject = { observedGeneration: generation };
    if (live.length) {
      s.replicas = live.length;
      s.updatedReplicas = live.length;
    }
    if (ready) {
      s.readyReplicas = ready;
      s.availableReplicas = ready;
    }
    if (desired - ready > 0) s.unavailableReplicas = desired - ready;
    const maxUnavailable = Math.floor(desired * 0.25);
    const available = ready >= desired - maxUnavailable;
    const complete = ready === desired && live.length === desired;
    let conditions = (old.conditions as unknown as Condition[] | undefined) ?? [];
    conditions = setCondition(
      conditions,
      available
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      this.now,
    );
    conditions = setCondition(
      conditions,
      complete
        ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${revision}" has successfully progressed.` }
        : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${revision}" is progressing.` },
      this.now,
    );
    s.conditions = conditions as unknown as JsonObject[];
    return s;
  }

  private updateStatus(obj: KubeObject): void {
    const namespace = obj.metadata.namespace ?? '';
    const pods = this.ownedPods(namespace, obj.metadata.name, obj).map((p) => this.view(p, obj.metadata.name));
    const before = obj.status ?? {};
    const status = this.computeStatus(obj, pods);
    const written = this.writeStatus(obj, status);
    if (written !== obj) {
      if (count(before.readyReplicas) !== count(status.readyReplicas) || count(before.replicas) !== count(status.replicas) || before.observedGeneration !== status.observedGeneration) {
        this.emit('status', {
          kind: this.kind,
          ns: namespace,
          name: obj.metadata.name,
          desired: desiredReplicas(obj),
          replicas: count(status.replicas),
          ready: count(status.readyReplicas),
          observedGeneration: count(status.observedGeneration),
        });
      }
    }
  }

  /**
   * Puts a workload straight into its converged state (ready pods, matching status) without latency: the world
   * builder uses it so a run starts from a cluster that has been running for a while.
   */
  materialize(namespace: string, name: string): void {
    const obj = this.ctx.store.peek(objectRef(this.gvk, namespace, name));
    if (!obj) throw new Error(`materialize: ${this.kind} ${namespace}/${name} does not exist on ${this.cluster}`);
    const desired = desiredReplicas(obj);
    for (let i = 0; i < desired; i++) {
      const ordinal = this.kind === 'StatefulSet' ? i : undefined;
      const podName = this.podName(obj, ordinal);
      const created = this.ctx.store.create(this.podObject(obj, podName, ordinal));
      this.ctx.store.putStatus({ ...created, status: this.readyStatus() });
      this.podSeq.set(keyOf(namespace, podName), this.nextSeq++);
    }
    const fresh = this.ctx.store.peek(objectRef(this.gvk, namespace, name));
    if (fresh) this.updateStatus(fresh);
  }
}
