// Why: the one place where the VM charts (test failover, live failover, cleanup, failback and the VM and volume
// lifecycles) meet the CloudStack, Volume Daemon, injection and job-log ports. Each named step of a chart gets
// its implementation here: one attempt of one operation, idempotent by observation so a re-run after a crash or
// a restore is safe, recording itself in the job log and logging one line with its duration and outcome on a
// child logger that carries the job's ids. The simulator calls the same functions with simulated ports.
import { fromCallback, fromPromise, type AnyStateMachine } from 'xstate';
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { CloudStackPort, VmView, VolumeView } from '../../drivers/cloudstack/cloudstack.port.ts';
import { DriverError, toStepError, type StepError } from '../../drivers/errors.ts';
import type { InjectionPort } from '../../drivers/injection/injection.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import type { JobLogPort, JobRecord, JobStatus } from '../../drivers/joblog/joblog.port.ts';
import type { VolumeDaemonPort } from '../../drivers/volumedaemon/volumedaemon.port.ts';
import { jobLog } from '../log.ts';
import { cleanupMachine } from '../../machines/vm/cleanup.machine.ts';
import { failbackMachine } from '../../machines/vm/failback.machine.ts';
import type { GatheredFacts } from '../../machines/vm/failover-chain.ts';
import { liveFailoverMachine } from '../../machines/vm/live-failover.machine.ts';
import { stepMachine } from '../../machines/vm/step.machine.ts';
import { testFailoverMachine } from '../../machines/vm/test-failover.machine.ts';
import type { FailbackFacts } from '../../machines/vm/validation.ts';
import { snapshotName, targetVmName } from '../../machines/vm/vm.names.ts';
import { StepName } from '../../machines/vm/vm.steps.ts';
import { silentInjectionWatch } from '../../machines/vm/injection-watch.ts';
import type {
  AttemptInput,
  DeploySpec,
  FailoverKind,
  InjectionWatchEvent,
  InjectionWatchInput,
  JobStatus as ChartJobStatus,
  SnapshotRef,
  TimerEvent,
  TimerInput,
  ValidationFacts,
  VmObservation,
  VolumeObservation,
} from '../../machines/vm/vm.types.ts';
import { vmLifecycleMachine } from '../../machines/vm/vm-lifecycle.machine.ts';
import { volumeLifecycleMachine } from '../../machines/vm/volume-lifecycle.machine.ts';
import type { SourceVmDirectory } from '../../drivers/appliance/appliance.port.ts';

// The charts restate the job log's statuses (machines/ cannot import drivers/): keep the two identical.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const statusesMatch: Same<JobStatus, ChartJobStatus> = true;
void statusesMatch;

export interface VmDeps {
  cloudstack: CloudStackPort;
  volumeDaemon: VolumeDaemonPort;
  injection: InjectionPort;
  jobLog: JobLogPort;
  directory: SourceVmDirectory;
  clock: ClockPort;
  /** The parent logger; each job's lines go through jobLog(log, { jobId, correlationId, vmId }). */
  log: Logger;
  /** The template test and live VMs are deployed from (their root volume is replaced); default: the appliance's. */
  templateId?: string;
  /** How often the chart asks whether an interrupted injection still runs (default 5 s). */
  injectionStatusPollMs?: number;
}

export const DEFAULT_INJECTION_STATUS_POLL_MS = 5_000;

/** One job (its ids and the VM), as the wiring's loggers need it. */
export interface VmJobIds {
  jobId: string;
  correlationId: string;
  vmId: string;
}

const INJECTION_STEP = StepName.injection;

function fail(kind: DriverError['kind'], op: string, message: string, reason?: string): DriverError {
  return new DriverError(kind, 'engine', op, message, reason ? { reason } : {});
}

function observeVmView(vm: VmView | undefined): VmObservation {
  if (!vm) return { state: 'absent' };
  switch (vm.state) {
    case 'Running':
      return { vmId: vm.id, state: 'running', rawState: vm.state };
    case 'Stopped':
    case 'Shutdowned':
      return { vmId: vm.id, state: 'stopped', rawState: vm.state };
    case 'Starting':
    case 'Migrating':
      return { vmId: vm.id, state: 'starting', rawState: vm.state };
    case 'Stopping':
      return { vmId: vm.id, state: 'stopping', rawState: vm.state };
    case 'Destroyed':
    case 'Expunging':
      return { state: 'absent', rawState: vm.state };
    default:
      return { vmId: vm.id, state: 'error', rawState: vm.state };
  }
}

const GONE = new Set(['Destroyed', 'Expunging']);

/** The operations of every VM chart, on the ports. Each takes the step's `args` (JSON) and returns JSON. */
export class VmOperations {
  constructor(readonly deps: VmDeps) {}

  private opts(log: Logger, signal?: AbortSignal) {
    return { log, ...(signal ? { signal } : {}) };
  }

