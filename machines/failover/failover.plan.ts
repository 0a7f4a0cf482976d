// Why: the stages and tasks of each side of a failover as plain data (which actor each task invokes, what its
// failure policy is, where each outcome of a wait leads), so the chart (failover.machine.ts) is generated from one
// readable table and status (failover.status.ts) can order progression by it. The reference runs "source 1–3,
// target 4–5"; here each operator's actor is one branch of the same chart.
import type { FailoverMode } from './failover.types.ts';

export const CONSISTENCY_STAGES = [
  'Initialization',
  'SourceClusterShutdown',
  'VolumeTransitionSource',
  'VolumeTransitionTarget',
  'TargetClusterActivation',
  'Completion',
  'Rollback',
] as const;
export const UPTIME_STAGES = ['Initialization', 'TargetClusterPreparation', 'TrafficTransition', 'SourceClusterDeactivation', 'Completion', 'Rollback'] as const;
export type StageName = (typeof CONSISTENCY_STAGES)[number] | (typeof UPTIME_STAGES)[number];

export function stagesOf(mode: FailoverMode): readonly StageName[] {
  return mode === 'CONSISTENCY' ? CONSISTENCY_STAGES : UPTIME_STAGES;
}

/** 1-based, as the reference numbers stages. */
export function stageIndexOf(mode: FailoverMode, stage: StageName): number {
  const i = stagesOf(mode).indexOf(stage);
  if (i < 0) throw new Error(`stage ${stage} is not a ${mode} stage`);
  return i + 1;
}

/** Task names as the reference writes them in status.state (`TASK_<TaskName>`). */
export type TaskName =
  | 'ValidateFailover'
  | 'AcquireLock'
  | 'UpdateNetworkResources'
  | 'DisableFluxReconciliation'
  | 'SuspendCronJobs'
  | 'ScaleDownWorkloads'
  | 'WaitForWorkloadsScaledDown'
  | 'DemoteVolumes'
  | 'WaitForVolumesDemoted'
  | 'MarkVolumesReadyForPromotion'
  | 'WaitForVolumesReadyForPromotion'
  | 'PromoteVolumes'
  | 'WaitForVolumesPromoted'
  | 'VerifyDataAvailability'
  | 'ScaleUpWorkloads'
  | 'ResumeCronJobs'
  | 'TriggerFluxReconciliation'
  | 'WaitForTargetReady'
  | 'UpdateGlobalState'
  | 'RecordFailoverHistory'
  | 'ReleaseLock'
  | 'WaitForFailoverCompletion'
  | 'MarkTargetReadyForTraffic'
  | 'WaitForTargetReadyForTraffic'
  | 'MarkTrafficTransitionComplete'
  | 'WaitForTrafficTransitionComplete'
  | 'FenceSourceCluster'
  | 'TransferOwnership'
  | 'UnfenceSourceCluster'
  | 'RestoreSourceVolumes'
  | 'WaitForSourceVolumesPromoted'
  | 'RestoreWorkloads'
  | 'ResumeFluxReconciliation'
  | 'RestoreNetworkResources'
  | 'MarkFailoverFailed'
  | 'StopTargetWorkloads'
  | 'DemoteTargetVolumes'
  | 'WaitForTargetVolumesDemoted';

/** The named actors of the failover chart (implemented in src/wire/cluster-failover.ts). */
export type FailoverActorName =
  | 'validateFailover'
  | 'acquireLock'
  | 'joinLease'
  | 'renewLease'
  | 'regainLease'
  | 'waitUntil'
  | 'probeReachability'
  | 'disableNetwork'
  | 'enableNetwork'
  | 'disableFlux'
  | 'resumeFlux'
  | 'suspendCronJobs'
  | 'resumeCronJobs'
  | 'scaleDownWorkloads'
  | 'waitForWorkloadsScaledDown'
  | 'scaleUpWorkloads'
  | 'waitForWorkloadsReady'
  | 'demoteVolumes'
  | 'waitForVolumesDemoted'
  | 'promoteVolumes'
  | 'waitForVolumesPromoted'
  | 'verifyDataAvailability'
  | 'setVolumeState'
  | 'waitForPeer'
  | 'transferOwnership'
  | 'recordHistory'
  | 'releaseLock'
  | 'fenceSource'
  | 'unfenceSource';

