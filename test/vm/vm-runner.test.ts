// Why: the VM job runner is what makes a crash resumable: it saves the whole actor system's snapshot on every
// change, freezes at a chosen transition for crash tests, and refuses a snapshot another chart version took.
import { describe, expect, it } from 'vitest';
import { MemoryVmSnapshotStore, VmJobRun, VmSnapshotVersionError } from '../../src/runtime/vm-runner.ts';
import { silentLogger } from '../../src/log.ts';
import { FAST_POLICY, StubCloud, job } from './stub-ops.ts';

const input = { job: job('failover'), policy: FAST_POLICY };

describe('vm job runner', () => {
  it('runner: saves every change as JSON, numbered, and the last one is the final state', async () => {
    const store = new MemoryVmSnapshotStore();
    const seen: number[] = [];
    const run = new VmJobRun({ key: 'job-1', machineVersion: 1, input, store, log: silentLogger, onTransition: (t) => seen.push(t.transition) });
    run.start(new StubCloud().charts().liveFailover);
    const final = await run.done();
    expect(final.value).toBe('failedOver');
    expect(seen).toEqual(seen.map((_, i) => i + 1));
    const rec = store.load('job-1');
    expect(rec).toMatchObject({ machineVersion: 1, transition: seen.length, input });
    expect((rec?.snapshot as { value: unknown }).value).toBe('failedOver');
    expect(store.writes).toBe(seen.length);
  });

  it('runner: after a crash at transition k, restore resumes from snapshot k and reaches the same end', async () => {
    const cloud = new StubCloud();
    const store = new MemoryVmSnapshotStore();
    const run = new VmJobRun({ key: 'job-2', machineVersion: 1, input, store, log: silentLogger, freezeAfterTransition: 6 });
    run.start(cloud.charts().liveFailover);
    await new Promise((r) => setTimeout(r, 50));
    expect(store.load('job-2')?.transition).toBe(6);
    run.crash();
    expect(run.running).toBe(false);
    run.restore(cloud.charts().liveFailover);
    const final = await run.done();
    expect(final.value).toBe('failedOver');
    expect([...cloud.vms.values()].map((v) => v.name)).toEqual(['app01-live']);
    expect(run.incarnation).toBe(2);
  });

  it('runner: a snapshot taken by another chart version is refused, naming both versions', async () => {
    const store = new MemoryVmSnapshotStore();
    const first = new VmJobRun({ key: 'job-3', machineVersion: 1, input, store, log: silentLogger });
    first.start(new StubCloud().charts().liveFailover);
    await first.done();
    const next = new VmJobRun({ key: 'job-3', machineVersion: 2, input, store, log: silentLogger });
    expect(() => next.restore(new StubCloud().charts().liveFailover)).toThrow(VmSnapshotVersionError);
    expect(() => next.restore(new StubCloud().charts().liveFailover)).toThrow(/taken by chart version 1, this engine runs version 2/);
  });
});
