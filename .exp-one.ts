import { runSimulation } from './simulator/failover-run.ts';
import { loadCrds } from './src/crds.ts';
const crds = loadCrds();
const [wl, seed, mode, type, grep] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] ?? 'CONSISTENCY', process.argv[5] ?? 'planned', process.argv[6] ?? 'failover\\.|nemesis|operator\\.|process\\.|fault-plan (crash|stall|part)|snapshot\\.|party'];
const r = await runSimulation({ seed, scenario: wl > 0 ? `generated-${wl}` : 'sample', profile: 'swarm', failover: { mode: mode as any, type: type as any }, crds, keepTraceLines: true });
const re = new RegExp(grep);
console.log(r.trace!.filter((l) => re.test(l)).join('\n'));
console.log(r.outcome, r.failure, JSON.stringify(r.status, null, 1).slice(0, 3000));
