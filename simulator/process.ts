// Why: an operator is a process, and a process can crash or stall. Crashing an XState actor stops the chart, but
// the code inside its invoked promises (a driver's retry loop, a poll) would keep running on the simulator's
// queue and, after a restart, act next to the restored actor: a zombie no real crash leaves behind. SimProcess
// fences every port an incarnation uses: once it is killed, nothing of it runs again (calls never start,
// answers never arrive, sleeps never end). A stall freezes it instead: calls wait to start, answers and timers
// wait to be delivered, and everything resumes in order when the stall ends, with the state intact, which is
// how a long GC pause or a frozen VM loses a lease.
import type { ActorOptions, AnyActorLogic } from 'xstate';

/** XState's clock interface (not exported by name from xstate). */
export type XStateClock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;
import type { ClockPort } from '../drivers/clock/clock.port.ts';
import type { SimKernel } from './kernel.ts';

/** One life of a process, between a start and a crash. */
export interface Incarnation {
  readonly number: number;
  readonly alive: boolean;
}

const NEVER: Promise<never> = new Promise<never>(() => {});
/** One settled promise for "may run now" (awaiting it costs what awaiting a fresh one does). */
const NOW: Promise<void> = Promise.resolve();

export class SimProcess {
  private incarnationNo = 1;
  private aliveFlag = true;
  private stalledUntil: number | undefined;
  private resumeWaiters: Array<() => void> = [];
  private stallTimer: number | undefined;

  constructor(
    readonly party: string,
    private readonly kernel: SimKernel,
  ) {}

  get incarnation(): Incarnation {
    return { number: this.incarnationNo, alive: this.aliveFlag };
  }

  get alive(): boolean {
    return this.aliveFlag;
  }

  get stalled(): boolean {
    return this.stalledUntil !== undefined;
  }

  /** The process dies: nothing of this incarnation runs again. */
  kill(): void {
    if (!this.aliveFlag) return;
    this.aliveFlag = false;
    this.endStall(false);
    this.kernel.emit('process.killed', { party: this.party, incarnation: this.incarnationNo });
  }

  /** A new incarnation starts (after kill). */
  revive(): void {
    if (this.aliveFlag) return;
    this.incarnationNo++;
    this.aliveFlag = true;
    this.kernel.emit('process.started', { party: this.party, incarnation: this.incarnationNo });
  }

  /** Freezes the process for `durationMs` of virtual time (extends a stall in progress). */
  stall(durationMs: number): void {
    if (!this.aliveFlag) return;
    const until = this.kernel.now() + durationMs;
    if (this.stalledUntil !== undefined && this.stalledUntil >= until) return;
    if (this.stallTimer !== undefined) this.kernel.sched.cancel(this.stallTimer);
    this.stalledUntil = until;
    this.kernel.emit('process.stalled', { party: this.party, durationMs });
    this.stallTimer = this.kernel.sched.at(until, `stall.end ${this.party}`, () => this.endStall(true));
  }

  private endStall(emit: boolean): void {
    if (this.stallTimer !== undefined) this.kernel.sched.cancel(this.stallTimer);
    this.stallTimer = undefined;
    if (this.stalledUntil === undefined) return;
    this.stalledUntil = undefined;
    if (emit) this.kernel.emit('process.resumed', { party: this.party });
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    // Killed while stalled: the waiters belong to a dead incarnation and are dropped (never resumed).
    if (this.aliveFlag) for (const w of waiters) w();
  }

  /** Resolves when incarnation `n` may run (now, or at the end of a stall); never, once it is dead. */
  private runnable(n: number): Promise<void> {
    if (!this.aliveFlag || this.incarnationNo !== n) return NEVER;
    if (this.stalledUntil === undefined) return NOW;
    return new Promise<void>((resolve) =>
      this.resumeWaiters.push(() => {
        if (this.aliveFlag && this.incarnationNo === n) resolve();
      }),
    );
  }

  private isCurrent(n: number): boolean {
    return this.aliveFlag && this.incarnationNo === n;
  }

  /** Settles an answer for incarnation `n` only once it may run: at once (no promise hop), after a stall, or never. */
  private deliver<T>(n: number, settle: () => T): T | Promise<T> {
    return this.isCurrent(n) && this.stalledUntil === undefined ? settle() : this.runnable(n).then(settle);
  }

  /**
   * The port as this incarnation sees it: every method waits until the process may run, and its answer
   * (or error) is delivered only to a live, unstalled incarnation. Callback arguments (watch handlers) are
   * fenced the same way. Non-function properties are read through.
   */
  fence<T extends object>(port: T): T {
    const n = this.incarnationNo;
    const wrapCallback = (f: (...a: unknown[]) => unknown) =>
      (...a: unknown[]) => {
        if (!this.isCurrent(n)) return undefined;
        if (this.stalledUntil === undefined) return f(...a);
        void this.runnable(n).then(() => f(...a));
        return undefined;
      };
    // One wrapper per method, made on its first read (a port's methods do not change; a replaced one gets its own).
    const wrapped = new Map<PropertyKey, { v: unknown; w: (...args: unknown[]) => unknown }>();
    return new Proxy(port, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        const hit = wrapped.get(prop);
        if (hit?.v === v) return hit.w;
        const w = (...args: unknown[]) => {
          const fenced = args.some((a) => typeof a === 'function') ? args.map((a) => (typeof a === 'function' ? wrapCallback(a as (...x: unknown[]) => unknown) : a)) : args;
          return this.runnable(n)
            .then(() => (v as (...x: unknown[]) => unknown).apply(target, fenced))
            .then(
              (out) => this.deliver(n, () => out),
              (e: unknown) =>
                this.deliver(n, () => {
                  throw e;
                }),
            );
        };
        wrapped.set(prop, { v, w });
        return w;
      },
    });
  }

  /** A ClockPort for this incarnation: sleeps end only for a live incarnation, after any stall. */
  clock(base: ClockPort): ClockPort {
    const n = this.incarnationNo;
    return {
      now: () => base.now(),
      sleep: (ms, signal) =>
        this.runnable(n)
          .then(() => base.sleep(ms, signal))
          .then(() => this.deliver(n, () => undefined)),
    };
  }

  /** XState's clock for this incarnation: delayed events fire only while it lives, after any stall. */
  xstateClock(base: XStateClock): XStateClock {
    const n = this.incarnationNo;
    return {
      setTimeout: (fn: (...args: any[]) => void, timeout: number) =>
        base.setTimeout((...args: any[]) => {
          if (!this.isCurrent(n)) return;
          if (this.stalledUntil === undefined) fn(...args);
          else void this.runnable(n).then(() => fn(...args));
        }, timeout),
      clearTimeout: (id: any) => base.clearTimeout(id),
    };
  }
}
