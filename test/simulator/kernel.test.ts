// Why: the kernel is the root of determinism: one seed, one order of events, one trace.
import { createActor, createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../simulator/prng.ts';
import { SimKernel } from '../../simulator/kernel.ts';

async function busyRun(seed: number): Promise<string> {
  const k = new SimKernel({ seed, plan: { profile: 'swarm', parties: ['a', 'b', 'c'], crashable: ['a'] } });
  const work = async (i: number) => {
    for (let n = 0; n < 5; n++) {
      try {
        await k.call('kube.write', { from: 'a', to: i % 2 ? 'b' : 'c', op: `op${i}` }, () => k.emit('applied', { i, n }));
      } catch (e) {
        k.emit('failed', { i, n, error: (e as Error).message });
      }
    }
  };
  for (let i = 0; i < 10; i++) void work(i);
  await k.run();
  return k.trace.text();
}

describe('simulator kernel', () => {
  it('prng: named streams are independent and reproducible', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const xs = [a.stream('x').int(0, 1e6), a.stream('x').int(0, 1e6)];
    b.stream('y').int(0, 10); // drawing from another stream does not shift 'x'
    expect([b.stream('x').int(0, 1e6), b.stream('x').int(0, 1e6)]).toEqual(xs);
    expect(new Prng(8).stream('x').int(0, 1e6)).not.toBe(xs[0]);
  });

  it('prng: a negative seed is refused', () => {
    expect(() => new Prng(-1)).toThrow(/non-negative/);
  });

  it('scheduler: events run in virtual-time order, ties in scheduling order', async () => {
    const k = new SimKernel({ seed: 1 });
    const seen: string[] = [];
    k.sched.after(20, 'b', () => seen.push('b@20'));
    k.sched.after(10, 'a', () => seen.push('a@10'));
    k.sched.after(20, 'c', () => seen.push('c@20'));
    const r = await k.run();
    expect(seen).toEqual(['a@10', 'b@20', 'c@20']);
    expect(r.nowMs - k.startMs).toBe(20);
  });

  it('scheduler: drives XState `after` timers on virtual time', async () => {
    const k = new SimKernel({ seed: 1 });
    const m = createMachine({ initial: 'a', states: { a: { after: { 5000: 'b' } }, b: { type: 'final' } } });
    const actor = createActor(m, { clock: k.sched.xstateClock }).start();
    await k.run();
    expect(actor.getSnapshot().value).toBe('b');
    expect(k.elapsed()).toBe(5000);
  });

  it('determinism: one seed gives a byte-identical trace; another seed a different one', async () => {
    const one = await busyRun(42);
    expect(await busyRun(42)).toBe(one);
    expect(await busyRun(43)).not.toBe(one);
    expect(one.split('\n')[0]).toBe('seed=42');
  });

  it('scheduler: a closed world drains promise reactions without the event loop, in the same order of events', async () => {
    // Chains of awaits of different depths, started by events and scheduling further events: any reaction left
    // behind by a drain would run after the next event and change the order.
    const script = async (closedWorld: boolean): Promise<string[]> => {
      const k = new SimKernel({ seed: 9, plan: { profile: 'swarm', parties: ['a', 'b'], crashable: [] } });
      k.sched.closedWorld = closedWorld;
      const seen: string[] = [];
      const chain = async (name: string, depth: number): Promise<void> => {
        for (let d = 0; d < depth; d++) await Promise.resolve();
        seen.push(`${name}@${k.elapsed()}`);
      };
      for (let i = 0; i < 600; i++) {
        k.sched.after(i % 7, `e${i}`, () => {
          void chain(`c${i}`, (i * 13) % 40).then(() => k.sched.after(1, `f${i}`, () => seen.push(`f${i}@${k.elapsed()}`)));
        });
      }
      for (let i = 0; i < 20; i++) {
        void k
          .call('kube.write', { from: 'a', to: 'b', op: `op${i}` }, () => seen.push(`apply${i}@${k.elapsed()}`))
          .then(
            () => seen.push(`done${i}@${k.elapsed()}`),
            (e: Error) => seen.push(`failed${i}:${e.message}`),
          );
      }
      await k.run();
      return seen;
    };
    const open = await script(false);
    expect(open.length).toBeGreaterThan(1_200);
    expect(await script(true)).toEqual(open);
  });

  it('faults: a partition turns calls into timeouts until it heals', async () => {
    const k = new SimKernel({ seed: 3 });
    k.plan.partitions.push({ between: ['a', 'b'], fromMs: 0, toMs: 60_000 });
    await expect(k.resolve(k.call('kube.read', { from: 'a', to: 'b', op: 'get' }, () => 1))).rejects.toMatchObject({ kind: 'Transient', reason: 'Timeout' });
    await k.resolve(k.sched.sleep(60_000));
    await expect(k.resolve(k.call('kube.read', { from: 'a', to: 'b', op: 'get' }, () => 1))).resolves.toBe(1);
  });
});
