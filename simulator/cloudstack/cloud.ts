// Why: the simulated CloudStack: zones, offerings, networks, VMs, volumes, snapshots and async jobs, with the
// rules of the real cloud that a VM failover can trip over, on virtual time and seeded randomness. The API layer
// (cloud.commands.ts), the simulated Volume Daemon and the invariants all sit on this one world.
//
// Rules modelled (CloudStack 4.x, KVM; each violation is CloudStack's 431 InvalidParameterValueException):
//  - a volume is attached to at most one VM; attaching an attached volume fails ("not attached to any VM");
//  - device 0 is the root disk: attaching there needs the VM Stopped and without a root volume, and makes the
//    volume ROOT; detaching a ROOT volume needs the VM Stopped, and makes it DATADISK again;
//  - a VM starts only with a root volume; start of a Running VM and stop of a Stopped VM succeed (no-ops);
//  - work on one VM (start, stop, destroy, attach, detach) is serialised, as CloudStack's VM work jobs are;
//    snapshot work on one volume likewise;
//  - revertSnapshot needs the snapshot BackedUp and the volume detached or its VM Stopped;
//  - deleteVolume needs the volume detached; destroy with expunge removes the VM and the volume at device 0,
//    and detaches the data disks; snapshots belong to a volume and outlive it.
import { DriverError } from '../../drivers/errors.ts';
import { CS_ERROR, CS_EXCEPTION, CloudStackApiError, entityNotFound, invalidParam, type CloudStackErrorBody } from '../../drivers/cloudstack/cloudstack.errors.ts';
import { CLOUDSTACK_PARTY, SimCloudState, type Submitted } from './cloud.state.ts';
import type { SimJob, SimSnapshot, SimVm, SimVolume } from './cloud.types.ts';

export { CLOUDSTACK_PARTY, devicePathFor, targetRoleOf, type AddVmOptions, type AddVolumeOptions, type SimCloudOptions, type Submitted } from './cloud.state.ts';

export class SimCloud extends SimCloudState {
  private readonly queues = new Map<string, Promise<unknown>>();

  // ---- operations (each async one is a job) -----------------------------------------------------------------

  /** deployVirtualMachine: the VM (Stopped, with a root volume) exists at once; the job starts it if asked. */
  deployVm(o: { command: string; name: string; displayName?: string; zoneId: string; serviceOfferingId: string; templateId: string; networkIds: string[]; startVm: boolean }): Submitted<SimVm> {
    if (!/^[A-Za-z][A-Za-z0-9-]{0,62}$/.test(o.name)) {
      throw invalidParam(`Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through '9', and the hyphen ('-'), must be between 1 and 63 characters long, and can't start or end with "-" and can't start with digit`);
    }
    const zone = this.zones.get(o.zoneId);
    if (!zone) throw entityNotFound(o.command, 'zoneid', o.zoneId);
    if (!this.offerings.has(o.serviceOfferingId)) throw entityNotFound(o.command, 'serviceofferingid', o.serviceOfferingId);
    const tpl = this.templates.get(o.templateId);
    if (!tpl) throw entityNotFound(o.command, 'templateid', o.templateId);
    if (o.networkIds.length === 0) throw invalidParam('Unable to execute API command deployvirtualmachine due to missing parameter networkids');
    for (const n of o.networkIds) {
      const net = this.networks.get(n);
      if (!net) throw entityNotFound(o.command, 'networkids', n);
      if (net.zoneId !== zone.id) throw invalidParam(`Network ${n} does not belong to zone ${zone.id}`);
    }
    const taken = [...this.vms.values()].find((v) => v.name.toLowerCase() === o.name.toLowerCase());
    if (taken) throw invalidParam(`The vm with hostname ${o.name} already exists in the network domain: cs1cloud.internal; network=${o.networkIds[0]}`);
    const vm = this.createVmRecord(o.name, o.zoneId, o.serviceOfferingId, o.templateId, o.networkIds, 'deployed');
    if (o.displayName) vm.displayName = o.displayName;
    this.createRootVolume(vm);
    this.kernel.emit('cloudstack.vm.deployed', { vm: vm.id, name: vm.name });
    const s = this.submit('deployVirtualMachine', 'org.apache.cloudstack.api.command.user.vm.DeployVMCmd', 'VirtualMachine', vm.id, [`vm:${vm.id}`], async () => {
      if (o.startVm) await this.startSequence(vm, 'deployVirtualMachine');
      else await this.jobCall('deployVirtualMachine', vm.id, () => undefined);
      return { virtualmachine: this.vmJson(vm) };
    });
    return { ...s, created: vm };
  }

