// Why: one simulated run from a seed: build the world, let a driver act on it (later: a failover), run virtual
// time with faults on until they heal plus a liveness margin, and report what a replay needs (seed, duration,
// trace hash, fault plan). `failoverctl simulate`, tests and benchmarks all run the world through this function.
import type { KubeObject } from '../drivers/cluster/cluster.port.ts';
import type { FaultPlan, FaultProfile } from './faults.ts';
import { InvariantViolation, type InvariantResult } from './kernel.ts';
import type { RunResult } from './scheduler.ts';
import type { Scenario } from './scenario.ts';
import { SimWorld } from './world.ts';

/** How long a run goes on after the faults heal, so that what they disturbed can converge. */
export const LIVENESS_MARGIN_MS = 60_000;

export type DriveOutcome =
  | { status: 'none' }
  | { status: 'pending' }
  | { status: 'fulfilled'; value: unknown }
  | { status: 'rejected'; reason: unknown };

export interface WorldSimulationOptions {
  seed: number;
  scenario: Scenario;
  crds: KubeObject[];
  /** Default 'swarm'. */
  profile?: FaultProfile;
  /** How long faults stay on (default: the fault plan's default, 60 s). */
  horizonMs?: number;
  /** Virtual time to run (default: the heal time plus LIVENESS_MARGIN_MS). */
  durationMs?: number;
  /** When `drive` is still pending at `durationMs`, keep running until it settles, up to this much virtual time. */
  maxDurationMs?: number;
  keepTraceLines?: boolean;
  traceSink?: (line: string) => void;
  /** Called once the world is built, before time starts: add invariants, start operators. */
  setup?: (world: SimWorld) => void;
  /** Acts on the world while it runs (a failover, a fault script). Its outcome is reported, not thrown. */
  drive?: (world: SimWorld) => Promise<unknown> | void;
}

export interface WorldSimulationResult {
  world: SimWorld;
  seed: number;
  scenario: string;
  /** Virtual milliseconds from the start of the run to its end. */
  virtualDurationMs: number;
  /** Trace lines written (header lines included). */
  eventCount: number;
  /** sha256 of the whole trace: two runs of one seed give the same hash. */
  traceHash: string;
  faultPlan: FaultPlan;
  run: RunResult;
  drive: DriveOutcome;
  /** The `always` invariant that broke, ending the run early. */
  violation?: InvariantViolation;
  invariants: InvariantResult[];
}

export async function runWorldSimulation(opts: WorldSimulationOptions): Promise<WorldSimulationResult> {
  const world = SimWorld.build({
    seed: opts.seed,
    scenario: opts.scenario,
    crds: opts.crds,
    profile: opts.profile ?? 'swarm',
    horizonMs: opts.horizonMs,
    keepTraceLines: opts.keepTraceLines,
    traceSink: opts.traceSink,
  });
  const { kernel } = world;
  opts.setup?.(world);
  let drive: DriveOutcome = { status: 'none' };
  if (opts.drive) {
    drive = { status: 'pending' };
    Promise.resolve()
      .then(() => opts.drive?.(world))
      .then(
        (value) => (drive = { status: 'fulfilled', value }),
        (reason: unknown) => (drive = { status: 'rejected', reason }),
      );
  }
  const durationMs = opts.durationMs ?? kernel.plan.healAtMs + LIVENESS_MARGIN_MS;
  let run: RunResult = { events: 0, reason: 'idle', nowMs: kernel.now() };
  let violation: InvariantViolation | undefined;
  try {
    run = await kernel.run({ untilMs: kernel.startMs + durationMs });
    if (drive.status === 'pending' && opts.maxDurationMs !== undefined && opts.maxDurationMs > durationMs) {
      const more = await kernel.run({ untilMs: kernel.startMs + opts.maxDurationMs, stopWhen: () => drive.status !== 'pending' });
      run = { events: run.events + more.events, reason: more.reason, nowMs: more.nowMs };
    }
  } catch (e) {
    if (!(e instanceof InvariantViolation)) throw e;
    violation = e;
    run = { events: run.events, reason: 'stopped', nowMs: kernel.now() };
  }
  kernel.emit('run.ended', { reason: violation ? 'invariant' : run.reason, drive: drive.status });
  return {
    world,
    seed: opts.seed,
    scenario: opts.scenario.name,
    virtualDurationMs: kernel.elapsed(),
    eventCount: kernel.trace.eventCount,
    traceHash: kernel.trace.hash(),
    faultPlan: kernel.plan,
    run,
    drive,
    violation,
    invariants: kernel.invariantResults(),
  };
}

/** The line printed after a trace: what a replay needs to check it got the same run. */
export function summaryLine(r: Pick<WorldSimulationResult, 'seed' | 'scenario' | 'virtualDurationMs' | 'eventCount' | 'traceHash'>): string {
  return `summary seed=${r.seed} scenario=${r.scenario} virtualDurationMs=${r.virtualDurationMs} events=${r.eventCount} traceHash=${r.traceHash}`;
}
