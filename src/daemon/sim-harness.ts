// Why: the daemon must be testable and benchmarkable on the simulated world with the very code that runs in
// production. This harness creates the FailoverGroup objects in every simulated cluster and starts one daemon per
// cluster through startDaemon, with the world's ports (each operator reaches its API server, its peers and global
// state as the party `operator/<cluster>`, so faults, partitions and `kernel.setDown` hit it) and a SimProcess per
// operator, so a daemon can crash and restart from its persisted snapshots.
import type { Logger } from 'pino';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import type { ClusterPort } from '../../drivers/cluster/cluster.port.ts';
import type { GlobalStatePort } from '../../drivers/globalstate/globalstate.port.ts';
import { simRandom } from '../../drivers/random/random.sim.ts';
import { SimSnapshotDisk, SimSnapshotStore } from '../../drivers/snapshots/snapshot.sim.ts';
import type { FailoverPolicy } from '../../machines/failover/failover.types.ts';
import type { FailoverGroupSpec } from '../../machines/failover/group.types.ts';
import { SimProcess } from '../../simulator/process.ts';
import type { SimWorld } from '../../simulator/world.ts';
import type { HostSnapshotEvent } from '../runtime/operator-host.ts';
import { silentLogger } from '../log.ts';
import { DEFAULT_FENCE_DRIVER } from '../wire/failover/deps.ts';
import { startDaemon, type Daemon } from './daemon.ts';
import { failoverGroupObject } from './group-spec.ts';

export interface DaemonSimOptions {
  /** The groups to create as FailoverGroup objects in every cluster (default: the scenario's groups). */
  groups?: FailoverGroupSpec[];
  /** The clusters that run a daemon (default: every cluster of the world). */
  clusters?: string[];
  /** Give each daemon a peer connection to every other cluster (default true). */
  peers?: boolean;
  /** Automatic failovers on (default true). */
  autoFailover?: boolean;
  policy?: Partial<FailoverPolicy>;
  /** The root logger (default: silent). Each daemon logs as a child with its cluster. */
  log?: Logger;
  /** Write daemon trace lines to the world's trace (default true). */
  trace?: boolean;
  /** The global state each operator reaches (default: the world's store, as `world.globalStatePort(party)`). */
  globalState?: (party: string, world: SimWorld) => GlobalStatePort;
  /** The Kubernetes API of a cluster as the party reaches it (default: the world's, `world.clusterPort(cluster, party)`). */
  clusterPort?: (cluster: string, party: string, world: SimWorld) => ClusterPort;
  /** Observers of each daemon's charts (the simulator's invariants and timeline); see DaemonOptions. */
  onSnapshot?: (cluster: string, e: HostSnapshotEvent) => void;
  onActorError?: (cluster: string, failoverId: string, error: unknown) => void;
  onRestoreRefused?: (cluster: string, failoverId: string, error: Error) => void;
}

export interface DaemonSim {
  readonly world: SimWorld;
  /** The running daemon of a cluster (the latest incarnation). */
  daemon(cluster: string): Daemon;
  readonly clusters: string[];
  /** The snapshot storage of each cluster's operator (it outlives crashes). */
  readonly disks: ReadonlyMap<string, SimSnapshotDisk>;
  /** Whether the cluster's daemon has started and not crashed since. */
  running(cluster: string): boolean;
  /** Starts the cluster's daemon for the first time (a cluster left out of `clusters`); needs the world running. */
  launch(cluster: string): Promise<Daemon>;
  /** Freezes the operator process for `durationMs` (a stall longer than a lease's ttl makes the lease expire). */
  stall(cluster: string, durationMs: number): void;
  /** The operator process dies: nothing of it runs again; its party is down. */
  crash(cluster: string): Promise<void>;
  /** A new operator process starts (after crash) and restores its failovers; needs the world running. */
  restart(cluster: string): Promise<Daemon>;
  /** Stops every daemon. */
  stop(): Promise<void>;
}

/** Creates the FailoverGroup objects in every cluster's store (no latency: the world's setup). */
export function createGroupObjects(world: SimWorld, groups: FailoverGroupSpec[], clusters: readonly string[] = world.scenario.clusters): void {
  for (const c of clusters) {
    const store = world.cluster(c).store;
    for (const g of groups) store.create(failoverGroupObject(g));
  }
}

/**
 * The daemons of a world, none started yet: `launch` starts one (inside a running world). The FailoverGroup objects
 * are created in every cluster at once.
 */
