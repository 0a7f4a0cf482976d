// Why: `failoverctl simulate` is how a failing seed is replayed by hand; bad input must end with one line naming
// the problem and exit code 2, and good input must print the trace and a summary (or one JSON object).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'failoverctl-simulate-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Exit code 2 and exactly one line on stderr, matching `message`. */
async function expectUsageError(args: string[], message: RegExp): Promise<void> {
  const r = await cli(...args);
  expect(r.code, r.err).toBe(2);
  expect(r.out).toBe('');
  expect(r.err.endsWith('\n')).toBe(true);
  expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(message);
}

describe('failoverctl simulate', () => {
  it('cli: simulate: bad seeds exit 2 naming --seed (seed=-1, 1.5, abc)', async () => {
    for (const seed of ['-1', '1.5', 'abc']) await expectUsageError(['simulate', '--seed', seed], /--seed must be a non-negative integer, got "/);
  });

  it('cli: simulate: an unknown scenario exits 2 listing the known ones', async () => {
    await expectUsageError(['simulate', '--seed', '1', '--scenario', 'nope'], /unknown scenario "nope"; the built-in scenarios are sample, reference, three-clusters/);
  });

  it('cli: simulate: malformed scenario files exit 2 naming the file and the field', async () => {
    const broken = file('broken.json', '{ "name": "x", ');
    await expectUsageError(['simulate', '--seed', '1', '--scenario-file', broken], new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON or YAML`));
    const pod = file(
      'pod.yaml',
      ['name: bad', 'clusters: [east, west]', 'primary: east', 'groups:', '  - spec:', '      name: app', '      namespace: shop', '      workloads:', '        - { kind: Pod, name: web }'].join('\n'),
    );
    await expectUsageError(['simulate', '--seed', '1', '--scenario-file', pod], /pod\.yaml: groups\[0\]\.spec\.workloads\[0\]\.kind: must be one of Deployment, StatefulSet, CronJob \(got "Pod"\)$/m);
    await expectUsageError(['simulate', '--seed', '1', '--scenario-file', join(dir, 'missing.yaml')], /cannot read --scenario-file .*missing\.yaml: no such file/);
    await expectUsageError(['simulate', '--seed', '1', '--scenario', 'sample', '--scenario-file', pod], /either --scenario NAME or --scenario-file PATH, not both/);
  });

  it('cli: simulate: an unknown profile exits 2 listing the profiles', async () => {
    await expectUsageError(['simulate', '--seed', '1', '--profile', 'wild'], /--profile must be one of none, calm, swarm, got "wild"/);
  });

  it('cli: simulate --no-failover: prints the world\'s trace, header first, then the summary line', async () => {
    const r = await cli('simulate', '--seed', '5', '--profile', 'calm', '--no-failover');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('seed=5');
    expect(lines[1]).toMatch(/^fault-plan seed=5 profile=calm /);
    expect(lines.some((l) => /^T\+\d{6}\.\d{3} world\.built scenario=sample/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('controller.volumereplication') && l.includes('event=synced'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^summary seed=5 scenario=sample virtualDurationMs=120000 events=\d+ traceHash=[0-9a-f]{64}$/);
  });

  it('cli: simulate --no-failover --json prints one JSON object; a scenario file runs like a built-in one', async () => {
    const tiny = file(
      'tiny.yaml',
      ['name: tiny', 'clusters: [a, b]', 'groups:', '  - spec:', '      name: app', '      namespace: apps', '      workloads:', '        - { kind: StatefulSet, name: db, volumeReplications: [db-data] }', '    replicas: { db: 2 }'].join('\n'),
    );
    const r = await cli('simulate', '--seed', '9', '--scenario-file', tiny, '--profile', 'none', '--no-failover', '--json');
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n')).toHaveLength(1);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(['seed', 'scenario', 'virtualDurationMs', 'eventCount', 'traceHash', 'faultPlan']);
    expect(j).toMatchObject({ seed: 9, scenario: 'tiny', virtualDurationMs: 60_000, faultPlan: { seed: 9, profile: 'none' } });
    expect(j.eventCount).toBeGreaterThan(2);
    const again = JSON.parse((await cli('simulate', '--seed', '9', '--scenario-file', tiny, '--profile', 'none', '--no-failover', '--json')).out);
    expect(again.traceHash).toBe(j.traceHash);
  });
});
