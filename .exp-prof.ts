import { runSimulation } from './simulator/failover-run.ts';
import { loadCrds } from './src/crds.ts';
const crds = loadCrds();
const t0 = performance.now();
for (let i = 0; i < 5; i++) {
  const r = await runSimulation({ seed: i, scenario: 'sample', profile: 'none', failover: { mode: 'CONSISTENCY', type: 'planned' }, crds });
  console.log(r.outcome, Math.round(performance.now() - t0));
}