  async openJob(args: { job: { jobId: string; correlationId: string; vmId: string; type: JobRecord['type'] } }, log: Logger): Promise<JsonObject> {
    const j = await this.deps.jobLog.createJob({ id: args.job.jobId, type: args.job.type, vmId: args.job.vmId, correlationId: args.job.correlationId }, { log });
    return { jobId: j.id, status: j.status };
  }

  /**
   * Ends the job. A step left `running` (its last write was lost to a fault) is closed first, with the job's
   * outcome, so a finished job never shows a step still running.
   */
  async finishJob(args: { jobId: string; status: 'completed' | 'failed'; error?: StepError; firstStep?: string }, log: Logger): Promise<JsonObject> {
    const jl = this.deps.jobLog;
    const job = await jl.getJob(args.jobId, { log });
    if (job && job.status !== 'completed' && job.status !== 'failed' && job.steps.length === 0 && args.status === 'failed') {
      // Failed before its first step could be recorded (the job log itself was failing): record that step as failed.
      await jl.failStep(args.jobId, args.firstStep ?? 'job-creation', args.error ?? { kind: 'Internal', driver: 'engine', op: 'finishJob', message: 'the job failed before its first step' }, { log });
    }
    if (job && job.status !== 'completed' && job.status !== 'failed') {
      for (const s of job.steps.filter((x) => x.status === 'running')) {
        if (args.status === 'completed') await jl.completeStep(args.jobId, s.name, { log });
        else await jl.failStep(args.jobId, s.name, args.error ?? { kind: 'Internal', driver: 'engine', op: s.name, message: 'the job failed while this step ran' }, { log });
      }
    }
    const j = await jl.setStatus(args.jobId, args.status, { log, ...(args.error ? { error: args.error } : {}) });
    return { status: j.status };
  }

  private async findVmByName(name: string, log: Logger): Promise<VmView | undefined> {
    const live = (await this.deps.cloudstack.listVms({ name }, { log })).filter((v) => !GONE.has(v.state));
    if (live.length > 1) throw fail('Invalid', 'observeVm', `${live.length} VMs are named ${name} (${live.map((v) => v.id).join(', ')}): remove the extra ones by hand`);
    return live[0];
  }

  private async applianceVm(log: Logger): Promise<VmView | undefined> {
    const id = await this.deps.directory.applianceVmId({ log });
    return this.deps.cloudstack.getVm(id, { log });
  }

  /** Step 1: everything the pre-failover checks read. Read-only. */
  async gatherFacts(args: { vmId: string; jobId: string; kind: FailoverKind }, log: Logger): Promise<GatheredFacts> {
    const { cloudstack, volumeDaemon, jobLog: jl, directory, clock } = this.deps;
    const rec = await directory.getVm(args.vmId, { log });
    const appliance = await this.applianceVm(log);
    const active = (await jl.listJobs({ vmId: args.vmId, activeOnly: true }, { log })).filter((j) => j.id !== args.jobId).map((j) => j.id);
    // The appliance's own jobs on the VM (a replication sync under way …) count as active too.
    for (const j of rec?.activeJobs ?? []) if (j.id !== args.jobId && !active.includes(j.id)) active.push(j.id);
    const facts: ValidationFacts = { vmId: args.vmId, volumes: [], activeJobIds: active, networks: [], nowMs: clock.now() };
    if (appliance) facts.appliance = { vmId: appliance.id, state: appliance.state, zoneId: appliance.zoneId };
    const leftovers = { vmIds: [] as string[], snapshotNames: [] as string[] };
    if (!rec) return { facts, leftovers };
    facts.vm = {
      name: rec.name,
      cpuCount: rec.cpuCount,
      memoryMb: rec.memoryMb,
      osType: rec.osType,
      contextStatus: rec.contextStatus,
      nics: rec.nics,
      networkMappings: rec.networkMappings,
      volumeIds: rec.volumeIds,
      lastReplication: rec.lastReplication,
    };
    for (const volumeId of rec.volumeIds) {
      const v = await cloudstack.getVolume(volumeId, { log });
      const m = v?.vmId ? await volumeDaemon.getDevice(volumeId, { log }) : undefined;
      facts.volumes.push({
        volumeId,
        ...(v ? { state: v.state, zoneId: v.zoneId } : {}),
        ...(v?.vmId ? { attachedToVmId: v.vmId } : {}),
        ...(m?.devicePath ? { devicePath: m.devicePath } : {}),
      });
      for (const s of await cloudstack.listSnapshots({ volumeId, name: snapshotName(args.kind, args.vmId, volumeId) }, { log })) {
        if (s.state !== 'Destroyed' && s.state !== 'Destroying') leftovers.snapshotNames.push(s.name);
      }
    }
    const zoneId = appliance?.zoneId;
    if (zoneId) {
      facts.zoneId = zoneId;
      facts.networks = (await cloudstack.listNetworks({ zoneId }, { log })).map((n) => ({ id: n.id, zoneId: n.zoneId }));
    }
    const fits = (await cloudstack.listServiceOfferings({ log }))
      .filter((o) => o.cpuNumber >= rec.cpuCount && o.memoryMb >= rec.memoryMb)
      .sort((a, b) => a.cpuNumber - b.cpuNumber || a.memoryMb - b.memoryMb || (a.id < b.id ? -1 : 1));
    if (fits[0]) facts.offering = { id: fits[0].id, cpuNumber: fits[0].cpuNumber, memoryMb: fits[0].memoryMb };
    const templateId = this.deps.templateId ?? appliance?.templateId;
    if (templateId) facts.templateId = templateId;
    const existing = await cloudstack.listVms({ name: targetVmName(args.kind, rec.name) }, { log });
    leftovers.vmIds = existing.filter((v) => !GONE.has(v.state)).map((v) => v.id);
    return { facts, leftovers };
  }

