// Why: the wired failover on the simulated world when things go wrong: automatic rollback before the point of no
// return, an operator crash restored from its persisted snapshot, and a handful of seeds with the calm fault
// profile. The world's state is asserted: one writer, history once, the lock released.
import { describe, expect, it } from 'vitest';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { deriveFailoverStatus, dualPrimaryWindowOpen, statePaths } from '../../machines/failover/failover.status.ts';
import { sampleGroup } from '../machines/failover.harness.ts';
import { isActive, isStandingBy, scenarioReplicas, siteFacts } from './world-facts.ts';
import { startWorldFailover } from './world-harness.ts';

function vrNames(run: ReturnType<typeof startWorldFailover>): string[] {
  return run.request.group.workloads.flatMap((w) => w.volumeReplications);
}

/** After every world event: no volume primary on two clusters unless some actor declares the window. */
function singleWriterCheck(run: ReturnType<typeof startWorldFailover>, violations: string[]) {
  return () => {
    for (const vr of vrNames(run)) {
      const holders = run.world.primaryHolders('shop', vr);
      if (holders.length < 2) continue;
      const declared = [...run.actors.values()].some((a) => a.getSnapshot().status === 'active' && dualPrimaryWindowOpen(a.getSnapshot() as any));
      const writers = holders.filter((c) => run.world.writesActive(c, 'shop', vr));
      if (!declared && writers.length > 1) violations.push(`${vr}: ${holders.join(',')} at T+${run.world.kernel.elapsed()}`);
    }
  };
}

