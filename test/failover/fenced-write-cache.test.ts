// Why: the read before a fenced write may come from a step's watch cache (SharedWaits.cached). A cache lags the
// server, so these pin that a stale copy can only cost a 409 and a fresh read: a write never lands on a version the
// fencing check did not see, a newer failover's token still wins, and "nothing to do" is never decided on a copy.
import { describe, expect, it } from 'vitest';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { Kinds, type ClusterPort, type KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { FENCING_TOKEN_ANNOTATION, fencedPatch, fencingTokenOf } from '../../src/wire/fenced-write.ts';
import { SharedWaits } from '../../src/wire/shared-waits.ts';
import { SimWorld } from '../../simulator/world.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { benchScenario, sizedGroup } from '../../bench/groups.ts';
import { runSimulation } from '../../simulator/failover-run.ts';
import { loadCrds } from '../../src/crds.ts';
import { crds } from './world-harness.ts';

const world = () => SimWorld.build({ seed: 3, scenario: scenarioByName('sample'), crds: crds() });
const web = { ...Kinds.Deployment, namespace: 'shop', name: 'web' };

/** The port with its gets, lists and patches counted (and each patch's outcome). */
function counting(port: ClusterPort) {
  const n = { gets: 0, lists: 0, patches: 0, refused: 0 };
  const p: ClusterPort = Object.create(port) as ClusterPort;
  p.get = (ref, opts) => {
    n.gets++;
    return port.get(ref, opts);
  };
  p.list = (gvk, opts) => {
    n.lists++;
    return port.list(gvk, opts);
  };
  p.mergePatch = async (ref, body, opts) => {
    n.patches++;
    try {
      return await port.mergePatch(ref, body, opts);
    } catch (e) {
      n.refused++;
      throw e;
    }
  };
  return { port: p, n };
}

describe('wire: fenced writes read from the watch cache', () => {
  it('wire: fencedPatch: a current cached copy serves the read (one patch, no get)', async () => {
    const w = world();
    const { port, n } = counting(w.clusterPort('east', 'operator/east'));
    const copy = w.get('east', web)!;
    const after = await w.kernel.resolve(fencedPatch(port, web, () => ({ spec: { replicas: 5 } }), { token: 4, cached: async () => copy }));
    expect(after.spec?.replicas).toBe(5);
    expect(fencingTokenOf(after)).toBe(4);
    expect(n).toEqual({ gets: 0, lists: 0, patches: 1, refused: 0 });
  });

  it('wire: fencedPatch: a stale cached copy costs one 409 and a fresh read; the other writer’s change is kept', async () => {
    const w = world();
    const { port, n } = counting(w.clusterPort('east', 'operator/east'));
    const stale = w.get('east', web)!;
    w.cluster('east').store.mergePatch(web, { metadata: { labels: { touched: 'yes' } } });
    const after = await w.kernel.resolve(fencedPatch(port, web, () => ({ spec: { replicas: 4 } }), { token: 3, cached: async () => stale }));
    expect(after.spec?.replicas).toBe(4);
    expect(after.metadata.labels?.touched).toBe('yes');
    expect(n).toEqual({ gets: 1, lists: 0, patches: 2, refused: 1 });
  });

  it('wire: fencedPatch: a newer failover token written after the cache was filled still refuses the write', async () => {
    const w = world();
    const port = w.clusterPort('east', 'operator/east');
    const stale = w.get('east', web)!; // carries no token yet
    // A newer failover (token 9) scales the workload after our cache saw it.
    await w.kernel.resolve(fencedPatch(port, web, () => ({ spec: { replicas: 2 } }), { token: 9 }));
    const ours = fencedPatch(port, web, () => ({ spec: { replicas: 0 } }), { token: 5, cached: async () => stale });
    await expect(w.kernel.resolve(ours)).rejects.toMatchObject({ kind: 'Conflict', reason: 'StaleFencingToken' });
    const now = w.get('east', web)!;
    expect(now.spec?.replicas).toBe(2);
    expect(now.metadata.annotations?.[FENCING_TOKEN_ANNOTATION]).toBe('9');
  });

  it('wire: fencedPatch: a cached copy with a higher token is not trusted either way: the fresh read decides', async () => {
    const w = world();
    const { port, n } = counting(w.clusterPort('east', 'operator/east'));
    const cur = w.get('east', web)!;
    const odd: KubeObject = { ...cur, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, [FENCING_TOKEN_ANNOTATION]: '99' } } };
    const after = await w.kernel.resolve(fencedPatch(port, web, () => ({ spec: { replicas: 3 } }), { token: 5, cached: async () => odd }));
    expect(after.spec?.replicas).toBe(3);
    expect(n.gets).toBe(1);
    expect(n.patches).toBe(1);
  });

  it('wire: fencedPatch: "nothing to do" on a cached copy is checked on a fresh read, which still writes', async () => {
    const w = world();
    const { port, n } = counting(w.clusterPort('east', 'operator/east'));
    await w.kernel.resolve(fencedPatch(port, web, () => ({ spec: { replicas: 2 } }), { token: 5 }));
    const done = w.get('east', web)!; // replicas 2, token 5: as wanted
    w.cluster('east').store.mergePatch(web, { spec: { replicas: 7 } }); // someone scaled it since
    const wantTwo = (o: KubeObject) => (o.spec?.replicas === 2 ? undefined : { spec: { replicas: 2 } });
    const gets = n.gets;
    const after = await w.kernel.resolve(fencedPatch(port, web, wantTwo, { token: 5, cached: async () => done }));
    expect(after.spec?.replicas).toBe(2);
    expect(n.gets - gets).toBe(1);
  });

  it('wire: shared waits: cached serves only an open, listed feed, and follows its watch', async () => {
    const w = world();
    const { port, n } = counting(w.clusterPort('east', 'operator/east'));
    const clock = simClock(w.kernel.sched);
    const waits = new SharedWaits(port, clock);
    expect(await w.kernel.resolve(waits.cached(Kinds.Deployment, 'shop', 'web'))).toBeUndefined(); // no feed: nothing opened
    expect(n.lists).toBe(0);
    waits.open(Kinds.Deployment, 'shop');
    const first = await w.kernel.resolve(waits.cached(Kinds.Deployment, 'shop', 'web'));
    expect(first?.metadata.resourceVersion).toBe(w.get('east', web)!.metadata.resourceVersion);
    w.cluster('east').store.mergePatch(web, { spec: { replicas: 6 } });
    await w.kernel.resolve(clock.sleep(1_000));
    expect((await w.kernel.resolve(waits.cached(Kinds.Deployment, 'shop', 'web')))?.spec?.replicas).toBe(6);
    expect(n.lists).toBe(1);
    waits.close();
    expect(await w.kernel.resolve(waits.cached(Kinds.Deployment, 'shop', 'web'))).toBeUndefined();
  });

  it('wire: shared waits: cached does not wait for re-lists when the first list fails (API server down)', async () => {
    const w = world();
    const port = w.clusterPort('east', 'operator/east');
    const clock = simClock(w.kernel.sched);
    const waits = new SharedWaits(port, clock);
    w.kernel.setDown('apiserver/east', true);
    const t0 = clock.now();
    waits.open(Kinds.Deployment, 'shop');
    expect(await w.kernel.resolve(waits.cached(Kinds.Deployment, 'shop', 'web'))).toBeUndefined();
    expect(clock.now() - t0).toBeLessThan(1_000);
    waits.close();
  });

  it('wire: fenced writes from the cache: CONSISTENCY failovers of 40 workloads (batches above concurrencyMax) with faults on hold every invariant (seeds 1-3, profile calm)', async () => {
    const group = sizedGroup({ name: 'big', namespace: 'big', workloads: 40 });
    for (const seed of [1, 2, 3]) {
      const r = await runSimulation({ seed, scenario: benchScenario('big-40', [group]), profile: 'calm', failover: { mode: 'CONSISTENCY', type: 'planned' }, crds: loadCrds() });
      expect(r.failure, r.replayHint).toBeUndefined();
      expect(r.invariants.filter((i) => !i.held), r.replayHint).toEqual([]);
      expect(r.outcome, r.replayHint).toBe('completed');
    }
  });
});
