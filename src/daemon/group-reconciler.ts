// Why: each cluster's daemon keeps every FailoverGroup it manages alive in global state: it registers the group
// (the cluster that runs the workloads creates the record, idempotently), heartbeats at the group's interval with
// the health it reads from its informer caches, and writes FailoverGroup.status (health, per-resource status,
// the global view of every cluster, conditions). Spec changes and resource changes arrive through informers;
// the only timer is the heartbeat. After each heartbeat the auto-failover checker looks at the primary.
import type { Logger } from 'pino';
import { isoTime, type ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort, KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { Informer } from '../../drivers/cluster/informer.ts';
import { isDriverError } from '../../drivers/errors.ts';
import type { ClusterRole, ClusterStatusRecord, GlobalStatePort, GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import type { RandomPort } from '../../drivers/random/random.port.ts';
import { groupIdOf, type FailoverGroupSpec } from '../../machines/failover/group.types.ts';
import { FailoverGroupKind, FIELD_MANAGER } from './api.ts';
import type { AutoFailoverChecker, AutoFailoverVerdict } from './auto-failover.ts';
import { kindsOf, type ClusterCaches } from './caches.ts';
import { GroupConditionReason as R, GroupConditionType as T, mergeConditions, type KubeCondition } from './conditions.ts';
import { groupSpecFromObject } from './group-spec.ts';
import { standDownComponent, type StandDownView } from './rejoin-supervisor.ts';
import { groupHealth, runsWorkloads, type GroupHealthReport, type Health, type ResourceKindName } from './health.ts';
import { WorkQueue } from './work-queue.ts';

export type TraceFn = (event: string, fields: Record<string, string | number | boolean | null | undefined>) => void;

/** Timestamps alone never cause a status write more often than this (health and role changes write at once). */
export const STATUS_REFRESH_MS = 5 * 60_000;
/** The longest the first heartbeat waits for the caches it reads. */
export const CACHE_SYNC_WAIT_MS = 10_000;
/** A standby whose group is not registered yet looks again after this long, doubling up to the heartbeat interval. */
export const AWAITING_PRIMARY_RETRY_MS = 1_000;

export interface GroupReconcilerDeps {
  clusterName: string;
  clusterPort: ClusterPort;
  globalState: GlobalStatePort;
  clock: ClockPort;
  random: RandomPort;
  log: Logger;
  caches: ClusterCaches;
  /** Only groups whose spec.operatorID is this one are managed. */
  operatorID: string;
  namespace?: string;
  trace?: TraceFn;
  /** Whether a failover of this group runs on this cluster now (the heartbeat's role is then FAILOVER). */
  failoverActive(groupId: string): boolean;
  autoFailover?: AutoFailoverChecker;
  /**
   * After each heartbeat that reached global state (the record and every cluster's view are in `state`):
   * `reconnected` when the heartbeats before it failed. The daemon runs the rejoin supervisor and the fence lifter.
   */
  afterHeartbeat?(state: GroupState, o: { reconnected: boolean }): void;
  /** This cluster's stand-down of the group (published in the heartbeat and shown as the StoodDown condition). */
  standDown?(groupId: string): StandDownView | undefined;
}

/** What the daemon knows of one group (read by the auto-failover checker, the failover reconciler and tests). */
export interface GroupState {
  /** `<namespace>/<name>` of the FailoverGroup object (also the group's id in global state). */
  key: string;
  spec?: FailoverGroupSpec;
  problems?: string[];
  generation?: number;
  record?: GroupRecord;
  clusters: ClusterStatusRecord[];
  report?: GroupHealthReport;
  role?: ClusterRole;
  /** Since when the reported health has held (published in the heartbeat's components). */
  healthSince?: { health: Health; sinceMs: number };
  registered: boolean;
  awaitingPrimary: boolean;
  /** Kinds the group names that this cluster does not serve (their messages): it cannot tell whether it runs the group. */
  missingApis?: string[];
  dbSync: 'Synced' | 'Syncing' | 'Error';
  dbError?: string;
  lastSyncMs?: number;
  lastHeartbeatOk?: boolean;
  heartbeats: number;
  autoFailover?: AutoFailoverVerdict;
  firstSeenMs: number;
  /** The generation whose spec `spec` (or `problems`) was read from. */
  specGeneration?: number;
  /** The meaningful part of the cached object's status, by its resourceVersion (computed once per version). */
  cachedMeaningful?: { resourceVersion: string | undefined; value: string };
  /** The meaningful part of the last status written, and the sync time it carried. */
  lastWritten?: string;
  lastWrittenSyncMs?: number;
  runtime?: {
    abort: AbortController;
    intervalMs: number;
    /** Ends the current wait for the next heartbeat (refreshNow); absent while a heartbeat runs. */
    wake?: AbortController;
    /** refreshNow was called while a heartbeat ran: the next one follows at once. */
    wakePending?: boolean;
  };
}

const VOLATILE = new Set(['lastSyncTime', 'lastHeartbeat', 'lastTransitionTime']);

/** Stable JSON (sorted keys) of a status, without the fields that change on every heartbeat (timestamps). */
function meaningful(status: JsonObject | undefined): string {
  if (!status) return '';
  return JSON.stringify(status, (k: string, x: unknown) => {
    if (VOLATILE.has(k)) return undefined;
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      const keys = Object.keys(x).sort();
      const out: Record<string, unknown> = {};
      for (const key of keys) out[key] = (x as Record<string, unknown>)[key];
      return out;
    }
    return x;
  });
}

export class GroupReconciler {
  readonly informer: Informer;
  private readonly queue: WorkQueue;
  private readonly states = new Map<string, GroupState>();
  /** The FailoverGroup objects as delivered by the informer, by `namespace/name`. */
  private readonly objects = new Map<string, KubeObject>();
  /** `Kind/namespace/name` of a resource → the groups that list it. */
  private readonly index = new Map<string, Set<string>>();
  private readonly log: Logger;
  private stopped = false;
  stats = { heartbeats: 0, heartbeatErrors: 0, statusWrites: 0, registrations: 0 };

  constructor(private readonly deps: GroupReconcilerDeps) {
    this.log = deps.log.child({ component: 'group-reconciler' });
    this.informer = new Informer({
      port: deps.clusterPort,
      gvk: FailoverGroupKind,
      clock: deps.clock,
      log: this.log,
      ...(deps.namespace ? { namespace: deps.namespace } : {}),
    });
    this.queue = new WorkQueue({ name: 'failovergroups', clock: deps.clock, log: this.log, handler: (k) => this.reconcile(k), concurrency: 8 });
    this.informer.addHandler({
      onAdd: (o) => this.seen(o, false),
      onUpdate: (_old, o) => this.seen(o, false),
      onDelete: (o) => this.seen(o, true),
    });
  }

  /** Keeps the object the informer delivered (a copy already: read-only here) and looks at its key again. */
  private seen(o: KubeObject, deleted: boolean): void {
    const key = keyOf(o);
    if (deleted) this.objects.delete(key);
    else this.objects.set(key, o);
    this.queue.add(key);
  }

  /** Starts watching FailoverGroups; resolves once the first list is cached. */
  async start(): Promise<void> {
    await this.informer.start();
  }

  stop(): void {
    this.stopped = true;
    this.queue.stop();
    this.informer.stop();
    for (const st of this.states.values()) st.runtime?.abort.abort();
  }

  /** A resource of some group changed: look at those groups again (status only; no global state call). */
  onResourceChange(kind: ResourceKindName, obj: KubeObject): void {
    const groups = this.index.get(`${kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    if (groups) for (const g of groups) this.queue.add(g);
  }

  state(groupId: string): GroupState | undefined {
    return this.states.get(groupId);
  }

  groupIds(): string[] {
    return [...this.states.keys()].sort();
  }

  /** The cached FailoverGroup object (read-only). */
  object(namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  /** Look at the group's status again (its stand-down state changed). */
  touch(groupId: string): void {
    if (this.states.has(groupId)) this.queue.add(groupId);
  }

  /** Resolves when no reconcile is pending (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  // ---------------------------------------------------------------------------------------------------------

  private async reconcile(key: string): Promise<void> {
    if (this.stopped) return;
    const obj = this.objects.get(key);
    const st = this.states.get(key);
    if (!obj || (obj.spec?.operatorID ?? 'failover-engine') !== this.deps.operatorID) {
      if (st) {
        st.runtime?.abort.abort();
        this.unindex(key, st.spec);
        this.states.delete(key);
        this.log.info({ groupId: key }, obj ? 'Stopped managing FailoverGroup (another operatorID)' : 'Stopped managing deleted FailoverGroup');
      }
      return;
    }
    const state: GroupState =
      st ??
      ({ key, clusters: [], registered: false, awaitingPrimary: false, dbSync: 'Syncing', heartbeats: 0, firstSeenMs: this.deps.clock.now() } satisfies GroupState);
    if (!st) this.states.set(key, state);
    state.generation = obj.metadata.generation;
    if (state.specGeneration !== undefined && state.specGeneration === obj.metadata.generation && state.spec) {
      // The spec has not changed since it was read: only health and status can need work.
      if (state.report || state.heartbeats > 0) this.refreshHealth(state);
      await this.writeStatus(obj, state);
      return;
    }
    state.specGeneration = obj.metadata.generation;
    const parsed = groupSpecFromObject(obj);
    if (!parsed.ok) {
      if (state.problems === undefined || JSON.stringify(state.problems) !== JSON.stringify(parsed.problems)) {
        this.log.warn({ groupId: key, problems: parsed.problems }, 'FailoverGroup spec is invalid');
      }
      state.problems = parsed.problems;
      state.runtime?.abort.abort();
      state.runtime = undefined;
      this.unindex(key, state.spec);
      state.spec = undefined;
      await this.writeStatus(obj, state);
      return;
    }
    state.problems = undefined;
    if (state.spec) this.unindex(key, state.spec);
    state.spec = parsed.spec;
    this.indexSpec(key, parsed.spec);
    if (!state.runtime || state.runtime.intervalMs !== parsed.spec.heartbeatIntervalMs) {
      state.runtime?.abort.abort();
      this.startHeartbeats(state, parsed.spec.heartbeatIntervalMs);
    }
    if (state.report || state.heartbeats > 0) {
      // Between heartbeats: refresh health from the caches (a resource changed) without touching global state.
      this.refreshHealth(state);
    }
    await this.writeStatus(obj, state);
  }

  private indexSpec(key: string, spec: FailoverGroupSpec): void {
    for (const r of resourceKeys(spec)) {
      let s = this.index.get(r);
      if (!s) this.index.set(r, (s = new Set()));
      s.add(key);
    }
  }

  private unindex(key: string, spec: FailoverGroupSpec | undefined): void {
    if (!spec) return;
    for (const r of resourceKeys(spec)) {
      const s = this.index.get(r);
      s?.delete(key);
      if (s && s.size === 0) this.index.delete(r);
    }
  }

  private startHeartbeats(state: GroupState, intervalMs: number): void {
    const abort = new AbortController();
    state.runtime = { abort, intervalMs };
    const { clock } = this.deps;
    const loop = async () => {
      // The first beat goes out at once (a peer's Failover waits for it); the second comes a jittered bit early,
      // which spreads the beats of many groups that started together without ever stretching a gap past the interval.
      const jitterMs = this.deps.random.int(0, Math.min(Math.floor(intervalMs / 2), 5_000));
      try {
        let earlyMs = jitterMs;
        let retryMs = AWAITING_PRIMARY_RETRY_MS;
        while (!abort.signal.aborted && !this.stopped) {
          // Beats keep to their grid: the time a beat takes comes off the wait for the next one.
          const startedAt = clock.now();
          await this.beat(state, abort.signal);
          let waitMs: number;
          if (!state.record) {
            // A standby before the primary has registered the group: look again soon (doubling up to the interval),
            // so its first heartbeat follows the registration instead of coming up to an interval later.
            waitMs = Math.min(retryMs, intervalMs);
            retryMs = Math.min(retryMs * 2, intervalMs);
          } else {
            waitMs = intervalMs - earlyMs;
            earlyMs = 0;
          }
          await this.untilNextBeat(state, Math.max(0, waitMs - (clock.now() - startedAt)), abort.signal);
        }
      } catch (e) {
        if (!abort.signal.aborted) this.log.error({ groupId: state.key, err: e }, 'Heartbeat loop ended');
      }
    };
    void loop();
  }

  /**
   * A failover of this group ended on this cluster: heartbeat now (with the new role), re-read every cluster's
   * record and rewrite the status, instead of showing the old owner (and a health measured against it) until the
   * next interval. A heartbeat that runs now is followed by another one at once: it may have read the old role.
   */
  refreshNow(groupId: string): void {
    const rt = this.states.get(groupId)?.runtime;
    if (!rt) return;
    this.log.debug({ groupId }, 'A failover of the group ended here: heartbeat now');
    if (rt.wake) rt.wake.abort();
    else rt.wakePending = true;
  }

  /** Waits for the next heartbeat: the interval, or less when refreshNow wakes the group. */
  private async untilNextBeat(state: GroupState, intervalMs: number, signal: AbortSignal): Promise<void> {
    const rt = state.runtime;
    if (!rt || rt.abort.signal !== signal) return this.deps.clock.sleep(intervalMs, signal);
    if (rt.wakePending) {
      rt.wakePending = false;
      return;
    }
    const wake = new AbortController();
    const stop = () => wake.abort();
    signal.addEventListener('abort', stop, { once: true });
    rt.wake = wake;
    try {
      await this.deps.clock.sleep(intervalMs, wake.signal);
    } catch (e) {
      if (signal.aborted) throw e; // stopped; otherwise woken by refreshNow
    } finally {
      signal.removeEventListener('abort', stop);
      rt.wake = undefined;
      rt.wakePending = false;
    }
  }

  private refreshHealth(state: GroupState): void {
    const spec = state.spec;
    if (!spec) return;
    const active = state.record ? state.record.ownerCluster === this.deps.clusterName : false;
    state.report = groupHealth(spec, active ? 'active' : 'standby', this.deps.caches);
    const now = this.deps.clock.now();
    if (!state.healthSince || state.healthSince.health !== state.report.health) state.healthSince = { health: state.report.health, sinceMs: now };
  }

  /** One heartbeat: register if needed, publish health and role, read every cluster's view, check the primary. */
  private async beat(state: GroupState, signal: AbortSignal): Promise<void> {
    const spec = state.spec;
    if (!spec) return;
    const { globalState: gs, clusterName: me, clock } = this.deps;
    const groupId = groupIdOf(spec);
    const opts = { log: this.log, signal };
    if (state.heartbeats === 0) await this.deps.caches.ensure(kindsOf(spec), Math.min(spec.heartbeatIntervalMs, CACHE_SYNC_WAIT_MS));
    if (signal.aborted) return;
    state.heartbeats++;
    const reconnected = state.lastHeartbeatOk === false;
    try {
      let record = await gs.getGroup(groupId, opts);
      if (!record) record = await this.register(state, spec);
      if (!record) {
        this.refreshHealth(state);
        state.dbSync = 'Synced';
        state.lastSyncMs = clock.now();
        this.queue.add(state.key);
        return;
      }
      state.registered = true;
      state.missingApis = undefined;
      state.awaitingPrimary = false;
      if (record.suspended !== spec.suspended) {
        record = await gs.setSuspended(groupId, spec.suspended, spec.suspended ? (spec.suspensionReason ?? 'suspended in the FailoverGroup spec') : undefined, opts);
        this.log.info({ groupId, suspended: spec.suspended }, 'Synced suspension to global state');
      }
      state.record = record;
      this.refreshHealth(state);
      const report = state.report!;
      const role: ClusterRole = this.deps.failoverActive(groupId) ? 'FAILOVER' : record.ownerCluster === me ? 'PRIMARY' : 'STANDBY';
      state.role = role;
      // Before this process's first heartbeat, keep the published health-since if the health has not changed.
      if (state.heartbeats === 1) {
        const prev = (await gs.listClusters(groupId, opts)).find((c) => c.cluster === me);
        const since = prev?.components?.healthSinceMs;
        if (prev && prev.health === report.health && typeof since === 'number' && since < state.healthSince!.sinceMs) state.healthSince = { health: report.health, sinceMs: since };
      }
      const components: JsonObject = { healthSinceMs: state.healthSince!.sinceMs };
      if (report.problems.length) components.problems = report.problems.slice(0, 3);
      const standDown = this.deps.standDown?.(groupId);
      if (standDown) components.standDown = standDownComponent(standDown);
      await gs.heartbeat({ groupId, cluster: me, health: report.published, role, components }, opts);
      this.stats.heartbeats++;
      state.lastHeartbeatOk = true;
      state.clusters = await gs.listClusters(groupId, opts);
      state.dbSync = 'Synced';
      state.dbError = undefined;
      state.lastSyncMs = clock.now();
      this.deps.trace?.('daemon.heartbeat', { cluster: me, group: groupId, health: report.health, role });
    } catch (e) {
      if (signal.aborted) return;
      if (!isDriverError(e)) throw e;
      this.stats.heartbeatErrors++;
      state.lastHeartbeatOk = false;
      state.dbSync = 'Error';
      state.dbError = e.message;
      this.log.warn({ groupId, kind: e.kind, reason: e.reason, err: e.message }, 'Could not heartbeat FailoverGroup');
      this.queue.add(state.key);
      return;
    }
    this.deps.afterHeartbeat?.(state, { reconnected });
    if (this.deps.autoFailover && state.record) {
      try {
        state.autoFailover = await this.deps.autoFailover.check(state, signal);
      } catch (e) {
        if (signal.aborted) return;
        if (!isDriverError(e)) throw e;
        this.log.warn({ groupId, err: e.message }, 'Could not check for an automatic failover');
      }
    }
    this.queue.add(state.key);
  }

  /**
   * Creates the group record when this cluster runs the workloads (idempotent: AlreadyExists reads the record).
   * A standby never registers: it waits for the cluster that runs the group.
   */
  private async register(state: GroupState, spec: FailoverGroupSpec): Promise<GroupRecord | undefined> {
    const { globalState: gs, clusterName: me } = this.deps;
    const groupId = groupIdOf(spec);
    const missing = [...new Set(kindsOf(spec).flatMap((k) => this.deps.caches.unserved(k) ?? []))];
    if (missing.length) {
      if (!state.missingApis) this.log.warn({ groupId, missing }, 'FailoverGroup names kinds this cluster does not serve; it cannot tell whether it runs the group');
      state.missingApis = missing;
      state.awaitingPrimary = false;
      state.registered = false;
      return undefined;
    }
    state.missingApis = undefined;
    const runs = runsWorkloads(spec, this.deps.caches);
    if (runs !== true) {
      if (!state.awaitingPrimary) this.log.info({ groupId }, 'FailoverGroup is not registered yet; waiting for the cluster that runs it');
      state.awaitingPrimary = true;
      state.registered = false;
      return undefined;
    }
    const originalReplicas: JsonObject = {};
    for (const w of spec.workloads) {
      if (w.kind === 'CronJob') continue;
      const o = this.deps.caches.get(w.kind, spec.namespace, w.name);
      const r = o && o !== 'unsynced' && typeof o.spec?.replicas === 'number' ? o.spec.replicas : undefined;
      if (r !== undefined && r > 0) originalReplicas[`${w.kind}/${w.name}`] = r;
    }
    try {
      const rec = await gs.createGroup(
        { groupId, ownerCluster: me, timeouts: { ...spec.timeouts }, heartbeatIntervalMs: spec.heartbeatIntervalMs, metadata: { originalReplicas } },
        { log: this.log },
      );
      this.stats.registrations++;
      this.log.info({ groupId, owner: me }, 'Registered FailoverGroup in global state');
      this.deps.trace?.('daemon.group-registered', { cluster: me, group: groupId });
      return rec;
    } catch (e) {
      if (isDriverError(e) && e.kind === 'Conflict' && e.reason === 'AlreadyExists') return gs.getGroup(groupId, { log: this.log });
      throw e;
    }
  }

  private buildStatus(obj: KubeObject, state: GroupState): JsonObject {
    const now = this.deps.clock.now();
    const nowIso = isoTime(now);
    const me = this.deps.clusterName;
    const conditions: KubeCondition[] = [];
    const cond = (type: string, ok: boolean | 'Unknown', reason: string, message: string) =>
      conditions.push({ type, status: ok === 'Unknown' ? 'Unknown' : ok ? 'True' : 'False', reason, message, lastTransitionTime: nowIso, ...(state.generation !== undefined ? { observedGeneration: state.generation } : {}) });
    const status: JsonObject = {};
    if (state.generation !== undefined) status.observedGeneration = state.generation;
    if (state.problems) {
      status.health = 'ERROR';
      status.suspended = obj.spec?.suspended === true;
      cond(T.SpecValid, false, R.InvalidSpec, state.problems.join('; '));
      status.conditions = mergeConditions(obj.status?.conditions, conditions) as unknown as JsonObject[];
      return status;
    }
    const spec = state.spec!;
    const rec = state.record;
    const report = state.report;
    status.health = report?.health ?? 'ERROR';
    status.suspended = spec.suspended || rec?.suspended === true;
    if (report) {
      status.workloads = report.workloads as unknown as JsonObject[];
      status.networkResources = report.networkResources as unknown as JsonObject[];
      status.fluxResources = report.fluxResources as unknown as JsonObject[];
    }
    if (rec?.lastFailover) status.lastFailoverTime = isoTime(rec.lastFailover.atMs);
    const gsView: JsonObject = { thisCluster: me, dbSyncStatus: state.dbSync };
    if (rec) gsView.activeCluster = rec.ownerCluster;
    if (rec?.lastFailover) {
      gsView.lastFailover = {
        failoverId: rec.lastFailover.failoverId,
        sourceCluster: rec.lastFailover.sourceCluster,
        targetCluster: rec.lastFailover.targetCluster,
        time: isoTime(rec.lastFailover.atMs),
      };
    }
    if (state.lastSyncMs !== undefined) gsView.lastSyncTime = isoTime(state.lastSyncMs);
    gsView.clusters = state.clusters.map((c) => ({ name: c.cluster, role: c.role, health: c.health, lastHeartbeat: isoTime(c.lastHeartbeatMs) }));
    status.globalState = gsView;

    cond(T.SpecValid, true, R.Valid, 'The spec is valid');
    if (state.registered) cond(T.Registered, true, R.GroupRegistered, `Registered in global state; ${rec?.ownerCluster ?? 'unknown'} owns the group`);
    else if (state.missingApis) cond(T.Registered, false, R.MissingAPI, `Not registered in global state: ${state.missingApis.join('; ')}`);
    else if (state.awaitingPrimary) cond(T.Registered, false, R.AwaitingPrimary, `Not registered in global state yet; this cluster (${me}) does not run the workloads, so the cluster that does registers it`);
    else if (state.dbSync === 'Error') cond(T.Registered, 'Unknown', R.GlobalStateError, `Could not read global state: ${state.dbError ?? ''}`);
    if (state.lastHeartbeatOk === true) cond(T.Heartbeating, true, R.HeartbeatSent, `Heartbeat every ${Math.round(spec.heartbeatIntervalMs / 1000)}s as ${state.role ?? 'unknown'}`);
    else if (state.lastHeartbeatOk === false) cond(T.Heartbeating, false, R.GlobalStateError, `The last heartbeat failed: ${state.dbError ?? ''}`);
    if (report) {
      if (report.health === 'OK') cond(T.Healthy, true, R.AllResourcesHealthy, 'Every resource of the group is as expected on this cluster');
      else cond(T.Healthy, false, report.health === 'ERROR' ? R.ResourcesFailing : R.ResourcesDegraded, report.problems.join('; '));
    }
    const sd = this.deps.standDown?.(state.key);
    if (sd && rec && rec.ownerCluster !== me) {
      const whose = `${sd.owner} owns the group (version ${sd.version}, fencing token ${sd.fencingToken})`;
      if (sd.phase === 'StoodDown') cond(T.StoodDown, true, R.StoodDown, `${whose}: this cluster stood down (traffic off, Flux and CronJobs paused, workloads at 0, volumes secondary); ${sd.owner} may lift its fence against ${me}`);
      else if (sd.phase === 'StandingDown') cond(T.StoodDown, false, R.StandingDown, `${whose}: this cluster is standing down (traffic off, Flux and CronJobs paused, workloads to 0, volumes to secondary)`);
      else {
        cond(
          T.StoodDown,
          false,
          R.StandDownFailed,
          `${whose}, but this cluster could not stand down: ${sd.error ?? 'unknown error'}. The daemon tries again with backoff. Until it succeeds ${sd.owner} keeps its fence against ${me}: do not lift it by hand; check that ${me}'s API server and storage are reachable, and if the error persists scale the group's workloads in ${spec.namespace} to 0, switch its traffic off and set its VolumeReplications to secondary by hand`,
        );
      }
    }
    const af = state.autoFailover;
    if (status.suspended) cond(T.AutoFailoverReady, false, R.Suspended, `Automatic failovers are suspended${spec.suspensionReason ? `: ${spec.suspensionReason}` : ''}`);
    else if (af) cond(T.AutoFailoverReady, af.ready, af.reason, af.message);
    status.conditions = mergeConditions(obj.status?.conditions, conditions) as unknown as JsonObject[];
    return status;
  }

  /** Writes the status when it changed meaningfully (or the timestamps are older than STATUS_REFRESH_MS). */
  private async writeStatus(obj: KubeObject, state: GroupState): Promise<void> {
    const next = this.buildStatus(obj, state);
    const cur = obj.status;
    const lastSync = typeof (cur?.globalState as JsonObject | undefined)?.lastSyncTime === 'string' ? Date.parse((cur!.globalState as JsonObject).lastSyncTime as string) : undefined;
    const writtenSync = Math.max(lastSync ?? -Infinity, state.lastWrittenSyncMs ?? -Infinity);
    const stale = state.lastSyncMs !== undefined && state.lastSyncMs - writtenSync >= STATUS_REFRESH_MS;
    const m = meaningful(next);
    const rv = obj.metadata.resourceVersion;
    if (!state.cachedMeaningful || state.cachedMeaningful.resourceVersion !== rv) state.cachedMeaningful = { resourceVersion: rv, value: meaningful(cur) };
    // The cache may lag our own last write (the watch event is on its way): compare with both.
    if ((m === state.cachedMeaningful.value || m === state.lastWritten) && !stale) return;
    const patch: JsonObject = { ...next };
    for (const k of Object.keys(cur ?? {})) if (!(k in patch)) patch[k] = null;
    await this.deps.clusterPort.patchStatus(
      { ...FailoverGroupKind, namespace: obj.metadata.namespace, name: obj.metadata.name },
      { status: patch },
      { log: this.log, fieldManager: FIELD_MANAGER },
    );
    state.lastWritten = m;
    if (state.lastSyncMs !== undefined) state.lastWrittenSyncMs = state.lastSyncMs;
    this.stats.statusWrites++;
  }
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function resourceKeys(spec: FailoverGroupSpec): string[] {
  const ns = spec.namespace;
  const out: string[] = [];
  for (const w of spec.workloads) {
    out.push(`${w.kind}/${ns}/${w.name}`);
    for (const vr of w.volumeReplications) out.push(`VolumeReplication/${ns}/${vr}`);
  }
  for (const n of spec.networkResources) out.push(`${n.kind}/${ns}/${n.name}`);
  for (const f of spec.fluxResources) out.push(`${f.kind}/${ns}/${f.name}`);
  return out;
}
