import { runSimulation } from './simulator/failover-run.ts';
import { loadCrds } from './src/crds.ts';
const crds = loadCrds();
for (const mode of ['CONSISTENCY', 'UPTIME'] as const) {
  const t0 = performance.now();
  const r = await runSimulation({ seed: 1, scenario: 'sample', profile: 'none', failover: { mode, type: 'planned' }, crds, keepTraceLines: true });
  console.log(mode, r.outcome, r.failure, 'virt', r.virtualDurationMs, 'events', r.eventCount, 'trans', r.transitions, 'ms', Math.round(performance.now() - t0));
  console.log(r.timeline.map((s) => `${s.stage} ${s.role} ${s.startMs}-${s.endMs}`).join('\n'));
  console.log(r.invariants.filter(i=>!i.held));
  if (r.outcome !== 'completed') console.log(r.trace!.filter(l => l.includes('failover.')).slice(-40).join('\n'));
}
