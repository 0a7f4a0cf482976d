// Why: the VM wiring's name for the appliance's records of replicated VMs. The port lives in drivers/appliance/
// (appliance.port.ts, with a real HTTP client and a simulated implementation); this re-export keeps the wiring's
// names (SourceVmDirectory, SourceVmView, ReplicationStatus) working.
export type { ApplianceJobView, ReplicationStatus, SourceVmDirectory, SourceVmView, VmContextStatus } from '../../drivers/appliance/appliance.port.ts';
