// Why: the wired failover chart run end to end on the simulated world ('sample' scenario, east → west), with
// each stage's effects observed on the clusters as the stage ends, and the final state of the world asserted:
// where the application runs, where the volumes are primary, ownership, history and the lock.
import { describe, expect, it } from 'vitest';
import type { Actor, AnyStateMachine } from 'xstate';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { deriveFailoverStatus, dualPrimaryWindowOpen, sourceFencedWindowOpen, statePaths } from '../../machines/failover/failover.status.ts';
import { isActive, isStandingBy, scenarioReplicas, siteFacts, type SiteFacts } from './world-facts.ts';
import { startWorldFailover } from './world-harness.ts';

/** Calls `fn` once, on the first snapshot whose state path includes `key`. */
function onFirstEntry(actor: Actor<AnyStateMachine>, key: string, fn: () => void): void {
  let seen = false;
  actor.subscribe((s) => {
    if (seen) return;
    if (statePaths(s.value).some((p) => p.split('.').includes(key))) {
      seen = true;
      fn();
    }
  });
}

async function globalRecord(run: ReturnType<typeof startWorldFailover>) {
  const gs = run.world.globalState;
  const record = gs.getGroup(run.request.groupId)!;
  const history = gs.listHistory(run.request.groupId).filter((h) => h.failoverId === run.request.failoverId);
  return { record, history };
}

function vrNames(run: ReturnType<typeof startWorldFailover>): string[] {
  return run.request.group.workloads.flatMap((w) => w.volumeReplications);
}

/** A failover on the sample world with both sides' actors, and `capture(label)` to record both sites' facts. */
function observedFailover(mode: 'CONSISTENCY' | 'UPTIME') {
  const run = startWorldFailover({ mode });
  const { world } = run;
  const seen: Record<string, { east: SiteFacts; west: SiteFacts }> = {};
  const capture = (label: string) => () => (seen[label] = { east: siteFacts(world, 'east'), west: siteFacts(world, 'west') });
  return { run, world, replicas: scenarioReplicas(world), source: run.actors.get('source')!, target: run.actors.get('target')!, seen, capture };
}

