// Why: the state of the simulated CloudStack (zones, offerings, networks, templates, VMs, volumes, snapshots, jobs,
// the appliance's records of source VMs), its fixtures and the inspection helpers invariants read. The rules and
// the jobs that change it are in cloud.ts (SimCloud extends this).
import type { JsonObject } from '../../drivers/json.ts';
import type { SimKernel } from '../kernel.ts';
import type { LatencyModel } from '../faults.ts';
import type { RandomStream } from '../prng.ts';
import { snapshotJson, vmJson, volumeJson, type JsonLookups } from './cloud.json.ts';
import { invalidParam } from '../../drivers/cloudstack/cloudstack.errors.ts';
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

export class SimCloudState implements JsonLookups {
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
  protected readonly ids: RandomStream;
  protected readonly physicsRnd: RandomStream;
  protected readonly injectionFailures = new Map<string, number>();
  protected nicSeq = 0;
  private readonly detachListeners = new Set<(volume: SimVolume, fromVmId: string) => void>();

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

  /**
   * Calls `listener` whenever a volume leaves a VM (a detach, or the expunge of its VM): anything writing to its
   * block device (an injection under way) loses it at that moment. Returns the unsubscribe.
   */
  onVolumeDetached(listener: (volume: SimVolume, fromVmId: string) => void): () => void {
    this.detachListeners.add(listener);
    return () => this.detachListeners.delete(listener);
  }

  protected volumeDetached(v: SimVolume, fromVmId: string): void {
    for (const l of [...this.detachListeners]) l(v, fromVmId);
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

  // ---- helpers ------------------------------------------------------------------------------------------------

  protected mustZone(id: string): SimZone {
    const z = this.zones.get(id);
    if (!z) throw new Error(`SimCloud: no zone ${id}`);
    return z;
  }
  protected mustVm(id: string): SimVm {
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`SimCloud: no VM ${id}`);
    return vm;
  }
  protected mustVolume(id: string): SimVolume {
    const v = this.volume(id);
    if (!v) throw new Error(`SimCloud: no volume ${id}`);
    return v;
  }

  freeDeviceId(vm: SimVm): number {
    for (let d = 1; d <= this.maxDeviceId; d++) if (!this.volumeAt(vm.id, d)) return d;
    throw invalidParam(`VM ${vm.id} has no free device slot (max ${this.maxDeviceId})`);
  }

  physics(model: LatencyModel): number {
    return this.kernel.draw(model, this.physicsRnd);
  }

  protected createVmRecord(name: string, zoneId: string, offeringId: string, templateId: string, networkIds: string[], role: SimVmRole): SimVm {
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

  protected createRootVolume(vm: SimVm): SimVolume {
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

  protected guestHealthOf(vm: SimVm): GuestHealth {
    const root = this.volumeAt(vm.id, 0);
    if (!root) return 'corrupt';
    if (root.data.dirty) return 'corrupt';
    return root.data.virtio ? 'booted' : 'no-virtio';
  }

}
