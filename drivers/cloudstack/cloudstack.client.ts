// Why: the port's logic on CloudStack's API, written once: paging of list calls, async job polling with bounded
// backoff on an injected clock, and idempotency by observation. The real client (signed HTTP) and the simulated
// port (the simulated cloud through the fault kernel) differ only in the transport underneath.
import type { ClockPort } from '../clock/clock.port.ts';
import { DriverError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import type {
  AsyncJobView,
  CallOpts,
  CloudStackPort,
  DeployVmRequest,
  NetworkView,
  ServiceOfferingView,
  SnapshotFilter,
  SnapshotView,
  VmFilter,
  VmView,
  VolumeFilter,
  VolumeView,
  ZoneView,
} from './cloudstack.port.ts';
import { CLOUDSTACK_DRIVER_NAME, fromCloudStackError } from './cloudstack.errors.ts';
import type { CloudStackParams } from './cloudstack.signing.ts';
import {
  listOf,
  toAsyncJobView,
  toNetworkView,
  toServiceOfferingView,
  toSnapshotView,
  toVmView,
  toVolumeView,
  toZoneView,
} from './cloudstack.views.ts';

/** One CloudStack command, sent somewhere. */
export interface CloudStackTransport {
  /**
   * Sends `command` with `params`; resolves with the inner `<command>response` object. Rejects with a
   * DriverError mapped by cloudstack.errors.ts. `op` names the port operation (for errors and logs).
   */
  send(command: string, params: CloudStackParams, op: string, opts?: CallOpts): Promise<JsonObject>;
}

export interface JobPollOptions {
  /** First wait before polling a job again. */
  initialMs: number;
  factor: number;
  /** The longest wait between two polls. */
  maxMs: number;
  /** The most time one job may take before the call fails with Transient/Timeout (the job may still finish). */
  maxWaitMs: number;
}

export interface CloudStackClientOptions {
  clock: ClockPort;
  jobPoll?: Partial<JobPollOptions>;
  /** How long startVm/stopVm/createSnapshot wait for a VM or snapshot in a transitional state to settle. */
  settleWaitMs?: number;
  /** Page size of list calls (CloudStack's default.page.size is 500). */
  pageSize?: number;
  /** A bound on pages per list call. */
  pageMax?: number;
}

export const DEFAULT_JOB_POLL: JobPollOptions = { initialMs: 500, factor: 2, maxMs: 5_000, maxWaitMs: 10 * 60_000 };

const TRANSITIONAL_VM = new Set(['Starting', 'Stopping', 'Migrating']);
const GONE_VM = new Set(['Destroyed', 'Expunging']);

function invalid(op: string, field: string, message: string): DriverError {
  return new DriverError('Invalid', CLOUDSTACK_DRIVER_NAME, op, `${op}: ${field}: ${message}`, { details: { field } });
}
function notFound(op: string, what: string, id: string): DriverError {
  return new DriverError('NotFound', CLOUDSTACK_DRIVER_NAME, op, `${op}: ${what} ${id} does not exist`, { details: { id } });
}
function requireId(op: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw invalid(op, field, 'must be a non-empty id string');
  return v;
}

export class CloudStackClient implements CloudStackPort {
  private readonly clock: ClockPort;
  private readonly poll: JobPollOptions;
  private readonly settleWaitMs: number;
  private readonly pageSize: number;
  private readonly pageMax: number;

  constructor(
    private readonly transport: CloudStackTransport,
    options: CloudStackClientOptions,
  ) {
    this.clock = options.clock;
    this.poll = { ...DEFAULT_JOB_POLL, ...options.jobPoll };
    for (const k of ['initialMs', 'factor', 'maxMs', 'maxWaitMs'] as const) {
      if (!(Number.isFinite(this.poll[k]) && this.poll[k] > 0)) throw new RangeError(`CloudStackClient: jobPoll.${k} must be a positive number, got ${this.poll[k]}`);
    }
    this.settleWaitMs = options.settleWaitMs ?? 5 * 60_000;
    this.pageSize = options.pageSize ?? 500;
    this.pageMax = options.pageMax ?? 100;
  }

  // ---- reads ---------------------------------------------------------------------------------------------

  async listZones(opts?: CallOpts): Promise<ZoneView[]> {
    return (await this.listAll('listZones', 'zone', {}, 'listZones', opts)).map(toZoneView);
  }

  async listServiceOfferings(opts?: CallOpts): Promise<ServiceOfferingView[]> {
    return (await this.listAll('listServiceOfferings', 'serviceoffering', {}, 'listServiceOfferings', opts)).map(toServiceOfferingView);
  }

  async listNetworks(filter: { zoneId?: string } = {}, opts?: CallOpts): Promise<NetworkView[]> {
    const p: CloudStackParams = { listall: 'true' };
    if (filter.zoneId) p.zoneid = filter.zoneId;
    return (await this.listAll('listNetworks', 'network', p, 'listNetworks', opts)).map(toNetworkView);
  }

  async listVms(filter: VmFilter = {}, opts?: CallOpts): Promise<VmView[]> {
    const p: CloudStackParams = { listall: 'true' };
    if (filter.id) p.id = filter.id;
    if (filter.name) p.name = filter.name;
    if (filter.zoneId) p.zoneid = filter.zoneId;
    const vms = (await this.listAll('listVirtualMachines', 'virtualmachine', p, 'listVms', opts)).map(toVmView);
    // CloudStack's `name` filter is a substring match: keep exact names only.
    return filter.name ? vms.filter((v) => v.name === filter.name) : vms;
  }

  async getVm(vmId: string, opts?: CallOpts): Promise<VmView | undefined> {
    requireId('getVm', 'vmId', vmId);
    try {
      return (await this.listVms({ id: vmId }, opts)).find((v) => v.id === vmId);
    } catch (e) {
      if (e instanceof DriverError && e.kind === 'NotFound') return undefined;
      throw e;
    }
  }

  async listVolumes(filter: VolumeFilter = {}, opts?: CallOpts): Promise<VolumeView[]> {
    const p: CloudStackParams = { listall: 'true' };
    if (filter.id) p.id = filter.id;
    if (filter.vmId) p.virtualmachineid = filter.vmId;
    if (filter.type) p.type = filter.type;
    return (await this.listAll('listVolumes', 'volume', p, 'listVolumes', opts)).map(toVolumeView);
  }

  async getVolume(volumeId: string, opts?: CallOpts): Promise<VolumeView | undefined> {
    requireId('getVolume', 'volumeId', volumeId);
    try {
      return (await this.listVolumes({ id: volumeId }, opts)).find((v) => v.id === volumeId);
    } catch (e) {
      if (e instanceof DriverError && e.kind === 'NotFound') return undefined;
      throw e;
    }
  }

  async listSnapshots(filter: SnapshotFilter = {}, opts?: CallOpts): Promise<SnapshotView[]> {
    const p: CloudStackParams = { listall: 'true' };
    if (filter.id) p.id = filter.id;
    if (filter.volumeId) p.volumeid = filter.volumeId;
    if (filter.name) p.name = filter.name;
    const snaps = (await this.listAll('listSnapshots', 'snapshot', p, 'listSnapshots', opts)).map(toSnapshotView);
    return filter.name ? snaps.filter((s) => s.name === filter.name) : snaps;
  }

  async queryAsyncJob(jobId: string, opts?: CallOpts): Promise<AsyncJobView> {
    requireId('queryAsyncJob', 'jobId', jobId);
    return toAsyncJobView(await this.transport.send('queryAsyncJobResult', { jobid: jobId }, 'queryAsyncJob', opts));
  }

  // ---- VMs -----------------------------------------------------------------------------------------------

  async deployVm(req: DeployVmRequest, opts?: CallOpts): Promise<VmView> {
    const op = 'deployVm';
    if (!req || typeof req !== 'object') throw invalid(op, 'req', 'must be an object');
    if (typeof req.name !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,62}$/.test(req.name)) {
      throw invalid(op, 'name', `"${String(req.name)}" is not a valid CloudStack host name (a letter, then letters, digits or '-', at most 63)`);
    }
    requireId(op, 'zoneId', req.zoneId);
    requireId(op, 'serviceOfferingId', req.serviceOfferingId);
    requireId(op, 'templateId', req.templateId);
    if (!Array.isArray(req.networkIds) || req.networkIds.length === 0) throw invalid(op, 'networkIds', 'give at least one network id');
    req.networkIds.forEach((n, i) => requireId(op, `networkIds[${i}]`, n));

    const existing = (await this.listVms({ name: req.name }, opts)).find((v) => !GONE_VM.has(v.state));
    if (existing) return existing;

    const p: CloudStackParams = {
      name: req.name,
      displayname: req.displayName ?? req.name,
      zoneid: req.zoneId,
      serviceofferingid: req.serviceOfferingId,
      templateid: req.templateId,
      networkids: req.networkIds.join(','),
      startvm: req.startVm ? 'true' : 'false',
    };
    const result = await this.runJob('deployVirtualMachine', p, op, opts);
    return toVmView(this.resultObject(result, 'virtualmachine', op));
  }

  async startVm(vmId: string, opts?: CallOpts): Promise<VmView> {
    const op = 'startVm';
    requireId(op, 'vmId', vmId);
    const vm = await this.settledVm(vmId, op, opts);
    if (vm.state === 'Running') return vm;
    if (vm.state !== 'Stopped') throw new DriverError('Invalid', CLOUDSTACK_DRIVER_NAME, op, `${op}: VM ${vmId} is ${vm.state}, it cannot be started`, { details: { vmId, state: vm.state } });
    const result = await this.runJob('startVirtualMachine', { id: vmId }, op, opts);
    return toVmView(this.resultObject(result, 'virtualmachine', op));
  }

  async stopVm(vmId: string, opts?: CallOpts & { forced?: boolean }): Promise<VmView> {
    const op = 'stopVm';
    requireId(op, 'vmId', vmId);
    const vm = await this.settledVm(vmId, op, opts);
    if (vm.state === 'Stopped') return vm;
    if (vm.state !== 'Running') throw new DriverError('Invalid', CLOUDSTACK_DRIVER_NAME, op, `${op}: VM ${vmId} is ${vm.state}, it cannot be stopped`, { details: { vmId, state: vm.state } });
    const p: CloudStackParams = { id: vmId };
    if (opts?.forced) p.forced = 'true';
    const result = await this.runJob('stopVirtualMachine', p, op, opts);
    return toVmView(this.resultObject(result, 'virtualmachine', op));
  }

  async destroyVm(vmId: string, opts?: CallOpts): Promise<void> {
    const op = 'destroyVm';
    requireId(op, 'vmId', vmId);
    const vm = await this.getVm(vmId, opts);
    if (!vm) return;
    try {
      await this.runJob('destroyVirtualMachine', { id: vmId, expunge: 'true' }, op, opts);
    } catch (e) {
      if (e instanceof DriverError && e.kind === 'NotFound') return;
      throw e;
    }
  }

  // ---- volumes -------------------------------------------------------------------------------------------

  async attachVolume(volumeId: string, vmId: string, opts?: CallOpts & { deviceId?: number }): Promise<VolumeView> {
    const op = 'attachVolume';
    requireId(op, 'volumeId', volumeId);
    requireId(op, 'vmId', vmId);
    const deviceId = opts?.deviceId;
    if (deviceId !== undefined && !(Number.isInteger(deviceId) && deviceId >= 0)) throw invalid(op, 'deviceId', `must be a non-negative integer, got ${deviceId}`);
    const vol = await this.getVolume(volumeId, opts);
    if (!vol) throw notFound(op, 'volume', volumeId);
    if (vol.vmId === vmId && (deviceId === undefined || vol.deviceId === deviceId)) return vol;
    const p: CloudStackParams = { id: volumeId, virtualmachineid: vmId };
    if (deviceId !== undefined) p.deviceid = String(deviceId);
    const result = await this.runJob('attachVolume', p, op, opts);
    return toVolumeView(this.resultObject(result, 'volume', op));
  }

  async detachVolume(volumeId: string, opts?: CallOpts): Promise<VolumeView> {
    const op = 'detachVolume';
    requireId(op, 'volumeId', volumeId);
    const vol = await this.getVolume(volumeId, opts);
    if (!vol) throw notFound(op, 'volume', volumeId);
    if (vol.vmId === undefined) return vol;
    const result = await this.runJob('detachVolume', { id: volumeId }, op, opts);
    return toVolumeView(this.resultObject(result, 'volume', op));
  }

  async deleteVolume(volumeId: string, opts?: CallOpts): Promise<void> {
    const op = 'deleteVolume';
    requireId(op, 'volumeId', volumeId);
    const vol = await this.getVolume(volumeId, opts);
    if (!vol) return;
    try {
      await this.transport.send('deleteVolume', { id: volumeId }, op, opts);
    } catch (e) {
      if (e instanceof DriverError && e.kind === 'NotFound') return;
      throw e;
    }
  }

  // ---- snapshots -----------------------------------------------------------------------------------------

  async createSnapshot(volumeId: string, name: string, opts?: CallOpts): Promise<SnapshotView> {
    const op = 'createSnapshot';
    requireId(op, 'volumeId', volumeId);
    if (typeof name !== 'string' || name.trim() === '' || name.length > 255) throw invalid(op, 'name', 'must be a non-empty string of at most 255 characters');
    const deadline = this.clock.now() + this.settleWaitMs;
    let wait = this.poll.initialMs;
    for (;;) {
      const same = (await this.listSnapshots({ volumeId, name }, opts)).find((s) => s.state !== 'Error' && s.state !== 'Destroyed' && s.state !== 'Destroying');
      if (!same) break;
      if (same.state === 'BackedUp') return same;
      if (this.clock.now() >= deadline) {
        throw new DriverError('Transient', CLOUDSTACK_DRIVER_NAME, op, `${op}: snapshot ${same.id} (${name}) is still ${same.state}`, { reason: 'Timeout', details: { snapshotId: same.id } });
      }
      await this.clock.sleep(wait, opts?.signal);
      wait = Math.min(this.poll.maxMs, wait * this.poll.factor);
    }
    const result = await this.runJob('createSnapshot', { volumeid: volumeId, name }, op, opts);
    return toSnapshotView(this.resultObject(result, 'snapshot', op));
  }

  async revertSnapshot(snapshotId: string, opts?: CallOpts): Promise<VolumeView> {
    const op = 'revertSnapshot';
    requireId(op, 'snapshotId', snapshotId);
    const result = await this.runJob('revertSnapshot', { id: snapshotId }, op, opts);
    const snap = toSnapshotView(this.resultObject(result, 'snapshot', op));
    const vol = await this.getVolume(snap.volumeId, opts);
    if (!vol) throw notFound(op, 'volume', snap.volumeId);
    return vol;
  }

  async deleteSnapshot(snapshotId: string, opts?: CallOpts): Promise<void> {
    const op = 'deleteSnapshot';
    requireId(op, 'snapshotId', snapshotId);
    let snap: SnapshotView | undefined;
    try {
      snap = (await this.listSnapshots({ id: snapshotId }, opts)).find((s) => s.id === snapshotId);
    } catch (e) {
      if (e instanceof DriverError && e.kind === 'NotFound') return;
      throw e;
    }
    if (!snap || snap.state === 'Destroyed') return;
    try {
      await this.runJob('deleteSnapshot', { id: snapshotId }, op, opts);
    } catch (e) {
      if (e instanceof DriverError && e.kind === 'NotFound') return;
      throw e;
    }
  }

  // ---- plumbing ------------------------------------------------------------------------------------------

  /** Pages through a list command (`{ count, <key>: [...] }`; an empty list is `{}`), bounded by pageMax. */
  private async listAll(command: string, key: string, params: CloudStackParams, op: string, opts?: CallOpts): Promise<JsonObject[]> {
    const out: JsonObject[] = [];
    for (let page = 1; page <= this.pageMax; page++) {
      const res = await this.transport.send(command, { ...params, page: String(page), pagesize: String(this.pageSize) }, op, opts);
      const items = listOf(res, key);
      out.push(...items);
      const count = typeof res.count === 'number' ? res.count : undefined;
      if (items.length < this.pageSize || (count !== undefined && out.length >= count)) return out;
    }
    throw new DriverError('Fatal', CLOUDSTACK_DRIVER_NAME, op, `${op}: more than ${this.pageMax} pages of ${this.pageSize}`, {});
  }

  /** Submits an async command and waits for its job; resolves with `jobresult`. */
  private async runJob(command: string, params: CloudStackParams, op: string, opts?: CallOpts): Promise<JsonObject> {
    const res = await this.transport.send(command, params, op, opts);
    const jobId = res.jobid;
    if (typeof jobId !== 'string' || jobId === '') {
      throw new DriverError('Fatal', CLOUDSTACK_DRIVER_NAME, op, `${op}: ${command} returned no jobid`, { details: { response: res } });
    }
    return this.waitForJob(jobId, op, opts);
  }

  /**
   * Polls queryAsyncJobResult with bounded backoff until the job ends. A retryable error while polling is
   * waited out (until the bound); a failed job rejects with its mapped error.
   */
  async waitForJob(jobId: string, op: string, opts?: CallOpts): Promise<JsonObject> {
    const deadline = this.clock.now() + this.poll.maxWaitMs;
    let wait = this.poll.initialMs;
    let polls = 0;
    for (;;) {
      await this.clock.sleep(wait, opts?.signal);
      polls++;
      let job: AsyncJobView | undefined;
      try {
        job = await this.queryAsyncJob(jobId, opts);
      } catch (e) {
        if (!(e instanceof DriverError) || !e.retryable) throw e;
        opts?.log?.debug({ jobId, op, kind: e.kind }, 'Retried polling of CloudStack job');
      }
      if (job?.status === 'succeeded') return job.result ?? {};
      if (job?.status === 'failed') {
        throw fromCloudStackError(op, { errorcode: job.errorCode ?? job.resultCode ?? 530, errortext: job.errorText ?? 'async job failed' }, { jobId });
      }
      if (this.clock.now() >= deadline) {
        throw new DriverError('Transient', CLOUDSTACK_DRIVER_NAME, op, `${op}: CloudStack job ${jobId} did not end within ${this.poll.maxWaitMs} ms (${polls} polls)`, {
          reason: 'Timeout',
          details: { jobId },
        });
      }
      wait = Math.min(this.poll.maxMs, wait * this.poll.factor, Math.max(1, deadline - this.clock.now()));
    }
  }

  /** The VM, once it is out of a transitional state (another job on it ends first). */
  private async settledVm(vmId: string, op: string, opts?: CallOpts): Promise<VmView> {
    const deadline = this.clock.now() + this.settleWaitMs;
    let wait = this.poll.initialMs;
    for (;;) {
      const vm = await this.getVm(vmId, opts);
      if (!vm || GONE_VM.has(vm.state)) throw notFound(op, 'VM', vmId);
      if (!TRANSITIONAL_VM.has(vm.state)) return vm;
      if (this.clock.now() >= deadline) {
        throw new DriverError('Transient', CLOUDSTACK_DRIVER_NAME, op, `${op}: VM ${vmId} stayed ${vm.state} for ${this.settleWaitMs} ms`, { reason: 'Timeout', details: { vmId } });
      }
      await this.clock.sleep(wait, opts?.signal);
      wait = Math.min(this.poll.maxMs, wait * this.poll.factor);
    }
  }

  private resultObject(result: JsonObject, key: string, op: string): JsonObject {
    const v = result[key];
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    throw new DriverError('Fatal', CLOUDSTACK_DRIVER_NAME, op, `${op}: the job result has no "${key}"`, { details: { result } });
  }
}