/**
 * What the failure of a task leads to once its retries are spent (or at once for a non-retryable error):
 * - rollback: the task is before the point of no return: undo and give the group back to the source;
 * - forward: only forward is safe: probe both clusters, then retry in a new round, or wait for a person when both
 *   clusters are unreachable (ManualIntervention, resumed by itself when one is reachable again);
 * - abort: nothing was changed yet (or only this side's bookkeeping): record history FAILED and stop.
 */
export type FailurePolicy = 'rollback' | 'forward' | 'abort';

/** What a wait on the peer (through global state) or a lease join observed. */
export type PeerObservation =
  | 'JOINED'
  | 'READY_FOR_PROMOTION'
  | 'PROMOTED'
  | 'COMPLETED'
  | 'FAILED'
  | 'OWNED'
  | 'ENDED_SUCCESS'
  | 'ENDED_FAILED'
  | 'ENDED_ROLLED_BACK';

/** Where an outcome leads: the next task, a final state, the rollback stage or the abort path. */
export type Goto = 'next' | 'completed' | 'rolledBack' | 'failed' | 'rollback' | 'abort';

/** Side effects a task's success records in context (metrics, proof, the point of no return). */
export type TaskMark = 'proof' | 'version' | 'pointOfNoReturn' | 'downtimeStart' | 'downtimeEnd' | 'peerMetrics' | 'history';

export type WindowTag = 'dualPrimaryWindow' | 'sourceFenced';

export interface TaskPlan {
  /** The state key (camelCase, -ing for work in progress). */
  key: string;
  task: TaskName;
  src: FailoverActorName;
  policy: FailurePolicy;
  /** Static input merged into the step's input (what to set, to which state). */
  params?: Record<string, string | number | boolean | string[]>;
  marks?: TaskMark[];
  tags?: WindowTag[];
  /** For waits on the peer: where each observation leads (unlisted observations fail the failover). */
  outcomes?: Partial<Record<PeerObservation, Goto>>;
}

export interface StagePlan {
  key: string;
  stage: StageName;
  tasks: TaskPlan[];
}

export type BranchKey = 'consistencySource' | 'consistencyTarget' | 'uptimeSource' | 'uptimeTarget' | 'unplannedTarget' | 'unplannedSource';

export interface BranchPlan {
  key: BranchKey;
  /** The stage names used for progression (an unplanned failover follows the CONSISTENCY stages). */
  mode: FailoverMode;
  /** Runs before the lease is held (validation, lock). Empty for a side that only observes. */
  init: StagePlan[];
  /** Runs while the lease is held (renewed) and the transitory deadline is armed. */
  work: StagePlan[];
  /** The undo path (tasks are retried forward: a rollback never turns back). */
  rollback: StagePlan;
  /** The path when nothing was changed: history FAILED (and release the lock this side took). */
  abort: StagePlan;
  /** False for a side that only observes (it never holds the lease). */
  holdsLease: boolean;
}

const t = (key: string, task: TaskName, src: FailoverActorName, policy: FailurePolicy, extra: Partial<TaskPlan> = {}): TaskPlan => ({
  key,
  task,
  src,
  policy,
  ...extra,
});

const ENDINGS_WHILE_WAITING_FOR_SOURCE: Partial<Record<PeerObservation, Goto>> = {
  FAILED: 'rolledBack',
  ENDED_FAILED: 'failed',
  ENDED_ROLLED_BACK: 'rolledBack',
  ENDED_SUCCESS: 'completed',
};

const validate = t('validating', 'ValidateFailover', 'validateFailover', 'abort', { marks: ['version'] });
const acquire = (rememberReplicas: boolean) =>
  t('acquiringLock', 'AcquireLock', 'acquireLock', 'abort', { marks: ['proof'], params: { rememberReplicas } });
const join = t('joiningLease', 'AcquireLock', 'joinLease', 'abort', {
  marks: ['proof', 'version'],
  outcomes: { JOINED: 'next', ...ENDINGS_WHILE_WAITING_FOR_SOURCE },
});

/** The window tags of a run of tasks (a fresh array per task; nothing when the run is outside any window). */
const inWindow = (tags: WindowTag[] | undefined): Partial<TaskPlan> => (tags ? { tags: [...tags] } : {});

/** Ends a failover on this side: history first (whoever finds the lock free afterwards also finds that it ended), then the lock. */
const recordAndRelease = (policy: FailurePolicy, status: 'SUCCESS' | 'FAILED' | 'ROLLED_BACK', tags?: WindowTag[]): TaskPlan[] => [
  t('recordingHistory', 'RecordFailoverHistory', 'recordHistory', policy, { params: { status }, marks: ['history'], ...inWindow(tags) }),
  t('releasingLock', 'ReleaseLock', 'releaseLock', policy, inWindow(tags)),
];

