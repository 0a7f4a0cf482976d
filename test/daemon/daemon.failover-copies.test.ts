// Why: the two copies of one Failover (one per cluster) are read by people as one failover: once it has ended they
// must tell the same story, with the outcome, the downtime and the duration of the failover's history record
// (global state, written once per failover), and a succeeded one names the task that ended it, not the wait one
// side ended in. Found on real servers: an unplanned failover's source copy said downtime 0 and 36.1 s, the
// target's 14.7 s and 15.8 s, and the source's STATE read TASK_WaitForFailoverCompletion.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { daemonWorld, type DaemonWorld } from './daemon-world.ts';

const ended = (o: KubeObject | undefined) => o?.status?.status === 'SUCCESS' || o?.status?.status === 'FAILED';

function expectCopiesAgreeWithHistory(dw: DaemonWorld, name: string): void {
  const history = dw.world.globalState.historyOf('shop/storefront').filter((h) => h.failoverName === name);
  expect(history).toHaveLength(1);
  const h = history[0];
  expect(h.status).toBe('SUCCESS');
  for (const cluster of ['east', 'west']) {
    const st = dw.failover(cluster, name)?.status;
    expect(st, cluster).toMatchObject({
      status: 'SUCCESS',
      phase: 'Succeeded',
      state: 'TASK_ReleaseLock',
      progression: { stage: 'Completion', task: 'ReleaseLock' },
      metrics: { totalDowntimeSeconds: h.downtimeSeconds, totalFailoverTimeSeconds: h.durationSeconds },
    });
  }
}

describe('daemon: the two copies of one Failover', () => {
  it('daemon: failover copies: an unplanned failover ends with the same outcome, downtime, duration and final task on both clusters', async () => {
    const dw = await daemonWorld();
    await dw.world.runFor(40_000);
    // east's operator is cut off: the target fails over without it; east's copy is run when it returns.
    dw.world.kernel.setDown('operator/east', true);
    dw.world.cluster('west').store.create(failoverObject({ name: 'lost-east', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', type: 'unplanned', force: true, groups: [{ name: 'storefront' }] }));
    expect(await dw.runUntil(() => dw.failover('west', 'lost-east')?.status?.status === 'SUCCESS', 300_000, 1_000)).toBe(true);
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('west');
    await dw.world.runFor(20_000);
    dw.world.kernel.setDown('operator/east', false);
    expect(await dw.runUntil(() => ended(dw.failover('east', 'lost-east')), 300_000, 1_000)).toBe(true);
    expect(dw.failover('east', 'lost-east')?.status?.role).toBe('source');
    expect(dw.world.globalState.historyOf('shop/storefront')[0].downtimeSeconds).toBeGreaterThan(0);
    expectCopiesAgreeWithHistory(dw, 'lost-east');
  });

  for (const mode of ['CONSISTENCY', 'UPTIME'] as const) {
    it(`daemon: failover copies: a planned failover ends with the same downtime, duration and final task on both clusters (mode=${mode})`, async () => {
      const dw = await daemonWorld();
      await dw.world.runFor(40_000);
      dw.world.cluster('east').store.create(failoverObject({ name: 'drill', namespace: 'shop', targetCluster: 'west', mode, groups: [{ name: 'storefront' }], reason: 'drill' }));
      expect(await dw.runUntil(() => ended(dw.failover('east', 'drill')) && ended(dw.failover('west', 'drill')), 600_000, 500)).toBe(true);
      expectCopiesAgreeWithHistory(dw, 'drill');
    });
  }
});