  startVm(command: string, vmId: string): Submitted {
    const vm = this.actionVm(command, vmId);
    return this.submit(command, 'org.apache.cloudstack.api.command.user.vm.StartVMCmd', 'VirtualMachine', vm.id, [`vm:${vm.id}`], async () => {
      this.assertLive(vm);
      if (vm.state !== 'Running') {
        if (vm.state !== 'Stopped') throw invalidParam(`VM ${vm.id} is in state ${vm.state}; only a Stopped VM can be started`);
        await this.startSequence(vm, command);
      }
      return { virtualmachine: this.vmJson(vm) };
    });
  }

  stopVm(command: string, vmId: string): Submitted {
    const vm = this.actionVm(command, vmId);
    return this.submit(command, 'org.apache.cloudstack.api.command.user.vm.StopVMCmd', 'VirtualMachine', vm.id, [`vm:${vm.id}`], async () => {
      this.assertLive(vm);
      if (vm.state !== 'Stopped') {
        if (vm.state !== 'Running') throw invalidParam(`VM ${vm.id} is in state ${vm.state}; only a Running VM can be stopped`);
        await this.stopSequence(vm, command);
      }
      return { virtualmachine: this.vmJson(vm) };
    });
  }

  /** destroyVirtualMachine; with expunge the VM and its device-0 volume are removed and data disks detached. */
  destroyVm(command: string, vmId: string, expunge: boolean): Submitted {
    const vm = this.actionVm(command, vmId);
    if (vm.id === this.applianceVmId) throw new CloudStackApiError(CS_ERROR.UNSUPPORTED_ACTION_ERROR, CS_EXCEPTION.PermissionDeniedException, 'The replication appliance VM cannot be destroyed by this account');
    return this.submit(command, 'org.apache.cloudstack.api.command.user.vm.DestroyVMCmd', 'VirtualMachine', vm.id, [`vm:${vm.id}`], async () => {
      if (!this.vms.has(vm.id)) throw entityNotFound(command, 'id', vm.id);
      if (vm.state === 'Running') await this.stopSequence(vm, command);
      await this.jobCall(command, vm.id, () => {
        if (!this.vms.has(vm.id)) return;
        for (const v of this.volumes.values()) {
          if (v.state === 'Expunged' || v.vmId !== vm.id) continue;
          if (expunge && v.deviceId === 0) {
            v.state = 'Expunged';
            this.kernel.emit('cloudstack.volume.expunged', { volume: v.id, name: v.name, with: vm.id, source: v.sourceVmId });
          } else if (expunge) {
            this.kernel.emit('cloudstack.volume.detached', { volume: v.id, vm: vm.id, device: v.deviceId, by: 'expunge' });
          }
          if (expunge) {
            delete v.vmId;
            delete v.deviceId;
            if (v.type === 'ROOT' && v.state !== 'Expunged') v.type = 'DATADISK';
            this.volumeDetached(v, vm.id);
          }
        }
        vm.state = expunge ? 'Expunging' : 'Destroyed';
        if (expunge) this.vms.delete(vm.id);
        this.kernel.emit(expunge ? 'cloudstack.vm.expunged' : 'cloudstack.vm.destroyed', { vm: vm.id, name: vm.name });
      });
      return { virtualmachine: this.vmJson(vm) };
    });
  }

