// Why: the simulated world of one run, built from one seed and one scenario: a kernel (time, randomness, fault
// plan, trace), one simulated API server per cluster with its controllers, the storage beneath the volumes, and
// the global store, all already converged (the application has been running on the primary for a while). It hands
// out ports (the same interfaces the real drivers implement) and answers the questions invariants ask.
import { SimClusterDriver } from '../drivers/cluster/cluster.sim.ts';
import { Kinds, type ClusterPort, type GVK, type KubeObject, type ObjectRef } from '../drivers/cluster/cluster.port.ts';
import type { GlobalStatePort } from '../drivers/globalstate/globalstate.port.ts';
import { SimGlobalState } from '../drivers/globalstate/globalstate.sim.ts';
import type { JsonObject } from '../drivers/json.ts';
import { groupIdOf, type WorkloadKind } from '../machines/failover/group.types.ts';
import type { FaultPlan, FaultProfile } from './faults.ts';
import { SimGlobalStateStore } from './globalstate/store.ts';
import { SimKernel } from './kernel.ts';
import { Annotations, asNumber, findCondition, objectRef } from './kube/controllers/common.ts';
import { fluxPaused } from './kube/controllers/flux.ts';
import { forkClusterControllers, startClusterControllers, type ClusterControllers, type ControllerFork } from './kube/controllers/index.ts';
import { fenceCidrs, fenceInEffect, FENCE_MESSAGES, FENCE_RESULT_SUCCEEDED } from './kube/controllers/networkfence.ts';
import { VolumeReplicationLedger, type DataLossRecord } from './kube/controllers/volume-ledger.ts';
import { vrState, type VolumeState } from './kube/controllers/volumereplication.ts';
import { desiredReplicas, podNameStream, redrawPodName } from './kube/controllers/workloads.ts';
import { createRegistry } from './kube/registry.ts';
import { SimKubeStore } from './kube/store.ts';
import type { KubeStore } from './kube/store.types.ts';
import type { PendingEvent, RunResult, SchedulerState } from './scheduler.ts';
import type { Scenario } from './scenario.ts';
import {
  fluxObject,
  namespaceObject,
  networkObject,
  pvcObject,
  volumeReplicationClassObject,
  volumeReplicationObject,
  workloadObject,
  type SiteRole,
} from './world-objects.ts';

export interface SimWorldOptions {
  seed: number;
  scenario: Scenario;
  /** The CRD objects every simulated API server serves (src/crds.ts loadCrds()). */
  crds: KubeObject[];
  /** The fault profile the plan is derived from (default 'none'). */
  profile?: FaultProfile;
  /** How long faults stay on (the plan's heal time); default: the plan's own default. */
  horizonMs?: number;
  /** A plan given outright instead of one derived from the seed (tests of one fault). */
  plan?: FaultPlan;
  keepTraceLines?: boolean;
  traceSink?: (line: string) => void;
  /** The replication interval of every VolumeReplication (default 10 s). */
  syncIntervalMs?: number;
  /**
   * Whether the world may be cloned from a template of its scenario (default true): the same world, built cheaper
   * once the scenario has been built before (see WorldTemplate). false builds every object afresh.
   */
  fromTemplate?: boolean;
  /** Virtual time at the start (Unix ms; default SIM_EPOCH_MS): a served world starts at the wall time. */
  epochMs?: number;
}

/**
 * The seed-independent part of a scenario's converged world, built once and cloned for every run: a world whose
 * clusters are populated (stores, controllers, storage ledger), the trace lines that build wrote and the events it
 * scheduled. A clone shares the stores' frozen objects and copies the rest; what depends on the seed is drawn again
 * from the new world's own streams in the order a fresh build draws it (the Deployment pods' names, the replication
 * ticks' phases). The global store is populated afresh (it is cheap). Never run, never changed after it is built.
 */
export interface WorldTemplate {
  world: SimWorld;
  lines: string[];
  sched: SchedulerState;
}

