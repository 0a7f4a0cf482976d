// Why: one VM operation (test failover, cleanup, live failover, failback) run once against whatever ports it is
// given: the real CloudStack, Volume Daemon, appliance and job log of a deployment (`failoverctl vm … --cloudstack-url`),
// or their HTTP clients against the served simulator in tests. Each CLI invocation is a new process, so what an
// operation acts on is found by observation, never remembered: a cleanup finds the test's job in the job log and
// the test VM and snapshots by their deterministic names, then runs the cleanup chart, which carries on from
// wherever things are. The chart runs through the production wiring and the crash-safe runner.
import { randomUUID } from 'node:crypto';
import type { ActorOptions, AnyActorLogic, AnyMachineSnapshot } from 'xstate';
import type { SourceVmView } from '../../drivers/appliance/appliance.port.ts';
import type { JobRecord } from '../../drivers/joblog/joblog.port.ts';
import { FAILBACK_MACHINE_VERSION } from '../../machines/vm/failback.machine.ts';
import { LIVE_FAILOVER_MACHINE_VERSION } from '../../machines/vm/live-failover.machine.ts';
import { TEST_FAILOVER_MACHINE_VERSION } from '../../machines/vm/test-failover.machine.ts';
import { CLEANUP_MACHINE_VERSION } from '../../machines/vm/cleanup.machine.ts';
import { planFailover, validateFailover } from '../../machines/vm/validation.ts';
import { snapshotName, targetVmName } from '../../machines/vm/vm.names.ts';
import { deriveVmStatus, stateString, type VmStatus } from '../../machines/vm/vm.status.ts';
import { DEFAULT_VM_POLICY, type CleanupInput, type FailoverPlan, type ReadinessReport, type VmCondition, type VmPolicy } from '../../machines/vm/vm.types.ts';
import { jobLog } from '../log.ts';
import { VmOperations, watchedJobLog, wireVmCharts, type JobLogChange, type VmDeps, type VmOperationName } from '../wire/vm-failover.ts';
import { MemoryVmSnapshotStore, VmJobRun } from './vm-runner.ts';

/** Bad input found only by looking (an unknown VM, a cleanup of a VM that is failed over live). */
export class VmOperationInputError extends Error {
  override readonly name = 'VmOperationInputError';
}

export type VmOperationResultKind = 'testRunning' | 'cleanedUp' | 'failedOver' | 'failedBack' | 'failed' | 'volumeOrphaned' | 'unfinished';

/** Where one replicated volume is, as CloudStack says. */
export interface ObservedVolume {
  volumeId: string;
  kind: 'appliance' | 'test' | 'live' | 'other' | 'detached' | 'deleted';
  vmName?: string;
  deviceId?: number;
}

export interface ObservedVmWorld {
  volumes: ObservedVolume[];
  testVms: { id: string; name: string; state: string }[];
  liveVms: { id: string; name: string; state: string }[];
  /** The test and live snapshots of the VM's volumes that still exist. */
  snapshots: { id: string; name: string; volumeId: string; state: string }[];
  contextStatus: string;
}

export interface VmOperationOptions {
  operation: VmOperationName;
  vmId: string;
  deps: VmDeps;
  /** XState's clock (default: real timers; tests against the simulator pass its virtual clock). */
  xstateClock?: NonNullable<ActorOptions<AnyActorLogic>['clock']>;
  policy?: Partial<VmPolicy>;
  /** Test failover only: the test ends by itself after this long, and the command waits for it. */
  testDurationMs?: number;
  /** Once the chart has scored the VM (before it changes anything). */
  onPlan?: (p: { report: ReadinessReport; plan?: FailoverPlan; jobId: string }) => void;
  onJobChange?: (c: JobLogChange) => void;
  /** A correlation id for a new job (default a random UUID). */
  newCorrelationId?: () => string;
}

