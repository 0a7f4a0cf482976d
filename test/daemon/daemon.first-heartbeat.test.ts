// Why: a Failover created right after the daemons start must not fail because the peer has not reported yet: every
// group's first heartbeat goes out at start, and the source's validation waits (bounded by the group's heartbeat
// timeout) for a target that has never reported, instead of refusing it.
import { describe, expect, it } from 'vitest';
import { DriverError } from '../../drivers/errors.ts';
import { SimGlobalState } from '../../drivers/globalstate/globalstate.sim.ts';
import { SimGlobalStateStore } from '../../simulator/globalstate/store.ts';
import type { SimWorld } from '../../simulator/world.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { daemonWorld, type DaemonWorld } from './daemon-world.ts';

const done = (o: { status?: { status?: unknown } } | undefined) => o?.status?.status === 'SUCCESS' || o?.status?.status === 'FAILED';

/**
 * A daemon world whose global state has never heard of the group or its clusters (as on a first start). While
 * `silenced` holds a cluster, that cluster's heartbeats fail (a daemon that has not reported yet).
 */
async function freshWorld(seed: number, silenced = new Set<string>()): Promise<{ dw: DaemonWorld; store: SimGlobalStateStore; t0: number; silenced: Set<string> }> {
  const stores = new WeakMap<SimWorld, SimGlobalStateStore>();
  let t0 = 0;
  const dw = await daemonWorld({
    seed,
    daemons: {
      globalState: (party, world) => {
        let s = stores.get(world);
        if (!s) {
          stores.set(world, (s = new SimGlobalStateStore(world.kernel)));
          t0 = world.kernel.now();
        }
        const port = new SimGlobalState(world.kernel, s, party);
        const heartbeat = port.heartbeat.bind(port);
        port.heartbeat = (status, opts) => (silenced.has(status.cluster) ? Promise.reject(new DriverError('Transient', 'globalstate', 'heartbeat', `${status.cluster} is silenced by the test`)) : heartbeat(status, opts));
        // `register:<cluster>` in silenced: that cluster cannot register the group yet.
        const createGroup = port.createGroup.bind(port);
        port.createGroup = (input, opts) => (silenced.has(`register:${input.ownerCluster}`) ? Promise.reject(new DriverError('Transient', 'globalstate', 'createGroup', 'registration held back by the test')) : createGroup(input, opts));
        return port;
      },
    },
  });
  return { dw, store: stores.get(dw.world)!, t0, silenced };
}

describe('daemon: first heartbeat', () => {
  it('daemon: first heartbeat: every cluster reports a group within a second of its daemon starting, not after a jitter (seeds 1-4)', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const { dw, store, t0 } = await freshWorld(seed);
      const reported = await dw.runUntil(() => store.listClusters('shop/storefront').length === 2, 1_000, 100);
      expect(reported, `seed ${seed}: clusters reporting after 1 s: ${store.listClusters('shop/storefront').map((c) => c.cluster).join(',')}`).toBe(true);
      for (const c of store.listClusters('shop/storefront')) expect(c.lastHeartbeatMs - t0, `seed ${seed} ${c.cluster}`).toBeLessThan(1_000);
      await dw.sim.stop();
    }
  });

  it('daemon: first heartbeat: a standby that started before the group was registered reports within seconds of the registration, not an interval later', async () => {
    // east's daemon cannot register; the record appears at 7 s, written outside the daemons (off both beat grids).
    const { dw, store, silenced } = await freshWorld(1, new Set(['register:east']));
    await dw.world.runFor(7_000);
    expect(store.getGroup('shop/storefront')).toBeUndefined();
    const spec = dw.world.scenario.groups[0].spec;
    store.createGroup('test', { groupId: 'shop/storefront', ownerCluster: 'east', timeouts: spec.timeouts, heartbeatIntervalMs: spec.heartbeatIntervalMs });
    const registeredAt = dw.world.kernel.now();
    silenced.delete('register:east');
    // The standby looks again after 1 s, doubling: it reports well before its 30 s interval is up.
    expect(await dw.runUntil(() => store.listClusters('shop/storefront').some((c) => c.cluster === 'west'), 30_000, 100)).toBe(true);
    const west = store.listClusters('shop/storefront').find((c) => c.cluster === 'west')!;
    expect(west.lastHeartbeatMs - registeredAt).toBeLessThan(10_000);
    await dw.sim.stop();
  });

  it('daemon: first heartbeat: a Failover created before the target ever reported waits for its first heartbeat, then succeeds', async () => {
    // west's heartbeats fail from the start: it cannot report until it is let back in.
    const { dw, store, silenced } = await freshWorld(1, new Set(['west']));
    expect(await dw.runUntil(() => store.listClusters('shop/storefront').length > 0, 5_000, 100)).toBe(true);
    expect(store.getGroup('shop/storefront')?.ownerCluster).toBe('east');
    expect(store.listClusters('shop/storefront').map((c) => c.cluster)).toEqual(['east']);
    dw.world.cluster('east').store.create(failoverObject({ name: 'early', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }));
    await dw.world.runFor(20_000);
    expect(dw.failover('east', 'early')?.status?.status).toBe('IN_PROGRESS');
    silenced.delete('west');
    expect(await dw.runUntil(() => done(dw.failover('east', 'early')) && done(dw.failover('west', 'early')), 600_000, 500)).toBe(true);
    expect(dw.failover('east', 'early')?.status).toMatchObject({ status: 'SUCCESS' });
    expect(dw.failover('west', 'early')?.status).toMatchObject({ status: 'SUCCESS' });
    expect(store.getGroup('shop/storefront')?.ownerCluster).toBe('west');
    await dw.sim.stop();
  });

  it('daemon: first heartbeat: the wait is bounded by the heartbeat timeout; a target that never reports is then refused', async () => {
    const { dw, store } = await freshWorld(1, new Set(['west']));
    expect(await dw.runUntil(() => store.getGroup('shop/storefront')?.ownerCluster === 'east', 5_000, 100)).toBe(true);
    const created = dw.world.kernel.now();
    dw.world.cluster('east').store.create(failoverObject({ name: 'never', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }));
    expect(await dw.runUntil(() => done(dw.failover('east', 'never')), 180_000, 1_000)).toBe(true);
    const east = dw.failover('east', 'never')!;
    expect(east.status).toMatchObject({ status: 'FAILED' });
    expect(String(east.status?.message)).toMatch(/target cluster west is not reporting heartbeats \(none within 60s\)/);
    // Refused only after the group's heartbeat timeout (60 s), and not much later.
    expect(dw.world.kernel.now() - created).toBeGreaterThanOrEqual(60_000);
    expect(dw.world.kernel.now() - created).toBeLessThan(75_000);
    expect(store.getGroup('shop/storefront')?.ownerCluster).toBe('east');
    await dw.sim.stop();
  });
});
