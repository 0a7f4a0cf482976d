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
import type { JsonObject } from '../../drivers/json.ts';
import { CS_ERROR, CS_EXCEPTION, CloudStackApiError, entityNotFound, invalidParam, type CloudStackErrorBody } from '../../drivers/cloudstack/cloudstack.errors.ts';
import type { SimKernel } from '../kernel.ts';
import type { LatencyModel } from '../faults.ts';
import type { RandomStream } from '../prng.ts';
import { snapshotJson, vmJson, volumeJson, type JsonLookups } from './cloud.json.ts';
import type {
  GuestHealth,
  SimAccount,
  SimJob,
  SimNetwork,
  SimServiceOffering,
  SimSnapshot,
  SimTemplate,
  SimVm,
  SimVmRole,
  SimVolume,
  SimZone,
  SourceVmRecord,
  TargetVmRole,
  VolumeData,
  VolumePlace,
} from './cloud.types.ts';

export const CLOUDSTACK_PARTY = 'cloudstack';

/** A deployed VM's part, from the names the VM charts give (`<name>-test`, `<name>-live`). */
export function targetRoleOf(vm: { name: string; role: SimVmRole }): TargetVmRole {
  if (vm.role !== 'deployed') return 'other';
  return vm.name.endsWith('-test') ? 'test' : vm.name.endsWith('-live') ? 'live' : 'other';
}

/** The appliance's block device for a CloudStack device slot on KVM/virtio: 0 → /dev/vda, 1 → /dev/vdb … */
export function devicePathFor(deviceId: number): string {
  if (!Number.isInteger(deviceId) || deviceId < 0 || deviceId > 25) throw new RangeError(`devicePathFor: deviceId ${deviceId} out of range`);
  return `/dev/vd${String.fromCharCode(97 + deviceId)}`;
}

export interface SimCloudOptions {
  /** The account the API server accepts (default: one derived from the seed). */
  account?: Partial<SimAccount>;
  /** Largest device slot a VM may use (CloudStack's KVM limit is higher; small keeps tests honest). */
  maxDeviceId?: number;
}

export interface AddVmOptions {
  name: string;
  zoneId: string;
  serviceOfferingId: string;
  templateId: string;
  networkIds: string[];
  state?: 'Running' | 'Stopped';
  role?: SimVmRole;
  /** Create the template's root volume at device 0 (default true). */
  withRootVolume?: boolean;
}

export interface AddVolumeOptions {
  name: string;
  zoneId: string;
  sizeBytes: number;
  sourceVmId?: string;
  data?: Partial<VolumeData>;
}

/** A submitted job and the promise of its end (never rejects). */
export interface Submitted<T = undefined> {
  job: SimJob;
  done: Promise<SimJob>;
  created?: T;
}

export class SimCloud implements JsonLookups {
  readonly zones = new Map<string, SimZone>();
  readonly offerings = new Map<string, SimServiceOffering>();
  readonly networks = new Map<string, SimNetwork>();
  readonly templates = new Map<string, SimTemplate>();
  readonly vms = new Map<string, SimVm>();
  readonly volumes = new Map<string, SimVolume>();
  readonly snapshots = new Map<string, SimSnapshot>();
  readonly jobs = new Map<string, SimJob>();
  readonly sourceVms = new Map<string, SourceVmRecord>();
  readonly account: SimAccount;
  readonly maxDeviceId: number;
  applianceVmId: string | undefined;
  private readonly ids: RandomStream;
  private readonly physicsRnd: RandomStream;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly injectionFailures = new Map<string, number>();
  private nicSeq = 0;

