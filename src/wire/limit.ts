// Why: work on independent resources (one VolumeReplication, one workload, one VirtualService) runs concurrently,
// with a bound on requests in flight, so a failover's duration approaches its critical path without flooding an
// API server. Every failure is collected; the first is thrown after all have settled (no orphaned work).

/** Maps `items` through `fn` with at most `limit` in flight; resolves in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const bound = Math.max(1, Math.floor(limit));
  const results = new Array<R>(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      try {
        results[i] = await fn(items[i], i);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(bound, items.length) }, worker));
  if (errors.length) throw errors[0];
  return results;
}

/**
 * A bound on requests in flight shared by many concurrent tasks: a task holds a slot only while its request runs
 * (a write), never while it waits on a watch, so N waits proceed in parallel while at most `limit` writes do.
 */
export class Limiter {
  private readonly bound: number;
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(limit: number) {
    this.bound = Math.max(1, Math.floor(limit));
  }

  /** Runs `fn` once a slot is free (FIFO); rejects with the signal's reason if it aborts while queued. */
  async run<R>(fn: () => Promise<R>, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) throw signal.reason;
    if (this.active >= this.bound) {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.queue.indexOf(grant);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.queue.push(grant);
      });
    } else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
