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
