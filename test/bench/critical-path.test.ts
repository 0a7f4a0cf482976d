// Why: the RTO figure divides by the critical-path bounds, so they must be right: the base bound and the expected
// bound E[CP] of the jittered model are checked by hand on a tiny group (every term written out below), E[CP] lies
// between the bound at every draw's base and at every draw's top, and the simulator never beats them: no
// jitter-free failover finishes faster than its bound, and the mean of fault-free jittered ones is not below E[CP].
import { describe, expect, it } from 'vitest';
import { criticalPath, criticalPathLowerBoundMs, expectedCriticalPath, worstCasePlan } from '../../bench/critical-path.ts';
import { benchScenario, sizedGroup } from '../../bench/groups.ts';
import { Dist } from '../../bench/latency-dist.ts';
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

/** Jitters of 0, 1 or 2 ms: few enough outcomes to take every expectation by hand. */
function smallJitterPlan(): FaultPlan {
  const plan = handPlan();
  for (const l of Object.values(plan.latency)) l.jitterMs = 0;
  for (const p of Object.values(plan.physics)) p.jitterMs = 0;
  plan.latency['kube.write'].jitterMs = 2; // 10, 11 or 12: applied after floor(L/2) = 5, 5 or 6 (mean 16/3)
  plan.latency['globalstate.write'].jitterMs = 1; // 20 or 21
  plan.latency['globalstate.read'].jitterMs = 1; // 6 or 7: answered 3 or 4 after it applied
  plan.physics.podStopMs.jitterMs = 1; // 100 or 101
  plan.physics.podStartMs.jitterMs = 1; // 200 or 201
  plan.physics.volumeDemoteMs.jitterMs = 1; // 50 or 51
  return plan;
}

/**
 * From the failover's first transition (the earliest stage start, either side) to the target's last: the runs are
 * daemon-level, so the failover starts once a daemon has read the Failover (after its informers' lists, a copy to
 * the peer, watch latencies), not at T+0; what comes before is the daemons', not the chart's critical path.
 */
