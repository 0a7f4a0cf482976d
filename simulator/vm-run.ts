// Why: one simulated VM job from a seed, end to end: a simulated cloud (zone, offerings, networks, the
// replication appliance and replicated source VMs), the simulated Volume Daemon, injection and job log, the
// production wiring and runner, and the nemesis (API faults, partitions, engine crashes and stalls from the
// seed's plan, plus a crash at a chosen transition). Faults are on for the safety phase (`always` invariants
// after every event), then heal; the job must end within a bound (liveness), and the end state must be one the
// operation allows. The result says what happened, which invariants held and how to replay it.
import type { Logger } from 'pino';
import { simClock } from '../drivers/clock/clock.sim.ts';
import { simCloudStack } from '../drivers/cloudstack/cloudstack.sim.ts';
import { SimInjection } from '../drivers/injection/injection.sim.ts';
import type { CallOpts } from '../drivers/cluster/cluster.port.ts';
import { MemoryJobLog } from '../drivers/joblog/joblog.memory.ts';
import type { JobLogPort, JobRecord } from '../drivers/joblog/joblog.port.ts';
import { simVolumeDaemon } from '../drivers/volumedaemon/volumedaemon.sim.ts';
import { deriveVmStatus, stateString, type VmStatus } from '../machines/vm/vm.status.ts';
import { VmConditionType } from '../machines/vm/vm.conditions.ts';
import { TEST_FAILOVER_MACHINE_VERSION } from '../machines/vm/test-failover.machine.ts';
import { LIVE_FAILOVER_MACHINE_VERSION } from '../machines/vm/live-failover.machine.ts';
import { FAILBACK_MACHINE_VERSION } from '../machines/vm/failback.machine.ts';
import { DEFAULT_VM_POLICY, type VmCondition, type VmJobType, type VmPolicy } from '../machines/vm/vm.types.ts';
import type { ReadinessReport, FailoverPlan } from '../machines/vm/vm.types.ts';
import { jobLog, silentLogger } from '../src/log.ts';
import { MemoryVmSnapshotStore, VmJobRun, type VmTransition } from '../src/runtime/vm-runner.ts';
import { chartFor, VmOperations, wireVmCharts, watchedJobLog, type JobLogChange, type VmDeps, type VmOperationName } from '../src/wire/vm-failover.ts';
import { planFailover, validateFailover } from '../machines/vm/validation.ts';
import { standardCloud, type StandardCloud } from './cloudstack/cloud.fixture.ts';
import { cloudInvariants } from './cloudstack/cloud.invariants.ts';
import type { FaultProfile } from './faults.ts';
import { InvariantViolation, SimKernel, type InvariantResult } from './kernel.ts';
import { SimProcess } from './process.ts';
import { SimSourceVmDirectory } from '../drivers/appliance/appliance.sim.ts';
import { SimVolumeDaemon } from './volumedaemon/daemon.ts';

/** The engine runs on the replication appliance (sendense's OMA): its process is the `appliance` party. */
export const VM_ENGINE_PARTY = 'appliance';
export const VM_PARTIES = ['appliance', 'cloudstack', 'volumedaemon', 'globalstate'] as const;
/** After the faults heal, the job must end within this much virtual time. */
export const VM_LIVENESS_BOUND_MS = 60 * 60_000;
const DEFAULT_CRASH_DOWN_MS = 5_000;

export const VM_OPERATIONS: readonly VmOperationName[] = ['test-failover', 'cleanup', 'failover', 'failback'];

export type VmRunResultKind = 'testRunning' | 'cleanedUp' | 'failedOver' | 'failedBack' | 'failed' | 'volumeOrphaned' | 'unfinished';