/** Templates by CRD set, then by scenario and sync interval (least recently used dropped first); a scenario gets one the second time it is built. */
const templates = new WeakMap<KubeObject[], Map<string, WorldTemplate | 'seen' | 'unusable'>>();
const MAX_TEMPLATES_PER_CRD_SET = 32;

function templateFor(options: SimWorldOptions): WorldTemplate | undefined {
  // Templates are built at the default epoch: a world starting at another time is built afresh.
  if (options.fromTemplate === false || options.epochMs !== undefined) return undefined;
  let byKey = templates.get(options.crds);
  if (!byKey) templates.set(options.crds, (byKey = new Map()));
  const key = `${options.syncIntervalMs ?? ''}|${JSON.stringify(options.scenario)}`;
  const found = byKey.get(key);
  if (found === 'unusable') return undefined;
  if (found === undefined) {
    // A scenario built once (a generated one, drawn from its seed) is not worth a template.
    if (byKey.size >= MAX_TEMPLATES_PER_CRD_SET) byKey.delete(byKey.keys().next().value!);
    byKey.set(key, 'seen');
    return undefined;
  }
  if (found !== 'seen') {
    byKey.delete(key); // most recently used last: the oldest entries are the ones dropped
    byKey.set(key, found);
    return found;
  }
  let made: WorldTemplate | 'unusable';
  try {
    made = SimWorld.template(options);
  } catch {
    made = 'unusable';
  }
  byKey.set(key, made);
  return made === 'unusable' ? undefined : made;
}

function markUnusable(options: SimWorldOptions): void {
  templates.get(options.crds)?.set(`${options.syncIntervalMs ?? ''}|${JSON.stringify(options.scenario)}`, 'unusable');
}

export interface SimCluster {
  readonly name: string;
  readonly store: KubeStore;
  readonly controllers: ClusterControllers;
  /** The cluster's node network, which a NetworkFence names to cut it off its storage. */
  readonly cidr: string;
}

/** The parties of a world with these clusters: every operator and API server, and the global store. */
export function worldParties(clusters: readonly string[]): { parties: string[]; crashable: string[] } {
  const operators = clusters.map((c) => `operator/${c}`);
  return { parties: [...operators, ...clusters.map((c) => `apiserver/${c}`), 'globalstate'], crashable: operators };
}

/** Whether IPv4 CIDR `outer` contains `inner` (both `a.b.c.d/n`); malformed text never matches. */
export function cidrContains(outer: string, inner: string): boolean {
  const parse = (s: string): [number, number] | undefined => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s.trim());
    if (!m) return undefined;
    const octets = m.slice(1, 5).map(Number);
    const bits = Number(m[5]);
    if (octets.some((o) => o > 255) || bits > 32) return undefined;
    return [((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0, bits];
  };
  const o = parse(outer);
  const i = parse(inner);
  if (!o || !i || o[1] > i[1]) return false;
  const mask = o[1] === 0 ? 0 : (0xffffffff << (32 - o[1])) >>> 0;
  return (o[0] & mask) >>> 0 === (i[0] & mask) >>> 0;
}

export class SimWorld {
  readonly kernel: SimKernel;
  readonly scenario: Scenario;
  readonly clusters: ReadonlyMap<string, SimCluster>;
  readonly globalState: SimGlobalStateStore;
  /** The storage beneath every VolumeReplication: primary epochs, copies' data, lost writes. */
  readonly volumes: VolumeReplicationLedger;
  /** Whether this world was cloned from a template of its scenario rather than built object by object. */
  readonly clonedFromTemplate: boolean;
  /** `namespace/vr` → the workload whose volume it carries. */
  private readonly volumeOwners = new Map<string, { kind: WorkloadKind; name: string }>();

