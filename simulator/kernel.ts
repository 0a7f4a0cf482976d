// Why: the core every simulated component shares: virtual time, seeded randomness, the fault plan, the trace,
// the invariants, and `call`, the one place where a simulated request meets latency, partitions and faults.
import { DriverError } from '../drivers/errors.ts';
import { deriveFaultPlan, describePlan, quietPlan, type FaultPlan, type FaultPlanOptions, type LatencyModel, type OpClass } from './faults.ts';
import { Prng } from './prng.ts';
import { Scheduler, type RunLimits, type RunResult } from './scheduler.ts';
import { Trace, type TraceValue } from './trace.ts';

/** 2026-01-01T00:00:00Z: virtual time starts here in every run. */
export const SIM_EPOCH_MS = 1_767_225_600_000;

export interface KernelOptions {
  seed: number;
  /** A plan given outright, or the options to derive one from the seed. Default: no faults. */
  plan?: FaultPlan | FaultPlanOptions;
  keepTraceLines?: boolean;
  traceSink?: (line: string) => void;
  /**
   * Virtual time at the start, in Unix milliseconds (default SIM_EPOCH_MS). A world served to clients on the wall
   * clock starts at the wall time, so its timestamps and theirs agree; runs replay from the same epoch.
   */
  epochMs?: number;
}

/** Who calls whom, and what: partitions and crashes are checked on the route. */
export interface Route {
  from: string;
  to: string;
  /** The operation's name, for the trace and errors (`kube.patch`, `globalstate.acquireLock`). */
  op: string;
  /** Extra trace fields (the object's name, for example). */
  detail?: string;
}

export interface Invariant {
  name: string;
  /** `always`: checked after every event while faults are on and after. `eventually`: checked at the end. */
  kind: 'always' | 'eventually';
  /** Returns undefined when it holds, or what is wrong. */
  check(): string | undefined;
}

export interface InvariantResult {
  name: string;
  kind: 'always' | 'eventually';
  held: boolean;
  atMs?: number;
  message?: string;
}

/** Raised inside the run loop when an `always` invariant breaks; the run ends with it. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  constructor(
    readonly invariant: string,
    readonly atMs: number,
    message: string,
  ) {
    super(`invariant ${invariant} violated at T+${atMs}ms: ${message}`);
  }
}

/** The faults a request may draw, in the order their rates are summed. */
const INJECTED_KINDS = ['Conflict', 'Throttled', 'Transient', 'Timeout'] as const;

export class SimKernel {
  readonly seed: number;
  readonly sched: Scheduler;
  readonly prng: Prng;
  readonly plan: FaultPlan;
  readonly trace: Trace;
  readonly startMs: number;
  private readonly invariants: Invariant[] = [];
  private readonly violations = new Map<string, InvariantResult>();
  private readonly down = new Set<string>();
  private readonly partyListeners = new Set<(party: string, isDown: boolean) => void>();
  private readonly faultRnd;
  private readonly latencyRnd;

  constructor(options: KernelOptions) {
    this.seed = options.seed;
    this.prng = new Prng(options.seed);
    const epochMs = options.epochMs ?? SIM_EPOCH_MS;
    if (!Number.isSafeInteger(epochMs) || epochMs < 0) throw new RangeError(`epochMs must be a non-negative whole number of milliseconds, got ${epochMs}`);
    this.startMs = epochMs;
    this.sched = new Scheduler(epochMs);
    const p = options.plan;
    this.plan = p === undefined ? quietPlan(options.seed) : 'errorRates' in p ? p : deriveFaultPlan(options.seed, this.prng.stream('fault-plan'), p);
    this.faultRnd = this.prng.stream('faults');
    this.latencyRnd = this.prng.stream('latency');
    this.trace = new Trace(() => this.sched.now(), { epochMs, keepLines: options.keepTraceLines ?? true, sink: options.traceSink });
    this.trace.raw(`seed=${options.seed}`);
    for (const line of describePlan(this.plan)) this.trace.raw(line);
  }

  now(): number {
    return this.sched.now();
  }

  /** Milliseconds since the run started. */
  elapsed(): number {
    return this.sched.now() - this.startMs;
  }

  get faultsOn(): boolean {
    return this.elapsed() < this.plan.healAtMs;
  }

  emit(event: string, fields?: Record<string, TraceValue>): void {
    this.trace.emit(event, fields);
  }

  /** A latency drawn from a model (base plus seeded jitter). */
  draw(model: LatencyModel, stream = this.latencyRnd): number {
    return model.baseMs + (model.jitterMs > 0 ? stream.int(0, model.jitterMs) : 0);
  }

  /** Marks a party (a process, an API server) down or up; calls to or from a down party fail. */
  setDown(party: string, isDown: boolean): void {
    if (isDown) this.down.add(party);
    else this.down.delete(party);
    this.emit(isDown ? 'party.down' : 'party.up', { party });
    for (const l of [...this.partyListeners]) l(party, isDown);
  }

  /** Calls `listener` whenever a party goes down or comes back up (a watch ends when its API server goes down). */
  onPartyChange(listener: (party: string, isDown: boolean) => void): () => void {
    this.partyListeners.add(listener);
    return () => this.partyListeners.delete(listener);
  }

  isDown(party: string): boolean {
    return this.down.has(party);
  }

