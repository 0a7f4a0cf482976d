// Why: `failoverctl world serve` must be a working product, not a world without operators: it runs one
// `failoverctl daemon` per cluster with the sample FailoverGroup, so a Failover created through the Kubernetes API
// (as `kubectl apply` does) runs to SUCCESS, and its times come from one clock that agrees with the wall clock.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { loadKubeConfigFile } from '../../drivers/cluster/kubeconfig.ts';
import { startServedDaemons, type ServedDaemons } from '../../src/cli/served-daemons.ts';
import { startWorldServe, type ServedWorld } from '../../src/cli/world-serve.ts';
import { FailoverGroupKind, FailoverKind } from '../../src/daemon/api.ts';
import { main } from '../../src/cli/main.ts';
import { silentLogger } from '../../src/log.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `f` holds, checking every 100 ms, at most `ms`. */
async function waitFor(f: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; !f() && Date.now() < end; ) await sleep(100);
  return f();
}

describe('world serve: daemons', () => {
  let served: ServedWorld | undefined;
  let daemons: ServedDaemons | undefined;
  afterAll(async () => {
    await daemons?.stop();
    await served?.stop();
  });

  it('world serve: the daemons run a Failover applied through the Kubernetes API to SUCCESS; its times agree with the wall clock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'world-serve-daemons-'));
    const kubeconfig = join(dir, 'kubeconfig');
    const wallAtStart = Date.now();
    served = await startWorldServe({ seed: 1, scenario: 'sample', kubeconfigOut: kubeconfig, speed: 10, profile: 'none', kubePortBase: 0, table: 'failover-engine' });
    daemons = startServedDaemons(served, { log: silentLogger });
    expect(daemons.lines.join('\n')).toMatch(/kubectl --kubeconfig \S+ --context east apply -f \S+failover\.yaml/);
    expect(daemons.lines.join('\n')).toMatch(/kubectl --kubeconfig \S+ --context west get failovers -A -w/);

    // What `kubectl apply -f failover.yaml` does: create the printed manifest through east's API.
    const manifest = parse(readFileSync(daemons.failoverManifest, 'utf8')) as KubeObject;
    const kube = loadKubeConfigFile(kubeconfig);
    const api = (c: string) => new KubernetesCluster({ kubeConfig: kube.kubeConfig, context: c, name: c, log: silentLogger, qps: 0 });
    const east = api('east');
    const west = api('west');
    const ref = { ...FailoverKind, namespace: 'shop', name: manifest.metadata.name };
    // No waiting for the daemons: a Failover created before the group is registered or the peer has reported is
    // retried or waited for by the daemons themselves.
    const created = await east.create(manifest);
    const creation = Date.parse(String(created.metadata.creationTimestamp));
    // The served world's clock starts at the wall time (not at its fixed 2026-01-01 epoch).
    expect(Math.abs(creation - wallAtStart)).toBeLessThan(10 * 60_000);

    const deadline = Date.now() + 240_000;
    let statuses: Array<Record<string, unknown> | undefined> = [];
    while (Date.now() < deadline) {
      statuses = [(await east.get(ref))?.status, (await west.get(ref))?.status];
      if (statuses.every((s) => s?.status === 'SUCCESS' || s?.status === 'FAILED')) break;
      await sleep(250);
    }
    expect(statuses.map((s) => s?.status), JSON.stringify(statuses)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(served.world.volumeState('west', 'shop', 'db-data-0')).toBe('Primary');
    // One clock: the failover took tens of seconds of the world's time, not the 2.94e7 s between the simulator's
    // epoch and the wall clock.
    const metrics = statuses[1]!.metrics as { totalDowntimeSeconds: number; totalFailoverTimeSeconds: number };
    expect(metrics.totalFailoverTimeSeconds).toBeGreaterThan(0);
    expect(metrics.totalFailoverTimeSeconds).toBeLessThan(180);
    expect(metrics.totalDowntimeSeconds).toBeLessThanOrEqual(metrics.totalFailoverTimeSeconds);
  }, 300_000);

  it('world serve: the command runs the daemons by default and --no-daemons leaves them out; SIGTERM stops it, exit 0', async () => {
    for (const daemonsOn of [true, false]) {
      const dir = mkdtempSync(join(tmpdir(), 'world-serve-cli-'));
      let out = '';
      const saved = process.exitCode;
      const run = main(['node', 'failoverctl', 'world', 'serve', '--kubeconfig-out', join(dir, 'kubeconfig'), '--speed', '10', ...(daemonsOn ? [] : ['--no-daemons'])], (s) => void (out += s), () => {});
      try {
        expect(await waitFor(() => out.includes('serving; stop with Ctrl-C'), 60_000), out).toBe(true);
        expect(/^daemons: east, west /m.test(out), out).toBe(daemonsOn);
        expect(/^watch: kubectl --kubeconfig \S+ --context west get failovers -A -w$/m.test(out), out).toBe(daemonsOn);
        if (daemonsOn) {
          // The daemons register the sample group: its status shows up in both clusters through the API.
          const kube = loadKubeConfigFile(join(dir, 'kubeconfig'));
          const east = new KubernetesCluster({ kubeConfig: kube.kubeConfig, context: 'east', name: 'east', log: silentLogger, qps: 0 });
          let registered = false;
          for (const end = Date.now() + 120_000; !registered && Date.now() < end; await sleep(250)) {
            const g = await east.get({ ...FailoverGroupKind, namespace: 'shop', name: 'storefront' });
            registered = (g?.status?.conditions as Array<{ type: string; status: string }> | undefined)?.some((c) => c.type === 'Registered' && c.status === 'True') ?? false;
          }
          expect(registered).toBe(true);
        }
      } finally {
        process.emit('SIGTERM');
      }
      expect(await run).toBe(0);
      process.exitCode = saved;
      expect(out).toMatch(/^stopped \(SIGTERM\) at virtual T\+\d+ms$/m);
    }
  }, 300_000);
});
