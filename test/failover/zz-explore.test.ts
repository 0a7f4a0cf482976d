import { it } from 'vitest';
import { dualPrimaryWindowOpen } from '../../machines/failover/failover.status.ts';
import { deriveFailoverStatus } from '../../machines/failover/failover.status.ts';
import { startWorldFailover } from './world-harness.ts';
it('explore', async () => {
  const profile = (process.env.P ?? 'swarm') as any;
  const n = Number(process.env.N ?? 20);
  for (const mode of ['CONSISTENCY', 'UPTIME'] as const) for (let seed = 1; seed <= n; seed++) {
    const run = startWorldFailover({ mode, seed, profile, horizonMs: 60_000 });
    const vrs = run.request.group.workloads.flatMap((w) => w.volumeReplications);
    const bad: string[] = [];
    await run.settle(2 * 60 * 60_000, () => {
      for (const vr of vrs) {
        const h = run.world.primaryHolders('shop', vr);
        if (h.length < 2) continue;
        const declared = [...run.actors.values()].some((a) => a.getSnapshot().status === 'active' && dualPrimaryWindowOpen(a.getSnapshot() as any));
        const writers = h.filter((c) => run.world.writesActive(c, 'shop', vr));
        if (!declared && writers.length > 1) bad.push(vr);
      }
    });
    const outs = [...run.actors.entries()].map(([r, a]) => `${r}:${a.getSnapshot().status}:${a.getSnapshot().output?.outcome ?? JSON.stringify(a.getSnapshot().value).slice(0, 150)}`);
    const rec = run.world.globalState.getGroup(run.request.groupId)!;
    const hist = run.world.globalState.listHistory(run.request.groupId).filter((h) => h.failoverId === run.request.failoverId);
    const ok = outs.every((o) => o.includes(':done:completed')) || outs.every((o) => o.includes(':done:rolledBack'));
    const conv = await run.world.settle(300_000);
    const prim = vrs.map((vr) => run.world.primaryHolders('shop', vr).join('+')).join(',');
    const line = `${mode} seed=${seed} ${outs.join(' ')} owner=${rec.ownerCluster} v=${rec.version} lock=${rec.lock ? 'HELD' : '-'} hist=${hist.map((h) => h.status).join(',')} prim=${prim} conv=${conv} bad=${bad.length} loss=${run.world.dataLoss().length}`;
    if (!ok || bad.length || rec.lock || hist.length !== 1 || !conv) {
      console.log('PROBLEM', line);
      for (const [r, a] of run.actors) { const s = deriveFailoverStatus(a.getSnapshot() as any); console.log(r, s.phase, s.message, JSON.stringify(a.getSnapshot().context.errors.slice(-3))); }
    } else console.log(line);
  }
});
