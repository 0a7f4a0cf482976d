// Why: CloudStack's API commands on the simulated cloud: parameter handling, list paging and filters, and the
// response shapes (`{ count, virtualmachine: [...] }`, `{ jobid }`, `{ id, jobid }`, `{ success: true }`). The
// HTTP server (simulator/serve/cloudstack-api.ts) and the in-process simulated port both call execute(), so the
// two paths answer alike. Authentication is the caller's business (the HTTP server checks signatures).
import type { JsonObject } from '../../drivers/json.ts';
import { CS_ERROR, CS_EXCEPTION, CloudStackApiError, entityNotFound, invalidParam } from '../../drivers/cloudstack/cloudstack.errors.ts';
import type { OpClass } from '../faults.ts';
import type { SimCloud } from './cloud.ts';
import { jobJson, networkJson, offeringJson, zoneJson } from './cloud.json.ts';

type Params = Record<string, string>;

/** The commands the simulated cloud knows, and whether each is an async job. */
export const SIM_COMMANDS = {
  listZones: 'read',
  listServiceOfferings: 'read',
  listNetworks: 'read',
  listVirtualMachines: 'read',
  listVolumes: 'read',
  listSnapshots: 'read',
  queryAsyncJobResult: 'read',
  deployVirtualMachine: 'write',
  startVirtualMachine: 'write',
  stopVirtualMachine: 'write',
  destroyVirtualMachine: 'write',
  attachVolume: 'write',
  detachVolume: 'write',
  deleteVolume: 'write',
  createSnapshot: 'write',
  revertSnapshot: 'write',
  deleteSnapshot: 'write',
} as const;
export type SimCommand = keyof typeof SIM_COMMANDS;

export function isSimCommand(c: string): c is SimCommand {
  return Object.prototype.hasOwnProperty.call(SIM_COMMANDS, c);
}

/** The fault/latency class of a command. */
export function opClassOf(command: string): OpClass {
  return isSimCommand(command) && SIM_COMMANDS[command] === 'read' ? 'cloudstack.read' : 'cloudstack.write';
}

export function unknownCommand(): CloudStackApiError {
  return new CloudStackApiError(CS_ERROR.UNSUPPORTED_ACTION_ERROR, CS_EXCEPTION.ServerApiException, 'The given command does not exist or it is not available for user');
}

function required(command: string, p: Params, name: string): string {
  const v = p[name];
  if (v === undefined || v === '') throw invalidParam(`Unable to execute API command ${command.toLowerCase()} due to missing parameter ${name}`);
  return v;
}

function bool(p: Params, name: string, dflt: boolean): boolean {
  const v = p[name];
  if (v === undefined || v === '') return dflt;
  if (v.toLowerCase() === 'true') return true;
  if (v.toLowerCase() === 'false') return false;
  throw invalidParam(`Unable to execute API command due to invalid value ${v} for parameter ${name}: expected true or false`);
}

function int(command: string, p: Params, name: string): number | undefined {
  const v = p[name];
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw invalidParam(`Unable to execute API command ${command.toLowerCase()} due to invalid value. Invalid parameter ${name} value=${v} due to incorrect long value format`);
  return Number(v);
}

/** Pages a list (CloudStack: page from 1, pagesize default 500) into `{ count, <key>: [...] }`; empty is `{}`. */
function listResponse(command: string, p: Params, key: string, items: JsonObject[]): JsonObject {
  if (items.length === 0) return {};
  const page = int(command, p, 'page');
  const size = int(command, p, 'pagesize');
  if ((page !== undefined && page < 1) || (size !== undefined && size < 1)) throw invalidParam('Page and pagesize must be positive');
  const pageSize = size ?? 500;
  const start = ((page ?? 1) - 1) * pageSize;
  const slice = items.slice(start, start + pageSize);
  return slice.length === 0 ? { count: items.length } : { count: items.length, [key]: slice };
}

/**
 * Runs one API command on the simulated cloud; resolves with the inner `<command>response` object; throws
 * CloudStackApiError for every failure CloudStack would answer with an error.
 */