  attachVolume(command: string, volumeId: string, vmId: string, deviceId: number | undefined): Submitted {
    const v = this.actionVolume(command, volumeId);
    const vm = this.actionVm(command, vmId, 'virtualmachineid');
    if (deviceId !== undefined && (!Number.isInteger(deviceId) || deviceId < 0 || deviceId > this.maxDeviceId)) {
      throw invalidParam(`deviceId should be between 0 and ${this.maxDeviceId}`);
    }
    return this.submit(command, 'org.apache.cloudstack.api.command.user.volume.AttachVolumeCmd', 'Volume', v.id, [`vm:${vm.id}`, `volume:${v.id}`], async () => {
      const check = () => {
        if (!this.volume(v.id)) throw entityNotFound(command, 'id', v.id);
        if (!this.vms.has(vm.id) || vm.state === 'Destroyed' || vm.state === 'Expunging') throw entityNotFound(command, 'virtualmachineid', vm.id);
        if (v.vmId !== undefined) throw invalidParam('Please specify a volume that is not attached to any VM.');
        if (v.state !== 'Ready') throw invalidParam(`Volume ${v.id} is in state ${v.state}; only a Ready volume can be attached`);
        if (vm.state !== 'Running' && vm.state !== 'Stopped') throw invalidParam('Please specify a VM that is either running or stopped.');
        if (v.zoneId !== vm.zoneId) throw invalidParam(`Volume ${v.id} is in zone ${v.zoneId}, VM ${vm.id} in zone ${vm.zoneId}: they must be in the same zone`);
        if (deviceId === 0) {
          if (vm.state !== 'Stopped') throw invalidParam(`VM ${vm.id} must be Stopped to attach a root volume (deviceId 0); it is ${vm.state}`);
          if (this.volumeAt(vm.id, 0)) throw invalidParam('Vm already has root volume attached to it');
        } else if (deviceId !== undefined && this.volumeAt(vm.id, deviceId)) {
          throw invalidParam(`deviceId ${deviceId} is used by VM ${vm.id}`);
        }
      };
      check();
      await this.jobCall(command, v.id, () => {
        check();
        const slot = deviceId ?? this.freeDeviceId(vm);
        v.vmId = vm.id;
        v.deviceId = slot;
        if (slot === 0) v.type = 'ROOT';
        this.kernel.emit('cloudstack.volume.attached', { volume: v.id, vm: vm.id, device: slot, source: v.sourceVmId });
      });
      return { volume: this.volumeJson(v) };
    });
  }

  detachVolume(command: string, volumeId: string): Submitted {
    const v = this.actionVolume(command, volumeId);
    const lockVm = v.vmId;
    const locks = lockVm ? [`vm:${lockVm}`, `volume:${v.id}`] : [`volume:${v.id}`];
    return this.submit(command, 'org.apache.cloudstack.api.command.user.volume.DetachVolumeCmd', 'Volume', v.id, locks, async () => {
      const check = () => {
        if (!this.volume(v.id)) throw entityNotFound(command, 'id', v.id);
        if (v.vmId === undefined) throw invalidParam('Please specify a volume that is attached to a VM.');
        const vm = this.mustVm(v.vmId);
        if (vm.state !== 'Running' && vm.state !== 'Stopped') throw invalidParam('Please specify a VM that is either running or stopped.');
        if (v.deviceId === 0 && vm.state !== 'Stopped') throw invalidParam(`Please specify a VM that is in Stopped state to detach its root volume; VM ${vm.id} is ${vm.state}`);
      };
      check();
      await this.jobCall(command, v.id, () => {
        check();
        const from = v.vmId;
        const device = v.deviceId;
        delete v.vmId;
        delete v.deviceId;
        if (v.type === 'ROOT') v.type = 'DATADISK';
        this.kernel.emit('cloudstack.volume.detached', { volume: v.id, vm: from, device, source: v.sourceVmId });
        if (from !== undefined) this.volumeDetached(v, from);
      });
      return { volume: this.volumeJson(v) };
    });
  }

  /** deleteVolume is synchronous in CloudStack. */
  deleteVolume(command: string, volumeId: string): void {
    const v = this.actionVolume(command, volumeId);
    if (v.vmId !== undefined) throw invalidParam('Please specify a volume that is not attached to any VM.');
    v.state = 'Expunged';
    this.kernel.emit('cloudstack.volume.deleted', { volume: v.id, name: v.name, source: v.sourceVmId });
  }

  /** createSnapshot: the snapshot record exists at once (Allocated); the job backs it up. */
  createSnapshot(command: string, volumeId: string, name: string | undefined): Submitted<SimSnapshot> {
    const v = this.actionVolume(command, volumeId, 'volumeid');
    if (v.state !== 'Ready') throw invalidParam(`VolumeId: ${v.id} is not in Ready state but ${v.state}. Cannot take snapshot.`);
    const snap: SimSnapshot = {
      id: this.newId(),
      name: name ?? `${v.name}_${this.kernel.now()}`,
      volumeId: v.id,
      state: 'Allocated',
      createdAtMs: this.kernel.now(),
    };
    this.snapshots.set(snap.id, snap);
    const s = this.submit(command, 'org.apache.cloudstack.api.command.user.snapshot.CreateSnapshotCmd', 'Snapshot', snap.id, [`volume:${v.id}`], async () => {
      if (!this.volume(v.id)) throw entityNotFound(command, 'volumeid', v.id);
      snap.state = 'Creating';
      const taken = { ...v.data };
      try {
        await this.kernel.sched.sleep(this.physics(this.kernel.plan.physics.snapshotMs), undefined, 'cloudstack.snapshot');
        snap.state = 'BackingUp';
        await this.jobCall(command, snap.id, () => {
          snap.state = 'BackedUp';
          snap.data = taken;
          this.kernel.emit('cloudstack.snapshot.created', { snapshot: snap.id, volume: v.id, generation: taken.generation, virtio: taken.virtio });
        });
      } catch (e) {
        if (!snap.data) snap.state = 'Error';
        throw e;
      }
      return { snapshot: this.snapshotJson(snap) };
    });
    return { ...s, created: snap };
  }