const markFailed = () => t('markingFailed', 'MarkFailoverFailed', 'setVolumeState', 'forward', { params: { state: 'FAILED' } });

/** The source's shutdown: traffic off (the downtime starts), Flux and CronJobs held, workloads scaled to zero. */
const shutDownSource = (policy: FailurePolicy, networkMarks: TaskMark[], tags?: WindowTag[]): TaskPlan[] => [
  t('disablingNetwork', 'UpdateNetworkResources', 'disableNetwork', policy, { marks: networkMarks, ...inWindow(tags) }),
  t('disablingFlux', 'DisableFluxReconciliation', 'disableFlux', policy, inWindow(tags)),
  t('suspendingCronJobs', 'SuspendCronJobs', 'suspendCronJobs', policy, inWindow(tags)),
  t('scalingDown', 'ScaleDownWorkloads', 'scaleDownWorkloads', policy, inWindow(tags)),
  t('waitingForScaleDown', 'WaitForWorkloadsScaledDown', 'waitForWorkloadsScaledDown', policy, inWindow(tags)),
];

/** The target takes the data: promote its volumes (forced when the source may still be primary), wait, verify. */
const promoteAndVerify = (policy: FailurePolicy, force: boolean, tags?: WindowTag[]): TaskPlan[] => [
  t('promotingVolumes', 'PromoteVolumes', 'promoteVolumes', policy, { params: { force }, ...inWindow(tags) }),
  t('waitingForPromotion', 'WaitForVolumesPromoted', 'waitForVolumesPromoted', policy, { params: { force }, ...inWindow(tags) }),
  t('verifyingData', 'VerifyDataAvailability', 'verifyDataAvailability', policy, inWindow(tags)),
];

/** The target's activation once it holds the data: workloads up, CronJobs and Flux back, ready, traffic on. */
const activateTarget = (scaleUpMarks: TaskMark[] | undefined, tags?: WindowTag[]): TaskPlan[] => [
  t('scalingUp', 'ScaleUpWorkloads', 'scaleUpWorkloads', 'forward', { params: { waitReady: false }, ...(scaleUpMarks ? { marks: scaleUpMarks } : {}), ...inWindow(tags) }),
  t('resumingCronJobs', 'ResumeCronJobs', 'resumeCronJobs', 'forward', inWindow(tags)),
  t('triggeringFlux', 'TriggerFluxReconciliation', 'resumeFlux', 'forward', inWindow(tags)),
  t('waitingForTargetReady', 'WaitForTargetReady', 'waitForWorkloadsReady', 'forward', inWindow(tags)),
  t('enablingNetwork', 'UpdateNetworkResources', 'enableNetwork', 'forward', { marks: ['downtimeEnd'], ...inWindow(tags) }),
];

/** A target's rollback ends the same way: its volumes Secondary again, the failover marked FAILED, the lock released if the source already ended. */
const demoteTargetAndRelease = (tags?: WindowTag[]): TaskPlan[] => [
  t('demotingVolumes', 'DemoteTargetVolumes', 'demoteVolumes', 'forward', inWindow(tags)),
  t('waitingForDemotion', 'WaitForTargetVolumesDemoted', 'waitForVolumesDemoted', 'forward', inWindow(tags)),
  markFailed(),
  // Released only when the source has already ended the failover (it aborted): otherwise the source rolls back under it.
  t('releasingLock', 'ReleaseLock', 'releaseLock', 'forward', { params: { onlyIfEnded: true } }),
];

const abortTaker: StagePlan = {
  key: 'aborting',
  stage: 'Completion',
  tasks: recordAndRelease('abort', 'FAILED'),
};
const abortJoiner: StagePlan = {
  key: 'aborting',
  stage: 'Completion',
  tasks: [t('recordingHistory', 'RecordFailoverHistory', 'recordHistory', 'abort', { params: { status: 'FAILED' }, marks: ['history'] })],
};

