// Why: `failoverctl daemon` on a cluster without the engine's CRDs must not start and wait forever on caches that never
// sync: it ends with one line naming the missing CRD and the fix, and exit code 2 (the real driver over HTTP, asking
// the simulated API server's discovery).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { simKubeConfigYaml } from '../../simulator/serve/sim-kubeconfig.ts';
import { main } from '../../src/cli/main.ts';
import { loadCrds, UPSTREAM_CRD_DIR } from '../../src/crds.ts';
import { kubeHttpHarness, type KubeHttpHarness } from '../kube/kube-harness.ts';

describe('daemon: command line against a cluster', () => {
  let h: KubeHttpHarness | undefined;
  afterAll(async () => {
    await h?.dispose();
  });

  it('daemon: cli: a cluster without the engine CRDs → one line naming the CRD and `kubectl apply -f crds/engine/`, exit 2', async () => {
    h = await kubeHttpHarness({ crds: loadCrds(UPSTREAM_CRD_DIR) }); // csi-addons, Istio, Flux: not the engine's own
    const dir = mkdtempSync(join(tmpdir(), 'daemon-cli-crds-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, simKubeConfigYaml([{ name: 'c1', url: h.server.url }]));
    let err = '';
    let out = '';
    const code = await h.settle(
      main(
        ['node', 'failoverctl', 'daemon', '--kubeconfig', kubeconfig, '--context', 'c1', '--cluster-name', 'c1', '--region', 'eu-west-1', '--dynamodb-endpoint', 'http://127.0.0.1:1', '--log-level', 'fatal'],
        (s) => void (out += s),
        (s) => void (err += s),
      ),
    );
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/^failoverctl: cluster c1 does not serve failover-engine\.io\/v1alpha1 FailoverGroup: install the engine's CRDs: kubectl apply -f crds\/engine\/ \(the engine's CRDs need Kubernetes 1\.28 or later\)\n$/);
    expect(out).toBe('');
  });
});
