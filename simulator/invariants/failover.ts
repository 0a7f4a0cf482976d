// Why: what must hold of a cross-cluster failover whatever the nemesis does, checked against the simulated world
// after every event (safety) and once faults have healed (liveness). Checks are incremental: each one keeps the
// little state it needs and looks again only at what an event touched (store subscriptions, snapshot commits),
// so hundreds of runs stay cheap.
import { Kinds, type KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { SnapshotCommit } from '../../drivers/snapshots/snapshot.sim.ts';
import {
  deriveFailoverStatus,
  dualPrimaryWindowOpen,
  progressionOrder,
  sourceFencedWindowOpen,
  type FailoverSnapshotLike,
  type FailoverStatus,
} from '../../machines/failover/failover.status.ts';
import type { FailoverRequest } from '../../machines/failover/failover.types.ts';
import { failoverStatusOf } from '../../src/runtime/failover-host.ts';
import { EngineAnnotations as TrafficAnnotations } from '../../src/wire/annotations.ts';
import { FENCING_TOKEN_ANNOTATION } from '../../src/wire/fenced-write.ts';
import type { SimKernel } from '../kernel.ts';
import type { ScenarioGroup } from '../scenario.ts';
import type { SimWorld } from '../world.ts';


/** Invariant names, as reported in RunResult.invariants and failures. */
export const INV = {
  singleWriter: 'single-writer',
  singleSiteTraffic: 'single-site-traffic',
  consistencyScaleUp: 'consistency-target-after-source-down',
  noDataLoss: 'consistency-no-data-loss',
  tokensGrow: 'fencing-tokens-grow',
  noStaleWrite: 'no-stale-token-write',
  annotationNeverDecreases: 'fencing-annotation-never-decreases',
  progressionMonotonic: 'progression-monotonic',
  failoverEnds: 'failover-ends',
  sidesAgree: 'sides-agree',
  lockReleased: 'lock-released',
  historyOnce: 'history-recorded-once',
  replicasRestored: 'replicas-restored',
} as const;

/** What a side's operator says about the failover at the end of a run. */
export interface SideView {
  cluster: string;
  role: 'source' | 'target';
  /** The current snapshot (live, or restored), undefined when the operator never ran it. */
  snapshot?: FailoverSnapshotLike;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);
const NETWORK_KINDS = new Set(['VirtualService', 'Ingress']);

/**
 * Whether an active snapshot declares the dual-primary or the source-fenced window. A live snapshot carries its
 * tags (the same set tagsOf resolves through the chart for a persisted one), so it is read without resolving the
 * state again; a persisted one goes through the status helpers.
 */
export function windowOpen(snapshot: FailoverSnapshotLike): boolean {
  const tags = (snapshot as { tags?: unknown }).tags;
  if (tags instanceof Set) return tags.has('dualPrimaryWindow') || tags.has('sourceFenced');
  return dualPrimaryWindowOpen(snapshot) || sourceFencedWindowOpen(snapshot);
}

/**
 * The failover's invariants over one world. The runner calls `observe` for every new snapshot of either side's
 * actor, `install` once before time starts, and reads `ended` views at the end for the eventual checks.
 */
export class FailoverInvariants {
  private readonly kernel: SimKernel;
  private readonly ns: string;
  private readonly groupId: string;
  private readonly violations = new Map<string, string>();
  /** Per cluster: the snapshot furthest along the progression (ties: the latest). Its tags are what the world reflects. */
  private readonly furthest = new Map<string, { order: number; window: boolean }>();
  // single writer
  private readonly dirtyVolumes = new Set<string>();
  private readonly overlapping = new Set<string>();
  /** Per network resource (`Kind/name`): the clusters whose copy serves traffic (dns-disabled not set). */
  private readonly serving = new Map<string, Set<string>>();
  private fencesDirty = true;
  private readonly fenced = new Map<string, boolean>();
  // consistency scale-up: kept from store changes (no copies), keyed `Kind/name`
  private scaleDirty = true;
  private readonly targetReplicas = new Map<string, number>();
  private readonly sourceReady = new Map<string, number>();
  private readonly sourcePods = new Map<string, Set<string>>();
  // annotations
  private readonly tokenSeen = new Map<string, number>();
  // global-state logs (append-only): how far they were checked
  private tokensChecked = 0;
  private writesChecked = 0;
  /** guardedWriteCount() (all groups) when the writes were last checked: unchanged, nothing new to check. */
  private writesSeen = -1;
  private lastToken = Number.NEGATIVE_INFINITY;
  // persisted progression, per cluster
  private readonly persisted = new Map<string, { order: number; phase: FailoverStatus['phase']; where: string }>();

  constructor(
    private readonly world: SimWorld,
    private readonly request: FailoverRequest,
    private readonly group: ScenarioGroup,
  ) {
    this.kernel = world.kernel;
    this.ns = request.group.namespace;
    this.groupId = request.groupId;
  }

  /** Subscribes to the stores and registers every invariant with the kernel. */
  install(disks: ReadonlyMap<string, { subscribe(l: (c: SnapshotCommit) => void): () => void }>): void {
    const { sourceCluster: source, targetCluster: target } = this.request;
    for (const w of this.request.group.workloads) {
      if (w.kind === 'CronJob') continue;
      const key = `${w.kind}/${w.name}`;
      const t = this.world.peekWorkload(target, w.kind, this.ns, w.name)?.spec?.replicas;
      this.targetReplicas.set(key, typeof t === 'number' ? t : 0);
      this.sourceReady.set(key, this.world.readyReplicas(source, w.kind, this.ns, w.name));
      this.sourcePods.set(key, new Set(this.world.pods(source, w.kind, this.ns, w.name).map((p) => p.metadata.name)));
    }
    for (const c of this.world.clusters.values()) {
      c.store.subscribe((change) => this.onStoreChange(c.name, change.type, change.object));
      for (const n of this.request.group.networkResources) {
        const obj = c.store.peek({ ...Kinds[n.kind], namespace: this.ns, name: n.name });
        if (obj) this.onStoreChange(c.name, 'ADDED', obj as KubeObject);
      }
    }
    for (const [cluster, disk] of disks) disk.subscribe((c) => this.onCommit(cluster, c));
    const always = (name: string, check: () => string | undefined) => this.kernel.addInvariant({ name, kind: 'always', check });
    const recorded = (name: string) => () => this.violations.get(name);
    always(INV.singleWriter, () => this.checkSingleWriter());
    always(INV.singleSiteTraffic, () => this.checkSingleSiteTraffic());
    if (this.request.mode === 'CONSISTENCY') {
      always(INV.consistencyScaleUp, () => this.checkScaleUp());
      if (this.request.type === 'planned') always(INV.noDataLoss, () => this.checkNoDataLoss());
    }
    always(INV.tokensGrow, recorded(INV.tokensGrow));
    always(INV.noStaleWrite, recorded(INV.noStaleWrite));
    always(INV.annotationNeverDecreases, recorded(INV.annotationNeverDecreases));
    always(INV.progressionMonotonic, recorded(INV.progressionMonotonic));
  }

  /** Registers the liveness checks; `sides` is read when they are evaluated (at the end of the run). */
  installEventually(sides: () => SideView[], bound: () => string | undefined): void {
    const eventually = (name: string, check: () => string | undefined) => this.kernel.addInvariant({ name, kind: 'eventually', check });
    eventually(INV.failoverEnds, () => bound() ?? this.checkEnded(sides()));
    eventually(INV.sidesAgree, () => this.checkAgree(sides()));
    eventually(INV.lockReleased, () => this.checkLockReleased(sides()));
    eventually(INV.historyOnce, () => this.checkHistory(sides()));
    eventually(INV.replicasRestored, () => this.checkReplicas(sides()));
  }

  /** A new snapshot of one side's actor (live): updates the declared dual-primary window, checks global-state logs. */
  observe(cluster: string, snapshot: FailoverSnapshotLike): void {
    const order = progressionOrder(snapshot);
    const cur = this.furthest.get(cluster);
    if (!cur || order >= cur.order) {
      this.furthest.set(cluster, { order, window: snapshot.status === 'active' && windowOpen(snapshot) });
    }
    this.checkGlobalLogs();
  }

  /** Checks the append-only global-state logs (token issues, guarded writes) from where the last check stopped. */
  checkGlobalLogs(): void {
    const gs = this.world.globalState;
    // The logs are append-only: copy them (below) only when they grew since the last check.
    if (gs.fencingTokenCount(this.groupId) > this.tokensChecked) {
      const tokens = gs.fencingTokenLog(this.groupId);
      for (; this.tokensChecked < tokens.length; this.tokensChecked++) {
        const t = tokens[this.tokensChecked];
        if (t.fencingToken <= this.lastToken) {
          this.violate(INV.tokensGrow, `fencing token ${t.fencingToken} issued by ${t.cause} (${t.by}) at T+${t.atMs - this.kernel.startMs}ms after token ${this.lastToken}`);
        }
        this.lastToken = Math.max(this.lastToken, t.fencingToken);
      }
    }
    const writeCount = gs.guardedWriteCount();
    if (writeCount === this.writesSeen) return;
    this.writesSeen = writeCount;
    const writes = gs.guardedWrites(this.groupId);
    for (; this.writesChecked < writes.length; this.writesChecked++) {
      const w = writes[this.writesChecked];
      if (w.applied && w.guarded && !w.replay && w.fencingToken !== undefined && w.recordFencingToken !== undefined && w.fencingToken < w.recordFencingToken) {
        this.violate(
          INV.noStaleWrite,
          `${w.op} by ${w.by} carrying fencing token ${w.fencingToken} took effect at T+${w.atMs - this.kernel.startMs}ms although token ${w.recordFencingToken} was current`,
        );
      }
    }
  }

  /** The first violation of a recorded (hook-checked) invariant, if any. */
  violation(name: string): string | undefined {
    return this.violations.get(name);
  }

  private violate(name: string, message: string): void {
    if (!this.violations.has(name)) this.violations.set(name, message);
  }

  private onStoreChange(cluster: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const kind = obj.kind;
    const ns = obj.metadata.namespace;
    if (kind === 'NetworkFence') {
      this.fencesDirty = true;
      this.scaleDirty = true;
    }
    if (ns !== this.ns) return;
    if (kind === 'VolumeReplication') this.dirtyVolumes.add(obj.metadata.name);
    else if (NETWORK_KINDS.has(kind)) {
      const key = `${kind}/${obj.metadata.name}`;
      let on = this.serving.get(key);
      if (!on) this.serving.set(key, (on = new Set()));
      if (type !== 'DELETED' && obj.metadata.annotations?.[TrafficAnnotations.dnsDisabled] !== 'true') on.add(cluster);
      else on.delete(cluster);
    }
    else if (WORKLOAD_KINDS.has(kind)) {
      const key = `${kind}/${obj.metadata.name}`;
      if (cluster === this.request.targetCluster) {
        const r = obj.spec?.replicas;
        this.targetReplicas.set(key, type === 'DELETED' || typeof r !== 'number' ? 0 : r);
        this.scaleDirty = true;
      } else if (cluster === this.request.sourceCluster) {
        const r = obj.status?.readyReplicas;
        this.sourceReady.set(key, type === 'DELETED' || typeof r !== 'number' ? 0 : r);
        this.scaleDirty = true;
      }
    } else if (kind === 'Pod' && cluster === this.request.sourceCluster) {
      for (const o of obj.metadata.ownerReferences ?? []) {
        if (!WORKLOAD_KINDS.has(o.kind)) continue;
        const key = `${o.kind}/${o.name}`;
        let set = this.sourcePods.get(key);
        if (!set) this.sourcePods.set(key, (set = new Set()));
        if (type === 'DELETED') set.delete(obj.metadata.name);
        else set.add(obj.metadata.name);
        this.scaleDirty = true;
      }
    }
    const v = obj.metadata.annotations?.[FENCING_TOKEN_ANNOTATION];
    if (v !== undefined) {
      const n = Number(v);
      const key = `${cluster}/${kind}/${obj.metadata.name}`;
      const prev = this.tokenSeen.get(key);
      if (!Number.isFinite(n)) {
        this.violate(INV.annotationNeverDecreases, `${key} carries a non-numeric fencing token ${JSON.stringify(v)}`);
      } else if (prev !== undefined && n < prev) {
        this.violate(INV.annotationNeverDecreases, `${key}: fencing token went down from ${prev} to ${n} at T+${this.kernel.elapsed()}ms`);
      }
      if (prev === undefined || n > prev) this.tokenSeen.set(key, n);
    }
  }

  private onCommit(cluster: string, c: SnapshotCommit): void {
    if (c.key !== this.request.failoverId || c.type !== 'saved' || !c.value) return;
    const snap = c.value.snapshot as FailoverSnapshotLike;
    let status: Readonly<FailoverStatus>;
    try {
      status = failoverStatusOf(snap);
    } catch (e) {
      this.violate(INV.progressionMonotonic, `deriveFailoverStatus failed on ${cluster}'s persisted snapshot (revision ${c.revision}): ${(e as Error).message}`);
      return;
    }
    const order = progressionOrder(snap);
    const where = `${status.phase} ${status.progression.stage}/${status.progression.task}`;
    const prev = this.persisted.get(cluster);
    if (prev) {
      const ended = prev.phase === 'Succeeded' || prev.phase === 'RolledBack' || prev.phase === 'Failed';
      if (order < prev.order) this.violate(INV.progressionMonotonic, `${cluster} persisted ${where} (order ${order}) after ${prev.where} (order ${prev.order})`);
      else if (ended && status.phase !== prev.phase) this.violate(INV.progressionMonotonic, `${cluster} persisted ${where} after the failover had ended as ${prev.phase}`);
    }
    this.persisted.set(cluster, { order, phase: status.phase, where });
  }

  private windowOpen(): boolean {
    for (const f of this.furthest.values()) if (f.window) return true;
    return false;
  }

  private isFenced(cluster: string): boolean {
    if (this.fencesDirty) {
      this.fenced.clear();
      this.fencesDirty = false;
    }
    let f = this.fenced.get(cluster);
    if (f === undefined) {
      f = this.world.isFenced(cluster);
      this.fenced.set(cluster, f);
    }
    return f;
  }

  private checkSingleWriter(): string | undefined {
    for (const name of this.dirtyVolumes) {
      if (this.world.primaryHolders(this.ns, name).length >= 2) this.overlapping.add(name);
      else this.overlapping.delete(name);
    }
    this.dirtyVolumes.clear();
    if (this.overlapping.size === 0 || this.windowOpen()) return undefined;
    for (const name of [...this.overlapping].sort()) {
      const holders = this.world.primaryHolders(this.ns, name);
      const writable = holders.filter((c) => !this.isFenced(c));
      if (writable.length >= 2) {
        return `VolumeReplication ${this.ns}/${name} is Primary on ${writable.join(' and ')} (none fenced) outside the dual-primary window`;
      }
    }
    return undefined;
  }

  /** Two unfenced sites serve one network resource's traffic only inside a declared window. */
  private checkSingleSiteTraffic(): string | undefined {
    let both: string | undefined;
    for (const [key, on] of this.serving) if (on.size >= 2 && (both === undefined || key < both)) both = key;
    if (both === undefined || this.windowOpen()) return undefined;
    const serving = [...this.serving.get(both)!].filter((c) => !this.isFenced(c)).sort();
    return serving.length >= 2 ? `${both} in ${this.ns} serves traffic on ${serving.join(' and ')} (none fenced) outside the declared window` : undefined;
  }

  private checkScaleUp(): string | undefined {
    if (!this.scaleDirty) return undefined;
    this.scaleDirty = false;
    const { sourceCluster: source, targetCluster: target } = this.request;
    let up: string | undefined;
    for (const [key, n] of this.targetReplicas) if (n > 0 && (up === undefined || key < up)) up = key;
    if (up === undefined || this.isFenced(source)) return undefined;
    for (const key of [...this.sourceReady.keys()].sort()) {
      const ready = this.sourceReady.get(key) ?? 0;
      const pods = this.sourcePods.get(key)?.size ?? 0;
      if (ready > 0 || pods > 0) {
        this.scaleDirty = true; // still violated: report it again on the next check
        return `${target} ${up} has spec.replicas > 0 while ${source} ${key} still has ${ready} ready replicas and ${pods} pods (source not down, not fenced)`;
      }
    }
    return undefined;
  }

  private checkNoDataLoss(): string | undefined {
    const lost = this.world.dataLoss().filter((l) => l.namespace === this.ns);
    if (lost.length === 0) return undefined;
    const l = lost[0];
    return `${l.writes} writes to ${l.namespace}/${l.name} lost (${l.kind}: ${l.cluster} lacks writes of ${l.missingFrom}) in a planned CONSISTENCY failover`;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Liveness (evaluated at the end).

  private checkEnded(sides: SideView[]): string | undefined {
    const open = sides.filter((s) => !s.snapshot || (s.snapshot.status !== 'done' && deriveFailoverStatus(s.snapshot).phase !== 'ManualIntervention'));
    if (open.length === 0) {
      const mi = sides.find((s) => s.snapshot && s.snapshot.status !== 'done');
      if (mi) {
        const st = deriveFailoverStatus(mi.snapshot!);
        if (!st.message) return `${mi.role} (${mi.cluster}) needs manual intervention but gives no reason`;
      }
      return undefined;
    }
    return open
      .map((s) => {
        if (!s.snapshot) return `${s.role} (${s.cluster}) never ran the failover`;
        const st = deriveFailoverStatus(s.snapshot);
        return `${s.role} (${s.cluster}) is still ${st.phase} at ${st.progression.stage}/${st.progression.task}: ${st.message}`;
      })
      .join('; ');
  }

  private checkAgree(sides: SideView[]): string | undefined {
    const o = sideOutcomes(sides);
    const source = o.source;
    const target = o.target;
    if (source === undefined || target === undefined) return undefined;
    // A side that gave up (failed) while the other rolled back is one rolled-back failover; but one side
    // completed and the other not means they disagree on who owns the application.
    if ((source === 'completed') !== (target === 'completed')) return `the source ended ${source} but the target ended ${target}`;
    return undefined;
  }

  private checkLockReleased(sides: SideView[]): string | undefined {
    if (!sides.every((s) => s.snapshot?.status === 'done')) return undefined; // reported by failover-ends
    const lock = this.world.globalState.group(this.groupId)?.lock;
    if (lock && lock.failoverId === this.request.failoverId) {
      return `the lock of ${this.groupId} is still held by ${lock.holder} for this failover (expires T+${lock.expiresAtMs - this.kernel.startMs}ms) after both sides ended`;
    }
    return undefined;
  }

  private checkHistory(sides: SideView[]): string | undefined {
    if (!sides.every((s) => s.snapshot?.status === 'done')) return undefined;
    const entries = this.world.globalState.historyOf(this.groupId).filter((h) => h.failoverId === this.request.failoverId);
    if (entries.length !== 1) return `history of ${this.groupId} holds ${entries.length} entries for failover ${this.request.failoverId}, not 1`;
    const outcome = overallOutcome(sides, this.request.type);
    if ((outcome === 'completed') !== (entries[0].status === 'SUCCESS')) return `history says ${entries[0].status} but the failover ended ${outcome}`;
    return undefined;
  }

  private checkReplicas(sides: SideView[]): string | undefined {
    const outcome = overallOutcome(sides, this.request.type);
    let where = outcome === 'completed' ? this.request.targetCluster : outcome === 'rolledBack' || outcome === 'failed' ? this.request.sourceCluster : undefined;
    if (!where) return undefined;
    // A newer failover (an automatic one, when this one's new primary stalled past its heartbeat timeout) moved the
    // group on: the workloads run where it left them, its current owner.
    const record = this.world.globalState.getGroup(this.groupId);
    if (record?.lastFailover && record.lastFailover.failoverId !== this.request.failoverId && record.lastFailover.atMs >= this.request.requestedAtMs) where = record.ownerCluster;
    const wrong: string[] = [];
    for (const w of this.request.group.workloads) {
      if (w.kind === 'CronJob') continue;
      const want = this.group.replicas[w.name] ?? 1;
      const obj = this.world.peekWorkload(where, w.kind, this.ns, w.name);
      const spec = obj?.spec?.replicas;
      const ready = this.world.readyReplicas(where, w.kind, this.ns, w.name);
      if (spec !== want || ready !== want) wrong.push(`${w.kind}/${w.name} spec=${String(spec)} ready=${ready} want ${want}`);
    }
    return wrong.length ? `after ${outcome}, ${where} has ${wrong.slice(0, 5).join(', ')}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ''}` : undefined;
  }
}

export type OverallOutcome = 'completed' | 'rolledBack' | 'failed' | 'manualIntervention' | 'inconsistent' | 'unfinished';

/** Each side's outcome, for the sides whose chart has ended. */
export function sideOutcomes(sides: SideView[]): Partial<Record<'source' | 'target', 'completed' | 'rolledBack' | 'failed'>> {
  const out: Partial<Record<'source' | 'target', 'completed' | 'rolledBack' | 'failed'>> = {};
  for (const s of sides) {
    if (s.snapshot?.status !== 'done') continue;
    const o = deriveFailoverStatus(s.snapshot).outcome;
    out[s.role] = o === 'completed' || o === 'rolledBack' ? o : 'failed';
  }
  return out;
}

/**
 * The failover's outcome from both sides: completed only if both completed; rolled back if a side rolled back and
 * neither completed (a side that gave up while the other rolled back); failed if both failed (nothing changed).
 * One side completed and the other not is `inconsistent`.
 */
export function overallOutcome(sides: SideView[], _type: 'planned' | 'unplanned'): OverallOutcome {
  for (const s of sides) if (s.snapshot && s.snapshot.status !== 'done' && deriveFailoverStatus(s.snapshot).phase === 'ManualIntervention') return 'manualIntervention';
  const o = sideOutcomes(sides);
  if (o.source === undefined || o.target === undefined) return 'unfinished';
  if (o.source === 'completed' && o.target === 'completed') return 'completed';
  if (o.source === 'completed' || o.target === 'completed') return 'inconsistent';
  if (o.source === 'rolledBack' || o.target === 'rolledBack') return 'rolledBack';
  return 'failed';
}
