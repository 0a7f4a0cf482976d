// Why: each cluster's daemon runs its part of every Failover that involves its cluster. It reads the Failover
// object (bad input becomes an Accepted=False condition naming the field, never a crash), builds the request from
// the FailoverGroup objects (durations parsed), decides this operator's role (source: this cluster owns the group;
// target: it is spec.targetCluster), hands the failover to the operator host, copies the Failover to the other
// involved cluster when a peer connection is configured, and writes Failover.status derived ONLY from the
// chart's snapshots, on every transition.
//
// How the two operators learn of one failover (docs/daemon.md): each daemon acts on the Failovers in its own
// cluster. The user (or `failoverctl`) may create the Failover in both clusters with the same name; or in one,
// and that cluster's daemon copies it to the other through its peer connection, with the pinned source cluster
// and request time, so both build the same request. Both charts then coordinate through global state.
import type { Logger } from 'pino';
import type { AnyMachineSnapshot } from 'xstate';
import { isoTime, type ClockPort } from '../../drivers/clock/clock.port.ts';
import { refOf, type ClusterPort, type KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { Informer } from '../../drivers/cluster/informer.ts';
import { isDriverError } from '../../drivers/errors.ts';
import type { GlobalStatePort } from '../../drivers/globalstate/globalstate.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import type { FailoverStatus } from '../../machines/failover/failover.status.ts';
import type { FailoverContext, FailoverPolicy, FailoverRequest, FailoverRole } from '../../machines/failover/failover.types.ts';
import { groupIdOf } from '../../machines/failover/group.types.ts';
import { failoverSubmission, type FailoverHost } from '../runtime/failover-host.ts';
import type { Submission } from '../runtime/operator-host.ts';
import { Annotations, FailoverKind, FIELD_MANAGER } from './api.ts';
import { FailoverAcceptance as A, mergeConditions, type KubeCondition } from './conditions.ts';
import { failoverRequestOf } from './failover-request.ts';
import { failoverIdOf, failoverSpecFromObject, requestedAtMsOf, type FailoverGroupRef, type FailoverSpec } from './failover-spec.ts';
import type { GroupReconciler } from './group-reconciler.ts';
import { groupSpecFromObject } from './group-spec.ts';
import { WorkQueue } from './work-queue.ts';

/** How long to wait before looking again at a Failover whose group is not registered yet. */
export const UNREGISTERED_RETRY_MS = 10_000;
/** Every Failover is looked at again this often (informer resync). */
export const RESYNC_MS = 5 * 60_000;
/** Backoff of copying a Failover to an unreachable peer. */
export const MIRROR_BACKOFF = { baseMs: 5_000, maxMs: 5 * 60_000 };

export interface FailoverReconcilerDeps {
  clusterName: string;
  clusterPort: ClusterPort;
  peers: Record<string, ClusterPort>;
  globalState: GlobalStatePort;
  clock: ClockPort;
  log: Logger;
  host: FailoverHost;
  groups: GroupReconciler;
  namespace?: string;
  policy?: Partial<FailoverPolicy>;
  trace?: (event: string, fields: Record<string, string | number | boolean | null | undefined>) => void;
}

/** A Failover this daemon runs: its groups' failover ids, its role and the source. */
interface Accepted {
  key: string;
  role: FailoverRole;
  sourceCluster: string;
  targetCluster: string;
  groups: Array<{ ref: FailoverGroupRef; failoverId: string }>;
}

type Resolution = { kind: 'invalid'; problems: string[] } | { kind: 'wait'; reason: string; message: string } | { kind: 'notInvolved'; message: string } | { kind: 'run'; sourceCluster: string; requests: FailoverRequest[]; role: FailoverRole };

export class FailoverReconciler {
  readonly informer: Informer;
  private readonly queue: WorkQueue;
  private readonly statusQueue: WorkQueue;
  private readonly mirrorQueue: WorkQueue;
  private readonly accepted = new Map<string, Accepted>();
  private readonly byFailoverId = new Map<string, string>();
  /** `namespace/name` of a group → the failover ids of it that this daemon knows. */
  private readonly byGroup = new Map<string, Set<string>>();
  /** What this process life started (the host restarts these when they have no snapshot). */
  private readonly submitted = new Map<string, Submission>();
  private readonly lastWritten = new Map<string, string>();
  /** The failovers whose end this daemon has seen (their group was refreshed once). */
  private readonly endedHere = new Set<string>();
  private readonly log: Logger;
  stats = { accepted: 0, invalid: 0, statusWrites: 0, mirrored: 0 };

  constructor(private readonly deps: FailoverReconcilerDeps) {
    this.log = deps.log.child({ component: 'failover-reconciler' });
    this.informer = new Informer({
      port: deps.clusterPort,
      gvk: FailoverKind,
      clock: deps.clock,
      log: this.log,
      // A periodic look again: a refused Failover whose FailoverGroup was fixed since, a copy to a peer that failed.
      resyncMs: RESYNC_MS,
      ...(deps.namespace ? { namespace: deps.namespace } : {}),
    });
    this.queue = new WorkQueue({ name: 'failovers', clock: deps.clock, log: this.log, handler: (k) => this.reconcile(k), concurrency: 4 });
    this.statusQueue = new WorkQueue({ name: 'failover-status', clock: deps.clock, log: this.log, handler: (k) => this.writeStatus(k), concurrency: 8 });
    this.mirrorQueue = new WorkQueue({ name: 'failover-mirror', clock: deps.clock, log: this.log, handler: (k) => this.mirror(k), concurrency: 2, backoff: MIRROR_BACKOFF });
    this.informer.addHandler({
      onAdd: (o) => this.queue.add(keyOf(o)),
      onUpdate: (_old, o) => this.queue.add(keyOf(o)),
      onDelete: (o) => this.queue.add(keyOf(o)),
    });
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  stop(): void {
    this.queue.stop();
    this.statusQueue.stop();
    this.mirrorQueue.stop();
    this.informer.stop();
  }

  /**
   * The host saw a new snapshot: write the status of the Failover it belongs to. When it is the failover's last
   * one, the group's heartbeat and status are refreshed at once (new owner, new role, health against the new site).
   */
  onSnapshot(failoverId: string): void {
    const key = this.byFailoverId.get(failoverId);
    if (key) this.statusQueue.add(key);
    const snap = this.deps.host.snapshot(failoverId);
    if (snap && snap.status !== 'active' && !this.endedHere.has(failoverId)) {
      this.endedHere.add(failoverId);
      const groupId = (snap.context as FailoverContext).request?.groupId;
      if (groupId) this.deps.groups.refreshNow(groupId);
    }
  }

  /** Submissions of this process life (the host's pendingRequests after a restart). */
  submissions(): Submission[] {
    return [...this.submitted.values()];
  }

  /** Whether a failover of this group runs (not finished) on this cluster. */
  activeFor(groupId: string): boolean {
    for (const id of this.byGroup.get(groupId) ?? []) {
      if (this.deps.host.snapshot(id)?.status === 'active') return true;
    }
    return false;
  }

  exists(namespace: string, name: string): boolean {
    return this.informer.get(name, namespace) !== undefined;
  }

  idle(): Promise<void> {
    return Promise.all([this.queue.idle(), this.statusQueue.idle()]).then(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------------------

  private async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/');
    const obj = this.informer.get(name, namespace);
    if (!obj) {
      if (this.accepted.has(key)) this.log.info({ failover: key }, 'Failover object deleted; its running failovers continue (status can no longer be written)');
      return;
    }
    if (this.accepted.has(key)) {
      // Already running: the spec is immutable; only the status (and the copy to the peer) can need work.
      this.statusQueue.add(key);
      return;
    }
    const parsed = failoverSpecFromObject(obj);
    if (!parsed.ok) {
      this.stats.invalid++;
      return this.writeRefusal(obj, 'Invalid', A.InvalidSpec, parsed.problems.join('; '));
    }
    const known = this.fromSnapshots(obj, parsed.spec);
    if (known) {
      // Restored after a restart (or started before): role and source come from the snapshots themselves.
      this.accept(known);
      return;
    }
    const r = await this.resolve(obj, parsed.spec);
    if (r.kind === 'invalid') {
      this.stats.invalid++;
      this.log.warn({ failover: key, problems: r.problems }, 'Refused Failover: invalid spec');
      return this.writeRefusal(obj, 'Invalid', A.InvalidSpec, r.problems.join('; '));
    }
    if (r.kind === 'wait') {
      await this.writeRefusal(obj, 'Pending', r.reason, r.message);
      this.queue.addAfter(key, UNREGISTERED_RETRY_MS);
      return;
    }
    if (r.kind === 'notInvolved') return this.writeRefusal(obj, 'Pending', A.NotInvolved, r.message);
    await this.pin(obj, r.sourceCluster, r.requests[0].requestedAtMs);
    const acc: Accepted = { key, role: r.role, sourceCluster: r.sourceCluster, targetCluster: parsed.spec.targetCluster, groups: [] };
    for (const req of r.requests) {
      const [gns, gname] = req.groupId.split('/');
      acc.groups.push({ ref: { namespace: gns, name: gname }, failoverId: req.failoverId });
    }
    for (const req of r.requests) {
      if (this.deps.host.snapshot(req.failoverId)) continue; // restored from its snapshot, or already running
      const sub = failoverSubmission(req, r.role, this.deps.clusterName, this.deps.policy);
      this.submitted.set(req.failoverId, sub);
      this.deps.host.start(sub);
      this.stats.accepted++;
      this.log.info({ failover: key, failoverId: req.failoverId, role: r.role, source: req.sourceCluster, target: req.targetCluster, mode: req.mode, type: req.type }, 'Started Failover');
      this.deps.trace?.('daemon.failover-started', { cluster: this.deps.clusterName, failover: req.failoverId, role: r.role });
    }
    this.accept(acc);
  }

  private accept(acc: Accepted): void {
    this.accepted.set(acc.key, acc);
    for (const g of acc.groups) {
      this.byFailoverId.set(g.failoverId, acc.key);
      const gid = `${g.ref.namespace}/${g.ref.name}`;
      let ids = this.byGroup.get(gid);
      if (!ids) this.byGroup.set(gid, (ids = new Set()));
      ids.add(g.failoverId);
    }
    const other = acc.role === 'source' ? acc.targetCluster : acc.sourceCluster;
    if (this.deps.peers[other]) this.mirrorQueue.add(acc.key);
    this.statusQueue.add(acc.key);
  }

  /** The Failover as its charts' snapshots know it, when every group of it already has one on this cluster. */
  private fromSnapshots(obj: KubeObject, spec: FailoverSpec): Accepted | undefined {
    const groups: Accepted['groups'] = [];
    let ctx: FailoverContext | undefined;
    for (const ref of spec.groups) {
      const failoverId = failoverIdOf({ namespace: obj.metadata.namespace ?? '', name: obj.metadata.name }, ref);
      const snap = this.deps.host.snapshot(failoverId);
      if (!snap) return undefined;
      ctx ??= snap.context as FailoverContext;
      groups.push({ ref, failoverId });
    }
    if (!ctx?.request) return undefined;
    return { key: keyOf(obj), role: ctx.role, sourceCluster: ctx.request.sourceCluster, targetCluster: ctx.request.targetCluster, groups };
  }

  /** Checks the groups, finds the source (pinned, or the owner in global state) and this cluster's role. */
  private async resolve(obj: KubeObject, spec: FailoverSpec): Promise<Resolution> {
    const me = this.deps.clusterName;
    const problems: string[] = [];
    const pinned = obj.metadata.annotations?.[Annotations.sourceCluster];
    const requestedAtMs = requestedAtMsOf(obj) ?? this.deps.clock.now();
    const requests: FailoverRequest[] = [];
    const owners = new Map<string, string>();
    const known = new Set<string>([me, ...Object.keys(this.deps.peers)]);
    for (const [i, ref] of spec.groups.entries()) {
      const field = `spec.failoverGroups[${i}]`;
      const gobj = this.deps.groups.object(ref.namespace, ref.name);
      if (!gobj) {
        problems.push(`${field}: FailoverGroup ${ref.namespace}/${ref.name} does not exist in cluster ${me}: create it here (with the same spec as on the other clusters)`);
        continue;
      }
      const gs = groupSpecFromObject(gobj);
      if (!gs.ok) {
        problems.push(...gs.problems.map((p) => `FailoverGroup ${ref.namespace}/${ref.name}: ${p}`));
        continue;
      }
      const groupId = groupIdOf(gs.spec);
      const record = await this.deps.globalState.getGroup(groupId, { log: this.log });
      if (!record && !pinned) return { kind: 'wait', reason: A.GroupNotRegistered, message: `Group ${groupId} is not registered in global state yet (the daemon of the cluster that runs it registers it)` };
      const clusters = await this.deps.globalState.listClusters(groupId, { log: this.log });
      for (const c of clusters) known.add(c.cluster);
      const source = pinned ?? record!.ownerCluster;
      owners.set(groupId, source);
      if (source === spec.targetCluster) {
        problems.push(`spec.targetCluster: ${spec.targetCluster} already owns group ${groupId}: there is nothing to fail over (name the other cluster)`);
        continue;
      }
      requests.push(
        failoverRequestOf({
          failover: { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name },
          group: gs.spec,
          sourceCluster: source,
          targetCluster: spec.targetCluster,
          mode: spec.mode,
          type: spec.type,
          force: spec.force,
          reason: spec.reason,
          requestedAtMs,
        }),
      );
    }
    if (!known.has(spec.targetCluster)) {
      problems.push(`spec.targetCluster: ${JSON.stringify(spec.targetCluster)} is not a cluster of these groups (known: ${[...known].sort().join(', ')}): name a cluster whose daemon heartbeats for the group`);
    }
    const sources = [...new Set(owners.values())];
    if (sources.length > 1) {
      problems.push(`spec.failoverGroups: the groups are owned by different clusters (${[...owners].map(([g, c]) => `${g}: ${c}`).join(', ')}): fail them over in separate Failovers`);
    }
    if (problems.length) return { kind: 'invalid', problems };
    const source = sources[0];
    const role: FailoverRole | undefined = me === spec.targetCluster ? 'target' : me === source ? 'source' : undefined;
    if (!role) return { kind: 'notInvolved', message: `Cluster ${me} is neither the source (${source}) nor the target (${spec.targetCluster}) of this failover` };
    return { kind: 'run', sourceCluster: source, requests, role };
  }

  /** Pins the source and the request time on the object, so both clusters' copies build the same request. */
  private async pin(obj: KubeObject, sourceCluster: string, requestedAtMs: number): Promise<void> {
    const a = obj.metadata.annotations ?? {};
    const want: Record<string, string> = { [Annotations.sourceCluster]: sourceCluster, [Annotations.requestedAt]: new Date(requestedAtMs).toISOString() };
    const patch: Record<string, string> = {};
    for (const [k, v] of Object.entries(want)) if (a[k] === undefined) patch[k] = v;
    if (Object.keys(patch).length === 0) return;
    await this.deps.clusterPort.mergePatch(refOf(obj), { metadata: { annotations: patch } }, { log: this.log, fieldManager: FIELD_MANAGER });
  }

  /** Copies the Failover (with its pinned annotations) to the other involved cluster, unless it is there already. */
  private async mirror(key: string): Promise<void> {
    const acc = this.accepted.get(key);
    const [namespace, name] = key.split('/');
    const obj = this.informer.get(name, namespace);
    if (!acc || !obj) return;
    const other = acc.role === 'source' ? acc.targetCluster : acc.sourceCluster;
    const peer = this.deps.peers[other];
    if (!peer) return;
    const ref = refOf(obj);
    if (await peer.get(ref, { log: this.log })) return;
    const annotations: Record<string, string> = {
      ...(obj.metadata.annotations ?? {}),
      [Annotations.sourceCluster]: acc.sourceCluster,
      [Annotations.mirroredFrom]: this.deps.clusterName,
    };
    const at = requestedAtMsOf(obj);
    if (at !== undefined) annotations[Annotations.requestedAt] = new Date(at).toISOString();
    const copy: KubeObject = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name, namespace, ...(obj.metadata.labels ? { labels: { ...obj.metadata.labels } } : {}), annotations },
      spec: structuredClone(obj.spec),
    };
    try {
      await peer.create(copy, { log: this.log, fieldManager: FIELD_MANAGER });
      this.stats.mirrored++;
      this.log.info({ failover: key, peer: other }, 'Copied Failover to the peer cluster');
      this.deps.trace?.('daemon.failover-mirrored', { cluster: this.deps.clusterName, failover: key, peer: other });
    } catch (e) {
      if (isDriverError(e) && e.kind === 'Conflict' && e.reason === 'AlreadyExists') return;
      throw e;
    }
  }

  private async writeRefusal(obj: KubeObject, phase: 'Invalid' | 'Pending', reason: string, message: string): Promise<void> {
    const cond: KubeCondition = { type: A.Accepted, status: 'False', reason, message, lastTransitionTime: isoTime(this.deps.clock.now()) };
    const status: JsonObject = {
      status: phase === 'Invalid' ? 'FAILED' : 'IN_PROGRESS',
      phase,
      message,
      conditions: mergeConditions(obj.status?.conditions, [cond]) as unknown as JsonObject[],
    };
    await this.patchIfChanged(obj, status);
  }

  /** The status of a Failover this daemon runs: derived from its charts' snapshots, nothing else. */
  private async writeStatus(key: string): Promise<void> {
    const acc = this.accepted.get(key);
    const [namespace, name] = key.split('/');
    const obj = this.informer.get(name, namespace);
    if (!acc || !obj) return;
    const host = this.deps.host;
    const parts: Array<{ ref: FailoverGroupRef; st: FailoverStatus; snap: AnyMachineSnapshot }> = [];
    for (const g of acc.groups) {
      const snap = host.snapshot(g.failoverId);
      const st = host.status(g.failoverId);
      if (!snap || !st) return; // the host is down or restoring: the next snapshot writes it
      parts.push({ ref: g.ref, st, snap });
    }
    await this.patchIfChanged(obj, failoverStatusFrom(acc.role, acc.sourceCluster, parts));
  }

  private async patchIfChanged(obj: KubeObject, status: JsonObject): Promise<void> {
    const key = keyOf(obj);
    const next = stable(status);
    if (next === stable(obj.status ?? {}) || next === this.lastWritten.get(key)) return;
    const patch: JsonObject = { ...status };
    for (const k of Object.keys(obj.status ?? {})) if (!(k in patch)) patch[k] = null;
    await this.deps.clusterPort.patchStatus(refOf(obj), { status: patch }, { log: this.log, fieldManager: FIELD_MANAGER });
    this.lastWritten.set(key, next);
    this.stats.statusWrites++;
  }
}

const RANK: Record<string, number> = { Invalid: 6, Failed: 5, ManualIntervention: 4, RolledBack: 3, InProgress: 2, Pending: 1, Succeeded: 0 };

/**
 * The Failover's status from its groups' snapshots and nothing else. With one group it is that group's derived
 * status; with several, the group furthest from success leads (its phase, state, progression, conditions) and
 * every group is listed in failoverGroups.
 */
export function failoverStatusFrom(role: FailoverRole, sourceCluster: string, parts: Array<{ ref: FailoverGroupRef; st: FailoverStatus; snap: AnyMachineSnapshot }>): JsonObject {
  const lead = [...parts].sort((a, b) => (RANK[b.st.phase] ?? 0) - (RANK[a.st.phase] ?? 0))[0];
  const statuses = parts.map((p) => p.st.status);
  const overall = statuses.includes('FAILED') ? 'FAILED' : statuses.every((s) => s === 'SUCCESS') ? 'SUCCESS' : 'IN_PROGRESS';
  const requestedAtMs = (lead.snap.context as FailoverContext).request?.requestedAtMs ?? 0;
  const accepted: KubeCondition = { type: A.Accepted, status: 'True', reason: A.Running, message: `This cluster runs the ${role} side`, lastTransitionTime: isoTime(requestedAtMs) };
  const conditions = [accepted, ...(lead.st.conditions as KubeCondition[])];
  return {
    status: overall,
    phase: lead.st.phase,
    state: lead.st.state,
    message: parts.length === 1 ? lead.st.message : `${lead.ref.namespace}/${lead.ref.name}: ${lead.st.message}`,
    role,
    sourceCluster,
    progression: { ...lead.st.progression },
    failoverGroups: parts.map((p) => {
      const c = p.snap.context as FailoverContext;
      const entry: JsonObject = {
        name: p.ref.name,
        namespace: p.ref.namespace,
        status: p.st.phase === 'Pending' ? 'PENDING' : p.st.status,
        phase: p.st.phase,
        message: p.st.message,
      };
      const start = c.startedAtMs ?? c.lockedAtMs ?? c.request?.requestedAtMs;
      if (start !== undefined) entry.startTime = isoTime(start);
      if (p.snap.status !== 'active' && c.finishedAtMs !== undefined) entry.completionTime = isoTime(c.finishedAtMs);
      return entry;
    }),
    metrics: {
      totalDowntimeSeconds: Math.max(...parts.map((p) => p.st.metrics.totalDowntimeSeconds)),
      totalFailoverTimeSeconds: Math.max(...parts.map((p) => p.st.metrics.totalFailoverTimeSeconds)),
    },
    conditions: conditions as unknown as JsonObject[],
  };
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}