describe('failover: world under faults', () => {
  it('failover: consistency: source API server down past the retry budget before the point of no return: rolled back to east', async () => {
    const run = startWorldFailover({
      mode: 'CONSISTENCY',
      before: (w) => {
        w.kernel.sched.after(150, 'test.down', () => w.kernel.setDown('apiserver/east', true));
        w.kernel.sched.after(90_000, 'test.up', () => w.kernel.setDown('apiserver/east', false));
      },
    });
    const violations: string[] = [];
    await run.settle(undefined, singleWriterCheck(run, violations));
    const source = run.actors.get('source')!.getSnapshot();
    const target = run.actors.get('target')!.getSnapshot();
    expect(source.output).toEqual({ outcome: 'rolledBack' });
    expect(target.output).toEqual({ outcome: 'rolledBack' });
    expect(source.context.rollback).toMatchObject({ cause: 'StepFailed', stage: 'SourceClusterShutdown' });
    expect(violations).toEqual([]);
    const replicas = scenarioReplicas(run.world);
    expect(isActive(siteFacts(run.world, 'east'), replicas)).toBe(true);
    expect(isStandingBy(siteFacts(run.world, 'west'))).toBe(true);
    const record = run.world.globalState.getGroup(run.request.groupId)!;
    expect(record).toMatchObject({ ownerCluster: 'east', version: 1 });
    expect(record.lock).toBeUndefined();
    expect(record.volumeState).toMatchObject({ state: 'FAILED' });
    const history = run.world.globalState.listHistory(run.request.groupId).filter((h) => h.failoverId === run.request.failoverId);
    expect(history).toHaveLength(1);
    expect(history[0].status).toBe('ROLLED_BACK');
    expect(deriveFailoverStatus(source as any).conditions.find((c) => c.type === 'RolledBack')).toMatchObject({ status: 'True', reason: 'StepFailed' });
    expect(run.world.dataLoss()).toEqual([]);
  });

  it('failover: consistency: transitory timeout during the source shutdown rolls back (transitoryStateMs=20s)', async () => {
    const group = { ...sampleGroup(), ...{} };
    void group;
    const run = startWorldFailover({
      mode: 'CONSISTENCY',
      before: (w) => {
        w.scenario.groups[0].spec.timeouts.transitoryStateMs = 20_000;
        // Pods on east stop slowly: the shutdown outlasts the transitory-state timeout.
        w.kernel.plan.physics.podStopMs = { baseMs: 60_000, jitterMs: 0 };
      },
    });
    await run.settle();
    const source = run.actors.get('source')!.getSnapshot();
    expect(source.output).toEqual({ outcome: 'rolledBack' });
    expect(source.context.rollback).toMatchObject({ cause: 'TransitoryTimeout' });
    expect(deriveFailoverStatus(source as any).conditions.find((c) => c.type === 'TransitoryTimeoutExceeded')).toMatchObject({ reason: 'RolledBackOnTimeout' });
    expect(run.world.globalState.getGroup(run.request.groupId)).toMatchObject({ ownerCluster: 'east', version: 1 });
  });

  it('failover: consistency: the source operator crashes in every stage it runs and restores from its snapshot: still completes', async () => {
    for (const [stage, downMs] of [
      ['sourceClusterShutdown', 3_000],
      ['volumeTransitionSource', 8_000],
    ] as const) {
      const run = startWorldFailover({ mode: 'CONSISTENCY' });
      let crashed = false;
      run.actors.get('source')!.subscribe((s) => {
        if (!crashed && statePaths(s.value).some((p) => p.split('.').includes(stage))) {
          crashed = true;
          run.world.kernel.sched.after(50, 'test.crash', () => run.crash('source', downMs));
        }
      });
      const violations: string[] = [];
      await run.settle(undefined, singleWriterCheck(run, violations));
      expect(crashed).toBe(true);
      expect(run.actors.get('source')!.getSnapshot().output).toEqual({ outcome: 'completed' });
      expect(run.actors.get('target')!.getSnapshot().output).toEqual({ outcome: 'completed' });
      expect(violations).toEqual([]);
      expect(isActive(siteFacts(run.world, 'west'), scenarioReplicas(run.world))).toBe(true);
      expect(isStandingBy(siteFacts(run.world, 'east'))).toBe(true);
      expect(run.world.globalState.listHistory(run.request.groupId).filter((h) => h.failoverId === run.request.failoverId)).toHaveLength(1);
    }
  });

  it('failover: consistency: the target operator crashes while promoting and restores: still completes', async () => {
    const run = startWorldFailover({ mode: 'CONSISTENCY' });
    let crashed = false;
    run.actors.get('target')!.subscribe((s) => {
      if (!crashed && statePaths(s.value).some((p) => p.endsWith('waitingForPromotion.running'))) {
        crashed = true;
        run.world.kernel.sched.after(200, 'test.crash', () => run.crash('target', 5_000));
      }
    });
    await run.settle();
    expect(crashed).toBe(true);
    expect(run.actors.get('target')!.getSnapshot().output).toEqual({ outcome: 'completed' });
    expect(run.world.globalState.getGroup(run.request.groupId)).toMatchObject({ ownerCluster: 'west', version: 2 });
  });

  const seeds = Number(process.env.FAILOVER_FAULT_SEEDS ?? 4);
  for (const mode of ['CONSISTENCY', 'UPTIME'] as const) {
    it(`failover: ${mode.toLowerCase()}: calm fault profile (seeds=${seeds}): ends completed or rolled back, one writer, history once, lock released`, async () => {
      for (let seed = 1; seed <= seeds; seed++) {
        const run = startWorldFailover({ mode, seed, profile: 'calm', horizonMs: 60_000 });
        const violations: string[] = [];
        await run.settle(60 * 60_000, singleWriterCheck(run, violations));
        const outcomes = [...run.actors.values()].map((a) => a.getSnapshot().output?.outcome);
        expect(violations, `seed ${seed}`).toEqual([]);
        expect(outcomes.every((o) => o === 'completed') || outcomes.every((o) => o === 'rolledBack'), `seed ${seed}: ${outcomes.join(',')}`).toBe(true);
        const record = run.world.globalState.getGroup(run.request.groupId)!;
        expect(record.lock, `seed ${seed}`).toBeUndefined();
        expect(run.world.globalState.listHistory(run.request.groupId).filter((h) => h.failoverId === run.request.failoverId), `seed ${seed}`).toHaveLength(1);
        const owner = outcomes[0] === 'completed' ? 'west' : 'east';
        expect(record.ownerCluster, `seed ${seed}`).toBe(owner);
        const settled = await run.world.settle(300_000);
        expect(settled, `seed ${seed}: ${run.world.pending().join('; ')}`).toBe(true);
        for (const vr of vrNames(run)) expect(run.world.primaryHolders('shop', vr), `seed ${seed} ${vr}`).toEqual([owner]);
      }
    });
  }
});