/** CONSISTENCY, source side: stages 1–3, then it waits for the target's outcome (and rolls back on FAILED). */
const consistencySource: BranchPlan = {
  key: 'consistencySource',
  mode: 'CONSISTENCY',
  holdsLease: true,
  init: [{ key: 'initialization', stage: 'Initialization', tasks: [validate, acquire(false)] }],
  work: [
    {
      key: 'sourceClusterShutdown',
      stage: 'SourceClusterShutdown',
      tasks: shutDownSource('rollback', ['downtimeStart']),
    },
    {
      key: 'volumeTransitionSource',
      stage: 'VolumeTransitionSource',
      tasks: [
        t('demotingVolumes', 'DemoteVolumes', 'demoteVolumes', 'rollback'),
        t('waitingForDemotion', 'WaitForVolumesDemoted', 'waitForVolumesDemoted', 'rollback', { marks: ['pointOfNoReturn'] }),
        t('markingReadyForPromotion', 'MarkVolumesReadyForPromotion', 'setVolumeState', 'forward', { params: { state: 'READY_FOR_PROMOTION' } }),
      ],
    },
    {
      key: 'completion',
      stage: 'Completion',
      tasks: [
        t('waitingForCompletion', 'WaitForFailoverCompletion', 'waitForPeer', 'forward', {
          params: { awaiting: ['COMPLETED'], untilRecorded: true },
          marks: ['peerMetrics', 'history'],
          outcomes: { COMPLETED: 'completed', ENDED_SUCCESS: 'completed', FAILED: 'rollback', ENDED_FAILED: 'rollback', ENDED_ROLLED_BACK: 'rollback' },
        }),
      ],
    },
  ],
  rollback: {
    key: 'rollingBack',
    stage: 'Rollback',
    tasks: [
      t('restoringVolumes', 'RestoreSourceVolumes', 'promoteVolumes', 'forward', { params: { force: false } }),
      t('waitingForVolumesRestored', 'WaitForSourceVolumesPromoted', 'waitForVolumesPromoted', 'forward', { params: { force: false } }),
      t('restoringWorkloads', 'RestoreWorkloads', 'scaleUpWorkloads', 'forward', { params: { waitReady: true } }),
      t('resumingCronJobs', 'ResumeCronJobs', 'resumeCronJobs', 'forward'),
      t('resumingFlux', 'ResumeFluxReconciliation', 'resumeFlux', 'forward'),
      t('restoringNetwork', 'RestoreNetworkResources', 'enableNetwork', 'forward', { marks: ['downtimeEnd'] }),
      markFailed(),
      ...recordAndRelease('forward', 'ROLLED_BACK'),
    ],
  },
  abort: abortTaker,
};

/** CONSISTENCY, target side: joins the lease, waits for the hand-off, then stages 4–6. */
const consistencyTarget: BranchPlan = {
  key: 'consistencyTarget',
  mode: 'CONSISTENCY',
  holdsLease: true,
  init: [{ key: 'initialization', stage: 'Initialization', tasks: [validate, join] }],
  work: [
    {
      key: 'volumeTransitionTarget',
      stage: 'VolumeTransitionTarget',
      tasks: [
        t('waitingForReadyForPromotion', 'WaitForVolumesReadyForPromotion', 'waitForPeer', 'abort', {
          params: { awaiting: ['READY_FOR_PROMOTION', 'PROMOTED', 'COMPLETED'] },
          marks: ['peerMetrics', 'history'],
          outcomes: { READY_FOR_PROMOTION: 'next', PROMOTED: 'next', COMPLETED: 'next', ...ENDINGS_WHILE_WAITING_FOR_SOURCE },
        }),
        ...promoteAndVerify('rollback', false),
      ],
    },
    {
      key: 'targetClusterActivation',
      stage: 'TargetClusterActivation',
      tasks: activateTarget(['pointOfNoReturn']),
    },
    {
      key: 'completion',
      stage: 'Completion',
      tasks: [
        t('updatingGlobalState', 'UpdateGlobalState', 'transferOwnership', 'forward', { params: { withProof: true, markCompleted: true } }),
        ...recordAndRelease('forward', 'SUCCESS'),
      ],
    },
  ],
  rollback: {
    key: 'rollingBack',
    stage: 'Rollback',
    tasks: demoteTargetAndRelease(),
  },
  abort: abortJoiner,
};

