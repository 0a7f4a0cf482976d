// Why: a Failover object must run to completion with both clusters' daemons taking their part (the source's
// daemon copies it to the target), and its status must be derived from the failover chart's snapshot alone, on
// every transition. Bad input must become a condition naming the field.
import { describe, expect, it } from 'vitest';
import { deriveFailoverStatus, type FailoverSnapshotLike } from '../../machines/failover/failover.status.ts';
import { Annotations } from '../../src/daemon/api.ts';
import { failoverIdOf, failoverObject } from '../../src/daemon/failover-spec.ts';
import { conditionOf, daemonWorld } from './daemon-world.ts';

const done = (o: { status?: { status?: unknown } } | undefined) => o?.status?.status === 'SUCCESS' || o?.status?.status === 'FAILED';

describe('daemon: Failover', () => {
  for (const mode of ['CONSISTENCY', 'UPTIME'] as const) {
    it(`daemon: failover: created in the source only, copied to the target, runs to completion on both (mode=${mode})`, async () => {
      const dw = await daemonWorld();
      await dw.world.runFor(40_000);
      dw.world.cluster('east').store.create(failoverObject({ name: 'move-1', namespace: 'shop', targetCluster: 'west', mode, groups: [{ name: 'storefront' }], reason: 'drill' }));

      // Watch the target's status while it runs: it moves through the stages as the chart does.
      const seen: string[] = [];
      const finished = await dw.runUntil(() => {
        const s = dw.failover('west', 'move-1')?.status;
        const mark = s ? `${s.phase}/${(s.progression as any)?.stage}` : 'none';
        if (seen[seen.length - 1] !== mark) seen.push(mark);
        return done(dw.failover('east', 'move-1')) && done(dw.failover('west', 'move-1'));
      }, 600_000, 500);
      expect(finished).toBe(true);
      const east = dw.failover('east', 'move-1')!;
      const west = dw.failover('west', 'move-1')!;
      expect(west.metadata.annotations?.[Annotations.mirroredFrom]).toBe('east');
      expect(west.metadata.annotations?.[Annotations.sourceCluster]).toBe('east');
      expect(east.status).toMatchObject({ status: 'SUCCESS', phase: 'Succeeded', role: 'source', sourceCluster: 'east' });
      expect(west.status).toMatchObject({ status: 'SUCCESS', phase: 'Succeeded', role: 'target', sourceCluster: 'east', message: 'Failed over shop/storefront from east to west' });
      expect(conditionOf(west, 'Completed')).toMatchObject({ status: 'True', reason: 'FailoverSucceeded' });
      expect(conditionOf(west, 'Accepted')).toMatchObject({ status: 'True', reason: 'Running' });
      const metrics = west.status?.metrics as { totalDowntimeSeconds: number; totalFailoverTimeSeconds: number };
      expect(metrics.totalFailoverTimeSeconds).toBeGreaterThan(0);
      // CONSISTENCY is down from source shutdown to target traffic; UPTIME enables the target before disabling the source.
      if (mode === 'CONSISTENCY') expect(metrics.totalDowntimeSeconds).toBeGreaterThan(0);
      else expect(metrics.totalDowntimeSeconds).toBeGreaterThanOrEqual(0);
      expect(metrics.totalDowntimeSeconds).toBeLessThanOrEqual(metrics.totalFailoverTimeSeconds);
      expect((west.status?.failoverGroups as any[])[0]).toMatchObject({ name: 'storefront', namespace: 'shop', status: 'SUCCESS' });
      expect((west.status?.failoverGroups as any[])[0].completionTime).toMatch(/^2026-/);
      // The target's status went through several stages before it succeeded (written on transitions).
      expect(seen[0]).toBe('none');
      expect(seen[seen.length - 1]).toBe('Succeeded/Completion');
      expect(new Set(seen.filter((s) => s.startsWith('InProgress/'))).size).toBeGreaterThanOrEqual(2);

      // Status is the chart's derived status, nothing else: compare with a derivation of the host's snapshot.
      const id = failoverIdOf({ namespace: 'shop', name: 'move-1' }, { namespace: 'shop', name: 'storefront' });
      for (const [cluster, obj] of [['east', east], ['west', west]] as const) {
        const snap = dw.sim.daemon(cluster).host.snapshot(id)!;
        const derived = deriveFailoverStatus(snap as unknown as FailoverSnapshotLike);
        expect(obj.status?.phase).toBe(derived.phase);
        expect(obj.status?.state).toBe(derived.state);
        expect(obj.status?.progression).toEqual(derived.progression);
        expect(obj.status?.metrics).toEqual(derived.metrics);
        expect((obj.status?.conditions as any[]).slice(1)).toEqual(derived.conditions);
      }

      // The world moved: west owns the group and runs it; the group statuses follow at the next heartbeats.
      expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('west');
      expect(dw.world.volumeState('west', 'shop', 'db-data-0')).toBe('Primary');
      expect(dw.world.volumeState('east', 'shop', 'db-data-0')).toBe('Secondary');
      await dw.world.runFor(35_000);
      expect((dw.group('west')?.status?.globalState as any).activeCluster).toBe('west');
      expect(dw.group('west')?.status?.health).toBe('OK');
      expect(dw.group('east')?.status?.health).toBe('OK');
      expect(dw.failovers('west').length).toBe(1);
    });
  }

  it('daemon: failover: created in both clusters by the user: each daemon runs its side, no copy needed', async () => {
    const dw = await daemonWorld();
    await dw.world.runFor(40_000);
    for (const c of ['east', 'west']) dw.world.cluster(c).store.create(failoverObject({ name: 'both', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }));
    expect(await dw.runUntil(() => done(dw.failover('east', 'both')) && done(dw.failover('west', 'both')), 600_000, 1_000)).toBe(true);
    expect(dw.failover('west', 'both')?.status?.status).toBe('SUCCESS');
    expect(dw.failover('east', 'both')?.status?.status).toBe('SUCCESS');
    expect(dw.failover('west', 'both')?.metadata.annotations?.[Annotations.mirroredFrom]).toBeUndefined();
    expect(dw.sim.daemon('east').stats().failoversMirrored + dw.sim.daemon('west').stats().failoversMirrored).toBe(0);
  });

  const invalid: Array<[string, Parameters<typeof failoverObject>[0], string]> = [
    ['unknown target cluster', { name: 'bad-target', namespace: 'shop', targetCluster: 'north', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }, 'spec.targetCluster'],
    ['a group that does not exist', { name: 'bad-group', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'nope' }] }, 'spec.failoverGroups[0]'],
    ['unplanned in UPTIME mode', { name: 'bad-mode', namespace: 'shop', targetCluster: 'west', mode: 'UPTIME', type: 'unplanned', groups: [{ name: 'storefront' }] }, 'spec.failoverMode'],
    ['target that already owns the group', { name: 'bad-owner', namespace: 'shop', targetCluster: 'east', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }, 'spec.targetCluster'],
  ];
  for (const [what, input, field] of invalid) {
    it(`daemon: failover: bad spec (${what}) → Accepted=False naming ${field}; nothing runs`, async () => {
      const dw = await daemonWorld();
      await dw.world.runFor(40_000);
      dw.world.cluster('west').store.create(failoverObject(input));
      expect(await dw.runUntil(() => dw.failover('west', input.name)?.status?.phase === 'Invalid', 10_000, 250)).toBe(true);
      const obj = dw.failover('west', input.name)!;
      expect(obj.status?.status).toBe('FAILED');
      expect(conditionOf(obj, 'Accepted')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
      expect(conditionOf(obj, 'Accepted')?.message).toContain(field);
      expect(dw.sim.daemon('west').host.failoverIds()).toEqual([]);
      expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('east');
    });
  }
});