export interface VmOperationResult {
  operation: VmOperationName;
  vmId: string;
  result: VmOperationResultKind;
  state: string;
  status?: VmStatus;
  conditions: VmCondition[];
  jobId: string;
  correlationId: string;
  /** The jobs of this operation's correlation id, oldest first. */
  jobs: JobRecord[];
  world: ObservedVmWorld;
}

const GONE = new Set(['Destroyed', 'Expunging']);

function top(state: string): string {
  return state.split('.')[0];
}

function classify(state: string, done: boolean): VmOperationResultKind {
  switch (top(state)) {
    case 'volumeOrphaned':
      return 'volumeOrphaned';
    case 'runningAsTest':
      return 'testRunning';
    case 'cleanedUp':
      return 'cleanedUp';
    case 'failedOver':
      return 'failedOver';
    case 'failedBack':
      return 'failedBack';
  }
  return done ? 'failed' : 'unfinished';
}

/** What a successful run of each operation ends in. */
export const OPERATION_SUCCESS: Record<VmOperationName, VmOperationResultKind> = { 'test-failover': 'testRunning', cleanup: 'cleanedUp', failover: 'failedOver', failback: 'failedBack' };

async function knownVm(deps: VmDeps, vmId: string): Promise<SourceVmView> {
  const rec = await deps.directory.getVm(vmId, { log: deps.log });
  if (rec) return rec;
  const known = (await deps.directory.listVms({ log: deps.log })).map((v) => v.vmId);
  throw new VmOperationInputError(`unknown VM "${vmId}": the appliance replicates ${known.length ? known.join(', ') : 'no VM'}`);
}

function latest(jobs: JobRecord[], type: JobRecord['type']): JobRecord | undefined {
  return jobs.filter((j) => j.type === type).sort((a, b) => b.createdAtMs - a.createdAtMs || (a.id < b.id ? 1 : -1))[0];
}

/** A dry run: the pre-failover facts through the production wiring, scored by the chart's own checks. Read-only. */
export async function planVmOperation(deps: VmDeps, operation: VmOperationName, vmId: string): Promise<{ report: ReadinessReport; plan?: FailoverPlan }> {
  await knownVm(deps, vmId);
  const kind = operation === 'failover' || operation === 'failback' ? 'live' : 'test';
  const g = await new VmOperations(deps).gatherFacts({ vmId, jobId: 'dry-run', kind }, deps.log);
  const plan = planFailover(g.facts, kind);
  return { report: validateFailover(g.facts, kind, g.leftovers), ...(plan ? { plan } : {}) };
}

/** The VM's side of the world as CloudStack and the appliance say it is now. */
export async function observeVmWorld(deps: VmDeps, vmId: string): Promise<ObservedVmWorld> {
  const { cloudstack, directory, log } = deps;
  const rec = await directory.getVm(vmId, { log });
  if (!rec) return { volumes: [], testVms: [], liveVms: [], snapshots: [], contextStatus: 'unknown' };
  const applianceId = await directory.applianceVmId({ log });
  const byName = async (kind: 'test' | 'live') =>
    (await cloudstack.listVms({ name: targetVmName(kind, rec.name) }, { log })).filter((v) => !GONE.has(v.state)).map((v) => ({ id: v.id, name: v.name, state: v.state }));
  const testVms = await byName('test');
  const liveVms = await byName('live');
  const volumes: ObservedVolume[] = [];
  const snapshots: ObservedVmWorld['snapshots'] = [];
  for (const volumeId of rec.volumeIds) {
    const v = await cloudstack.getVolume(volumeId, { log });
    if (!v) volumes.push({ volumeId, kind: 'deleted' });
    else if (!v.vmId) volumes.push({ volumeId, kind: 'detached' });
    else if (v.vmId === applianceId) volumes.push({ volumeId, kind: 'appliance', ...(v.deviceId !== undefined ? { deviceId: v.deviceId } : {}) });
    else {
      const on = [...testVms, ...liveVms].find((x) => x.id === v.vmId);
      const kind = on ? (testVms.includes(on) ? 'test' : 'live') : 'other';
      volumes.push({ volumeId, kind, ...(on ? { vmName: on.name } : { vmName: v.vmId }), ...(v.deviceId !== undefined ? { deviceId: v.deviceId } : {}) });
    }
    for (const kind of ['test', 'live'] as const) {
      for (const s of await cloudstack.listSnapshots({ volumeId, name: snapshotName(kind, vmId, volumeId) }, { log })) {
        if (s.state !== 'Destroyed' && s.state !== 'Destroying') snapshots.push({ id: s.id, name: s.name, volumeId, state: s.state });
      }
    }
  }
  return { volumes, testVms, liveVms, snapshots, contextStatus: rec.contextStatus };
}

