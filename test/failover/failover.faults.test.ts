// Why: the wired failover on the simulated world when things go wrong: automatic rollback before the point of no
// return, an operator crash restored from its persisted snapshot, and a handful of seeds with the calm fault
// profile. The world's state is asserted: one writer, history once, the lock released.
import { describe, expect, it } from 'vitest';
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