  /** Failback's facts: the live VM (by name) and where the volumes are. Read-only. */
  async gatherFailbackFacts(args: { vmId: string; jobId: string }, log: Logger): Promise<FailbackFacts> {
    const { cloudstack, jobLog: jl, directory } = this.deps;
    const rec = await directory.getVm(args.vmId, { log });
    const appliance = await this.applianceVm(log);
    const active = (await jl.listJobs({ vmId: args.vmId, activeOnly: true }, { log })).filter((j) => j.id !== args.jobId).map((j) => j.id);
    const facts: FailbackFacts = { vmId: args.vmId, volumes: [], activeJobIds: active };
    if (appliance) facts.appliance = { vmId: appliance.id, state: appliance.state };
    if (!rec) return facts;
    facts.vm = { name: rec.name, contextStatus: rec.contextStatus, volumeIds: rec.volumeIds };
    const live = await this.findVmByName(targetVmName('live', rec.name), log);
    if (live) facts.liveVm = { vmId: live.id, name: live.name, state: live.state };
    for (const volumeId of rec.volumeIds) {
      const v = await cloudstack.getVolume(volumeId, { log });
      facts.volumes.push({ volumeId, ...(v ? { state: v.state } : {}), ...(v?.vmId ? { attachedToVmId: v.vmId } : {}) });
    }
    return facts;
  }

  /** Step 2: one snapshot per volume, by name (a re-run finds the ones already made). */
  async createSnapshots(args: { snapshots: SnapshotRef[] }, log: Logger): Promise<SnapshotRef[]> {
    const out: SnapshotRef[] = [];
    for (const s of args.snapshots) {
      const view = await this.deps.cloudstack.createSnapshot(s.volumeId, s.name, { log });
      if (view.state !== 'BackedUp') throw fail('Transient', 'createSnapshots', `snapshot ${view.id} (${s.name}) is ${view.state}, not BackedUp yet`, 'NotReady');
      // A failed earlier try leaves a snapshot of the same name in Error: it is garbage, and it goes now.
      for (const x of await this.deps.cloudstack.listSnapshots({ volumeId: s.volumeId, name: s.name }, { log })) {
        if (x.id !== view.id && x.state === 'Error') await this.deps.cloudstack.deleteSnapshot(x.id, { log });
      }
      out.push({ volumeId: s.volumeId, name: s.name, snapshotId: view.id });
    }
    return out;
  }

  private async resolveSnapshot(s: SnapshotRef, log: Logger): Promise<string | undefined> {
    if (s.snapshotId) return s.snapshotId;
    const found = (await this.deps.cloudstack.listSnapshots({ volumeId: s.volumeId, name: s.name }, { log })).filter((x) => x.state === 'BackedUp');
    return found[0]?.id;
  }

  async revertSnapshot(args: { volumeId: string; snapshot?: SnapshotRef }, log: Logger): Promise<JsonObject> {
    if (!args.snapshot) throw fail('Invalid', 'revertSnapshot', `no snapshot is known for volume ${args.volumeId}`);
    const id = await this.resolveSnapshot(args.snapshot, log);
    if (!id) throw fail('NotFound', 'revertSnapshot', `no BackedUp snapshot ${args.snapshot.name} of volume ${args.volumeId}`);
    const v = await this.deps.cloudstack.revertSnapshot(id, { log });
    return { volumeId: v.id, snapshotId: id };
  }

  /** Deletes every snapshot of these names (including failed ones a retry left behind). Idempotent. */
  async deleteSnapshots(args: { snapshots: SnapshotRef[] }, log: Logger): Promise<JsonObject> {
    const deleted: string[] = [];
    for (const s of args.snapshots) {
      const ids = new Set<string>();
      if (s.snapshotId) ids.add(s.snapshotId);
      for (const x of await this.deps.cloudstack.listSnapshots({ volumeId: s.volumeId, name: s.name }, { log })) if (x.state !== 'Destroyed') ids.add(x.id);
      for (const id of [...ids].sort()) {
        await this.deps.cloudstack.deleteSnapshot(id, { log });
        deleted.push(id);
      }
    }
    return { deleted };
  }

