// Why: the simulator's only source of time. It keeps every pending event (latencies, controller work, XState's
// own `after` timers through its SimulatedClock) in one queue, advances virtual time to the next one, and drains
// promise microtasks between events, so one seed gives one order of events.
import { SimulatedClock } from 'xstate';

export type TimerId = number;

interface Entry {
  atMs: number;
  seq: number;
  id: TimerId;
  label: string;
  fn: () => void;
}

/** A binary min-heap on (atMs, seq): ties keep their scheduling order. */
class EventHeap {
  readonly items: Entry[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Entry | undefined {
    return this.items[0];
  }
  push(e: Entry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, a[p])) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = e;
  }
  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      // Sift `last` down from the root: children move up into the hole until `last` fits.
      const n = a.length;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && less(a[r], a[l]) ? r : l;
        if (!less(a[m], last)) break;
        a[i] = a[m];
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}
function less(x: Entry, y: Entry): boolean {
  return x.atMs < y.atMs || (x.atMs === y.atMs && x.seq < y.seq);
}

/**
 * XState's SimulatedClock, driven by the scheduler: every timer an actor sets also wakes the scheduler at its
 * due time, and the scheduler moves the clock there (which fires the actor's timers in order).
 */
class DrivenSimulatedClock extends SimulatedClock {
  constructor(private readonly onTimer: (dueMs: number) => void) {
    super();
  }
  override setTimeout(fn: (...args: any[]) => void, timeout: number): number {
    const id = super.setTimeout(fn, timeout);
    this.onTimer(this.now() + Math.max(0, timeout));
    return id;
  }
}

/**
 * Waits for every pending promise reaction. A macrotask boundary runs only after the whole microtask queue is
 * empty, and no real I/O or timer runs in the simulated world, so this is deterministic.
 */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Waits for every pending promise reaction without a trip through the event loop: Node runs nextTick callbacks
 * only once the microtask queue is empty. Complete only when no code in play queues nextTick callbacks of its own
 * (streams, real I/O clients do): see Scheduler.closedWorld.
 */
