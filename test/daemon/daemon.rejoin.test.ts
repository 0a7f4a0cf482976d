// Why: the safety bug of issue 12: an old source that comes back after an unplanned failover must stand down by
// itself (its daemon runs the rejoin chart), and the new owner must lift its fence only after that, so that a
// later failback works. Checked on the simulated world with the daemons' own composition, at every event.
import { describe, expect, it } from 'vitest';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { StandDownChecker } from '../../simulator/invariants/stand-down.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { SimWorld } from '../../simulator/world.ts';
import { loadCrds } from '../../src/crds.ts';
import { FailoverKind } from '../../src/daemon/api.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { runDaemonsOnWorld } from '../../src/daemon/sim-harness.ts';
import { standDownOf } from '../../src/daemon/rejoin-supervisor.ts';
import { conditionOf, daemonWorld } from './daemon-world.ts';

const GROUP = 'shop/storefront';

describe('daemon: rejoin', () => {
  // UPTIME activates the failback's target early: a rejoin running beside it (its token is the failback's own once
  // the lock is taken) would stand the target down again, so the supervisor must not run one while it is active.
  it.each(['CONSISTENCY', 'UPTIME'] as const)('daemon: rejoin: after an unplanned failover the restarted old source stands down, the fence is lifted only then, and a %s failback to it succeeds', async (failbackMode) => {
    // Heartbeats every 5 s, so east's daemon looks at the group again while the failback runs.
    const dw = await daemonWorld({ seed: 3, mutate: (g) => (g.heartbeatIntervalMs = 5_000), daemons: { autoFailover: false } });
    const { world, sim } = dw;
    const k = world.kernel;
    await world.runFor(40_000);
    expect(world.globalState.getGroup(GROUP)?.ownerCluster).toBe('east');

    const checker = new StandDownChecker({ world, groupId: GROUP, oldSource: 'east', boundMs: 5 * 60_000 });
    const afterEvent = () => checker.afterEvent();
    const runUntil = async (until: () => boolean, maxMs: number) => {
      await k.run({ untilMs: k.now() + maxMs, stopWhen: until, afterEvent });
      return until();
    };

    // East's daemon and API server go down; an unplanned failover to west is created on west.
    await sim.crash('east');
    k.setDown('apiserver/east', true);
    world.cluster('west').store.create(failoverObject({ name: 'unplanned-1', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', type: 'unplanned', force: true, groups: [{ name: 'storefront' }] }));
    const st = (c: string, name: string) => dw.failover(c, name)?.status?.status;
    expect(await runUntil(() => st('west', 'unplanned-1') === 'SUCCESS', 20 * 60_000)).toBe(true);
    expect(world.globalState.getGroup(GROUP)?.ownerCluster).toBe('west');
    expect(world.isFenced('east')).toBe(true);
    expect(checker.activity().primaryVolumes.length).toBeGreaterThan(0); // east left as it was: the bug's setting

    // East comes back: API server up, its daemon restarts.
    k.setDown('apiserver/east', false);
    checker.reachableAt(k.now());
    await k.resolve(sim.restart('east'), { afterEvent });
    expect(await runUntil(() => checker.stoodDownAtMs !== undefined && !world.isFenced('east'), 10 * 60_000)).toBe(true);
    expect(checker.violations).toEqual([]);
    expect(checker.fenceLiftedAtMs!).toBeGreaterThanOrEqual(checker.stoodDownAtMs!);
    expect(checker.activity()).toEqual({ primaryVolumes: [], readyWorkloads: [], servingTraffic: [] });
    expect(world.get('west', { ...Kinds.NetworkFence, name: 'failover-engine-fence-east' })?.spec?.fenceState).toBe('Unfenced');
    // The stand-down is visible: east's heartbeat and its FailoverGroup status say so.
    expect(await runUntil(() => conditionOf(dw.group('east'), 'StoodDown')?.status === 'True', 2 * 60_000)).toBe(true);
    const east = world.globalState.listClusters(GROUP).find((c) => c.cluster === 'east');
    expect(standDownOf(east?.components)).toMatchObject({ phase: 'StoodDown', owner: 'west', version: world.globalState.getGroup(GROUP)!.version });
    expect(conditionOf(dw.group('west'), 'StoodDown')).toBeUndefined(); // the owner has nothing to stand down
    // Once per ownership: more heartbeats of the same ownership do not run the chart again.
    const runs = sim.daemon('east').rejoin.stats.started;
    await runUntil(() => false, 60_000);
    expect(sim.daemon('east').rejoin.stats.started).toBe(runs);

    // A planned failback onto east now works.
    world.cluster('west').store.create(failoverObject({ name: 'failback-1', namespace: 'shop', targetCluster: 'east', mode: failbackMode, groups: [{ name: 'storefront' }] }));
    expect(await runUntil(() => st('west', 'failback-1') === 'SUCCESS' && st('east', 'failback-1') === 'SUCCESS', 20 * 60_000)).toBe(true);
    expect(world.globalState.getGroup(GROUP)?.ownerCluster).toBe('east');
    for (const w of world.scenario.groups[0].spec.workloads) for (const vr of w.volumeReplications) expect(world.primaryHolders('shop', vr)).toEqual(['east']);
    expect(checker.final({ expectFenceLifted: true })).toEqual([]);
    expect(checker.windowEndedAtMs).toBeDefined(); // the failback took the lock: from then on its own invariants hold
  }, 120_000);

  it('daemon: rejoin: a stand-down that fails is published with the error and the manual step, the fence stays, and it is retried until it stands down', async () => {
    const dw = await daemonWorld({ seed: 4, mutate: (g) => (g.heartbeatIntervalMs = 5_000), daemons: { autoFailover: false } });
    const { world, sim } = dw;
    const k = world.kernel;
    await world.runFor(40_000);
    await sim.crash('east');
    k.setDown('apiserver/east', true);
    world.cluster('west').store.create(failoverObject({ name: 'unplanned-2', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', type: 'unplanned', force: true, groups: [{ name: 'storefront' }] }));
    expect(await dw.runUntil(() => dw.failover('west', 'unplanned-2')?.status?.status === 'SUCCESS', 20 * 60_000)).toBe(true);

    // While east was away, someone deleted its VirtualService: disabling the traffic fails (NotFound).
    const group = world.scenario.groups[0];
    const vs = group.spec.networkResources[0];
    const vsRef = { ...Kinds[vs.kind], namespace: 'shop', name: vs.name };
    const saved = world.get('east', vsRef)!;
    world.cluster('east').store.delete(vsRef);
    k.setDown('apiserver/east', false);
    await k.resolve(sim.restart('east'));
    const failed = () => conditionOf(dw.group('east'), 'StoodDown');
    expect(await dw.runUntil(() => failed()?.reason === 'StandDownFailed', 10 * 60_000)).toBe(true);
    expect(failed()).toMatchObject({ status: 'False' });
    expect(failed()!.message).toContain(vs.name);
    expect(failed()!.message).toContain('do not lift it by hand');
    const eastRecord = () => world.globalState.listClusters(GROUP).find((c) => c.cluster === 'east');
    expect(await dw.runUntil(() => standDownOf(eastRecord()?.components)?.phase === 'Failed', 2 * 60_000)).toBe(true);
    expect(standDownOf(eastRecord()?.components)?.error).toContain(vs.name);
    expect(world.isFenced('east')).toBe(true); // never lifted before east stood down

    // A person puts the VirtualService back (still serving): the retry stands east down, then the fence is lifted.
    world.cluster('east').store.create({ apiVersion: saved.apiVersion, kind: saved.kind, metadata: { name: saved.metadata.name, namespace: 'shop', annotations: { ...saved.metadata.annotations } }, spec: saved.spec });
    expect(await dw.runUntil(() => conditionOf(dw.group('east'), 'StoodDown')?.status === 'True' && !world.isFenced('east'), 10 * 60_000)).toBe(true);
    expect(world.get('east', vsRef)?.metadata.annotations?.['failover.io/dns-disabled']).toBe('true');
  }, 120_000);

  it('daemon: rejoin: the fence against a cluster is lifted only once it stood down for every group it was fenced for', async () => {
    const sample = scenarioByName('sample');
    const billing = { ...sample.groups[0], spec: { ...sample.groups[0].spec, name: 'billing', namespace: 'billing', heartbeatIntervalMs: 5_000 } };
    const storefront = { ...sample.groups[0], spec: { ...sample.groups[0].spec, heartbeatIntervalMs: 5_000 } };
    const world = SimWorld.build({ seed: 5, scenario: { ...sample, groups: [storefront, billing] }, crds: loadCrds() });
    const sim = await runDaemonsOnWorld(world, { autoFailover: false });
    const k = world.kernel;
    await world.runFor(40_000);
    const checkers = [storefront, billing].map((g) => new StandDownChecker({ world, group: g.spec, oldSource: 'east' }));
    const afterEvent = () => checkers.forEach((c) => c.afterEvent());
    const runUntil = async (until: () => boolean, maxMs: number) => {
      await k.run({ untilMs: k.now() + maxMs, stopWhen: until, afterEvent });
      return until();
    };
    await sim.crash('east');
    k.setDown('apiserver/east', true);
    const groups = [{ name: 'storefront', namespace: 'shop' }, { name: 'billing', namespace: 'billing' }];
    world.cluster('west').store.create(failoverObject({ name: 'unplanned-3', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', type: 'unplanned', force: true, groups }));
    expect(await runUntil(() => world.get('west', { ...FailoverKind, namespace: 'shop', name: 'unplanned-3' })?.status?.status === 'SUCCESS', 20 * 60_000)).toBe(true);

    // Billing's VirtualService went missing on east: only storefront can stand down.
    const vsRef = { ...Kinds.VirtualService, namespace: 'billing', name: 'storefront' };
    const saved = world.get('east', vsRef)!;
    world.cluster('east').store.delete(vsRef);
    k.setDown('apiserver/east', false);
    for (const c of checkers) c.reachableAt(k.now());
    await k.resolve(sim.restart('east'), { afterEvent });
    expect(await runUntil(() => checkers[0].stoodDownAtMs !== undefined, 10 * 60_000)).toBe(true);
    // West has heard that east stood down for storefront, and keeps the fence for billing.
    const eastOf = (g: string) => standDownOf(world.globalState.listClusters(g).find((c) => c.cluster === 'east')?.components);
    expect(await runUntil(() => eastOf('shop/storefront')?.phase === 'StoodDown' && eastOf('billing/billing')?.phase === 'Failed', 5 * 60_000)).toBe(true);
    await runUntil(() => false, 60_000); // several heartbeats of west after the report
    expect(world.isFenced('east')).toBe(true);
    expect(checkers[1].activity().readyWorkloads.length).toBeGreaterThan(0);

    world.cluster('east').store.create({ apiVersion: saved.apiVersion, kind: saved.kind, metadata: { name: saved.metadata.name, namespace: 'billing', annotations: { ...saved.metadata.annotations } }, spec: saved.spec });
    expect(await runUntil(() => !world.isFenced('east'), 10 * 60_000)).toBe(true);
    for (const c of checkers) expect(c.final({ expectFenceLifted: true })).toEqual([]);
    await sim.stop();
  }, 120_000);
});
