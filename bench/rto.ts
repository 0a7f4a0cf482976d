// Why: the RTO figure: how long a fault-free CONSISTENCY failover takes in the simulator against the critical-path
// lower bound of the same latency model (bench/critical-path.ts), for groups of 10, 100 and 1,000 workloads. Two
// latency models: the default one (latency and physics with their seeded jitter: the figure as specified) and the
// same model with every jitter at 0, where the bound is exact and any excess is time the engine itself wastes.
import { runSimulation, type StageSpan } from '../simulator/failover-run.ts';
import { quietPlan, type FaultPlan } from '../simulator/faults.ts';
import { loadCrds } from '../src/crds.ts';
import { criticalPath, type BoundTerm } from './critical-path.ts';
import { benchScenario, sizedGroup } from './groups.ts';
import { round } from './machine.ts';

export type LatencyVariant = 'default' | 'jitterFree';

export interface RtoSample {
  workloads: number;
  variant: LatencyVariant;
  seed: number;
  outcome: string;
  /** From the request to the target's final state (lock released): what the bound bounds. */
  durationMs: number;
  /** Until both sides ended (the source learns the outcome through global state). */
  bothEndedMs: number;
  boundMs: number;
  ratio: number;
  realMs: number;
  /** Per side and stage: when it started and ended (ms from the request). */
  stages: Array<{ role: string; stage: string; startMs: number; endMs: number }>;
  /** Where the time above the bound went, read from the timeline (see docs/benchmarks.md). */
  waste: { handoffLagMs?: number; scaleUpMs?: number; scaleUpBoundMs?: number; shutdownMs?: number; shutdownBoundMs?: number };
  bound: BoundTerm[];
}

export function rtoPlan(seed: number, variant: LatencyVariant): FaultPlan {
  const plan = quietPlan(seed);
  if (variant === 'jitterFree') {
    for (const l of Object.values(plan.latency)) l.jitterMs = 0;
    for (const p of Object.values(plan.physics)) p.jitterMs = 0;
  }
  return plan;
}

const taskStart = (timeline: StageSpan[], role: string, task: string) => {
  for (const s of timeline) if (s.role === role) for (const t of s.tasks) if (t.task === task) return t.startMs;
  return undefined;
};

export async function measureRto(workloads: number, variant: LatencyVariant, seed = 1): Promise<RtoSample> {
  const group = sizedGroup({ name: 'rto', namespace: 'rto', workloads });
  const plan = rtoPlan(seed, variant);
  const bound = criticalPath(group, plan, 'CONSISTENCY');
  const t0 = performance.now();
  const r = await runSimulation({ seed, scenario: benchScenario(`rto-${workloads}`, [group]), plan, failover: { mode: 'CONSISTENCY', type: 'planned' }, crds: loadCrds() });
  const realMs = performance.now() - t0;
  const targetEnd = r.timeline.filter((s) => s.role === 'target').reduce((m, s) => Math.max(m, s.endMs), 0);
  const bothEnded = r.timeline.reduce((m, s) => Math.max(m, s.endMs), 0);
  const term = (prefix: string) => bound.terms.find((t) => t.step.startsWith(prefix))?.ms;
  const waste: RtoSample['waste'] = {};
  const sourceDone = r.timeline.find((s) => s.role === 'source' && s.stage === 'Completion')?.startMs;
  const promote = taskStart(r.timeline, 'target', 'PromoteVolumes');
  if (sourceDone !== undefined && promote !== undefined) waste.handoffLagMs = round(promote - sourceDone, 1);
  const scaleUp = taskStart(r.timeline, 'target', 'ScaleUpWorkloads');
  const enable = taskStart(r.timeline, 'target', 'UpdateNetworkResources');
  if (scaleUp !== undefined && enable !== undefined) {
    waste.scaleUpMs = round(enable - scaleUp, 1);
    waste.scaleUpBoundMs = term('scale up');
  }
  const shutdown = taskStart(r.timeline, 'source', 'ScaleDownWorkloads');
  const demote = taskStart(r.timeline, 'source', 'DemoteVolumes');
  if (shutdown !== undefined && demote !== undefined) {
    waste.shutdownMs = round(demote - shutdown, 1);
    waste.shutdownBoundMs = term('scale down');
  }
  return {
    workloads,
    variant,
    seed,
    outcome: r.outcome,
    durationMs: round(targetEnd, 1),
    bothEndedMs: round(bothEnded, 1),
    boundMs: bound.totalMs,
    ratio: round(targetEnd / bound.totalMs, 2),
    realMs: Math.round(realMs),
    stages: r.timeline.map((s) => ({ role: s.role, stage: s.stage, startMs: round(s.startMs, 1), endMs: round(s.endMs, 1) })),
    waste,
    bound: bound.terms,
  };
}
