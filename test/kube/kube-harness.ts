// Why: the Kubernetes-over-HTTP tests share one setup: a kernel, a simulated store served over HTTP, the real
// driver pointed at it, and a raw HTTP helper that sends exactly what kubectl sends, all settled through
// settleWithIo so virtual time runs while requests wait on simulated latency.
import { KubeConfig } from '@kubernetes/client-node';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { KubernetesCluster, type KubernetesClusterOptions } from '../../drivers/cluster/cluster.kubernetes.ts';
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import { settleWithIo } from '../../simulator/serve/io-settle.ts';
import { serveKubeApi, type KubeApiServer } from '../../simulator/serve/kube-api.ts';
import { simKubeConfigYaml } from '../../simulator/serve/sim-kubeconfig.ts';
import { transitGate } from '../../simulator/serve/transit-gate.ts';

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when it is not JSON. */
  body: any;
  text: string;
}

export interface KubeHttpHarness {
  kernel: SimKernel;
  store: SimKubeStore;
  server: KubeApiServer;
  kubeConfig: KubeConfig;
  driver: KubernetesCluster;
  settle<T>(p: Promise<T>): Promise<T>;
  /** One raw request, settled (the world runs while it waits). */
  http(method: string, path: string, opts?: { body?: unknown; contentType?: string; accept?: string }): Promise<HttpAnswer>;
  dispose(): Promise<void>;
}

export async function kubeHttpHarness(
  opts: { seed?: number; crds?: KubeObject[]; watchHistory?: number; driver?: Partial<KubernetesClusterOptions>; caller?: string } = {},
): Promise<KubeHttpHarness> {
  const kernel = new SimKernel({ seed: opts.seed ?? 1 });
  const store = new SimKubeStore('c1', createRegistry(opts.crds ?? []), () => kernel.now(), { watchHistory: opts.watchHistory ?? 1000 });
  const server = await serveKubeApi({ kernel, store, caller: opts.caller ?? 'operator/c1' });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(simKubeConfigYaml([{ name: 'c1', url: server.url }]));
  const driver = new KubernetesCluster({ kubeConfig, context: 'c1', clock: simClock(kernel.sched), observer: transitGate(kernel), ...(opts.driver ?? {}) });
  const settle = <T>(p: Promise<T>) => settleWithIo(kernel, p);
  const http: KubeHttpHarness['http'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { Accept: o.accept ?? 'application/json' };
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      headers['Content-Type'] = o.contentType ?? 'application/json';
    }
    const res = await settle(fetch(`${server.url}${path}`, { method, headers, body }));
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  return { kernel, store, server, kubeConfig, driver, settle, http, dispose: () => server.close() };
}

export const configMap = (name: string, namespace: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});
