// Why: a quick, focused measurement of the simulator's own speed while working on it: N reference-group
// CONSISTENCY failovers (profile calm, seeds 1..N after warm-ups) and the floor, printed as failovers per second
// (real and CPU) and the overhead ratio; run it under `node --cpu-prof` to see where the time goes.
// Usage: node --expose-gc --import tsx bench/profile-sim.ts [runs=10] [warmup=3] [floorRuns=200]
import { measureSimAndFloor } from './sim-throughput.ts';

const runs = Number(process.argv[2] ?? 10);
const warmupRuns = Number(process.argv[3] ?? 3);
const floorRuns = Number(process.argv[4] ?? 200);
const p = await measureSimAndFloor({ simRuns: runs, simWarmup: warmupRuns, floorRuns, floorWarmup: floorRuns > 0 ? 20 : 0, rounds: 5, profile: 'calm', log: () => {} });
console.log(
  JSON.stringify({
    runs,
    failoversPerSec: p.sim.failoversPerSec,
    failoversPerCpuSec: p.sim.failoversPerCpuSec,
    outcomes: p.sim.outcomes,
    failures: p.sim.failures,
    floorFailoversPerSec: floorRuns > 0 ? p.floor.failoversPerSec : undefined,
    overheadRatio: floorRuns > 0 ? p.overheadRatio : undefined,
    overheadRatioCpu: floorRuns > 0 ? p.overheadRatioCpu : undefined,
  }),
);
