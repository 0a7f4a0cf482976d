// Why: the simulated cloud answers with CloudStack's own JSON shapes (lower-case keys, `memory` in MiB, dates as
// `2026-01-01T00:00:00+0000`), so the real client parses the simulator exactly as it parses CloudStack.
import type { JsonObject } from '../../drivers/json.ts';
import { formatCsDate } from '../../drivers/cloudstack/cloudstack.views.ts';
import type { SimAccount, SimJob, SimNetwork, SimServiceOffering, SimSnapshot, SimVm, SimVolume, SimZone } from './cloud.types.ts';

export interface JsonLookups {
  zone(id: string): SimZone | undefined;
  offering(id: string): SimServiceOffering | undefined;
  network(id: string): SimNetwork | undefined;
  vm(id: string): SimVm | undefined;
  volume(id: string): SimVolume | undefined;
}

export function zoneJson(z: SimZone): JsonObject {
  return { id: z.id, name: z.name, allocationstate: 'Enabled', networktype: 'Advanced', localstorageenabled: false };
}

export function offeringJson(o: SimServiceOffering): JsonObject {
  return { id: o.id, name: o.name, displaytext: o.name, cpunumber: o.cpuNumber, cpuspeed: 2000, memory: o.memoryMb, storagetype: 'shared', iscustomized: false };
}

export function networkJson(n: SimNetwork, l: JsonLookups): JsonObject {
  return { id: n.id, name: n.name, displaytext: n.name, zoneid: n.zoneId, zonename: l.zone(n.zoneId)?.name ?? '', state: 'Implemented', type: 'Isolated', traffictype: 'Guest' };
}

export function vmJson(vm: SimVm, l: JsonLookups, account: SimAccount): JsonObject {
  return {
    id: vm.id,
    name: vm.name,
    displayname: vm.displayName,
    account: account.name,
    domain: 'ROOT',
    created: formatCsDate(vm.createdAtMs),
    state: vm.state,
    haenable: false,
    zoneid: vm.zoneId,
    zonename: l.zone(vm.zoneId)?.name ?? '',
    templateid: vm.templateId,
    serviceofferingid: vm.serviceOfferingId,
    serviceofferingname: l.offering(vm.serviceOfferingId)?.name ?? '',
    cpunumber: vm.cpuNumber,
    cpuspeed: 2000,
    memory: vm.memoryMb,
    guestosid: 'sim-guest-os',
    rootdevicetype: 'ROOT',
    hypervisor: 'KVM',
    nic: vm.nics.map((n) => ({
      id: n.id,
      networkid: n.networkId,
      networkname: l.network(n.networkId)?.name ?? '',
      ipaddress: n.ipAddress,
      macaddress: n.macAddress,
      isdefault: n.isDefault,
      type: 'Isolated',
      traffictype: 'Guest',
    })),
  };
}

export function volumeJson(v: SimVolume, l: JsonLookups, account: SimAccount): JsonObject {
  const vm = v.vmId ? l.vm(v.vmId) : undefined;
  const o: JsonObject = {
    id: v.id,
    name: v.name,
    zoneid: v.zoneId,
    zonename: l.zone(v.zoneId)?.name ?? '',
    type: v.type,
    size: v.sizeBytes,
    created: formatCsDate(v.createdAtMs),
    state: v.state,
    account: account.name,
    domain: 'ROOT',
    storagetype: 'shared',
    hypervisor: 'KVM',
    destroyed: v.state === 'Destroy' || v.state === 'Expunged',
    isextractable: true,
  };
  if (vm && v.deviceId !== undefined) {
    o.virtualmachineid = vm.id;
    o.vmname = vm.name;
    o.vmdisplayname = vm.displayName;
    o.vmstate = vm.state;
    o.deviceid = v.deviceId;
    o.attached = formatCsDate(vm.createdAtMs);
  }
  return o;
}

export function snapshotJson(s: SimSnapshot, l: JsonLookups, account: SimAccount): JsonObject {
  const vol = l.volume(s.volumeId);
  return {
    id: s.id,
    name: s.name,
    account: account.name,
    domain: 'ROOT',
    volumeid: s.volumeId,
    volumename: vol?.name ?? '',
    volumetype: vol?.type ?? 'DATADISK',
    snapshottype: 'MANUAL',
    intervaltype: 'MANUAL',
    created: formatCsDate(s.createdAtMs),
    state: s.state,
    zoneid: vol?.zoneId ?? '',
    revertable: s.state === 'BackedUp',
  };
}

/** `queryasyncjobresultresponse`: jobresult only once the job has ended. */
export function jobJson(j: SimJob, account: SimAccount): JsonObject {
  const o: JsonObject = {
    accountid: account.id,
    userid: account.userId,
    cmd: j.cmdClass,
    jobstatus: j.status,
    jobprocstatus: 0,
    jobresultcode: j.resultCode,
    created: formatCsDate(j.createdAtMs),
    jobid: j.id,
  };
  if (j.instanceType) o.jobinstancetype = j.instanceType;
  if (j.instanceId) o.jobinstanceid = j.instanceId;
  if (j.status !== 0) {
    o.jobresulttype = 'object';
    o.jobresult = (j.result ?? {}) as JsonObject;
    if (j.completedAtMs !== undefined) o.completed = formatCsDate(j.completedAtMs);
  }
  return o;
}
