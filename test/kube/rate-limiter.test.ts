// Why: the driver's client-side rate limit must let a burst through at once and then space requests at 1/QPS,
// in call order; checked on virtual time, so the assertions are exact and take no wall-clock time.
import { describe, expect, it } from 'vitest';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { DEFAULT_BURST, DEFAULT_QPS, TokenBucket } from '../../drivers/cluster/rate-limiter.ts';
import { SimKernel } from '../../simulator/kernel.ts';

describe('kubernetes driver: rate limiter', () => {
  it('rate limiter: the burst (10) goes at once, then one request per 200 ms (QPS 5), in call order', async () => {
    const k = new SimKernel({ seed: 1 });
    const bucket = new TokenBucket({ qps: DEFAULT_QPS, burst: DEFAULT_BURST, clock: simClock(k.sched) });
    const granted: { i: number; atMs: number }[] = [];
    const all = Array.from({ length: 15 }, (_, i) => bucket.take().then(() => granted.push({ i, atMs: k.elapsed() })));
    await k.resolve(Promise.all(all));
    expect(granted.map((g) => g.i)).toEqual([...Array(15).keys()]);
    expect(granted.map((g) => g.atMs)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 400, 600, 800, 1000]);
  });

  it('rate limiter: an idle bucket refills up to the burst, never beyond', async () => {
    const k = new SimKernel({ seed: 1 });
    const bucket = new TokenBucket({ qps: 5, burst: 3, clock: simClock(k.sched) });
    await k.resolve(Promise.all([bucket.take(), bucket.take(), bucket.take()]));
    expect(bucket.delayMs()).toBe(200);
    await k.resolve(k.sched.sleep(10_000));
    expect(bucket.delayMs()).toBe(0);
    const times: number[] = [];
    const t0 = k.elapsed();
    await k.resolve(Promise.all(Array.from({ length: 5 }, () => bucket.take().then(() => times.push(k.elapsed() - t0)))));
    expect(times).toEqual([0, 0, 0, 200, 400]);
  });

  it('rate limiter: an aborted wait rejects with the reason and gives its token back', async () => {
    const k = new SimKernel({ seed: 1 });
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock: simClock(k.sched) });
    await k.resolve(bucket.take());
    const ac = new AbortController();
    const waiting = bucket.take(ac.signal);
    k.sched.after(100, 'abort', () => ac.abort(new Error('caller gave up')));
    await expect(k.resolve(waiting)).rejects.toThrow('caller gave up');
    // The aborted reservation is returned: the next caller waits only for the first token's refill.
    const t0 = k.elapsed();
    await k.resolve(bucket.take());
    expect(k.elapsed() - t0).toBe(900);
  });

  it('rate limiter: qps 0 turns it off; a bad burst is refused', async () => {
    const k = new SimKernel({ seed: 1 });
    const off = new TokenBucket({ qps: 0, burst: 1, clock: simClock(k.sched) });
    await k.resolve(Promise.all(Array.from({ length: 100 }, () => off.take())));
    expect(k.elapsed()).toBe(0);
    expect(() => new TokenBucket({ qps: 5, burst: 0, clock: simClock(k.sched) })).toThrow(/burst must be an integer >= 1/);
  });

  it('rate limiter: the driver waits for tokens before sending (11th request of a burst is 200 ms later)', async () => {
    const { kubeHttpHarness } = await import('./kube-harness.ts');
    const h = await kubeHttpHarness();
    try {
      const { Kinds } = await import('../../drivers/cluster/cluster.port.ts');
      h.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
      // Discovery takes one token; 10 gets then follow: the last of them must wait for a refill.
      const t0 = h.kernel.elapsed();
      const done: number[] = [];
      await h.settle(Promise.all(Array.from({ length: 10 }, (_, i) => h.driver.get({ ...Kinds.ConfigMap, namespace: 'app', name: `x${i}` }).then(() => done.push(h.kernel.elapsed() - t0)))));
      expect(Math.max(...done)).toBeGreaterThanOrEqual(200);
      expect(h.server.stats().byVerb).toEqual({ discovery: 1, get: 10 });
    } finally {
      await h.dispose();
    }
  });
});
