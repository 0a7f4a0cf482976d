// Why: the ConfigMap snapshot store must honour the same contract as the simulated one: here on the simulated
// API server (SimClusterDriver over SimKubeStore), and on a real cluster when KUBECONFIG_CONTRACT names one.
import { describe, expect, it } from 'vitest';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { SimClusterDriver } from '../../drivers/cluster/cluster.sim.ts';
import { ConfigMapSnapshotStore, configMapNameFor, SNAPSHOT_KEY_ANNOTATION } from '../../drivers/snapshots/snapshot.kubernetes.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import { describeSnapshotContract } from './snapshot.contract.ts';

const NAMESPACE = 'failover-engine-system';

function world() {
  const kernel = new SimKernel({ seed: 1, keepTraceLines: false });
  const store = new SimKubeStore('east', createRegistry(), () => kernel.now());
  const cluster = new SimClusterDriver(kernel, store, 'operator/east');
  return { kernel, store, cluster, port: new ConfigMapSnapshotStore(cluster, { namespace: NAMESPACE }) };
}

describeSnapshotContract('configmap on the simulated API server', async () => {
  const w = world();
  return { port: w.port, run: (p) => w.kernel.resolve(p), dispose: () => {} };
});

describe('snapshots: ConfigMap layout', () => {
  it('snapshots: configmap: one labelled ConfigMap per key in the operator namespace, key kept verbatim', async () => {
    const w = world();
    await w.kernel.resolve(w.port.save('shop/Storefront.failover-1', { machineVersion: 1, snapshot: { a: 1 } }, undefined));
    const name = configMapNameFor('shop/Storefront.failover-1');
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name.length).toBeLessThanOrEqual(63);
    const cm = w.store.get({ ...Kinds.ConfigMap, namespace: NAMESPACE, name });
    expect(cm?.metadata.annotations?.[SNAPSHOT_KEY_ANNOTATION]).toBe('shop/Storefront.failover-1');
    expect(cm?.metadata.labels?.['failover-engine.io/snapshot']).toBe('failover-engine');
    // The revision is the ConfigMap's resourceVersion.
    const loaded = await w.kernel.resolve(w.port.load('shop/Storefront.failover-1'));
    expect(String(loaded?.revision)).toBe(cm?.metadata.resourceVersion);
  });

  it('snapshots: configmap: ConfigMaps of other owners in the namespace are not listed', async () => {
    const w = world();
    w.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: NAMESPACE }, data: { x: '1' } });
    await w.kernel.resolve(w.port.save('f-1', { machineVersion: 1, snapshot: {} }, undefined));
    expect(await w.kernel.resolve(w.port.list())).toEqual(['f-1']);
  });

  it('snapshots: configmap: a missing namespace option is refused with the fix', () => {
    const w = world();
    expect(() => new ConfigMapSnapshotStore(w.cluster, { namespace: '' })).toThrow(/namespace is required/);
  });
});
