// Why: the failover chart's behaviour with stub actors (provide()), on virtual time: the order of tasks per side
// and mode, the failure policy (rollback before the point of no return, forward retry after it, transitory
// timeout, lease loss, manual intervention only when both clusters are unreachable), restore from a persisted
// snapshot, and invalid input. Snapshots are always round-tripped through JSON.
import { describe, expect, it } from 'vitest';
import { deriveFailoverStatus, dualPrimaryWindowOpen } from '../../machines/failover/failover.status.ts';
import { FAILOVER_MACHINE_VERSION } from '../../machines/failover/failover.machine.ts';
import { fatal, leaseLost, leafPath, observed, sampleGroup, sampleRequest, startHarness, transient, type Harness } from './failover.harness.ts';

const W = 'holding.work';
const tasksOf = (h: Harness) => h.calls.filter((c) => !c.startsWith('#'));
const unique = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) === i);
const roundTrip = (h: Harness) => JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()));

describe('failover chart (stub actors)', () => {
  it('failover: consistency: source runs stages 1–3, then completes when the target reports COMPLETED', async () => {
    const h = startHarness({ input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }) });
    await h.settle();
    expect(unique(tasksOf(h))).toEqual([
      'initialization.validating',
      'initialization.acquiringLock',
      `${W}.sourceClusterShutdown.disablingNetwork`,
      `${W}.sourceClusterShutdown.disablingFlux`,
      `${W}.sourceClusterShutdown.suspendingCronJobs`,
      `${W}.sourceClusterShutdown.scalingDown`,
      `${W}.sourceClusterShutdown.waitingForScaleDown`,
      `${W}.volumeTransitionSource.demotingVolumes`,
      `${W}.volumeTransitionSource.waitingForDemotion`,
      `${W}.volumeTransitionSource.markingReadyForPromotion`,
      `${W}.completion.waitingForCompletion`,
    ]);
    const snap = roundTrip(h);
    expect(snap.value).toBe('completed');
    expect(snap.context.outcome).toBe('completed');
    expect(snap.context.pointOfNoReturnAtMs).toBeDefined();
    // The source ended in its wait, but a succeeded failover names the task that ended it as a whole (the target's).
    expect(deriveFailoverStatus(snap)).toMatchObject({ phase: 'Succeeded', status: 'SUCCESS', state: 'TASK_ReleaseLock', progression: { stageIndex: 6, stage: 'Completion', task: 'ReleaseLock' } });
  });

  it('failover: consistency: target joins the lease, waits for READY_FOR_PROMOTION, runs stages 4–6', async () => {
    const h = startHarness({ input: (k) => ({ request: sampleRequest(k), role: 'target', cluster: 'west' }) });
    await h.settle();
    expect(unique(tasksOf(h))).toEqual([
      'initialization.validating',
      'initialization.joiningLease',
      `${W}.volumeTransitionTarget.waitingForReadyForPromotion`,
      `${W}.volumeTransitionTarget.promotingVolumes`,
      `${W}.volumeTransitionTarget.waitingForPromotion`,
      `${W}.volumeTransitionTarget.verifyingData`,
      `${W}.targetClusterActivation.scalingUp`,
      `${W}.targetClusterActivation.resumingCronJobs`,
      `${W}.targetClusterActivation.triggeringFlux`,
      `${W}.targetClusterActivation.waitingForTargetReady`,
      `${W}.targetClusterActivation.enablingNetwork`,
      `${W}.completion.updatingGlobalState`,
      `${W}.completion.recordingHistory`,
      `${W}.completion.releasingLock`,
    ]);
    expect(roundTrip(h).context.outcome).toBe('completed');
  });

  it('failover: uptime: target prepares and takes traffic; source waits, deactivates and completes', async () => {
    const t = startHarness({ input: (k) => ({ request: sampleRequest(k, { mode: 'UPTIME' }), role: 'target', cluster: 'west' }) });
    await t.settle();
    expect(unique(tasksOf(t))).toEqual([
      'initialization.validating',
      'initialization.joiningLease',
      `${W}.targetClusterPreparation.promotingVolumes`,
      `${W}.targetClusterPreparation.waitingForPromotion`,
      `${W}.targetClusterPreparation.verifyingData`,
      `${W}.targetClusterPreparation.scalingUp`,
      `${W}.targetClusterPreparation.triggeringFlux`,
      `${W}.targetClusterPreparation.waitingForTargetReady`,
      `${W}.targetClusterPreparation.markingReadyForTraffic`,
      `${W}.trafficTransition.waitingForReadyForTraffic`,
      `${W}.trafficTransition.enablingNetwork`,
      `${W}.trafficTransition.markingTrafficSwitched`,
      `${W}.completion.waitingForCompletion`,
      `${W}.completion.resumingCronJobs`,
    ]);
    const s = startHarness({ input: (k) => ({ request: sampleRequest(k, { mode: 'UPTIME' }), role: 'source', cluster: 'east' }) });
    await s.settle();
    expect(unique(tasksOf(s))).toEqual([
      'initialization.validating',
      'initialization.acquiringLock',
      `${W}.sourceClusterDeactivation.waitingForTrafficSwitch`,
      `${W}.sourceClusterDeactivation.disablingNetwork`,
      `${W}.sourceClusterDeactivation.disablingFlux`,
      `${W}.sourceClusterDeactivation.suspendingCronJobs`,
      `${W}.sourceClusterDeactivation.scalingDown`,
      `${W}.sourceClusterDeactivation.waitingForScaleDown`,
      `${W}.sourceClusterDeactivation.demotingVolumes`,
      `${W}.sourceClusterDeactivation.waitingForDemotion`,
      `${W}.completion.updatingGlobalState`,
      `${W}.completion.recordingHistory`,
      `${W}.completion.releasingLock`,
    ]);
    expect(roundTrip(s).context.outcome).toBe('completed');
  });

  it('failover: uptime: the dual-primary window is declared on the target from promotion until ownership moved', async () => {
    const t = startHarness({ input: (k) => ({ request: sampleRequest(k, { mode: 'UPTIME' }), role: 'target', cluster: 'west' }) });
    const tagged = new Map<string, boolean>();
    t.actor.subscribe((s) => tagged.set(leafPath(s.value), s.hasTag('dualPrimaryWindow')));
    await t.settle();
    expect(tagged.get(`consistencyTarget`)).toBeUndefined();
    const tag = (suffix: string) => [...tagged.entries()].find(([k]) => k.includes(suffix))?.[1];
    expect(tag('joiningLease')).toBe(false);
    expect(tag('promotingVolumes')).toBe(true);
    expect(tag('markingTrafficSwitched')).toBe(true);
    expect(tag('waitingForCompletion')).toBe(true);
    expect(tag('resumingCronJobs')).toBe(false);
  });

  it('failover: unplanned: target locks, fences the source, transfers ownership without it, takes the lock again, force-promotes', async () => {
    const h = startHarness({ input: (k) => ({ request: sampleRequest(k, { type: 'unplanned' }), role: 'target', cluster: 'west' }) });
    await h.settle();
    const tasks = unique(tasksOf(h));
    expect(tasks.slice(0, 6)).toEqual([
      'initialization.validating',
      'initialization.acquiringLock',
      `${W}.sourceClusterShutdown.fencingSource`,
      `${W}.volumeTransitionSource.transferringOwnership`,
      `${W}.volumeTransitionSource.retakingLock`,
      `${W}.volumeTransitionTarget.promotingVolumes`,
    ]);
    expect(tasks.at(-1)).toBe(`${W}.completion.releasingLock`);
    expect(roundTrip(h).context.outcome).toBe('completed');
  });

  it('failover: consistency: a step failing for good before the point of no return rolls back to the source', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }),
      script: { [`${W}.sourceClusterShutdown.scalingDown`]: [fatal('Deployment web is invalid')] },
    });
    await h.settle();
    const tasks = unique(tasksOf(h));
    expect(tasks).not.toContain(`${W}.volumeTransitionSource.demotingVolumes`);
    expect(tasks.slice(tasks.indexOf(`${W}.sourceClusterShutdown.scalingDown`) + 1)).toEqual([
      `${W}.rollingBack.restoringVolumes`,
      `${W}.rollingBack.waitingForVolumesRestored`,
      `${W}.rollingBack.restoringWorkloads`,
      `${W}.rollingBack.resumingCronJobs`,
      `${W}.rollingBack.resumingFlux`,
      `${W}.rollingBack.restoringNetwork`,
      `${W}.rollingBack.markingFailed`,
      `${W}.rollingBack.recordingHistory`,
      `${W}.rollingBack.releasingLock`,
    ]);
    const snap = roundTrip(h);
    expect(snap.context.rollback).toMatchObject({ cause: 'StepFailed', stage: 'SourceClusterShutdown', task: 'ScaleDownWorkloads' });
    const status = deriveFailoverStatus(snap);
    expect(status).toMatchObject({ phase: 'RolledBack', status: 'FAILED', outcome: 'rolledBack', progression: { stage: 'Rollback', task: 'ReleaseLock' } });
    expect(status.conditions.find((c) => c.type === 'RolledBack')).toMatchObject({ status: 'True', reason: 'StepFailed' });
    expect(status.message).toMatch(/ScaleDownWorkloads failed: Deployment web is invalid/);
  });

  it('failover: consistency: retryable failures are retried with backoff before the point of no return (attemptMax=6)', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }),
      script: { [`${W}.sourceClusterShutdown.disablingFlux`]: [transient(), transient(), transient(), { ok: {} }] },
    });
    const t0 = h.kernel.now();
    await h.settle();
    expect(h.calls.filter((c) => c.endsWith('disablingFlux'))).toHaveLength(4);
    expect(roundTrip(h).context.outcome).toBe('completed');
    // Backoff 500 + 1000 + 2000 ms happened on virtual time, from deadlines kept in context.
    expect(h.kernel.now() - t0).toBeGreaterThanOrEqual(3_500);
  });

  it('failover: consistency: after the point of no return a failing step is retried forward in rounds, never rolled back', async () => {
    const failures = Array.from({ length: 9 }, () => transient('global state unavailable'));
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }),
      script: { [`${W}.volumeTransitionSource.markingReadyForPromotion`]: [...failures, { ok: {} }] },
    });
    await h.settle();
    expect(h.calls.filter((c) => c.endsWith('markingReadyForPromotion'))).toHaveLength(10);
    expect(h.calls.filter((c) => c === '#probe').length).toBeGreaterThanOrEqual(1);
    const snap = roundTrip(h);
    expect(snap.context.rollback).toBeUndefined();
    expect(snap.context.outcome).toBe('completed');
  });

  it('failover: consistency: a non-retryable error past the point of no return still moves forward (no rollback)', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'target', cluster: 'west' }),
      script: { [`${W}.targetClusterActivation.enablingNetwork`]: [fatal('VirtualService storefront: admission webhook denied'), { ok: {} }] },
    });
    await h.settle();
    const snap = roundTrip(h);
    expect(snap.context.rollback).toBeUndefined();
    expect(snap.context.outcome).toBe('completed');
  });

  it('failover: transitory timeout: before the point of no return the engine rolls back and says so', async () => {
    const group = sampleGroup({ timeouts: { transitoryStateMs: 60_000, unhealthyPrimaryMs: 120_000, heartbeatMs: 60_000 } });
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k, { group }), role: 'source', cluster: 'east' }),
      script: { [`${W}.sourceClusterShutdown.waitingForScaleDown`]: [{ ok: {}, takesMs: 10 * 60_000 }] },
    });
    await h.settle();
    const snap = roundTrip(h);
    expect(snap.context.rollback).toMatchObject({ cause: 'TransitoryTimeout', task: 'WaitForWorkloadsScaledDown' });
    const status = deriveFailoverStatus(snap);
    expect(status.phase).toBe('RolledBack');
    expect(status.conditions.find((c) => c.type === 'TransitoryTimeoutExceeded')).toMatchObject({ status: 'True', reason: 'RolledBackOnTimeout' });
    expect(status.conditions.find((c) => c.type === 'RolledBack')?.reason).toBe('RolledBackOnTimeout');
  });

  it('failover: transitory timeout: after the point of no return the engine finishes forward and says why', async () => {
    const group = sampleGroup({ timeouts: { transitoryStateMs: 60_000, unhealthyPrimaryMs: 120_000, heartbeatMs: 60_000 } });
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k, { group }), role: 'target', cluster: 'west' }),
      script: { [`${W}.targetClusterActivation.waitingForTargetReady`]: [{ ok: {}, takesMs: 5 * 60_000 }] },
    });
    await h.settle();
    const snap = roundTrip(h);
    expect(snap.context.rollback).toBeUndefined();
    expect(snap.context.outcome).toBe('completed');
    const status = deriveFailoverStatus(snap);
    expect(status.conditions.find((c) => c.type === 'TransitoryTimeoutExceeded')).toMatchObject({ status: 'True', reason: 'FinishingForward' });
  });

  it('failover: lease: a lost lease leaves the working states at once, is won back, and the failover resumes where it stopped', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east', policy: { leaseTtlMs: 30_000 } }),
      renew: [leaseLost()],
      script: { [`${W}.sourceClusterShutdown.waitingForScaleDown`]: [{ ok: {}, takesMs: 60_000 }, { ok: {} }] },
    });
    await h.settle();
    const snap = roundTrip(h);
    // Between the failed renewal and the regain, no step ran (the interrupted one was stopped).
    const lostAt = h.calls.indexOf('#renew');
    const regainedAt = h.calls.indexOf('#regain');
    expect(lostAt).toBeGreaterThan(0);
    expect(regainedAt).toBeGreaterThan(lostAt);
    expect(h.calls.slice(lostAt + 1, regainedAt).filter((c) => !c.startsWith('#'))).toEqual([]);
    expect(h.calls).toContain('#regain');
    expect(snap.context.leaseLostCount).toBe(1);
    expect(snap.context.outcome).toBe('completed');
    // The interrupted step ran again after the regain (idempotent), then the failover went on.
    expect(h.calls.filter((c) => c.endsWith('waitingForScaleDown'))).toHaveLength(2);
    expect(snap.context.proof.fencingToken).toBe(2);
  });

  it('failover: lease: a lease lost inside the dual-primary window keeps declaring the window until it is won back (found by the swarm: seed 1164450464)', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k, { mode: 'UPTIME' }), role: 'target', cluster: 'west', policy: { leaseTtlMs: 30_000 } }),
      renew: [leaseLost()],
      script: { [`${W}.targetClusterPreparation.waitingForTargetReady`]: [{ ok: {}, takesMs: 60_000 }, { ok: {} }] },
    });
    await h.settle();
    const lost = h.snapshots.filter((s) => JSON.stringify(s.value).includes('leaseLost'));
    expect(lost.length).toBeGreaterThan(0);
    for (const s of lost) expect(dualPrimaryWindowOpen(s), JSON.stringify(s.value)).toBe(true);
    expect(roundTrip(h).context.outcome).toBe('completed');
  });

  it('failover: lease: a source that loses the lease and finds the failover already succeeded completes (no write)', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }),
      script: { [`${W}.volumeTransitionSource.markingReadyForPromotion`]: [leaseLost()] },
      regain: [{ ok: { observed: 'ENDED_SUCCESS', proof: undefined } }],
    });
    await h.settle();
    expect(h.calls.filter((c) => c.endsWith('markingReadyForPromotion'))).toHaveLength(1);
    expect(tasksOf(h)).not.toContain(`${W}.completion.waitingForCompletion`);
    const snap = roundTrip(h);
    expect(snap.context.outcome).toBe('completed');
    expect(snap.context.leaseReleased).toBe(true);
  });

  it('failover: lease: another failover holds the lock: the failover stops with LeaseLost and no more side effects', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }),
      script: { [`${W}.sourceClusterShutdown.disablingFlux`]: [leaseLost()] },
      regain: [{ fail: { kind: 'Conflict', reason: 'Locked', message: 'group shop/shop is locked by failover fo-2 (west)' } }],
    });
    await h.settle();
    const tasks = unique(tasksOf(h));
    expect(tasks.at(-1)).toBe(`${W}.sourceClusterShutdown.disablingFlux`);
    const status = deriveFailoverStatus(roundTrip(h));
    expect(status.phase).toBe('Failed');
    expect(status.conditions.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'LeaseLost' });
    expect(status.message).toMatch(/locked by failover fo-2/);
  });

  it('failover: manual intervention: only when both clusters are unreachable, with what to do; resumes by itself', async () => {
    const failures = Array.from({ length: 7 }, () => transient('apiserver/west is unavailable'));
    let probes = 0;
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'target', cluster: 'west' }),
      script: { [`${W}.targetClusterActivation.scalingUp`]: [...failures, { ok: {} }] },
      probe: () => (probes++ < 2 ? { own: false, peer: false } : { own: true, peer: true }),
    });
    const phases: string[] = [];
    h.actor.subscribe(() => phases.push(deriveFailoverStatus(JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()))).phase));
    let messageSeen = '';
    h.actor.subscribe((s) => {
      if (s.hasTag('manualIntervention')) messageSeen = deriveFailoverStatus(s as any).conditions.find((c) => c.type === 'ManualInterventionRequired')?.message ?? '';
    });
    await h.settle();
    expect(phases).toContain('ManualIntervention');
    expect(messageSeen).toMatch(/Both clusters are unreachable/);
    expect(messageSeen).toMatch(/Restore connectivity/);
    expect(roundTrip(h).context.outcome).toBe('completed');
  });

  it('failover: manual intervention: never entered while this cluster answers (the step keeps retrying)', async () => {
    const failures = Array.from({ length: 13 }, () => transient('throttled'));
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'target', cluster: 'west' }),
      script: { [`${W}.targetClusterActivation.scalingUp`]: [...failures, { ok: {} }] },
      probe: () => ({ own: true, peer: false }),
    });
    let mi = false;
    h.actor.subscribe((s) => (mi ||= s.hasTag('manualIntervention')));
    await h.settle();
    expect(mi).toBe(false);
    expect(roundTrip(h).context.outcome).toBe('completed');
    expect(roundTrip(h).context.round).toBe(0);
  });

  it('failover: consistency: the target rolls back (demote, FAILED) when promotion fails for good; the source then rolls back', async () => {
    const t = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'target', cluster: 'west' }),
      script: { [`${W}.volumeTransitionTarget.waitingForPromotion`]: [fatal('promotion refused')] },
    });
    await t.settle();
    expect(unique(tasksOf(t)).slice(-4)).toEqual([`${W}.rollingBack.demotingVolumes`, `${W}.rollingBack.waitingForDemotion`, `${W}.rollingBack.markingFailed`, `${W}.rollingBack.releasingLock`]);
    expect(roundTrip(t).context.outcome).toBe('rolledBack');
    const s = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }),
      script: { [`${W}.completion.waitingForCompletion`]: [observed('FAILED')] },
    });
    await s.settle();
    const snap = roundTrip(s);
    expect(snap.context.rollback).toMatchObject({ cause: 'PeerFailed' });
    expect(unique(tasksOf(s)).at(-1)).toBe(`${W}.rollingBack.releasingLock`);
    expect(deriveFailoverStatus(snap).conditions.find((c) => c.type === 'RolledBack')?.reason).toBe('PeerFailed');
  });

  it('failover: consistency: the target ends rolled back when the source hands off FAILED before promotion', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'target', cluster: 'west' }),
      script: { [`${W}.volumeTransitionTarget.waitingForReadyForPromotion`]: [observed('FAILED')] },
    });
    await h.settle();
    expect(tasksOf(h)).not.toContain(`${W}.volumeTransitionTarget.promotingVolumes`);
    expect(roundTrip(h).context.outcome).toBe('rolledBack');
  });

  it('failover: validation: a refused precondition records history FAILED, then releases the lock, and fails', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }),
      script: { 'initialization.validating': [{ fail: { kind: 'Invalid', reason: 'ValidationFailed', message: 'group shop/shop is suspended: resume it, or set force' } }] },
    });
    await h.settle();
    // History first, then the lock: whoever finds the lock free also finds the failover ended.
    expect(unique(tasksOf(h))).toEqual(['initialization.validating', 'aborting.recordingHistory', 'aborting.releasingLock']);
    const status = deriveFailoverStatus(roundTrip(h));
    expect(status).toMatchObject({ phase: 'Failed', status: 'FAILED', outcome: 'failed' });
    expect(status.conditions.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'ValidationFailed' });
    expect(status.message).toMatch(/suspended/);
  });

  it('failover: input: a malformed request fails at once, naming the field and the fix', async () => {
    const h = startHarness({ input: (k) => ({ request: { ...sampleRequest(k), mode: 'FAST' as any }, role: 'source', cluster: 'west' }) });
    await h.settle();
    expect(h.calls).toEqual([]);
    const status = deriveFailoverStatus(roundTrip(h));
    expect(status.phase).toBe('Failed');
    expect(status.message).toMatch(/input\.request\.mode: must be CONSISTENCY or UPTIME/);
    expect(status.message).toMatch(/input\.cluster: is "west" but the source of this failover is east/);
  });

  it('failover: restore: a snapshot persisted mid-step resumes there, re-runs the step and completes', async () => {
    const first = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }),
      script: { [`${W}.volumeTransitionSource.waitingForDemotion`]: [{ hang: true }] },
    });
    await first.settle(60_000);
    const persisted = roundTrip(first);
    expect(JSON.stringify(persisted.value)).toContain('waitingForDemotion');
    first.actor.stop();
    const second = startHarness({
      kernel: first.kernel,
      input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }),
      snapshot: persisted,
    });
    await second.settle();
    expect(unique(tasksOf(second))).toEqual([`${W}.volumeTransitionSource.waitingForDemotion`, `${W}.volumeTransitionSource.markingReadyForPromotion`, `${W}.completion.waitingForCompletion`]);
    expect(roundTrip(second).context.outcome).toBe('completed');
    expect(FAILOVER_MACHINE_VERSION).toBeGreaterThanOrEqual(1);
  });
});