function failoverDurationMs(r: { timeline: Array<{ role: string; startMs: number; endMs: number }> }): number {
  const first = r.timeline.reduce((m, s) => Math.min(m, s.startMs), Number.POSITIVE_INFINITY);
  return r.timeline.filter((s) => s.role === 'target').reduce((m, s) => Math.max(m, s.endMs), 0) - first;
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

  it('bench: critical path: distributions: uniform draws, floor halves, sums and maxima match enumeration', () => {
    const w = Dist.of({ baseMs: 10, jitterMs: 2 });
    expect(w.mean()).toBeCloseTo(11, 12);
    expect(w.map((x) => Math.floor(x / 2)).mean()).toBeCloseTo(16 / 3, 12);
    expect(Dist.of({ baseMs: 100, jitterMs: 1 }).plus(Dist.of({ baseMs: 100, jitterMs: 1 })).mean()).toBeCloseTo(201, 12);
    // Max of 2 copies of {10, 11, 12} (9 equally likely pairs): 10 once, 11 three times, 12 five times.
    expect(Dist.maxOf([[w, 2]]).mean()).toBeCloseTo((10 + 3 * 11 + 5 * 12) / 9, 12);
    // Max of one {0..3} and one {2}: 2 unless the first draws 3.
    expect(Dist.maxOf([[Dist.of({ baseMs: 0, jitterMs: 3 }), 1], [Dist.point(2), 1]]).mean()).toBeCloseTo(2.25, 12);
  });

  it('bench: critical path: E[CP] of CONSISTENCY on a tiny group, term by term (jitters of 1-2 ms, deploy=2, sts=3)', () => {
    const h = 16 / 3; // E[floor(L/2)] of a kube write: 5, 5, 6
    const acquire = 20.5; // E of one global-state write (20 or 21)
    const prep = 10 + 8 / 9 + 5 / 9; // the slower of two kube writes: E = 10 + P(max > 10) + P(max > 11)
    const scaleDown = h + 3 * 100.5 + 2; // the StatefulSet's 3 stops one after another always outlast the Deployment
    // Each volume: floor(L/2) + two demote draws + watch; X = floor(L/2) + D1 + D2 is 105, 106, 107, 108 with
    // probabilities 1/6, 5/12, 1/3, 1/12; the slower of two volumes: 105 + Σ (1 − F(t)²) over t = 105 … 107.
    const F = [1 / 6, 7 / 12, 11 / 12];
    const demote = 105 + F.reduce((s, f) => s + (1 - f * f), 0) + 2;
    expect(demote).toBeCloseTo(107 + 43 / 24, 12);
    const handoff = 10 + 3.5; // floor(20/2) = floor(21/2) = 10, then the read's rest: 3 or 4
    const promote = 5 + 5 / 9 + 70 + 2; // the later of two writes applied: 6 unless both apply at 5 (4/9)
    const scaleUp = h + 3 * 200.5 + 2 + (h + 200.75 + 2); // sts pods one by one, then the Deployment's two in parallel (E max = 200.75)
    const enable = 11;
    const completion = 3 * 20.5;
    const want = acquire + prep + scaleDown + demote + handoff + promote + scaleUp + enable + completion;
    expect(want).toBeCloseTo(1430 + 1 / 24, 9);
    const got = expectedCriticalPath(tiny, smallJitterPlan(), 'CONSISTENCY');
    expect(got.totalMs).toBeCloseTo(want, 9);
    expect(got.terms.map((t) => t.ms)).toEqual(
      [acquire, prep, scaleDown, demote, handoff, promote, scaleUp, enable, 20.5, 20.5, 20.5].map((x) => expect.closeTo(x, 9)),
    );
  });

  it('bench: critical path: E[CP] lies between the bound at every base and at every top, and equals the base bound without jitter (workloads=1, 10, 100, 1000)', () => {
    for (const mode of ['CONSISTENCY', 'UPTIME'] as const) {
      for (const workloads of [1, 10, 100, 1_000]) {
        const group = sizedGroup({ name: 'b', namespace: 'b', workloads });
        const plan = quietPlan(1);
        const base = criticalPathLowerBoundMs(group, plan, mode);
        const expected = expectedCriticalPath(group, plan, mode).totalMs;
        const top = criticalPathLowerBoundMs(group, worstCasePlan(plan), mode);
        expect(expected).toBeGreaterThan(base);
        expect(expected).toBeLessThan(top);
        const flat = rtoPlan(1, 'jitterFree');
        expect(expectedCriticalPath(group, flat, mode).totalMs).toBeCloseTo(criticalPathLowerBoundMs(group, flat, mode), 9);
      }
    }
  });

  it('bench: critical path: a jitter-free simulated failover never beats its bound (workloads=5, 12)', async () => {
    for (const workloads of [5, 12]) {
      const group = sizedGroup({ name: 'lb', namespace: 'lb', workloads });
      const plan = rtoPlan(3, 'jitterFree');
      const r = await runSimulation({ seed: 3, scenario: benchScenario(`lb-${workloads}`, [group]), plan, failover: { mode: 'CONSISTENCY', type: 'planned' }, crds: loadCrds() });
      expect(r.outcome).toBe('completed');
      const targetEnd = failoverDurationMs(r);
      expect(targetEnd).toBeGreaterThanOrEqual(criticalPathLowerBoundMs(group, plan, 'CONSISTENCY'));
    }
  });

  it('bench: critical path: the mean of fault-free jittered failovers is not below E[CP] beyond sampling error (workloads=5, seeds 1-24)', async () => {
    const group = sizedGroup({ name: 'eb', namespace: 'eb', workloads: 5 });
    const crds = loadCrds();
    const durations: number[] = [];
    for (let seed = 1; seed <= 24; seed++) {
      const r = await runSimulation({ seed, scenario: benchScenario('eb-5', [group]), plan: rtoPlan(seed, 'default'), failover: { mode: 'CONSISTENCY', type: 'planned' }, crds });
      expect(r.outcome).toBe('completed');
      const targetEnd = failoverDurationMs(r);
      // Each run is above the base bound (its draws are never below their base) …
      expect(targetEnd).toBeGreaterThanOrEqual(criticalPathLowerBoundMs(group, quietPlan(seed), 'CONSISTENCY'));
      durations.push(targetEnd);
    }
    // … and their mean is not below the expected bound by more than two standard errors (one run may well be below
    // it: that is what "expected" means; a run's duration varies by about 1.5 s here, so 24 runs pin the mean to
    // about ±0.3 s, and a bound more than ~0.6 s (2.5 %) too high fails).
    const mean = durations.reduce((s, d) => s + d, 0) / durations.length;
    const se = Math.sqrt(durations.reduce((s, d) => s + (d - mean) ** 2, 0) / (durations.length - 1) / durations.length);
    expect(se).toBeLessThan(500);
    expect(mean + 2 * se).toBeGreaterThanOrEqual(expectedCriticalPath(group, quietPlan(1), 'CONSISTENCY').totalMs);
  });
});
