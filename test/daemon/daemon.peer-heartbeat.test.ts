// Why: when both daemons have just started, a planned Failover can arrive before the target's daemon has sent its
// first heartbeat for the group. It must wait for that heartbeat within a bound (the group's heartbeat timeout)
// instead of failing its validation at once; past the bound it starts, and says the target is silent.
import { describe, expect, it } from 'vitest';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { daemonWorld } from './daemon-world.ts';

const done = (o: { status?: { status?: unknown } } | undefined) => o?.status?.status === 'SUCCESS' || o?.status?.status === 'FAILED';

/** Daemons on east only, and west never heartbeated for the group (its daemon has not started). */
async function westSilent() {
  const dw = await daemonWorld({ daemons: { clusters: ['east'] } });
  dw.world.globalState.forgetCluster('shop/storefront', 'west');
  await dw.world.runFor(10_000);
  dw.world.cluster('east').store.create(failoverObject({ name: 'early', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }));
  return dw;
}

describe('daemon: a Failover before the peer\'s first heartbeat', () => {
  it('daemon: peer heartbeat: a planned Failover waits for the target\'s first heartbeat, then runs to completion', async () => {
    const dw = await westSilent();
    // It waits in its validation (the chart's first task), holding no lock, for as long as the target is silent.
    await dw.world.runFor(20_000);
    const waiting = dw.failover('east', 'early');
    expect(waiting?.status).toMatchObject({ status: 'IN_PROGRESS', state: 'TASK_ValidateFailover' });
    expect(dw.world.globalState.getGroup('shop/storefront')?.lock).toBeUndefined();

    await dw.world.kernel.resolve(dw.sim.launch('west'));
    expect(await dw.runUntil(() => done(dw.failover('east', 'early')) && done(dw.failover('west', 'early')), 600_000, 1_000)).toBe(true);
    expect(dw.failover('east', 'early')?.status?.status).toBe('SUCCESS');
    expect(dw.failover('west', 'early')?.status?.status).toBe('SUCCESS');
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('west');
  });

  it('daemon: peer heartbeat: past the heartbeat timeout the wait ends and the failover fails naming the silent target', async () => {
    const dw = await westSilent();
    expect(await dw.runUntil(() => done(dw.failover('east', 'early')), 5 * 60_000, 1_000)).toBe(true);
    const east = dw.failover('east', 'early')!;
    expect(east.status?.status).toBe('FAILED');
    expect(String(east.status?.message)).toContain('target cluster west is not reporting heartbeats');
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('east');
  });
});