  revertSnapshot(command: string, snapshotId: string): Submitted {
    const snap = this.actionSnapshot(command, snapshotId);
    const v = this.volumes.get(snap.volumeId);
    const locks = v?.vmId ? [`vm:${v.vmId}`, `volume:${snap.volumeId}`] : [`volume:${snap.volumeId}`];
    return this.submit(command, 'org.apache.cloudstack.api.command.user.snapshot.RevertSnapshotCmd', 'Snapshot', snap.id, locks, async () => {
      const check = () => {
        if (snap.state === 'Destroyed') throw entityNotFound(command, 'id', snap.id);
        if (snap.state !== 'BackedUp' || !snap.data) throw invalidParam(`Snapshot ${snap.id} is in state ${snap.state}; only a BackedUp snapshot can be reverted`);
        const vol = this.volume(snap.volumeId);
        if (!vol) throw invalidParam(`Cannot revert snapshot ${snap.id}: its volume ${snap.volumeId} no longer exists`);
        if (vol.state !== 'Ready') throw invalidParam('The volume is not in Ready state.');
        if (vol.vmId !== undefined) {
          const vm = this.mustVm(vol.vmId);
          if (vm.state !== 'Stopped') throw invalidParam(`The VM the specified disk is attached to is not in Stopped state (VM ${vm.id} is ${vm.state}); stop it or detach the volume before reverting`);
        }
        return vol;
      };
      check();
      await this.kernel.sched.sleep(this.physics(this.kernel.plan.physics.snapshotMs), undefined, 'cloudstack.revert');
      await this.jobCall(command, snap.id, () => {
        const vol = check();
        vol.data = { ...snap.data! };
        this.kernel.emit('cloudstack.snapshot.reverted', { snapshot: snap.id, volume: vol.id, generation: vol.data.generation, virtio: vol.data.virtio });
      });
      return { snapshot: this.snapshotJson(snap) };
    });
  }

  deleteSnapshot(command: string, snapshotId: string): Submitted {
    const snap = this.actionSnapshot(command, snapshotId);
    return this.submit(command, 'org.apache.cloudstack.api.command.user.snapshot.DeleteSnapshotCmd', 'Snapshot', snap.id, [`volume:${snap.volumeId}`], async () => {
      if (snap.state === 'Destroyed') throw entityNotFound(command, 'id', snap.id);
      if (snap.state === 'Creating' || snap.state === 'BackingUp') throw invalidParam(`Snapshot ${snap.id} is ${snap.state}; it cannot be deleted now`);
      await this.jobCall(command, snap.id, () => {
        snap.state = 'Destroyed';
        this.kernel.emit('cloudstack.snapshot.deleted', { snapshot: snap.id, volume: snap.volumeId });
      });
      return { success: true };
    });
  }

  // ---- helpers ------------------------------------------------------------------------------------------------

  /** A VM an action names: unknown or expunged → 431 "entity does not exist". */
  actionVm(command: string, vmId: string, param = 'id'): SimVm {
    const vm = this.vms.get(vmId);
    if (!vm) throw entityNotFound(command, param, vmId);
    return vm;
  }

  actionVolume(command: string, volumeId: string, param = 'id'): SimVolume {
    const v = this.volume(volumeId);
    if (!v) throw entityNotFound(command, param, volumeId);
    return v;
  }

  actionSnapshot(command: string, snapshotId: string, param = 'id'): SimSnapshot {
    const s = this.snapshots.get(snapshotId);
    if (!s || s.state === 'Destroyed') throw entityNotFound(command, param, snapshotId);
    return s;
  }

  private assertLive(vm: SimVm): void {
    if (!this.vms.has(vm.id) || vm.state === 'Destroyed' || vm.state === 'Expunging') throw entityNotFound('job', 'id', vm.id);
  }


