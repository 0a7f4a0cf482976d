// Why: the replication appliance keeps its own records of the VMs it replicates (specs, NICs, network mappings,
// volumes, last sync with its CBT change id, its active jobs, the VM context status) and its own CloudStack VM
// id. The pre-failover validation reads them and a failover updates the context status, so they are a port:
// a real HTTP client (appliance.http.ts), a simulated one (appliance.sim.ts), one contract suite for both.
import type { CallOpts } from '../cluster/cluster.port.ts';

export type { CallOpts } from '../cluster/cluster.port.ts';

export const APPLIANCE_DRIVER = 'appliance';

/** The VM context statuses the appliance tracks (PARITY.md §3), in the order a test moves through them. */
export const VM_CONTEXT_STATUSES = ['ready_for_failover', 'failed_over_test', 'failed_over_live'] as const;
export type VmContextStatus = (typeof VM_CONTEXT_STATUSES)[number];

export function isVmContextStatus(s: unknown): s is VmContextStatus {
  return typeof s === 'string' && (VM_CONTEXT_STATUSES as readonly string[]).includes(s);
}

export type ReplicationStatus = 'pending' | 'running' | 'replicating' | 'succeeded' | 'failed';

/** A job the appliance is running for the VM (a replication sync, a failover by another engine). */
export interface ApplianceJobView {
  id: string;
  /** `replication`, `failover`, … as the appliance names it. */
  type: string;
  status: string;
}

/** A replicated (source) VM as the appliance knows it. */
export interface SourceVmView {
  vmId: string;
  name: string;
  cpuCount: number;
  memoryMb: number;
  osType: string;
  nics: { macAddress: string; sourceNetwork: string }[];
  /** Source network name → CloudStack network id. */
  networkMappings: Record<string, string>;
  /** The CloudStack volumes the VM's disks replicate into, boot disk first. */
  volumeIds: string[];
  lastReplication: { status: ReplicationStatus | string; changeId?: string; completedAtMs?: number };
  /** The appliance's jobs on this VM that have not ended (the engine's own job log is read separately). */
  activeJobs: ApplianceJobView[];
  /** ready_for_failover, failed_over_test, failed_over_live. */
  contextStatus: string;
}

/**
 * The appliance's VM records. Errors are DriverErrors (driver `appliance`). Reads of an unknown VM resolve
 * undefined; writing the status of an unknown VM is NotFound; a status outside VM_CONTEXT_STATUSES is Invalid;
 * writing the status it already has is a no-op.
 */
export interface SourceVmDirectory {
  /** The replication appliance's own CloudStack VM id. NotFound when the appliance has none registered. */
  applianceVmId(opts?: CallOpts): Promise<string>;
  getVm(vmId: string, opts?: CallOpts): Promise<SourceVmView | undefined>;
  /** Sorted by vmId. */
  listVms(opts?: CallOpts): Promise<SourceVmView[]>;
  setContextStatus(vmId: string, status: string, opts?: CallOpts): Promise<void>;
}

/** The port's name as the other ports are named. */
export type AppliancePort = SourceVmDirectory;
