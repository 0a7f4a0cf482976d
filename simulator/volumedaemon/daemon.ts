// Why: the simulated Volume Daemon, on top of the simulated cloud: it attaches and detaches volumes through
// CloudStack (as the real daemon does, with the fault plan on its calls) and correlates each volume with the
// block device it becomes on the appliance. Operations are asynchronous, as in the real daemon's API.
import { classifyCloudStackError, CloudStackApiError } from '../../drivers/cloudstack/cloudstack.errors.ts';
import { DriverError, type DriverErrorKind } from '../../drivers/errors.ts';
import type { SimKernel } from '../kernel.ts';
import type { RandomStream } from '../prng.ts';
import { CLOUDSTACK_PARTY, devicePathFor, jobErrorBody, type SimCloud, type Submitted } from '../cloudstack/cloud.ts';

export const VOLUMEDAEMON_PARTY = 'volumedaemon';

export type SimOperationStatus = 'pending' | 'executing' | 'completed' | 'failed';

export interface SimOperation {
  id: string;
  type: 'attach' | 'detach';
  status: SimOperationStatus;
  volumeId: string;
  vmId?: string;
  deviceId?: number;
  devicePath?: string;
  error?: string;
  /** An HTTP-style status saying what kind of failure (400 invalid, 404 not found, 409 conflict, 503/504 …). */
  errorCode?: number;
  createdAtMs: number;
  completedAtMs?: number;
}

export interface SimDeviceMapping {
  volumeId: string;
  vmId: string;
  deviceId: number;
  devicePath?: string;
}

/** The HTTP-style status the daemon reports for a failure of a kind. */
export function statusForKind(kind: DriverErrorKind, reason?: string): number {
  switch (kind) {
    case 'Invalid':
      return 400;
    case 'NotFound':
      return 404;
    case 'Conflict':
      return 409;
    case 'Throttled':
      return 429;
    case 'Unauthorized':
      return 401;
    case 'Transient':
      return reason === 'Timeout' ? 504 : 503;
    default:
      return 501;
  }
}

export class SimVolumeDaemon {
  readonly operations = new Map<string, SimOperation>();
  readonly kernel: SimKernel;
  private readonly detectRnd: RandomStream;

  constructor(readonly cloud: SimCloud) {
    this.kernel = cloud.kernel;
    this.detectRnd = this.kernel.prng.stream('volumedaemon.detect');
  }

  /** Where the volume is attached now; undefined when detached; throws when there is no such volume. */
  device(volumeId: string): SimDeviceMapping | undefined | 'no-volume' {
    const v = this.cloud.volume(volumeId);
    if (!v) return 'no-volume';
    if (v.vmId === undefined || v.deviceId === undefined) return undefined;
    const m: SimDeviceMapping = { volumeId, vmId: v.vmId, deviceId: v.deviceId };
    if (v.vmId === this.cloud.applianceVmId) m.devicePath = devicePathFor(v.deviceId);
    return m;
  }

  attach(volumeId: string, vmId: string, deviceId?: number): SimOperation {
    const op = this.newOp('attach', volumeId, vmId);
    if (deviceId !== undefined) op.deviceId = deviceId;
    void this.execute(op, async () => {
      const cur = this.device(volumeId);
      if (cur && cur !== 'no-volume' && cur.vmId === vmId && (deviceId === undefined || cur.deviceId === deviceId)) return cur;
      await this.cloudJob('attachVolume', volumeId, () => this.cloud.attachVolume('attachVolume', volumeId, vmId, deviceId));
      const after = this.device(volumeId);
      if (!after || after === 'no-volume' || after.vmId !== vmId) throw new DriverError('Conflict', 'volumedaemon', 'attach', `volume ${volumeId} is not on VM ${vmId} after the attach`);
      if (after.devicePath) {
        // The daemon waits for the device to appear on the appliance (udev) before it reports the path.
        await this.kernel.sched.sleep(this.kernel.draw({ baseMs: 200, jitterMs: 800 }, this.detectRnd), undefined, 'volumedaemon.detect');
      }
      return after;
    });
    return op;
  }

  detach(volumeId: string): SimOperation {
    const op = this.newOp('detach', volumeId, undefined);
    void this.execute(op, async () => {
      const cur = this.device(volumeId);
      if (cur === undefined) return undefined;
      if (cur !== 'no-volume') op.vmId = cur.vmId;
      await this.cloudJob('detachVolume', volumeId, () => this.cloud.detachVolume('detachVolume', volumeId));
      return undefined;
    });
    return op;
  }

  private newOp(type: 'attach' | 'detach', volumeId: string, vmId: string | undefined): SimOperation {
    const op: SimOperation = { id: this.cloud.newId(), type, status: 'pending', volumeId, createdAtMs: this.kernel.now() };
    if (vmId !== undefined) op.vmId = vmId;
    this.operations.set(op.id, op);
    this.kernel.emit('volumedaemon.op.created', { op: op.id, type, volume: volumeId, vm: vmId });
    return op;
  }

  /** The daemon's own CloudStack call (faults on the volumedaemon→cloudstack route), then the job's end. */
  private async cloudJob(command: string, volumeId: string, submit: () => Submitted): Promise<void> {
    const s = await this.kernel.call('cloudstack.write', { from: VOLUMEDAEMON_PARTY, to: CLOUDSTACK_PARTY, op: `cloudstack.${command}`, detail: volumeId }, submit);
    const job = await s.done;
    if (job.status === 2) {
      const r = job.result as { errorcode?: number; cserrorcode?: number; errortext?: string };
      throw new CloudStackApiError(r.errorcode ?? 530, r.cserrorcode ?? 4250, r.errortext ?? 'CloudStack job failed');
    }
  }

  private async execute(op: SimOperation, work: () => Promise<SimDeviceMapping | undefined>): Promise<void> {
    await Promise.resolve();
    op.status = 'executing';
    try {
      const m = await work();
      if (m) {
        op.vmId = m.vmId;
        op.deviceId = m.deviceId;
        if (m.devicePath) op.devicePath = m.devicePath;
      }
      op.status = 'completed';
    } catch (e) {
      op.status = 'failed';
      if (e instanceof CloudStackApiError) {
        const { kind, reason } = classifyCloudStackError(e.errorcode, e.cserrorcode, e.errortext);
        op.error = `CloudStack: ${e.errortext}`;
        op.errorCode = statusForKind(kind, reason);
      } else if (e instanceof DriverError) {
        op.error = e.message;
        op.errorCode = statusForKind(e.kind, e.reason);
      } else {
        op.error = jobErrorBody(e).errortext;
        op.errorCode = 500;
      }
    }
    op.completedAtMs = this.kernel.now();
    this.kernel.emit('volumedaemon.op.ended', { op: op.id, type: op.type, volume: op.volumeId, status: op.status, device: op.devicePath, code: op.errorCode });
  }
}