describe('failover: world (sample scenario, east → west)', () => {
  it('failover: consistency: planned, no faults: completes with west active and east standing by', async () => {
    const { run, world, replicas, source, target, seen, capture } = observedFailover('CONSISTENCY');
    onFirstEntry(source, 'volumeTransitionSource', capture('afterSourceShutdown'));
    onFirstEntry(source, 'completion', capture('afterVolumeTransitionSource'));
    onFirstEntry(target, 'targetClusterActivation', capture('afterVolumeTransitionTarget'));
    onFirstEntry(target, 'completion', capture('afterTargetActivation'));
    expect(isActive(siteFacts(world, 'east'), replicas)).toBe(true);
    expect(isStandingBy(siteFacts(world, 'west'))).toBe(true);

    await run.settle();

    // Stage 2 (SourceClusterShutdown): traffic off, Flux and CronJobs paused, every pod of east gone.
    const s2 = seen.afterSourceShutdown.east;
    expect(Object.values(s2.network).every((n) => n.controller === 'ignore' && n.dnsDisabled === 'true')).toBe(true);
    expect(Object.values(s2.fluxPaused).every(Boolean)).toBe(true);
    expect(Object.values(s2.cronJobsSuspended).every(Boolean)).toBe(true);
    expect(Object.values(s2.workloads).every((w) => w.spec === 0 && w.pods === 0)).toBe(true);
    expect(Object.values(s2.volumes).every((v) => v === 'Primary')).toBe(true);
    // Stage 3 (VolumeTransitionSource): east's volumes secondary; west's not promoted yet.
    expect(Object.values(seen.afterVolumeTransitionSource.east.volumes).every((v) => v === 'Secondary')).toBe(true);
    expect(Object.values(seen.afterVolumeTransitionSource.west.volumes).every((v) => v === 'Secondary')).toBe(true);
    // Stage 4 (VolumeTransitionTarget): west's volumes primary, east's secondary.
    expect(Object.values(seen.afterVolumeTransitionTarget.west.volumes).every((v) => v === 'Primary')).toBe(true);
    expect(Object.values(seen.afterVolumeTransitionTarget.east.volumes).every((v) => v === 'Secondary')).toBe(true);
    // Stage 5 (TargetClusterActivation): west runs at the original replicas and takes traffic.
    expect(isActive(seen.afterTargetActivation.west, replicas)).toBe(true);

    // The end: both sides completed; west active, east standing by; ownership, history and the lock.
    expect(source.getSnapshot().output).toEqual({ outcome: 'completed' });
    expect(target.getSnapshot().output).toEqual({ outcome: 'completed' });
    const east = siteFacts(world, 'east');
    const west = siteFacts(world, 'west');
    expect(isStandingBy(east)).toBe(true);
    expect(isActive(west, replicas)).toBe(true);
    for (const vr of vrNames(run)) expect(world.primaryHolders('shop', vr)).toEqual(['west']);
    const { record, history } = await globalRecord(run);
    expect(record.ownerCluster).toBe('west');
    expect(record.previousOwner).toBe('east');
    expect(record.version).toBe(2);
    expect(record.lock).toBeUndefined();
    expect(record.volumeState).toMatchObject({ failoverId: run.request.failoverId, state: 'COMPLETED' });
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ status: 'SUCCESS', sourceCluster: 'east', targetCluster: 'west', mode: 'CONSISTENCY' });
    expect(history[0].downtimeSeconds).toBeGreaterThan(0);
    expect(world.dataLoss()).toEqual([]);
    // Every write carried the failover's fencing token.
    expect(east.maxFencingToken).toBe(record.fencingToken);
    expect(west.maxFencingToken).toBe(record.fencingToken);

    const status = deriveFailoverStatus(target.getSnapshot() as any);
    expect(status).toMatchObject({ phase: 'Succeeded', status: 'SUCCESS', outcome: 'completed', state: 'TASK_ReleaseLock' });
    expect(status.metrics.totalDowntimeSeconds).toBeGreaterThan(0);
    expect(status.metrics.totalDowntimeSeconds).toBeLessThan(status.metrics.totalFailoverTimeSeconds);
    expect(deriveFailoverStatus(source.getSnapshot() as any).metrics.totalDowntimeSeconds).toBeGreaterThan(0);
    // Progression never went backwards on either side (persisted snapshots, JSON round-tripped).
    for (const list of run.snapshots.values()) {
      const orders = list.map((s) => s.context.progress.order);
      expect(orders).toEqual([...orders].sort((a, b) => a - b));
    }
    // One 'Entered state' line per task with its progression.
    const entered = run.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'Entered state');
    expect(entered.find((l) => l.state === 'holding.work.volumeTransitionSource.demotingVolumes')).toMatchObject({
      failoverId: run.request.failoverId,
      cluster: 'east',
      progression: { stageIndex: 3, stage: 'VolumeTransitionSource', task: 'DemoteVolumes' },
    });
  });

  it('failover: uptime: planned, no faults: target up before source down, dual-primary window declared', async () => {
    const { run, world, replicas, source, target, seen, capture } = observedFailover('UPTIME');
    onFirstEntry(target, 'trafficTransition', capture('afterPreparation'));
    onFirstEntry(target, 'completion', capture('afterTrafficTransition'));
    onFirstEntry(source, 'completion', capture('afterDeactivation'));
    let undeclared = 0;
    let dualSeen = 0;
    await run.settle(undefined, () => {
      for (const vr of vrNames(run)) {
        if (world.primaryHolders('shop', vr).length < 2) continue;
        dualSeen++;
        if (![...run.actors.values()].some((a) => dualPrimaryWindowOpen(a.getSnapshot() as any))) undeclared++;
      }
    });

    // TargetClusterPreparation: west runs (volumes primary) while east still serves.
    expect(Object.values(seen.afterPreparation.west.workloads).every((w) => w.ready > 0)).toBe(true);
    expect(Object.values(seen.afterPreparation.west.volumes).every((v) => v === 'Primary')).toBe(true);
    expect(Object.values(seen.afterPreparation.east.workloads).every((w) => w.ready > 0)).toBe(true);
    // TrafficTransition: west takes traffic before east lets go of it (no gap).
    expect(Object.values(seen.afterTrafficTransition.west.network).every((n) => n.controller === 'dns-controller')).toBe(true);
    // SourceClusterDeactivation: east standing by.
    expect(isStandingBy(seen.afterDeactivation.east)).toBe(true);

    expect(dualSeen).toBeGreaterThan(0);
    expect(undeclared).toBe(0);
    expect(source.getSnapshot().output).toEqual({ outcome: 'completed' });
    expect(target.getSnapshot().output).toEqual({ outcome: 'completed' });
    expect(isStandingBy(siteFacts(world, 'east'))).toBe(true);
    expect(isActive(siteFacts(world, 'west'), replicas)).toBe(true);
    for (const vr of vrNames(run)) expect(world.primaryHolders('shop', vr)).toEqual(['west']);
    const { record, history } = await globalRecord(run);
    expect(record).toMatchObject({ ownerCluster: 'west', version: 2 });
    expect(record.lock).toBeUndefined();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ status: 'SUCCESS', mode: 'UPTIME', downtimeSeconds: 0 });
    expect(deriveFailoverStatus(source.getSnapshot() as any).metrics.totalDowntimeSeconds).toBe(0);
  });

  it('failover: unplanned: east operator and API server down: west fences east, takes ownership alone, then east rejoins standing by', async () => {
    const run = startWorldFailover({
      type: 'unplanned',
      before: (w) => {
        w.kernel.setDown('operator/east', true);
        w.kernel.setDown('apiserver/east', true);
      },
    });
    const { world } = run;
    const replicas = scenarioReplicas(world);
    const target = run.actors.get('target')!;
    let fencedWhilePrimary = 0;
    await run.settle(undefined, () => {
      for (const vr of vrNames(run)) {
        if (world.primaryHolders('shop', vr).length === 2 && !sourceFencedWindowOpen(target.getSnapshot() as any) && target.getSnapshot().status === 'active') fencedWhilePrimary++;
      }
    });
    expect(fencedWhilePrimary).toBe(0);
    expect(target.getSnapshot().output).toEqual({ outcome: 'completed' });
    expect(world.isFenced('east')).toBe(true);
    const fence = world.get('west', { ...Kinds.NetworkFence, name: 'failover-engine-fence-east' });
    expect(fence?.spec).toMatchObject({ cidrs: [world.clusterCidr('east')], fenceState: 'Fenced' });
    expect(isActive(siteFacts(world, 'west'), replicas)).toBe(true);
    const { record, history } = await globalRecord(run);
    expect(record).toMatchObject({ ownerCluster: 'west', previousOwner: 'east', version: 2 });
    expect(record.lock).toBeUndefined();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ status: 'SUCCESS', type: 'unplanned' });
    // East was down the whole time: its objects are as it left them (still primary on its own storage, fenced).
    expect(Object.values(siteFacts(world, 'east').volumes).every((v) => v === 'Primary')).toBe(true);

    // East comes back: its operator reconciles, sees west owns the group, and stands down.
    world.kernel.setDown('operator/east', false);
    world.kernel.setDown('apiserver/east', false);
    const { createActor } = await import('xstate');
    const { wireRejoin } = await import('../../src/wire/rejoin.ts');
    const { simClock } = await import('../../drivers/clock/clock.sim.ts');
    const { silentLogger } = await import('../../src/log.ts');
    const rejoin = createActor(
      wireRejoin({ cluster: 'east', clusterPort: world.clusterPort('east', 'operator/east'), globalState: world.globalStatePort('operator/east'), clock: simClock(world.kernel.sched), log: silentLogger }),
      { input: { groupId: run.request.groupId, group: run.request.group, cluster: 'east' }, clock: world.kernel.sched.xstateClock },
    );
    let twoWriters = 0;
    rejoin.start();
    await world.kernel.run({
      stopWhen: () => rejoin.getSnapshot().status !== 'active',
      untilMs: world.kernel.now() + 10 * 60_000,
      afterEvent: () => {
        for (const vr of vrNames(run)) if (world.primaryHolders('shop', vr).length > 1 && world.writesActive('east', 'shop', vr)) twoWriters++;
      },
    });
    expect(twoWriters).toBe(0);
    expect(rejoin.getSnapshot().output).toMatchObject({ outcome: 'stoodDown', ownerCluster: 'west' });
    const east = siteFacts(world, 'east');
    expect(isStandingBy(east)).toBe(true);
    for (const vr of vrNames(run)) expect(world.primaryHolders('shop', vr)).toEqual(['west']);
    expect(isActive(siteFacts(world, 'west'), replicas)).toBe(true);
  });

  it('failover: rejoin: on the owner cluster changes nothing', async () => {
    const run = startWorldFailover({ roles: [] });
    const { world } = run;
    const before = siteFacts(world, 'east');
    const { createActor } = await import('xstate');
    const { wireRejoin } = await import('../../src/wire/rejoin.ts');
    const { simClock } = await import('../../drivers/clock/clock.sim.ts');
    const { silentLogger } = await import('../../src/log.ts');
    const rejoin = createActor(
      wireRejoin({ cluster: 'east', clusterPort: world.clusterPort('east', 'operator/east'), globalState: world.globalStatePort('operator/east'), clock: simClock(world.kernel.sched), log: silentLogger }),
      { input: { groupId: run.request.groupId, group: run.request.group, cluster: 'east' }, clock: world.kernel.sched.xstateClock },
    );
    rejoin.start();
    await world.kernel.run({ stopWhen: () => rejoin.getSnapshot().status !== 'active', untilMs: world.kernel.now() + 60_000 });
    expect(rejoin.getSnapshot().output).toEqual({ outcome: 'owner', ownerCluster: 'east' });
    expect(siteFacts(world, 'east')).toEqual(before);
  });
});