  /**
   * Step 3. The injection rewrites the disk in place and is not idempotent, so a run the job log shows as started
   * but never finished (a crash mid-injection) is not repeated blindly: it fails as Interrupted, and the chart
   * reverts the volume before it runs the injection again. A run the job log shows as completed is not repeated.
   */
  async injectDrivers(args: { vmId: string; volumeId: string }, jobId: string, log: Logger): Promise<JsonObject> {
    const { volumeDaemon, injection } = this.deps;
    const m = await volumeDaemon.getDevice(args.volumeId, { log });
    const applianceId = await this.deps.directory.applianceVmId({ log });
    if (!m || m.vmId !== applianceId || !m.devicePath) {
      throw fail('Invalid', 'injectDrivers', `volume ${args.volumeId} is not on the appliance ${applianceId} (${m ? `on ${m.vmId}` : 'detached'}): it cannot be injected`, 'DeviceMissing');
    }
    const r = await injection.inject({ devicePath: m.devicePath, volumeId: args.volumeId, vmId: args.vmId }, { log });
    void jobId;
    return { devicePath: r.devicePath, exitCode: r.exitCode, durationMs: r.durationMs, outputTail: r.outputTail };
  }

  /** Step 5a: the new VM's own root volume (never a replicated one). */
  async findRootVolume(args: { vmId?: string; protectedVolumeIds: string[] }, log: Logger): Promise<{ volumeId?: string }> {
    if (!args.vmId) throw fail('Invalid', 'findRootVolume', 'the new VM has no id yet');
    const roots = (await this.deps.cloudstack.listVolumes({ vmId: args.vmId, type: 'ROOT' }, { log })).filter((v) => !args.protectedVolumeIds.includes(v.id));
    return roots[0] ? { volumeId: roots[0].id } : {};
  }

  async deleteRootVolume(args: { volumeId?: string; vmId?: string; protectedVolumeIds: string[] }, log: Logger): Promise<JsonObject> {
    const { cloudstack } = this.deps;
    if (!args.volumeId) return {};
    if (args.protectedVolumeIds.includes(args.volumeId)) throw fail('Invalid', 'deleteRootVolume', `refusing to delete replicated volume ${args.volumeId}`);
    const v = await cloudstack.getVolume(args.volumeId, { log });
    if (!v) return { deleted: args.volumeId };
    if (v.vmId) {
      if (v.vmId !== args.vmId) throw fail('Invalid', 'deleteRootVolume', `volume ${args.volumeId} is attached to VM ${v.vmId}, not to the new VM ${args.vmId ?? '?'}`);
      await cloudstack.detachVolume(args.volumeId, { log });
    }
    await cloudstack.deleteVolume(args.volumeId, { log });
    return { deleted: args.volumeId };
  }

  async observeVm(args: { vmId?: string; name: string }, log: Logger): Promise<VmObservation> {
    if (args.vmId) {
      const vm = await this.deps.cloudstack.getVm(args.vmId, { log });
      if (vm && !GONE.has(vm.state)) return observeVmView(vm);
    }
    if (!args.name) return { state: 'absent' };
    return observeVmView(await this.findVmByName(args.name, log));
  }

  async deployVm(args: { deploy?: DeploySpec }, log: Logger): Promise<VmObservation> {
    const d = args.deploy;
    if (!d) throw fail('Invalid', 'deployVm', 'no deploy spec');
    const vm = await this.deps.cloudstack.deployVm({ ...d, startVm: false }, { log });
    return observeVmView(vm);
  }

  private async vmIdOf(args: { vmId?: string; name: string }, op: string, log: Logger): Promise<string> {
    if (args.vmId) return args.vmId;
    const vm = await this.findVmByName(args.name, log);
    if (!vm) throw fail('NotFound', op, `VM ${args.name} does not exist`);
    return vm.id;
  }

  async startVm(args: { vmId?: string; name: string }, log: Logger): Promise<VmObservation> {
    return observeVmView(await this.deps.cloudstack.startVm(await this.vmIdOf(args, 'startVm', log), { log }));
  }

  async stopVm(args: { vmId?: string; name: string }, attempt: number, log: Logger): Promise<VmObservation> {
    return observeVmView(await this.deps.cloudstack.stopVm(await this.vmIdOf(args, 'stopVm', log), { log, forced: attempt > 1 }));
  }

  /** Destroying with expunge takes whatever sits at device 0: refused while a replicated volume is on the VM. */
  async destroyVm(args: { vmId?: string; name: string; protectedVolumeIds: string[] }, log: Logger): Promise<JsonObject> {
    const { cloudstack } = this.deps;
    const vm = args.vmId ? await cloudstack.getVm(args.vmId, { log }) : await this.findVmByName(args.name, log);
    if (!vm || GONE.has(vm.state)) return { destroyed: args.vmId ?? args.name };
    const held = (await cloudstack.listVolumes({ vmId: vm.id }, { log })).filter((v) => args.protectedVolumeIds.includes(v.id));
    if (held.length > 0) throw fail('Invalid', 'destroyVm', `refusing to destroy VM ${vm.name} (${vm.id}): replicated volume(s) ${held.map((v) => v.id).join(', ')} are attached to it`);
    await cloudstack.destroyVm(vm.id, { log });
    return { destroyed: vm.id };
  }