  private constructor(options: SimWorldOptions, template?: WorldTemplate) {
    const { scenario } = options;
    this.scenario = scenario;
    this.clonedFromTemplate = template !== undefined;
    const { parties, crashable } = worldParties(scenario.clusters);
    this.kernel = new SimKernel({
      seed: options.seed,
      plan: options.plan ?? { profile: options.profile ?? 'none', parties, crashable, horizonMs: options.horizonMs },
      keepTraceLines: options.keepTraceLines,
      traceSink: options.traceSink,
      ...(options.epochMs !== undefined ? { epochMs: options.epochMs } : {}),
    });
    this.volumes = new VolumeReplicationLedger(() => this.kernel.now());
    this.globalState = new SimGlobalStateStore(this.kernel);
    for (const g of scenario.groups) {
      for (const w of g.spec.workloads) for (const vr of w.volumeReplications) this.volumeOwners.set(`${g.spec.namespace}/${vr}`, { kind: w.kind, name: w.name });
    }
    const clusters = new Map<string, SimCluster>();
    const now = () => this.kernel.now();
    if (template) this.volumes.copyFrom(template.world.volumes);
    const events = template ? new Map<number, PendingEvent>(template.sched.events.map((e) => [e.id, e])) : undefined;
    const bound = new Map<number, { fn: () => void; atMs?: number }>();
    scenario.clusters.forEach((name, index) => {
      const volumes = {
        ledger: this.volumes,
        syncIntervalMs: options.syncIntervalMs,
        peers: (ns: string, vr: string) => this.peerVolumes(name, ns, vr),
        linkUp: (a: string, b: string) => this.replicationLinkUp(a, b),
        writesActive: (c: string, ns: string, vr: string) => this.writesActive(c, ns, vr),
      };
      let store: SimKubeStore;
      let controllers: ClusterControllers;
      if (!template) {
        store = new SimKubeStore(name, createRegistry(options.crds), now);
        controllers = startClusterControllers(this.kernel, store, volumes);
      } else {
        const src = template.world.cluster(name);
        // The Deployment pods get the names this world's build would have drawn (same stream, same order).
        const rnd = this.kernel.prng.stream(podNameStream(name, 'Deployment'));
        const forked = (src.store as SimKubeStore).fork(createRegistry(options.crds), now, { gvk: Kinds.Pod, name: (pod, taken) => redrawPodName(rnd, pod, taken) });
        store = forked.store;
        const fork: ControllerFork = {
          bind: (id, fn, atMs) => bound.set(id, { fn, atMs }),
          seqOf: (id) => {
            const e = events!.get(id);
            if (!e) throw new Error(`clone of ${name}: timer ${id} is not pending in the template`);
            return e.seq;
          },
          podName: (ns, pod) => forked.renamed.get(`${ns}/${pod}`) ?? pod,
        };
        controllers = forkClusterControllers(this.kernel, store, volumes, src.controllers, fork);
      }
      clusters.set(name, { name, store, controllers, cidr: `10.${index + 1}.0.0/16` });
    });
    this.clusters = clusters;
    if (template) this.kernel.sched.adopt(template.sched, (e) => bound.get(e.id));
  }

  /** Builds the world converged: the scenario's groups run on the primary and stand by everywhere else. */
  static build(options: SimWorldOptions): SimWorld {
    const template = templateFor(options);
    if (template) {
      try {
        return SimWorld.fromTemplate(template, options);
      } catch {
        // A template this scenario cannot be cloned from (a compacted watch history, say): build afresh from now on.
        markUnusable(options);
      }
    }
    const world = new SimWorld(options);
    world.populate();
    return world;
  }

  /** A template of this scenario's world (see WorldTemplate); throws when the build cannot be cloned. */
  static template(options: SimWorldOptions): WorldTemplate {
    const world = new SimWorld({ seed: options.seed, scenario: options.scenario, crds: options.crds, syncIntervalMs: options.syncIntervalMs, keepTraceLines: true });
    const header = world.kernel.trace.lines.length;
    world.populateClusters();
    const template: WorldTemplate = { world, lines: world.kernel.trace.lines.slice(header), sched: world.kernel.sched.state() };
    SimWorld.fromTemplate(template, { ...options, keepTraceLines: false, traceSink: undefined }); // a trial: throws now rather than later
    return template;
  }

