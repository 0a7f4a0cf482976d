// Why: `failoverctl world serve` must give any CloudStack client a working cloud: the signed API at the printed
// endpoint with the printed keys (a wrong secret refused), the Volume Daemon and the appliance answering, on the
// world's own virtual time, and a clean stop. And `failoverctl vm … --cloudstack-url …` must run the real drivers
// against it without ever printing a secret.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpAppliance } from '../../drivers/appliance/appliance.http.ts';
import { httpCloudStack } from '../../drivers/cloudstack/cloudstack.http.ts';
import { httpVolumeDaemon } from '../../drivers/volumedaemon/volumedaemon.http.ts';
import { main } from '../../src/cli/main.ts';
import { startWorldServe, type ServedWorld } from '../../src/cli/world-serve.ts';

const dir = mkdtempSync(join(tmpdir(), 'world-serve-cloud-'));
let served: ServedWorld;
const line = (re: RegExp) => {
  const l = served.lines.find((x) => re.test(x));
  if (!l) throw new Error(`no line matches ${re}: ${served.lines.join('\n')}`);
  return re.exec(l)!;
};
const endpoints = () => ({
  cloudstack: line(/^cloudstack: (\S+)/)[1],
  apiKey: line(/^cloudstack api key: (\S+)$/)[1],
  secretKey: line(/^cloudstack secret key: (\S+)/)[1],
  volumeDaemon: line(/^volume daemon: (\S+)/)[1],
  appliance: line(/^appliance: (\S+)/)[1],
  token: line(/^appliance: \S+ \(bearer token (\w+);/)[1],
  dynamodb: line(/^dynamodb: (\S+)/)[1],
});

beforeAll(async () => {
  served = await startWorldServe({ seed: 9, scenario: 'sample', kubeconfigOut: join(dir, 'kubeconfig'), speed: 200, profile: 'none', kubePortBase: 0, table: 'failover-engine' });
});
afterAll(async () => {
  await served.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  process.exitCode = undefined;
});

async function cli(env: Record<string, string>, ...args: string[]) {
  let out = '';
  let err = '';
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    const code = await main(['node', 'failoverctl', ...args], (s) => void (out += s), (s) => void (err += s));
    return { code, out, err };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('world serve: the simulated cloud', () => {
  it('world serve: CloudStack, the Volume Daemon and the appliance are served with their endpoints and keys; the real clients work against them', async () => {
    const e = endpoints();
    expect(e.cloudstack).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/client\/api$/);
    expect(e.apiKey).toHaveLength(86);
    expect(e.secretKey).toHaveLength(86);
    const cs = httpCloudStack({ endpoint: e.cloudstack, apiKey: e.apiKey, secretKey: e.secretKey });
    const vms = await cs.listVms();
    expect(vms.map((v) => [v.name, v.state])).toEqual([['replication-appliance', 'Running']]);
    // The source VMs are the appliance's: listed by its API, their replicated volumes on the appliance VM in CloudStack.
    const appliance = httpAppliance({ baseUrl: e.appliance, token: e.token });
    expect(await appliance.applianceVmId()).toBe(vms[0].id);
    const sources = await appliance.listVms();
    expect(sources.map((s) => [s.vmId, s.name, s.contextStatus])).toEqual([
      ['vm-1001', 'app01', 'ready_for_failover'],
      ['vm-1002', 'app02', 'ready_for_failover'],
    ]);
    const onAppliance = (await cs.listVolumes({ vmId: vms[0].id, type: 'DATADISK' })).map((v) => v.id).sort();
    expect(onAppliance).toEqual(sources.flatMap((s) => s.volumeIds).sort());
    // A wrong secret is refused by the signature check.
    await expect(httpCloudStack({ endpoint: e.cloudstack, apiKey: e.apiKey, secretKey: 'wrong-secret' }).listVms()).rejects.toMatchObject({ kind: 'Unauthorized', code: 401 });
    // The Volume Daemon answers, and knows the device each source volume is on the appliance.
    expect(await (await fetch(`${e.volumeDaemon}/api/v1/health`)).json()).toEqual({ status: 'ok' });
    expect(await httpVolumeDaemon({ baseUrl: e.volumeDaemon }).getDevice(sources[0].volumeIds[0])).toMatchObject({ vmId: vms[0].id, devicePath: '/dev/vdb' });
  });

  it('world serve: the VM services are world serve\'s own (WORLD_SERVICES), and a stopped world serves nothing', async () => {
    const other = await startWorldServe({ seed: 10, scenario: 'sample', kubeconfigOut: join(dir, 'k2'), speed: 50, profile: 'none', kubePortBase: 0, table: 'failover-engine-2' });
    const cs = /^cloudstack: (\S+)/.exec(other.lines.find((l) => l.startsWith('cloudstack: '))!)![1];
    const vd = /^volume daemon: (\S+)/.exec(other.lines.find((l) => l.startsWith('volume daemon: '))!)![1];
    expect(other.services.map((s) => s.name)).toEqual(expect.arrayContaining(['kubernetes', 'dynamodb', 'cloudstack', 'volumedaemon', 'appliance']));
    await other.stop();
    await expect(fetch(cs)).rejects.toThrow();
    await expect(fetch(`${vd}/api/v1/health`)).rejects.toThrow();
  });
});

describe('failoverctl vm against a deployment (the served world)', () => {
  const flags = () => {
    const e = endpoints();
    return ['--cloudstack-url', e.cloudstack, '--api-key', e.apiKey, '--volume-daemon-url', e.volumeDaemon, '--appliance-url', e.appliance, '--joblog-table', 'failover-engine', '--dynamodb-endpoint', e.dynamodb];
  };

  it('cli vm deployment: --dry-run reads the real deployment and prints the plan; the secret key and token are never printed, not even in debug logs', async () => {
    const e = endpoints();
    const r = await cli({ CLOUDSTACK_SECRET_KEY: e.secretKey, APPLIANCE_TOKEN: e.token, LOG_LEVEL: 'debug' }, 'vm', 'test-failover', '--vm', 'vm-1001', '--dry-run', ...flags());
    expect(r.code, r.err).toBe(0);
    // Ready (a non-critical miss such as replication-fresh may lower the score).
    expect(r.out).toMatch(/^Plan: test-failover of vm-1001 \(app01\)\n {2}readiness score (9\d|100) \(ready;/);
    expect(r.out).not.toMatch(/FAIL \S+ +\(critical\)/);
    expect(r.out).toMatch(/deploy app01-test:/);
    expect(r.err).toMatch(/"driver":"appliance"/);
    for (const secret of [e.secretKey, e.token]) {
      expect(r.out).not.toContain(secret);
      expect(r.err).not.toContain(secret);
    }
  });

  it('cli vm deployment: a secret given as a flag is not printed either, also when CloudStack refuses it', async () => {
    const e = endpoints();
    const wrong = 'Sup3rSecretValueThatMustNotLeak';
    const r = await cli({ LOG_LEVEL: 'debug' }, 'vm', 'test-failover', '--vm', 'vm-1001', '--dry-run', ...flags(), '--secret-key', wrong, '--appliance-token', e.token);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^failoverctl: cloudstack: .*unable to verify user credentials.*\(Unauthorized\)$/m);
    expect(r.out + r.err).not.toContain(wrong);
    expect(r.out + r.err).not.toContain(e.token);
  });

  it('cli vm deployment: list shows the appliance\'s VMs with their readiness', async () => {
    const e = endpoints();
    const r = await cli({ CLOUDSTACK_SECRET_KEY: e.secretKey, APPLIANCE_TOKEN: e.token }, 'vm', 'list', ...flags());
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^vm-1001 {2}app01 +ready_for_failover +readiness +(9\d|100) ready {2}volumes 2$/m);
    expect(r.out.trim().split('\n')).toHaveLength(2);
  });

  it('cli vm deployment: a missing or invalid deployment flag is one line naming the flag and the fix (exit 2)', async () => {
    const e = endpoints();
    const base = flags();
    const without = (flag: string) => {
      const i = base.indexOf(flag);
      return [...base.slice(0, i), ...base.slice(i + 2)];
    };
    const env = { CLOUDSTACK_SECRET_KEY: '', APPLIANCE_TOKEN: '', CLOUDSTACK_API_KEY: '' };
    for (const [args, message] of [
      [['--cloudstack-url', e.cloudstack], /^failoverctl: --api-key is missing \(running against a deployment because --cloudstack-url was given\): give the CloudStack API key with --api-key or CLOUDSTACK_API_KEY\n$/],
      [[...base], /^failoverctl: --secret-key is missing .*CLOUDSTACK_SECRET_KEY/],
      [[...base, '--secret-key', 's'], /^failoverctl: --appliance-token is missing .*APPLIANCE_TOKEN/],
      [[...without('--joblog-table'), '--secret-key', 's', '--appliance-token', 't'], /^failoverctl: --joblog-table is missing/],
      [[...without('--volume-daemon-url'), '--secret-key', 's'], /^failoverctl: --volume-daemon-url is missing/],
      [['--appliance-url', e.appliance], /^failoverctl: --cloudstack-url is missing \(running against a deployment because --appliance-url was given\)/],
      [[...without('--cloudstack-url'), '--cloudstack-url', 'cloud.example.com'], /^failoverctl: --cloudstack-url: "cloud\.example\.com" is not a URL/],
      [[...base, '--secret-key', 's', '--appliance-token', 't', '--seed', '4'], /^failoverctl: --seed applies to the simulated cloud only; drop it when running against a deployment/],
      [[...base, '--secret-key', 's', '--appliance-token', 't', '--injection-command', ' '], /^failoverctl: --injection-command is empty/],
    ] as const) {
      const r = await cli(env, 'vm', 'test-failover', '--vm', 'vm-1001', ...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    const unknown = await cli({ CLOUDSTACK_SECRET_KEY: e.secretKey, APPLIANCE_TOKEN: e.token }, 'vm', 'failover', '--vm', 'vm-404', '--dry-run', ...flags());
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe('failoverctl: unknown VM "vm-404": the appliance replicates vm-1001, vm-1002\n');
  });
});
