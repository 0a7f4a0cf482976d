// Why: an automatic failover of a primary that is only flapping (its daemon cut off for short spells, each shorter
// than the heartbeat timeout, so heartbeats keep arriving between them) would move a healthy application for
// nothing; the standby must wait for a primary silent past timeouts.heartbeat. A dead one still triggers it.
import { describe, expect, it } from 'vitest';
import { AUTO_FAILOVER_COMPONENT, Labels } from '../../src/daemon/api.ts';
import { daemonWorld } from './daemon-world.ts';

const isAuto = (o: { metadata: { labels?: Record<string, string> } }) => o.metadata.labels?.[Labels.component] === AUTO_FAILOVER_COMPONENT;
/** Heartbeats every 30 s; the primary is presumed dead after 90 s without one (so one missed beat is not death). */
const mutate = (spec: { timeouts: { heartbeatMs: number }; heartbeatIntervalMs: number }) => {
  spec.timeouts.heartbeatMs = 90_000;
  spec.heartbeatIntervalMs = 30_000;
};

describe('daemon: auto-failover and a flapping primary', () => {
  it('daemon: auto-failover: a primary cut off for 20 s of every minute, for 15 minutes, is never failed over', async () => {
    const dw = await daemonWorld({ mutate });
    await dw.world.runFor(40_000);
    let longestSilenceMs = 0;
    for (let i = 0; i < 15; i++) {
      dw.world.kernel.setDown('operator/east', true);
      await dw.world.runFor(20_000);
      dw.world.kernel.setDown('operator/east', false);
      for (let s = 0; s < 40; s++) {
        await dw.world.runFor(1_000);
        const east = dw.world.globalState.listClusters('shop/storefront').find((c) => c.cluster === 'east')!;
        longestSilenceMs = Math.max(longestSilenceMs, dw.world.kernel.now() - east.lastHeartbeatMs);
      }
    }
    // The flapping was real (beats were missed) but never reached the timeout.
    expect(longestSilenceMs).toBeGreaterThan(30_000);
    expect(longestSilenceMs).toBeLessThan(90_000);
    expect(dw.failovers('west').filter(isAuto)).toEqual([]);
    expect(dw.failovers('east').filter(isAuto)).toEqual([]);
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('east');
  });

  it('daemon: auto-failover: the same primary dead for good is failed over once its silence passes the 90 s timeout', async () => {
    const dw = await daemonWorld({ mutate });
    await dw.world.runFor(40_000);
    dw.world.kernel.setDown('operator/east', true);
    expect(await dw.runUntil(() => dw.failovers('west').some(isAuto), 300_000, 1_000)).toBe(true);
    expect(dw.failovers('west').filter(isAuto)).toHaveLength(1);
  });
});