  async observeVolume(args: { volumeId: string }, log: Logger): Promise<VolumeObservation> {
    const v: VolumeView | undefined = await this.deps.cloudstack.getVolume(args.volumeId, { log });
    if (!v) throw fail('NotFound', 'observeVolume', `replicated volume ${args.volumeId} does not exist in CloudStack`);
    const o: VolumeObservation = { volumeId: v.id };
    if (v.vmId) {
      o.attachedToVmId = v.vmId;
      if (v.deviceId !== undefined) o.deviceId = v.deviceId;
      // The device path only names the manual step if one is ever needed: a daemon that cannot say is no reason to fail the read.
      const m = await this.deps.volumeDaemon.getDevice(args.volumeId, { log }).catch((e: unknown) => {
        log.debug({ err: toStepError('getDevice', e).message }, 'Could not read the device path');
        return undefined;
      });
      if (m?.devicePath && m.vmId === v.vmId) o.devicePath = m.devicePath;
    }
    return o;
  }

  /** Through the Volume Daemon (it keeps the device correlation); refuses to take a volume off an unexpected VM. */
  async detachVolume(args: { volumeId: string; fromVmId?: string }, log: Logger): Promise<JsonObject> {
    const cur = await this.deps.volumeDaemon.getDevice(args.volumeId, { log });
    if (!cur) return { detached: args.volumeId };
    if (args.fromVmId && cur.vmId !== args.fromVmId) {
      throw fail('Invalid', 'detachVolume', `volume ${args.volumeId} is on VM ${cur.vmId}, not on ${args.fromVmId}: it was moved by someone else`);
    }
    await this.deps.volumeDaemon.detach(args.volumeId, { log });
    return { detached: args.volumeId, fromVmId: cur.vmId };
  }

  async attachVolume(args: { volumeId: string; vmId?: string; deviceId?: number }, log: Logger): Promise<VolumeObservation> {
    if (!args.vmId) throw fail('Invalid', 'attachVolume', `no VM to attach volume ${args.volumeId} to`);
    const m = await this.deps.volumeDaemon.attach(args.volumeId, args.vmId, { log, ...(args.deviceId !== undefined ? { deviceId: args.deviceId } : {}) });
    return { volumeId: args.volumeId, attachedToVmId: m.vmId, deviceId: m.deviceId, ...(m.devicePath ? { devicePath: m.devicePath } : {}) };
  }

  /** Step 6's check: the VM runs, its boot disk is the replicated boot volume at device 0, and every data disk is on it. */
  async verifyVm(args: { vmId?: string; volumeIds: string[] }, log: Logger): Promise<JsonObject> {
    const { cloudstack } = this.deps;
    if (!args.vmId) throw fail('Invalid', 'verifyVm', 'the new VM has no id');
    const vm = await cloudstack.getVm(args.vmId, { log });
    if (!vm || vm.state !== 'Running') throw fail('Fatal', 'verifyVm', `VM ${args.vmId} is ${vm?.state ?? 'gone'}, not Running`);
    const vols = await cloudstack.listVolumes({ vmId: args.vmId }, { log });
    const boot = vols.find((v) => v.id === args.volumeIds[0]);
    if (!boot || boot.deviceId !== 0) throw fail('Fatal', 'verifyVm', `the boot volume ${args.volumeIds[0]} is not the root disk (device 0) of VM ${args.vmId}`);
    const missing = args.volumeIds.filter((id) => !vols.some((v) => v.id === id));
    if (missing.length > 0) throw fail('Fatal', 'verifyVm', `volume(s) ${missing.join(', ')} are not attached to VM ${args.vmId}`);
    return { vmId: vm.id, state: vm.state, volumes: vols.length };
  }

  async setContextStatus(args: { vmId: string; status: string }, log: Logger): Promise<JsonObject> {
    await this.deps.directory.setContextStatus(args.vmId, args.status, { log });
    return { vmId: args.vmId, status: args.status };
  }

  /** Closes a step that several operations opened (a lifecycle run): completed, or failed with its error. */
  async recordStep(args: { ok: boolean; error?: StepError; details?: JsonObject }, record: AttemptInput['record'], log: Logger): Promise<JsonObject> {
    if (!record) return {};
    const jl = this.deps.jobLog;
    for (const s of record.statuses ?? []) await jl.setStatus(record.jobId, s, { log });
    if (args.ok) await jl.completeStep(record.jobId, record.name, { log, ...(args.details ? { details: args.details } : {}) });
    else await jl.failStep(record.jobId, record.name, args.error ?? { kind: 'Internal', driver: 'engine', op: record.name, message: 'failed' }, { log, ...(args.details ? { details: args.details } : {}) });
    return { recorded: record.name, ok: args.ok };
  }
}

