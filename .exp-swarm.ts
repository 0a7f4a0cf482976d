import { runSimulation } from './simulator/failover-run.ts';
import { loadCrds } from './src/crds.ts';
const crds = loadCrds();
const [wl, from, to, mode, type] = [Number(process.argv[2] ?? 10), Number(process.argv[3] ?? 1), Number(process.argv[4] ?? 5), process.argv[5] ?? 'CONSISTENCY', process.argv[6] ?? 'planned'];
for (let seed = from; seed <= to; seed++) {
  const t0 = performance.now();
  const r = await runSimulation({ seed, scenario: `generated-${wl}`, profile: 'swarm', failover: { mode: mode as any, type: type as any }, crds });
  console.log(seed, r.outcome, r.failure ? `${r.failure.kind} ${r.failure.invariant} ${r.failure.message.slice(0, 300)}` : '-', 'virt', Math.round(r.virtualDurationMs), 'crashes', r.crashes, 'ms', Math.round(performance.now() - t0));
}
