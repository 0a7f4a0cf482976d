// Why: one ready-made simulated cloud for tests and simulations of VM failover: a zone, offerings, networks, a
// template, the replication appliance (Running) and N replicated source VMs whose volumes sit on the appliance,
// with the appliance's records of them (specs, NICs, network mappings, last replication).
import type { SimKernel } from '../kernel.ts';
import { SimCloud, type SimCloudOptions } from './cloud.ts';
import type { SimNetwork, SimServiceOffering, SimTemplate, SimVm, SimZone, SourceVmRecord } from './cloud.types.ts';

export interface StandardCloudOptions extends SimCloudOptions {
  /** How many source VMs are replicated to the appliance (default 1). */
  sourceVms?: number;
  /** Data disks per source VM besides the boot disk (default 0). */
  dataDisks?: number;
}

export interface StandardCloud {
  cloud: SimCloud;
  zone: SimZone;
  offerings: { small: SimServiceOffering; large: SimServiceOffering };
  networks: { prod: SimNetwork; test: SimNetwork };
  template: SimTemplate;
  appliance: SimVm;
  sources: SourceVmRecord[];
}

export function standardCloud(kernel: SimKernel, options: StandardCloudOptions = {}): StandardCloud {
  const cloud = new SimCloud(kernel, options);
  const zone = cloud.addZone('zone-a');
  const small = cloud.addServiceOffering('small-2cpu-4gb', 2, 4096);
  const large = cloud.addServiceOffering('large-8cpu-32gb', 8, 32768);
  const prod = cloud.addNetwork('net-prod', zone.id);
  const test = cloud.addNetwork('net-test', zone.id);
  const template = cloud.addTemplate('ubuntu-22.04', zone.id, 10 * 2 ** 30);
  const appliance = cloud.addVm({
    name: 'replication-appliance',
    zoneId: zone.id,
    serviceOfferingId: large.id,
    templateId: template.id,
    networkIds: [prod.id],
    state: 'Running',
    role: 'appliance',
  });
  cloud.setAppliance(appliance.id);

  const sources: SourceVmRecord[] = [];
  const n = options.sourceVms ?? 1;
  for (let i = 1; i <= n; i++) {
    const vmId = `vm-${1000 + i}`;
    const name = `app${String(i).padStart(2, '0')}`;
    const volumeIds: string[] = [];
    for (let d = 0; d <= (options.dataDisks ?? 0); d++) {
      const v = cloud.addVolume({ name: `${name}-disk${d}`, zoneId: zone.id, sizeBytes: (d === 0 ? 40 : 100) * 2 ** 30, sourceVmId: vmId, data: { generation: 1 } });
      cloud.attachNow(v.id, appliance.id);
      volumeIds.push(v.id);
    }
    const rec: SourceVmRecord = {
      vmId,
      name,
      cpuCount: 2,
      memoryMb: 4096,
      osType: i % 2 ? 'windows' : 'linux',
      nics: [{ macAddress: `00:50:56:00:${String(i).padStart(2, '0')}:01`, sourceNetwork: 'VM Network' }],
      networkMappings: { 'VM Network': test.id },
      volumeIds,
      lastReplication: { status: 'succeeded', changeId: `52 d0 2f 9a-${i}/1`, completedAtMs: kernel.now() },
      contextStatus: 'ready_for_failover',
    };
    cloud.addSourceVm(rec);
    sources.push(rec);
  }
  return { cloud, zone, offerings: { small, large }, networks: { prod, test }, template, appliance, sources };
}
