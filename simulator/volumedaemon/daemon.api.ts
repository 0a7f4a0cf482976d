// Why: the Volume Daemon's HTTP API as plain request → response routing on the simulated daemon, shared by the
// HTTP server (simulator/serve/volumedaemon-api.ts) and the in-process simulated port, so both answer alike.
//   POST /api/v1/volumes/{id}/attach   {"vm_id": "...", "device_id"?: n}  → 202 {operation_id, status}
//   POST /api/v1/volumes/{id}/detach                                      → 202 {operation_id, status}
//   GET  /api/v1/operations/{id}                                          → 200 operation
//   GET  /api/v1/volumes/{id}/device                                      → 200 {volume_id, attached, vm_id?, device_id?, device_path?}
//   GET  /api/v1/health                                                   → 200 {status: "ok"}
// Errors: {"error": "...", "code": "..."} with 400, 404 or 405.
import type { JsonObject } from '../../drivers/json.ts';
import { formatCsDate } from '../../drivers/cloudstack/cloudstack.views.ts';
import type { SimOperation, SimVolumeDaemon } from './daemon.ts';

export interface DaemonResponse {
  status: number;
  body: JsonObject;
}

const ISO = (ms: number) => formatCsDate(ms).replace('+0000', 'Z');

export function operationJson(op: SimOperation): JsonObject {
  const o: JsonObject = { id: op.id, type: op.type, status: op.status, volume_id: op.volumeId, created_at: ISO(op.createdAtMs) };
  if (op.vmId !== undefined) o.vm_id = op.vmId;
  if (op.deviceId !== undefined) o.device_id = op.deviceId;
  if (op.devicePath !== undefined) o.device_path = op.devicePath;
  if (op.error !== undefined) o.error = op.error;
  if (op.errorCode !== undefined) o.error_code = op.errorCode;
  if (op.completedAtMs !== undefined) o.completed_at = ISO(op.completedAtMs);
  return o;
}

const err = (status: number, code: string, error: string): DaemonResponse => ({ status, body: { error, code } });

/** Routes one request. `body` is the parsed JSON body (or undefined). */
export function handleDaemonRequest(daemon: SimVolumeDaemon, method: string, path: string, body: unknown): DaemonResponse {
  const parts = path.replace(/\/+$/, '').split('/').filter((x) => x !== '');
  if (parts[0] !== 'api' || parts[1] !== 'v1') return err(404, 'not_found', `no route ${method} ${path}`);
  const [, , kind, id, action] = parts;
  if (kind === 'health' && method === 'GET') return { status: 200, body: { status: 'ok' } };
  if (kind === 'operations' && id && !action) {
    if (method !== 'GET') return err(405, 'method_not_allowed', `${method} not allowed on operations`);
    const op = daemon.operations.get(decodeURIComponent(id));
    return op ? { status: 200, body: operationJson(op) } : err(404, 'operation_not_found', `no operation ${id}`);
  }
  if (kind === 'volumes' && id && action) {
    const volumeId = decodeURIComponent(id);
    const where = daemon.device(volumeId);
    if (where === 'no-volume') return err(404, 'volume_not_found', `no volume ${volumeId}`);
    if (action === 'device') {
      if (method !== 'GET') return err(405, 'method_not_allowed', `${method} not allowed on device`);
      if (!where) return { status: 200, body: { volume_id: volumeId, attached: false } };
      const o: JsonObject = { volume_id: volumeId, attached: true, vm_id: where.vmId, device_id: where.deviceId };
      if (where.devicePath) o.device_path = where.devicePath;
      return { status: 200, body: o };
    }
    if (method !== 'POST') return err(405, 'method_not_allowed', `${method} not allowed on ${action}`);
    if (action === 'attach') {
      const b = (body ?? {}) as Record<string, unknown>;
      if (typeof b.vm_id !== 'string' || b.vm_id === '') return err(400, 'invalid_request', 'vm_id: required, the CloudStack VM id to attach the volume to');
      if (b.device_id !== undefined && !(Number.isInteger(b.device_id) && (b.device_id as number) >= 0)) return err(400, 'invalid_request', 'device_id: must be a non-negative integer (0 = root disk)');
      const op = daemon.attach(volumeId, b.vm_id, b.device_id as number | undefined);
      return { status: 202, body: { operation_id: op.id, status: op.status } };
    }
    if (action === 'detach') {
      const op = daemon.detach(volumeId);
      return { status: 202, body: { operation_id: op.id, status: op.status } };
    }
  }
  return err(404, 'not_found', `no route ${method} ${path}`);
}