function drainMicrotasksOnly(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

/** In a closed world the run loop still yields to the event loop this often (events), so the process stays responsive. */
const YIELD_EVERY_EVENTS = 256;

/** A sleep with an abort signal: its own abort listener (handleEvent), so a sleep allocates no closures for it. */
class AbortableSleep {
  id: TimerId = 0;
  constructor(
    private readonly sched: Scheduler,
    private readonly signal: AbortSignal,
    private readonly resolve: () => void,
    private readonly reject: (reason: unknown) => void,
  ) {}

  wake(): void {
    this.signal.removeEventListener('abort', this);
    this.resolve();
  }

  handleEvent(): void {
    this.sched.cancel(this.id);
    this.reject(this.signal.reason);
  }
}

/** A pending event as a fork sees it: everything but the callback. */
export interface PendingEvent {
  readonly atMs: number;
  readonly seq: number;
  readonly id: TimerId;
  readonly label: string;
}

/** What a scheduler that has not run yet holds, for another one to take over (see Scheduler.adopt). */
export interface SchedulerState {
  /** Every event still in the queue (cancelled ones included), in the order they were scheduled. */
  events: PendingEvent[];
  cancelled: TimerId[];
  seq: number;
  nextId: number;
  nowMs: number;
}

export interface RunLimits {
  /** Stop before the first event later than this virtual time. */
  untilMs?: number;
  /** Stop after this many events (a bound on every loop). */
  maxEvents?: number;
  /** Stop as soon as this returns true (checked after each event). */
  stopWhen?: () => boolean;
  /** Called after each event, with its label; a throw ends the run with that error. */
  afterEvent?: (label: string) => void;
}

export interface RunResult {
  events: number;
  reason: 'idle' | 'until' | 'maxEvents' | 'stopped';
  nowMs: number;
}

export class Scheduler {
  /** Pass this to createActor({ clock }) so XState's timers run on virtual time. */
  readonly xstateClock: SimulatedClock;
  private readonly heap = new EventHeap();
  private readonly cancelled = new Set<TimerId>();
  private seq = 0;
  private nextId = 1;
  private nowMs: number;
  private holds = 0;
  private processed = 0;
  /**
   * Set when nothing outside the simulated world takes part in the run (no real I/O, no HTTP clients or servers,
   * no outside timers): events then drain their promise reactions through process.nextTick instead of a
   * setImmediate round trip per event. The order of events is the same either way; only the cost differs.
   */
  closedWorld = false;

  constructor(readonly epochMs: number) {
    this.nowMs = epochMs;
    this.xstateClock = new DrivenSimulatedClock((dueMs) => this.at(dueMs, 'xstate.timer', () => {}));
    this.xstateClock.set(epochMs);
  }

  now(): number {
    return this.nowMs;
  }

  /** Events processed so far, over every run. */
  get eventsProcessed(): number {
    return this.processed;
  }

  get pending(): number {
    return this.heap.size - this.cancelled.size;
  }

  at(atMs: number, label: string, fn: () => void): TimerId {
    const id = this.nextId++;
    this.heap.push({ atMs: Math.max(atMs, this.nowMs), seq: this.seq++, id, label, fn });
    return id;
  }

  after(delayMs: number, label: string, fn: () => void): TimerId {
    return this.at(this.nowMs + Math.max(0, delayMs), label, fn);
  }

  /** What this scheduler holds (before it has run): see adopt. */
  state(): SchedulerState {
    if (this.processed !== 0) throw new Error('Scheduler.state: the scheduler has already run');
    const events = this.heap.items.map(({ atMs, seq, id, label }) => ({ atMs, seq, id, label })).sort((a, b) => a.seq - b.seq);
    return { events, cancelled: [...this.cancelled], seq: this.seq, nextId: this.nextId, nowMs: this.nowMs };
  }

  /**
   * Takes over another scheduler's pending events, as if they had been scheduled here in the same order with the
   * same ids: `bind` gives each live event its callback here (and, optionally, another due time). This scheduler
   * must be new (nothing scheduled, never run, same time); an event `bind` does not know is an error.
   */
  adopt(from: SchedulerState, bind: (e: PendingEvent) => { fn: () => void; atMs?: number } | undefined): void {
    if (this.heap.size !== 0 || this.processed !== 0 || this.seq !== 0 || this.nowMs !== from.nowMs) throw new Error('Scheduler.adopt: this scheduler is not new');
    const cancelled = new Set(from.cancelled);
    for (const e of from.events) {
      const bound = cancelled.has(e.id) ? { fn: () => {} } : bind(e);
      if (!bound) throw new Error(`Scheduler.adopt: no callback for event ${e.id} (${e.label})`);
      this.heap.push({ atMs: Math.max(bound.atMs ?? e.atMs, this.nowMs), seq: e.seq, id: e.id, label: e.label, fn: bound.fn });
    }
    for (const id of cancelled) this.cancelled.add(id);
    this.seq = from.seq;
    this.nextId = from.nextId;
  }

  cancel(id: TimerId): void {
    this.cancelled.add(id);
  }

  /** Resolves after `ms` of virtual time; rejects with the signal's reason when aborted first. */
  sleep(ms: number, signal?: AbortSignal, label = 'sleep'): Promise<void> {
    if (!signal) return new Promise<void>((resolve) => void this.after(ms, label, resolve));
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const sleep = new AbortableSleep(this, signal, resolve, reject);
      sleep.id = this.after(ms, label, () => sleep.wake());
      signal.addEventListener('abort', sleep, { once: true });
    });
  }

  /**
   * Marks real (outside) work in flight, such as an HTTP request to a simulated API server: while any hold
   * is open the scheduler waits in real time instead of advancing virtual time. Returns the release.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.holds--;
      }
    };
  }

  /** Runs events in virtual-time order until idle or a limit. */
  async run(limits: RunLimits = {}): Promise<RunResult> {
    let events = 0;
    const maxEvents = limits.maxEvents ?? Number.POSITIVE_INFINITY;
    await this.settle();
    for (;;) {
      if (limits.stopWhen?.()) return { events, reason: 'stopped', nowMs: this.nowMs };
      if (events >= maxEvents) return { events, reason: 'maxEvents', nowMs: this.nowMs };
      const next = this.popLive();
      if (!next) return { events, reason: 'idle', nowMs: this.nowMs };
      if (limits.untilMs !== undefined && next.atMs > limits.untilMs) {
        this.heap.push(next);
        this.nowMs = Math.max(this.nowMs, limits.untilMs);
        this.xstateClock.set(this.nowMs);
        return { events, reason: 'until', nowMs: this.nowMs };
      }
      this.nowMs = next.atMs;
      this.xstateClock.set(this.nowMs);
      next.fn();
      events++;
      this.processed++;
      if (this.closedWorld && this.holds === 0 && this.processed % YIELD_EVERY_EVENTS !== 0) await drainMicrotasksOnly();
      else await this.settle();
      limits.afterEvent?.(next.label);
    }
  }

  private popLive(): Entry | undefined {
    for (;;) {
      const e = this.heap.pop();
      if (!e) return undefined;
      if (this.cancelled.delete(e.id)) continue;
      return e;
    }
  }

  /** Drains microtasks, then waits out any outside work in flight. */
  private async settle(): Promise<void> {
    await drainMicrotasks();
    while (this.holds > 0) await drainMicrotasks();
  }
}
