// Why: the scale figures. scale.concurrent: many failovers at once in one process (100 simulated worlds, each
// running a full failover of the reference group, interleaved on one event loop): the real time to finish them all
// and the peak memory. scale.idle: the daemons of two clusters holding 1,000 groups (10,000 workloads) while
// nothing happens, with virtual time following the wall clock, so their CPU share and memory are what an idle
// production process would show (the simulated API servers and controllers run in the same process and are
// measured apart, as the baseline).
import { runSimulation, type RunOutcome } from '../simulator/failover-run.ts';
import type { FaultProfile } from '../simulator/faults.ts';
import { referenceScenario } from '../simulator/scenarios/reference.ts';
import { SimWorld } from '../simulator/world.ts';
import { loadCrds } from '../src/crds.ts';
import { scaleScenario } from '../src/daemon/scale-idle.ts';
import { runDaemonsOnWorld } from '../src/daemon/sim-harness.ts';
import { runRealtime } from '../src/sim-realtime.ts';
import { heapUsedMb, mb, round, rssSampler } from './machine.ts';

export interface ScaleConcurrent {
  how: string;
  failovers: number;
  profile: FaultProfile;
  realMs: number;
  peakRssMb: number;
  rssBeforeMb: number;
  outcomes: Partial<Record<RunOutcome, number>>;
  failures: number;
}

export async function measureConcurrent(o: { failovers: number; profile: FaultProfile }): Promise<ScaleConcurrent> {
  const crds = loadCrds();
  const rssBeforeMb = mb(process.memoryUsage().rss);
  const sampler = rssSampler(25);
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: o.failovers }, (_, i) =>
      runSimulation({ seed: 10_000 + i, scenario: referenceScenario, profile: o.profile, failover: { mode: 'CONSISTENCY', type: 'planned' }, crds }),
    ),
  );
  const realMs = performance.now() - t0;
  const rss = sampler.stop();
  const outcomes: ScaleConcurrent['outcomes'] = {};
  for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  return {
    how: `${o.failovers} simulated worlds in one process, each a CONSISTENCY failover of the reference group, all started at once and interleaved on one event loop`,
    failovers: o.failovers,
    profile: o.profile,
    realMs: Math.round(realMs),
    peakRssMb: rss.peakMb,
    rssBeforeMb,
    outcomes,
    failures: results.filter((r) => r.failure).length,
  };
}

export interface ScaleIdle {
  how: string;
  groups: number;
  workloads: number;
  daemons: number;
  buildRealMs: number;
  startRealMs: number;
  windowRealMs: number;
  /** CPU time (user + system) over the window divided by its real time, with the daemons running. */
  cpuShare: number;
  /** The same for the simulated world alone (API servers, controllers) before the daemons started. */
  baselineCpuShare: number;
  /** cpuShare − baselineCpuShare: what the two idle daemons cost. */
  daemonsCpuShare: number;
  /** Resident set size of the whole process (world and daemons) at the end of the window. */
  rssMb: number;
  baselineRssMb: number;
  /** Live heap after a full GC, with the daemons, and of the world alone: their difference is the daemons'. */
  heapUsedMb: number;
  baselineHeapUsedMb: number;
  daemonsHeapUsedMb: number;
  heartbeatsInWindow: number;
  groupStatusWritesInWindow: number;
}

/** Lets the world follow the wall clock for `ms` and measures CPU and memory over the last `windowMs`. */
async function realTimeWindow(world: SimWorld, warmMs: number, windowMs: number) {
  const driver = runRealtime(world.kernel, { speed: 1, tickMs: 10 });
  await new Promise((r) => setTimeout(r, warmMs));
  const sampler = rssSampler(100);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const rss = sampler.stop();
  await driver.stop();
  return { cpuShare: (cpu.user + cpu.system) / 1000 / wallMs, wallMs, rssMb: rss.lastMb };
}

/**
 * `windowMs` should be a whole number of heartbeat intervals (30 s by default): the daemons spread their beats over
 * the first 5 s of each interval, so a shorter window over- or under-counts a burst.
 */
export async function measureIdle(o: { groups: number; warmMs: number; windowMs: number; baselineWindowMs: number; log: (line: string) => void }): Promise<ScaleIdle> {
  const t0 = performance.now();
  const world = SimWorld.build({ seed: 1, scenario: scaleScenario({ groups: o.groups }), crds: loadCrds(), syncIntervalMs: 600_000 });
  const t1 = performance.now();
  o.log(`idle: built a world of ${o.groups} groups in ${Math.round(t1 - t0)} ms; measuring the world alone on real time`);
  const base = await realTimeWindow(world, o.warmMs, o.baselineWindowMs);
  const baselineHeap = heapUsedMb();
  const t2 = performance.now();
  const sim = await runDaemonsOnWorld(world, { trace: false });
  // Every group takes its first heartbeat and writes its first status before the idle window.
  await world.runFor(60_000);
  const t3 = performance.now();
  o.log(`idle: started ${sim.clusters.length} daemons in ${Math.round(t3 - t2)} ms; measuring on real time`);
  const before = sim.clusters.map((c) => sim.daemon(c).stats());
  const idle = await realTimeWindow(world, o.warmMs, o.windowMs);
  const after = sim.clusters.map((c) => sim.daemon(c).stats());
  const heap = heapUsedMb();
  await sim.stop();
  const delta = (f: (s: (typeof after)[number]) => number) => after.reduce((n, s, i) => n + f(s) - f(before[i]), 0);
  return {
    how: `two daemons (east, west) through startDaemon on a simulated world of ${o.groups} groups; virtual time follows the wall clock (1:1); CPU from process.cpuUsage over ${o.windowMs} ms (whole heartbeat intervals) after ${o.warmMs} ms of warm-up, heap after a full GC; the daemons reach the world through the in-process simulated drivers (no HTTP)`,
    groups: o.groups,
    workloads: world.scenario.groups.reduce((n, g) => n + g.spec.workloads.length, 0),
    daemons: sim.clusters.length,
    buildRealMs: Math.round(t1 - t0),
    startRealMs: Math.round(t3 - t2),
    windowRealMs: Math.round(idle.wallMs),
    cpuShare: round(idle.cpuShare, 3),
    baselineCpuShare: round(base.cpuShare, 3),
    daemonsCpuShare: round(idle.cpuShare - base.cpuShare, 3),
    rssMb: idle.rssMb,
    baselineRssMb: base.rssMb,
    heapUsedMb: heap,
    baselineHeapUsedMb: baselineHeap,
    daemonsHeapUsedMb: round(heap - baselineHeap, 1),
    heartbeatsInWindow: delta((s) => s.heartbeats),
    groupStatusWritesInWindow: delta((s) => s.groupStatusWrites),
  };
}
