// Why: `failoverctl world serve` must give real clients a working world: one Kubernetes API per cluster with a
// kubeconfig naming them, dynalite with the table, virtual time that moves on its own, and a clean stop.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { loadKubeConfigFile } from '../../drivers/cluster/kubeconfig.ts';
import { createDynamoDBClient } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { buildProgram, main } from '../../src/cli/main.ts';
import { startWorldServe } from '../../src/cli/world-serve.ts';
import { runRealtime } from '../../src/sim-realtime.ts';

const dir = mkdtempSync(join(tmpdir(), 'world-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('world serve', () => {
  it('world serve: each cluster is served with a kubeconfig context; dynalite has the table; stop closes everything', async () => {
    const kubeconfigOut = join(dir, 'kubeconfig');
    const served = await startWorldServe({ seed: 1, scenario: 'sample', kubeconfigOut, speed: 50, profile: 'none', kubePortBase: 0, table: 'failover-engine' });
    try {
      const clusters = [...served.world.clusters.keys()];
      expect(clusters.length).toBeGreaterThanOrEqual(2);
      expect(served.lines[0]).toMatch(/^world: seed=1 scenario=sample profile=none speed=50x/);
      const dynamo = served.lines.find((l) => l.startsWith('dynamodb: '))!;
      expect(dynamo).toMatch(/^dynamodb: http:\/\/127\.0\.0\.1:\d+ /);
      expect(readFileSync(kubeconfigOut, 'utf8')).toContain('current-context');
      for (const name of clusters) {
        const { kubeConfig, context } = loadKubeConfigFile(kubeconfigOut, name);
        const port = new KubernetesCluster({ kubeConfig, context });
        const deployments = await port.list(Kinds.Deployment);
        // The served API is the simulated cluster's own store: the same objects, not a copy.
        expect(deployments.items.map((d) => d.metadata.name).sort()).toEqual(
          served.world.clusters
            .get(name)!
            .store.list(Kinds.Deployment)
            .items.map((d) => d.metadata.name)
            .sort(),
        );
      }
      const endpoint = /^dynamodb: (\S+)/.exec(dynamo)![1];
      const client = createDynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      const table = await client.send(new DescribeTableCommand({ TableName: 'failover-engine' }));
      expect(table.Table?.TableStatus).toBe('ACTIVE');
      client.destroy();
      // Virtual time moves on its own while served.
      const t0 = served.world.kernel.elapsed();
      await new Promise<void>((resolve) => {
        const check = () => (served.world.kernel.elapsed() > t0 ? resolve() : setTimeout(check, 5));
        check();
      });
    } finally {
      await served.stop();
    }
    const url = /^kubernetes \S+: (\S+)/.exec(served.lines.find((l) => l.startsWith('kubernetes '))!)![1];
    await expect(fetch(`${url}/version`)).rejects.toThrow();
  });

  it('world serve: an unknown scenario or a bad --speed is a usage error naming the option', async () => {
    const errors: string[] = [];
    const program = buildProgram(
      () => {},
      (s) => errors.push(s),
    );
    await expect(program.parseAsync(['node', 'failoverctl', 'world', 'serve', '--speed', 'fast'], { from: 'node' })).rejects.toThrow('--speed must be a positive number');
    await expect(
      startWorldServe({ seed: 1, scenario: 'nope', kubeconfigOut: join(dir, 'k2'), speed: 1, profile: 'none', kubePortBase: 0, table: 't' }, []),
    ).rejects.toThrow(/unknown scenario "nope"/);
  });

  it('world serve: a bad or unknown flag is one line naming the problem and the fix, exit 2, before anything starts', async () => {
    for (const [args, message] of [
      [['--speed', '0'], /^failoverctl: --speed must be a positive number/],
      [['--profile', 'loud'], /^failoverctl: --profile must be none, calm or swarm/],
      [['--daemons', 'no'], /^failoverctl: unknown option '--daemons' \(Did you mean --no-daemons\?\); run the command with --help for its options$/],
      [['--no-daemons', '--kube-port', 'x'], /^failoverctl: --kube-port must be a TCP port/],
    ] as Array<[string[], RegExp]>) {
      let err = '';
      let out = '';
      const code = await main(['node', 'failoverctl', 'world', 'serve', ...args], (s) => void (out += s), (s) => void (err += s));
      expect(code, args.join(' ')).toBe(2);
      expect(err.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(err.trimEnd(), args.join(' ')).toMatch(message);
      expect(out).toBe('');
    }
  });

  it('realtime: virtual time follows the (injected) wall clock at the chosen speed, and stops with stop()', async () => {
    const kernel = new SimKernel({ seed: 1 });
    let wallMs = 1_000;
    const rt = runRealtime(kernel, { speed: 10, tickMs: 1, now: () => wallMs });
    const until = async (ms: number) => {
      while (kernel.elapsed() < ms) await new Promise((r) => setTimeout(r, 1));
    };
    wallMs += 100;
    await until(1_000);
    expect(kernel.elapsed()).toBe(1_000);
    wallMs += 50;
    await until(1_500);
    expect(kernel.elapsed()).toBe(1_500);
    await rt.stop();
    wallMs += 1_000;
    await new Promise((r) => setTimeout(r, 20));
    expect(kernel.elapsed()).toBe(1_500);
    expect(() => runRealtime(kernel, { speed: 0 })).toThrow(/speed must be a positive number/);
  });

  it('realtime: a world built at the wall time catches up with it (startAtMs), and its clock port reads the world\'s time', async () => {
    const wallAtBuild = 1_800_000_000_000;
    const kernel = new SimKernel({ seed: 1, epochMs: wallAtBuild });
    expect(kernel.now()).toBe(wallAtBuild);
    let wallMs = 5_000;
    // The services took 700 ms to start: the loop starts at the wall time, not where the world was built.
    const rt = runRealtime(kernel, { speed: 2, tickMs: 1, now: () => wallMs, startAtMs: wallAtBuild + 700 });
    for (let i = 0; i < 500 && kernel.now() < wallAtBuild + 700; i++) await new Promise((r) => setTimeout(r, 1));
    expect(kernel.now()).toBe(wallAtBuild + 700);
    wallMs += 100;
    expect(rt.clock.now()).toBe(wallAtBuild + 900);
    await rt.stop();
  });
});
