// Why: the Volume Daemon port's logic, written once over a transport: idempotency by observation (read the
// mapping first), the async operation protocol (POST, then poll the operation with bounded backoff on an
// injected clock) and error mapping. The real HTTP client and the simulated port share it.
import type { CallOpts } from '../cluster/cluster.port.ts';
import type { ClockPort } from '../clock/clock.port.ts';
import { DriverError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import type { AttachOpts, DeviceMapping, OperationView, VolumeDaemonPort } from './volumedaemon.port.ts';
import { fromDaemonStatus, VOLUMEDAEMON_DRIVER_NAME } from './volumedaemon.errors.ts';

export interface DaemonResponse {
  status: number;
  body: JsonObject;
}

/** One request to the daemon. Resolves with any answer (also 4xx/5xx); rejects only when there is none. */
export interface VolumeDaemonTransport {
  request(method: 'GET' | 'POST', path: string, body: JsonObject | undefined, op: string, opts?: CallOpts): Promise<DaemonResponse>;
}

export interface OperationPollOptions {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** The most time one operation may take before the call fails with Transient/Timeout. */
  maxWaitMs: number;
}

export const DEFAULT_OPERATION_POLL: OperationPollOptions = { initialMs: 250, factor: 2, maxMs: 2_000, maxWaitMs: 5 * 60_000 };

function invalid(op: string, field: string, message: string): DriverError {
  return new DriverError('Invalid', VOLUMEDAEMON_DRIVER_NAME, op, `${op}: ${field}: ${message}`, { details: { field } });
}
function requireId(op: string, field: string, v: unknown): void {
  if (typeof v !== 'string' || v.trim() === '') throw invalid(op, field, 'must be a non-empty id string');
}
const seg = (s: string) => encodeURIComponent(s);
const ms = (v: unknown): number => (typeof v === 'string' ? Date.parse(v) : 0);

export function toOperationView(b: JsonObject): OperationView {
  const o: OperationView = {
    id: String(b.id),
    type: b.type === 'detach' ? 'detach' : 'attach',
    status: (['pending', 'executing', 'completed', 'failed'].includes(String(b.status)) ? b.status : 'pending') as OperationView['status'],
    volumeId: String(b.volume_id ?? ''),
    createdAtMs: ms(b.created_at),
  };
  if (typeof b.vm_id === 'string') o.vmId = b.vm_id;
  if (typeof b.device_id === 'number') o.deviceId = b.device_id;
  if (typeof b.device_path === 'string') o.devicePath = b.device_path;
  if (typeof b.error === 'string') o.error = b.error;
  if (typeof b.completed_at === 'string') o.completedAtMs = ms(b.completed_at);
  return o;
}

export class VolumeDaemonClient implements VolumeDaemonPort {
  private readonly poll: OperationPollOptions;

  constructor(
    private readonly transport: VolumeDaemonTransport,
    private readonly clock: ClockPort,
    poll: Partial<OperationPollOptions> = {},
  ) {
    this.poll = { ...DEFAULT_OPERATION_POLL, ...poll };
  }

  async getDevice(volumeId: string, opts?: CallOpts): Promise<DeviceMapping | undefined> {
    const op = 'getDevice';
    requireId(op, 'volumeId', volumeId);
    const b = await this.ok(await this.transport.request('GET', `/api/v1/volumes/${seg(volumeId)}/device`, undefined, op, opts), op);
    if (b.attached !== true) return undefined;
    const m: DeviceMapping = { volumeId, vmId: String(b.vm_id), deviceId: Number(b.device_id) };
    if (typeof b.device_path === 'string') m.devicePath = b.device_path;
    return m;
  }

  async getOperation(operationId: string, opts?: CallOpts): Promise<OperationView> {
    const op = 'getOperation';
    requireId(op, 'operationId', operationId);
    return toOperationView(await this.ok(await this.transport.request('GET', `/api/v1/operations/${seg(operationId)}`, undefined, op, opts), op));
  }

  async attach(volumeId: string, vmId: string, opts?: AttachOpts): Promise<DeviceMapping> {
    const op = 'attach';
    requireId(op, 'volumeId', volumeId);
    requireId(op, 'vmId', vmId);
    const deviceId = opts?.deviceId;
    if (deviceId !== undefined && !(Number.isInteger(deviceId) && deviceId >= 0)) throw invalid(op, 'deviceId', `must be a non-negative integer, got ${deviceId}`);
    const cur = await this.getDevice(volumeId, opts);
    if (cur && cur.vmId === vmId && (deviceId === undefined || cur.deviceId === deviceId)) return cur;
    if (cur) {
      throw new DriverError('Invalid', VOLUMEDAEMON_DRIVER_NAME, op, `${op}: volume ${volumeId} is attached to VM ${cur.vmId} (device ${cur.deviceId}); detach it first`, {
        details: { volumeId, vmId: cur.vmId, deviceId: cur.deviceId },
      });
    }
    const body: JsonObject = { vm_id: vmId };
    if (deviceId !== undefined) body.device_id = deviceId;
    const started = await this.ok(await this.transport.request('POST', `/api/v1/volumes/${seg(volumeId)}/attach`, body, op, opts), op);
    const done = await this.waitOperation(String(started.operation_id), op, opts);
    const m: DeviceMapping = { volumeId, vmId: done.vmId ?? vmId, deviceId: typeof done.deviceId === 'number' ? done.deviceId : (deviceId ?? -1) };
    if (done.devicePath) m.devicePath = done.devicePath;
    if (m.deviceId < 0) {
      const now = await this.getDevice(volumeId, opts);
      if (now) return now;
    }
    return m;
  }

  async detach(volumeId: string, opts?: CallOpts): Promise<void> {
    const op = 'detach';
    requireId(op, 'volumeId', volumeId);
    const cur = await this.getDevice(volumeId, opts);
    if (!cur) return;
    const started = await this.ok(await this.transport.request('POST', `/api/v1/volumes/${seg(volumeId)}/detach`, undefined, op, opts), op);
    await this.waitOperation(String(started.operation_id), op, opts);
  }

  /** Polls the operation until it ends (bounded); a failed operation rejects with its mapped error. */
  private async waitOperation(operationId: string, op: string, opts?: CallOpts): Promise<OperationView> {
    const deadline = this.clock.now() + this.poll.maxWaitMs;
    let wait = this.poll.initialMs;
    for (;;) {
      await this.clock.sleep(wait, opts?.signal);
      let res: DaemonResponse | undefined;
      try {
        res = await this.transport.request('GET', `/api/v1/operations/${seg(operationId)}`, undefined, op, opts);
      } catch (e) {
        if (!(e instanceof DriverError) || !e.retryable) throw e;
      }
      if (res && res.status === 200) {
        const view = toOperationView(res.body);
        if (view.status === 'completed') return view;
        if (view.status === 'failed') {
          const code = typeof res.body.error_code === 'number' ? res.body.error_code : 500;
          throw fromDaemonStatus(op, code, `operation ${operationId} failed: ${view.error ?? 'no reason given'}`);
        }
      } else if (res) {
        const e = fromDaemonStatus(op, res.status, `polling operation ${operationId}: ${String(res.body.error ?? `HTTP ${res.status}`)}`);
        if (!e.retryable) throw e;
      }
      if (this.clock.now() >= deadline) {
        throw new DriverError('Transient', VOLUMEDAEMON_DRIVER_NAME, op, `${op}: operation ${operationId} did not end within ${this.poll.maxWaitMs} ms`, {
          reason: 'Timeout',
          details: { operationId },
        });
      }
      wait = Math.min(this.poll.maxMs, wait * this.poll.factor);
    }
  }

  private async ok(res: DaemonResponse, op: string): Promise<JsonObject> {
    if (res.status >= 200 && res.status < 300) return res.body;
    throw fromDaemonStatus(op, res.status, typeof res.body.error === 'string' ? `${res.body.error} (HTTP ${res.status})` : `HTTP ${res.status}`);
  }
}
