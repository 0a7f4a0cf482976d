// Why: a VM job's status as a view derived from its chart's snapshot (phase, job status, progress, the step in
// progress, readiness and Kubernetes-style conditions), never stored or updated on its own. The CLI, the logs
// and the tests read this; the job log holds the same statuses because the charts' steps write them.
import { VmConditionReason, VmConditionType, withCondition } from './vm.conditions.ts';
import { StepName, vmStepName } from './vm.steps.ts';
import type { CleanupOutput, FailoverKind, JobStatus, VmCondition, VmFailoverContext } from './vm.types.ts';
import type { CleanupContext } from './cleanup.machine.ts';
import type { FailbackMachineContext } from './failback.machine.ts';

/** Progress per job status: the reference's fixed table (restated from drivers/joblog/joblog.port.ts; a test keeps them equal). */
export const VM_JOB_PROGRESS_PERCENT: Readonly<Record<Exclude<JobStatus, 'failed'>, number>> = {
  pending: 0,
  validating: 8,
  executing: 15,
  creating_vm: 25,
  switching_volume: 40,
  snapshotting: 55,
  powering_on: 70,
  cleanup: 85,
  reverting: 95,
  completed: 100,
};

export type VmPhase =
  | 'Pending'
  | 'Validating'
  | 'FailingOver'
  | 'RollingBack'
  | 'TestRunning'
  | 'CleaningUp'
  | 'FailingBack'
  | 'Completed'
  | 'CleanedUp'
  | 'FailedBack'
  | 'Failed'
  | 'VolumeOrphaned';

export interface VmStatus {
  /** Which chart: testFailover, liveFailover, cleanup or failback. */
  chart: string;
  /** The chart's state value, dotted (`switchingVolumes.movingVolume`). */
  state: string;
  phase: VmPhase;
  /** The job's status as the chart has it (the job log says the same once the step's write lands). */
  jobStatus: JobStatus;
  progressPercent: number;
  /** The job-log step in progress, if any. */
  step?: string;
  /** What is happening, as a condition reason (CreatingVm, SwitchingVolumes …). */
  progression: string;
  readiness?: { score: number; ready: boolean };
  conditions: VmCondition[];
  /** For a test failover being cleaned up: the cleanup job's own status. */
  cleanup?: { jobStatus: JobStatus; progressPercent: number; step?: string };
}

/** The parts of an XState snapshot this view reads (kept structural so machines/ stays free of actor types). */
export interface SnapshotLike {
  value: unknown;
  status: string;
  context: unknown;
  machine?: { id: string };
  children?: Record<string, { getSnapshot(): unknown } | undefined>;
}

export function stateString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [k, v] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    if (k === undefined) return '';
    const rest = stateString(v);
    return rest ? `${k}.${rest}` : k;
  }
  return '';
}

function top(state: string): string {
  return state.split('.')[0];
}

interface Row {
  jobStatus: JobStatus;
  step?: string;
  progression: string;
  phase: VmPhase;
}

/** How every job chart ends when no state of its own says more: a volume orphaned (being written, or final), or failed. */
function endRow(state: string): Row {
  const R = VmConditionReason;
  return state === 'orphaning' || state === 'volumeOrphaned'
    ? { jobStatus: 'failed', progression: R.ReattachFailed, phase: 'VolumeOrphaned' }
    : { jobStatus: 'failed', progression: R.StepFailed, phase: 'Failed' };
}

