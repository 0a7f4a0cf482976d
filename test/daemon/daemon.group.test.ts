// Why: every cluster's daemon must keep each FailoverGroup alive in global state (registered once, by the
// cluster that runs it; heartbeats at the group's interval with the health it reads) and write the group's
// status from informers and heartbeats; a bad spec must become a condition naming the field, not a crash.
import { describe, expect, it } from 'vitest';
import { SimGlobalState } from '../../drivers/globalstate/globalstate.sim.ts';
import { SimGlobalStateStore } from '../../simulator/globalstate/store.ts';
import type { SimWorld } from '../../simulator/world.ts';
import { conditionOf, daemonWorld } from './daemon-world.ts';

describe('daemon: FailoverGroup', () => {
  it('daemon: group: the cluster that runs the workloads registers the group; both clusters heartbeat (scenario=sample)', async () => {
    // A global state that has never heard of the group: the daemons must register it themselves.
    const stores = new WeakMap<SimWorld, SimGlobalStateStore>();
    const fresh = (party: string, world: SimWorld) => {
      let s = stores.get(world);
      if (!s) stores.set(world, (s = new SimGlobalStateStore(world.kernel)));
      return new SimGlobalState(world.kernel, s, party);
    };
    const dw = await daemonWorld({ daemons: { globalState: fresh } });
    const store = stores.get(dw.world)!;
    const t0 = dw.world.kernel.now();
    // The store was created empty when the daemons started; the first heartbeat (at start) registered the group.
    await dw.world.runFor(40_000);

    const rec = store.getGroup('shop/storefront');
    expect(rec?.ownerCluster).toBe('east'); // east runs the workloads; west (standby) never registers it
    expect(rec?.timeouts).toEqual({ transitoryStateMs: 300_000, unhealthyPrimaryMs: 120_000, heartbeatMs: 60_000 });
    expect(rec?.metadata.originalReplicas).toEqual({ 'Deployment/web': 3, 'StatefulSet/db': 2, 'Deployment/worker': 2 });
    expect(dw.sim.daemon('east').stats().registrations).toBe(1);
    expect(dw.sim.daemon('west').stats().registrations).toBe(0);
    const clusters = () => Object.fromEntries(store.listClusters('shop/storefront').map((c) => [c.cluster, c]));
    expect(clusters().east).toMatchObject({ role: 'PRIMARY', health: 'OK' });
    expect(clusters().west).toMatchObject({ role: 'STANDBY', health: 'OK' });

    // Heartbeats keep coming at the interval (30 s), driven by the timer alone; beats keep to a fixed grid, so two
    // beats 60 s apart are recorded 60 s apart give or take the difference in their global-state latency.
    const before = clusters();
    await dw.world.runFor(61_000);
    const after = clusters();
    for (const c of ['east', 'west']) {
      expect(after[c].lastHeartbeatMs - before[c].lastHeartbeatMs).toBeGreaterThanOrEqual(59_000);
      expect(after[c].lastHeartbeatMs - before[c].lastHeartbeatMs).toBeLessThanOrEqual(61_000);
      expect(dw.world.kernel.now() - after[c].lastHeartbeatMs).toBeLessThan(30_000);
    }
    expect(dw.sim.daemon('east').stats().heartbeats).toBeGreaterThanOrEqual(3);
    expect(dw.world.kernel.now() - t0).toBeGreaterThan(100_000);
  });

  it('daemon: group: status shows health, per-resource status and the global view of every cluster (scenario=sample)', async () => {
    const dw = await daemonWorld();
    await dw.world.runFor(40_000);
    const east = dw.group('east')!;
    const west = dw.group('west')!;
    expect(east.status).toMatchObject({ health: 'OK', suspended: false, observedGeneration: 1 });
    expect(east.status?.globalState).toMatchObject({ activeCluster: 'east', thisCluster: 'east', dbSyncStatus: 'Synced' });
    expect((east.status?.globalState as any).clusters.map((c: any) => [c.name, c.role, c.health])).toEqual([
      ['east', 'PRIMARY', 'OK'],
      ['west', 'STANDBY', 'OK'],
    ]);
    expect((east.status?.workloads as any[]).map((w) => [w.kind, w.name, w.health, w.status])).toEqual([
      ['Deployment', 'web', 'OK', 'ready 3/3'],
      ['StatefulSet', 'db', 'OK', 'ready 2/2'],
      ['Deployment', 'worker', 'OK', 'ready 2/2'],
      ['CronJob', 'nightly-report', 'OK', 'scheduled'],
    ]);
    expect((east.status?.workloads as any[])[1].volumeReplications).toEqual([
      { name: 'db-data-0', health: 'OK', status: 'Primary' },
      { name: 'db-data-1', health: 'OK', status: 'Primary' },
    ]);
    expect((west.status?.workloads as any[]).map((w) => w.status)).toEqual(['scaled to 0 (standby)', 'scaled to 0 (standby)', 'scaled to 0 (standby)', 'suspended (standby)']);
    expect((west.status?.networkResources as any[]).map((n) => n.status)).toEqual(['traffic disabled (standby)', 'traffic disabled (standby)']);
    expect(west.status?.health).toBe('OK');
    expect(conditionOf(east, 'Registered')).toMatchObject({ status: 'True', reason: 'GroupRegistered' });
    expect(conditionOf(east, 'Heartbeating')).toMatchObject({ status: 'True' });
    expect(conditionOf(east, 'AutoFailoverReady')).toMatchObject({ status: 'False', reason: 'IsPrimary' });
    expect(conditionOf(west, 'AutoFailoverReady')).toMatchObject({ status: 'True', reason: 'Armed' });
  });

  it('daemon: group: a resource going bad shows in status through the informer, before the next heartbeat (scenario=sample)', async () => {
    const dw = await daemonWorld();
    await dw.world.runFor(40_000);
    const store = dw.world.cluster('east').store;
    const web = store.get({ group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'web' })!;
    store.delete({ group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'web' }, { resourceVersion: web.metadata.resourceVersion });
    const deletedAtMs = dw.world.kernel.now();
    const ok = await dw.runUntil(() => dw.group('east')?.status?.health === 'ERROR', 10_000, 100);
    expect(ok).toBe(true);
    // Informer-driven: seen within a couple of watch latencies, not at the next heartbeat (every 30 s).
    expect(dw.world.kernel.now() - deletedAtMs).toBeLessThan(2_000);
    expect(conditionOf(dw.group('east'), 'Healthy')).toMatchObject({ status: 'False', reason: 'ResourcesFailing' });
    expect(conditionOf(dw.group('east'), 'Healthy')?.message).toContain('Deployment/web: not found');
  });

  it('daemon: group: an invalid spec becomes SpecValid=False naming the field; the daemon keeps running', async () => {
    const dw = await daemonWorld();
    const store = dw.world.cluster('west').store;
    const bad = {
      apiVersion: 'failover-engine.io/v1alpha1',
      kind: 'FailoverGroup',
      metadata: { name: 'broken', namespace: 'shop' },
      // Passes the schema (strings), but the heartbeat is shorter than the interval.
      spec: { timeouts: { heartbeat: '10s' }, heartbeatInterval: '30s', workloads: [{ kind: 'Deployment', name: 'web' }] },
    };
    store.create(bad);
    const ok = await dw.runUntil(() => conditionOf(dw.group('west', 'broken'), 'SpecValid')?.status === 'False', 10_000, 250);
    expect(ok).toBe(true);
    const c = conditionOf(dw.group('west', 'broken'), 'SpecValid')!;
    expect(c.reason).toBe('InvalidSpec');
    expect(c.message).toContain('spec.timeouts.heartbeat');
    expect(c.message).toContain('spec.heartbeatInterval');
    expect(dw.group('west', 'broken')?.status?.health).toBe('ERROR');
    // The good group keeps heartbeating.
    await dw.world.runFor(40_000);
    expect(dw.group('west')?.status?.health).toBe('OK');
    expect(dw.sim.daemon('west').groups.state('shop/broken')?.heartbeats ?? 0).toBe(0);
  });
});
