// Why: the nemesis. One seed derives every fault knob of a run (swarm style): error rates per operation class,
// latencies, partitions between named parties, process crashes and stalls long enough to lose a lease. The plan
// is plain JSON and is printed first in the trace.
import type { RandomStream } from './prng.ts';

/** The classes of operation a fault rate or latency applies to. */
export const OP_CLASSES = [
  'kube.read',
  'kube.write',
  'kube.watch',
  'globalstate.read',
  'globalstate.write',
  'cloudstack.read',
  'cloudstack.write',
  'cloudstack.job',
  'volumedaemon',
  'inject',
] as const;
export type OpClass = (typeof OP_CLASSES)[number];

export const FAULT_KINDS = ['Conflict', 'Throttled', 'Transient', 'Timeout'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type ErrorRates = Record<FaultKind, number>;

/** Latency = baseMs + a uniform draw in [0, jitterMs]. The lower bound of an operation is its baseMs. */
export interface LatencyModel {
  baseMs: number;
  jitterMs: number;
}

/** How long the world's own machinery takes (pods, volume replication, CloudStack jobs). */
export interface PhysicsModel {
  podStartMs: LatencyModel;
  podStopMs: LatencyModel;
  volumeDemoteMs: LatencyModel;
  volumePromoteMs: LatencyModel;
  volumeResyncMs: LatencyModel;
  fluxReconcileMs: LatencyModel;
  vmBootMs: LatencyModel;
  vmStopMs: LatencyModel;
  snapshotMs: LatencyModel;
  injectMs: LatencyModel;
}

export interface Partition {
  /** The two parties that cannot reach each other (either direction). */
  between: [string, string];
  fromMs: number;
  toMs: number;
}

export interface Crash {
  party: string;
  atMs: number;
  /** How long the process stays down before it restarts and restores from its snapshot. */
  downMs: number;
}

/** A process stall (a long GC pause, a frozen VM): the party does nothing, and may lose its lease meanwhile. */
export interface Stall {
  party: string;
  atMs: number;
  durationMs: number;
}

export type FaultProfile = 'none' | 'calm' | 'swarm';

export interface FaultPlan {
  seed: number;
  profile: FaultProfile;
  /** Offsets are milliseconds from the start of the run. Faults stop at healAtMs (the liveness phase). */
  healAtMs: number;
  /** How long a call that times out takes before it fails. */
  timeoutMs: number;
  errorRates: Record<OpClass, ErrorRates>;
  latency: Record<OpClass, LatencyModel>;
  physics: PhysicsModel;
  partitions: Partition[];
  crashes: Crash[];
  stalls: Stall[];
}

export interface FaultPlanOptions {
  profile: FaultProfile;
  /** The parties that can be partitioned, crashed or stalled (operators, API servers, the global store …). */
  parties: readonly string[];
  /** Of those, the processes that can crash and restart (the operators). */
  crashable?: readonly string[];
  /** How long faults stay on. */
  horizonMs?: number;
}

const NO_ERRORS: ErrorRates = { Conflict: 0, Throttled: 0, Transient: 0, Timeout: 0 };

export const DEFAULT_LATENCY: Record<OpClass, LatencyModel> = {
  'kube.read': { baseMs: 5, jitterMs: 10 },
  'kube.write': { baseMs: 10, jitterMs: 20 },
  'kube.watch': { baseMs: 2, jitterMs: 8 },
  'globalstate.read': { baseMs: 5, jitterMs: 10 },
  'globalstate.write': { baseMs: 10, jitterMs: 15 },
  'cloudstack.read': { baseMs: 20, jitterMs: 30 },
  'cloudstack.write': { baseMs: 40, jitterMs: 60 },
  'cloudstack.job': { baseMs: 500, jitterMs: 1500 },
  volumedaemon: { baseMs: 200, jitterMs: 400 },
  inject: { baseMs: 5_000, jitterMs: 10_000 },
};

export const DEFAULT_PHYSICS: PhysicsModel = {
  podStartMs: { baseMs: 2_000, jitterMs: 3_000 },
  podStopMs: { baseMs: 1_000, jitterMs: 2_000 },
  volumeDemoteMs: { baseMs: 1_500, jitterMs: 1_500 },
  volumePromoteMs: { baseMs: 1_500, jitterMs: 1_500 },
  volumeResyncMs: { baseMs: 3_000, jitterMs: 3_000 },
  fluxReconcileMs: { baseMs: 500, jitterMs: 1_000 },
  vmBootMs: { baseMs: 10_000, jitterMs: 10_000 },
  vmStopMs: { baseMs: 3_000, jitterMs: 4_000 },
  snapshotMs: { baseMs: 2_000, jitterMs: 3_000 },
  injectMs: { baseMs: 5_000, jitterMs: 10_000 },
};

function mapClasses<T>(f: (c: OpClass) => T): Record<OpClass, T> {
  return Object.fromEntries(OP_CLASSES.map((c) => [c, f(c)])) as Record<OpClass, T>;
}

/** The plan with no faults at all: the default latencies and physics, nothing else. */
export function quietPlan(seed: number): FaultPlan {
  return {
    seed,
    profile: 'none',
    healAtMs: 0,
    timeoutMs: 10_000,
    errorRates: mapClasses(() => ({ ...NO_ERRORS })),
    latency: mapClasses((c) => ({ ...DEFAULT_LATENCY[c] })),
    physics: structuredClone(DEFAULT_PHYSICS),
    partitions: [],
    crashes: [],
    stalls: [],
  };
}

/**
 * Derives a plan from the seed. `calm` keeps rates low and has no partitions or crashes; `swarm` switches each
 * fault family on or off by coin flip and draws its intensity, so that thousands of seeds explore different
 * mixtures (Groce et al., "Swarm Testing").
 */
export function deriveFaultPlan(seed: number, rnd: RandomStream, options: FaultPlanOptions): FaultPlan {
  const plan = quietPlan(seed);
  plan.profile = options.profile;
  if (options.profile === 'none') return plan;
  const horizonMs = options.horizonMs ?? 60_000;
  plan.healAtMs = horizonMs;
  plan.timeoutMs = rnd.int(2, 15) * 1_000;
  const swarm = options.profile === 'swarm';
  const maxRate = swarm ? 0.25 : 0.03;
  for (const c of OP_CLASSES) {
    const rates: ErrorRates = { ...NO_ERRORS };
    for (const k of FAULT_KINDS) {
      const on = swarm ? rnd.chance(0.5) : true;
      rates[k] = on ? Math.round(rnd.between(0, maxRate) * 1000) / 1000 : 0;
    }
    plan.errorRates[c] = rates;
    const base = DEFAULT_LATENCY[c];
    const slow = swarm && rnd.chance(0.2) ? rnd.int(2, 10) : 1;
    plan.latency[c] = { baseMs: base.baseMs, jitterMs: base.jitterMs * slow };
  }
  if (!swarm) return plan;
  const parties = [...options.parties];
  if (parties.length >= 2 && rnd.chance(0.5)) {
    const n = rnd.int(1, 3);
    for (let i = 0; i < n; i++) {
      const a = rnd.pick(parties);
      const others = parties.filter((p) => p !== a);
      const b = rnd.pick(others);
      const fromMs = rnd.int(0, horizonMs);
      plan.partitions.push({ between: [a, b], fromMs, toMs: Math.min(horizonMs, fromMs + rnd.int(1_000, 30_000)) });
    }
  }
  const crashable = [...(options.crashable ?? [])];
  if (crashable.length && rnd.chance(0.5)) {
    const n = rnd.int(1, 3);
    for (let i = 0; i < n; i++) {
      plan.crashes.push({ party: rnd.pick(crashable), atMs: rnd.int(0, horizonMs), downMs: rnd.int(500, 20_000) });
    }
    plan.crashes.sort((x, y) => x.atMs - y.atMs);
  }
  if (crashable.length && rnd.chance(0.3)) {
    plan.stalls.push({ party: rnd.pick(crashable), atMs: rnd.int(0, horizonMs), durationMs: rnd.int(5_000, 90_000) });
  }
  return plan;
}

/** The plan as trace header lines: `fault-plan key=value …`, one per family. */
export function describePlan(plan: FaultPlan): string[] {
  const lines = [`fault-plan seed=${plan.seed} profile=${plan.profile} healAtMs=${plan.healAtMs} timeoutMs=${plan.timeoutMs}`];
  for (const c of OP_CLASSES) {
    const r = plan.errorRates[c];
    const l = plan.latency[c];
    lines.push(
      `fault-plan op=${c} conflict=${r.Conflict} throttled=${r.Throttled} transient=${r.Transient} timeout=${r.Timeout} latencyMs=${l.baseMs}+${l.jitterMs}`,
    );
  }
  for (const p of plan.partitions) lines.push(`fault-plan partition=${p.between.join('|')} fromMs=${p.fromMs} toMs=${p.toMs}`);
  for (const c of plan.crashes) lines.push(`fault-plan crash=${c.party} atMs=${c.atMs} downMs=${c.downMs}`);
  for (const s of plan.stalls) lines.push(`fault-plan stall=${s.party} atMs=${s.atMs} durationMs=${s.durationMs}`);
  return lines;
}
