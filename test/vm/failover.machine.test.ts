// Why: the test failover, cleanup, live failover and failback charts on stub actors: the happy paths in the
// reference's order, and each rollback path (injection, VM creation, attachment, start-up), down to the one
// terminal state a person must act on, a volume attached to nothing.
import { createActor, toPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { deriveVmStatus } from '../../machines/vm/vm.status.ts';
import { DriverError } from '../../drivers/errors.ts';
import type { VmFailoverInput } from '../../machines/vm/vm.types.ts';
import { APPLIANCE, FAST_POLICY, StubCloud, job, readyFacts, runChart } from './stub-ops.ts';

const testInput = (over: Partial<VmFailoverInput> = {}): VmFailoverInput => ({ job: job('test-failover'), policy: FAST_POLICY, ...over });

const top = (v: unknown) => (typeof v === 'string' ? v : Object.keys(v as object)[0]);

describe('test failover chart', () => {
  it('test failover: validates, snapshots, injects, creates the test VM, moves the volume to device 0, starts it (volumes=1)', async () => {
    const cloud = new StubCloud();
    const { snapshot } = await runChart(cloud.charts().testFailover, testInput(), (v) => top(v) === 'runningAsTest');
    expect(snapshot.value).toEqual({ runningAsTest: 'untimed' });
    expect(cloud.jobStatuses).toEqual(['validating', 'executing', 'snapshotting', 'creating_vm', 'switching_volume', 'powering_on', 'completed']);
    expect(cloud.steps).toEqual([
      'pre-failover-validation:completed',
      'cloudstack-volume-snapshot-creation:completed',
      'virtio-driver-injection:completed',
      'test-vm-creation:completed',
      'volume-attachment:completed',
      'test-vm-startup:completed',
      'test-vm-validation:completed',
      'vm-context-update:completed',
    ]);
    expect(cloud.volumes.get('vol-1')).toMatchObject({ vmId: snapshot.context.targetVm.vmId, deviceId: 0, injected: true });
    expect(cloud.contextStatus).toBe('failed_over_test');
    const status = deriveVmStatus(snapshot);
    expect(status).toMatchObject({ phase: 'TestRunning', jobStatus: 'completed', progressPercent: 100, readiness: { score: 100, ready: true } });
    expect(status.conditions.find((c) => c.type === 'TestRunning')?.message).toMatch(/test VM app01-test \(vm-1\) runs/);
  });

  it('test failover: cleanup.requested stops the VM, reverts the volume while detached, reattaches it, removes the VM and snapshot', async () => {
    const cloud = new StubCloud(['vol-1', 'vol-2']);
    const { actor } = await runChart(cloud.charts().testFailover, testInput(), (v) => top(v) === 'runningAsTest');
    cloud.log.length = 0;
    actor.send({ type: 'cleanup.requested' });
    const out = await toPromise(actor);
    expect(actor.getSnapshot().value).toBe('cleanedUp');
    expect(out).toMatchObject({ outcome: 'cleanedUp' });
    for (const id of ['vol-1', 'vol-2']) expect(cloud.volumes.get(id)).toMatchObject({ vmId: APPLIANCE, reverted: 1, injected: false });
    expect(cloud.vms.size).toBe(0);
    expect(cloud.snapshots.size).toBe(0);
    expect(cloud.contextStatus).toBe('ready_for_failover');
    expect(cloud.log.filter((x) => x !== 'observeVolume' && x !== 'observeVm' && x !== 'recordStep')).toEqual([
      'openJob',
      'stopVm',
      'detachVolume',
      'revertSnapshot',
      'attachVolume',
      'detachVolume',
      'revertSnapshot',
      'attachVolume',
      'destroyVm',
      'deleteSnapshots',
      'setContextStatus',
      'finishJob',
    ]);
  });

  it('test failover: with a test duration the test is cleaned up by itself (auto-cleanup timer)', async () => {
    const cloud = new StubCloud();
    const { snapshot } = await runChart(cloud.charts().testFailover, testInput({ testDurationMs: 3_600_000 }));
    expect(snapshot.value).toBe('cleanedUp');
    expect(snapshot.context.autoCleanupAtMs).toBe(1_000 + 3_600_000);
    expect(cloud.vms.size).toBe(0);
  });

  it('test failover: injection exits non-zero (Fatal) → revert to the snapshot, delete it, job failed (RolledBack)', async () => {
    const cloud = new StubCloud().broken('injectDrivers', 'Fatal');
    const { snapshot } = await runChart(cloud.charts().testFailover, testInput());
    expect(snapshot.value).toBe('failed');
    expect(cloud.volumes.get('vol-1')).toMatchObject({ vmId: APPLIANCE, reverted: 1 });
    expect(cloud.snapshots.size).toBe(0);
    expect(cloud.vms.size).toBe(0);
    expect(cloud.jobStatuses.slice(-3)).toEqual(['cleanup', 'reverting', 'failed']);
    expect(snapshot.context.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'RolledBack', status: 'True' }), expect.objectContaining({ type: 'Failed', reason: 'StepFailed' })]),
    );
    expect(deriveVmStatus(snapshot)).toMatchObject({ phase: 'Failed', jobStatus: 'failed', progressPercent: 95 });
  });

  it('test failover: an interrupted injection (Transient) reverts the volume first, then injects again', async () => {
    const cloud = new StubCloud().flaky('injectDrivers', 1);
    const { snapshot } = await runChart(cloud.charts().testFailover, testInput(), (v) => top(v) === 'runningAsTest');
    expect(top(snapshot.value)).toBe('runningAsTest');
    expect(cloud.calls.get('injectDrivers')).toBe(2);
    expect(cloud.log.slice(cloud.log.indexOf('injectDrivers!'), cloud.log.lastIndexOf('injectDrivers') + 1).filter((x) => !x.startsWith('observe') && x !== 'recordStep')).toEqual([
      'injectDrivers!',
      'detachVolume',
      'revertSnapshot',
      'attachVolume',
      'injectDrivers',
    ]);
  });

  it('test failover: VM creation fails → partial VM removed, volume reverted, job failed', async () => {
    const cloud = new StubCloud();
    const deploy = cloud.ops.deployVm;
    cloud.ops.deployVm = async (a, i) => {
      await deploy(a, i); // the VM was made, but the answer says otherwise
      throw new DriverError('Fatal', 'stub', 'deployVm', 'deploy job failed');
    };
    const { snapshot } = await runChart(cloud.charts().testFailover, testInput());
    expect(snapshot.value).toBe('failed');
    expect(cloud.vms.size).toBe(0);
    expect(cloud.volumes.get('vol-1')).toMatchObject({ vmId: APPLIANCE, reverted: 1, injected: false });
    expect(snapshot.context.error).toMatchObject({ op: 'deployVm', kind: 'Fatal' });
  });

  it('test failover: attachment fails → emergency reattach to the appliance, then revert and clean up', async () => {
    const cloud = new StubCloud().broken('attachVolume', 'Fatal', (a) => a.vmId !== APPLIANCE);
    const { snapshot } = await runChart(cloud.charts().testFailover, testInput());
    expect(snapshot.value).toBe('failed');
    expect(cloud.volumes.get('vol-1')).toMatchObject({ vmId: APPLIANCE, reverted: 1 });
    expect(cloud.vms.size).toBe(0);
    expect(snapshot.context.rollback).toMatchObject({ clean: true });
  });

  it('test failover: start-up fails → the VM is stopped, the volume comes off it, is reverted and goes back', async () => {
    const cloud = new StubCloud().broken('startVm', 'Fatal');
    const { snapshot } = await runChart(cloud.charts().testFailover, testInput());
    expect(snapshot.value).toBe('failed');
    expect(cloud.volumes.get('vol-1')).toMatchObject({ vmId: APPLIANCE, reverted: 1 });
    expect(cloud.vms.size).toBe(0);
    expect(cloud.steps).toEqual(expect.arrayContaining(['rollback-test-vm-shutdown:completed', 'rollback-volume-reattach:completed', 'rollback-test-vm-removal:completed']));
  });

  it('test failover: attach and every reattach fail → volumeOrphaned, with the volume, the appliance and the manual step named', async () => {
    const cloud = new StubCloud().broken('attachVolume', 'Transient');
    const { snapshot } = await runChart(cloud.charts().testFailover, testInput());
    expect(snapshot.value).toBe('volumeOrphaned');
    const c = snapshot.context.conditions.find((x: { type: string }) => x.type === 'VolumeOrphaned');
    expect(c.message).toMatch(/^volume vol-1 is attached to nothing; attach it to appliance VM appliance-1 \(device \/dev\/vdb\) by hand/);
    expect(cloud.jobStatuses[cloud.jobStatuses.length - 1]).toBe('failed');
    // The test VM is kept: the orphaned volume could not be located on it, and removing it is not safe to guess.
    expect(deriveVmStatus(snapshot)).toMatchObject({ phase: 'VolumeOrphaned', jobStatus: 'failed' });
  });

  it('test failover: a critical check failing scores 0 and ends the job before anything changes', async () => {
    const cloud = new StubCloud();
    cloud.ops.gatherFacts = async () => {
      const f = readyFacts(cloud);
      f.facts.vm!.lastReplication = { status: 'failed' };
      return f;
    };
    const { snapshot } = await runChart(cloud.charts().testFailover, testInput());
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.report).toMatchObject({ score: 0, ready: false, criticalFailures: ['last-replication-succeeded'] });
    expect(snapshot.context.error).toMatchObject({ reason: 'NotReady' });
    expect(cloud.log).toEqual(['openJob', 'gatherFacts', 'finishJob']);
    expect(deriveVmStatus(snapshot)).toMatchObject({ phase: 'Failed', progressPercent: 8 });
  });

  it('test failover: a restored snapshot (JSON round trip) mid-chain resumes and reaches the same end', async () => {
    const cloud = new StubCloud();
    const charts = cloud.charts();
    const first = createActor(charts.testFailover, { input: testInput() });
    let persisted: unknown;
    first.subscribe((s) => {
      if (top(s.value) === 'creatingVm' && persisted === undefined) persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    });
    first.start();
    await new Promise<void>((r) => first.subscribe((s) => top(s.value) === 'runningAsTest' && r()));
    first.stop();
    const restored = createActor(charts.testFailover, { snapshot: persisted as any, input: testInput() }).start();
    await new Promise<void>((r) => restored.subscribe((s) => top(s.value) === 'runningAsTest' && r()));
    expect(cloud.vms.size).toBe(1);
    expect(cloud.volumes.get('vol-1')?.deviceId).toBe(0);
  });
});