/** The loggers of the jobs a wiring serves, one child per job id (a test failover and its cleanup are two jobs). */
class JobLoggers {
  private readonly byJob = new Map<string, Logger>();
  constructor(
    private readonly parent: Logger,
    private readonly ids: VmJobIds,
  ) {}
  for(jobId: string | undefined): Logger {
    const id = jobId ?? this.ids.jobId;
    let l = this.byJob.get(id);
    if (!l) {
      l = jobLog(this.parent, { jobId: id, correlationId: this.ids.correlationId, vmId: this.ids.vmId });
      this.byJob.set(id, l);
    }
    return l;
  }
}

type Impl = (args: any, input: AttemptInput, log: Logger) => Promise<unknown>;

/**
 * One attempt of a named step: record it (statuses, then the step started), run the operation, record the end
 * (for `whole` steps), and log one line with its duration and outcome.
 */
function attemptActor(name: string, impl: Impl, deps: VmDeps, loggers: JobLoggers, defaultJobId: string) {
  return fromPromise<unknown, AttemptInput>(async ({ input }) => {
    const rec = input.record;
    const log = loggers.for(rec?.jobId ?? defaultJobId).child({ step: rec?.name, op: name, attempt: input.attempt });
    const jl = deps.jobLog;
    const started = deps.clock.now();
    if (rec && name === 'injectDrivers') {
      const done = await guardInjection(deps, rec.jobId, log);
      if (done) return done;
    }
    try {
      if (rec && name !== 'recordStep') {
        for (const s of rec.statuses ?? []) await jl.setStatus(rec.jobId, s, { log });
        await jl.startStep(rec.jobId, rec.name, { log, details: { attempt: input.attempt } });
      }
      const out = await impl(input.args, input, log);
      if (rec?.mode === 'whole') await jl.completeStep(rec.jobId, rec.name, { log, details: summary(out) });
      log.info({ durationMs: deps.clock.now() - started, outcome: 'ok' }, 'Completed step');
      return out;
    } catch (e) {
      const se = toStepError(name, e);
      log.warn({ durationMs: deps.clock.now() - started, outcome: 'error', kind: se.kind, reason: se.reason, err: se.message }, 'Could not complete step');
      if (rec?.mode === 'whole') {
        try {
          await jl.failStep(rec.jobId, rec.name, se, { log });
        } catch (le) {
          log.warn({ err: toStepError('failStep', le).message }, 'Could not record failed step');
        }
      }
      throw e;
    }
  });
}

/**
 * The injection is not idempotent, so its job-log step decides what a (re-)run does: completed → it is not run
 * again (its recorded result is returned); running → a crash interrupted it and it may have half-written the
 * disk, so it fails as Interrupted (the chart reverts the volume, then runs it again); otherwise it runs.
 */
async function guardInjection(deps: VmDeps, jobId: string, log: Logger): Promise<JsonObject | undefined> {
  const job = await deps.jobLog.getJob(jobId, { log });
  const step = job?.steps.find((s) => s.name === INJECTION_STEP);
  if (step?.status === 'completed') {
    log.info({ attempt: step.attempt }, 'Skipped VirtIO injection: the job log shows it completed');
    return { ...(step.details ?? {}), alreadyCompleted: true };
  }
  if (step?.status === 'running') {
    const e = fail('Transient', 'injectDrivers', `the previous injection (attempt ${step.attempt}) was interrupted before it finished: the volume must be reverted before it runs again`, 'Interrupted');
    await deps.jobLog.failStep(jobId, INJECTION_STEP, e.toStepError(), { log });
    throw e;
  }
  return undefined;
}

function summary(out: unknown): JsonObject | undefined {
  if (out === null || out === undefined) return undefined;
  if (Array.isArray(out)) return { items: out.length };
  if (typeof out !== 'object') return { value: String(out) };
  const o: JsonObject = {};
  for (const [k, v] of Object.entries(out as Record<string, unknown>)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') o[k] = v;
  }
  return o;
}

/** The restart-proof timer: arms a deadline (kept by the chart), fires when it passes, on the injected clock. */
export function timerActor(clock: ClockPort) {
  return fromCallback<TimerEvent, TimerInput>(({ input, sendBack }) => {
    const ac = new AbortController();
    const deadlineMs = input.deadlineMs ?? clock.now() + Math.max(0, input.delayMs);
    void Promise.resolve().then(() => {
      if (ac.signal.aborted) return;
      if (input.deadlineMs === undefined) sendBack({ type: 'timer.armed', deadlineMs });
      clock.sleep(Math.max(0, deadlineMs - clock.now()), ac.signal).then(
        () => sendBack({ type: 'timer.fired' }),
        () => undefined,
      );
    });
    return () => ac.abort();
  });
}

