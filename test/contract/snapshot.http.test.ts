// Why: the ConfigMap snapshot store on the real Kubernetes driver (client-node over HTTP) against the simulated
// API server: the store's conditional writes rely on the API server's resourceVersion checks, and here a real
// HTTP round trip does the checking.
import { KubeConfig } from '@kubernetes/client-node';
import { describe } from 'vitest';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import { loadKubeConfig } from '../../drivers/cluster/kubeconfig.ts';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { ConfigMapSnapshotStore } from '../../drivers/snapshots/snapshot.kubernetes.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import { settleWithIo } from '../../simulator/serve/io-settle.ts';
import { serveKubeApi } from '../../simulator/serve/kube-api.ts';
import { simKubeConfigYaml } from '../../simulator/serve/sim-kubeconfig.ts';
import { transitGate } from '../../simulator/serve/transit-gate.ts';
import { describeSnapshotContract } from './snapshot.contract.ts';

describeSnapshotContract('configmap over HTTP (client-node against the simulated API server)', async () => {
  const kernel = new SimKernel({ seed: 1, keepTraceLines: false });
  const store = new SimKubeStore('east', createRegistry(), () => kernel.now());
  const server = await serveKubeApi({ kernel, store, caller: 'operator/east' });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(simKubeConfigYaml([{ name: 'east', url: server.url }]));
  const cluster = new KubernetesCluster({ kubeConfig, context: 'east', clock: simClock(kernel.sched), observer: transitGate(kernel), qps: 0 });
  return {
    port: new ConfigMapSnapshotStore(cluster, { namespace: 'failover-engine-system' }),
    run: (p) => settleWithIo(kernel, p),
    dispose: () => server.close(),
  };
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