  /** The world `build` makes for these options, cloned from `template` (made by SimWorld.template for the same scenario, CRDs and sync interval). */
  static fromTemplate(template: WorldTemplate, options: SimWorldOptions): SimWorld {
    const world = new SimWorld(options, template);
    for (const line of template.lines) world.kernel.trace.raw(line);
    world.populateGlobalState();
    return world;
  }

  private populate(): void {
    this.populateClusters();
    this.populateGlobalState();
  }

  private populateClusters(): void {
    const { scenario } = this;
    for (const cluster of this.clusters.values()) {
      const role: SiteRole = cluster.name === scenario.primary ? 'active' : 'standby';
      const { store, controllers } = cluster;
      store.create(volumeReplicationClassObject());
      const namespaces = [...new Set(scenario.groups.map((g) => g.spec.namespace))];
      for (const ns of namespaces) store.create(namespaceObject(ns));
      for (const g of scenario.groups) {
        const ns = g.spec.namespace;
        for (const w of g.spec.workloads) {
          for (const vr of w.volumeReplications) {
            const pvc = store.create(pvcObject(g, vr));
            store.updateStatus({ ...pvc, status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '10Gi' } } });
            store.create(volumeReplicationObject(g, vr, role));
            controllers.volumeReplications.materialize(ns, vr);
          }
        }
        // StatefulSets first, as the reference operator advises when scaling.
        const ordered = [...g.spec.workloads].sort((a, b) => Number(b.kind === 'StatefulSet') - Number(a.kind === 'StatefulSet'));
        for (const w of ordered) {
          store.create(workloadObject(g, w, role));
          if (w.kind === 'Deployment') controllers.deployments.materialize(ns, w.name);
          else if (w.kind === 'StatefulSet') controllers.statefulSets.materialize(ns, w.name);
        }
        for (const n of g.spec.networkResources) store.create(networkObject(g, n, role));
        for (const f of g.spec.fluxResources) {
          store.create(fluxObject(g, f, role));
          if (role === 'active') (f.kind === 'Kustomization' ? controllers.kustomizations : controllers.helmReleases).materialize(ns, f.name);
        }
      }
    }
  }

  private populateGlobalState(): void {
    const { scenario } = this;
    for (const g of scenario.groups) {
      const groupId = groupIdOf(g.spec);
      const originalReplicas: JsonObject = {};
      for (const w of g.spec.workloads) if (w.kind !== 'CronJob') originalReplicas[`${w.kind}/${w.name}`] = g.replicas[w.name] ?? 1;
      this.globalState.createGroup('world', {
        groupId,
        ownerCluster: scenario.primary,
        timeouts: { ...g.spec.timeouts },
        heartbeatIntervalMs: g.spec.heartbeatIntervalMs,
        metadata: { originalReplicas },
      });
      if (g.spec.suspended) this.globalState.setSuspended('world', groupId, true, g.spec.suspensionReason ?? 'suspended in the scenario');
      for (const c of scenario.clusters) {
        this.globalState.heartbeat('world', { groupId, cluster: c, health: 'OK', role: c === scenario.primary ? 'PRIMARY' : 'STANDBY' });
      }
    }
    this.kernel.emit('world.built', {
      scenario: scenario.name,
      clusters: scenario.clusters.join(','),
      primary: scenario.primary,
      groups: scenario.groups.map((g) => groupIdOf(g.spec)).join(','),
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Ports: what the engine under test talks to (faults and latency apply on every call).

  /** The Kubernetes API of `cluster`, as the party `caller` (`operator/<c>`) reaches it. */
  clusterPort(cluster: string, caller: string): ClusterPort {
    return new SimClusterDriver(this.kernel, this.cluster(cluster).store, caller);
  }

  /** The global state, as the party `caller` reaches it. */
  globalStatePort(caller: string): GlobalStatePort {
    return new SimGlobalState(this.kernel, this.globalState, caller);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Inspection: read straight from the stores (no latency, no faults), for invariants and tests.

  cluster(name: string): SimCluster {
    const c = this.clusters.get(name);
    if (!c) throw new Error(`unknown cluster "${name}"; this world has ${[...this.clusters.keys()].join(', ')}`);
    return c;
  }

  /** The clusters other than `cluster`, in scenario order. */
  peersOf(cluster: string): string[] {
    return this.scenario.clusters.filter((c) => c !== cluster);
  }

  /** A copy of the stored object (the caller's to change). */
  get(cluster: string, ref: ObjectRef): KubeObject | undefined {
    return this.cluster(cluster).store.get(ref);
  }

  /** The stored object itself, deep-frozen and shared (no copy): for readers that never change it. */
  peek(cluster: string, ref: ObjectRef): Readonly<KubeObject> | undefined {
    return this.cluster(cluster).store.peek(ref);
  }

  /** A copy of a workload (the caller's to change). */
  workload(cluster: string, kind: WorkloadKind, namespace: string, name: string): KubeObject | undefined {
    return this.get(cluster, objectRef(Kinds[kind], namespace, name));
  }

  /** As `workload`, without the copy: the stored object, deep-frozen and shared. */
  peekWorkload(cluster: string, kind: WorkloadKind, namespace: string, name: string): Readonly<KubeObject> | undefined {
    return this.peek(cluster, objectRef(Kinds[kind], namespace, name));
  }

  /** status.readyReplicas of a Deployment or StatefulSet (0 when absent or the object is missing). */
  readyReplicas(cluster: string, kind: 'Deployment' | 'StatefulSet', namespace: string, name: string): number {
    return asNumber(this.peekWorkload(cluster, kind, namespace, name)?.status?.readyReplicas) ?? 0;
  }

  /** The Pods a workload owns on a cluster (terminating ones included until they are gone). */
  pods(cluster: string, kind: 'Deployment' | 'StatefulSet', namespace: string, name: string): KubeObject[] {
    const c = this.cluster(cluster).controllers;
    return (kind === 'Deployment' ? c.deployments : c.statefulSets).pods(namespace, name);
  }

  /** status.state of a VolumeReplication, or undefined when it does not exist on that cluster. */
  volumeState(cluster: string, namespace: string, name: string): VolumeState | undefined {
    const vr = this.peek(cluster, objectRef(Kinds.VolumeReplication, namespace, name));
    return vr ? vrState(vr) : undefined;
  }

  /** The clusters whose copy of the volume is status.state Primary now. */
  primaryHolders(namespace: string, vrName: string): string[] {
    return this.volumes.primaryHolders(namespace, vrName);
  }

  /** Every write lost (or put at risk) by a promotion or a resync so far. */
  dataLoss(): DataLossRecord[] {
    return this.volumes.dataLoss();
  }

  clusterCidr(cluster: string): string {
    return this.cluster(cluster).cidr;
  }

  /** Whether a NetworkFence in effect on any cluster names this cluster's network. */
  isFenced(cluster: string): boolean {
    const cidr = this.clusterCidr(cluster);
    for (const c of this.clusters.values()) {
      for (const f of c.store.peekList(Kinds.NetworkFence).items) {
        if (fenceInEffect(f) && fenceCidrs(f).some((x) => cidrContains(x, cidr))) return true;
      }
    }
    return false;
  }

  /** Whether replication traffic flows between two clusters' storage (their API servers are not partitioned). */
  replicationLinkUp(a: string, b: string): boolean {
    return !this.kernel.partitioned(`apiserver/${a}`, `apiserver/${b}`);
  }

  /**
   * Whether the application writes to this cluster's copy of a volume now: the site is not fenced and the
   * workload that mounts it runs there (ready pods; for a CronJob, not suspended).
   */
  writesActive(cluster: string, namespace: string, vrName: string): boolean {
    if (this.isFenced(cluster)) return false;
    const owner = this.volumeOwners.get(`${namespace}/${vrName}`);
    if (!owner) return true;
    if (owner.kind === 'CronJob') return this.peekWorkload(cluster, 'CronJob', namespace, owner.name)?.spec?.suspend === false;
    return this.readyReplicas(cluster, owner.kind, namespace, owner.name) > 0;
  }

  private peerVolumes(cluster: string, namespace: string, name: string): Array<{ cluster: string; object: Readonly<KubeObject> }> {
    const out: Array<{ cluster: string; object: Readonly<KubeObject> }> = [];
    for (const c of this.scenario.clusters) {
      if (c === cluster) continue;
      const object = this.cluster(c).store.peek(objectRef(Kinds.VolumeReplication, namespace, name));
      if (object) out.push({ cluster: c, object });
    }
    return out;
  }

  /**
   * What is still moving: every object whose controller has work left (workloads not at their replicas, pods
   * starting or stopping, volumes not in their requested state, Flux reconciles pending, fences not applied).
   * Empty when the world is converged; periodic work (CronJobs, replication snapshots) does not count.
   */
  pending(): string[] {
    const out: string[] = [];
    const objects = (store: KubeStore, gvk: GVK) => store.peekList(gvk).items;
    for (const c of this.clusters.values()) {
      const at = (o: KubeObject) => `${c.name}:${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
      for (const kind of ['Deployment', 'StatefulSet'] as const) {
        for (const o of objects(c.store, Kinds[kind])) {
          const want = desiredReplicas(o);
          const pods = this.pods(c.name, kind, o.metadata.namespace ?? '', o.metadata.name);
          const ready = asNumber(o.status?.readyReplicas) ?? 0;
          if (o.status?.observedGeneration !== o.metadata.generation || ready !== want || pods.length !== want) out.push(`${at(o)} ready=${ready}/${want} pods=${pods.length}`);
        }
      }
      for (const o of objects(c.store, Kinds.VolumeReplication)) {
        const want = o.spec?.replicationState === 'primary' ? 'Primary' : 'Secondary';
        const degraded = findCondition(o.status, 'Degraded');
        const settled = vrState(o) === want && o.status?.observedGeneration === o.metadata.generation && !(degraded?.status === 'True' && degraded.reason === 'VolumeDegraded');
        if (!settled) out.push(`${at(o)} state=${vrState(o)} want=${want}`);
      }
      for (const kind of ['Kustomization', 'HelmRelease'] as const) {
        for (const o of objects(c.store, Kinds[kind])) {
          if (fluxPaused(o)) continue;
          const requested = o.metadata.annotations?.[Annotations.fluxRequestedAt];
          const ready = findCondition(o.status, 'Ready')?.status === 'True';
          if (!ready || o.status?.observedGeneration !== o.metadata.generation || (requested !== undefined && o.status?.lastHandledReconcileAt !== requested)) out.push(`${at(o)} not reconciled`);
        }
      }
      for (const o of objects(c.store, Kinds.NetworkFence)) {
        const want = o.spec?.fenceState === 'Unfenced' ? FENCE_MESSAGES.Unfenced : FENCE_MESSAGES.Fenced;
        if (o.status?.result !== FENCE_RESULT_SUCCEEDED || o.status?.message !== want) out.push(`${at(o)} fence not applied`);
      }
    }
    return out;
  }

  converged(): boolean {
    return this.pending().length === 0;
  }

  /** Runs the world until it is converged, at most `maxMs` of virtual time; resolves whether it converged. */
  async settle(maxMs = 300_000): Promise<boolean> {
    const until = this.kernel.now() + maxMs;
    if (this.converged()) return true;
    await this.kernel.run({ untilMs: until, stopWhen: () => this.converged() });
    return this.converged();
  }

  /** Runs the world for `ms` of virtual time (periodic work keeps it busy, so this is how to let time pass). */
  runFor(ms: number): Promise<RunResult> {
    return this.kernel.run({ untilMs: this.kernel.now() + ms });
  }
}
