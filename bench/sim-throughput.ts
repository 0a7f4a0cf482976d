// Why: the figures of the simulator's own speed: full CONSISTENCY failovers of the reference group per second of
// real time with faults on, run through the daemons as users run them (sim.failoversPerSec, also reported as
// sim.daemonFailoversPerSec), simulated seconds per real second (sim.compression), and the same
// charts on no-op drivers, XState's floor (sim.floorFailoversPerSec), timed in alternating batches with the
// simulator so that the ratio between the two compares runs on the same machine state.
import { runSimulation, type RunOutcome } from '../simulator/failover-run.ts';
import type { FaultProfile } from '../simulator/faults.ts';
import { referenceScenario } from '../simulator/scenarios/reference.ts';
import { loadCrds } from '../src/crds.ts';
import { floorFailover } from './floor.ts';
import { round } from './machine.ts';

export interface SimThroughput {
  scenario: string;
  profile: FaultProfile;
  mode: 'CONSISTENCY';
  type: 'planned';
  runs: number;
  warmupRuns: number;
  seeds: string;
  realMs: number;
  /** CPU time of the process over the runs (user + system): close to realMs on one core. */
  cpuMs: number;
  virtualMs: number;
  failoversPerSec: number;
  /** runs / cpuMs: the rate if the process had its core to itself (differs from failoversPerSec under load). */
  failoversPerCpuSec: number;
  compression: number;
  outcomes: Partial<Record<RunOutcome, number>>;
  /** Runs that ended with a crash, safety or liveness failure (the suite's business, reported for honesty). */
  failures: number;
}

/** Adds the real and the CPU time that `work` takes to `t`. */
async function timed(t: { realMs: number; cpuMs: number }, work: () => Promise<void>): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  t.realMs += performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  t.cpuMs += (cpu.user + cpu.system) / 1000;
}

/** Runs reference failovers in the simulator, seed after seed; its totals grow with every batch. */
function simRunner(profile: FaultProfile) {
  const crds = loadCrds();
  const run = (seed: number) => runSimulation({ seed, scenario: referenceScenario, profile, failover: { mode: 'CONSISTENCY', type: 'planned' }, crds });
  const t = { runs: 0, realMs: 0, cpuMs: 0, virtualMs: 0, failures: 0, outcomes: {} as SimThroughput['outcomes'] };
  return {
    totals: t,
    warm: async (n: number) => {
      for (let i = 0; i < n; i++) await run(100_000 + i);
    },
    batch: (n: number) =>
      timed(t, async () => {
        for (let i = 0; i < n; i++) {
          const r = await run(++t.runs);
          t.virtualMs += r.virtualDurationMs;
          t.outcomes[r.outcome] = (t.outcomes[r.outcome] ?? 0) + 1;
          if (r.failure) t.failures++;
        }
      }),
  };
}

/** Runs floor failovers (bench/floor.ts) one after another; its totals grow with every batch. */
function floorRunner() {
  const group = referenceScenario.groups[0].spec;
  const t = { runs: 0, realMs: 0, cpuMs: 0 };
  let n = 0;
  return {
    totals: t,
    warm: async (k: number) => {
      for (let i = 0; i < k; i++) await floorFailover(group, n++);
    },
    batch: (k: number) =>
      timed(t, async () => {
        for (let i = 0; i < k; i++) await floorFailover(group, n++);
        t.runs += k;
      }),
  };
}

export interface FloorThroughput {
  runs: number;
  warmupRuns: number;
  realMs: number;
  cpuMs: number;
  failoversPerSec: number;
  failoversPerCpuSec: number;
}

export interface PairedThroughput {
  sim: SimThroughput;
  floor: FloorThroughput;
  /** The two were measured in this many alternating batches, so both saw the same machine. */
  rounds: number;
  /** floor rate / simulator rate, in real time (the figure) and in CPU time. */
  overheadRatio: number;
  overheadRatioCpu: number;
}

/** Splits `total` runs into `rounds` batches as evenly as whole runs allow. */
const share = (total: number, rounds: number, i: number) => Math.floor((total * (i + 1)) / rounds) - Math.floor((total * i) / rounds);

/**
 * The simulator and its floor measured in alternating batches (floor, simulator, floor, ...): the floor's rate moves
 * with whatever else the machine is doing (36 to 92 per second between runs measured one after the other), and a
 * ratio is only meaningful when both sides saw the same machine. `floorRuns: 0` measures the simulator alone.
 */
export async function measureSimAndFloor(o: {
  simRuns: number;
  simWarmup: number;
  floorRuns: number;
  floorWarmup: number;
  rounds: number;
  profile: FaultProfile;
  log: (line: string) => void;
}): Promise<PairedThroughput> {
  const rounds = Math.max(1, Math.min(o.rounds, o.simRuns));
  const sim = simRunner(o.profile);
  const floor = floorRunner();
  await floor.warm(o.floorWarmup);
  await sim.warm(o.simWarmup);
  for (let i = 0; i < rounds; i++) {
    await floor.batch(share(o.floorRuns, rounds, i));
    await sim.batch(share(o.simRuns, rounds, i));
    o.log(`sim: ${sim.totals.runs}/${o.simRuns} reference failovers (${o.profile}) and ${floor.totals.runs}/${o.floorRuns} on the floor, round ${i + 1}/${rounds}`);
  }
  const s = sim.totals;
  const f = floor.totals;
  const simResult: SimThroughput = {
    scenario: 'reference',
    profile: o.profile,
    mode: 'CONSISTENCY',
    type: 'planned',
    runs: s.runs,
    warmupRuns: o.simWarmup,
    seeds: `1..${s.runs}`,
    realMs: Math.round(s.realMs),
    cpuMs: Math.round(s.cpuMs),
    virtualMs: Math.round(s.virtualMs),
    failoversPerSec: round(s.runs / (s.realMs / 1000), 3),
    failoversPerCpuSec: round(s.runs / (s.cpuMs / 1000), 3),
    compression: round(s.virtualMs / s.realMs, 1),
    outcomes: s.outcomes,
    failures: s.failures,
  };
  const floorResult: FloorThroughput = {
    runs: f.runs,
    warmupRuns: o.floorWarmup,
    realMs: Math.round(f.realMs),
    cpuMs: Math.round(f.cpuMs),
    failoversPerSec: f.runs ? round(f.runs / (f.realMs / 1000), 1) : 0,
    failoversPerCpuSec: f.runs ? round(f.runs / (f.cpuMs / 1000), 1) : 0,
  };
  return {
    sim: simResult,
    floor: floorResult,
    rounds,
    overheadRatio: f.runs ? round(f.runs / f.realMs / (s.runs / s.realMs), 1) : 0,
    overheadRatioCpu: f.runs ? round(f.runs / f.cpuMs / (s.runs / s.cpuMs), 1) : 0,
  };
}