export function executeCommand(cloud: SimCloud, command: string, p: Params): JsonObject {
  switch (command) {
    case 'listZones': {
      let zones = [...cloud.zones.values()];
      if (p.id) zones = zones.filter((z) => z.id === p.id);
      if (p.name) zones = zones.filter((z) => z.name === p.name);
      return listResponse(command, p, 'zone', zones.map(zoneJson));
    }
    case 'listServiceOfferings': {
      let offs = [...cloud.offerings.values()];
      if (p.id) offs = offs.filter((o) => o.id === p.id);
      if (p.name) offs = offs.filter((o) => o.name === p.name);
      return listResponse(command, p, 'serviceoffering', offs.map(offeringJson));
    }
    case 'listNetworks': {
      let nets = [...cloud.networks.values()];
      if (p.zoneid) {
        if (!cloud.zones.has(p.zoneid)) throw entityNotFound(command, 'zoneid', p.zoneid);
        nets = nets.filter((n) => n.zoneId === p.zoneid);
      }
      if (p.id) nets = nets.filter((n) => n.id === p.id);
      return listResponse(command, p, 'network', nets.map((n) => networkJson(n, cloud)));
    }
    case 'listVirtualMachines': {
      let vms = cloud.sortedVms();
      if (p.id) vms = vms.filter((v) => v.id === p.id);
      // CloudStack: "a substring match is made against the parameter value".
      if (p.name) vms = vms.filter((v) => v.name.includes(p.name));
      if (p.zoneid) vms = vms.filter((v) => v.zoneId === p.zoneid);
      if (p.state) vms = vms.filter((v) => v.state.toLowerCase() === p.state.toLowerCase());
      return listResponse(command, p, 'virtualmachine', vms.map((v) => cloud.vmJson(v)));
    }
    case 'listVolumes': {
      let vols = cloud.liveVolumes();
      if (p.id) vols = vols.filter((v) => v.id === p.id);
      if (p.virtualmachineid) {
        if (!cloud.vms.has(p.virtualmachineid)) throw entityNotFound(command, 'virtualmachineid', p.virtualmachineid);
        vols = vols.filter((v) => v.vmId === p.virtualmachineid);
      }
      if (p.type) vols = vols.filter((v) => v.type === p.type.toUpperCase());
      if (p.name) vols = vols.filter((v) => v.name.includes(p.name));
      return listResponse(command, p, 'volume', vols.map((v) => cloud.volumeJson(v)));
    }
    case 'listSnapshots': {
      let snaps = cloud.snapshotsOf();
      if (p.id) snaps = snaps.filter((s) => s.id === p.id);
      if (p.volumeid) snaps = snaps.filter((s) => s.volumeId === p.volumeid);
      if (p.name) snaps = snaps.filter((s) => s.name.includes(p.name));
      return listResponse(command, p, 'snapshot', snaps.map((s) => cloud.snapshotJson(s)));
    }
    case 'queryAsyncJobResult': {
      const id = required(command, p, 'jobid');
      const job = cloud.jobs.get(id);
      if (!job) throw invalidParam(`Unable to find a job by id ${id}`);
      return jobJson(job, cloud.account);
    }
    case 'deployVirtualMachine': {
      const s = cloud.deployVm({
        command,
        name: required(command, p, 'name'),
        displayName: p.displayname,
        zoneId: required(command, p, 'zoneid'),
        serviceOfferingId: required(command, p, 'serviceofferingid'),
        templateId: required(command, p, 'templateid'),
        networkIds: (p.networkids ?? '').split(',').filter((x) => x !== ''),
        startVm: bool(p, 'startvm', true),
      });
      return { id: s.created!.id, jobid: s.job.id };
    }
    case 'startVirtualMachine':
      return { jobid: cloud.startVm(command, required(command, p, 'id')).job.id };
    case 'stopVirtualMachine':
      bool(p, 'forced', false);
      return { jobid: cloud.stopVm(command, required(command, p, 'id')).job.id };
    case 'destroyVirtualMachine':
      return { jobid: cloud.destroyVm(command, required(command, p, 'id'), bool(p, 'expunge', false)).job.id };
    case 'attachVolume':
      return { jobid: cloud.attachVolume(command, required(command, p, 'id'), required(command, p, 'virtualmachineid'), int(command, p, 'deviceid')).job.id };
    case 'detachVolume':
      return { jobid: cloud.detachVolume(command, required(command, p, 'id')).job.id };
    case 'deleteVolume':
      cloud.deleteVolume(command, required(command, p, 'id'));
      return { success: true };
    case 'createSnapshot': {
      const s = cloud.createSnapshot(command, required(command, p, 'volumeid'), p.name || undefined);
      return { id: s.created!.id, jobid: s.job.id };
    }
    case 'revertSnapshot':
      return { jobid: cloud.revertSnapshot(command, required(command, p, 'id')).job.id };
    case 'deleteSnapshot':
      return { jobid: cloud.deleteSnapshot(command, required(command, p, 'id')).job.id };
    default:
      throw unknownCommand();
  }
}
