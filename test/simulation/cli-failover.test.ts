// Why: the failover's command line: `failoverctl simulate` prints the sample failover as a per-stage timeline with
// its outcome and replay command, `simulate --json` reports each invariant, and bad options end with one line
// naming the option and exit code 2.
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.ts';

describe('cli: failover simulation', () => {
  it('cli: simulate --no-trace: prints a per-stage timeline, the outcome and the replay command (sample, seed 1)', async () => {
    const r = await cli('simulate', '--seed', '1', '--scenario', 'sample', '--mode', 'CONSISTENCY', '--type', 'planned', '--profile', 'calm', '--no-trace');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^Failover failover-1-[0-9a-f]{8} of shop\/storefront: east -> west \(CONSISTENCY, planned\); seed 1, scenario sample$/);
    for (const stage of ['Initialization', 'SourceClusterShutdown', 'VolumeTransitionSource', 'VolumeTransitionTarget', 'TargetClusterActivation', 'Completion']) {
      expect(lines.some((l) => l.trimStart().startsWith(stage)), stage).toBe(true);
    }
    expect(lines.some((l) => /^\s+- ScaleDownWorkloads at T\+\d+\.\d{3}s$/.test(l))).toBe(true);
    expect(r.out).toMatch(/^Outcome: completed after /m);
    expect(r.out).toMatch(/^Invariants: \d+ held, 0 violated$/m);
    expect(r.out).toContain('Replay: npx failoverctl simulate --seed 1 --scenario sample --mode CONSISTENCY --type planned --profile calm\n');
    expect(r.out).not.toMatch(/^seed=1$/m); // no trace
  });

  it('cli: simulate --json: outcome, per-stage timeline and each invariant held or violated', async () => {
    const r = await cli('simulate', '--seed', '4', '--scenario', 'sample', '--mode', 'UPTIME', '--type', 'planned', '--profile', 'none', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.outcome).toBe('completed');
    expect(j.timeline.map((s: { stage: string }) => s.stage)).toContain('TrafficTransition');
    expect(j.invariants.length).toBeGreaterThan(5);
    for (const i of j.invariants) expect(['held', 'violated']).toContain(i.result);
    expect(j.invariants.find((i: { name: string }) => i.name === 'single-writer')).toMatchObject({ kind: 'always', result: 'held' });
    expect(j.replayHint).toBe('npx failoverctl simulate --seed 4 --scenario sample --mode UPTIME --type planned --profile none');
  });

  it('cli: simulate --seed N --json runs a failover by default (CONSISTENCY planned, sample, swarm) and reports outcome, timeline and invariants', async () => {
    const r = await cli('simulate', '--seed', '3', '--json');
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ seed: 3, scenario: 'sample', failover: { mode: 'CONSISTENCY', type: 'planned', force: false, source: 'east', target: 'west' }, faultPlan: { profile: 'swarm' } });
    expect(['completed', 'rolledBack', 'failed', 'manualIntervention']).toContain(j.outcome);
    expect(j.timeline.map((s: { stage: string }) => s.stage)).toContain('Initialization');
    for (const i of j.invariants) expect(['held', 'violated']).toContain(i.result);
    expect(j.replayHint).toBe('npx failoverctl simulate --seed 3 --scenario sample --mode CONSISTENCY --type planned');
    expect(r.code).toBe(j.failure === null ? 0 : 1);
    const world = JSON.parse((await cli('simulate', '--seed', '3', '--no-failover', '--json')).out);
    expect(Object.keys(world)).toEqual(['seed', 'scenario', 'virtualDurationMs', 'eventCount', 'traceHash', 'faultPlan']);
  });

  it('cli: simulate: bad failover options end with one line naming the option (exit 2)', async () => {
    expect(await cli('simulate', '--seed', '1', '--no-failover', '--mode', 'UPTIME')).toMatchObject({ code: 2, err: expect.stringContaining('--no-failover runs the world alone, so --mode cannot apply') });
    expect(await cli('simulate', '--seed', '1', '--mode', 'FAST')).toMatchObject({ code: 2, err: expect.stringContaining('--mode must be CONSISTENCY or UPTIME, got "FAST"') });
    expect(await cli('simulate', '--seed', '1', '--type', 'sudden')).toMatchObject({ code: 2, err: expect.stringContaining('--type must be planned or unplanned') });
    expect(await cli('simulate', '--seed', '1', '--crash-at', 'east-3')).toMatchObject({ code: 2, err: expect.stringContaining('--crash-at must be cluster:transition:downMs') });
    expect(await cli('simulate', '--seed', '1', '--failover', '--target', 'mars')).toMatchObject({ code: 2, err: expect.stringContaining('failover.target "mars" is not a cluster of scenario sample') });
    expect(await cli('simulate', '--seed', '1', '--failover', '--crash-at', 'north:1:10')).toMatchObject({ code: 2, err: expect.stringContaining('crashPoints: cluster north runs no side') });
  });
});
