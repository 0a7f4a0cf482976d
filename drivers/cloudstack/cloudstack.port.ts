// Why: the one interface the VM charts use to talk to CloudStack (VMs, volumes, snapshots, zones, offerings,
// networks). The real signed HTTP client and the simulated cloud both implement it, and one contract suite runs
// against both. Every view is JSON-safe; every failure is a DriverError (driver 'cloudstack').
import type { CallOpts } from '../cluster/cluster.port.ts';
import type { JsonObject } from '../json.ts';

export type { CallOpts } from '../cluster/cluster.port.ts';

/** CloudStack's VM states, as listVirtualMachines reports them. */
export const VM_STATES = ['Starting', 'Running', 'Stopping', 'Stopped', 'Destroyed', 'Expunging', 'Migrating', 'Error', 'Unknown', 'Shutdowned'] as const;
export type VmState = (typeof VM_STATES)[number];

export type VolumeType = 'ROOT' | 'DATADISK';
/** CloudStack's volume states (the ones this engine meets). */
export type VolumeState = 'Allocated' | 'Creating' | 'Ready' | 'Attaching' | 'Destroy' | 'Expunging' | 'Expunged';
export type SnapshotState = 'Allocated' | 'Creating' | 'CreatedOnPrimary' | 'BackingUp' | 'BackedUp' | 'Error' | 'Destroying' | 'Destroyed';

export interface NicView {
  id: string;
  networkId: string;
  networkName?: string;
  ipAddress?: string;
  macAddress?: string;
  isDefault: boolean;
}

export interface VmView {
  id: string;
  name: string;
  displayName?: string;
  state: VmState;
  zoneId: string;
  serviceOfferingId: string;
  templateId?: string;
  cpuNumber: number;
  /** Memory in MiB, as CloudStack reports `memory`. */
  memoryMb: number;
  nics: NicView[];
  createdAtMs?: number;
}

export interface VolumeView {
  id: string;
  name: string;
  /** A DATADISK attached at device 0 becomes the VM's ROOT, as CloudStack records it. */
  type: VolumeType;
  state: VolumeState;
  sizeBytes: number;
  zoneId: string;
  /** The VM it is attached to; absent when detached. */
  vmId?: string;
  vmName?: string;
  vmState?: VmState;
  /** The device slot on that VM (0 is the root disk). */
  deviceId?: number;
  createdAtMs?: number;
}

export interface SnapshotView {
  id: string;
  name: string;
  volumeId: string;
  volumeName?: string;
  state: SnapshotState;
  createdAtMs?: number;
}

export interface ZoneView {
  id: string;
  name: string;
  allocationState?: string;
}

export interface ServiceOfferingView {
  id: string;
  name: string;
  cpuNumber: number;
  memoryMb: number;
}

export interface NetworkView {
  id: string;
  name: string;
  zoneId: string;
  state?: string;
}

/** CloudStack's async job status: 0 pending, 1 succeeded, 2 failed. */
export type AsyncJobStatus = 'pending' | 'succeeded' | 'failed';

export interface AsyncJobView {
  jobId: string;
  status: AsyncJobStatus;
  /** `jobresultcode`: 0 on success, the CloudStack error code (530 …) on failure. */
  resultCode: number;
  resultType?: string;
  /** The job's `jobresult` as CloudStack returned it (lower-case keys). */
  result?: JsonObject;
  /** On failure: `jobresult.errorcode` and `jobresult.errortext`. */
  errorCode?: number;
  errorText?: string;
}

export interface DeployVmRequest {
  /** The VM's host name; unique per account network domain, so deployVm is idempotent by name. */
  name: string;
  displayName?: string;
  zoneId: string;
  serviceOfferingId: string;
  templateId: string;
  /** The networks, in NIC order (the first is the default NIC). */
  networkIds: string[];
  /** Start it once deployed. The test-failover flow deploys stopped (false, the default here). */
  startVm?: boolean;
}