export function createDaemonSim(world: SimWorld, opts: DaemonSimOptions = {}): DaemonSim {
  const { kernel } = world;
  const clusters = opts.clusters ?? [...world.scenario.clusters];
  const groups = opts.groups ?? world.scenario.groups.map((g) => g.spec);
  createGroupObjects(world, groups);
  // Every cluster's snapshot storage exists from the start (it outlives its daemons), so observers can subscribe.
  const disks = new Map<string, SimSnapshotDisk>(world.scenario.clusters.map((c) => [c, new SimSnapshotDisk(c, () => kernel.now())]));
  const procs = new Map<string, SimProcess>();
  const daemons = new Map<string, Daemon>();
  const lives = new Map<string, number>();
  const running = new Set<string>();
  const rootLog = opts.log ?? silentLogger;
  const portOf = (cluster: string, party: string) => (opts.clusterPort ? opts.clusterPort(cluster, party, world) : world.clusterPort(cluster, party));
  const procOf = (cluster: string) => {
    let proc = procs.get(cluster);
    if (!proc) procs.set(cluster, (proc = new SimProcess(`operator/${cluster}`, kernel)));
    return proc;
  };

  const launch = async (cluster: string): Promise<Daemon> => {
    const party = `operator/${cluster}`;
    const disk = disks.get(cluster);
    if (!disk) throw new Error(`no cluster "${cluster}" in this world; its clusters are ${world.scenario.clusters.join(', ')}`);
    const proc = procOf(cluster);
    const incarnation = proc.incarnation.number;
    const life = (lives.get(cluster) ?? 0) + 1;
    lives.set(cluster, life);
    const peers: Record<string, ClusterPort> = {};
    if (opts.peers !== false) for (const p of world.peersOf(cluster)) peers[p] = proc.fence(portOf(p, party));
    const daemon = await startDaemon({
      clusterName: cluster,
      clusterPort: proc.fence(portOf(cluster, party)),
      peers,
      globalState: proc.fence(opts.globalState ? opts.globalState(party, world) : world.globalStatePort(party)),
      clock: proc.clock(simClock(kernel.sched)),
      random: simRandom(kernel.prng.stream(`daemon/${cluster}/${life}`)),
      log: rootLog,
      snapshots: proc.fence(new SimSnapshotStore(kernel, disk, party)),
      xstateClock: proc.xstateClock(kernel.sched.xstateClock),
      fencing: { cidrsOf: (c) => [world.clusterCidr(c)], driver: DEFAULT_FENCE_DRIVER },
      ...(opts.policy ? { policy: opts.policy } : {}),
      ...(opts.autoFailover === false ? { autoFailover: false } : {}),
      ...(opts.trace === false ? {} : { trace: (event: string, fields: Record<string, string | number | boolean | null | undefined>) => kernel.emit(event, fields) }),
      ...(opts.onSnapshot ? { onSnapshot: (e: HostSnapshotEvent) => opts.onSnapshot!(cluster, e) } : {}),
      ...(opts.onActorError ? { onActorError: (id: string, err: unknown) => opts.onActorError!(cluster, id, err) } : {}),
      ...(opts.onRestoreRefused ? { onRestoreRefused: (id: string, err: Error) => opts.onRestoreRefused!(cluster, id, err) } : {}),
    });
    daemons.set(cluster, daemon);
    // A process killed while it was starting never gets here (its fenced calls never answer); check anyway.
    if (proc.alive && proc.incarnation.number === incarnation) running.add(cluster);
    return daemon;
  };

  return {
    world,
    clusters,
    disks,
    daemon: (cluster) => {
      const d = daemons.get(cluster);
      if (!d) throw new Error(`no daemon runs for cluster "${cluster}"; daemons run for ${clusters.join(', ')}`);
      return d;
    },
    running: (cluster) => running.has(cluster),
    launch,
    stall: (cluster, durationMs) => procOf(cluster).stall(durationMs),
    crash: async (cluster) => {
      running.delete(cluster);
      const d = daemons.get(cluster);
      procOf(cluster).kill();
      kernel.setDown(`operator/${cluster}`, true);
      await d?.stop();
    },
    restart: async (cluster) => {
      kernel.setDown(`operator/${cluster}`, false);
      procOf(cluster).revive();
      return launch(cluster);
    },
    stop: async () => {
      for (const d of daemons.values()) await d.stop();
    },
  };
}

/** Starts one daemon per cluster; the world must be running (inside kernel.resolve or a drive function). */
export async function startDaemonsOnWorld(world: SimWorld, opts: DaemonSimOptions = {}): Promise<DaemonSim> {
  const sim = createDaemonSim(world, opts);
  for (const c of sim.clusters) await sim.launch(c);
  return sim;
}

/** startDaemonsOnWorld, running the world until every daemon has started (for tests and benchmarks outside a run). */
export function runDaemonsOnWorld(world: SimWorld, opts: DaemonSimOptions = {}): Promise<DaemonSim> {
  return world.kernel.resolve(startDaemonsOnWorld(world, opts));
}