  partitioned(a: string, b: string): boolean {
    const t = this.elapsed();
    return this.plan.partitions.some(
      (p) => t >= p.fromMs && t < p.toMs && ((p.between[0] === a && p.between[1] === b) || (p.between[0] === b && p.between[1] === a)),
    );
  }

  /**
   * One simulated request: latency from the plan, then a partition, a down party, or a seeded fault may fail
   * it. A Timeout may still apply the operation (the answer is lost), as real timeouts do, so callers must be
   * idempotent. `apply` runs half-way through the latency.
   */
  async call<T>(opClass: OpClass, route: Route, apply: () => T | Promise<T>, driver = opClass.split('.')[0]): Promise<T> {
    const latencyMs = this.draw(this.plan.latency[opClass]);
    if (this.isDown(route.to) || this.isDown(route.from)) {
      await this.sched.sleep(latencyMs);
      throw this.fault(route, driver, 'Transient', 'Unavailable', `${route.to} is unavailable`);
    }
    if (this.partitioned(route.from, route.to)) {
      await this.sched.sleep(this.plan.timeoutMs);
      throw this.fault(route, driver, 'Transient', 'Timeout', `${route.op} from ${route.from} to ${route.to} timed out (partition)`);
    }
    if (this.faultsOn) {
      const rates = this.plan.errorRates[opClass];
      const r = this.faultRnd.float();
      let acc = 0;
      for (const kind of INJECTED_KINDS) {
        acc += rates[kind];
        if (r < acc) {
          if (kind === 'Timeout') {
            await this.sched.sleep(latencyMs / 2);
            const applied = this.faultRnd.chance(0.5);
            if (applied) await apply();
            await this.sched.sleep(this.plan.timeoutMs);
            throw this.fault(route, driver, 'Transient', 'Timeout', `${route.op} timed out${applied ? ' (applied)' : ''}`);
          }
          await this.sched.sleep(latencyMs);
          const reason = kind === 'Conflict' ? 'Conflict' : kind === 'Throttled' ? 'TooManyRequests' : 'InternalError';
          throw this.fault(route, driver, kind, reason, `${route.op}: injected ${kind}`);
        }
      }
    }
    const half = Math.floor(latencyMs / 2);
    await this.sched.sleep(half);
    if (this.isDown(route.to)) {
      await this.sched.sleep(latencyMs - half);
      throw this.fault(route, driver, 'Transient', 'Unavailable', `${route.to} went down during ${route.op}`);
    }
    const result = await apply();
    await this.sched.sleep(latencyMs - half);
    return result;
  }

  /**
   * The error of a failed simulated request, traced. It carries no stack frames: it is an expected answer (every
   * caller handles it by kind, and its frames would only show this kernel), and walking the async stack of every
   * injected fault was a visible share of a run.
   */
  private fault(route: Route, driver: string, kind: DriverError['kind'], reason: string, message: string): DriverError {
    this.emit('call.fault', { op: route.op, from: route.from, to: route.to, kind, reason, detail: route.detail });
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new DriverError(kind, driver, route.op, message, { reason });
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  addInvariant(inv: Invariant): void {
    this.invariants.push(inv);
  }

  /** Checks every `always` invariant; the first violation of each is kept, and thrown when `throwOnViolation`. */
  checkAlways(throwOnViolation = true): void {
    for (const inv of this.invariants) {
      if (inv.kind !== 'always' || this.violations.has(inv.name)) continue;
      const message = inv.check();
      if (message !== undefined) {
        this.violations.set(inv.name, { name: inv.name, kind: 'always', held: false, atMs: this.elapsed(), message });
        this.emit('invariant.violated', { name: inv.name, message });
        if (throwOnViolation) throw new InvariantViolation(inv.name, this.elapsed(), message);
      }
    }
  }

  /** Checks every `eventually` invariant now, and reports all of them. */
  invariantResults(): InvariantResult[] {
    return this.invariants.map((inv) => {
      const seen = this.violations.get(inv.name);
      if (seen) return seen;
      if (inv.kind === 'eventually') {
        const message = inv.check();
        if (message !== undefined) return { name: inv.name, kind: inv.kind, held: false, atMs: this.elapsed(), message };
      }
      return { name: inv.name, kind: inv.kind, held: true };
    });
  }

  /**
   * Runs the world until `promise` settles, then returns its outcome. This is how code outside the world
   * (tests, the CLI) awaits something that takes virtual time.
   */
  async resolve<T>(promise: Promise<T>, limits: Omit<RunLimits, 'stopWhen'> = {}): Promise<T> {
    let settled = false;
    const watched = promise.then(
      (v) => {
        settled = true;
        return v;
      },
      (e: unknown) => {
        settled = true;
        throw e;
      },
    );
    watched.catch(() => {});
    await this.run({ ...limits, stopWhen: () => settled });
    if (!settled) throw new Error('SimKernel.resolve: the world went idle (or hit a limit) before the promise settled');
    return watched;
  }

  /** Runs the world; `always` invariants are checked after every event. */
  run(limits: RunLimits = {}): Promise<RunResult> {
    const after = limits.afterEvent;
    return this.sched.run({
      ...limits,
      afterEvent: (label) => {
        this.checkAlways(true);
        after?.(label);
      },
    });
  }
}