export interface VmFilter {
  id?: string;
  name?: string;
  zoneId?: string;
}

export interface VolumeFilter {
  id?: string;
  vmId?: string;
  type?: VolumeType;
}

export interface SnapshotFilter {
  id?: string;
  volumeId?: string;
  name?: string;
}

/**
 * CloudStack through one port. Writes that are async jobs in CloudStack resolve only when the job has ended
 * (polled with bounded backoff); a failed job rejects with its mapped DriverError.
 *
 * Idempotent by observation, so that a step re-run after a crash or restore is safe:
 * - deployVm: a live VM of that name already exists → resolves with it (no second VM).
 * - startVm on a Running VM, stopVm on a Stopped VM → resolve with the VM.
 * - destroyVm of a VM that is gone → resolves.
 * - attachVolume of a volume already attached to that VM (at that device, when given) → resolves.
 * - detachVolume of a detached volume, deleteVolume / deleteSnapshot of a gone one → resolve.
 * - createSnapshot: a snapshot of that name on that volume already exists → resolves with it.
 *
 * Errors: unknown ids → NotFound; rule violations (attached elsewhere, VM not stopped, root already present)
 * → Invalid; a bad signature or key → Unauthorized; CloudStack's capacity/unavailable codes → Transient;
 * throttling (429) → Throttled; a job not done within its bound → Transient, reason `Timeout`.
 */
export interface CloudStackPort {
  listZones(opts?: CallOpts): Promise<ZoneView[]>;
  listServiceOfferings(opts?: CallOpts): Promise<ServiceOfferingView[]>;
  listNetworks(filter?: { zoneId?: string }, opts?: CallOpts): Promise<NetworkView[]>;

  listVms(filter?: VmFilter, opts?: CallOpts): Promise<VmView[]>;
  /** Unknown (or expunged) VM resolves undefined: not an error. */
  getVm(vmId: string, opts?: CallOpts): Promise<VmView | undefined>;
  deployVm(req: DeployVmRequest, opts?: CallOpts): Promise<VmView>;
  startVm(vmId: string, opts?: CallOpts): Promise<VmView>;
  stopVm(vmId: string, opts?: CallOpts & { forced?: boolean }): Promise<VmView>;
  /** destroyVirtualMachine with expunge=true: the VM and its ROOT volume (whatever sits at device 0) go; data disks are detached. */
  destroyVm(vmId: string, opts?: CallOpts): Promise<void>;

  listVolumes(filter?: VolumeFilter, opts?: CallOpts): Promise<VolumeView[]>;
  /** Unknown (or expunged) volume resolves undefined. */
  getVolume(volumeId: string, opts?: CallOpts): Promise<VolumeView | undefined>;
  /** deviceId 0 attaches it as the root disk: the VM must be Stopped and have no root volume. */
  attachVolume(volumeId: string, vmId: string, opts?: CallOpts & { deviceId?: number }): Promise<VolumeView>;
  /** A ROOT volume can be detached only while its VM is Stopped. */
  detachVolume(volumeId: string, opts?: CallOpts): Promise<VolumeView>;
  /** The volume must be detached. */
  deleteVolume(volumeId: string, opts?: CallOpts): Promise<void>;

  createSnapshot(volumeId: string, name: string, opts?: CallOpts): Promise<SnapshotView>;
  listSnapshots(filter?: SnapshotFilter, opts?: CallOpts): Promise<SnapshotView[]>;
  /** The volume must be detached or its VM Stopped; the snapshot must be BackedUp. Resolves with the volume. */
  revertSnapshot(snapshotId: string, opts?: CallOpts): Promise<VolumeView>;
  deleteSnapshot(snapshotId: string, opts?: CallOpts): Promise<void>;

  /** One look at an async job (no waiting). Unknown job id → NotFound. */
  queryAsyncJob(jobId: string, opts?: CallOpts): Promise<AsyncJobView>;
}

export const CLOUDSTACK_DRIVER = 'cloudstack';
