// Why: a failing seed is only useful if it replays exactly. Two `failoverctl simulate` processes with the same
// seed, scenario and options (crash and stall points included) must print the same trace hash as a run in this
// process, byte for byte.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../simulator/failover-run.ts';
import { loadCrds } from '../../src/crds.ts';
import { caseArb, caseOptions } from './swarm-case.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('simulation: replay', () => {
  it('replay: the same seed, scenario and options give the same trace hash in two processes and in-process (seed=11, sample, UPTIME, crash and stall)', async () => {
    const args = ['--seed', '11', '--scenario', 'sample', '--mode', 'UPTIME', '--type', 'planned', '--crash-at', 'west:4:3000', '--stall', 'east:2000:70000', '--json'];
    const cli = async () => JSON.parse((await run(process.execPath, ['bin/failoverctl.js', 'simulate', ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024 })).stdout);
    const [a, b] = await Promise.all([cli(), cli()]);
    const inProcess = await runSimulation({
      seed: 11,
      scenario: 'sample',
      profile: 'swarm',
      failover: { mode: 'UPTIME', type: 'planned' },
      crds: loadCrds(),
      crashPoints: [{ cluster: 'west', atTransition: 4, downMs: 3000 }],
      stallPoints: [{ cluster: 'east', atMs: 2000, durationMs: 70000 }],
    });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.traceHash).toBe(inProcess.traceHash);
    expect(a).toMatchObject({ seed: 11, scenario: 'sample', outcome: inProcess.outcome, eventCount: inProcess.eventCount, virtualDurationMs: inProcess.virtualDurationMs });
    expect(a.timeline).toEqual(JSON.parse(JSON.stringify(inProcess.timeline)));
    expect(a.invariants.map((i: { name: string }) => i.name)).toEqual(inProcess.invariants.map((i) => i.name));
    expect(a.replayHint).toContain('--crash-at west:4:3000 --stall east:2000:70000');
    expect(inProcess.crashes).toBe(1);
  }, 120_000);

  it('replay: a run on the world\'s own ports (closed world, no event-loop round trip per event) gives the trace of one through the ports option (seed=11, sample, swarm)', async () => {
    const opts = { seed: 11, scenario: 'sample', profile: 'swarm' as const, failover: { mode: 'CONSISTENCY' as const, type: 'planned' as const }, crds: loadCrds() };
    const closed = await runSimulation(opts);
    // Passing ports (the same simulated ones) makes the run an open world: one setImmediate per event.
    const open = await runSimulation({ ...opts, ports: (w) => ({ clusterPort: (c, caller) => w.clusterPort(c, caller), globalStatePort: (caller) => w.globalStatePort(caller) }) });
    expect(closed.eventCount).toBeGreaterThan(100);
    expect(closed.traceHash).toBe(open.traceHash);
    expect(closed.eventCount).toBe(open.eventCount);
  });

  it('replay: another seed gives another trace (seed=12 vs 11)', async () => {
    const opts = { scenario: 'sample', profile: 'swarm' as const, failover: { mode: 'UPTIME' as const, type: 'planned' as const }, crds: loadCrds() };
    const [x, y] = [await runSimulation({ ...opts, seed: 11 }), await runSimulation({ ...opts, seed: 12 })];
    expect(x.traceHash).not.toBe(y.traceHash);
    expect((await runSimulation({ ...opts, seed: 11 })).traceHash).toBe(x.traceHash);
  });

  it('replay: the command a property case prints reproduces it byte for byte in another process (swarm case drawn with fast-check seed 20240611, crash and stall forced)', async () => {
    const [drawn] = fc.sample(caseArb, { seed: 20240611, numRuns: 1 });
    // Force a nemesis of each kind so the printed command carries --crash-at and --stall too.
    const c = { ...drawn, crash: drawn.crash ?? { side: 'target' as const, atTransition: 5, downMs: 4_000 }, stall: drawn.stall ?? { side: 'source' as const, atMs: 3_000, durationMs: 65_000 } };
    const inProcess = await runSimulation({ ...caseOptions(c), crds: loadCrds() });
    const hint = inProcess.replayHint;
    expect(hint).toMatch(/^npx failoverctl simulate --seed \d+ --scenario generated-\d+ --mode (CONSISTENCY|UPTIME) --type (planned|unplanned)( --force)?( --trigger auto)? --crash-at \S+ --stall \S+$/);
    const args = hint.replace(/^npx failoverctl /, '').split(' ');
    const child = await run(process.execPath, ['bin/failoverctl.js', ...args, '--json'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout?: string; code?: number }) => {
      // Exit code 1 means the run found a failure: the JSON is still printed, and must match too.
      if (e.code === 1 && e.stdout) return { stdout: e.stdout };
      throw e;
    });
    const j = JSON.parse(child.stdout);
    expect(j.traceHash).toBe(inProcess.traceHash);
    expect(j).toMatchObject({ seed: c.seed, outcome: inProcess.outcome, eventCount: inProcess.eventCount, virtualDurationMs: inProcess.virtualDurationMs, replayHint: hint });
  }, 120_000);
});
