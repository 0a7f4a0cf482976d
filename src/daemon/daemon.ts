// Why: the daemon's composition root. It joins one cluster's ports (Kubernetes, its peers, global state, clock,
// randomness, snapshot storage) to the failover host, the FailoverGroup and Failover reconcilers and the
// auto-failover checker. The production CLI (src/cli/daemon.ts) and the simulator harness
// (src/daemon/sim-harness.ts) both call startDaemon: the same code, different ports.
import type { Logger } from 'pino';
import type { ActorOptions, AnyActorLogic } from 'xstate';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort } from '../../drivers/cluster/cluster.port.ts';
import type { GlobalStatePort } from '../../drivers/globalstate/globalstate.port.ts';
import type { RandomPort } from '../../drivers/random/random.port.ts';
import { ConfigMapSnapshotStore } from '../../drivers/snapshots/snapshot.kubernetes.ts';
import type { SnapshotStorePort } from '../../drivers/snapshots/snapshot.port.ts';
import type { FailoverPolicy } from '../../machines/failover/failover.types.ts';
import { createFailoverHost, type FailoverHost } from '../runtime/failover-host.ts';
import type { HostSnapshotEvent } from '../runtime/operator-host.ts';
import { wireFailover, type FencingConfig } from '../wire/cluster-failover.ts';
import { DEFAULT_OPERATOR_ID } from './api.ts';
import { AutoFailoverChecker } from './auto-failover.ts';
import { ClusterCaches } from './caches.ts';
import { discoverServedKinds } from './served-kinds.ts';
import { FailoverReconciler } from './failover-reconciler.ts';
import { FenceLifter } from './fence-lift.ts';
import { GroupReconciler, type TraceFn } from './group-reconciler.ts';
import { RejoinSupervisor } from './rejoin-supervisor.ts';

/** Where snapshots live when no store is given: ConfigMaps in this namespace of the daemon's own cluster. */
export const DEFAULT_DAEMON_NAMESPACE = 'failover-engine-system';

/** XState's clock interface (not exported by name from xstate). */
export type XStateClock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

export interface DaemonOptions {
  /** This cluster's name, as the other daemons and Failover.spec.targetCluster call it. */
  clusterName: string;
  clusterPort: ClusterPort;
  /** The other clusters by name: a Failover is copied to the other involved cluster through these. */
  peers?: Record<string, ClusterPort>;
  globalState: GlobalStatePort;
  clock: ClockPort;
  random: RandomPort;
  log: Logger;
  /** Watch FailoverGroups and Failovers in this namespace only (default: every namespace). */
  namespace?: string;
  /** Manage only FailoverGroups with this spec.operatorID (default `failover-engine`). */
  operatorID?: string;
  /** Chart snapshot storage (default: ConfigMaps in `daemonNamespace` through clusterPort). */
  snapshots?: SnapshotStorePort;
  /** The daemon's own namespace (snapshot ConfigMaps); default `failover-engine-system`. */
  daemonNamespace?: string;
  /** How this cluster fences an unreachable source (needed by unplanned failovers). */
  fencing?: FencingConfig;
  /** Failover tunables (defaults: DEFAULT_FAILOVER_POLICY). */
  policy?: Partial<FailoverPolicy>;
  /** XState's clock for the failover actors (the simulator passes its virtual clock). */
  xstateClock?: XStateClock;
  /** Deterministic trace lines (the simulator's trace). */
  trace?: TraceFn;
  /** Disable automatic failovers on this daemon (default: enabled). */
  autoFailover?: boolean;
  /**
   * An observer of every chart snapshot the host reports (after the daemon's own handling). The simulator checks
   * its invariants, stage spans and crash points here; it never changes what the daemon does.
   */
  onSnapshot?: (e: HostSnapshotEvent) => void;
  /**
   * An observer of a failover actor (by failover id) or a rejoin (by group id) that failed with a programmer error
   * (the daemon logs it either way; the simulator turns it into a crash of the run).
   */
  onActorError?: (id: string, error: unknown) => void;
  /** An observer of a persisted failover the host refused to restore at start (the daemon logs it either way). */
  onRestoreRefused?: (failoverId: string, error: Error) => void;
}

export interface DaemonStats {
  cluster: string;
  groups: number;
  heartbeats: number;
  heartbeatErrors: number;
  groupStatusWrites: number;
  registrations: number;
  failoversAccepted: number;
  failoversRefused: number;
  failoverStatusWrites: number;
  failoversMirrored: number;
  autoFailovers: number;
  runningFailovers: number;
  caches: Record<string, number>;
}

