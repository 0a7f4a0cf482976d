// Why: the appliance's records API (docs/appliance.md) as plain request → response routing over the simulated
// cloud's appliance records, shared by the HTTP server (simulator/serve/appliance-api.ts) and the in-process
// simulated port (drivers/appliance/appliance.sim.ts), so both answer alike.
//   GET /api/v1/health                                  → 200 {status: "ok"}
//   GET /api/v1/appliance                               → 200 {vm_id}                  · 404 appliance_not_registered
//   GET /api/v1/vms                                     → 200 {vms: [vm, …]} (sorted by vm_id)
//   GET /api/v1/vms/{vmId}                              → 200 vm                       · 404 vm_not_found
//   PUT /api/v1/vms/{vmId}/context  {"status": "…"}     → 200 {vm_id, context_status, changed} · 400 · 404
// Errors: {"error": "...", "code": "..."}. Authentication is the server's business (bearer token).
import { sourceVmToWire } from '../../drivers/appliance/appliance.codec.ts';
import type { ApplianceOp, ApplianceResponse } from '../../drivers/appliance/appliance.client.ts';
import { isVmContextStatus, VM_CONTEXT_STATUSES, type SourceVmView } from '../../drivers/appliance/appliance.port.ts';
import type { SimCloud } from '../cloudstack/cloud.ts';
import type { SourceVmRecord } from '../cloudstack/cloud.types.ts';

export const APPLIANCE_PARTY = 'appliance';

/** The port's view of a record (a copy; the appliance reports no active job unless one was set). */
export function sourceVmView(r: SourceVmRecord): SourceVmView {
  const c = structuredClone(r);
  return { ...c, activeJobs: c.activeJobs ?? [] };
}

/** What a request is, for the fault kernel and the trace: the port operation, its VM, read or write. */
export interface ApplianceRoute {
  op: ApplianceOp | 'health';
  detail?: string;
  write: boolean;
}

function parts(path: string): string[] {
  return path.replace(/\/+$/, '').split('/').filter((x) => x !== '');
}

/** The route of a request, or undefined when no route matches (answered 404 without touching the world). */
export function applianceRouteOf(method: string, path: string): ApplianceRoute | undefined {
  const p = parts(path);
  if (p[0] !== 'api' || p[1] !== 'v1') return undefined;
  const [, , kind, id, action] = p;
  if (kind === 'health' && !id) return { op: 'health', write: false };
  if (kind === 'appliance' && !id) return { op: 'applianceVmId', write: false };
  if (kind === 'vms' && !id) return { op: 'listVms', write: false };
  if (kind === 'vms' && id && !action) return { op: 'getVm', detail: decodeURIComponent(id), write: false };
  if (kind === 'vms' && id && action === 'context' && p.length === 5) return { op: 'setContextStatus', detail: decodeURIComponent(id), write: method !== 'GET' };
  return undefined;
}

const err = (status: number, code: string, error: string): ApplianceResponse => ({ status, body: { error, code } });

/** Routes one request. `body` is the parsed JSON body (or undefined). */
export function handleApplianceRequest(cloud: SimCloud, method: string, path: string, body: unknown): ApplianceResponse {
  const route = applianceRouteOf(method, path);
  if (!route) return err(404, 'not_found', `no route ${method} ${path}; the API is under /api/v1`);
  const allowed = route.op === 'setContextStatus' ? 'PUT' : 'GET';
  if (method !== allowed) return err(405, 'method_not_allowed', `${method} not allowed on ${path}; use ${allowed}`);
  switch (route.op) {
    case 'health':
      return { status: 200, body: { status: 'ok' } };
    case 'applianceVmId': {
      const id = cloud.applianceVmId;
      if (!id) return err(404, 'appliance_not_registered', 'the appliance has no CloudStack VM registered');
      return { status: 200, body: { vm_id: id } };
    }
    case 'listVms':
      return { status: 200, body: { vms: cloud.listSourceVms().map((r) => sourceVmToWire(sourceVmView(r))) } };
    case 'getVm': {
      const r = cloud.getSourceVm(route.detail!);
      return r ? { status: 200, body: sourceVmToWire(sourceVmView(r)) } : err(404, 'vm_not_found', `VM ${route.detail} is not replicated by this appliance`);
    }
    case 'setContextStatus': {
      const b = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
      if (!isVmContextStatus(b.status)) return err(400, 'invalid_request', `status: must be one of ${VM_CONTEXT_STATUSES.join(', ')}, got ${JSON.stringify(b.status) ?? 'nothing'}`);
      const vmId = route.detail!;
      const r = cloud.getSourceVm(vmId);
      if (!r) return err(404, 'vm_not_found', `VM ${vmId} is not replicated by this appliance`);
      const changed = r.contextStatus !== b.status;
      if (changed) {
        cloud.updateSourceVm(vmId, { contextStatus: b.status });
        cloud.kernel.emit('appliance.context', { vm: vmId, status: b.status });
      }
      return { status: 200, body: { vm_id: vmId, context_status: b.status, changed } };
    }
  }
}