export interface VmSimulationOptions {
  seed: number;
  operation: VmOperationName;
  /** Default: 'swarm'. */
  profile?: FaultProfile;
  /** Default: the first replicated VM of the world. */
  vmId?: string;
  /** Crash the engine right after this transition (counted over the whole operation, from 1), then restore. */
  crashAtTransition?: number;
  /** Crash the engine at these virtual times (ms from the start), then restore. */
  crashAtMs?: number[];
  /** How long the engine stays down after a crash (default 5 s). */
  crashDownMs?: number;
  /** Test failover only: end the test by itself after this long (auto-cleanup). */
  testDurationMs?: number;
  /** The world: replicated source VMs (default 2) and data disks per VM (default: 0 or 1, from the seed). */
  sourceVms?: number;
  dataDisks?: number;
  /** How long faults stay on (default 60 s). */
  horizonMs?: number;
  policy?: Partial<VmPolicy>;
  keepTraceLines?: boolean;
  traceSink?: (line: string) => void;
  log?: Logger;
  /** Each job-log change (the CLI's progress display). */
  onJobChange?: (c: JobLogChange) => void;
  /** Once the chart has scored the VM (before it changes anything). */
  onPlan?: (p: { report: ReadinessReport; plan?: FailoverPlan; jobId: string }) => void;
  /** Scripted faults on the world before time starts (e.g. cloud.failNextInjections). */
  setup?: (world: StandardCloud, kernel: SimKernel) => void;
}

/** Where one replicated volume ended, and on what. */
export interface VolumeEnd {
  volumeId: string;
  kind: 'appliance' | 'test' | 'live' | 'other' | 'detached' | 'deleted';
  vmName?: string;
  deviceId?: number;
  data?: { generation: number; virtio: boolean; dirty: boolean };
}

export interface VmWorldEnd {
  volumes: VolumeEnd[];
  testVms: { name: string; state: string; guest: string }[];
  liveVms: { name: string; state: string; guest: string }[];
  /** Snapshots of the VM's volumes that still exist. */
  snapshots: { id: string; name: string; volumeId: string; state: string }[];
  contextStatus: string;
}

export interface VmRunFailure {
  kind: 'crash' | 'safety' | 'liveness';
  invariant?: string;
  message: string;
  atMs?: number;
}

export interface VmSimulationResult {
  seed: number;
  profile: FaultProfile;
  operation: VmOperationName;
  vmId: string;
  result: VmRunResultKind;
  /** The last chart's final state and derived status. */
  state: string;
  status?: VmStatus;
  conditions: VmCondition[];
  jobs: JobRecord[];
  world: VmWorldEnd;
  invariants: InvariantResult[];
  failure?: VmRunFailure;
  crashes: number;
  transitions: number;
  virtualDurationMs: number;
  eventCount: number;
  traceHash: string;
  trace?: string;
  replay: string;
}

/** Thrown for options that make no run (an unknown VM, a bad crash point). */
export class VmSimulationOptionsError extends Error {
  override readonly name = 'VmSimulationOptionsError';
}

export function vmReplayHint(o: { seed: number; operation: VmOperationName; vmId: string; profile: FaultProfile; crashAtTransition?: number }): string {
  return `npx failoverctl vm ${o.operation} --vm ${o.vmId} --seed ${o.seed} --profile ${o.profile}${o.crashAtTransition !== undefined ? ` --crash-at ${o.crashAtTransition}` : ''}`;
}

/** The job log as a DynamoDB-like remote store: every call goes through the fault kernel. */
function faultedJobLog(kernel: SimKernel, inner: JobLogPort, from: string): JobLogPort {
  const call = <T>(cls: 'globalstate.read' | 'globalstate.write', op: string, detail: string | undefined, f: () => Promise<T>) =>
    kernel.call(cls, { from, to: 'globalstate', op: `joblog.${op}`, detail }, f, 'joblog');
  return {
    createJob: (req, o?: CallOpts) => call('globalstate.write', 'createJob', req.id, () => inner.createJob(req, o)),
    getJob: (id, o) => call('globalstate.read', 'getJob', id, () => inner.getJob(id, o)),
    listJobs: (f, o) => call('globalstate.read', 'listJobs', f?.vmId, () => inner.listJobs(f, o)),
    setStatus: (id, s, o) => call('globalstate.write', 'setStatus', id, () => inner.setStatus(id, s, o)),
    startStep: (id, n, o) => call('globalstate.write', 'startStep', id, () => inner.startStep(id, n, o)),
    completeStep: (id, n, o) => call('globalstate.write', 'completeStep', id, () => inner.completeStep(id, n, o)),
    failStep: (id, n, e, o) => call('globalstate.write', 'failStep', id, () => inner.failStep(id, n, e, o)),
    skipStep: (id, n, o) => call('globalstate.write', 'skipStep', id, () => inner.skipStep(id, n, o)),
  };
}

