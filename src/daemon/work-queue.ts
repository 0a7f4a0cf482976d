// Why: reconcilers are level-based (controller-runtime style): an informer event only says "look at this key
// again". The queue coalesces repeated keys, never runs one key twice at once, bounds concurrency, and retries a
// failed key with a capped exponential backoff on the injected clock (so it runs the same in the simulator).
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';

export interface WorkQueueOptions {
  name: string;
  clock: ClockPort;
  log: Logger;
  /** Reconciles one key; a rejection retries it after a backoff. */
  handler: (key: string) => Promise<void>;
  /** Keys worked on at once (default 4). */
  concurrency?: number;
  backoff?: { baseMs: number; maxMs: number };
}

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly processing = new Set<string>();
  /** Added again while being processed: run once more after. */
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly abort = new AbortController();
  private workers = 0;
  private readonly idleWaiters: Array<() => void> = [];
  /** Keys with a retry or a delayed add already scheduled: one timer per key, however often it fails. */
  private readonly scheduled = new Set<string>();
  /** Keys processed so far (for stats and tests). */
  processed = 0;

  constructor(private readonly opts: WorkQueueOptions) {
    // Every key waiting for a retry listens on the one stop signal; thousands of groups are normal.
    setMaxListeners(0, this.abort.signal);
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  get depth(): number {
    return this.pending.size + this.processing.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.again.add(key);
      return;
    }
    this.pending.add(key);
    this.pump();
  }

  /** Adds the key after `ms` (a retry or a scheduled look); a key already scheduled keeps its earlier timer. */
  addAfter(key: string, ms: number): void {
    if (this.stopped || this.scheduled.has(key)) return;
    this.scheduled.add(key);
    this.opts.clock.sleep(ms, this.abort.signal).then(
      () => {
        this.scheduled.delete(key);
        this.add(key);
      },
      () => this.scheduled.delete(key),
    );
  }

  stop(): void {
    if (this.stopped) return;
    this.abort.abort(new Error(`work queue ${this.opts.name} stopped`));
    this.pending.clear();
    this.again.clear();
    this.notifyIdle();
  }

  /** Resolves when nothing is pending or processing. */
  idle(): Promise<void> {
    if (this.depth === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    const max = this.opts.concurrency ?? 4;
    while (this.workers < max && this.pending.size > 0 && !this.stopped) {
      this.workers++;
      void this.work();
    }
  }

  private async work(): Promise<void> {
    try {
      while (!this.stopped) {
        const next = this.pending.values().next();
        if (next.done) break;
        const key = next.value;
        this.pending.delete(key);
        this.processing.add(key);
        try {
          await this.opts.handler(key);
          this.failures.delete(key);
        } catch (e) {
          if (this.stopped) break;
          const n = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, n);
          const b = this.opts.backoff ?? { baseMs: 500, maxMs: 60_000 };
          const delayMs = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(n - 1, 20));
          this.opts.log.warn({ queue: this.opts.name, key, attempt: n, delayMs, err: (e as Error)?.message }, 'Could not reconcile; retrying');
          this.addAfter(key, delayMs);
        } finally {
          this.processing.delete(key);
          this.processed++;
          if (this.again.delete(key)) this.pending.add(key);
        }
      }
    } finally {
      this.workers--;
      if (this.depth === 0) this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