function chainRow(kind: FailoverKind, state: string): Row {
  const R = VmConditionReason;
  switch (top(state)) {
    case 'openingJob':
      return { jobStatus: 'pending', progression: R.Validating, phase: 'Pending' };
    case 'validating':
    case 'checkingReadiness':
      return { jobStatus: 'validating', step: StepName.validation, progression: R.Validating, phase: 'Validating' };
    case 'snapshotting':
      return { jobStatus: 'snapshotting', step: StepName.snapshot, progression: R.Snapshotting, phase: 'FailingOver' };
    case 'injecting':
      return { jobStatus: 'snapshotting', step: StepName.injection, progression: R.InjectingDrivers, phase: 'FailingOver' };
    case 'quiescingInjection':
    case 'revertingForRetry':
      return { jobStatus: 'snapshotting', step: StepName.injectionRevert, progression: R.RevertingForRetry, phase: 'FailingOver' };
    case 'creatingVm':
      return { jobStatus: 'creating_vm', step: vmStepName(kind, 'creation'), progression: R.CreatingVm, phase: 'FailingOver' };
    case 'switchingVolumes':
      return { jobStatus: 'switching_volume', step: StepName.volumeAttachment, progression: R.SwitchingVolumes, phase: 'FailingOver' };
    case 'startingVm':
      return { jobStatus: 'powering_on', step: vmStepName(kind, 'startup'), progression: R.PoweringOn, phase: 'FailingOver' };
    case 'verifyingVm':
      return { jobStatus: 'powering_on', step: vmStepName(kind, 'validation'), progression: R.VerifyingVm, phase: 'FailingOver' };
    case 'markingContext':
      return { jobStatus: 'powering_on', step: StepName.contextUpdate, progression: R.VerifyingVm, phase: 'FailingOver' };
    case 'deletingSnapshots':
      return { jobStatus: 'powering_on', step: StepName.snapshotDeletion, progression: R.Finishing, phase: 'FailingOver' };
    case 'completing':
      return { jobStatus: 'completed', progression: R.Finishing, phase: 'FailingOver' };
    case 'runningAsTest':
      return { jobStatus: 'completed', progression: R.TestVmRunning, phase: 'TestRunning' };
    case 'cleaningUp':
      return { jobStatus: 'completed', progression: R.CleaningUp, phase: 'CleaningUp' };
    case 'rollingBack':
      return { jobStatus: 'cleanup', progression: R.RollingBack, phase: 'RollingBack' };
    case 'failedOver':
      return { jobStatus: 'completed', progression: R.Succeeded, phase: 'Completed' };
    case 'cleanedUp':
      return { jobStatus: 'completed', progression: R.Succeeded, phase: 'CleanedUp' };
    case 'cleanupIncomplete':
      return { jobStatus: 'completed', progression: R.StepFailed, phase: 'Failed' };
    default:
      return endRow(top(state));
  }
}

function cleanupRow(state: string, c: CleanupContext): Row {
  const R = VmConditionReason;
  const prefix = c.mode === 'rollback' ? 'rollback-' : '';
  const role = c.vmRole;
  const phase: VmPhase = c.mode === 'rollback' ? 'RollingBack' : 'CleaningUp';
  switch (top(state)) {
    case 'starting':
    case 'openingJob':
      return { jobStatus: 'pending', progression: R.CleaningUp, phase };
    case 'stoppingVm':
      return { jobStatus: 'cleanup', step: `${prefix}${role}-vm-shutdown`, progression: R.CleaningUp, phase };
    case 'releasingVolume':
    case 'nextVolume':
      return { jobStatus: 'cleanup', step: `${prefix}volume-detach`, progression: R.CleaningUp, phase };
    case 'revertingSnapshot':
      return { jobStatus: 'reverting', step: `${prefix}snapshot-revert`, progression: R.CleaningUp, phase };
    case 'reattaching':
      return { jobStatus: 'reverting', step: `${prefix}volume-reattach`, progression: R.CleaningUp, phase };
    case 'removingVm':
      return { jobStatus: 'reverting', step: `${prefix}${role}-vm-removal`, progression: R.CleaningUp, phase };
    case 'deletingSnapshots':
      return { jobStatus: 'reverting', step: `${prefix}snapshot-deletion`, progression: R.CleaningUp, phase };
    case 'updatingContext':
      return { jobStatus: 'reverting', step: `${prefix}${StepName.contextUpdate}`, progression: R.Finishing, phase };
    case 'finishingJob':
    case 'ending':
      return { jobStatus: 'reverting', progression: R.Finishing, phase };
    case 'cleanedUp':
      return { jobStatus: 'completed', progression: R.Succeeded, phase: 'CleanedUp' };
    default:
      return endRow(top(state));
  }
}

