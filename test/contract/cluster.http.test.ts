// Why: runs the ClusterPort contract, unchanged, against the real Kubernetes driver talking HTTP to the simulated
// API server: the real driver and the simulated server must agree with the simulated driver on every behaviour;
// and a write through the driver must really land in the served store (not in some other world).
import { KubeConfig } from '@kubernetes/client-node';
import { expect, it } from 'vitest';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import { settleWithIo } from '../../simulator/serve/io-settle.ts';
import { serveKubeApi } from '../../simulator/serve/kube-api.ts';
import { simKubeConfigYaml } from '../../simulator/serve/sim-kubeconfig.ts';
import { transitGate } from '../../simulator/serve/transit-gate.ts';
import { loadCrds } from '../../src/crds.ts';
import { describeClusterContract } from './cluster.contract.ts';

const CRDS = loadCrds();

/** The real driver over HTTP to a simulated API server, whose store the harness also returns. */
async function httpHarness() {
  const kernel = new SimKernel({ seed: 1 });
  const store = new SimKubeStore('c1', createRegistry(), () => kernel.now());
  const server = await serveKubeApi({ kernel, store, caller: 'operator/c1' });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(simKubeConfigYaml([{ name: 'c1', url: server.url }]));
  // The rate limiter runs on virtual time, at client-go's defaults (5 per second, bursts of 10); the transit gate
  // keeps virtual time still while requests and answers are on the wire.
  const port = new KubernetesCluster({ kubeConfig, context: 'c1', clock: simClock(kernel.sched), observer: transitGate(kernel) });
  const settle = <T>(p: Promise<T>) => settleWithIo(kernel, p);
  return {
    port,
    settle,
    // As kubectl would: CustomResourceDefinition objects sent to the API server.
    installCrds: async () => {
      for (const crd of CRDS.filter((c) => c.metadata.name.startsWith('volumereplication'))) {
        await settle(port.apply(crd, { fieldManager: 'contract-installer', force: true }));
      }
    },
    compactHistory: async () => store.compactHistory(),
    store,
    dispose: () => server.close(),
  };
}

describeClusterContract('http', httpHarness);


it('cluster over HTTP: an object applied through the real driver is stored by the served API server under its field manager', async () => {
  const h = await httpHarness();
  try {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wire-check', namespace: 'default' }, data: { k: 'v' } };
    const applied = await h.settle(h.port.apply(cm, { fieldManager: 'wire-test', force: true }));
    const stored = h.store.peek({ ...Kinds.ConfigMap, namespace: 'default', name: 'wire-check' });
    expect(stored?.data).toEqual({ k: 'v' });
    expect(stored?.metadata.resourceVersion).toBe(applied.metadata.resourceVersion);
    expect(stored?.metadata.managedFields?.map((m) => m.manager)).toEqual(['wire-test']);
  } finally {
    await h.dispose();
  }
});
