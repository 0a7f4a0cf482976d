// Why: the benchmark "scale.idle: a daemon holding 1,000 groups (10,000 workloads) while idle" needs one way to
// build that world and measure what the daemons cost when nothing happens: heartbeats, status writes, API calls
// and the real time the simulation takes. The benchmark command and a small-scale test both run it.
import { generateGroup, type Scenario } from '../../simulator/scenario.ts';
import { SimWorld } from '../../simulator/world.ts';
import { loadCrds } from '../crds.ts';
import { runDaemonsOnWorld } from './sim-harness.ts';

export interface ScaleIdleOptions {
  groups: number;
  /** Workloads per group (default 10: 1,000 groups hold 10,000 workloads). */
  workloadsPerGroup?: number;
  /** VolumeReplications per group (default 2). */
  volumesPerGroup?: number;
  /** Idle virtual time measured after the daemons have started and settled (default 10 minutes). */
  idleMs?: number;
  seed?: number;
}

export interface ScaleIdleResult {
  groups: number;
  workloads: number;
  idleVirtualMs: number;
  /** Real milliseconds to build the world, start the daemons, and run the idle window. */
  buildRealMs: number;
  startRealMs: number;
  idleRealMs: number;
  /** Per cluster, during the idle window only. */
  perCluster: Record<string, { heartbeats: number; heartbeatErrors: number; groupStatusWrites: number; failoversAccepted: number; autoFailovers: number }>;
  /** Scheduler events during the idle window (the world's controllers included). */
  idleEvents: number;
  heapUsedMb: number;
}

/** A two-cluster world with `groups` generated groups, each in its own namespace. */
export function scaleScenario(o: Pick<ScaleIdleOptions, 'groups' | 'workloadsPerGroup' | 'volumesPerGroup'>): Scenario {
  const groups = [];
  for (let i = 0; i < o.groups; i++) {
    groups.push(generateGroup({ name: `app-${i}`, namespace: `team-${i}`, workloads: o.workloadsPerGroup ?? 10, volumes: o.volumesPerGroup ?? 2, network: 1, flux: 0 }));
  }
  return { name: `scale-${o.groups}`, description: `${o.groups} generated groups on east (primary) and west`, clusters: ['east', 'west'], primary: 'east', groups };
}

export async function runScaleIdle(o: ScaleIdleOptions, now: () => number = () => performance.now()): Promise<ScaleIdleResult> {
  const idleMs = o.idleMs ?? 10 * 60_000;
  const t0 = now();
  // Replication snapshots every 10 minutes: the world's own background work stays small next to the daemons'.
  const world = SimWorld.build({ seed: o.seed ?? 1, scenario: scaleScenario(o), crds: loadCrds(), syncIntervalMs: 600_000 });
  const t1 = now();
  const sim = await runDaemonsOnWorld(world, { trace: false });
  // Let every group take its first heartbeat and write its first status.
  await world.runFor(60_000);
  const t2 = now();
  const before = Object.fromEntries(sim.clusters.map((c) => [c, sim.daemon(c).stats()]));
  const eventsBefore = world.kernel.sched.eventsProcessed;
  await world.runFor(idleMs);
  const t3 = now();
  const perCluster: ScaleIdleResult['perCluster'] = {};
  for (const c of sim.clusters) {
    const a = before[c];
    const b = sim.daemon(c).stats();
    perCluster[c] = {
      heartbeats: b.heartbeats - a.heartbeats,
      heartbeatErrors: b.heartbeatErrors - a.heartbeatErrors,
      groupStatusWrites: b.groupStatusWrites - a.groupStatusWrites,
      failoversAccepted: b.failoversAccepted - a.failoversAccepted,
      autoFailovers: b.autoFailovers - a.autoFailovers,
    };
  }
  const result: ScaleIdleResult = {
    groups: o.groups,
    workloads: o.groups * (o.workloadsPerGroup ?? 10),
    idleVirtualMs: idleMs,
    buildRealMs: Math.round(t1 - t0),
    startRealMs: Math.round(t2 - t1),
    idleRealMs: Math.round(t3 - t2),
    perCluster,
    idleEvents: (world.kernel.sched.eventsProcessed) - eventsBefore,
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1e6),
  };
  await sim.stop();
  return result;
}