function failbackRow(state: string, c: FailbackMachineContext): Row {
  const R = VmConditionReason;
  switch (top(state)) {
    case 'openingJob':
      return { jobStatus: 'pending', progression: R.Validating, phase: 'Pending' };
    case 'validating':
    case 'checkingReadiness':
      return { jobStatus: 'validating', step: StepName.failbackValidation, progression: R.Validating, phase: 'Validating' };
    case 'stoppingVm':
      return { jobStatus: 'executing', step: vmStepName('live', 'shutdown'), progression: R.FailingBack, phase: 'FailingBack' };
    case 'movingVolume':
    case 'nextVolume':
      return { jobStatus: 'switching_volume', step: StepName.volumeReattach, progression: R.FailingBack, phase: 'FailingBack' };
    case 'removingVm':
      return { jobStatus: 'cleanup', step: vmStepName('live', 'removal'), progression: R.FailingBack, phase: 'FailingBack' };
    case 'updatingContext':
      return { jobStatus: 'cleanup', step: StepName.contextUpdate, progression: R.Finishing, phase: 'FailingBack' };
    case 'completing':
      return { jobStatus: 'completed', progression: R.Finishing, phase: 'FailingBack' };
    case 'restoringLiveVm':
      return { jobStatus: c.moved.length > 0 ? 'switching_volume' : 'executing', step: vmStepName('live', 'restart'), progression: R.RollingBack, phase: 'RollingBack' };
    case 'failedBack':
      return { jobStatus: 'completed', progression: R.Succeeded, phase: 'FailedBack' };
    default:
      return endRow(top(state));
  }
}

/** A failed job keeps the progress it had reached (the job log's rule); this is where each chart had got to. */
function failedProgress(chart: string, context: unknown): number {
  const P = VM_JOB_PROGRESS_PERCENT;
  if (chart === 'cleanup') {
    const c = context as CleanupContext;
    return c.volumes.some((v) => v.reverted !== undefined) || c.vmRemoved ? P.reverting : c.volumes.some((v) => v.where !== 'unknown') ? P.cleanup : P.pending;
  }
  if (chart === 'failback') {
    const c = context as FailbackMachineContext;
    return c.moved.length > 0 ? P.switching_volume : c.report?.ready ? P.executing : c.report ? P.validating : P.pending;
  }
  const c = context as VmFailoverContext;
  return c.rollback ? P.reverting : c.report ? P.validating : P.pending;
}

function statusOfCleanupChild(snapshot: SnapshotLike | undefined): VmStatus['cleanup'] | undefined {
  if (!snapshot) return undefined;
  const c = snapshot.context as CleanupContext;
  const row = cleanupRow(stateString(snapshot.value), c);
  const progressPercent = row.jobStatus === 'failed' ? failedProgress('cleanup', c) : VM_JOB_PROGRESS_PERCENT[row.jobStatus];
  return { jobStatus: row.jobStatus, progressPercent, ...(row.step ? { step: row.step } : {}) };
}

function childSnapshot(s: SnapshotLike, id: string): SnapshotLike | undefined {
  const child = s.children?.[id];
  return child ? (child.getSnapshot() as SnapshotLike) : undefined;
}

function inProgress(phase: VmPhase, progression: string, message: string): VmCondition {
  const done = phase === 'Completed' || phase === 'CleanedUp' || phase === 'FailedBack' || phase === 'Failed' || phase === 'VolumeOrphaned' || phase === 'TestRunning';
  return { type: VmConditionType.InProgress, status: done ? 'False' : 'True', reason: progression, message };
}