export interface Daemon {
  readonly clusterName: string;
  readonly host: FailoverHost;
  readonly groups: GroupReconciler;
  readonly failovers: FailoverReconciler;
  readonly autoFailover?: AutoFailoverChecker;
  /** Runs the rejoin chart for the groups another cluster owns. */
  readonly rejoin: RejoinSupervisor;
  /** Lifts this cluster's fences once the fenced clusters stood down. */
  readonly fences: FenceLifter;
  readonly caches: ClusterCaches;
  stats(): DaemonStats;
  /** Stops every informer, loop and actor (the persisted snapshots stay for the next start). */
  stop(): Promise<void>;
}

/** Raised for options the daemon cannot start with; the message names the option and the fix. */
export class DaemonConfigError extends Error {
  override readonly name = 'DaemonConfigError';
}


/**
 * Starts the daemon for one cluster: restores persisted failovers, then watches FailoverGroups and Failovers.
 * Resolves once the first lists are cached (running failovers continue from their snapshots meanwhile).
 */
export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  if (typeof o.clusterName !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.clusterName)) {
    throw new DaemonConfigError(`clusterName: ${JSON.stringify(o.clusterName)} is not a valid cluster name: use lower-case letters, digits, "-" and "."`);
  }
  const peers = { ...(o.peers ?? {}) };
  if (peers[o.clusterName]) throw new DaemonConfigError(`peers: ${o.clusterName} is this cluster itself: list only the other clusters`);
  const me = o.clusterName;
  const log = o.log.child({ cluster: me });
  const peerNames = Object.keys(peers);
  const snapshots = o.snapshots ?? new ConfigMapSnapshotStore(o.clusterPort, { namespace: o.daemonNamespace ?? DEFAULT_DAEMON_NAMESPACE });

  // Discovery first: without its own CRDs (or the csi-addons kinds it needs) the daemon refuses to start, naming the
  // missing one and the fix; the version of every kind a group can name is taken from what this cluster serves.
  const served = await discoverServedKinds(o.clusterPort, { cluster: me, fencing: o.fencing !== undefined, log, clock: o.clock });

  // The host, the caches and the checker call into the reconcilers, which are built after them.
  const late: { failovers?: FailoverReconciler; groups?: GroupReconciler; rejoin?: RejoinSupervisor; fences?: FenceLifter } = {};
  const host = createFailoverHost({
    cluster: me,
    incarnate: () => ({
      logic: wireFailover({
        cluster: me,
        clusterPort: o.clusterPort,
        // The chart probes its peer's reachability; with one peer it is unambiguous.
        ...(peerNames.length === 1 ? { peerClusterPort: peers[peerNames[0]] } : {}),
        globalState: o.globalState,
        clock: o.clock,
        random: o.random,
        log,
        ...(o.fencing ? { fencing: o.fencing } : {}),
        ...(served.gvk.CronJob ? { cronJobKind: served.gvk.CronJob } : {}),
      }),
      snapshots,
      clock: o.clock,
      ...(o.xstateClock ? { xstateClock: o.xstateClock } : {}),
    }),
    log,
    ...(o.trace ? { trace: o.trace } : {}),
    onSnapshot: (e) => {
      late.failovers?.onSnapshot(e.failoverId);
      o.onSnapshot?.(e);
      // A failover of a group on this cluster stops its rejoin (a newer token wins) and may fence a peer again;
      // when it ends, the failover reconciler has the group heartbeat at once (its copy of an unplanned failover
      // ended, say), and that heartbeat looks at the rejoin again.
      const groupId = groupIdOfSnapshot(e.snapshot);
      if (groupId === undefined || (!e.stateChanged && e.snapshot.status === 'active')) return;
      late.fences?.invalidate();
      if (e.snapshot.status === 'active') late.rejoin?.onFailoverActive(groupId);
    },
    onActorError: (id, err) => {
      log.error({ failoverId: id, err }, 'Failover actor failed with a programmer error');
      o.onActorError?.(id, err);
    },
    pendingRequests: () => late.failovers?.submissions() ?? [],
  });
  const recovered = await host.recover(); // restores the failovers this cluster's operator persisted before (a previous process)
  for (const r of recovered.refused) {
    log.error({ failoverId: r.failoverId, err: r.error }, 'Refused to restore a persisted failover');
    o.onRestoreRefused?.(r.failoverId, r.error);
  }

  const caches = new ClusterCaches({ port: o.clusterPort, clock: o.clock, log, served, ...(o.namespace ? { namespace: o.namespace } : {}), onChange: (k, obj) => late.groups?.onResourceChange(k, obj) });
  const autoFailover =
    o.autoFailover === false
      ? undefined
      : new AutoFailoverChecker({
          clusterName: me,
          clusterPort: o.clusterPort,
          globalState: o.globalState,
          clock: o.clock,
          log: log.child({ component: 'auto-failover' }),
          failoverActive: (g) => late.failovers?.activeFor(g) ?? false,
          failoverExists: (ns, name) => late.failovers?.exists(ns, name) ?? false,
          ...(o.trace ? { trace: o.trace } : {}),
        });
  // Restored failovers count before the Failover objects are reconciled: a rejoin never runs beside one.
  const failoverActive = (g: string) => (late.failovers?.activeFor(g) ?? false) || host.failoverIds().some((id) => host.snapshot(id)?.status === 'active' && groupIdOfSnapshot(host.snapshot(id)) === g);
  const rejoin = new RejoinSupervisor({
    clusterName: me,
    clusterPort: o.clusterPort,
    globalState: o.globalState,
    clock: o.clock,
    log,
    ...(o.xstateClock ? { xstateClock: o.xstateClock } : {}),
    ...(o.trace ? { trace: o.trace } : {}),
    failoverActive,
    onChange: (g) => late.groups?.touch(g),
    onActorError: (g, err) => {
      log.error({ groupId: g, err }, 'Rejoin actor failed with a programmer error');
      o.onActorError?.(g, err);
    },
    ...(served.gvk.CronJob ? { cronJobKind: served.gvk.CronJob } : {}),
  });
  const fences = new FenceLifter({
    clusterName: me,
    clusterPort: o.clusterPort,
    log,
    ...(o.trace ? { trace: o.trace } : {}),
    failoverActive,
    groups: () => (late.groups ? late.groups.groupIds().map((k) => late.groups!.state(k)!).map((st) => ({ key: st.key, hasSpec: st.spec !== undefined, ...(st.record ? { record: st.record } : {}), clusters: st.clusters })) : []),
  });
  late.rejoin = rejoin;
  late.fences = fences;
  const groups = new GroupReconciler({
    clusterName: me,
    clusterPort: o.clusterPort,
    globalState: o.globalState,
    clock: o.clock,
    random: o.random,
    log,
    caches,
    operatorID: o.operatorID ?? DEFAULT_OPERATOR_ID,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.trace ? { trace: o.trace } : {}),
    failoverActive: (g) => late.failovers?.activeFor(g) ?? false,
    ...(autoFailover ? { autoFailover } : {}),
    afterHeartbeat: (st, { reconnected }) => {
      if (!st.spec || !st.record) return;
      rejoin.check(st.key, st.spec, st.record, { reconnected, heartbeatIntervalMs: st.spec.heartbeatIntervalMs });
      if (st.record.ownerCluster === me && !failoverActive(st.key)) fences.afterOwnerHeartbeat(st.record, st.clusters);
    },
    standDown: (g) => rejoin.view(g),
  });
  const failovers = new FailoverReconciler({
    clusterName: me,
    clusterPort: o.clusterPort,
    peers,
    globalState: o.globalState,
    clock: o.clock,
    log,
    host,
    groups,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.policy ? { policy: o.policy } : {}),
    ...(o.trace ? { trace: o.trace } : {}),
  });
  late.groups = groups;
  late.failovers = failovers;
  // Groups first: the failover reconciler reads FailoverGroup objects from the group informer's cache.
  await groups.start();
  await failovers.start();
  log.info({ peers: peerNames, namespace: o.namespace ?? '*' }, 'Started daemon');
  o.trace?.('daemon.started', { cluster: me });

  const g = groups;
  const f = failovers;
  let stopped = false;
  return {
    clusterName: me,
    host,
    groups: g,
    failovers: f,
    ...(autoFailover ? { autoFailover } : {}),
    rejoin,
    fences,
    caches,
    stats: () => ({
      cluster: me,
      groups: g.groupIds().length,
      heartbeats: g.stats.heartbeats,
      heartbeatErrors: g.stats.heartbeatErrors,
      groupStatusWrites: g.stats.statusWrites,
      registrations: g.stats.registrations,
      failoversAccepted: f.stats.accepted,
      failoversRefused: f.stats.invalid,
      failoverStatusWrites: f.stats.statusWrites,
      failoversMirrored: f.stats.mirrored,
      autoFailovers: autoFailover?.created.length ?? 0,
      runningFailovers: host.failoverIds().filter((id) => !host.isDone(id)).length,
      caches: caches.sizes(),
    }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      f.stop();
      g.stop();
      rejoin.stop();
      fences.stop();
      caches.stop();
      host.crash(); // stops every actor where it is; their snapshots are persisted for the next start
      log.info('Stopped daemon');
      o.trace?.('daemon.stopped', { cluster: me });
    },
  };
}

/** The group a failover snapshot belongs to (its request's groupId). */
function groupIdOfSnapshot(snap: { context?: unknown } | undefined): string | undefined {
  const req = (snap?.context as { request?: { groupId?: unknown } } | undefined)?.request;
  return typeof req?.groupId === 'string' ? req.groupId : undefined;
}
