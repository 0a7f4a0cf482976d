// Why: runs the ClusterPort contract against the simulated cluster, and checks what only the simulation has:
// injected faults, partitions and down API servers, seeded per-watch FIFO delivery, and replay by seed.
import { describe, expect, it } from 'vitest';
import { Kinds, type KubeObject, type WatchEvent } from '../../drivers/cluster/cluster.port.ts';
import { SimClusterDriver } from '../../drivers/cluster/cluster.sim.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import { loadCrds } from '../../src/crds.ts';
import { describeClusterContract } from './cluster.contract.ts';

const CRDS = loadCrds();
const OPERATOR = 'operator/c1';
const APISERVER = 'apiserver/c1';

function world(seed = 1, watchHistory = 1000) {
  const kernel = new SimKernel({ seed });
  const store = new SimKubeStore('c1', createRegistry(), () => kernel.now(), { watchHistory });
  const port = new SimClusterDriver(kernel, store, OPERATOR);
  return { kernel, store, port };
}

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'apps' }, data });

describeClusterContract('sim', async () => {
  const { kernel, store, port } = world();
  return {
    port,
    settle: (p) => kernel.resolve(p),
    // The CRDs are installed the way kubectl would: by creating CustomResourceDefinition objects.
    installCrds: async () => {
      for (const crd of CRDS.filter((c) => c.metadata.name.startsWith('volumereplication'))) {
        await kernel.resolve(port.apply(crd, { fieldManager: 'contract-installer', force: true }));
      }
    },
    compactHistory: async () => store.compactHistory(),
    dispose: async () => {},
  };
});

