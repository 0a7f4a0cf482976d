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
}

export interface DaemonSim {
  readonly world: SimWorld;
  /** The running daemon of a cluster (the latest incarnation). */
  daemon(cluster: string): Daemon;
  readonly clusters: string[];
  /** The snapshot storage of each cluster's operator (it outlives crashes). */
  readonly disks: ReadonlyMap<string, SimSnapshotDisk>;
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

/** Starts one daemon per cluster; the world must be running (inside kernel.resolve or a drive function). */
export async function startDaemonsOnWorld(world: SimWorld, opts: DaemonSimOptions = {}): Promise<DaemonSim> {
  const { kernel } = world;
  const clusters = opts.clusters ?? [...world.scenario.clusters];
  const groups = opts.groups ?? world.scenario.groups.map((g) => g.spec);
  createGroupObjects(world, groups);
  const disks = new Map<string, SimSnapshotDisk>();
  const procs = new Map<string, SimProcess>();
  const daemons = new Map<string, Daemon>();
  const lives = new Map<string, number>();
  const rootLog = opts.log ?? silentLogger;

  const launch = async (cluster: string): Promise<Daemon> => {
    const party = `operator/${cluster}`;
    let disk = disks.get(cluster);
    if (!disk) disks.set(cluster, (disk = new SimSnapshotDisk(cluster, () => kernel.now())));
    let proc = procs.get(cluster);
    if (!proc) procs.set(cluster, (proc = new SimProcess(party, kernel)));
    const life = (lives.get(cluster) ?? 0) + 1;
    lives.set(cluster, life);
    const peers: Record<string, ClusterPort> = {};
    if (opts.peers !== false) for (const p of world.peersOf(cluster)) peers[p] = proc.fence(world.clusterPort(p, party));
    const daemon = await startDaemon({
      clusterName: cluster,
      clusterPort: proc.fence(world.clusterPort(cluster, party)),
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
    });
    daemons.set(cluster, daemon);
    return daemon;
  };

  for (const c of clusters) await launch(c);

  return {
    world,
    clusters,
    disks,
    daemon: (cluster) => {
      const d = daemons.get(cluster);
      if (!d) throw new Error(`no daemon runs for cluster "${cluster}"; daemons run for ${clusters.join(', ')}`);
      return d;
    },
    crash: async (cluster) => {
      const d = daemons.get(cluster);
      procs.get(cluster)?.kill();
      kernel.setDown(`operator/${cluster}`, true);
      await d?.stop();
    },
    restart: async (cluster) => {
      kernel.setDown(`operator/${cluster}`, false);
      procs.get(cluster)?.revive();
      return launch(cluster);
    },
    stop: async () => {
      for (const d of daemons.values()) await d.stop();
    },
  };
}

/** startDaemonsOnWorld, running the world until every daemon has started (for tests and benchmarks outside a run). */
export function runDaemonsOnWorld(world: SimWorld, opts: DaemonSimOptions = {}): Promise<DaemonSim> {
  return world.kernel.resolve(startDaemonsOnWorld(world, opts));
}