/** UPTIME, source side: validates and locks, then waits for the traffic switch, deactivates and completes. */
const uptimeSource: BranchPlan = {
  key: 'uptimeSource',
  mode: 'UPTIME',
  holdsLease: true,
  init: [{ key: 'initialization', stage: 'Initialization', tasks: [validate, acquire(true)] }],
  work: [
    {
      key: 'sourceClusterDeactivation',
      stage: 'SourceClusterDeactivation',
      tasks: [
        t('waitingForTrafficSwitch', 'WaitForTrafficTransitionComplete', 'waitForPeer', 'forward', {
          params: { awaiting: ['COMPLETED'] },
          marks: ['peerMetrics', 'history'],
          tags: ['dualPrimaryWindow'],
          outcomes: { COMPLETED: 'next', FAILED: 'rollback', ENDED_FAILED: 'rollback', ENDED_ROLLED_BACK: 'rollback', ENDED_SUCCESS: 'completed' },
        }),
        ...shutDownSource('forward', ['downtimeStart', 'pointOfNoReturn'], ['dualPrimaryWindow']),
        t('demotingVolumes', 'DemoteVolumes', 'demoteVolumes', 'forward', { tags: ['dualPrimaryWindow'] }),
        t('waitingForDemotion', 'WaitForVolumesDemoted', 'waitForVolumesDemoted', 'forward', { tags: ['dualPrimaryWindow'] }),
      ],
    },
    {
      key: 'completion',
      stage: 'Completion',
      tasks: [
        t('updatingGlobalState', 'UpdateGlobalState', 'transferOwnership', 'forward', { params: { withProof: true, markCompleted: false } }),
        ...recordAndRelease('forward', 'SUCCESS'),
      ],
    },
  ],
  rollback: {
    key: 'rollingBack',
    stage: 'Rollback',
    tasks: recordAndRelease('forward', 'ROLLED_BACK'),
  },
  abort: abortTaker,
};

/** UPTIME, target side: joins the lease, prepares (force-promotes: dual-primary window), takes traffic, waits for the source. */
const uptimeTarget: BranchPlan = {
  key: 'uptimeTarget',
  mode: 'UPTIME',
  holdsLease: true,
  init: [{ key: 'initialization', stage: 'Initialization', tasks: [validate, join] }],
  work: [
    {
      key: 'targetClusterPreparation',
      stage: 'TargetClusterPreparation',
      tasks: [
        ...promoteAndVerify('rollback', true, ['dualPrimaryWindow']),
        t('scalingUp', 'ScaleUpWorkloads', 'scaleUpWorkloads', 'rollback', { params: { waitReady: false }, tags: ['dualPrimaryWindow'] }),
        t('triggeringFlux', 'TriggerFluxReconciliation', 'resumeFlux', 'rollback', { tags: ['dualPrimaryWindow'] }),
        t('waitingForTargetReady', 'WaitForTargetReady', 'waitForWorkloadsReady', 'rollback', { tags: ['dualPrimaryWindow'] }),
        t('markingReadyForTraffic', 'MarkTargetReadyForTraffic', 'setVolumeState', 'rollback', { params: { state: 'PROMOTED' }, tags: ['dualPrimaryWindow'] }),
      ],
    },
    {
      key: 'trafficTransition',
      stage: 'TrafficTransition',
      tasks: [
        t('waitingForReadyForTraffic', 'WaitForTargetReadyForTraffic', 'waitForPeer', 'rollback', {
          params: { awaiting: ['PROMOTED', 'COMPLETED'] },
          tags: ['dualPrimaryWindow'],
          outcomes: { PROMOTED: 'next', COMPLETED: 'next', FAILED: 'rollback', ENDED_FAILED: 'rollback', ENDED_ROLLED_BACK: 'rollback' },
        }),
        t('enablingNetwork', 'UpdateNetworkResources', 'enableNetwork', 'rollback', { marks: ['downtimeEnd', 'pointOfNoReturn'], tags: ['dualPrimaryWindow'] }),
        t('markingTrafficSwitched', 'MarkTrafficTransitionComplete', 'setVolumeState', 'forward', { params: { state: 'COMPLETED' }, tags: ['dualPrimaryWindow'] }),
      ],
    },
    {
      key: 'completion',
      stage: 'Completion',
      tasks: [
        t('waitingForCompletion', 'WaitForFailoverCompletion', 'waitForPeer', 'forward', {
          params: { awaiting: ['OWNED'], untilRecorded: true },
          marks: ['history'],
          // The window stays declared until ownership moves, which the source does only after it is demoted: the
          // source may still be anywhere before its deactivation (even finishing its lock) while this side waits.
          tags: ['dualPrimaryWindow'],
          // The source gave up after this side took traffic (it never deactivated): hand the group back to it.
          outcomes: { OWNED: 'next', ENDED_SUCCESS: 'next', FAILED: 'rollback', ENDED_FAILED: 'rollback', ENDED_ROLLED_BACK: 'rollback' },
        }),
        t('resumingCronJobs', 'ResumeCronJobs', 'resumeCronJobs', 'forward'),
      ],
    },
  ],
  rollback: {
    key: 'rollingBack',
    stage: 'Rollback',
    tasks: [
      // The target's volumes were promoted (force-promote) next to the source's: the window stays declared through
      // every rollback task until they are Secondary again (found by the swarm: seed 1515733581, generated-40).
      t('disablingNetwork', 'UpdateNetworkResources', 'disableNetwork', 'forward', { tags: ['dualPrimaryWindow'] }),
      t('stoppingWorkloads', 'StopTargetWorkloads', 'scaleDownWorkloads', 'forward', { params: { remember: false }, tags: ['dualPrimaryWindow'] }),
      t('waitingForScaleDown', 'WaitForWorkloadsScaledDown', 'waitForWorkloadsScaledDown', 'forward', { tags: ['dualPrimaryWindow'] }),
      ...demoteTargetAndRelease(['dualPrimaryWindow']),
    ],
  },
  abort: abortJoiner,
};

