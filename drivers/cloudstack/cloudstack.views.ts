// Why: CloudStack's JSON (lower-case keys, `memory` in MiB, dates as `2026-01-01T00:00:00+0000`) → the port's
// JSON-safe views, in one place, for the real client and the simulated port alike.
import { DriverError } from '../errors.ts';
import type { Json, JsonObject } from '../json.ts';
import type {
  AsyncJobView,
  NetworkView,
  NicView,
  ServiceOfferingView,
  SnapshotState,
  SnapshotView,
  VmState,
  VolumeState,
  VolumeType,
  VolumeView,
  VmView,
  ZoneView,
} from './cloudstack.port.ts';
import { CLOUDSTACK_DRIVER_NAME } from './cloudstack.errors.ts';

/** CloudStack's date format → epoch ms (undefined when absent or unreadable). */
export function parseCsDate(v: Json | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isFinite(ms) ? ms : undefined;
}

/** Epoch ms → CloudStack's date format (`yyyy-MM-dd'T'HH:mm:ssZ`, UTC). */
export function formatCsDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

function str(o: JsonObject, key: string, what: string): string {
  const v = o[key];
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  throw new DriverError('Fatal', CLOUDSTACK_DRIVER_NAME, 'parse', `CloudStack returned a ${what} without "${key}"`, { details: { got: o } });
}
function optStr(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}
function num(o: JsonObject, key: string): number {
  const v = o[key];
  return typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0;
}
function optNum(o: JsonObject, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : undefined;
}
function objects(v: Json | undefined): JsonObject[] {
  return Array.isArray(v) ? (v.filter((x) => x !== null && typeof x === 'object' && !Array.isArray(x)) as JsonObject[]) : [];
}
function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

export function toNicView(o: JsonObject): NicView {
  const n: NicView = { id: str(o, 'id', 'nic'), networkId: str(o, 'networkid', 'nic'), isDefault: o.isdefault === true };
  put(n, 'networkName', optStr(o, 'networkname'));
  put(n, 'ipAddress', optStr(o, 'ipaddress'));
  put(n, 'macAddress', optStr(o, 'macaddress'));
  return n;
}

export function toVmView(o: JsonObject): VmView {
  const v: VmView = {
    id: str(o, 'id', 'virtual machine'),
    name: str(o, 'name', 'virtual machine'),
    state: (optStr(o, 'state') ?? 'Unknown') as VmState,
    zoneId: optStr(o, 'zoneid') ?? '',
    serviceOfferingId: optStr(o, 'serviceofferingid') ?? '',
    cpuNumber: num(o, 'cpunumber'),
    memoryMb: num(o, 'memory'),
    nics: objects(o.nic).map(toNicView),
  };
  put(v, 'displayName', optStr(o, 'displayname'));
  put(v, 'templateId', optStr(o, 'templateid'));
  put(v, 'createdAtMs', parseCsDate(o.created));
  return v;
}

export function toVolumeView(o: JsonObject): VolumeView {
  const v: VolumeView = {
    id: str(o, 'id', 'volume'),
    name: optStr(o, 'name') ?? '',
    type: (optStr(o, 'type') ?? 'DATADISK') as VolumeType,
    state: (optStr(o, 'state') ?? 'Ready') as VolumeState,
    sizeBytes: num(o, 'size'),
    zoneId: optStr(o, 'zoneid') ?? '',
  };
  put(v, 'vmId', optStr(o, 'virtualmachineid'));
  put(v, 'vmName', optStr(o, 'vmname'));
  put(v, 'vmState', optStr(o, 'vmstate') as VmState | undefined);
  if (v.vmId !== undefined) put(v, 'deviceId', optNum(o, 'deviceid'));
  put(v, 'createdAtMs', parseCsDate(o.created));
  return v;
}

export function toSnapshotView(o: JsonObject): SnapshotView {
  const s: SnapshotView = {
    id: str(o, 'id', 'snapshot'),
    name: optStr(o, 'name') ?? '',
    volumeId: str(o, 'volumeid', 'snapshot'),
    state: (optStr(o, 'state') ?? 'BackedUp') as SnapshotState,
  };
  put(s, 'volumeName', optStr(o, 'volumename'));
  put(s, 'createdAtMs', parseCsDate(o.created));
  return s;
}

export function toZoneView(o: JsonObject): ZoneView {
  const z: ZoneView = { id: str(o, 'id', 'zone'), name: optStr(o, 'name') ?? '' };
  put(z, 'allocationState', optStr(o, 'allocationstate'));
  return z;
}

export function toServiceOfferingView(o: JsonObject): ServiceOfferingView {
  return { id: str(o, 'id', 'service offering'), name: optStr(o, 'name') ?? '', cpuNumber: num(o, 'cpunumber'), memoryMb: num(o, 'memory') };
}

export function toNetworkView(o: JsonObject): NetworkView {
  const n: NetworkView = { id: str(o, 'id', 'network'), name: optStr(o, 'name') ?? '', zoneId: optStr(o, 'zoneid') ?? '' };
  put(n, 'state', optStr(o, 'state'));
  return n;
}

/** `queryasyncjobresultresponse` → the job view (jobstatus 0 pending, 1 succeeded, 2 failed). */
export function toAsyncJobView(o: JsonObject): AsyncJobView {
  const status = num(o, 'jobstatus');
  const result = o.jobresult !== null && typeof o.jobresult === 'object' && !Array.isArray(o.jobresult) ? (o.jobresult as JsonObject) : undefined;
  const j: AsyncJobView = {
    jobId: str(o, 'jobid', 'async job'),
    status: status === 1 ? 'succeeded' : status === 2 ? 'failed' : 'pending',
    resultCode: num(o, 'jobresultcode'),
  };
  put(j, 'resultType', optStr(o, 'jobresulttype'));
  if (result) j.result = result;
  if (status === 2 && result) {
    put(j, 'errorCode', optNum(result, 'errorcode'));
    put(j, 'errorText', optStr(result, 'errortext'));
  }
  return j;
}

/** The list under its key in a list response (`{ count, virtualmachine: [...] }`; an empty list is `{}`). */
export function listOf(response: JsonObject, key: string): JsonObject[] {
  return objects(response[key]);
}