function top(state: string): string {
  return state.split('.')[0];
}

interface JobPlan {
  type: VmJobType;
  chart: 'test-failover' | 'failover' | 'failback';
  machineVersion: number;
}

const JOB_PLANS: Record<'test-failover' | 'failover' | 'failback', JobPlan> = {
  'test-failover': { type: 'test-failover', chart: 'test-failover', machineVersion: TEST_FAILOVER_MACHINE_VERSION },
  failover: { type: 'failover', chart: 'failover', machineVersion: LIVE_FAILOVER_MACHINE_VERSION },
  failback: { type: 'failback', chart: 'failback', machineVersion: FAILBACK_MACHINE_VERSION },
};

/** What a dry run shows: the pre-failover checks as the chart would score them, and the plan. */
export interface VmPlanResult {
  vmId: string;
  operation: VmOperationName;
  report: ReadinessReport;
  plan?: FailoverPlan;
  /** The VMs the simulated appliance replicates, with their context status. */
  knownVms: { vmId: string; name: string; contextStatus: string }[];
}

/**
 * A dry run: builds the same world the seed builds, gathers the pre-failover facts through the production
 * wiring (read-only, no faults), and scores them with the chart's own checks. Nothing is changed. Cleanup and
 * failback act on what a test or live failover made; their dry run shows the plan of that failover.
 */
export async function planVmSimulation(o: Pick<VmSimulationOptions, 'seed' | 'operation' | 'vmId' | 'sourceVms' | 'dataDisks'>): Promise<VmPlanResult> {
  const kernel = new SimKernel({ seed: o.seed, keepTraceLines: false });
  const shape = kernel.prng.stream('vm.world');
  const dataDisks = o.dataDisks ?? shape.int(0, 1);
  const world = standardCloud(kernel, { sourceVms: o.sourceVms ?? 2, dataDisks });
  const vmId = o.vmId ?? world.sources[0].vmId;
  if (!world.cloud.getSourceVm(vmId)) throw new VmSimulationOptionsError(`unknown VM "${vmId}": the simulated appliance replicates ${world.sources.map((s) => s.vmId).join(', ')}`);
  const kind = o.operation === 'failover' || o.operation === 'failback' ? 'live' : 'test';
  const deps: VmDeps = {
    cloudstack: simCloudStack(world.cloud, { from: VM_ENGINE_PARTY }),
    volumeDaemon: simVolumeDaemon(new SimVolumeDaemon(world.cloud), { from: VM_ENGINE_PARTY }),
    injection: new SimInjection(world.cloud, VM_ENGINE_PARTY),
    jobLog: new MemoryJobLog(simClock(kernel.sched)),
    directory: new SimSourceVmDirectory(world.cloud, VM_ENGINE_PARTY),
    clock: simClock(kernel.sched),
    log: silentLogger,
  };
  const ops = new VmOperations(deps);
  const g = await kernel.resolve(ops.gatherFacts({ vmId, jobId: 'dry-run', kind }, silentLogger));
  return {
    vmId,
    operation: o.operation,
    report: validateFailover(g.facts, kind, g.leftovers),
    ...(planFailover(g.facts, kind) ? { plan: planFailover(g.facts, kind) } : {}),
    knownVms: world.cloud.listSourceVms().map((r) => ({ vmId: r.vmId, name: r.name, contextStatus: r.contextStatus })),
  };
}

