// Why: when a primary dies or stays broken, a standby must take the group over without a person, exactly once,
// and never for a suspended group. These tests run the daemons on the simulated world and cut the primary's
// operator off (kernel.setDown('operator/east')), and check the detection rules on their own.
import { describe, expect, it } from 'vitest';
import type { ClusterStatusRecord, GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import { silentLogger } from '../../src/log.ts';
import { Annotations, AUTO_FAILOVER_COMPONENT, Labels } from '../../src/daemon/api.ts';
import { AutoFailoverChecker, autoFailoverName, decideAutoFailover, type DetectionMemory } from '../../src/daemon/auto-failover.ts';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { DEFAULT_GROUP_TIMEOUTS, type FailoverGroupSpec } from '../../machines/failover/group.types.ts';
import { conditionOf, daemonWorld } from './daemon-world.ts';

const isAuto = (o: { metadata: { labels?: Record<string, string> } }) => o.metadata.labels?.[Labels.component] === AUTO_FAILOVER_COMPONENT;

describe('daemon: auto-failover on the simulated world', () => {
  it('daemon: auto-failover: the standby fails over once the primary stops heartbeating, exactly once (operator/east down)', async () => {
    const dw = await daemonWorld();
    await dw.world.runFor(40_000);
    dw.world.kernel.setDown('operator/east', true);
    const lastEastBeatMs = dw.world.globalState.listClusters('shop/storefront').find((c) => c.cluster === 'east')!.lastHeartbeatMs;

    // Not before timeouts.heartbeat (60 s) has passed since east's last heartbeat.
    await dw.runUntil(() => dw.failovers('west').some(isAuto), 200_000, 500);
    const triggeredAtMs = dw.world.kernel.now();
    const autos = dw.failovers('west').filter(isAuto);
    expect(autos).toHaveLength(1);
    expect(triggeredAtMs - lastEastBeatMs).toBeGreaterThan(60_000);
    expect(triggeredAtMs - lastEastBeatMs).toBeLessThanOrEqual(60_000 + 30_000 + 1_000); // within one heartbeat interval of the timeout
    const fo = autos[0];
    expect(fo.metadata.name).toMatch(/^auto-failover-storefront-20260101-\d{6}$/);
    expect(fo.metadata.annotations?.[Annotations.automatic]).toBe('true');
    expect(fo.metadata.annotations?.[Annotations.reason]).toMatch(/^primary east has not heartbeated for .* \(timeouts\.heartbeat 1m\)$/);
    expect(fo.spec).toMatchObject({ targetCluster: 'west', failoverMode: 'CONSISTENCY', type: 'unplanned', force: true, failoverGroups: [{ name: 'storefront', namespace: 'shop' }] });

    // It runs to completion: west fenced east, took ownership and serves.
    expect(await dw.runUntil(() => dw.failover('west', fo.metadata.name)?.status?.status === 'SUCCESS', 300_000, 1_000)).toBe(true);
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('west');
    expect(dw.world.isFenced('east')).toBe(true);
    expect(dw.world.readyReplicas('west', 'Deployment', 'shop', 'web')).toBe(3);

    // Exactly once: minutes later there is still one automatic Failover, anywhere.
    await dw.world.runFor(300_000);
    expect(dw.failovers('west').filter(isAuto)).toHaveLength(1);
    expect(dw.failovers('east').filter(isAuto).map((o) => o.metadata.name)).toEqual([fo.metadata.name]); // the copy for east
    expect(dw.sim.daemon('west').stats().autoFailovers).toBe(1);
    expect(conditionOf(dw.group('west'), 'AutoFailoverReady')).toMatchObject({ status: 'False', reason: 'IsPrimary' });

    // When east's operator returns it learns the outcome from its copy of the Failover (it was the source).
    dw.world.kernel.setDown('operator/east', false);
    expect(await dw.runUntil(() => dw.failover('east', fo.metadata.name)?.status?.status === 'SUCCESS', 300_000, 1_000)).toBe(true);
    expect(dw.failover('east', fo.metadata.name)?.status).toMatchObject({ role: 'source', sourceCluster: 'east' });
    expect(dw.failovers('east').filter(isAuto).length + dw.failovers('west').filter(isAuto).length).toBe(2);
  });

  it('daemon: auto-failover: a suspended group is never failed over automatically (operator/east down)', async () => {
    const dw = await daemonWorld({
      mutate: (s) => {
        s.suspended = true;
        s.suspensionReason = 'maintenance window';
      },
    });
    await dw.world.runFor(40_000);
    dw.world.kernel.setDown('operator/east', true);
    await dw.world.runFor(600_000);
    expect(dw.failovers('west')).toEqual([]);
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('east');
    expect(dw.group('west')?.status?.suspended).toBe(true);
    expect(conditionOf(dw.group('west'), 'AutoFailoverReady')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(conditionOf(dw.group('west'), 'AutoFailoverReady')?.message).toContain('maintenance window');
  });

  it('daemon: auto-failover: two healthy standbys, only the lowest-named one fails over (scenario=three-clusters)', async () => {
    const dw = await daemonWorld({ scenario: 'three-clusters' });
    await dw.world.runFor(40_000);
    dw.world.kernel.setDown('operator/east', true);
    expect(await dw.runUntil(() => dw.failovers('north').some(isAuto), 200_000, 1_000)).toBe(true);
    await dw.world.runFor(300_000);
    expect(dw.failovers('north').filter(isAuto)).toHaveLength(1);
    expect(dw.failovers('west').filter(isAuto)).toHaveLength(0);
    expect(dw.sim.daemon('west').stats().autoFailovers).toBe(0);
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('north');
  });

  it('daemon: auto-failover: the primary reports ERROR longer than timeouts.unhealthyPrimary → a planned CONSISTENCY failover', async () => {
    const dw = await daemonWorld();
    await dw.world.runFor(40_000);
    // Break the primary: its web Deployment scaled to 0 makes east report ERROR (its daemon stays up).
    const store = dw.world.cluster('east').store;
    const ref = { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'web' };
    store.mergePatch(ref, { spec: { replicas: 0 } });
    const brokeAtMs = dw.world.kernel.now();
    expect(await dw.runUntil(() => dw.world.globalState.listClusters('shop/storefront').find((c) => c.cluster === 'east')?.health === 'ERROR', 60_000, 500)).toBe(true);
    const errorSeenMs = dw.world.kernel.now();
    expect(await dw.runUntil(() => dw.failovers('west').some(isAuto), 400_000, 500)).toBe(true);
    const triggeredAtMs = dw.world.kernel.now();
    expect(triggeredAtMs - brokeAtMs).toBeGreaterThan(DEFAULT_GROUP_TIMEOUTS.unhealthyPrimaryMs);
    expect(triggeredAtMs - errorSeenMs).toBeLessThanOrEqual(DEFAULT_GROUP_TIMEOUTS.unhealthyPrimaryMs + 2 * 30_000 + 1_000);
    const fo = dw.failovers('west').filter(isAuto)[0];
    expect(fo.spec).toMatchObject({ targetCluster: 'west', failoverMode: 'CONSISTENCY', type: 'planned', force: false });
    expect(fo.metadata.annotations?.[Annotations.reason]).toMatch(/^primary east has reported ERROR for .* \(timeouts\.unhealthyPrimary 2m\)$/);
    // The source's daemon (alive) gets its copy and takes its part.
    expect(await dw.runUntil(() => dw.failover('east', fo.metadata.name)?.status?.role === 'source', 60_000, 500)).toBe(true);
    await dw.runUntil(() => ['SUCCESS', 'FAILED'].includes(String(dw.failover('west', fo.metadata.name)?.status?.status)), 600_000, 1_000);
    expect(dw.failover('west', fo.metadata.name)?.status?.status).toBe('SUCCESS');
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('west');
    await dw.world.runFor(300_000);
    expect(dw.failovers('west').filter(isAuto)).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const T0 = 1_767_225_600_000;
function spec(over: Partial<FailoverGroupSpec> = {}): FailoverGroupSpec {
  return {
    name: 'app',
    namespace: 'ns',
    operatorID: 'failover-engine',
    suspended: false,
    timeouts: { transitoryStateMs: 300_000, unhealthyPrimaryMs: 120_000, heartbeatMs: 60_000 },
    heartbeatIntervalMs: 30_000,
    workloads: [],
    networkResources: [],
    fluxResources: [],
    ...over,
  };
}
function record(over: Partial<GroupRecord> = {}): GroupRecord {
  return {
    groupId: 'ns/app',
    ownerCluster: 'east',
    version: 1,
    fencingToken: 0,
    suspended: false,
    timeouts: { transitoryStateMs: 300_000, unhealthyPrimaryMs: 120_000, heartbeatMs: 60_000 },
    heartbeatIntervalMs: 30_000,
    metadata: {},
    updatedAtMs: T0,
    ...over,
  };
}
function beat(cluster: string, atMs: number, over: Partial<ClusterStatusRecord> = {}): ClusterStatusRecord {
  return { groupId: 'ns/app', cluster, health: 'OK', role: cluster === 'east' ? 'PRIMARY' : 'STANDBY', lastHeartbeatMs: atMs, ...over };
}
const decide = (o: { nowMs: number; clusters: ClusterStatusRecord[]; memory?: DetectionMemory; me?: string; spec?: FailoverGroupSpec; record?: GroupRecord; ownHealth?: 'OK' | 'DEGRADED' | 'ERROR' }) =>
  decideAutoFailover({
    me: o.me ?? 'west',
    spec: o.spec ?? spec(),
    record: o.record ?? record(),
    clusters: o.clusters,
    ownHealth: o.ownHealth ?? 'OK',
    nowMs: o.nowMs,
    memory: o.memory ?? { firstSeenMs: T0 },
    localFailoverActive: false,
  });

describe('daemon: auto-failover detection rules', () => {
  it('auto-failover: detection: stale primary heartbeat → unplanned, only past timeouts.heartbeat', () => {
    const clusters = [beat('east', T0), beat('west', T0 + 59_000)];
    expect(decide({ nowMs: T0 + 60_000, clusters })).toMatchObject({ trigger: false, reason: 'Armed' });
    expect(decide({ nowMs: T0 + 60_001, clusters })).toMatchObject({ trigger: true, type: 'unplanned', primary: 'east' });
  });

  it('auto-failover: detection: ERROR shorter than timeouts.unhealthyPrimary waits; longer → planned (duration tracked from heartbeats)', () => {
    const memory: DetectionMemory = { firstSeenMs: T0 };
    // east reports ERROR from T0 on, heartbeating every 30 s (no published since: tracked from the records seen).
    for (let t = 0; t <= 90_000; t += 30_000) {
      const d = decide({ nowMs: T0 + t + 1_000, clusters: [beat('east', T0 + t, { health: 'ERROR' }), beat('west', T0 + t)], memory });
      expect(d, `at +${t}`).toMatchObject({ trigger: false, reason: 'Armed' });
    }
    expect(decide({ nowMs: T0 + 119_999, clusters: [beat('east', T0 + 90_000, { health: 'ERROR' }), beat('west', T0 + 90_000)], memory })).toMatchObject({ trigger: false });
    const d = decide({ nowMs: T0 + 120_000 + 1_000, clusters: [beat('east', T0 + 120_000, { health: 'ERROR' }), beat('west', T0 + 120_000)], memory });
    expect(d).toMatchObject({ trigger: true, type: 'planned' });
    // The same ERROR run with a DEGRADED standby: a planned failover needs an OK target.
    expect(decide({ nowMs: T0 + 121_000, clusters: [beat('east', T0 + 120_000, { health: 'ERROR' })], memory, ownHealth: 'DEGRADED' })).toMatchObject({ trigger: false, reason: 'StandbyUnhealthy' });
    // A recovery in between resets the clock.
    const m2: DetectionMemory = { firstSeenMs: T0 };
    decide({ nowMs: T0 + 1_000, clusters: [beat('east', T0, { health: 'ERROR' })], memory: m2 });
    decide({ nowMs: T0 + 31_000, clusters: [beat('east', T0 + 30_000, { health: 'OK' })], memory: m2 });
    expect(decide({ nowMs: T0 + 151_000, clusters: [beat('east', T0 + 150_000, { health: 'ERROR' })], memory: m2 })).toMatchObject({ trigger: false, reason: 'Armed' });
  });

  it('auto-failover: detection: the primary publishes since when it is in ERROR; a restarted standby uses it', () => {
    const clusters = [beat('east', T0 + 200_000, { health: 'ERROR', components: { healthSinceMs: T0 } }), beat('west', T0 + 200_000)];
    expect(decide({ nowMs: T0 + 200_500, clusters, memory: { firstSeenMs: T0 + 199_000 } })).toMatchObject({ trigger: true, type: 'planned' });
  });

  it('auto-failover: detection: never for a suspended group, a locked group, the primary itself, an unhealthy or not-elected standby', () => {
    const stale = [beat('east', T0), beat('west', T0 + 100_000), beat('north', T0 + 100_000)];
    const now = T0 + 100_500;
    expect(decide({ nowMs: now, clusters: stale, spec: spec({ suspended: true }) })).toMatchObject({ trigger: false, reason: 'Suspended' });
    expect(decide({ nowMs: now, clusters: stale, record: record({ suspended: true }) })).toMatchObject({ trigger: false, reason: 'Suspended' });
    expect(
      decide({ nowMs: now, clusters: stale, record: record({ lock: { holder: 'west', leaseToken: 't', reason: 'r', acquiredAtMs: now - 1, expiresAtMs: now + 1_000, failoverId: 'f' } }) }),
    ).toMatchObject({ trigger: false, reason: 'FailoverInProgress' });
    expect(decide({ nowMs: now, clusters: stale, me: 'east' })).toMatchObject({ trigger: false, reason: 'IsPrimary' });
    expect(decide({ nowMs: now, clusters: stale, ownHealth: 'ERROR' })).toMatchObject({ trigger: false, reason: 'StandbyUnhealthy' });
    expect(decide({ nowMs: now, clusters: stale, me: 'west' })).toMatchObject({ trigger: false, reason: 'OtherStandbyElected' });
    expect(decide({ nowMs: now, clusters: stale, me: 'north' })).toMatchObject({ trigger: true });
    // north's heartbeat is stale: west is the elected standby.
    const northGone = [beat('east', T0), beat('west', T0 + 100_000), beat('north', T0)];
    expect(decide({ nowMs: now, clusters: northGone, me: 'west' })).toMatchObject({ trigger: true });
  });

  it('auto-failover: name: auto-failover-<group>-<YYYYMMDD-HHMMSS> in UTC', () => {
    expect(autoFailoverName('storefront', Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('auto-failover-storefront-20260102-030405');
    expect(autoFailoverName('x'.repeat(300), T0).length).toBeLessThanOrEqual(253);
  });

  it('auto-failover: two standbys that both believe they are elected: the lock compare-and-set lets only one create a Failover', async () => {
    const dw = await daemonWorld({ scenario: 'three-clusters', daemons: { autoFailover: false } });
    const { world } = dw;
    await world.runFor(40_000);
    world.kernel.setDown('operator/east', true);
    await world.runFor(120_000);
    const groupSpec = dw.sim.daemon('west').groups.state('shop/storefront')!.spec!;
    const rec = world.globalState.getGroup('shop/storefront')!;
    const checker = (me: string) =>
      new AutoFailoverChecker({
        clusterName: me,
        clusterPort: world.clusterPort(me, `operator/${me}`),
        globalState: world.globalStatePort(`operator/${me}`),
        clock: simClock(world.kernel.sched),
        log: silentLogger,
        failoverActive: () => false,
        failoverExists: () => false,
      });
    // Each sees only the primary's (stale) record and itself: each thinks it is the lowest healthy standby.
    const east = world.globalState.listClusters('shop/storefront').filter((c) => c.cluster === 'east');
    const group = { key: 'shop/storefront', spec: groupSpec, record: rec, clusters: east, report: { health: 'OK' as const }, firstSeenMs: world.kernel.now() };
    const [w, n] = await world.kernel.resolve(Promise.all([checker('west').check(group), checker('north').check(group)]));
    const created = [w, n].filter((v) => v.triggered);
    expect(created).toHaveLength(1);
    expect([w, n].filter((v) => !v.triggered)[0]).toMatchObject({ reason: 'FailoverInProgress' });
    const all = [...dw.failovers('west'), ...dw.failovers('north')].filter(isAuto);
    expect(all).toHaveLength(1);
  });
});
