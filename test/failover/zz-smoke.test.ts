import { it } from 'vitest';
import { startWorldFailover } from './world-harness.ts';
import { deriveFailoverStatus } from '../../machines/failover/failover.status.ts';
async function show(r: ReturnType<typeof startWorldFailover>) {
  await r.settle();
  for (const [role, a] of r.actors) {
    const s = a.getSnapshot();
    console.log(role, s.status, JSON.stringify(s.value).slice(0, 300), JSON.stringify(deriveFailoverStatus(s as any).message), JSON.stringify(s.context.errors).slice(0, 1500));
  }
  console.log(r.logs.filter(l => /Entered state|Step failed|Waiting/.test(l)).slice(0, 60).map(l => { const j = JSON.parse(l); return `${j.time} ${j.cluster} ${j.msg} ${j.state ?? ''} ${j.error ?? ''}`; }).join('\n'));
  console.log(r.world.pending());
}
it('uptime', async () => { await show(startWorldFailover({ mode: 'UPTIME' })); });
it('unplanned', async () => { await show(startWorldFailover({ type: 'unplanned', before: (w) => { w.kernel.setDown('apiserver/east', true); w.kernel.setDown('operator/east', true); } })); });
