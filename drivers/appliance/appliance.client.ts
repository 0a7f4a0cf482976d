// Why: the appliance port's logic, written once over a transport: the API's paths, argument checks, the one error
// mapping and the JSON codec. The real HTTP client and the simulated port share it, so they agree on every
// answer. Every call is a single request; none needs a retry loop here (the charts' step machine retries).
import type { CallOpts } from '../cluster/cluster.port.ts';
import { DriverError } from '../errors.ts';
import type { Json, JsonObject } from '../json.ts';
import { sourceVmFromWire } from './appliance.codec.ts';
import { badApplianceResponse, errorBodyOf, fromApplianceResponse } from './appliance.errors.ts';
import { APPLIANCE_DRIVER, isVmContextStatus, VM_CONTEXT_STATUSES, type SourceVmDirectory, type SourceVmView } from './appliance.port.ts';

export const APPLIANCE_API_PREFIX = '/api/v1';

/** The operations of the API (also the simulator's trace names: `appliance.<op>`). */
export type ApplianceOp = 'applianceVmId' | 'getVm' | 'listVms' | 'setContextStatus';

export interface ApplianceResponse {
  status: number;
  body: Json;
}

/** One request. Resolves with any answer (also 4xx/5xx); rejects (Transient) only when there is none. */
export interface ApplianceTransport {
  request(method: 'GET' | 'PUT', path: string, body: JsonObject | undefined, call: { op: ApplianceOp; detail?: string }, opts?: CallOpts): Promise<ApplianceResponse>;
}

const seg = (s: string) => encodeURIComponent(s);

function invalid(op: string, field: string, message: string): DriverError {
  return new DriverError('Invalid', APPLIANCE_DRIVER, op, `${op}: ${field}: ${message}`, { details: { field } });
}

function requireId(op: string, field: string, v: unknown): void {
  if (typeof v !== 'string' || v.trim() === '') throw invalid(op, field, 'must be a non-empty id string');
}

function asObject(op: string, body: Json): JsonObject {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badApplianceResponse(op, 'body', 'expected a JSON object');
  return body as JsonObject;
}

export class ApplianceClient implements SourceVmDirectory {
  constructor(private readonly transport: ApplianceTransport) {}

  async applianceVmId(opts?: CallOpts): Promise<string> {
    const op = 'applianceVmId';
    const b = asObject(op, this.ok(op, await this.transport.request('GET', `${APPLIANCE_API_PREFIX}/appliance`, undefined, { op }, opts)));
    if (typeof b.vm_id !== 'string' || b.vm_id === '') throw badApplianceResponse(op, 'vm_id', 'expected the appliance\'s CloudStack VM id');
    return b.vm_id;
  }

  async getVm(vmId: string, opts?: CallOpts): Promise<SourceVmView | undefined> {
    const op = 'getVm';
    requireId(op, 'vmId', vmId);
    const res = await this.transport.request('GET', `${APPLIANCE_API_PREFIX}/vms/${seg(vmId)}`, undefined, { op, detail: vmId }, opts);
    // Only the API's own "no such VM" means absent: a 404 from elsewhere (a wrong base URL) is an error.
    if (res.status === 404 && errorBodyOf(res.body)?.code === 'vm_not_found') return undefined;
    return sourceVmFromWire(op, this.ok(op, res));
  }

  async listVms(opts?: CallOpts): Promise<SourceVmView[]> {
    const op = 'listVms';
    const b = asObject(op, this.ok(op, await this.transport.request('GET', `${APPLIANCE_API_PREFIX}/vms`, undefined, { op }, opts)));
    if (!Array.isArray(b.vms)) throw badApplianceResponse(op, 'vms', 'expected a list');
    return b.vms.map((v, i) => sourceVmFromWire(op, v, `vms[${i}]`)).sort((x, y) => (x.vmId < y.vmId ? -1 : x.vmId > y.vmId ? 1 : 0));
  }

  async setContextStatus(vmId: string, status: string, opts?: CallOpts): Promise<void> {
    const op = 'setContextStatus';
    requireId(op, 'vmId', vmId);
    if (!isVmContextStatus(status)) throw invalid(op, 'status', `"${status}" is not one of ${VM_CONTEXT_STATUSES.join(', ')}`);
    this.ok(op, await this.transport.request('PUT', `${APPLIANCE_API_PREFIX}/vms/${seg(vmId)}/context`, { status }, { op, detail: vmId }, opts));
  }

  private ok(op: string, res: ApplianceResponse): Json {
    if (res.status >= 200 && res.status < 300) return res.body;
    throw fromApplianceResponse(op, res.status, res.body);
  }
}