describe('cluster sim driver', () => {
  it('cluster sim: faults: with Throttled at rate 1 on kube.write, writes fail Throttled and reads succeed', async () => {
    const { kernel, port } = world();
    kernel.plan.healAtMs = 60_000;
    kernel.plan.errorRates['kube.write'].Throttled = 1;
    await expect(kernel.resolve(port.create(cm('a')))).rejects.toMatchObject({ kind: 'Throttled', reason: 'TooManyRequests' });
    expect(await kernel.resolve(port.get({ ...Kinds.ConfigMap, namespace: 'apps', name: 'a' }))).toBeUndefined();
    // Once faults heal, the same write goes through.
    await kernel.resolve(kernel.sched.sleep(60_000));
    expect((await kernel.resolve(port.create(cm('a')))).metadata.name).toBe('a');
  });

  it('cluster sim: partition: calls to the API server time out until the partition heals', async () => {
    const { kernel, port } = world();
    kernel.plan.partitions.push({ between: [OPERATOR, APISERVER], fromMs: 0, toMs: 30_000 });
    const t0 = kernel.elapsed();
    await expect(kernel.resolve(port.get({ ...Kinds.ConfigMap, namespace: 'apps', name: 'x' }))).rejects.toMatchObject({ kind: 'Transient', reason: 'Timeout' });
    expect(kernel.elapsed() - t0).toBe(kernel.plan.timeoutMs);
    await kernel.resolve(kernel.sched.sleep(30_000));
    expect(await kernel.resolve(port.get({ ...Kinds.ConfigMap, namespace: 'apps', name: 'x' }))).toBeUndefined();
  });

  it('cluster sim: watch: a partition that starts later ends a quiet watch with a Transient error', async () => {
    const { kernel, port } = world();
    kernel.plan.partitions.push({ between: [APISERVER, OPERATOR], fromMs: 5_000, toMs: 9_000 });
    const w = await kernel.resolve(port.watch(Kinds.ConfigMap, {}, () => {}));
    const err = await kernel.resolve(w.done);
    expect(err).toMatchObject({ kind: 'Transient', reason: 'Timeout' });
    expect(kernel.elapsed()).toBe(5_000);
  });

  it('cluster sim: watch: the API server going down ends the watch; events are not delivered after it', async () => {
    const { kernel, port, store } = world();
    const seen: WatchEvent[] = [];
    const w = await kernel.resolve(port.watch(Kinds.ConfigMap, { namespace: 'apps' }, (e) => seen.push(e)));
    store.create(cm('before-down'));
    kernel.setDown(APISERVER, true);
    expect(await kernel.resolve(w.done)).toMatchObject({ kind: 'Transient', reason: 'Unavailable' });
    await kernel.run();
    expect(seen).toEqual([]);
  });

  it('cluster sim: watch: events arrive in commit order under latency jitter (per-watch FIFO)', async () => {
    const { kernel, port, store } = world(7);
    kernel.plan.latency['kube.watch'] = { baseMs: 1, jitterMs: 500 };
    const seen: string[] = [];
    const w = await kernel.resolve(port.watch(Kinds.ConfigMap, { namespace: 'apps' }, (e) => seen.push(`${e.type}:${e.object.metadata.name}:${e.object.metadata.resourceVersion}`)));
    const expected: string[] = [];
    for (let i = 0; i < 40; i++) {
      const o = store.create(cm(`c${i}`));
      expected.push(`ADDED:c${i}:${o.metadata.resourceVersion}`);
      await kernel.resolve(kernel.sched.sleep(i % 3));
    }
    await kernel.run();
    expect(seen).toEqual(expected);
    w.stop();
    expect(await w.done).toBeUndefined();
  });

  it('cluster sim: watch: a stopped watch delivers nothing more', async () => {
    const { kernel, port, store } = world();
    const seen: WatchEvent[] = [];
    const w = await kernel.resolve(port.watch(Kinds.ConfigMap, {}, (e) => seen.push(e)));
    store.create(cm('x'));
    w.stop();
    await kernel.run();
    expect(seen).toEqual([]);
  });

  it('cluster sim: watch: too old a resourceVersion opens the stream and ends it with Expired (410)', async () => {
    const { kernel, port, store } = world(1, 2);
    const first = store.create(cm('a'));
    for (let i = 0; i < 3; i++) store.mergePatch({ ...Kinds.ConfigMap, namespace: 'apps', name: 'a' }, { data: { i: String(i) } });
    const w = await kernel.resolve(port.watch(Kinds.ConfigMap, { resourceVersion: first.metadata.resourceVersion }, () => {}));
    expect(await w.done).toMatchObject({ kind: 'Conflict', reason: 'Expired', code: 410 });
  });

  it('cluster sim: watch: aborting the signal ends the watch like stop()', async () => {
    const { kernel, port, store } = world();
    const seen: WatchEvent[] = [];
    const ac = new AbortController();
    const w = await kernel.resolve(port.watch(Kinds.ConfigMap, { signal: ac.signal }, (e) => seen.push(e)));
    ac.abort();
    store.create(cm('x'));
    await kernel.run();
    expect(await w.done).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it('cluster sim: an unknown kind fails NotFound the way kubectl reports it', async () => {
    const { kernel, port } = world();
    await expect(kernel.resolve(port.list({ group: 'example.com', version: 'v1', kind: 'Widget' }))).rejects.toMatchObject({
      kind: 'NotFound',
      code: 404,
      message: 'the server could not find the requested resource',
    });
  });

  it('cluster sim: returned objects are copies: changing them changes nothing stored', async () => {
    const { kernel, port } = world();
    const created = await kernel.resolve(port.create(cm('copy', { a: '1' })));
    (created.data as Record<string, string>).a = 'changed';
    const got = await kernel.resolve(port.get({ ...Kinds.ConfigMap, namespace: 'apps', name: 'copy' }));
    expect(got?.data).toEqual({ a: '1' });
  });

  it('cluster sim: determinism: one seed gives the same trace for the same calls', async () => {
    const runOnce = async () => {
      const { kernel, port } = world(11);
      kernel.plan.healAtMs = 60_000;
      kernel.plan.errorRates['kube.write'] = { Conflict: 0.2, Throttled: 0.2, Transient: 0.1, Timeout: 0.1 };
      const work = async (i: number) => {
        for (let n = 0; n < 4; n++) {
          await port.apply(cm(`d${i}`, { n: String(n) }), { fieldManager: 'det' }).catch(() => undefined);
        }
      };
      await kernel.resolve(Promise.all([0, 1, 2, 3].map(work)));
      return kernel.trace.text();
    };
    const one = await runOnce();
    expect(await runOnce()).toBe(one);
    expect(one).toContain('call.fault');
  });
});
