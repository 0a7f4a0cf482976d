import fc from 'fast-check';
import { runSimulation } from './simulator/failover-run.ts';
import { loadCrds } from './src/crds.ts';
const CRDS = loadCrds();
const caseArb = fc.record({
  seed: fc.nat({ max: 2 ** 31 - 1 }),
  workloads: fc.integer({ min: 1, max: 50 }),
  mode: fc.constantFrom('CONSISTENCY' as const, 'UPTIME' as const),
  type: fc.constantFrom('planned' as const, 'planned' as const, 'unplanned' as const),
  force: fc.boolean(),
});
for (const c of fc.sample(caseArb, { numRuns: Number(process.argv[2] ?? 20), seed: Number(process.argv[3] ?? 42) })) {
  const t0 = performance.now();
  const r = await runSimulation({ seed: c.seed, scenario: `generated-${c.workloads}`, profile: 'swarm', failover: { mode: c.mode, type: c.type, force: c.force }, crds: CRDS });
  console.log(JSON.stringify(c), r.outcome, r.failure ? `${r.failure.kind} ${r.failure.invariant} ${r.failure.message.slice(0, 200)}` : '-', 'crashes', r.crashes, 'ms', Math.round(performance.now() - t0));
}
