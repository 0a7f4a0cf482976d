// Why: the RTO figure: how long a fault-free CONSISTENCY failover takes in the simulator against the critical-path
// lower bound of the same latency model (bench/critical-path.ts), for groups of 10, 100 and 1,000 workloads. Two
// latency models: the default one (latency and physics with their seeded jitter: the figure as specified), whose
// mean duration over several seeds is divided by the EXPECTED critical path E[CP], and the same model with every
// jitter at 0, where the bound is exact and any excess is time the engine itself wastes.
import { runSimulation, type StageSpan } from '../simulator/failover-run.ts';
import { quietPlan, type FaultPlan } from '../simulator/faults.ts';
import { loadCrds } from '../src/crds.ts';
import { criticalPath, expectedCriticalPath, type BoundTerm } from './critical-path.ts';
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
  /** E[CP] of the run's latency model (equal to `baseBoundMs` when the model has no jitter). */
  boundMs: number;
  /** The chain with every draw at its baseMs: no single run can be faster. */
  baseBoundMs: number;
  /** durationMs / boundMs. One run of the jittered model may be below 1: E[CP] bounds the mean, not each run. */
  ratio: number;
  ratioVsBase: number;
  realMs: number;
  /** Per side and stage: when it started and ended (ms from the request). */
  stages: Array<{ role: string; stage: string; startMs: number; endMs: number }>;
  /** Where the time above the bound went, read from the timeline (see docs/benchmarks.md). */
  waste: { handoffLagMs?: number; scaleUpMs?: number; scaleUpBoundMs?: number; shutdownMs?: number; shutdownBoundMs?: number };
  /** The terms of `boundMs`. */
  bound: BoundTerm[];
}

/** One figure: the mean over seeds of one size and latency model, against its bound. */
export interface RtoFigure {
  workloads: number;
  variant: LatencyVariant;
  seeds: number[];
  meanDurationMs: number;
  /** Standard error of the mean duration (0 with one seed). */
  durationSeMs: number;
  boundMs: number;
  baseBoundMs: number;
  /** meanDurationMs / boundMs: the figure. */
  ratio: number;
  ratioVsBase: number;
  /** The lowest and highest single-run ratio. */
  ratioRange: [number, number];
  /** Every run completed. */
  allCompleted: boolean;
}

export function rtoPlan(seed: number, variant: LatencyVariant): FaultPlan {
  const plan = quietPlan(seed);
  if (variant === 'jitterFree') {
    for (const l of Object.values(plan.latency)) l.jitterMs = 0;
    for (const p of Object.values(plan.physics)) p.jitterMs = 0;
  }
  return plan;
}

/**
 * The seeds a figure averages over: the jittered model 5 seeds (2 from 500 workloads, whose runs take ~10 s each);
 * the jitter-free model is nearly seed-independent, so one.
 */
export function rtoSeeds(workloads: number, variant: LatencyVariant): number[] {
  const n = variant === 'jitterFree' ? 1 : workloads >= 500 ? 2 : 5;
  return Array.from({ length: n }, (_, i) => i + 1);
}

const taskStart = (timeline: StageSpan[], role: string, task: string) => {
  for (const s of timeline) if (s.role === role) for (const t of s.tasks) if (t.task === task) return t.startMs;
  return undefined;
};

export async function measureRto(workloads: number, variant: LatencyVariant, seed = 1): Promise<RtoSample> {
  const group = sizedGroup({ name: 'rto', namespace: 'rto', workloads });
  const plan = rtoPlan(seed, variant);
  const bound = expectedCriticalPath(group, plan, 'CONSISTENCY');
  const baseBoundMs = criticalPath(group, plan, 'CONSISTENCY').totalMs;
  const t0 = performance.now();
  const r = await runSimulation({ seed, scenario: benchScenario(`rto-${workloads}`, [group]), plan, failover: { mode: 'CONSISTENCY', type: 'planned' }, crds: loadCrds() });
  const realMs = performance.now() - t0;
  // From the failover's first transition: the runs are daemon-level, and the daemons read the Failover (informer
  // lists, the copy to the peer, watch latencies) before the chart starts; that is not the chart's critical path.
  const first = r.timeline.reduce((m, s) => Math.min(m, s.startMs), Number.POSITIVE_INFINITY);
  const targetEnd = r.timeline.filter((s) => s.role === 'target').reduce((m, s) => Math.max(m, s.endMs), 0) - first;
  const bothEnded = r.timeline.reduce((m, s) => Math.max(m, s.endMs), 0) - first;
  const term = (prefix: string) => {
    const ms = bound.terms.find((t) => t.step.startsWith(prefix))?.ms;
    return ms === undefined ? undefined : round(ms, 1);
  };
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
    boundMs: round(bound.totalMs, 1),
    baseBoundMs,
    ratio: round(targetEnd / bound.totalMs, 3),
    ratioVsBase: round(targetEnd / baseBoundMs, 3),
    realMs: Math.round(realMs),
    stages: r.timeline.map((s) => ({ role: s.role, stage: s.stage, startMs: round(s.startMs, 1), endMs: round(s.endMs, 1) })),
    waste,
    bound: bound.terms.map((t) => ({ step: t.step, ms: round(t.ms, 1) })),
  };
}

/** The figures of a set of samples: one per size and latency model, the mean duration over its seeds. */
export function rtoFigures(samples: readonly RtoSample[]): RtoFigure[] {
  const groups = new Map<string, RtoSample[]>();
  for (const s of samples) {
    const key = `${s.workloads}/${s.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const out: RtoFigure[] = [];
  for (const g of groups.values()) {
    const n = g.length;
    const mean = g.reduce((a, s) => a + s.durationMs, 0) / n;
    const se = n > 1 ? Math.sqrt(g.reduce((a, s) => a + (s.durationMs - mean) ** 2, 0) / (n - 1) / n) : 0;
    const { workloads, variant, boundMs, baseBoundMs } = g[0];
    out.push({
      workloads,
      variant,
      seeds: g.map((s) => s.seed),
      meanDurationMs: round(mean, 1),
      durationSeMs: round(se, 1),
      boundMs,
      baseBoundMs,
      ratio: round(mean / boundMs, 3),
      ratioVsBase: round(mean / baseBoundMs, 3),
      ratioRange: [Math.min(...g.map((s) => s.ratio)), Math.max(...g.map((s) => s.ratio))],
      allCompleted: g.every((s) => s.outcome === 'completed'),
    });
  }
  return out.sort((a, b) => a.workloads - b.workloads || a.variant.localeCompare(b.variant));
}

/** Every seed of one size and latency model (rtoSeeds unless given), in order. */
export async function measureRtoSeeds(workloads: number, variant: LatencyVariant, seeds = rtoSeeds(workloads, variant)): Promise<RtoSample[]> {
  const out: RtoSample[] = [];
  for (const seed of seeds) out.push(await measureRto(workloads, variant, seed));
  return out;
}