  /** Stopped → Starting → (boot time) → Running; a fault puts it back to Stopped. */
  private async startSequence(vm: SimVm, command: string): Promise<void> {
    if (!this.volumeAt(vm.id, 0)) throw invalidParam(`Unable to start VM ${vm.id}: it has no ROOT volume (attach one at deviceId 0)`);
    vm.state = 'Starting';
    try {
      await this.kernel.sched.sleep(this.physics(this.kernel.plan.physics.vmBootMs), undefined, 'cloudstack.vm.boot');
      await this.jobCall(command, vm.id, () => {
        if (!this.volumeAt(vm.id, 0)) throw invalidParam(`Unable to start VM ${vm.id}: it has no ROOT volume`);
        vm.state = 'Running';
        vm.guest = this.guestHealthOf(vm);
        this.kernel.emit('cloudstack.vm.started', { vm: vm.id, name: vm.name, guest: vm.guest });
      });
    } finally {
      if (vm.state === 'Starting') vm.state = 'Stopped';
    }
  }

  /** Running → Stopping → (stop time) → Stopped; a fault leaves it Running. */
  private async stopSequence(vm: SimVm, command: string): Promise<void> {
    vm.state = 'Stopping';
    try {
      await this.kernel.sched.sleep(this.physics(this.kernel.plan.physics.vmStopMs), undefined, 'cloudstack.vm.stop');
      await this.jobCall(command, vm.id, () => {
        vm.state = 'Stopped';
        this.kernel.emit('cloudstack.vm.stopped', { vm: vm.id, name: vm.name });
      });
    } finally {
      if (vm.state === 'Stopping') vm.state = 'Running';
    }
  }

  /** The job's own work through the fault kernel (latency and faults of class `cloudstack.job`). */
  private jobCall<T>(command: string, detail: string, apply: () => T): Promise<T> {
    return this.kernel.call('cloudstack.job', { from: CLOUDSTACK_PARTY, to: CLOUDSTACK_PARTY, op: `cloudstack.job.${command}`, detail }, apply);
  }

  /** Runs work on the queues of `locks` (in submission order per lock); the job records its outcome. */
  private submit(command: string, cmdClass: string, instanceType: SimJob['instanceType'], instanceId: string, locks: string[], work: () => Promise<Record<string, unknown>>): Submitted {
    const job: SimJob = { id: this.newId(), command, cmdClass, status: 0, resultCode: 0, createdAtMs: this.kernel.now(), instanceType, instanceId };
    this.jobs.set(job.id, job);
    this.kernel.emit('cloudstack.job.submitted', { job: job.id, command, instance: instanceId });
    const before = Promise.all(locks.map((k) => this.queues.get(k) ?? Promise.resolve()));
    const done = before.then(async () => {
      try {
        job.result = await work();
        job.status = 1;
        job.resultCode = 0;
      } catch (e) {
        const body = jobErrorBody(e);
        job.status = 2;
        job.resultCode = body.errorcode;
        job.result = { ...body };
      }
      job.completedAtMs = this.kernel.now();
      this.kernel.emit('cloudstack.job.ended', { job: job.id, command, status: job.status, code: job.resultCode });
      return job;
    });
    for (const k of locks) this.queues.set(k, done);
    return { job, done };
  }
}

/** A job's failure as CloudStack records it in `jobresult`. Injected faults become CloudStack's own codes. */
export function jobErrorBody(e: unknown): CloudStackErrorBody {
  if (e instanceof CloudStackApiError) return e.body();
  if (e instanceof DriverError) {
    if (e.kind === 'Conflict') return { errorcode: CS_ERROR.INTERNAL_ERROR, cserrorcode: CS_EXCEPTION.ConcurrentOperationException, errortext: `Unable to complete the job: concurrent operation (${e.message})` };
    if (e.kind === 'Throttled') return { errorcode: CS_ERROR.RESOURCE_UNAVAILABLE_ERROR, cserrorcode: CS_EXCEPTION.ResourceUnavailableException, errortext: `Resource unavailable: host agent busy (${e.message})` };
    if (e.reason === 'Timeout') return { errorcode: CS_ERROR.INTERNAL_ERROR, cserrorcode: CS_EXCEPTION.CloudRuntimeException, errortext: `Operation timed out: commands to the host agent timed out (${e.message})` };
    return { errorcode: CS_ERROR.INTERNAL_ERROR, cserrorcode: CS_EXCEPTION.CloudRuntimeException, errortext: `Job failed due to exception: ${e.message}` };
  }
  return { errorcode: CS_ERROR.INTERNAL_ERROR, cserrorcode: CS_EXCEPTION.ServerApiException, errortext: `Internal error: ${e instanceof Error ? e.message : String(e)}` };
}
