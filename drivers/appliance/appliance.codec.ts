// Why: the appliance API's JSON (snake_case, RFC 3339 times; docs/appliance.md) and the port's views, converted
// in one place: the simulated server writes with it, and both clients read with it, so the simulated and the real
// paths see the same records. A malformed answer is a Fatal error naming the field, never a half-read record.
import type { Json, JsonObject } from '../json.ts';
import { badApplianceResponse } from './appliance.errors.ts';
import type { ApplianceJobView, SourceVmView } from './appliance.port.ts';

/** One VM record on the wire. */
export function sourceVmToWire(v: SourceVmView): JsonObject {
  const last: JsonObject = { status: v.lastReplication.status };
  if (v.lastReplication.changeId !== undefined) last.change_id = v.lastReplication.changeId;
  if (v.lastReplication.completedAtMs !== undefined) last.completed_at = new Date(v.lastReplication.completedAtMs).toISOString();
  return {
    vm_id: v.vmId,
    name: v.name,
    cpu_count: v.cpuCount,
    memory_mb: v.memoryMb,
    os_type: v.osType,
    nics: v.nics.map((n) => ({ mac_address: n.macAddress, source_network: n.sourceNetwork })),
    network_mappings: { ...v.networkMappings },
    volume_ids: [...v.volumeIds],
    last_replication: last,
    active_jobs: v.activeJobs.map((j) => ({ id: j.id, type: j.type, status: j.status })),
    context_status: v.contextStatus,
  };
}

type Reader = {
  str(field: string): string;
  num(field: string): number;
  obj(field: string): JsonObject;
  arr(field: string): Json[];
};

function reader(op: string, o: JsonObject, prefix: string): Reader {
  const at = (f: string) => `${prefix}${f}`;
  return {
    str(f) {
      const v = o[f];
      if (typeof v !== 'string') throw badApplianceResponse(op, at(f), `expected a string, got ${JSON.stringify(v) ?? 'nothing'}`);
      return v;
    },
    num(f) {
      const v = o[f];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw badApplianceResponse(op, at(f), `expected a number, got ${JSON.stringify(v) ?? 'nothing'}`);
      return v;
    },
    obj(f) {
      const v = o[f];
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw badApplianceResponse(op, at(f), 'expected an object');
      return v as JsonObject;
    },
    arr(f) {
      const v = o[f];
      if (!Array.isArray(v)) throw badApplianceResponse(op, at(f), 'expected a list');
      return v;
    },
  };
}

function objectAt(op: string, v: Json, field: string): JsonObject {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badApplianceResponse(op, field, 'expected an object');
  return v as JsonObject;
}

function timeMs(op: string, field: string, v: Json | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) throw badApplianceResponse(op, field, `expected an RFC 3339 time, got ${JSON.stringify(v)}`);
  return ms;
}

/** One VM record from the wire; `field` names where it sits in the answer (for errors). */
export function sourceVmFromWire(op: string, json: Json, field = 'vm'): SourceVmView {
  const o = objectAt(op, json, field);
  const r = reader(op, o, `${field}.`);
  const vmId = r.str('vm_id');
  const name = r.str('name');
  const cpuCount = r.num('cpu_count');
  const memoryMb = r.num('memory_mb');
  const osType = r.str('os_type');
  const lastObj = r.obj('last_replication');
  const last = reader(op, lastObj, `${field}.last_replication.`);
  const lastReplication: SourceVmView['lastReplication'] = { status: last.str('status') };
  if (lastObj.change_id !== undefined && lastObj.change_id !== null) lastReplication.changeId = last.str('change_id');
  const completed = timeMs(op, `${field}.last_replication.completed_at`, lastObj.completed_at);
  if (completed !== undefined) lastReplication.completedAtMs = completed;
  const mappings: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.obj('network_mappings'))) {
    if (typeof v !== 'string') throw badApplianceResponse(op, `${field}.network_mappings.${k}`, 'expected a CloudStack network id');
    mappings[k] = v;
  }
  const activeJobs: ApplianceJobView[] = (o.active_jobs === undefined ? [] : r.arr('active_jobs')).map((j, i) => {
    const jr = reader(op, objectAt(op, j, `${field}.active_jobs[${i}]`), `${field}.active_jobs[${i}].`);
    return { id: jr.str('id'), type: jr.str('type'), status: jr.str('status') };
  });
  return {
    vmId,
    name,
    cpuCount,
    memoryMb,
    osType,
    nics: r.arr('nics').map((n, i) => {
      const nr = reader(op, objectAt(op, n, `${field}.nics[${i}]`), `${field}.nics[${i}].`);
      return { macAddress: nr.str('mac_address'), sourceNetwork: nr.str('source_network') };
    }),
    networkMappings: mappings,
    volumeIds: r.arr('volume_ids').map((v, i) => {
      if (typeof v !== 'string') throw badApplianceResponse(op, `${field}.volume_ids[${i}]`, 'expected a volume id');
      return v;
    }),
    lastReplication,
    activeJobs,
    contextStatus: r.str('context_status'),
  };
}