/** The status of a VM job's chart (test failover, live failover, cleanup or failback), from its snapshot alone. */
export function deriveVmStatus(snapshot: SnapshotLike): VmStatus {
  const chart = snapshot.machine?.id ?? 'unknown';
  const state = stateString(snapshot.value);
  let row: Row;
  let conditions: VmCondition[];
  let readiness: VmStatus['readiness'];
  let cleanup: VmStatus['cleanup'];
  if (chart === 'cleanup') {
    const c = snapshot.context as CleanupContext;
    row = cleanupRow(state, c);
    conditions = c.conditions;
  } else if (chart === 'failback') {
    const c = snapshot.context as FailbackMachineContext;
    row = failbackRow(state, c);
    conditions = c.conditions;
    if (c.report) readiness = { score: c.report.score, ready: c.report.ready };
  } else {
    const c = snapshot.context as VmFailoverContext;
    row = chainRow(c.kind, state);
    conditions = c.conditions;
    if (c.report) readiness = { score: c.report.score, ready: c.report.ready };
    if (top(state) === 'rollingBack') {
      const child = statusOfCleanupChild(childSnapshot(snapshot, 'rollback'));
      if (child) row = { ...row, jobStatus: child.jobStatus === 'pending' ? 'cleanup' : child.jobStatus, step: child.step };
    }
    if (top(state) === 'cleaningUp') cleanup = statusOfCleanupChild(childSnapshot(snapshot, 'cleanup'));
    else if (c.cleanup) cleanup = { jobStatus: c.cleanup.clean ? 'completed' : 'failed', progressPercent: c.cleanup.clean ? 100 : failedProgressOfOutput(c.cleanup) };
    if (top(state) === 'runningAsTest') {
      conditions = withCondition(
        conditions,
        {
          type: VmConditionType.TestRunning,
          status: 'True',
          reason: VmConditionReason.TestVmRunning,
          message: `test VM ${c.targetVm?.name ?? '?'} (${c.targetVm?.vmId ?? '?'}) runs${c.autoCleanupAtMs !== undefined ? `; it is cleaned up automatically at ${c.autoCleanupAtMs} (epoch ms)` : '; end it with failoverctl vm cleanup'}`,
        },
      );
    }
  }
  const progressPercent = row.jobStatus === 'failed' ? failedProgress(chart, snapshot.context) : VM_JOB_PROGRESS_PERCENT[row.jobStatus];
  const ready = readiness
    ? [{ type: VmConditionType.Ready, status: readiness.ready ? ('True' as const) : ('False' as const), reason: readiness.ready ? VmConditionReason.Succeeded : VmConditionReason.NotReady, message: `readiness score ${readiness.score}` }]
    : [];
  const completed =
    row.phase === 'Completed' || row.phase === 'CleanedUp' || row.phase === 'FailedBack' || row.phase === 'TestRunning'
      ? [{ type: VmConditionType.Completed, status: 'True' as const, reason: VmConditionReason.Succeeded, message: `${chart} completed` }]
      : [];
  const all = [inProgress(row.phase, row.progression, `${chart} is ${state}`), ...ready, ...completed, ...conditions.filter((c) => c.type !== VmConditionType.Ready)];
  return {
    chart,
    state,
    phase: row.phase,
    jobStatus: row.jobStatus,
    progressPercent,
    ...(row.step ? { step: row.step } : {}),
    progression: row.progression,
    ...(readiness ? { readiness } : {}),
    conditions: all,
    ...(cleanup ? { cleanup } : {}),
  };
}

function failedProgressOfOutput(o: CleanupOutput): number {
  return o.reverted || o.vmRemoved ? VM_JOB_PROGRESS_PERCENT.reverting : VM_JOB_PROGRESS_PERCENT.cleanup;
}