export async function runVmSimulation(o: VmSimulationOptions): Promise<VmSimulationResult> {
  const profile = o.profile ?? 'swarm';
  if (!VM_OPERATIONS.includes(o.operation)) throw new VmSimulationOptionsError(`operation must be one of ${VM_OPERATIONS.join(', ')}, got "${String(o.operation)}"`);
  if (o.crashAtTransition !== undefined && !(Number.isInteger(o.crashAtTransition) && o.crashAtTransition >= 1)) {
    throw new VmSimulationOptionsError(`crashAtTransition must be a positive integer, got ${o.crashAtTransition}`);
  }
  const kernel = new SimKernel({
    seed: o.seed,
    plan: profile === 'none' ? undefined : { profile, parties: VM_PARTIES, crashable: [VM_ENGINE_PARTY], ...(o.horizonMs !== undefined ? { horizonMs: o.horizonMs } : {}) },
    keepTraceLines: o.keepTraceLines ?? false,
    ...(o.traceSink ? { traceSink: o.traceSink } : {}),
  });
  const shape = kernel.prng.stream('vm.world');
  const dataDisks = o.dataDisks ?? shape.int(0, 1);
  const world = standardCloud(kernel, { sourceVms: o.sourceVms ?? 2, dataDisks });
  const cloud = world.cloud;
  const vmId = o.vmId ?? world.sources[0].vmId;
  if (!cloud.getSourceVm(vmId)) {
    throw new VmSimulationOptionsError(`unknown VM "${vmId}": the simulated appliance replicates ${world.sources.map((s) => s.vmId).join(', ')}`);
  }
  o.setup?.(world, kernel);
  const policy: VmPolicy = { ...DEFAULT_VM_POLICY, ...o.policy };
  const log = o.log ?? silentLogger;
  kernel.emit('vm.run', { operation: o.operation, vm: vmId, profile, dataDisks, crashAt: o.crashAtTransition });
  for (const inv of cloudInvariants(cloud)) kernel.addInvariant(inv);

  const daemon = new SimVolumeDaemon(cloud);
  const jobStore = new MemoryJobLog(simClock(kernel.sched));
  const proc = new SimProcess(VM_ENGINE_PARTY, kernel);
  const ids = kernel.prng.stream('vm.ids');
  const correlationId = ids.uuid();

  const incarnate = (): VmDeps => {
    let jl: JobLogPort = faultedJobLog(kernel, jobStore, VM_ENGINE_PARTY);
    if (o.onJobChange) jl = watchedJobLog(jl, o.onJobChange);
    return {
      cloudstack: proc.fence(simCloudStack(cloud, { from: VM_ENGINE_PARTY })),
      volumeDaemon: proc.fence(simVolumeDaemon(daemon, { from: VM_ENGINE_PARTY })),
      injection: proc.fence(new SimInjection(cloud, VM_ENGINE_PARTY)),
      jobLog: proc.fence(jl),
      directory: proc.fence(new SimSourceVmDirectory(cloud, VM_ENGINE_PARTY)),
      clock: proc.clock(simClock(kernel.sched)),
      log,
    };
  };

  const store = new MemoryVmSnapshotStore();
  let transitionsBefore = 0;
  let crashes = 0;
  let crashedAtPoint = false;
  let current: { run: VmJobRun; jobId: string; plan: JobPlan } | undefined;
  let planShown = false;
  const waiters: Array<{ pred: (s: string, done: boolean) => boolean; resolve: () => void }> = [];
  let lastSnapshot: VmTransition['snapshot'] | undefined;
  const jobIds: string[] = [];

  // A crash that is due or under way: the run does not end before the engine is back and restored.
  let crashesPending = 0;
  let backWaiters: Array<() => void> = [];
  const engineSettled = () => (crashesPending === 0 ? Promise.resolve() : new Promise<void>((resolve) => backWaiters.push(resolve)));
  const crashDone = () => {
    crashesPending = Math.max(0, crashesPending - 1);
    if (crashesPending === 0) {
      const w = backWaiters;
      backWaiters = [];
      for (const f of w) f();
    }
  };

  const crashEngine = (downMs: number, why: string) => {
    const c = current;
    if (!c || !c.run.running) {
      crashDone();
      return;
    }
    crashes++;
    kernel.emit('vm.engine.crashed', { why, job: c.jobId, transition: c.run.transitionCount + transitionsBefore, downMs });
    c.run.crash();
    proc.kill();
    kernel.sched.after(downMs, 'vm.engine.restart', () => {
      proc.revive();
      const charts = wireVmCharts(incarnate(), { jobId: c.jobId, correlationId, vmId });
      kernel.emit('vm.engine.restarted', { job: c.jobId });
      c.run.restore(chartFor(charts, c.plan.chart));
      if (cleanupRequested && c.plan.chart === 'test-failover') {
        const s = c.run.snapshot();
        if (s && top(stateString(s.value)) === 'runningAsTest') c.run.send({ type: 'cleanup.requested' });
      }
      crashDone();
    });
  };

  for (const atMs of o.crashAtMs ?? []) kernel.sched.at(kernel.startMs + atMs, 'vm.scripted.crash', () => crashEngine(o.crashDownMs ?? DEFAULT_CRASH_DOWN_MS, `at ${atMs} ms`));
  for (const crash of kernel.plan.crashes) {
    if (crash.party !== VM_ENGINE_PARTY) continue;
    kernel.sched.at(kernel.startMs + crash.atMs, 'vm.plan.crash', () => crashEngine(crash.downMs, 'plan'));
  }
  for (const stall of kernel.plan.stalls) {
    if (stall.party !== VM_ENGINE_PARTY) continue;
    kernel.sched.at(kernel.startMs + stall.atMs, 'vm.plan.stall', () => proc.stall(stall.durationMs));
  }

  let cleanupRequested = false;

  const startJob = (plan: JobPlan, input: Record<string, unknown>, jobId: string) => {
    const charts = wireVmCharts(incarnate(), { jobId, correlationId, vmId });
    jobIds.push(jobId);
    const crashAt = o.crashAtTransition !== undefined && !crashedAtPoint ? o.crashAtTransition - transitionsBefore : undefined;
    const run = new VmJobRun({
      key: jobId,
      machineVersion: plan.machineVersion,
      input,
      store,
      log: jobLog(log, { jobId, correlationId, vmId }),
      clock: proc.xstateClock(kernel.sched.xstateClock),
      ...(crashAt !== undefined && crashAt >= 1 ? { freezeAfterTransition: crashAt } : {}),
      onTransition: (t) => {
        lastSnapshot = t.snapshot;
        const global = t.transition + transitionsBefore;
        if (t.stateChanged || t.snapshot.status === 'done') {
          const st = deriveVmStatus(t.snapshot);
          kernel.emit('vm.state', { job: jobId, state: t.state, phase: st.phase, status: st.jobStatus, progress: st.progressPercent, transition: global });
          const ctx = t.snapshot.context as { report?: ReadinessReport; plan?: FailoverPlan };
          if (!planShown && ctx.report) {
            planShown = true;
            o.onPlan?.({ report: ctx.report, ...(ctx.plan ? { plan: ctx.plan } : {}), jobId });
          }
        }
        if (o.crashAtTransition !== undefined && !crashedAtPoint && global >= o.crashAtTransition) {
          crashedAtPoint = true;
          crashesPending++;
          kernel.sched.after(0, 'vm.crash-at', () => crashEngine(o.crashDownMs ?? DEFAULT_CRASH_DOWN_MS, `transition ${global}`));
        }
        for (const w of [...waiters]) {
          if (w.pred(t.state, t.snapshot.status === 'done')) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      },
      onError: (e) => kernel.emit('vm.actor.error', { job: jobId, error: e instanceof Error ? e.message : String(e) }),
    });
    current = { run, jobId, plan };
    run.start(chartFor(charts, plan.chart));
    return run;
  };

  const until = (pred: (state: string, done: boolean) => boolean) => new Promise<void>((resolve) => waiters.push({ pred, resolve }));
  const jobId = (type: string) => `${type}-${vmId}-${Math.floor(kernel.now() / 1000)}`;

  let finished = false;
  let result: VmRunResultKind = 'unfinished';
  let actorError: unknown;
  const drive = async () => {
    if (o.operation === 'test-failover' || o.operation === 'cleanup') {
      const id = jobId('test-failover');
      const input = { job: { jobId: id, correlationId, vmId, type: 'test-failover' }, policy, ...(o.testDurationMs !== undefined ? { testDurationMs: o.testDurationMs } : {}) };
      const run = startJob(JOB_PLANS['test-failover'], input, id);
      const stopAtTest = o.operation === 'test-failover' && o.testDurationMs === undefined;
      await until((s, done) => done || top(s) === 'runningAsTest');
      if (o.operation === 'cleanup') {
        const s = lastSnapshot && stateString(lastSnapshot.value);
        if (s && top(s) === 'runningAsTest') {
          cleanupRequested = true;
          jobIds.push(`${id}-cleanup`);
          kernel.emit('vm.cleanup.requested', { job: id });
          if (run.running) run.send({ type: 'cleanup.requested' });
          await until((_, done) => done);
        }
      } else if (!stopAtTest) {
        await until((_, done) => done);
      }
      return;
    }
    const live = jobId('failover');
    startJob(JOB_PLANS.failover, { job: { jobId: live, correlationId, vmId, type: 'failover' }, policy }, live);
    await until((_, done) => done);
    if (o.operation === 'failover') return;
    if (lastSnapshot && top(stateString(lastSnapshot.value)) !== 'failedOver') return;
    transitionsBefore += current?.run.transitionCount ?? 0;
    const back = `failback-${vmId}-${Math.floor(kernel.now() / 1000)}`;
    startJob(JOB_PLANS.failback, { job: { jobId: back, correlationId, vmId, type: 'failback' }, policy }, back);
    await until((_, done) => done);
  };

  const driven = drive()
    .then(() => engineSettled())
    .then(
    () => {
      finished = true;
    },
    (e: unknown) => {
      actorError = e;
      finished = true;
    },
  );
  void driven;
  const bound = kernel.startMs + kernel.plan.healAtMs + VM_LIVENESS_BOUND_MS;
  let failure: VmRunFailure | undefined;
  try {
    await kernel.run({ stopWhen: () => finished, untilMs: bound });
  } catch (e) {
    if (e instanceof InvariantViolation) failure = { kind: 'safety', invariant: e.invariant, message: e.message, atMs: e.atMs };
    else failure = { kind: 'crash', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  if (!failure && actorError !== undefined) failure = { kind: 'crash', message: actorError instanceof Error ? actorError.message : String(actorError) };

  const finalState = lastSnapshot ? stateString(lastSnapshot.value) : '';
  const status = lastSnapshot ? deriveVmStatus(lastSnapshot) : undefined;
  if (finished && !failure) result = classify(o.operation, finalState, lastSnapshot?.status === 'done');
  if (!failure && !finished) failure = { kind: 'liveness', message: `the ${o.operation} job did not end within ${VM_LIVENESS_BOUND_MS / 60_000} min after the faults healed (state ${finalState || 'none'})` };

  const jobs = (await jobStore.listJobs({ vmId })).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  const worldEnd = describeWorld(world, vmId);
  const conditions = status?.conditions ?? [];
  const chartJobId = current?.jobId ?? '';
  for (const inv of vmInvariants({ result, world: worldEnd, jobs, conditions, status, vmId, jobIds, chartJobId })) kernel.addInvariant(inv);
  const invariants = kernel.invariantResults();
  if (!failure) {
    const broken = invariants.find((r) => !r.held);
    if (broken) failure = { kind: broken.kind === 'always' ? 'safety' : 'liveness', invariant: broken.name, message: broken.message ?? '', ...(broken.atMs !== undefined ? { atMs: broken.atMs } : {}) };
  }
  kernel.emit('vm.run.end', { result, state: finalState, failure: failure?.kind, invariant: failure?.invariant });
  return {
    seed: o.seed,
    profile,
    operation: o.operation,
    vmId,
    result,
    state: finalState,
    ...(status ? { status } : {}),
    conditions,
    jobs,
    world: worldEnd,
    invariants,
    ...(failure ? { failure } : {}),
    crashes,
    transitions: transitionsBefore + (current?.run.transitionCount ?? 0),
    virtualDurationMs: kernel.elapsed(),
    eventCount: kernel.trace.eventCount,
    traceHash: kernel.trace.hash(),
    ...(o.keepTraceLines ? { trace: kernel.trace.text() } : {}),
    replay: vmReplayHint({ seed: o.seed, operation: o.operation, vmId, profile, ...(o.crashAtTransition !== undefined ? { crashAtTransition: o.crashAtTransition } : {}) }),
  };
}

function classify(operation: VmOperationName, state: string, done: boolean): VmRunResultKind {
  const t = top(state);
  if (t === 'volumeOrphaned') return 'volumeOrphaned';
  if (t === 'runningAsTest') return 'testRunning';
  if (t === 'cleanedUp') return 'cleanedUp';
  if (t === 'failedOver') return 'failedOver';
  if (t === 'failedBack') return 'failedBack';
  if (done) return 'failed';
  void operation;
  return 'unfinished';
}

export function describeWorld(world: StandardCloud, vmId: string): VmWorldEnd {
  const cloud = world.cloud;
  const rec = cloud.getSourceVm(vmId);
  const volumeIds = rec?.volumeIds ?? [];
  const volumes: VolumeEnd[] = volumeIds.map((id) => {
    const p = cloud.whereIs(id);
    const v = cloud.volume(id);
    const data = v ? { ...v.data } : undefined;
    if (p.kind === 'appliance') return { volumeId: id, kind: 'appliance', deviceId: p.deviceId, ...(data ? { data } : {}) };
    if (p.kind === 'vm') return { volumeId: id, kind: p.role === 'test' ? 'test' : p.role === 'live' ? 'live' : 'other', vmName: p.vmName, deviceId: p.deviceId, ...(data ? { data } : {}) };
    return { volumeId: id, kind: p.kind, ...(data ? { data } : {}) };
  });
  const vmView = (v: { name: string; state: string; guest: string }) => ({ name: v.name, state: v.state, guest: v.guest });
  return {
    volumes,
    testVms: cloud.testVms().map(vmView),
    liveVms: cloud.liveVms().map(vmView),
    snapshots: volumeIds.flatMap((id) => cloud.snapshotsOf(id).map((s) => ({ id: s.id, name: s.name, volumeId: s.volumeId, state: s.state }))),
    contextStatus: rec?.contextStatus ?? 'unknown',
  };
}

interface EndFacts {
  result: VmRunResultKind;
  world: VmWorldEnd;
  jobs: JobRecord[];
  conditions: VmCondition[];
  status?: VmStatus;
  vmId: string;
  jobIds: string[];
  /** The job of the chart whose status `status` is. */
  chartJobId: string;
}

function named(conditions: VmCondition[], type: string, subject: string): boolean {
  return conditions.some((c) => c.type === type && c.status === 'True' && c.message.includes(subject));
}

/** What must hold at the end of a VM job, given how it ended. */
export function vmInvariants(f: EndFacts): { name: string; kind: 'eventually'; check(): string | undefined }[] {
  const { world, result, conditions } = f;
  return [
    {
      name: 'vm.volume-attached-to-exactly-one',
      kind: 'eventually',
      check: () => {
        const bad = world.volumes.filter((v) => v.kind !== 'appliance' && v.kind !== 'test' && v.kind !== 'live');
        if (bad.length === 0) return undefined;
        const unnamed = bad.filter((v) => !named(conditions, VmConditionType.VolumeOrphaned, v.volumeId) && !named(conditions, VmConditionType.VolumeLocationUnknown, v.volumeId));
        return `volume(s) ${bad.map((v) => `${v.volumeId} (${v.kind}${v.vmName ? ` ${v.vmName}` : ''})`).join(', ')} are not on the appliance, the test VM or the live VM${unnamed.length ? `; ${unnamed.map((v) => v.volumeId).join(', ')} not even named in a condition` : ''}`;
      },
    },
    {
      name: 'vm.outcome-matches-world',
      kind: 'eventually',
      check: () => {
        const where = (kind: VolumeEnd['kind']) => world.volumes.every((v) => v.kind === kind);
        switch (result) {
          case 'testRunning':
            if (!where('test')) return `a test runs but the volumes are at ${world.volumes.map((v) => v.kind).join(', ')}`;
            if (world.testVms.length !== 1 || world.testVms[0].state !== 'Running' || world.testVms[0].guest !== 'booted') return `a test runs but the test VMs are ${JSON.stringify(world.testVms)}`;
            if (world.snapshots.length !== world.volumes.length) return `a test runs with ${world.snapshots.length} snapshot(s) for ${world.volumes.length} volume(s)`;
            if (world.contextStatus !== 'failed_over_test') return `a test runs but the VM context is ${world.contextStatus}`;
            return undefined;
          case 'failedOver':
            if (!where('live')) return `failed over but the volumes are at ${world.volumes.map((v) => v.kind).join(', ')}`;
            if (world.liveVms.length !== 1 || world.liveVms[0].state !== 'Running' || world.liveVms[0].guest !== 'booted') return `failed over but the live VMs are ${JSON.stringify(world.liveVms)}`;
            if (world.contextStatus !== 'failed_over_live') return `failed over but the VM context is ${world.contextStatus}`;
            if (world.snapshots.length > 0 && !conditions.some((c) => c.type === VmConditionType.SnapshotKept)) return `failed over but snapshot(s) ${world.snapshots.map((s) => s.name).join(', ')} were left`;
            return undefined;
          case 'cleanedUp':
          case 'failedBack':
            if (!where('appliance')) return `${result} but the volumes are at ${world.volumes.map((v) => v.kind).join(', ')}`;
            if (world.testVms.length > 0 || (result === 'failedBack' && world.liveVms.length > 0)) return `${result} but VMs remain: ${JSON.stringify([...world.testVms, ...world.liveVms])}`;
            if (world.snapshots.length > 0) return `${result} but snapshot(s) ${world.snapshots.map((s) => s.name).join(', ')} remain`;
            if (world.contextStatus !== 'ready_for_failover') return `${result} but the VM context is ${world.contextStatus}`;
            if (result === 'cleanedUp' && world.volumes.some((v) => v.data?.dirty || v.data?.virtio)) return 'cleaned up but a volume was not reverted to its snapshot (it still has the injected drivers)';
            return undefined;
          case 'failed': {
            const leftVms = [...world.testVms, ...world.liveVms].filter((v) => !named(conditions, VmConditionType.VmKept, v.name));
            if (f.jobs.some((j) => j.type !== 'failback') && leftVms.length > 0 && world.contextStatus === 'ready_for_failover') return `failed, and VM(s) ${leftVms.map((v) => v.name).join(', ')} were left without a VmKept condition`;
            const leaked = world.snapshots.filter((s) => !named(conditions, VmConditionType.SnapshotKept, s.volumeId) && world.contextStatus === 'ready_for_failover');
            if (leaked.length > 0) return `failed, and snapshot(s) ${leaked.map((s) => s.name).join(', ')} were leaked (no SnapshotKept condition)`;
            const dirty = world.volumes.filter((v) => v.kind === 'appliance' && v.data?.dirty && !named(conditions, VmConditionType.SnapshotKept, v.volumeId));
            if (dirty.length > 0) return `failed, and volume(s) ${dirty.map((v) => v.volumeId).join(', ')} are half-written on the appliance without a SnapshotKept condition`;
            return undefined;
          }
          default:
            return undefined;
        }
      },
    },
    {
      name: 'vm.jobs-end-terminal-with-steps',
      kind: 'eventually',
      check: () => {
        if (result === 'unfinished') return undefined;
        const excused = conditions.some((c) => c.type === VmConditionType.JobLogNotUpdated);
        for (const id of f.jobIds) {
          const j = f.jobs.find((x) => x.id === id);
          if (!j) return excused ? undefined : `job ${id} was never recorded`;
          if (j.status !== 'completed' && j.status !== 'failed') return excused ? undefined : `job ${id} ended ${j.status}, not completed or failed`;
          if (j.steps.length === 0) return `job ${id} has no steps recorded`;
          const open = j.steps.filter((s) => s.status === 'running');
          if (open.length > 0) return `job ${id} ended with step(s) still running: ${open.map((s) => s.name).join(', ')}`;
        }
        const cleanupJob = f.jobs.find((j) => j.type === 'cleanup');
        if (result === 'cleanedUp' && cleanupJob?.status !== 'completed' && !excused) return `cleaned up, but the cleanup job is ${cleanupJob?.status ?? 'missing'}`;
        return undefined;
      },
    },
    {
      name: 'vm.status-derived-matches-job-log',
      kind: 'eventually',
      check: () => {
        if (!f.status || result === 'unfinished' || conditions.some((c) => c.type === VmConditionType.JobLogNotUpdated)) return undefined;
        const last = f.jobs.find((j) => j.id === f.chartJobId);
        if (!last) return undefined;
        if (f.status.jobStatus !== last.status) return `derived job status ${f.status.jobStatus} but the job log says ${last.status}`;
        if (last.status !== 'failed' && f.status.progressPercent !== last.progressPercent) return `derived progress ${f.status.progressPercent}% but the job log says ${last.progressPercent}%`;
        return undefined;
      },
    },
  ];
}
