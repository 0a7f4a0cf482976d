// Why: the wiring helpers every failover step relies on, against the simulated API server: waits driven by watch
// events that survive a broken stream and are bounded, and fenced writes that never let a stale token win.
import { describe, expect, it } from 'vitest';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { Annotations } from '../../simulator/kube/controllers/common.ts';
import { EngineAnnotations } from '../../src/wire/annotations.ts';
import { FENCING_TOKEN_ANNOTATION, fencedPatch, fencingTokenOf } from '../../src/wire/fenced-write.ts';
import { mapLimit } from '../../src/wire/limit.ts';
import { waitFor } from '../../src/wire/watch-wait.ts';
import { SimWorld } from '../../simulator/world.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { crds } from './world-harness.ts';

const world = () => SimWorld.build({ seed: 3, scenario: scenarioByName('sample'), crds: crds() });
const web = { ...Kinds.Deployment, namespace: 'shop', name: 'web' };

describe('wire helpers (simulated API server)', () => {
  it('wire: annotations: the engine and the simulated controllers use the same names', () => {
    for (const [k, v] of Object.entries(EngineAnnotations)) expect(Annotations[k as keyof typeof Annotations]).toBe(v);
  });

  it('wire: waitFor: resolves on the watch event that makes the predicate true', async () => {
    const w = world();
    const port = w.clusterPort('west', 'operator/west');
    const clock = simClock(w.kernel.sched);
    const store = w.cluster('west').store;
    const waiting = waitFor(port, Kinds.Deployment, { namespace: 'shop', name: 'web' }, (m) => ((m.get('web')?.status?.readyReplicas as number) >= 3 ? m.get('web') : undefined), { clock, timeoutMs: 60_000 });
    w.kernel.sched.after(1_000, 'test.scale', () => void store.mergePatch(web, { spec: { replicas: 3 } }));
    const obj = await w.kernel.resolve(waiting);
    expect(obj?.status?.readyReplicas).toBe(3);
  });

  it('wire: waitFor: a broken stream (API server down) re-lists and still sees the change', async () => {
    const w = world();
    const port = w.clusterPort('west', 'operator/west');
    const clock = simClock(w.kernel.sched);
    const store = w.cluster('west').store;
    const waiting = waitFor(port, Kinds.Deployment, { namespace: 'shop', name: 'web' }, (m) => ((m.get('web')?.spec?.replicas as number) === 2 ? true : undefined), { clock, timeoutMs: 120_000 });
    w.kernel.sched.after(500, 'test.down', () => w.kernel.setDown('apiserver/west', true));
    w.kernel.sched.after(600, 'test.change', () => void store.mergePatch(web, { spec: { replicas: 2 } }));
    w.kernel.sched.after(5_000, 'test.up', () => w.kernel.setDown('apiserver/west', false));
    await expect(w.kernel.resolve(waiting)).resolves.toBe(true);
    expect(w.kernel.trace.lines.some((l) => l.includes('kube.watch.end') && l.includes('Unavailable'))).toBe(true);
  });

  it('wire: waitFor: bounded: rejects with Transient/Timeout when the predicate never holds', async () => {
    const w = world();
    const waiting = waitFor(w.clusterPort('west', 'operator/west'), Kinds.Deployment, { namespace: 'shop', name: 'web' }, () => undefined, { clock: simClock(w.kernel.sched), timeoutMs: 30_000, what: 'web never' });
    await expect(w.kernel.resolve(waiting)).rejects.toMatchObject({ kind: 'Transient', reason: 'Timeout', message: expect.stringMatching(/web never/) });
  });

  it('wire: fencedPatch: stamps the token, and refuses an object that carries a higher one', async () => {
    const w = world();
    const port = w.clusterPort('east', 'operator/east');
    const opts = { token: 5 };
    const after = await w.kernel.resolve(fencedPatch(port, web, () => ({ spec: { replicas: 1 } }), opts));
    expect(after.spec?.replicas).toBe(1);
    expect(fencingTokenOf(after)).toBe(5);
    await w.kernel.resolve(fencedPatch(port, web, () => ({ spec: { replicas: 2 } }), { token: 7 }));
    await expect(w.kernel.resolve(fencedPatch(port, web, () => ({ spec: { replicas: 0 } }), { token: 6 }))).rejects.toMatchObject({ kind: 'Conflict', reason: 'StaleFencingToken' });
    const now = w.get('east', web)!;
    expect(now.spec?.replicas).toBe(2);
    expect(now.metadata.annotations?.[FENCING_TOKEN_ANNOTATION]).toBe('7');
  });

  it('wire: fencedPatch: a concurrent writer (409) is retried on a fresh read', async () => {
    const w = world();
    const port = w.clusterPort('east', 'operator/east');
    const store = w.cluster('east').store;
    let reads = 0;
    const patched = fencedPatch(
      port,
      web,
      () => {
        reads++;
        // Another writer changes the object between our read and our write, once.
        if (reads === 1) store.mergePatch(web, { metadata: { labels: { touched: 'yes' } } });
        return { spec: { replicas: 4 } };
      },
      { token: 3 },
    );
    const obj = await w.kernel.resolve(patched);
    expect(reads).toBe(2);
    expect(obj.spec?.replicas).toBe(4);
    expect(obj.metadata.labels?.touched).toBe('yes');
  });

  it('wire: mapLimit: never more than the bound in flight, results in input order', async () => {
    const w = world();
    let inFlight = 0;
    let peak = 0;
    const out = mapLimit([...Array(40).keys()], 16, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await w.kernel.sched.sleep(10 + (i % 7));
      inFlight--;
      return i * 2;
    });
    expect(await w.kernel.resolve(out)).toEqual([...Array(40).keys()].map((i) => i * 2));
    expect(peak).toBe(16);
  });
});