describe('live failover and failback charts', () => {
  it('live failover: ends failedOver with the snapshots deleted and the context failed_over_live', async () => {
    const cloud = new StubCloud();
    const { snapshot } = await runChart(cloud.charts().liveFailover, { job: job('failover'), policy: FAST_POLICY });
    expect(snapshot.value).toBe('failedOver');
    expect(cloud.jobStatuses).toEqual(['validating', 'executing', 'snapshotting', 'creating_vm', 'switching_volume', 'powering_on', 'completed']);
    expect(cloud.snapshots.size).toBe(0);
    expect(cloud.contextStatus).toBe('failed_over_live');
    expect([...cloud.vms.values()].map((v) => v.name)).toEqual(['app01-live']);
  });

  it('failback: stops the live VM, returns the volume to the appliance, removes the VM, context ready_for_failover', async () => {
    const cloud = new StubCloud();
    await runChart(cloud.charts().liveFailover, { job: job('failover'), policy: FAST_POLICY });
    cloud.jobStatuses.length = 0;
    const { snapshot } = await runChart(cloud.charts().failback, { job: job('failback'), policy: FAST_POLICY });
    expect(snapshot.value).toBe('failedBack');
    expect(cloud.jobStatuses).toEqual(['validating', 'executing', 'switching_volume', 'cleanup', 'completed']);
    expect(cloud.where('vol-1')).toBe('appliance');
    expect(cloud.vms.size).toBe(0);
    expect(cloud.contextStatus).toBe('ready_for_failover');
  });

  it('failback: the appliance will not take the volume → it stays on the live VM, which runs again (RolledBack)', async () => {
    const cloud = new StubCloud();
    await runChart(cloud.charts().liveFailover, { job: job('failover'), policy: FAST_POLICY });
    cloud.broken('attachVolume', 'Fatal', (a) => a.vmId === APPLIANCE);
    const { snapshot } = await runChart(cloud.charts().failback, { job: job('failback'), policy: FAST_POLICY });
    expect(snapshot.value).toBe('failed');
    expect(cloud.where('vol-1')).toBe('app01-live');
    expect(cloud.liveVm()?.state).toBe('Running');
    expect(cloud.contextStatus).toBe('failed_over_live');
    expect(snapshot.context.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'RolledBack', status: 'True' })]));
  });

  it('failback: refused (score 0) when the VM is not failed over live', async () => {
    const cloud = new StubCloud();
    const { snapshot } = await runChart(cloud.charts().failback, { job: job('failback'), policy: FAST_POLICY });
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.report.criticalFailures).toEqual(expect.arrayContaining(['vm-context-failed-over', 'live-vm-present']));
    expect(cloud.where('vol-1')).toBe('appliance');
  });
});