/**
 * Watches the device of an injection whose end is unknown: asks the injection port (now, then every poll) and
 * sends `injection.idle` once no run is left on it. `running`, `unknown` and a failed question keep it waiting, so
 * the chart's fixed quiesce deadline still ends the wait when the port cannot tell.
 */
export function injectionWatchActor(deps: Pick<VmDeps, 'injection' | 'clock' | 'log' | 'injectionStatusPollMs'>) {
  const pollMs = deps.injectionStatusPollMs ?? DEFAULT_INJECTION_STATUS_POLL_MS;
  return fromCallback<InjectionWatchEvent, InjectionWatchInput>(({ input, sendBack }) => {
    const ac = new AbortController();
    const target = { volumeId: input.volumeId, ...(input.devicePath ? { devicePath: input.devicePath } : {}) };
    void (async () => {
      await Promise.resolve();
      while (!ac.signal.aborted) {
        const status = await deps.injection.status(target, { log: deps.log, signal: ac.signal }).catch((e: unknown) => {
          if (!ac.signal.aborted) deps.log.debug({ volumeId: input.volumeId, err: toStepError('injectionStatus', e).message }, 'Could not ask whether the injection still runs');
          return 'unknown' as const;
        });
        if (ac.signal.aborted) return;
        if (status === 'idle') {
          deps.log.info({ volumeId: input.volumeId, devicePath: input.devicePath }, 'No injection runs on the device any more');
          sendBack({ type: 'injection.idle' });
          return;
        }
        await deps.clock.sleep(pollMs, ac.signal).catch(() => undefined);
      }
    })();
    return () => ac.abort();
  });
}

/** Every chart of a VM job, provided with this wiring's operations. */
export interface WiredVmCharts {
  testFailover: typeof testFailoverMachine;
  liveFailover: typeof liveFailoverMachine;
  cleanup: typeof cleanupMachine;
  failback: typeof failbackMachine;
  vmLifecycle: typeof vmLifecycleMachine;
  volumeLifecycle: typeof volumeLifecycleMachine;
  ops: VmOperations;
}

/**
 * Wires the VM charts to the ports for one job (its ids name the logger). The same function serves the daemon,
 * the CLI and the simulator.
 */
export function wireVmCharts(deps: VmDeps, job: VmJobIds): WiredVmCharts {
  const ops = new VmOperations(deps);
  const loggers = new JobLoggers(deps.log, job);
  const timer = timerActor(deps.clock);
  const impls: Record<string, Impl> = {
    openJob: (a, _i, l) => ops.openJob(a, l),
    finishJob: (a, _i, l) => ops.finishJob(a, l),
    gatherFacts: (a, _i, l) => ops.gatherFacts(a, l),
    gatherFailbackFacts: (a, _i, l) => ops.gatherFailbackFacts(a, l),
    createSnapshots: (a, _i, l) => ops.createSnapshots(a, l),
    injectDrivers: (a, i, l) => ops.injectDrivers(a, i.record?.jobId ?? job.jobId, l),
    revertSnapshot: (a, _i, l) => ops.revertSnapshot(a, l),
    deleteSnapshots: (a, _i, l) => ops.deleteSnapshots(a, l),
    findRootVolume: (a, _i, l) => ops.findRootVolume(a, l),
    deleteRootVolume: (a, _i, l) => ops.deleteRootVolume(a, l),
    verifyVm: (a, _i, l) => ops.verifyVm(a, l),
    setContextStatus: (a, _i, l) => ops.setContextStatus(a, l),
    observeVm: (a, _i, l) => ops.observeVm(a, l),
    deployVm: (a, _i, l) => ops.deployVm(a, l),
    startVm: (a, _i, l) => ops.startVm(a, l),
    stopVm: (a, i, l) => ops.stopVm(a, i.attempt, l),
    destroyVm: (a, _i, l) => ops.destroyVm(a, l),
    observeVolume: (a, _i, l) => ops.observeVolume(a, l),
    detachVolume: (a, _i, l) => ops.detachVolume(a, l),
    attachVolume: (a, _i, l) => ops.attachVolume(a, l),
    recordStep: (a, i, l) => ops.recordStep(a, i.record, l),
  };
  const watch = injectionWatchActor({ ...deps, log: loggers.for(job.jobId) });
  return { ...composeVmCharts((name) => attemptActor(name, impls[name], deps, loggers, job.jobId), timer, watch), ops };
}

export type AttemptLogic = ReturnType<typeof fromPromise<unknown, AttemptInput>>;
export type TimerLogic = ReturnType<typeof timerActor>;
export type InjectionWatchLogic = ReturnType<typeof injectionWatchActor>;

/**
 * Builds every VM chart from one attempt implementation per named step and one timer: the composition the
 * wiring, the machine tests (with stub attempts) and the simulator share.
 */