/**
 * Unplanned (the source is unreachable), target side, either mode: lock, fence the source (NetworkFence), move
 * ownership by compare-and-set without the source, force-promote, activate, complete. Follows the CONSISTENCY
 * stages: with no cooperating source, UPTIME's traffic overlap does not exist.
 */
const unplannedTarget: BranchPlan = {
  key: 'unplannedTarget',
  mode: 'CONSISTENCY',
  holdsLease: true,
  init: [{ key: 'initialization', stage: 'Initialization', tasks: [validate, acquire(false)] }],
  work: [
    {
      key: 'sourceClusterShutdown',
      stage: 'SourceClusterShutdown',
      tasks: [t('fencingSource', 'FenceSourceCluster', 'fenceSource', 'rollback', { marks: ['downtimeStart'] })],
    },
    {
      key: 'volumeTransitionSource',
      stage: 'VolumeTransitionSource',
      tasks: [
        t('transferringOwnership', 'TransferOwnership', 'transferOwnership', 'rollback', {
          params: { withProof: false, markCompleted: false },
          marks: ['pointOfNoReturn'],
          tags: ['sourceFenced'],
        }),
        // The unguarded transfer revoked every lease, this failover's too: the lock is taken again (a fresh fencing
        // token) in a task of its own, past the point of no return, so that its failure never rolls back a transfer
        // that applied.
        t('retakingLock', 'AcquireLock', 'acquireLock', 'forward', { marks: ['proof'], tags: ['sourceFenced'] }),
      ],
    },
    {
      key: 'volumeTransitionTarget',
      stage: 'VolumeTransitionTarget',
      tasks: promoteAndVerify('forward', true, ['sourceFenced']),
    },
    {
      key: 'targetClusterActivation',
      stage: 'TargetClusterActivation',
      tasks: activateTarget(undefined, ['sourceFenced']),
    },
    {
      key: 'completion',
      stage: 'Completion',
      tasks: [
        t('updatingGlobalState', 'UpdateGlobalState', 'setVolumeState', 'forward', { params: { state: 'COMPLETED' }, tags: ['sourceFenced'] }),
        ...recordAndRelease('forward', 'SUCCESS', ['sourceFenced']),
      ],
    },
  ],
  rollback: {
    key: 'rollingBack',
    stage: 'Rollback',
    tasks: [
      t('unfencingSource', 'UnfenceSourceCluster', 'unfenceSource', 'forward'),
      markFailed(),
      ...recordAndRelease('forward', 'ROLLED_BACK'),
    ],
  },
  abort: abortTaker,
};

/**
 * Unplanned, source side: the old source's operator, if it runs at all, only observes the outcome. Demoting
 * its volumes and keeping its workloads down is the rejoin chart's job (rejoin.machine.ts).
 */
