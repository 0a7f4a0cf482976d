// Why: `npm start` is the product as it ships: `failoverctl start` must run a failover with two real daemons
// (`failoverctl daemon`'s code over HTTP to the served Kubernetes APIs and dynalite), print its progress stage by
// stage as read from the Failover objects, then the outcome and the replay command, and exit 0 on success.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.ts';
import { runStart, START_SPEED } from '../../src/cli/start.ts';
import { silentLogger } from '../../src/log.ts';

describe('cli: start', () => {
  it('cli: start: the daemons run a Failover created through the Kubernetes API; progress stage by stage, outcome, replay, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'start-'));
    const r = await cli('start', '--kubeconfig-out', join(dir, 'kubeconfig'));
    expect(r.code, r.err + r.out).toBe(0);
    const lines = r.out.split('\n');
    expect(r.out).toMatch(/^daemons: east, west \(failoverctl daemon over HTTP/m);
    expect(r.out).toMatch(/^group: FailoverGroup shop\/storefront registered in global state by east/m);
    expect(r.out).toMatch(/^failover: created Failover shop\/sample-failover-\d{8}-\d{6} in east through the Kubernetes API/m);
    // Progress lines come from the daemons' status writes: each side's stages, in the order each side entered them.
    const progress = lines.filter((l) => /^ {2}T\+\d+\.\ds +(east source|west target) /.test(l));
    const stagesOf = (side: string) => progress.filter((l) => l.includes(side)).map((l) => l.trim().split(/\s{2,}/)[2]);
    const east = stagesOf('east source');
    const west = stagesOf('west target');
    for (const s of ['SourceClusterShutdown', 'VolumeTransitionSource', 'Completion']) expect(east, s).toContain(s);
    for (const s of ['VolumeTransitionTarget', 'TargetClusterActivation', 'Completion']) expect(west, s).toContain(s);
    expect(east.indexOf('SourceClusterShutdown')).toBeLessThan(east.indexOf('VolumeTransitionSource'));
    expect(west.indexOf('VolumeTransitionTarget')).toBeLessThan(west.indexOf('TargetClusterActivation'));
    expect(progress.filter((l) => /SUCCESS \(Succeeded\)$/.test(l))).toHaveLength(2);
    const outcome = /^Outcome: SUCCESS \(east SUCCESS, west SUCCESS\): Failed over shop\/storefront from east to west; downtime (\d+\.\d)s, duration (\d+\.\d)s$/m.exec(r.out);
    expect(outcome, r.out).not.toBeNull();
    // One clock: the duration is the failover's, in seconds of the world's time (tens of seconds), not months.
    const [downtime, duration] = [Number(outcome![1]), Number(outcome![2])];
    expect(duration).toBeGreaterThan(0);
    expect(duration).toBeLessThan(300);
    expect(downtime).toBeLessThanOrEqual(duration);
    expect(r.out).toMatch(/^Replay: npx failoverctl simulate --seed 1 --scenario sample --mode CONSISTENCY --type planned --profile none /m);
  }, 300_000);

  it('cli: start: a failover that fails (the target reports ERROR) prints the FAILED outcome with the reason and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'start-fail-'));
    let out = '';
    const code = await runStart((s) => void (out += s), {
      keep: false,
      speed: START_SPEED,
      kubeconfigOut: join(dir, 'kubeconfig'),
      log: silentLogger,
      // A standby missing one of its workloads reports ERROR: a planned failover to it is refused.
      prepare: (world) => void world.cluster('west').store.delete({ group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'worker' }),
    });
    expect(code, out).toBe(1);
    expect(out).toMatch(/^Outcome: FAILED \(east FAILED, west FAILED\): ValidateFailover failed: target cluster west is ERROR: fix it, or set force to fail over anyway; /m);
    expect(out).toMatch(/^Replay: /m);
  }, 300_000);

  it('cli: start: a bad --speed is one line naming the flag and the fix, exit 2', async () => {
    const r = await cli('start', '--speed', 'fast');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/--speed must be a positive number/);
    expect(r.out).toBe('');
  });
});
