// Why: the production path end to end: two daemons built by `failoverctl daemon`'s own code (client-node over
// HTTP to the simulated API servers, the DynamoDB driver against dynalite, the wall clock) register a group,
// heartbeat, and run a Failover to completion. The simulated world runs in real time.
import { afterAll, describe, expect, it } from 'vitest';
import type { ServedWorld } from '../../src/cli/world-serve.ts';
import { FailoverGroupKind, FailoverKind } from '../../src/daemon/api.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { startServedDaemons } from './served-daemons.ts';
import { untilServed } from './served-until.ts';

describe('daemon: real drivers over HTTP', () => {
  let served: ServedWorld | undefined;
  afterAll(async () => {
    await served?.stop();
  });

  it('daemon: http: registers, heartbeats and runs a Failover through client-node and DynamoDB (dynalite)', async () => {
    // Speed 1, the way a user runs `failoverctl daemon` (on the wall clock) against `world serve --no-daemons`: the
    // world's clock starts at the wall time and follows it, so the two clocks agree.
    const d = await startServedDaemons({ prefix: 'daemon-http-', serve: { seed: 1, speed: 1 } });
    served = d.served;
    const { world, gs } = d;
    try {
      await untilServed(world, 'the group registered by east in DynamoDB, both clusters heartbeating', async () => {
        const rec = await gs.getGroup('shop/storefront');
        const clusters = await gs.listClusters('shop/storefront');
        return rec?.ownerCluster === 'east' && clusters.length === 2 && clusters.every((c) => c.health === 'OK');
      }, 240_000);
      await untilServed(world, 'the FailoverGroup status written over HTTP', () => world.get('east', { ...FailoverGroupKind, namespace: 'shop', name: 'storefront' })?.status?.health === 'OK', 120_000);

      world.cluster('east').store.create(failoverObject({ name: 'http-move', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }));
      const st = (c: string) => world.get(c, { ...FailoverKind, namespace: 'shop', name: 'http-move' })?.status?.status;
      await untilServed(world, 'the Failover to succeed on both clusters', () => st('east') === 'SUCCESS' && st('west') === 'SUCCESS', 480_000);
      expect((await gs.getGroup('shop/storefront'))?.ownerCluster).toBe('west');
      expect(world.volumeState('west', 'shop', 'db-data-0')).toBe('Primary');
      expect((await gs.listHistory('shop/storefront')).map((h) => h.status)).toEqual(['SUCCESS']);
      // One clock: the daemons (wall clock) and the served objects (the world's clock, started at the wall time) agree,
      // so the duration is the failover's, not the 2.94e7 s between the simulator's fixed epoch and today.
      const metrics = world.get('west', { ...FailoverKind, namespace: 'shop', name: 'http-move' })?.status?.metrics as { totalFailoverTimeSeconds: number };
      expect(metrics.totalFailoverTimeSeconds).toBeGreaterThan(0);
      expect(metrics.totalFailoverTimeSeconds).toBeLessThan(180);
    } finally {
      await d.stop();
    }
  }, 900_000);
});
