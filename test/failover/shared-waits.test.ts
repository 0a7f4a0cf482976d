// Why: a step's waits on many objects of one kind share one list and one watch (src/wire/shared-waits.ts); these
// pin that they still resolve on the right events, count the lists, and bound the writes while waits hold no slot.
import { describe, expect, it } from 'vitest';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { Kinds, type ClusterPort } from '../../drivers/cluster/cluster.port.ts';
import { DriverError } from '../../drivers/errors.ts';
import { Limiter } from '../../src/wire/limit.ts';
import { SharedWaits } from '../../src/wire/shared-waits.ts';
import { waitFor } from '../../src/wire/watch-wait.ts';
import { SimWorld } from '../../simulator/world.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { crds } from './world-harness.ts';

const world = () => SimWorld.build({ seed: 3, scenario: scenarioByName('sample'), crds: crds() });
const web = { ...Kinds.Deployment, namespace: 'shop', name: 'web' };

function countingLists(port: ClusterPort): { port: ClusterPort; lists: () => number } {
  let lists = 0;
  const counted: ClusterPort = Object.create(port) as ClusterPort;
  counted.list = (gvk, opts) => {
    lists++;
    return port.list(gvk, opts);
  };
  return { port: counted, lists: () => lists };
}

describe('wire: shared waits', () => {
  it('wire: shared waits: ten waits on one kind list it once and each resolves on its own event', async () => {
    const w = world();
    const { port, lists } = countingLists(w.clusterPort('west', 'operator/west'));
    const clock = simClock(w.kernel.sched);
    const store = w.cluster('west').store;
    const waits = new SharedWaits(port, clock);
    const pending = Array.from({ length: 10 }, (_, i) =>
      waits.waitFor(Kinds.Deployment, { namespace: 'shop', name: 'web' }, (m) => ((m.get('web')?.spec?.replicas as number) === i + 1 ? i : undefined), { clock, timeoutMs: 60_000 }),
    );
    for (let i = 0; i < 10; i++) w.kernel.sched.after(100 * (i + 1), 'test.scale', () => void store.mergePatch(web, { spec: { replicas: i + 1 } }));
    const got = await w.kernel.resolve(Promise.all(pending));
    waits.close();
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(lists()).toBe(1);
  });

  it('wire: shared waits: a wait that is never satisfied times out with Transient/Timeout', async () => {
    const w = world();
    const port = w.clusterPort('west', 'operator/west');
    const clock = simClock(w.kernel.sched);
    const waits = new SharedWaits(port, clock);
    const waiting = waits.waitFor(Kinds.Deployment, { namespace: 'shop', name: 'web' }, () => undefined, { clock, timeoutMs: 5_000, what: 'never' });
    await expect(w.kernel.resolve(waiting)).rejects.toMatchObject({ kind: 'Transient', reason: 'Timeout' });
    waits.close();
  });

  it('wire: waits: a watch that ends on a non-retryable error (Fatal) fails the wait at once, with no re-list', async () => {
    for (const shared of [false, true]) {
      const w = world();
      const { port, lists } = countingLists(w.clusterPort('west', 'operator/west'));
      const broken: ClusterPort = Object.create(port) as ClusterPort;
      broken.watch = async (gvk, opts, onEvent) => {
        const handle = await port.watch(gvk, opts, onEvent);
        handle.stop();
        return { stop: () => {}, done: Promise.resolve(new DriverError('Fatal', 'kubernetes', 'watch', 'handler threw', { reason: 'HandlerFailed' })) };
      };
      const clock = simClock(w.kernel.sched);
      const waits = new SharedWaits(broken, clock);
      const never = () => undefined;
      const waiting = shared
        ? waits.waitFor(Kinds.Deployment, { namespace: 'shop', name: 'web' }, never, { clock, timeoutMs: 600_000 })
        : waitFor(broken, Kinds.Deployment, { namespace: 'shop', name: 'web' }, never, { clock, timeoutMs: 600_000 });
      const started = w.kernel.now();
      await expect(w.kernel.resolve(waiting)).rejects.toMatchObject({ kind: 'Fatal', reason: 'HandlerFailed' });
      expect(w.kernel.now() - started).toBeLessThan(1_000);
      expect(lists()).toBe(1);
      waits.close();
    }
  });

  it('wire: limiter: at most the bound run at once, in order, and every task runs', async () => {
    const limiter = new Limiter(3);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setImmediate(r));
          order.push(i);
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(order).toHaveLength(10);
  });
});
