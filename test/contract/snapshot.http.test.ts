// Why: the ConfigMap snapshot store on the real Kubernetes driver (client-node over HTTP) against the simulated
// API server: the store's conditional writes rely on the API server's resourceVersion checks, and here a real
// HTTP round trip does the checking. A saved snapshot must be the labelled ConfigMap on the served API server.
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import { loadKubeConfig } from '../../drivers/cluster/kubeconfig.ts';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { ConfigMapSnapshotStore, SNAPSHOT_LABEL, configMapNameFor } from '../../drivers/snapshots/snapshot.kubernetes.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import { settleWithIo } from '../../simulator/serve/io-settle.ts';
import { serveKubeApi } from '../../simulator/serve/kube-api.ts';
import { simKubeConfigYaml } from '../../simulator/serve/sim-kubeconfig.ts';
import { transitGate } from '../../simulator/serve/transit-gate.ts';
import { describeSnapshotContract } from './snapshot.contract.ts';

/** The real driver over HTTP to a simulated API server; the server's store is returned to look behind the wire. */
async function httpHarness() {
  const kernel = new SimKernel({ seed: 1, keepTraceLines: false });
  const store = new SimKubeStore('east', createRegistry(), () => kernel.now());
  const server = await serveKubeApi({ kernel, store, caller: 'operator/east' });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(simKubeConfigYaml([{ name: 'east', url: server.url }]));
  const cluster = new KubernetesCluster({ kubeConfig, context: 'east', clock: simClock(kernel.sched), observer: transitGate(kernel), qps: 0 });
  return {
    store,
    port: new ConfigMapSnapshotStore(cluster, { namespace: 'failover-engine-system' }),
    run: <T>(p: Promise<T>) => settleWithIo(kernel, p),
    dispose: () => server.close(),
  };
}

describeSnapshotContract('configmap over HTTP (client-node against the simulated API server)', httpHarness);

it('snapshots over HTTP: a saved snapshot is a labelled ConfigMap in the operator namespace on the API server', async () => {
  const h = await httpHarness();
  try {
    const value = { machineVersion: 3, snapshot: { status: 'active', value: 'Stage', context: {}, children: {} }, meta: { failoverId: 'f-1' } };
    const { revision } = await h.run(h.port.save('f-1', value, undefined));
    const cm = h.store.peek({ ...Kinds.ConfigMap, namespace: 'failover-engine-system', name: configMapNameFor('f-1') });
    expect(cm?.metadata.labels?.[SNAPSHOT_LABEL]).toBe('failover-engine');
    expect(String(revision)).toBe(cm?.metadata.resourceVersion);
  } finally {
    await h.dispose();
  }
});

// A real cluster, when one is named: SNAPSHOT_CONTRACT_KUBECONFIG (a kubeconfig path, its current context) and
// SNAPSHOT_CONTRACT_NAMESPACE (an existing, disposable namespace; default `failover-engine-contract`).
const realKubeconfig = process.env.SNAPSHOT_CONTRACT_KUBECONFIG;
describe.runIf(realKubeconfig !== undefined)('snapshots: a real cluster', () => {
  describeSnapshotContract('configmap on a real cluster', async () => {
    const { kubeConfig, context } = loadKubeConfig({ path: realKubeconfig });
    const cluster = new KubernetesCluster({ kubeConfig, context });
    const port = new ConfigMapSnapshotStore(cluster, { namespace: process.env.SNAPSHOT_CONTRACT_NAMESPACE ?? 'failover-engine-contract', owner: 'snapshot-contract' });
    const cleanup = async () => {
      for (const key of await port.list()) await port.delete(key);
    };
    await cleanup();
    return { port, run: (p) => p, dispose: cleanup };
  });
});