  constructor(
    readonly kernel: SimKernel,
    options: SimCloudOptions = {},
  ) {
    this.ids = kernel.prng.stream('cloudstack.ids');
    this.physicsRnd = kernel.prng.stream('cloudstack.physics');
    const keys = kernel.prng.stream('cloudstack.keys');
    const key = (n: number) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[keys.int(0, 63)]).join('');
    this.account = {
      id: options.account?.id ?? this.ids.uuid(),
      userId: options.account?.userId ?? this.ids.uuid(),
      name: options.account?.name ?? 'failover-engine',
      apiKey: options.account?.apiKey ?? key(86),
      secretKey: options.account?.secretKey ?? key(86),
    };
    this.maxDeviceId = options.maxDeviceId ?? 15;
  }

  // ---- lookups (JsonLookups) --------------------------------------------------------------------------------

  zone(id: string): SimZone | undefined {
    return this.zones.get(id);
  }
  offering(id: string): SimServiceOffering | undefined {
    return this.offerings.get(id);
  }
  network(id: string): SimNetwork | undefined {
    return this.networks.get(id);
  }
  vm(id: string): SimVm | undefined {
    return this.vms.get(id);
  }
  volume(id: string): SimVolume | undefined {
    const v = this.volumes.get(id);
    return v && v.state !== 'Expunged' ? v : undefined;
  }
  newId(): string {
    return this.ids.uuid();
  }

  // ---- fixtures ---------------------------------------------------------------------------------------------

  addZone(name: string): SimZone {
    const z = { id: this.newId(), name };
    this.zones.set(z.id, z);
    return z;
  }

  addServiceOffering(name: string, cpuNumber: number, memoryMb: number): SimServiceOffering {
    const o = { id: this.newId(), name, cpuNumber, memoryMb };
    this.offerings.set(o.id, o);
    return o;
  }

  addNetwork(name: string, zoneId: string): SimNetwork {
    this.mustZone(zoneId);
    const n = { id: this.newId(), name, zoneId };
    this.networks.set(n.id, n);
    return n;
  }

  addTemplate(name: string, zoneId: string, sizeBytes = 8 * 2 ** 30): SimTemplate {
    this.mustZone(zoneId);
    const t = { id: this.newId(), name, zoneId, sizeBytes };
    this.templates.set(t.id, t);
    return t;
  }

  /** A VM as it already exists (no job, no latency): the appliance, a live VM, test fixtures. */
  addVm(o: AddVmOptions): SimVm {
    const vm = this.createVmRecord(o.name, o.zoneId, o.serviceOfferingId, o.templateId, o.networkIds, o.role ?? 'fixture');
    if (o.withRootVolume ?? true) this.createRootVolume(vm);
    vm.state = o.state ?? 'Stopped';
    if (vm.state === 'Running') vm.guest = this.guestHealthOf(vm);
    return vm;
  }

  addVolume(o: AddVolumeOptions): SimVolume {
    this.mustZone(o.zoneId);
    const v: SimVolume = {
      id: this.newId(),
      name: o.name,
      type: 'DATADISK',
      state: 'Ready',
      sizeBytes: o.sizeBytes,
      zoneId: o.zoneId,
      createdAtMs: this.kernel.now(),
      data: { generation: 0, virtio: false, dirty: false, ...o.data },
    };
    if (o.sourceVmId !== undefined) v.sourceVmId = o.sourceVmId;
    this.volumes.set(v.id, v);
    return v;
  }

  /** Attaches at once (fixtures only: no rules beyond the slot being free). */
  attachNow(volumeId: string, vmId: string, deviceId?: number): SimVolume {
    const v = this.mustVolume(volumeId);
    const vm = this.mustVm(vmId);
    if (v.vmId) throw new Error(`attachNow: volume ${volumeId} is already attached to ${v.vmId}`);
    const slot = deviceId ?? this.freeDeviceId(vm);
    if (this.volumeAt(vm.id, slot)) throw new Error(`attachNow: device ${slot} of ${vmId} is taken`);
    v.vmId = vm.id;
    v.deviceId = slot;
    if (slot === 0) v.type = 'ROOT';
    return v;
  }

  setAppliance(vmId: string): void {
    const vm = this.mustVm(vmId);
    vm.role = 'appliance';
    this.applianceVmId = vm.id;
  }

  addSourceVm(rec: SourceVmRecord): SourceVmRecord {
    this.sourceVms.set(rec.vmId, structuredClone(rec));
    return rec;
  }

  getSourceVm(vmId: string): SourceVmRecord | undefined {
    const r = this.sourceVms.get(vmId);
    return r ? structuredClone(r) : undefined;
  }

  listSourceVms(): SourceVmRecord[] {
    return [...this.sourceVms.keys()].sort().map((k) => structuredClone(this.sourceVms.get(k)!));
  }

  updateSourceVm(vmId: string, patch: Partial<Omit<SourceVmRecord, 'vmId'>>): SourceVmRecord {
    const r = this.sourceVms.get(vmId);
    if (!r) throw new Error(`updateSourceVm: no source VM ${vmId}`);
    Object.assign(r, structuredClone(patch));
    return structuredClone(r);
  }

  /** A replication sync finished: the source VM's volumes get new content (a new generation, no drivers yet). */
  completeReplicationSync(vmId: string, changeId: string): void {
    const r = this.sourceVms.get(vmId);
    if (!r) throw new Error(`completeReplicationSync: no source VM ${vmId}`);
    for (const id of r.volumeIds) {
      const v = this.volume(id);
      if (v) v.data = { generation: v.data.generation + 1, virtio: false, dirty: false };
    }
    r.lastReplication = { status: 'succeeded', changeId, completedAtMs: this.kernel.now() };
    this.kernel.emit('cloudstack.replication.synced', { vm: vmId, changeId });
  }

  /** The next `times` injections on this volume exit non-zero (and half-write the disk). */
  failNextInjections(volumeId: string, times: number): void {
    this.injectionFailures.set(volumeId, times);
  }

  /** Used by the simulated injection: true when this run must fail (and counts it). */
  takeInjectionFailure(volumeId: string): boolean {
    const n = this.injectionFailures.get(volumeId) ?? 0;
    if (n <= 0) return false;
    this.injectionFailures.set(volumeId, n - 1);
    return true;
  }

  // ---- inspection (invariants, tests) ------------------------------------------------------------------------

  whereIs(volumeId: string): VolumePlace {
    const v = this.volume(volumeId);
    if (!v) return { kind: 'deleted' };
    if (!v.vmId || v.deviceId === undefined) return { kind: 'detached' };
    if (v.vmId === this.applianceVmId) return { kind: 'appliance', vmId: v.vmId, deviceId: v.deviceId };
    const vm = this.mustVm(v.vmId);
    return { kind: 'vm', vmId: vm.id, vmName: vm.name, deviceId: v.deviceId, vmState: vm.state, role: targetRoleOf(vm) };
  }

  /** The deployed VMs named as test VMs (`…-test`), not expunged. */
  testVms(): SimVm[] {
    return this.deployedVms().filter((v) => targetRoleOf(v) === 'test');
  }

  /** The deployed VMs named as live VMs (`…-live`), not expunged. */
  liveVms(): SimVm[] {
    return this.deployedVms().filter((v) => targetRoleOf(v) === 'live');
  }

  /** The VMs made through deployVirtualMachine and not expunged (the test and live VMs), by name. */
  deployedVms(): SimVm[] {
    return this.sortedVms().filter((v) => v.role === 'deployed');
  }

  /** Snapshots that exist (not destroyed), of one volume or all, by creation then id. */
  snapshotsOf(volumeId?: string): SimSnapshot[] {
    return [...this.snapshots.values()]
      .filter((s) => s.state !== 'Destroyed' && (volumeId === undefined || s.volumeId === volumeId))
      .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  /** Every replicated source volume id (from the source VM records), sorted. */
  sourceVolumeIds(): string[] {
    return [...new Set([...this.sourceVms.values()].flatMap((r) => r.volumeIds))].sort();
  }

  /** A JSON summary of the world for traces and failing tests. */
  inspect(): JsonObject {
    return {
      appliance: this.applianceVmId ?? null,
      vms: this.sortedVms().map((v) => ({ id: v.id, name: v.name, state: v.state, role: v.role, guest: v.guest })),
      volumes: [...this.volumes.values()]
        .filter((v) => v.state !== 'Expunged')
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((v) => ({ id: v.id, name: v.name, type: v.type, vmId: v.vmId ?? null, deviceId: v.deviceId ?? null, data: { ...v.data } })),
      snapshots: this.snapshotsOf().map((s) => ({ id: s.id, name: s.name, volumeId: s.volumeId, state: s.state })),
      pendingJobs: [...this.jobs.values()].filter((j) => j.status === 0).map((j) => ({ id: j.id, command: j.command })),
    };
  }

  // ---- reads the API layer uses -----------------------------------------------------------------------------

  sortedVms(): SimVm[] {
    return [...this.vms.values()].sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  liveVolumes(): SimVolume[] {
    return [...this.volumes.values()].filter((v) => v.state !== 'Expunged').sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  volumeAt(vmId: string, deviceId: number): SimVolume | undefined {
    for (const v of this.volumes.values()) if (v.state !== 'Expunged' && v.vmId === vmId && v.deviceId === deviceId) return v;
    return undefined;
  }

  vmJson(vm: SimVm): JsonObject {
    return vmJson(vm, this, this.account);
  }
  volumeJson(v: SimVolume): JsonObject {
    return volumeJson(v, this, this.account);
  }
  snapshotJson(s: SimSnapshot): JsonObject {
    return snapshotJson(s, this, this.account);
  }

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

  private mustZone(id: string): SimZone {
    const z = this.zones.get(id);
    if (!z) throw new Error(`SimCloud: no zone ${id}`);
    return z;
  }
  private mustVm(id: string): SimVm {
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`SimCloud: no VM ${id}`);
    return vm;
  }
  private mustVolume(id: string): SimVolume {
    const v = this.volume(id);
    if (!v) throw new Error(`SimCloud: no volume ${id}`);
    return v;
  }

  private assertLive(vm: SimVm): void {
    if (!this.vms.has(vm.id) || vm.state === 'Destroyed' || vm.state === 'Expunging') throw entityNotFound('job', 'id', vm.id);
  }

  freeDeviceId(vm: SimVm): number {
    for (let d = 1; d <= this.maxDeviceId; d++) if (!this.volumeAt(vm.id, d)) return d;
    throw invalidParam(`VM ${vm.id} has no free device slot (max ${this.maxDeviceId})`);
  }

  physics(model: LatencyModel): number {
    return this.kernel.draw(model, this.physicsRnd);
  }

  private createVmRecord(name: string, zoneId: string, offeringId: string, templateId: string, networkIds: string[], role: SimVmRole): SimVm {
    this.mustZone(zoneId);
    const off = this.offerings.get(offeringId);
    if (!off) throw new Error(`SimCloud: no service offering ${offeringId}`);
    const vm: SimVm = {
      id: this.newId(),
      name,
      displayName: name,
      state: 'Stopped',
      zoneId,
      serviceOfferingId: offeringId,
      templateId,
      cpuNumber: off.cpuNumber,
      memoryMb: off.memoryMb,
      nics: networkIds.map((networkId, i) => {
        const n = ++this.nicSeq;
        return {
          id: this.newId(),
          networkId,
          ipAddress: `10.1.${(n >> 8) & 255}.${n & 255}`,
          macAddress: `02:00:${[(n >> 16) & 255, (n >> 8) & 255, n & 255, i].map((b) => b.toString(16).padStart(2, '0')).join(':')}`,
          isDefault: i === 0,
        };
      }),
      createdAtMs: this.kernel.now(),
      role,
      guest: 'not-started',
    };
    this.vms.set(vm.id, vm);
    return vm;
  }

  private createRootVolume(vm: SimVm): SimVolume {
    const tpl = this.templates.get(vm.templateId);
    const v: SimVolume = {
      id: this.newId(),
      name: `ROOT-${vm.name}`,
      type: 'ROOT',
      state: 'Ready',
      sizeBytes: tpl?.sizeBytes ?? 8 * 2 ** 30,
      zoneId: vm.zoneId,
      vmId: vm.id,
      deviceId: 0,
      createdAtMs: this.kernel.now(),
      data: { generation: 0, virtio: true, dirty: false },
    };
    this.volumes.set(v.id, v);
    return v;
  }

  private guestHealthOf(vm: SimVm): GuestHealth {
    const root = this.volumeAt(vm.id, 0);
    if (!root) return 'corrupt';
    if (root.data.dirty) return 'corrupt';
    return root.data.virtio ? 'booted' : 'no-virtio';
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
