// Why: a failing seed is only useful if it replays: the same seed must give the byte-identical trace in one
// process, in another process, and through the CLI, and another seed must give another run.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Kinds, type ClusterPort, type ObjectRef } from '../../drivers/cluster/cluster.port.ts';
import { DriverError } from '../../drivers/errors.ts';
import { runWorldSimulation, summaryLine, type WorldSimulationOptions } from '../../simulator/run.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import type { SimWorld } from '../../simulator/world.ts';
import { loadCrds } from '../../src/crds.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const crds = loadCrds();

const shop = (kind: keyof typeof Kinds, name: string): ObjectRef => ({ ...Kinds[kind], namespace: 'shop', name });

/**
 * A scripted switch of the sample group from east to west through the ports (faults on), retrying retryable
 * errors with a bounded number of attempts: it makes the trace depend on every injected fault and latency.
 */
async function scriptedSwitch(world: SimWorld): Promise<string> {
  const k = world.kernel;
  const retry = async <T>(op: string, f: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await f();
      } catch (e) {
        if (!(e instanceof DriverError) || !e.retryable || attempt >= 40) throw e;
        k.emit('test.retry', { op, attempt, kind: e.kind, reason: e.reason });
        await k.sched.sleep(250 * Math.min(attempt, 8));
      }
    }
  };
  const waitFor = async (op: string, port: ClusterPort, ref: ObjectRef, ok: (o: Awaited<ReturnType<ClusterPort['get']>>) => boolean) => {
    for (let i = 0; i < 200; i++) {
      if (ok(await retry(op, () => port.get(ref)))) return;
      await k.sched.sleep(1_000);
    }
    throw new Error(`${op}: gave up waiting`);
  };
  const east = world.clusterPort('east', 'operator/east');
  const west = world.clusterPort('west', 'operator/west');
  await retry('scale-down', () => east.mergePatch(shop('Deployment', 'web'), { spec: { replicas: 0 } }));
  await waitFor('wait-scaled-down', east, shop('Deployment', 'web'), (o) => o?.status?.replicas === undefined);
  await retry('demote', () => east.mergePatch(shop('VolumeReplication', 'web-data'), { spec: { replicationState: 'secondary' } }));
  await waitFor('wait-demoted', east, shop('VolumeReplication', 'web-data'), (o) => o?.status?.state === 'Secondary');
  await retry('promote', () => west.mergePatch(shop('VolumeReplication', 'web-data'), { spec: { replicationState: 'primary' } }));
  await waitFor('wait-promoted', west, shop('VolumeReplication', 'web-data'), (o) => o?.status?.state === 'Primary');
  await retry('scale-up', () => west.mergePatch(shop('Deployment', 'web'), { spec: { replicas: 3 } }));
  await waitFor('wait-ready', west, shop('Deployment', 'web'), (o) => o?.status?.readyReplicas === 3);
  return 'switched';
}

function options(seed: number, extra: Partial<WorldSimulationOptions> = {}): WorldSimulationOptions {
  return { seed, scenario: scenarioByName('sample'), crds, profile: 'swarm', keepTraceLines: true, ...extra };
}

describe('determinism', () => {
  it('determinism: one seed gives a byte-identical trace twice in one process (scripted switch, profile=swarm)', async () => {
    const a = await runWorldSimulation(options(21, { drive: scriptedSwitch, maxDurationMs: 600_000 }));
    const b = await runWorldSimulation(options(21, { drive: scriptedSwitch, maxDurationMs: 600_000 }));
    expect(a.drive).toEqual({ status: 'fulfilled', value: 'switched' });
    expect(b.world.kernel.trace.text()).toBe(a.world.kernel.trace.text());
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.virtualDurationMs).toBe(a.virtualDurationMs);
    // The switch really happened, and the trace shows the world moving, not just the header.
    expect(a.world.primaryHolders('shop', 'web-data')).toEqual(['west']);
    expect(a.world.readyReplicas('west', 'Deployment', 'shop', 'web')).toBe(3);
    expect(a.world.kernel.trace.lines.some((l) => l.includes('event=promoted'))).toBe(true);
  });

  it('determinism: different seeds give different runs', async () => {
    const hashes = new Set<string>();
    for (const seed of [1, 2, 3]) hashes.add((await runWorldSimulation(options(seed, { drive: scriptedSwitch, maxDurationMs: 600_000 }))).traceHash);
    expect(hashes.size).toBe(3);
  });

  it('determinism: the CLI replays the in-process run across processes (seed=7, --no-failover: the world alone)', async () => {
    const inProcess = await runWorldSimulation(options(7));
    const cli = async (...args: string[]) => (await run(process.execPath, ['bin/failoverctl.js', 'simulate', '--seed', '7', '--no-failover', ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024 })).stdout;
    const [first, second, text] = await Promise.all([cli('--json'), cli('--json'), cli()]);
    const a = JSON.parse(first);
    const b = JSON.parse(second);
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.traceHash).toBe(inProcess.traceHash);
    expect(a).toMatchObject({ seed: 7, scenario: 'sample', virtualDurationMs: inProcess.virtualDurationMs, eventCount: inProcess.eventCount });
    expect(a.faultPlan).toEqual(JSON.parse(JSON.stringify(inProcess.faultPlan)));
    // The printed trace is the in-process trace, header first, then the summary line.
    expect(text).toBe(inProcess.world.kernel.trace.text() + summaryLine(inProcess) + '\n');
    expect(text.split('\n')[0]).toBe('seed=7');
    expect(text.split('\n')[1]).toMatch(/^fault-plan seed=7 profile=swarm /);
  });
});