describe('failover: a stale actor never writes after the group moved on', () => {
  it('failover: unplanned after a crashed planned failover: the restored source stops (Superseded) without writing, then rejoins', async () => {
    const { createActor } = await import('xstate');
    const { wireFailover } = await import('../../src/wire/cluster-failover.ts');
    const { wireRejoin } = await import('../../src/wire/rejoin.ts');
    const { simClock } = await import('../../drivers/clock/clock.sim.ts');
    const { simRandom } = await import('../../drivers/random/random.sim.ts');
    const { silentLogger } = await import('../../src/log.ts');
    // A planned failover whose source operator (and API server) die during the source shutdown.
    const run = startWorldFailover({ mode: 'CONSISTENCY', roles: ['source'], failoverId: 'fo-planned' });
    const { world } = run;
    const k = world.kernel;
    let crashedAt = -1;
    run.actors.get('source')!.subscribe((s) => {
      if (crashedAt < 0 && statePaths(s.value).some((p) => p.endsWith('disablingFlux.running'))) {
        crashedAt = k.now();
        k.sched.after(1, 'test.crash', () => {
          k.setDown('apiserver/east', true);
          run.crash('source', 10 * 60_000);
        });
      }
    });
    // West fails over alone (unplanned) while east is gone.
    const unplanned = { ...run.request, failoverId: 'fo-unplanned', failoverName: 'east-is-gone', type: 'unplanned' as const, requestedAtMs: k.now() };
    let target: any;
    k.sched.after(5_000, 'test.unplanned', () => {
      target = createActor(
        wireFailover({
          cluster: 'west',
          clusterPort: world.clusterPort('west', 'operator/west'),
          peerClusterPort: world.clusterPort('east', 'operator/west'),
          globalState: world.globalStatePort('operator/west'),
          clock: simClock(k.sched),
          random: simRandom(k.prng.stream('random/west')),
          log: silentLogger,
          fencing: { cidrsOf: (c) => [world.clusterCidr(c)], driver: 'rbd.csi.ceph.com' },
        }),
        { input: { request: { ...unplanned, requestedAtMs: k.now() }, role: 'target', cluster: 'west' }, clock: k.sched.xstateClock },
      ).start();
    });
    await k.run({ untilMs: k.now() + 5 * 60_000, stopWhen: () => target?.getSnapshot().status === 'done' });
    expect(crashedAt).toBeGreaterThan(0);
    expect(target.getSnapshot().output).toEqual({ outcome: 'completed' });
    expect(world.globalState.getGroup(run.request.groupId)).toMatchObject({ ownerCluster: 'west', version: 2 });

    // East's API server comes back; its operator restarts later and restores the stale planned failover.
    k.setDown('apiserver/east', false);
    const eastVersions = () => {
      const g = run.request.group;
      return JSON.stringify(
        g.workloads.flatMap((w) => [world.workload('east', w.kind, 'shop', w.name)?.metadata.resourceVersion, ...w.volumeReplications.map((vr) => world.get('east', { ...Kinds.VolumeReplication, namespace: 'shop', name: vr })?.metadata.resourceVersion)]),
      );
    };
    const before = eastVersions();
    await run.settle(30 * 60_000);
    const stale = run.actors.get('source')!.getSnapshot();
    expect(stale.output).toEqual({ outcome: 'failed' });
    expect(deriveFailoverStatus(stale as any).conditions.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'Superseded' });
    // The restored actor changed nothing on east's workloads or volumes.
    expect(eastVersions()).toBe(before);

    const rejoin = createActor(
      wireRejoin({ cluster: 'east', clusterPort: world.clusterPort('east', 'operator/east'), globalState: world.globalStatePort('operator/east'), clock: simClock(k.sched), log: silentLogger }),
      { input: { groupId: run.request.groupId, group: run.request.group, cluster: 'east' }, clock: k.sched.xstateClock },
    ).start();
    await k.run({ untilMs: k.now() + 10 * 60_000, stopWhen: () => rejoin.getSnapshot().status !== 'active' });
    expect(rejoin.getSnapshot().output).toMatchObject({ outcome: 'stoodDown' });
    expect(isStandingBy(siteFacts(world, 'east'))).toBe(true);
    for (const vr of vrNames(run)) expect(world.primaryHolders('shop', vr)).toEqual(['west']);
  });
});