interface Plan {
  chart: 'testFailover' | 'liveFailover' | 'cleanup' | 'failback';
  machineVersion: number;
  jobId: string;
  correlationId: string;
  input: unknown;
  /** Stop watching (the command ends) at this state; the chart's end otherwise. */
  stopAt?: (state: string) => boolean;
}

/** Decides the job and the chart's input for an operation, from the job log and the world. */
async function planJob(o: VmOperationOptions, rec: SourceVmView, policy: VmPolicy): Promise<Plan> {
  const { deps, vmId } = o;
  const log = deps.log;
  const newCorrelation = o.newCorrelationId ?? randomUUID;
  const stamp = Math.floor(deps.clock.now() / 1000);
  const jobs = await deps.jobLog.listJobs({ vmId }, { log });
  switch (o.operation) {
    case 'test-failover': {
      const jobId = `test-failover-${vmId}-${stamp}`;
      const correlationId = newCorrelation();
      return {
        chart: 'testFailover',
        machineVersion: TEST_FAILOVER_MACHINE_VERSION,
        jobId,
        correlationId,
        input: { job: { jobId, correlationId, vmId, type: 'test-failover' }, policy, ...(o.testDurationMs !== undefined ? { testDurationMs: o.testDurationMs } : {}) },
        ...(o.testDurationMs === undefined ? { stopAt: (s: string) => top(s) === 'runningAsTest' } : {}),
      };
    }
    case 'failover': {
      const jobId = `failover-${vmId}-${stamp}`;
      const correlationId = newCorrelation();
      return { chart: 'liveFailover', machineVersion: LIVE_FAILOVER_MACHINE_VERSION, jobId, correlationId, input: { job: { jobId, correlationId, vmId, type: 'failover' }, policy } };
    }
    case 'failback': {
      const jobId = `failback-${vmId}-${stamp}`;
      const correlationId = latest(jobs, 'failover')?.correlationId ?? newCorrelation();
      return { chart: 'failback', machineVersion: FAILBACK_MACHINE_VERSION, jobId, correlationId, input: { job: { jobId, correlationId, vmId, type: 'failback' }, policy } };
    }
    case 'cleanup': {
      if (rec.contextStatus === 'failed_over_live') {
        throw new VmOperationInputError(`VM ${vmId} is failed over live (context failed_over_live): a cleanup ends a test; use "vm failback" to return it to the appliance`);
      }
      const test = latest(jobs, 'test-failover');
      const correlationId = test?.correlationId ?? newCorrelation();
      // The test chart names its cleanup job `<test job>-cleanup`; an ended one is not reopened (its log is final).
      let jobId = test ? `${test.id}-cleanup` : `cleanup-${vmId}-${stamp}`;
      const prior = jobs.find((j) => j.id === jobId);
      if (prior && (prior.status === 'completed' || prior.status === 'failed')) jobId = `${jobId}-${stamp}`;
      const applianceVmId = await deps.directory.applianceVmId({ log });
      const testName = targetVmName('test', rec.name);
      const vms = (await deps.cloudstack.listVms({ name: testName }, { log })).filter((v) => !GONE.has(v.state));
      if (vms.length > 1) throw new VmOperationInputError(`${vms.length} VMs are named ${testName} (${vms.map((v) => v.id).join(', ')}): remove the extra ones by hand, then run the cleanup again`);
      const snapshots: CleanupInput['snapshots'] = [];
      for (const volumeId of rec.volumeIds) {
        const name = snapshotName('test', vmId, volumeId);
        const found = (await deps.cloudstack.listSnapshots({ volumeId, name }, { log })).filter((s) => s.state === 'BackedUp');
        if (found[0]) snapshots.push({ volumeId, name, snapshotId: found[0].id });
      }
      const input: CleanupInput = {
        job: { jobId, correlationId, vmId, type: 'cleanup' },
        mode: 'cleanup',
        applianceVmId,
        volumeIds: rec.volumeIds,
        devicePaths: {},
        vmRole: 'test',
        ...(vms[0] ? { vm: { vmId: vms[0].id, name: vms[0].name } } : {}),
        snapshots,
        revert: true,
        policy,
      };
      return { chart: 'cleanup', machineVersion: CLEANUP_MACHINE_VERSION, jobId, correlationId, input };
    }
  }
}