const unplannedSource: BranchPlan = {
  key: 'unplannedSource',
  mode: 'CONSISTENCY',
  holdsLease: false,
  init: [],
  work: [
    {
      key: 'completion',
      stage: 'Completion',
      tasks: [
        t('waitingForCompletion', 'WaitForFailoverCompletion', 'waitForPeer', 'forward', {
          // endsWhenSuperseded: a newer failover that moved the group ends this wait as FAILED (recorded so, if its
          // superseded target has not).
          params: { awaiting: ['OWNED', 'COMPLETED'], untilRecorded: true, endsWhenSuperseded: true },
          marks: ['peerMetrics', 'history'],
          outcomes: { OWNED: 'completed', COMPLETED: 'completed', ENDED_SUCCESS: 'completed', FAILED: 'failed', ENDED_FAILED: 'failed', ENDED_ROLLED_BACK: 'rolledBack' },
        }),
      ],
    },
  ],
  rollback: { key: 'rollingBack', stage: 'Rollback', tasks: [] },
  abort: { key: 'aborting', stage: 'Completion', tasks: [] },
};

export const BRANCHES: readonly BranchPlan[] = [consistencySource, consistencyTarget, uptimeSource, uptimeTarget, unplannedTarget, unplannedSource];

export function branchFor(input: { mode: FailoverMode; type: 'planned' | 'unplanned'; role: 'source' | 'target' }): BranchPlan {
  const key: BranchKey =
    input.type === 'unplanned'
      ? input.role === 'target'
        ? 'unplannedTarget'
        : 'unplannedSource'
      : input.mode === 'CONSISTENCY'
        ? input.role === 'source'
          ? 'consistencySource'
          : 'consistencyTarget'
        : input.role === 'source'
          ? 'uptimeSource'
          : 'uptimeTarget';
  return BRANCHES.find((b) => b.key === key)!;
}

/** A task's place in a branch: its stage and a total order (stage first, then task) that progression follows. */
export interface TaskPlace {
  branch: BranchKey;
  /** The state path inside the branch (e.g. `holding.work.sourceClusterShutdown.disablingNetwork`, `initialization.validating`). */
  path: string;
  stage: StageName;
  stageIndex: number;
  task: TaskName;
  /** stageIndex * 100 + the task's index in its stage (abort tasks + 50): strictly increasing along every path. */
  order: number;
  plan: TaskPlan;
  group: 'init' | 'work' | 'rollback' | 'abort';
}

export function placesOf(branch: BranchPlan): TaskPlace[] {
  const out: TaskPlace[] = [];
  const add = (stage: StagePlan, pathPrefix: string, group: TaskPlace['group'], offset: number) => {
    const stageIndex = stageIndexOf(branch.mode, stage.stage);
    stage.tasks.forEach((plan, i) => {
      out.push({
        branch: branch.key,
        path: `${pathPrefix ? `${pathPrefix}.` : ''}${stage.key}.${plan.key}`,
        stage: stage.stage,
        stageIndex,
        task: plan.task,
        order: stageIndex * 100 + offset + i,
        plan,
        group,
      });
    });
  };
  for (const s of branch.init) add(s, '', 'init', 0);
  const workPrefix = workPathOf(branch);
  for (const s of branch.work) add(s, workPrefix, 'work', 0);
  add(branch.rollback, workPrefix, 'rollback', 0);
  add(branch.abort, '', 'abort', 50);
  return out;
}

/** Where a branch's work stages live: inside the lease-holding parallel state, or directly for an observer. */
export function workPathOf(branch: BranchPlan): string {
  return branch.holdsLease ? 'holding.work' : 'work';
}

/**
 * The task that ends a successful failover as a whole: the last work task of the side that records its SUCCESS
 * history (ReleaseLock, after RecordFailoverHistory). Both copies of a succeeded Failover name it in status.state,
 * whichever side they ran: a side that only waited for the peer's outcome ends where the failover ended.
 */
export function finalTaskOf(input: { mode: FailoverMode; type: 'planned' | 'unplanned' }): { stage: StageName; stageIndex: number; task: TaskName } {
  for (const role of ['source', 'target'] as const) {
    const branch = branchFor({ ...input, role });
    if (!writesHistory(branch)) continue;
    const work = placesOf(branch).filter((p) => p.group === 'work');
    const last = work[work.length - 1];
    return { stage: last.stage, stageIndex: last.stageIndex, task: last.task };
  }
  throw new Error(`no side of a ${input.type} ${input.mode} failover records its history`);
}

/** Whether this side records the failover's SUCCESS history itself (and releases the lock after it). */
export function writesHistory(branch: BranchPlan): boolean {
  return placesOf(branch).some((p) => p.group === 'work' && p.plan.src === 'recordHistory');
}
