// Why: the engine reads and waits through informers; they must list once, then follow the watch (no polling),
// relist when the resourceVersion expires (410 Gone), recover from broken streams, and resolve waits at once.
import { afterEach, describe, expect, it } from 'vitest';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { SimClusterDriver } from '../../drivers/cluster/cluster.sim.ts';
import { Kinds, type KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { Informer } from '../../drivers/cluster/informer.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import { configMap, kubeHttpHarness, type KubeHttpHarness } from './kube-harness.ts';

const cmRef = (name: string) => ({ ...Kinds.ConfigMap, namespace: 'app', name });
const dataA = (o: KubeObject | undefined) => String((o?.data as Record<string, string> | undefined)?.a);

describe('informer over HTTP (real driver, simulated server)', () => {
  let h: KubeHttpHarness;
  let informer: Informer | undefined;
  afterEach(async () => {
    informer?.stop();
    informer = undefined;
    await h.dispose();
  });

  it('informer: lists once, then follows the watch: handlers see add, update, delete; no further reads', async () => {
    h = await kubeHttpHarness();
    h.store.create(configMap('pre', 'app', { a: '0' }));
    const inf = (informer = new Informer({ port: h.driver, gvk: Kinds.ConfigMap, namespace: 'app', clock: simClock(h.kernel.sched) }));
    const seen: string[] = [];
    inf.addHandler({
      onAdd: (o) => seen.push(`add:${o.metadata.name}`),
      onUpdate: (old, o) => seen.push(`update:${o.metadata.name}:${dataA(old)}->${dataA(o)}`),
      onDelete: (o) => seen.push(`delete:${o.metadata.name}`),
    });
    await h.settle(inf.start());
    expect(inf.get('pre', 'app')?.data).toEqual({ a: '0' });
    h.server.resetStats();
    for (let i = 1; i <= 5; i++) h.store.mergePatch(cmRef('pre'), { data: { a: String(i) } });
    h.store.create(configMap('new', 'app'));
    h.store.delete(cmRef('new'));
    const five = await h.settle(inf.waitFor((v) => dataA(v.get('pre', 'app')) === '5' && v.get('new', 'app') === undefined && seen.includes('delete:new'), 10_000));
    expect(five).toBe(true);
    expect(seen).toEqual(['add:pre', 'update:pre:0->1', 'update:pre:1->2', 'update:pre:2->3', 'update:pre:3->4', 'update:pre:4->5', 'add:new', 'delete:new']);
    // Everything came through the one open watch: not a single read since it synced.
    expect(h.server.stats().total).toBe(0);
    expect(inf.stats).toMatchObject({ lists: 1, watches: 1, relists: 0 });
  });

  it('informer: 410 Gone: after the history is compacted while the stream is broken, it relists and catches up', async () => {
    h = await kubeHttpHarness();
    h.store.create(configMap('a', 'app'));
    const inf = (informer = new Informer({ port: h.driver, gvk: Kinds.ConfigMap, namespace: 'app', clock: simClock(h.kernel.sched), backoff: { baseMs: 200, maxMs: 2_000 } }));
    const deleted: string[] = [];
    inf.addHandler({ onDelete: (o: KubeObject) => deleted.push(o.metadata.name) });
    await h.settle(inf.start());
    const staleRv = inf.resourceVersion;
    // The API server goes away: the watch stream breaks, re-watches fail with 503 and back off.
    h.kernel.setDown('apiserver/c1', true);
    h.store.create(configMap('b', 'app'));
    h.store.delete(cmRef('a'));
    h.store.compactHistory();
    h.kernel.sched.after(3_000, 'apiserver.up', () => h.kernel.setDown('apiserver/c1', false));
    await h.settle(inf.waitFor((v) => v.get('b', 'app') !== undefined && v.get('a', 'app') === undefined, 30_000, { what: 'the relisted state' }));
    expect(Number(inf.resourceVersion)).toBeGreaterThan(Number(staleRv));
    expect(inf.stats.expired).toBe(1);
    expect(inf.stats.relists).toBe(1);
    expect(inf.stats.watchErrors).toBeGreaterThanOrEqual(1);
    // The relist told handlers about the deletion they missed.
    expect(deleted).toEqual(['a']);
    expect(h.server.stats().byCollection['configmaps -n app']).toMatchObject({ list: 2 });
  });

  it('informer: waitFor rejects with Transient/Timeout after its timeout, naming what it waited for', async () => {
    h = await kubeHttpHarness();
    const inf = (informer = new Informer({ port: h.driver, gvk: Kinds.ConfigMap, namespace: 'app', clock: simClock(h.kernel.sched) }));
    await h.settle(inf.start());
    const t0 = h.kernel.elapsed();
    const e = await h.settle(inf.waitFor((v) => v.get('never', 'app'), 5_000, { what: 'ConfigMap app/never' })).catch((x: unknown) => x);
    expect(e).toMatchObject({ kind: 'Transient', reason: 'Timeout' });
    expect((e as Error).message).toContain('waiting for ConfigMap app/never on c1');
    expect(h.kernel.elapsed() - t0).toBe(5_000);
  });
});

describe('informer over the simulated driver', () => {
  it('informer: resync calls onUpdate(obj, obj) for every cached object, on the injected clock', async () => {
    const kernel = new SimKernel({ seed: 3 });
    const store = new SimKubeStore('c1', createRegistry(), () => kernel.now());
    store.create(configMap('x', 'app'));
    const port = new SimClusterDriver(kernel, store, 'operator/c1');
    const inf = new Informer({ port, gvk: Kinds.ConfigMap, clock: simClock(kernel.sched), resyncMs: 1_000 });
    const resyncs: number[] = [];
    inf.addHandler({ onUpdate: (old, o) => old.metadata.resourceVersion === o.metadata.resourceVersion && resyncs.push(kernel.elapsed()) });
    await kernel.resolve(inf.start());
    await kernel.resolve(kernel.sched.sleep(3_500));
    inf.stop();
    expect(resyncs).toEqual([1_000, 2_000, 3_000]);
  });

  it('informer: a watch that fails to start with Expired (simulated driver) relists at once', async () => {
    const kernel = new SimKernel({ seed: 4 });
    const store = new SimKubeStore('c1', createRegistry(), () => kernel.now(), { watchHistory: 2 });
    const port = new SimClusterDriver(kernel, store, 'operator/c1');
    const inf = new Informer({ port, gvk: Kinds.ConfigMap, namespace: 'app', clock: simClock(kernel.sched) });
    await kernel.resolve(inf.start());
    kernel.setDown('apiserver/c1', true);
    for (let i = 0; i < 5; i++) store.create(configMap(`c${i}`, 'app'));
    kernel.sched.after(2_000, 'up', () => kernel.setDown('apiserver/c1', false));
    await kernel.resolve(inf.waitFor((v) => v.list().length === 5, 60_000));
    expect(inf.stats.expired).toBe(1);
    inf.stop();
    await kernel.run();
  });
});