/**
 * Runs one operation to its end (a test failover: until the test VM runs, or with a duration until its
 * auto-cleanup ends) and reports where everything is. Bad input found by looking throws VmOperationInputError.
 */
export async function runVmOperation(o: VmOperationOptions): Promise<VmOperationResult> {
  const policy: VmPolicy = { ...DEFAULT_VM_POLICY, ...o.policy };
  const rec = await knownVm(o.deps, o.vmId);
  const plan = await planJob(o, rec, policy);
  const deps: VmDeps = o.onJobChange ? { ...o.deps, jobLog: watchedJobLog(o.deps.jobLog, o.onJobChange) } : o.deps;
  const charts = wireVmCharts(deps, { jobId: plan.jobId, correlationId: plan.correlationId, vmId: o.vmId });
  let last: AnyMachineSnapshot | undefined;
  let planShown = false;
  let reachedStop!: () => void;
  const stopped = new Promise<void>((resolve) => (reachedStop = resolve));
  const run = new VmJobRun({
    key: plan.jobId,
    machineVersion: plan.machineVersion,
    input: plan.input,
    store: new MemoryVmSnapshotStore(),
    log: jobLog(o.deps.log, { jobId: plan.jobId, correlationId: plan.correlationId, vmId: o.vmId }),
    ...(o.xstateClock ? { clock: o.xstateClock } : {}),
    onTransition: (t) => {
      last = t.snapshot;
      const ctx = t.snapshot.context as { report?: ReadinessReport; plan?: FailoverPlan };
      if (!planShown && ctx.report) {
        planShown = true;
        o.onPlan?.({ report: ctx.report, ...(ctx.plan ? { plan: ctx.plan } : {}), jobId: plan.jobId });
      }
      if (plan.stopAt?.(t.state)) reachedStop();
    },
  });
  run.start(charts[plan.chart]);
  try {
    await Promise.race([run.done(), stopped]);
  } finally {
    // The command ends here; a test VM keeps running (the cleanup is its own command). Nothing is in flight at
    // runningAsTest, so stopping the actor leaves nothing half-done.
    if (run.running) run.crash();
  }
  const state = last ? stateString(last.value) : '';
  const status = last ? deriveVmStatus(last) : undefined;
  const jobs = (await o.deps.jobLog.listJobs({ vmId: o.vmId }, { log: o.deps.log }))
    .filter((j) => j.correlationId === plan.correlationId)
    .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  return {
    operation: o.operation,
    vmId: o.vmId,
    result: classify(state, last?.status === 'done'),
    state,
    ...(status ? { status } : {}),
    conditions: status?.conditions ?? [],
    jobId: plan.jobId,
    correlationId: plan.correlationId,
    jobs,
    world: await observeVmWorld(o.deps, o.vmId),
  };
}
