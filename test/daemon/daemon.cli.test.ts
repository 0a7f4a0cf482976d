// Why: `failoverctl daemon` is how the daemon runs in production: bad flags must end with one line naming the flag
// and the fix (exit 2) before anything connects, and good flags must build the real ports.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import { DynamoGlobalState } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import { simKubeConfigYaml } from '../../simulator/serve/sim-kubeconfig.ts';
import { buildDaemonOptions, parseDaemonFlags } from '../../src/cli/daemon.ts';
import { main } from '../../src/cli/main.ts';
import { silentLogger } from '../../src/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'daemon-cli-'));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  simKubeConfigYaml([
    { name: 'east', url: 'http://127.0.0.1:1' },
    { name: 'west', url: 'http://127.0.0.1:2' },
  ]),
);

async function run(...args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = '';
  let out = '';
  const code = await main(['node', 'failoverctl', 'daemon', ...args], (s) => void (out += s), (s) => void (err += s));
  return { code, err, out };
}

const base = ['--kubeconfig', kubeconfig, '--context', 'east', '--cluster-name', 'east', '--region', 'eu-west-1'];

describe('daemon: command line', () => {
  const bad: Array<[string, string[], RegExp]> = [
    ['no --cluster-name', ['--kubeconfig', kubeconfig, '--region', 'eu-west-1'], /--cluster-name is required/],
    ['a bad --cluster-name', ['--kubeconfig', kubeconfig, '--cluster-name', 'East_1', '--region', 'eu-west-1'], /--cluster-name must be lower-case/],
    ['a missing kubeconfig', ['--kubeconfig', join(dir, 'nope'), '--cluster-name', 'east', '--region', 'eu-west-1'], /--kubeconfig .*no such file/],
    ['an unknown context', ['--kubeconfig', kubeconfig, '--context', 'south', '--cluster-name', 'east', '--region', 'eu-west-1'], /--context: .*south/],
    ['a malformed --peer-context', [...base, '--peer-context', 'west'], /--peer-context must be NAME=VALUE/],
    ['a --peer-context naming this cluster', [...base, '--peer-context', 'east=west'], /--peer-context east=west: east is this cluster/],
    ['a --peer-context with an unknown context', [...base, '--peer-context', 'west=north'], /--peer-context west=north: context "north" is not in/],
    ['a bad --dynamodb-endpoint', [...base, '--dynamodb-endpoint', 'localhost:8000'], /--dynamodb-endpoint must be an http\(s\) URL/],
    ['no region', ['--kubeconfig', kubeconfig, '--cluster-name', 'east'], /--region is required/],
    ['a bad --fence-cidr', [...base, '--fence-cidr', 'west=10.300.0.0/16'], /--fence-cidr west=10.300.0.0\/16: "10.300.0.0\/16" is not an IPv4 CIDR/],
    ['a bad --log-level', [...base, '--log-level', 'loud'], /--log-level must be one of/],
    ['a bad --namespace', [...base, '--namespace', 'Shop'], /--namespace must be a DNS label/],
    ['a missing --peer-kubeconfig', [...base, '--peer-kubeconfig', join(dir, 'nope'), '--peer-context', 'west=west'], /--peer-kubeconfig .*no such file/],
  ];
  for (const [what, args, message] of bad) {
    it(`daemon: cli: ${what} → one line naming the flag, exit 2`, async () => {
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.out).toBe('');
    });
  }

  it('daemon: cli: good flags build the real ports (KubernetesCluster per cluster, DynamoDB global state)', () => {
    const config = parseDaemonFlags(
      { kubeconfig, context: 'east', clusterName: 'east', peerContext: ['west=west'], dynamodbEndpoint: 'http://127.0.0.1:8000', fenceCidr: ['west=10.2.0.0/16,10.3.0.0/16'] },
      {},
    );
    expect(config).toMatchObject({ clusterName: 'east', peers: { west: 'west' }, table: 'failover-engine', region: 'us-east-1', daemonNamespace: 'failover-engine-system', autoFailover: true });
    const built = buildDaemonOptions(config, { log: silentLogger });
    try {
      expect(built.options.clusterPort).toBeInstanceOf(KubernetesCluster);
      expect(built.options.clusterPort.cluster).toBe('east');
      expect(built.options.peers?.west).toBeInstanceOf(KubernetesCluster);
      expect(built.options.peers?.west.cluster).toBe('west');
      expect(built.options.globalState).toBeInstanceOf(DynamoGlobalState);
      expect(built.options.fencing?.cidrsOf('west')).toEqual(['10.2.0.0/16', '10.3.0.0/16']);
    } finally {
      built.close();
    }
  });

  it('daemon: cli: the command is listed in failoverctl --help', async () => {
    let out = '';
    await main(['node', 'failoverctl', '--help'], (s) => void (out += s), () => {});
    expect(out).toMatch(/daemon \[options\]\s+Run the Failover Engine daemon/);
  });
});
