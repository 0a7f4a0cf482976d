// Why: the volume-replication and workload charts with stub actors: safe and fast transitions, the tolerated
// Degraded cases, split brain cleared by a resync, a promotion that waits until the volume is promotable, and
// the deadline that bounds every wait.
import { createActor, fromPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { replicationMachine, type RequestStateInput, type WaitVolumeInput } from '../../machines/replication/replication.machine.ts';
import { degradedTolerated, reached, type ReplicationInput, type VolumeView } from '../../machines/replication/replication.types.ts';
import { workloadMachine, type ScaleInput, type WaitWorkloadInput, type WorkloadView } from '../../machines/workload/workload.machine.ts';
import { SimKernel } from '../../simulator/kernel.ts';

const v = (over: Partial<VolumeView>): VolumeView => ({ exists: true, atMs: 0, generation: 1, observedGeneration: 1, ...over });
const healthy = { status: 'False' as const, reason: 'Healthy', message: 'ok' };

describe('replication rules', () => {
  it('replication: reached: safe mode waits for a healthy volume, fast mode for the state flip', () => {
    const demoted = v({ spec: 'secondary', state: 'Secondary', degraded: { status: 'True', reason: 'VolumeDegraded', message: 'Volume is degraded' } });
    expect(reached(demoted, 'secondary', 'fast')).toBe(true);
    expect(reached(demoted, 'secondary', 'safe')).toBe(false);
    expect(reached({ ...demoted, degraded: healthy }, 'secondary', 'safe')).toBe(true);
    expect(reached(v({ spec: 'primary', state: 'Primary', completed: { status: 'False', reason: 'FailedToPromote', message: 'x' } }), 'primary', 'safe')).toBe(false);
    expect(reached(v({ spec: 'primary', state: 'Primary', degraded: healthy }), 'primary', 'safe')).toBe(true);
    expect(reached(v({ spec: 'secondary', state: 'Secondary', degraded: { status: 'True', reason: 'SplitBrain', message: 'x' } }), 'secondary', 'fast')).toBe(false);
  });

  it('replication: Degraded is tolerated only for "last sync time not found" and resync errors (PARITY §2.1)', () => {
    expect(degradedTolerated(v({ degraded: { status: 'True', reason: 'Error', message: 'last sync time not found' } }))).toBe(true);
    expect(degradedTolerated(v({ degraded: { status: 'True', reason: 'FailedToResync', message: 'failed to resync' } }))).toBe(true);
    expect(degradedTolerated(v({ degraded: { status: 'True', reason: 'Error', message: 'error detected while promotion' } }))).toBe(false);
    expect(degradedTolerated(v({ degraded: healthy }))).toBe(true);
  });
});

type Script = { observe: VolumeView[]; wait?: Array<VolumeView | Error> };
function runReplication(input: Partial<ReplicationInput>, script: Script) {
  const k = new SimKernel({ seed: 1 });
  const calls: string[] = [];
  let o = 0;
  let w = 0;
  const machine = replicationMachine.provide({
    actors: {
      observeVolume: fromPromise(async () => {
        calls.push('observe');
        await k.sched.sleep(5);
        return { ...script.observe[Math.min(o++, script.observe.length - 1)], atMs: k.now() };
      }),
      requestState: fromPromise<VolumeView, RequestStateInput>(async ({ input }) => {
        calls.push(`request:${input.state}${input.force ? ':force' : ''}`);
        await k.sched.sleep(5);
        return v({ atMs: k.now() });
      }),
      waitForVolume: fromPromise<VolumeView, WaitVolumeInput>(async ({ input }) => {
        calls.push(`wait:${input.until}`);
        await k.sched.sleep(1_000);
        const next = script.wait?.[Math.min(w++, (script.wait?.length ?? 1) - 1)];
        if (next instanceof Error) throw Object.assign(next, { atMs: k.now() });
        return { ...(next ?? v({})), atMs: k.now() };
      }),
      waitUntil: fromPromise(async ({ input }: { input: { atMs: number } }) => {
        await k.sched.sleep(Math.max(0, input.atMs - k.now()));
        return { atMs: k.now() };
      }),
    },
  });
  const actor = createActor(machine, {
    input: { namespace: 'shop', name: 'db-data-0', desired: 'primary', mode: 'safe', force: false, deadlineMs: k.now() + 60_000, attemptMax: 3, backoffBaseMs: 100, backoffMaxMs: 1_000, ...input },
    clock: k.sched.xstateClock,
  }).start();
  return { k, actor, calls, done: () => k.run({ stopWhen: () => actor.getSnapshot().status !== 'active' }) };
}

describe('replication chart (stub actors)', () => {
  it('replication: promote (safe, planned): observe, request primary, wait, done', async () => {
    const r = runReplication({}, { observe: [v({ spec: 'secondary', state: 'Secondary', degraded: healthy })], wait: [v({ spec: 'primary', state: 'Primary', degraded: healthy })] });
    await r.done();
    expect(r.calls).toEqual(['observe', 'request:primary', 'wait:reached']);
    expect(r.actor.getSnapshot().output).toMatchObject({ outcome: 'done' });
  });

  it('replication: forced promotion for an unplanned or UPTIME failover carries the force flag', async () => {
    const r = runReplication({ force: true, mode: 'fast' }, { observe: [v({ spec: 'secondary', state: 'Secondary' })], wait: [v({ spec: 'primary', state: 'Primary' })] });
    await r.done();
    expect(r.calls).toContain('request:primary:force');
  });

  it('replication: an already-primary volume is done without a write (idempotent re-run)', async () => {
    const r = runReplication({}, { observe: [v({ spec: 'primary', state: 'Primary', degraded: healthy })] });
    await r.done();
    expect(r.calls).toEqual(['observe']);
    expect(r.actor.getSnapshot().output).toMatchObject({ outcome: 'done' });
  });

  it('replication: demote into split brain: resync, then secondary', async () => {
    const splitBrain = v({ spec: 'secondary', state: 'Secondary', degraded: { status: 'True', reason: 'SplitBrain', message: 'volume is in split brain' } });
    const r = runReplication({ desired: 'secondary' }, { observe: [v({ spec: 'primary', state: 'Primary' })], wait: [splitBrain, v({ spec: 'resync', state: 'Secondary', degraded: healthy }), v({ spec: 'secondary', state: 'Secondary', degraded: healthy })] });
    await r.done();
    expect(r.calls).toEqual(['observe', 'request:secondary', 'wait:reached', 'request:resync', 'wait:resynced', 'request:secondary', 'wait:reached']);
    expect(r.actor.getSnapshot().output).toMatchObject({ outcome: 'done' });
  });

  it('replication: promotion waits while the volume is resyncing (only secondary or primary may be promoted)', async () => {
    const r = runReplication({}, { observe: [v({ spec: 'secondary', state: 'Resyncing' }), v({ spec: 'secondary', state: 'Resyncing' }), v({ spec: 'secondary', state: 'Secondary', degraded: healthy })], wait: [v({ spec: 'primary', state: 'Primary', degraded: healthy })] });
    await r.done();
    expect(r.calls).toEqual(['observe', 'observe', 'observe', 'request:primary', 'wait:reached']);
  });

  it('replication: the wait is bounded: a timeout fails the actor with the error', async () => {
    const timeout = Object.assign(new Error('Timed out waiting for VolumeReplication shop/db-data-0 primary (safe)'), { kind: 'Transient', reason: 'Timeout' });
    const r = runReplication({}, { observe: [v({ spec: 'secondary', state: 'Secondary' })], wait: [timeout] });
    await r.done();
    expect(r.actor.getSnapshot().output).toMatchObject({ outcome: 'failed', error: { kind: 'Transient', reason: 'Timeout' } });
  });

  it('replication: a missing VolumeReplication fails with NotFound', async () => {
    const r = runReplication({}, { observe: [{ exists: false, atMs: 0 }] });
    await r.done();
    expect(r.actor.getSnapshot().output).toMatchObject({ outcome: 'failed', error: { kind: 'NotFound' } });
  });
});

describe('workload chart (stub actors)', () => {
  function runWorkload(wait: 'none' | 'converged', scaleFailures: number) {
    const k = new SimKernel({ seed: 1 });
    const calls: string[] = [];
    let n = 0;
    const machine = workloadMachine.provide({
      actors: {
        scaleWorkload: fromPromise<WorkloadView, ScaleInput>(async ({ input }) => {
          calls.push(`scale:${input.replicas}`);
          await k.sched.sleep(5);
          if (n++ < scaleFailures) throw { kind: 'Conflict', reason: 'Conflict', message: '409', atMs: k.now() };
          return { exists: true, atMs: k.now(), specReplicas: input.replicas };
        }),
        waitForWorkload: fromPromise<WorkloadView, WaitWorkloadInput>(async () => {
          calls.push('wait');
          await k.sched.sleep(2_000);
          return { exists: true, atMs: k.now(), specReplicas: 3, readyReplicas: 3 };
        }),
        waitUntil: fromPromise(async ({ input }: { input: { atMs: number } }) => {
          await k.sched.sleep(Math.max(0, input.atMs - k.now()));
          return { atMs: k.now() };
        }),
      },
    });
    const actor = createActor(machine, { input: { kind: 'Deployment', namespace: 'shop', name: 'web', replicas: 3, wait, deadlineMs: k.now() + 60_000, attemptMax: 3, backoffBaseMs: 100, backoffMaxMs: 1_000 }, clock: k.sched.xstateClock }).start();
    return { actor, calls, done: () => k.run({ stopWhen: () => actor.getSnapshot().status !== 'active' }) };
  }

  it('workload: scale with the remembered replicas and wait for convergence', async () => {
    const r = runWorkload('converged', 0);
    await r.done();
    expect(r.calls).toEqual(['scale:3', 'wait']);
    expect(r.actor.getSnapshot().output).toMatchObject({ outcome: 'done', view: { readyReplicas: 3 } });
  });

  it('workload: conflicts are retried within the attempt bound (attemptMax=3)', async () => {
    const ok = runWorkload('none', 2);
    await ok.done();
    expect(ok.calls).toEqual(['scale:3', 'scale:3', 'scale:3']);
    expect(ok.actor.getSnapshot().output).toMatchObject({ outcome: 'done' });
    const spent = runWorkload('none', 3);
    await spent.done();
    expect(spent.actor.getSnapshot().output).toMatchObject({ outcome: 'failed', error: { kind: 'Conflict' } });
  });
});
