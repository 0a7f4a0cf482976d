// Why: a quick, focused measurement of the simulator's own speed while working on it: N reference-group
// CONSISTENCY failovers (profile calm, seeds 1..N after warm-ups) and the floor, printed as failovers per second
// (real and CPU) and the overhead ratio; run it under `node --cpu-prof` to see where the time goes.
// Usage: node --expose-gc --import tsx bench/profile-sim.ts [runs=10] [warmup=3] [floorRuns=200]
import { measureFloor, measureSimThroughput } from './sim-throughput.ts';

const runs = Number(process.argv[2] ?? 10);
const warmupRuns = Number(process.argv[3] ?? 3);
const floorRuns = Number(process.argv[4] ?? 200);
const sim = await measureSimThroughput({ runs, warmupRuns, profile: 'calm', log: () => {} });
const floor = floorRuns > 0 ? await measureFloor({ runs: floorRuns, warmupRuns: 20 }) : undefined;
console.log(
  JSON.stringify({
    runs,
    failoversPerSec: sim.failoversPerSec,
    failoversPerCpuSec: sim.failoversPerCpuSec,
    outcomes: sim.outcomes,
    failures: sim.failures,
    floorFailoversPerSec: floor?.failoversPerSec,
    overheadRatio: floor ? Math.round((floor.failoversPerSec / sim.failoversPerSec) * 10) / 10 : undefined,
    overheadRatioCpu: floor ? Math.round((floor.failoversPerSec / sim.failoversPerCpuSec) * 10) / 10 : undefined,
  }),
);
