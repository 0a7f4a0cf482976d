// Why: status is a view derived from the snapshot alone: the phase for each way a failover can stand or end,
// Kubernetes-style conditions with documented PascalCase reasons, metrics from the context's timestamps, and the
// same answer from a live snapshot and from its persisted JSON form.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FailoverConditionReason, FailoverConditionType } from '../../machines/failover/failover.conditions.ts';
import { deriveFailoverStatus, dualPrimaryWindowOpen } from '../../machines/failover/failover.status.ts';
import { fatal, observed, sampleRequest, startHarness, transient } from './failover.harness.ts';

const persisted = (h: ReturnType<typeof startHarness>) => JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()));

describe('failover status', () => {
  it('failover: status: condition types and reasons are PascalCase constants, each documented', () => {
    const text = readFileSync(new URL('../../machines/failover/failover.conditions.ts', import.meta.url), 'utf8');
    for (const table of [FailoverConditionType, FailoverConditionReason]) {
      for (const [k, v] of Object.entries(table)) {
        expect(v).toBe(k);
        expect(v).toMatch(/^[A-Z][A-Za-z]+$/);
      }
    }
    for (const k of Object.keys(FailoverConditionType)) expect(text).toMatch(new RegExp(`/\\*\\*[^*]*\\*/\\s*\\n\\s*${k}:`));
  });

  it('failover: status: Pending while validating, InProgress once locked, with progression and TASK_ state', async () => {
    const h = startHarness({ input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }), script: { 'holding.work.sourceClusterShutdown.disablingFlux': [{ hang: true }] } });
    const first = deriveFailoverStatus(persisted(h));
    expect(first).toMatchObject({ phase: 'Pending', status: 'IN_PROGRESS', progression: { stageIndex: 1, stage: 'Initialization', task: 'ValidateFailover' }, state: 'TASK_ValidateFailover' });
    await h.settle(30_000);
    const live = deriveFailoverStatus(h.actor.getSnapshot() as any);
    expect(live).toMatchObject({ phase: 'InProgress', progression: { stageIndex: 2, stage: 'SourceClusterShutdown', task: 'DisableFluxReconciliation' }, state: 'TASK_DisableFluxReconciliation' });
    expect(deriveFailoverStatus(persisted(h))).toEqual(live);
    const inProgress = live.conditions.find((c) => c.type === 'InProgress')!;
    expect(inProgress).toMatchObject({ status: 'True', reason: 'ShuttingDownSource' });
    expect(inProgress.lastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(live.conditions.find((c) => c.type === 'LeaseHeld')).toMatchObject({ status: 'True', reason: 'LeaseRenewed' });
    expect(live.metrics.totalDowntimeSeconds).toBeGreaterThan(0);
  });

  it('failover: status: Retrying names the step and the last error while backing off', async () => {
    const h = startHarness({ input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }), script: { 'holding.work.sourceClusterShutdown.disablingFlux': [transient('apiserver/east throttled'), { hang: true }] }, stepMs: 10 });
    await h.settle(200);
    const s = deriveFailoverStatus(persisted(h));
    expect(s.conditions.find((c) => c.type === 'Retrying')).toMatchObject({ status: 'True', reason: 'StepRetrying' });
    expect(s.conditions.find((c) => c.type === 'Retrying')!.message).toMatch(/DisableFluxReconciliation failed \(attempt 1, round 0\): apiserver\/east throttled/);
  });

  it('failover: status: outcomes map to phases and reference statuses (Succeeded/SUCCESS, RolledBack/FAILED, Failed/FAILED)', async () => {
    const ok = startHarness({ input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }) });
    await ok.settle();
    expect(deriveFailoverStatus(persisted(ok))).toMatchObject({ phase: 'Succeeded', status: 'SUCCESS', outcome: 'completed' });
    const back = startHarness({ input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }), script: { 'holding.work.sourceClusterShutdown.disablingNetwork': [fatal()] } });
    await back.settle();
    const rb = deriveFailoverStatus(persisted(back));
    expect(rb).toMatchObject({ phase: 'RolledBack', status: 'FAILED', outcome: 'rolledBack' });
    expect(rb.conditions.find((c) => c.type === 'InProgress')).toMatchObject({ status: 'False' });
    const observedRollback = startHarness({ input: (k) => ({ request: sampleRequest(k), role: 'target', cluster: 'west' }), script: { 'holding.work.volumeTransitionTarget.waitingForReadyForPromotion': [observed('FAILED')] } });
    await observedRollback.settle();
    const orb = deriveFailoverStatus(persisted(observedRollback));
    expect(orb.phase).toBe('RolledBack');
    expect(orb.message).toMatch(/source operator rolled the failover back before this side changed anything/);
  });

  it('failover: status: metrics: downtime runs from the source shutdown to the target network enable (peer bounds from global state)', async () => {
    const h = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'target', cluster: 'west' }),
      script: { 'holding.work.volumeTransitionTarget.waitingForReadyForPromotion': [{ ok: { observed: 'READY_FOR_PROMOTION', downtimeStartedAtMs: undefined }, takesMs: 5_000 }] },
    });
    const start = h.kernel.now();
    await h.settle();
    const snap = persisted(h);
    // No peer bound published: downtime counts from the target's own knowledge only (none), so 0.
    expect(deriveFailoverStatus(snap).metrics.totalDowntimeSeconds).toBe(0);
    const h2 = startHarness({
      input: (k) => ({ request: sampleRequest(k), role: 'target', cluster: 'west' }),
      script: { 'holding.work.volumeTransitionTarget.waitingForReadyForPromotion': [{ ok: { observed: 'READY_FOR_PROMOTION', downtimeStartedAtMs: start + 1_000 }, takesMs: 5_000 }] },
    });
    await h2.settle();
    const s2 = persisted(h2);
    const m = deriveFailoverStatus(s2).metrics;
    expect(m.totalDowntimeSeconds).toBeCloseTo((s2.context.downtimeEndedAtMs - (start + 1_000)) / 1000, 3);
    expect(m.totalFailoverTimeSeconds).toBeCloseTo((s2.context.finishedAtMs - s2.context.request.requestedAtMs) / 1000, 3);
  });

  it('failover: status: the dual-primary window is read from persisted snapshots too', async () => {
    const h = startHarness({ input: (k) => ({ request: sampleRequest(k, { mode: 'UPTIME' }), role: 'target', cluster: 'west' }), script: { 'holding.work.targetClusterPreparation.scalingUp': [{ hang: true }] } });
    await h.settle(30_000);
    const snap = persisted(h);
    expect(dualPrimaryWindowOpen(snap)).toBe(true);
    const s = deriveFailoverStatus(snap);
    expect(s.conditions.find((c) => c.type === 'DualPrimaryWindow')).toMatchObject({ status: 'True', reason: 'UptimeModeByDesign' });
  });
});
