// Why: the VM charts on the simulated cloud, through the production wiring and runner: each operation's
// happy path as an ordered flow (test failover, cleanup; failover, failback), and the failure stories the issue
// names (injection exits non-zero, a crash mid-injection, auto-cleanup across a crash, a volume the appliance
// cannot take back), each checked on the state of the world, not on the calls made.
import { describe, expect, it } from 'vitest';
import { runVmSimulation, VmSimulationOptionsError, type VmSimulationResult } from '../../simulator/vm-run.ts';
import type { SimKernel } from '../../simulator/kernel.ts';
import { createRootLogger, memoryDestination } from '../../src/log.ts';

function ok(r: VmSimulationResult): void {
  expect(r.failure, `${r.replay}\n${JSON.stringify(r.failure)}`).toBeUndefined();
}

const firstLine = (trace: string | undefined, re: RegExp) => (trace ?? '').split('\n').find((l) => re.test(l)) ?? '';
const atMs = (line: string) => Math.round(Number(/^T\+(\d+\.\d+)/.exec(line)?.[1] ?? 'NaN') * 1000);

describe('vm failover on the simulated cloud', () => {
  it('vm sim: test failover then cleanup (profile=none, dataDisks=1)', async () => {
    const test = await runVmSimulation({ seed: 11, operation: 'test-failover', profile: 'none', dataDisks: 1 });
    ok(test);
    expect(test.result).toBe('testRunning');
    expect(test.world.volumes.map((v) => [v.kind, v.deviceId])).toEqual([
      ['test', 0],
      ['test', 1],
    ]);
    expect(test.world.testVms).toEqual([{ name: 'app01-test', state: 'Running', guest: 'booted' }]);
    expect(test.world.contextStatus).toBe('failed_over_test');

    const cleanup = await runVmSimulation({ seed: 11, operation: 'cleanup', profile: 'none', dataDisks: 1 });
    ok(cleanup);
    expect(cleanup.result).toBe('cleanedUp');
    expect(cleanup.world.volumes.every((v) => v.kind === 'appliance' && v.data?.virtio === false && v.data?.dirty === false)).toBe(true);
    expect(cleanup.world.testVms).toEqual([]);
    expect(cleanup.world.snapshots).toEqual([]);
    expect(cleanup.world.contextStatus).toBe('ready_for_failover');
    expect(cleanup.jobs.map((j) => [j.type, j.status, j.progressPercent])).toEqual([
      ['test-failover', 'completed', 100],
      ['cleanup', 'completed', 100],
    ]);
    expect(cleanup.jobs[1].steps.map((s) => s.name)).toEqual(['test-vm-shutdown', 'volume-detach', 'snapshot-revert', 'volume-reattach', 'test-vm-removal', 'snapshot-deletion', 'vm-context-update']);
    expect(cleanup.jobs.every((j) => j.correlationId === cleanup.jobs[0].correlationId)).toBe(true);
  });

  it('vm sim: live failover then failback (profile=none)', async () => {
    const live = await runVmSimulation({ seed: 12, operation: 'failover', profile: 'none' });
    ok(live);
    expect(live.result).toBe('failedOver');
    expect(live.world.liveVms).toEqual([{ name: 'app01-live', state: 'Running', guest: 'booted' }]);
    expect(live.world.snapshots).toEqual([]);
    const back = await runVmSimulation({ seed: 12, operation: 'failback', profile: 'none' });
    ok(back);
    expect(back.result).toBe('failedBack');
    expect(back.world.volumes.every((v) => v.kind === 'appliance')).toBe(true);
    expect(back.world.liveVms).toEqual([]);
    expect(back.jobs.map((j) => [j.type, j.status])).toEqual([
      ['failover', 'completed'],
      ['failback', 'completed'],
    ]);
  });

  it('vm sim: injection exits non-zero → volume reverted to its snapshot, back on the appliance, snapshot deleted', async () => {
    const r = await runVmSimulation({ seed: 13, operation: 'test-failover', profile: 'none', setup: (w) => w.cloud.failNextInjections(w.sources[0].volumeIds[0], 1) });
    ok(r);
    expect(r.result).toBe('failed');
    expect(r.world.volumes[0]).toMatchObject({ kind: 'appliance', data: { virtio: false, dirty: false } });
    expect(r.world.snapshots).toEqual([]);
    expect(r.world.testVms).toEqual([]);
    expect(r.world.contextStatus).toBe('ready_for_failover');
    const j = r.jobs[0];
    expect(j.status).toBe('failed');
    expect(j.error?.message).toMatch(/exited 1/);
    expect(j.steps.find((s) => s.name === 'virtio-driver-injection')).toMatchObject({ status: 'failed', error: { kind: 'Fatal' } });
    expect(r.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'RolledBack', status: 'True' })]));
  });

  it('vm sim: an engine crash in the middle of the injection reverts the half-written disk, then injects again', async () => {
    const probe = await runVmSimulation({ seed: 14, operation: 'test-failover', profile: 'none', keepTraceLines: true });
    const startedMs = atMs(firstLine(probe.trace, / inject\.started /));
    expect(startedMs).toBeGreaterThan(0);
    const r = await runVmSimulation({ seed: 14, operation: 'test-failover', profile: 'none', crashAtMs: [startedMs + 1_000], keepTraceLines: true });
    ok(r);
    expect(r.crashes).toBe(1);
    expect(r.result).toBe('testRunning');
    const injection = r.jobs[0].steps.find((s) => s.name === 'virtio-driver-injection');
    expect(injection).toMatchObject({ status: 'completed', attempt: 2 });
    expect(r.trace).toMatch(/cloudstack\.snapshot\.reverted/);
    expect(r.world.testVms[0].guest).toBe('booted');
  });

  it('vm sim: auto-cleanup fires at the deadline kept in context, across an engine crash during the test', async () => {
    const durationMs = 10 * 60_000;
    const probe = await runVmSimulation({ seed: 15, operation: 'test-failover', profile: 'none', keepTraceLines: true });
    const runningMs = atMs(firstLine(probe.trace, /state=runningAsTest/));
    const r = await runVmSimulation({ seed: 15, operation: 'test-failover', profile: 'none', testDurationMs: durationMs, crashAtMs: [runningMs + 60_000], crashDownMs: 30_000, keepTraceLines: true });
    ok(r);
    expect(r.crashes).toBe(1);
    expect(r.result).toBe('cleanedUp');
    const cleanupStartedMs = atMs(firstLine(r.trace, /state=cleaningUp/));
    // The restart did not re-arm the timer from scratch: the cleanup starts at the original deadline.
    expect(Math.abs(cleanupStartedMs - (runningMs + durationMs))).toBeLessThan(1_000);
    expect(r.world.testVms).toEqual([]);
  });

  it('vm sim: the Volume Daemon goes away once the volume is off the appliance → volumeOrphaned naming the volume and the manual step', async () => {
    let kernel: SimKernel | undefined;
    let volumeId = '';
    const r = await runVmSimulation({
      seed: 16,
      operation: 'test-failover',
      profile: 'none',
      setup: (w, k) => {
        kernel = k;
        volumeId = w.sources[0].volumeIds[0];
      },
      traceSink: (line) => {
        if (kernel && / cloudstack\.volume\.detached /.test(line) && line.includes(volumeId) && !kernel.isDown('volumedaemon')) kernel.setDown('volumedaemon', true);
      },
    });
    expect(r.result).toBe('volumeOrphaned');
    const c = r.conditions.find((x) => x.type === 'VolumeOrphaned');
    expect(c?.message).toMatch(new RegExp(`^volume ${volumeId} is attached to nothing; attach it to appliance VM [0-9a-f-]+ \\(device /dev/vdb\\) by hand`));
    expect(r.jobs[0]).toMatchObject({ status: 'failed', error: { reason: 'VolumeOrphaned' } });
    // The world agrees, and the run reports it as the liveness failure it is.
    expect(r.world.volumes[0].kind).toBe('detached');
    expect(r.failure?.kind).toBe('liveness');
  });

  it('vm sim: every log line of a job carries its job id and correlation id (pino jobLog child)', async () => {
    const dest = memoryDestination();
    const log = createRootLogger({ destination: dest, level: 'debug', now: () => 0 });
    const r = await runVmSimulation({ seed: 17, operation: 'cleanup', profile: 'calm', log });
    ok(r);
    const lines = dest.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(20);
    const correlation = r.jobs[0].correlationId;
    for (const l of lines) {
      expect(l.correlationId, JSON.stringify(l)).toBe(correlation);
      expect(r.jobs.map((j) => j.id)).toContain(l.jobId);
    }
    expect(lines.some((l) => l.msg === 'Entered state' && l.state === 'cleaningUp')).toBe(true);
    expect(lines.some((l) => l.msg === 'Completed step' && typeof l.durationMs === 'number' && l.outcome === 'ok')).toBe(true);
  });

  it('vm sim: one seed gives one trace; another seed another', async () => {
    const a = await runVmSimulation({ seed: 21, operation: 'cleanup', profile: 'swarm' });
    const b = await runVmSimulation({ seed: 21, operation: 'cleanup', profile: 'swarm' });
    const c = await runVmSimulation({ seed: 22, operation: 'cleanup', profile: 'swarm' });
    expect(b.traceHash).toBe(a.traceHash);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it('vm sim: an unknown VM is refused, naming the VMs the appliance knows', async () => {
    await expect(runVmSimulation({ seed: 1, operation: 'test-failover', vmId: 'vm-404' })).rejects.toThrow(VmSimulationOptionsError);
    await expect(runVmSimulation({ seed: 1, operation: 'test-failover', vmId: 'vm-404' })).rejects.toThrow(/unknown VM "vm-404": the simulated appliance replicates vm-1001, vm-1002/);
  });
});
