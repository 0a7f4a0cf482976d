// Why: a daemon that dies in the middle of a failover must pick it up where its last persisted snapshot left it
// when it starts again (startDaemon restores before it watches), and not start it a second time.
import { describe, expect, it } from 'vitest';
import { failoverIdOf, failoverObject } from '../../src/daemon/failover-spec.ts';
import { daemonWorld } from './daemon-world.ts';

describe('daemon: restart', () => {
  it('daemon: restart: the source daemon crashes mid-failover; its next life restores the failover and it completes', async () => {
    const dw = await daemonWorld();
    await dw.world.runFor(40_000);
    dw.world.cluster('east').store.create(failoverObject({ name: 'move-crash', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }));
    const id = failoverIdOf({ namespace: 'shop', name: 'move-crash' }, { namespace: 'shop', name: 'storefront' });
    // Crash once the source has started shutting down (past validation and the lock).
    expect(
      await dw.runUntil(() => {
        const s = dw.failover('east', 'move-crash')?.status;
        return s?.phase === 'InProgress' && (s.progression as any)?.stage === 'SourceClusterShutdown';
      }, 120_000, 100),
    ).toBe(true);
    const before = dw.sim.daemon('east');
    expect(dw.sim.disks.get('east')!.keys()).toEqual([id]);
    await dw.sim.crash('east');
    await dw.world.runFor(5_000);
    const again = await dw.world.kernel.resolve(dw.sim.restart('east'));
    expect(again).not.toBe(before);
    expect(again.host.failoverIds()).toEqual([id]); // restored from disk, before any Failover was reconciled
    const done = (c: string) => dw.failover(c, 'move-crash')?.status?.status === 'SUCCESS';
    expect(await dw.runUntil(() => done('east') && done('west'), 600_000, 1_000)).toBe(true);
    expect(again.stats().failoversAccepted).toBe(0); // not started again: the restored actor finished it
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('west');
    expect(dw.world.globalState.listHistory('shop/storefront').map((h) => h.status)).toEqual(['SUCCESS']);
  });
});
