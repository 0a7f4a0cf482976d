// Why: the RTO figure divides by criticalPathLowerBoundMs, so the bound must be right: checked by hand on a tiny
// group (every term written out below), and checked against the simulator: no jitter-free simulated failover may
// finish faster than its lower bound.
import { describe, expect, it } from 'vitest';
import { criticalPath, criticalPathLowerBoundMs } from '../../bench/critical-path.ts';
import { benchScenario, sizedGroup } from '../../bench/groups.ts';
import { rtoPlan } from '../../bench/rto.ts';
import { DEFAULT_GROUP_TIMEOUTS } from '../../machines/failover/group.types.ts';
import { runSimulation } from '../../simulator/failover-run.ts';
import { quietPlan, type FaultPlan } from '../../simulator/faults.ts';
import type { ScenarioGroup } from '../../simulator/scenario.ts';
import { loadCrds } from '../../src/crds.ts';

/** One Deployment (2 replicas), one StatefulSet (3 replicas), a volume each, one VirtualService, one Kustomization. */
const tiny: ScenarioGroup = {
  spec: {
    name: 'tiny',
    namespace: 'tiny',
    operatorID: 'failover-engine',
    suspended: false,
    timeouts: { ...DEFAULT_GROUP_TIMEOUTS },
    heartbeatIntervalMs: 30_000,
    workloads: [
      { kind: 'Deployment', name: 'web', volumeReplications: ['web-data'] },
      { kind: 'StatefulSet', name: 'db', volumeReplications: ['db-data'] },
    ],
    networkResources: [{ kind: 'VirtualService', name: 'web' }],
    fluxResources: [{ kind: 'Kustomization', name: 'app', triggerReconcile: true }],
  },
  replicas: { web: 2, db: 3 },
};

/** Round numbers, and large jitters the bound must ignore. */
function handPlan(): FaultPlan {
  const plan = quietPlan(1);
  plan.latency['kube.write'] = { baseMs: 10, jitterMs: 1_000 };
  plan.latency['kube.watch'] = { baseMs: 2, jitterMs: 1_000 };
  plan.latency['kube.read'] = { baseMs: 4, jitterMs: 1_000 };
  plan.latency['globalstate.write'] = { baseMs: 20, jitterMs: 1_000 };
  plan.latency['globalstate.read'] = { baseMs: 6, jitterMs: 1_000 };
  plan.physics.podStopMs = { baseMs: 100, jitterMs: 1_000 };
  plan.physics.podStartMs = { baseMs: 200, jitterMs: 1_000 };
  plan.physics.volumeDemoteMs = { baseMs: 50, jitterMs: 1_000 };
  plan.physics.volumePromoteMs = { baseMs: 70, jitterMs: 1_000 };
  plan.physics.fluxReconcileMs = { baseMs: 30, jitterMs: 1_000 };
  return plan;
}

describe('bench: critical-path lower bound', () => {
  it('bench: critical path: CONSISTENCY of a tiny group, term by term (deploy=2 replicas, sts=3 replicas)', () => {
    const acquire = 20; // the source's conditional write to global state
    const prep = 10; // network disable ∥ Flux suspend: one kube write
    const scaleDown = 5 + 3 * 100 + 2; // write applied (10/2) + the StatefulSet's 3 pods one at a time + watch event
    const demote = 5 + 2 * 50 + 2; // write applied + demotion + first health check (safe mode) + watch event
    const handoff = 10 + (6 - 3); // READY_FOR_PROMOTION applied (20/2) + the target's read answered after it applied
    const promote = 5 + 70 + 2; // write applied + promotion + watch event
    const scaleUp = 5 + 3 * 200 + 2 + (5 + 200 + 2); // StatefulSet pods one at a time, then the Deployment's in parallel
    const enable = 10; // network enable
    const completion = 3 * 20; // transfer ownership, history, release
    const want = acquire + prep + scaleDown + demote + handoff + promote + scaleUp + enable + completion;
    expect(want).toBe(1418);
    expect(criticalPathLowerBoundMs(tiny, handPlan(), 'CONSISTENCY')).toBe(want);
  });

  it('bench: critical path: UPTIME of a tiny group, term by term', () => {
    const join = 10 + (6 - 3); // the lock written (applied at 20/2), the target's read after it
    const promote = 5 + 70 + 2; // force-promote
    const scaleUp = 5 + 3 * 200 + 2 + (5 + 200 + 2);
    const enable = 10;
    const handoff = 10 + 3; // COMPLETED written, the source reads it
    const prep = 10;
    const scaleDown = 5 + 3 * 100 + 2;
    const demote = 5 + 50 + 2; // fast mode: Secondary is enough, no health check
    const completion = 3 * 20;
    expect(criticalPathLowerBoundMs(tiny, handPlan(), 'UPTIME')).toBe(join + promote + scaleUp + enable + handoff + prep + scaleDown + demote + completion);
  });

  it('bench: critical path: absent kinds contribute nothing (deployments only, no traffic, no Flux)', () => {
    const g: ScenarioGroup = { ...tiny, spec: { ...tiny.spec, workloads: [tiny.spec.workloads[0]], networkResources: [], fluxResources: [] }, replicas: { web: 2 } };
    // acquire + scale down (Deployment: one podStop) + demote + hand-off + promote + Deployment start + completion.
    const want = 20 + (5 + 100 + 2) + (5 + 100 + 2) + 13 + (5 + 70 + 2) + (5 + 200 + 2) + 60;
    expect(criticalPathLowerBoundMs(g, handPlan(), 'CONSISTENCY')).toBe(want);
    expect(criticalPath(g, handPlan(), 'CONSISTENCY').terms.map((t) => t.step)).not.toContain('network enable (kube.write)');
  });

  it('bench: critical path: a jitter-free simulated failover never beats its bound (workloads=5, 12)', async () => {
    for (const workloads of [5, 12]) {
      const group = sizedGroup({ name: 'lb', namespace: 'lb', workloads });
      const plan = rtoPlan(3, 'jitterFree');
      const r = await runSimulation({ seed: 3, scenario: benchScenario(`lb-${workloads}`, [group]), plan, failover: { mode: 'CONSISTENCY', type: 'planned' }, crds: loadCrds() });
      expect(r.outcome).toBe('completed');
      const targetEnd = r.timeline.filter((s) => s.role === 'target').reduce((m, s) => Math.max(m, s.endMs), 0);
      expect(targetEnd).toBeGreaterThanOrEqual(criticalPathLowerBoundMs(group, plan, 'CONSISTENCY'));
    }
  });
});
