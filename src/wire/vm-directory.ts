// Why: the replication appliance's own records of the VMs it replicates (specs, NICs, network mappings, volumes,
// last sync, VM context status) are what the pre-failover validation reads and what a failover updates. No
// driver port covers them yet, so the VM wiring declares the interface it needs here; the simulator implements
// it over its cloud (simulator/vm-directory.ts). A real implementation (the appliance's database API) belongs in
// drivers/appliance/ as a port with a contract suite.
import type { CallOpts } from '../../drivers/cluster/cluster.port.ts';

export type ReplicationStatus = 'pending' | 'running' | 'replicating' | 'succeeded' | 'failed';

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
  /** ready_for_failover, failed_over_test, failed_over_live. */
  contextStatus: string;
}

/**
 * The appliance's VM records. Errors are DriverErrors. Reads of an unknown VM resolve undefined; writing the
 * status of an unknown VM is NotFound; writing the status it already has is a no-op.
 */
export interface SourceVmDirectory {
  /** The replication appliance's own CloudStack VM id. */
  applianceVmId(opts?: CallOpts): Promise<string>;
  getVm(vmId: string, opts?: CallOpts): Promise<SourceVmView | undefined>;
  /** Sorted by vmId. */
  listVms(opts?: CallOpts): Promise<SourceVmView[]>;
  setContextStatus(vmId: string, status: string, opts?: CallOpts): Promise<void>;
}
