// Why: the figures of the simulator's own speed: full CONSISTENCY failovers of the reference group per second of
// real time with faults on (sim.failoversPerSec), simulated seconds per real second (sim.compression), and the same
// charts on no-op drivers, XState's floor (sim.floorFailoversPerSec), with the ratio between the two.
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

export async function measureSimThroughput(o: { runs: number; warmupRuns: number; profile: FaultProfile; log: (line: string) => void }): Promise<SimThroughput> {
  const crds = loadCrds();
  const run = (seed: number) => runSimulation({ seed, scenario: referenceScenario, profile: o.profile, failover: { mode: 'CONSISTENCY', type: 'planned' }, crds });
  for (let i = 0; i < o.warmupRuns; i++) await run(100_000 + i);
  const outcomes: SimThroughput['outcomes'] = {};
  let failures = 0;
  let virtualMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let seed = 1; seed <= o.runs; seed++) {
    const r = await run(seed);
    virtualMs += r.virtualDurationMs;
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    if (r.failure) failures++;
    if (seed % 5 === 0 || seed === o.runs) o.log(`sim: ${seed}/${o.runs} reference failovers (${o.profile}), ${Math.round(performance.now() - t0)} ms so far`);
  }
  const realMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    scenario: 'reference',
    profile: o.profile,
    mode: 'CONSISTENCY',
    type: 'planned',
    runs: o.runs,
    warmupRuns: o.warmupRuns,
    seeds: `1..${o.runs}`,
    realMs: Math.round(realMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    virtualMs: Math.round(virtualMs),
    failoversPerSec: round(o.runs / (realMs / 1000), 3),
    failoversPerCpuSec: round(o.runs / ((cpu.user + cpu.system) / 1e6), 3),
    compression: round(virtualMs / realMs, 1),
    outcomes,
    failures,
  };
}

export interface FloorThroughput {
  runs: number;
  warmupRuns: number;
  realMs: number;
  failoversPerSec: number;
}

export async function measureFloor(o: { runs: number; warmupRuns: number }): Promise<FloorThroughput> {
  const group = referenceScenario.groups[0].spec;
  for (let i = 0; i < o.warmupRuns; i++) await floorFailover(group, i);
  const t0 = performance.now();
  for (let i = 0; i < o.runs; i++) await floorFailover(group, o.warmupRuns + i);
  const realMs = performance.now() - t0;
  return { runs: o.runs, warmupRuns: o.warmupRuns, realMs: Math.round(realMs), failoversPerSec: round(o.runs / (realMs / 1000), 1) };
}
