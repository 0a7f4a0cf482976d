// Why: the records of the simulated CloudStack (and of the replication appliance's database of source VMs), kept
// apart from the behaviour so invariants, fixtures and the API layer can share them. All JSON-safe.
import type { SnapshotState, VmState, VolumeState, VolumeType } from '../../drivers/cloudstack/cloudstack.port.ts';

/** What is on a disk, as far as the invariants care. Snapshots copy it; revert restores it. */
export interface VolumeData {
  /** The replication sync this content came from (bumped by each completed sync). */
  generation: number;
  /** VirtIO drivers injected (the guest can boot on KVM). */
  virtio: boolean;
  /** Half-written by a failed or interrupted injection: booting it gives a broken guest. */
  dirty: boolean;
}

export interface SimZone {
  id: string;
  name: string;
}

export interface SimServiceOffering {
  id: string;
  name: string;
  cpuNumber: number;
  memoryMb: number;
}

export interface SimNetwork {
  id: string;
  name: string;
  zoneId: string;
}

export interface SimTemplate {
  id: string;
  name: string;
  zoneId: string;
  sizeBytes: number;
}

export interface SimNic {
  id: string;
  networkId: string;
  ipAddress: string;
  macAddress: string;
  isDefault: boolean;
}

/** `appliance`: the replication appliance; `deployed`: made through deployVirtualMachine; `fixture`: given by a test. */
export type SimVmRole = 'appliance' | 'deployed' | 'fixture';

/** How the guest came up on its last start (CloudStack reports Running either way). */
export type GuestHealth = 'booted' | 'no-virtio' | 'corrupt' | 'not-started';

export interface SimVm {
  id: string;
  name: string;
  displayName: string;
  state: VmState;
  zoneId: string;
  serviceOfferingId: string;
  templateId: string;
  cpuNumber: number;
  memoryMb: number;
  nics: SimNic[];
  createdAtMs: number;
  role: SimVmRole;
  guest: GuestHealth;
}

export interface SimVolume {
  id: string;
  name: string;
  type: VolumeType;
  state: VolumeState;
  sizeBytes: number;
  zoneId: string;
  vmId?: string;
  deviceId?: number;
  createdAtMs: number;
  /** Set for a replicated source volume: the source VM it belongs to. */
  sourceVmId?: string;
  data: VolumeData;
}

export interface SimSnapshot {
  id: string;
  name: string;
  volumeId: string;
  state: SnapshotState;
  createdAtMs: number;
  /** The volume's content when the snapshot was taken (set once BackedUp). */
  data?: VolumeData;
}

/** An async job: 0 pending, 1 succeeded, 2 failed (CloudStack's jobstatus). */
export interface SimJob {
  id: string;
  command: string;
  /** The Java command class CloudStack reports as `cmd`. */
  cmdClass: string;
  status: 0 | 1 | 2;
  resultCode: number;
  result?: Record<string, unknown>;
  createdAtMs: number;
  completedAtMs?: number;
  /** The instance the job works on (CloudStack's jobinstancetype/jobinstanceid). */
  instanceType?: 'VirtualMachine' | 'Volume' | 'Snapshot';
  instanceId?: string;
}

export interface SimAccount {
  id: string;
  userId: string;
  name: string;
  apiKey: string;
  secretKey: string;
}

/** The replication status of a source VM, as the appliance's database keeps it. */
export type ReplicationStatus = 'pending' | 'running' | 'replicating' | 'succeeded' | 'failed';

/** A source VM as the appliance knows it: what the pre-failover validation checks read. */
export interface SourceVmRecord {
  /** The source platform's VM id (e.g. `vm-12345`). */
  vmId: string;
  name: string;
  cpuCount: number;
  memoryMb: number;
  osType: 'windows' | 'linux';
  nics: { macAddress: string; sourceNetwork: string }[];
  /** Source network name → CloudStack network id. Must cover every NIC's network. */
  networkMappings: Record<string, string>;
  /** The replicated CloudStack volumes, boot disk first. */
  volumeIds: string[];
  lastReplication: {
    status: ReplicationStatus;
    /** The CBT ChangeID of the last successful sync (absent before the first). */
    changeId?: string;
    completedAtMs?: number;
  };
  /** `ready_for_failover`, `failed_over_test`, `failed_over_live`, … as the appliance tracks it. */
  contextStatus: string;
  /** The appliance's own jobs on this VM that have not ended (a replication sync under way …); none when absent. */
  activeJobs?: { id: string; type: string; status: string }[];
}

/** A deployed VM's part in a failover, from its name (machines/vm/vm.names.ts: `<name>-test`, `<name>-live`). */
export type TargetVmRole = 'test' | 'live' | 'other';

/** Where a volume is, for invariants. */
export type VolumePlace =
  | { kind: 'appliance'; vmId: string; deviceId: number }
  | { kind: 'vm'; vmId: string; vmName: string; deviceId: number; vmState: VmState; role: TargetVmRole }
  | { kind: 'detached' }
  | { kind: 'deleted' };