export function composeVmCharts(attemptFor: (name: string) => AttemptLogic, timer: TimerLogic, watchInjection: InjectionWatchLogic = silentInjectionWatch): Omit<WiredVmCharts, 'ops'> {
  const step = (name: string) => stepMachine.provide({ actors: { attempt: attemptFor(name), waitUntil: timer } });
  const vmLifecycle = vmLifecycleMachine.provide({
    actors: {
      observeVm: step('observeVm'),
      deployVm: step('deployVm'),
      startVm: step('startVm'),
      stopVm: step('stopVm'),
      destroyVm: step('destroyVm'),
      recordStep: step('recordStep'),
      waitUntil: timer,
    },
  });
  const volumeLifecycle = volumeLifecycleMachine.provide({
    actors: { observeVolume: step('observeVolume'), detachVolume: step('detachVolume'), attachVolume: step('attachVolume'), recordStep: step('recordStep') },
  });
  const cleanup = cleanupMachine.provide({
    actors: {
      openJob: step('openJob'),
      vmLifecycle,
      volumeLifecycle,
      revertSnapshot: step('revertSnapshot'),
      deleteSnapshots: step('deleteSnapshots'),
      setContextStatus: step('setContextStatus'),
      finishJob: step('finishJob'),
    },
  });
  const chainActors = {
    openJob: step('openJob'),
    gatherFacts: step('gatherFacts'),
    createSnapshots: step('createSnapshots'),
    injectDrivers: step('injectDrivers'),
    revertSnapshot: step('revertSnapshot'),
    findRootVolume: step('findRootVolume'),
    deleteRootVolume: step('deleteRootVolume'),
    verifyVm: step('verifyVm'),
    setContextStatus: step('setContextStatus'),
    deleteSnapshots: step('deleteSnapshots'),
    finishJob: step('finishJob'),
    vmLifecycle,
    volumeLifecycle,
    cleanup,
    waitUntil: timer,
    watchInjection,
  };
  return {
    vmLifecycle,
    volumeLifecycle,
    testFailover: testFailoverMachine.provide({ actors: chainActors }),
    liveFailover: liveFailoverMachine.provide({ actors: chainActors }),
    cleanup,
    failback: failbackMachine.provide({
      actors: {
        openJob: step('openJob'),
        gatherFailbackFacts: step('gatherFailbackFacts'),
        setContextStatus: step('setContextStatus'),
        finishJob: step('finishJob'),
        vmLifecycle,
        volumeLifecycle,
      },
    }),
  };
}

/** The chart a VM operation runs on. */
export function chartFor(charts: WiredVmCharts, operation: VmOperationName): AnyStateMachine {
  switch (operation) {
    case 'test-failover':
      return charts.testFailover;
    case 'failover':
      return charts.liveFailover;
    case 'cleanup':
      return charts.cleanup;
    case 'failback':
      return charts.failback;
  }
}

export type VmOperationName = 'test-failover' | 'cleanup' | 'failover' | 'failback';

/** What a job-log watcher sees after each write. */
export type JobLogChange =
  | { kind: 'status'; job: JobRecord }
  | { kind: 'step'; job: JobRecord; step: string; state: 'started' | 'completed' | 'failed' | 'skipped' };

/**
 * The job log with a watcher: after each write that changed the job, the watcher sees the new record (the CLI's
 * progress display). Writes that changed nothing (a re-run) are not reported.
 */
export function watchedJobLog(inner: JobLogPort, watch: (c: JobLogChange) => void): JobLogPort {
  const after = async (before: Promise<JobRecord | undefined>, write: () => Promise<JobRecord>, change: (j: JobRecord) => JobLogChange): Promise<JobRecord> => {
    const prev = await before.catch(() => undefined);
    const j = await write();
    if (!prev || prev.version !== j.version) watch(change(j));
    return j;
  };
  return {
    createJob: (req, opts) => inner.createJob(req, opts),
    getJob: (id, opts) => inner.getJob(id, opts),
    listJobs: (f, opts) => inner.listJobs(f, opts),
    setStatus: (id, status, opts) => after(inner.getJob(id, opts), () => inner.setStatus(id, status, opts), (job) => ({ kind: 'status', job })),
    startStep: (id, name, opts) => after(inner.getJob(id, opts), () => inner.startStep(id, name, opts), (job) => ({ kind: 'step', job, step: name, state: 'started' })),
    completeStep: (id, name, opts) => after(inner.getJob(id, opts), () => inner.completeStep(id, name, opts), (job) => ({ kind: 'step', job, step: name, state: 'completed' })),
    failStep: (id, name, error, opts) => after(inner.getJob(id, opts), () => inner.failStep(id, name, error, opts), (job) => ({ kind: 'step', job, step: name, state: 'failed' })),
    skipStep: (id, name, opts) => after(inner.getJob(id, opts), () => inner.skipStep(id, name, opts), (job) => ({ kind: 'step', job, step: name, state: 'skipped' })),
  };
}
