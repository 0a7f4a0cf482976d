// Why: the VM and volume lifecycle charts carry the rules the failover charts rely on: read first, then move
// towards the goal; a volume whose move fails goes back to the appliance; a volume the appliance will not take
// back ends `orphaned` and says so. Checked here on stub actors.
import { createActor, toPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { DriverError } from '../../drivers/errors.ts';
import type { VmLifecycleInput, VolumeLifecycleInput } from '../../machines/vm/vm.types.ts';
import { APPLIANCE, FAST_POLICY, StubCloud } from './stub-ops.ts';

function vmInput(over: Partial<VmLifecycleInput>): VmLifecycleInput {
  return { jobId: 'job-1', vm: { name: 'app01-test' }, goal: 'stopped', acceptAbsent: false, protectedVolumeIds: ['vol-1'], policy: FAST_POLICY, ...over };
}

function volInput(over: Partial<VolumeLifecycleInput>): VolumeLifecycleInput {
  return { jobId: 'job-1', volumeId: 'vol-1', applianceVmId: APPLIANCE, goal: 'target', fallbackToTarget: false, policy: FAST_POLICY, ...over };
}

const deploy = { name: 'app01-test', displayName: 'app01 (test failover)', zoneId: 'z', serviceOfferingId: 'o', templateId: 't', networkIds: ['n'] };

async function runVm(cloud: StubCloud, input: VmLifecycleInput) {
  const actor = createActor(cloud.charts().vmLifecycle, { input }).start();
  const out = await toPromise(actor);
  return { out, value: actor.getSnapshot().value };
}

async function runVolume(cloud: StubCloud, input: VolumeLifecycleInput) {
  const actor = createActor(cloud.charts().volumeLifecycle, { input }).start();
  const out = await toPromise(actor);
  return { out, value: actor.getSnapshot().value as string };
}

describe('vm lifecycle chart', () => {
  it('vm: an absent VM is deployed and left stopped (goal=stopped)', async () => {
    const cloud = new StubCloud();
    const { out, value } = await runVm(cloud, vmInput({ deploy }));
    expect(value).toBe('done');
    expect(out).toMatchObject({ goalReached: true, state: 'stopped' });
    expect([...cloud.vms.values()]).toEqual([{ id: out.vmId, name: 'app01-test', state: 'Stopped' }]);
  });

  it('vm: a second run finds the VM it made and does not deploy again (idempotent by name)', async () => {
    const cloud = new StubCloud();
    const first = await runVm(cloud, vmInput({ deploy }));
    const second = await runVm(cloud, vmInput({ deploy, goal: 'running' }));
    expect(second.out).toMatchObject({ goalReached: true, vmId: first.out.vmId, state: 'running' });
    expect(cloud.vms.size).toBe(1);
    expect(cloud.calls.get('deployVm')).toBe(1);
  });

  it('vm: a running VM is stopped, then destroyed (goal=destroyed)', async () => {
    const cloud = new StubCloud();
    cloud.vms.set('vm-9', { id: 'vm-9', name: 'app01-test', state: 'Running' });
    const { out } = await runVm(cloud, vmInput({ goal: 'destroyed' }));
    expect(out).toMatchObject({ goalReached: true, state: 'destroyed' });
    expect(cloud.log).toEqual(['observeVm', 'stopVm', 'destroyVm']);
    expect(cloud.vms.size).toBe(0);
  });

  it('vm: an absent VM counts as stopped when absence is accepted (cleanup), and fails NotFound otherwise', async () => {
    const ok = await runVm(new StubCloud(), vmInput({ acceptAbsent: true }));
    expect(ok.out).toMatchObject({ goalReached: true, state: 'absent' });
    const missing = await runVm(new StubCloud(), vmInput({ acceptAbsent: false }));
    expect(missing.value).toBe('failed');
    expect(missing.out.error).toMatchObject({ kind: 'NotFound' });
  });

  it('vm: a VM caught half-way is read again a bounded number of times (settleRoundsMax=2)', async () => {
    const cloud = new StubCloud();
    cloud.ops.observeVm = async () => ({ vmId: 'vm-1', state: 'starting', rawState: 'Starting' });
    const { out, value } = await runVm(cloud, vmInput({ goal: 'running' }));
    expect(value).toBe('failed');
    expect(cloud.calls.get('observeVm')).toBe(3);
    expect(out.error).toMatchObject({ kind: 'Transient', reason: 'Timeout' });
    expect(out.error?.message).toMatch(/stayed starting through 2 reads/);
  });

  it('vm: a failing start leaves the goal unreached with the step error and the job step closed as failed', async () => {
    const cloud = new StubCloud().broken('startVm', 'Fatal');
    cloud.vms.set('vm-9', { id: 'vm-9', name: 'app01-test', state: 'Stopped' });
    const { out } = await runVm(cloud, vmInput({ goal: 'running', record: { name: 'test-vm-startup' } }));
    expect(out).toMatchObject({ goalReached: false, error: { kind: 'Fatal', op: 'startVm' } });
    expect(cloud.steps).toEqual(['test-vm-startup:failed']);
  });
});

describe('volume lifecycle chart', () => {
  it('volume: appliance → detaching → detached → attachingToTarget → attachedToTarget (device 0)', async () => {
    const cloud = new StubCloud();
    cloud.vms.set('vm-t', { id: 'vm-t', name: 'app01-test', state: 'Stopped' });
    const { out, value } = await runVolume(cloud, volInput({ targetVmId: 'vm-t', targetDeviceId: 0 }));
    expect(value).toBe('done');
    expect(out).toMatchObject({ goalReached: true, where: 'target', vmId: 'vm-t' });
    expect(cloud.volumes.get('vol-1')).toMatchObject({ vmId: 'vm-t', deviceId: 0 });
    expect(cloud.log).toEqual(['observeVolume', 'detachVolume', 'attachVolume']);
  });

  it('volume: a failed attach to the target puts the volume back on the appliance (emergency reattach)', async () => {
    const cloud = new StubCloud().broken('attachVolume', 'Fatal', (a) => a.vmId !== APPLIANCE);
    const { out, value } = await runVolume(cloud, volInput({ targetVmId: 'vm-t', targetDeviceId: 0 }));
    expect(value).toBe('gaveUp');
    expect(out).toMatchObject({ goalReached: false, where: 'appliance', error: { op: 'attachVolume', kind: 'Fatal' } });
    expect(cloud.where('vol-1')).toBe('appliance');
  });

  it('volume: when the reattach fails too (bounded retries), the chart ends orphaned and says where it is', async () => {
    const cloud = new StubCloud().broken('attachVolume', 'Transient');
    const { out, value } = await runVolume(cloud, volInput({ targetVmId: 'vm-t', targetDeviceId: 0 }));
    expect(value).toBe('orphaned');
    expect(out).toMatchObject({ goalReached: false, where: 'none' });
    // one try at the target (attemptMax 3) and one at the appliance (reattach attemptMax 4)
    expect(cloud.calls.get('attachVolume')).toBe(3 + 4);
  });

  it('volume: an attach reported failed that in fact happened is recognised as done (the answer was lost)', async () => {
    const cloud = new StubCloud();
    const attach = cloud.ops.attachVolume;
    cloud.ops.attachVolume = async (a, i) => {
      await attach(a, i);
      throw new DriverError('Fatal', 'stub', 'attachVolume', 'lost answer');
    };
    const { out } = await runVolume(cloud, volInput({ targetVmId: 'vm-t', targetDeviceId: 0 }));
    expect(out).toMatchObject({ goalReached: true, where: 'target' });
  });

  it('volume: failback whose appliance will not take the volume puts it back on the live VM (fallbackToTarget)', async () => {
    const cloud = new StubCloud().broken('attachVolume', 'Fatal', (a) => a.vmId === APPLIANCE);
    cloud.vms.set('vm-l', { id: 'vm-l', name: 'app01-live', state: 'Stopped' });
    cloud.volumes.set('vol-1', { vmId: 'vm-l', deviceId: 0, reverted: 0, injected: true });
    const { out, value } = await runVolume(cloud, volInput({ goal: 'appliance', targetVmId: 'vm-l', targetDeviceId: 0, fallbackToTarget: true }));
    expect(value).toBe('gaveUp');
    expect(out).toMatchObject({ goalReached: false, where: 'target', vmId: 'vm-l' });
    expect(cloud.volumes.get('vol-1')).toMatchObject({ vmId: 'vm-l', deviceId: 0 });
  });

  it('volume: a volume on an unknown VM is left alone and named in the error (elsewhere)', async () => {
    const cloud = new StubCloud();
    cloud.volumes.set('vol-1', { vmId: 'stranger', deviceId: 3, reverted: 0, injected: false });
    const { out } = await runVolume(cloud, volInput({ targetVmId: 'vm-t' }));
    expect(out).toMatchObject({ goalReached: false, where: 'elsewhere', vmId: 'stranger' });
    expect(out.error?.message).toMatch(/attached to VM stranger, which is neither the appliance appliance-1 nor the target vm-t: detach it by hand/);
    expect(cloud.log).toEqual(['observeVolume']);
  });

  it('volume: goal detached from the appliance (before a revert) stops once detached', async () => {
    const cloud = new StubCloud();
    const { out } = await runVolume(cloud, volInput({ goal: 'detached' }));
    expect(out).toMatchObject({ goalReached: true, where: 'none' });
  });
});
