// Why: the cross-cluster failover as one explicit state chart. Each cluster's operator runs its own actor of it
// (role source or target); the branch for its mode, type and role is generated from the stage/task table in
// failover.plan.ts. Every task invokes a named actor (provided by src/wire/cluster-failover.ts), retries with a
// bounded exponential backoff whose deadline lives in context, and on final failure follows its policy: roll back
// before the point of no return, move forward after it. While the lock is held a parallel region renews the
// lease (renewal due time in context: a restored actor does not re-arm `after` timers, xstate issue 5331) and
// another arms the transitory-state deadline.
import { assign, raise, setup } from 'xstate';
import { asStepError, isLeaseLost, isRetryable } from '../shared/step-error.ts';
import { backoffMs } from '../shared/retry.ts';
import { unprovided } from '../shared/unprovided.ts';
import { failoverInputProblems } from './failover.input.ts';
import { BRANCHES, placesOf, workPathOf, writesHistory, type BranchPlan, type Goto, type PeerObservation, type TaskMark, type TaskPlace, type TaskPlan, type WindowTag } from './failover.plan.ts';
import {
  DEFAULT_FAILOVER_POLICY,
  type FailoverContext,
  type RollbackCause,
  type FailoverInput,
  type ReachabilityOutput,
  type StepError,
  type StepInput,
  type StepOutput,
  type WaitUntilInput,
  type WaitUntilOutput,
} from './failover.types.ts';

/** Bump on any change of states or context: stored with every persisted snapshot. */
export const FAILOVER_MACHINE_VERSION = 2;

/** Abort-policy tasks get this many times `attemptMax` attempts before they give up. */
export const ABORT_ATTEMPT_FACTOR = 3;

/** Errors kept in context (newest last). */
export const ERRORS_KEPT_MAX = 10;

export type FailoverTag = 'dualPrimaryWindow' | 'sourceFenced' | 'manualIntervention' | 'retrying' | 'leaseHeld' | 'waitingForPeer';

/** deadline.passed: the transitory deadline ran out; lease.lost: the lease region lost the lease (the work region picks where to). */
export type FailoverEvent = { type: 'deadline.passed' } | { type: 'lease.lost' };

export type FailoverOutput = { outcome: 'completed' | 'rolledBack' | 'failed' };

const MACHINE_ID = 'failover';

function errorOf(op: string, e: unknown): StepError {
  return asStepError(op, e);
}
function errorAtMs(e: unknown, fallback: number): number {
  const at = e !== null && typeof e === 'object' ? (e as { atMs?: unknown }).atMs : undefined;
  return typeof at === 'number' && Number.isFinite(at) ? at : fallback;
}
function keepErrors(list: StepError[], e: StepError): StepError[] {
  return [...list, e].slice(-ERRORS_KEPT_MAX);
}

/** The input of a task actor, from context and the task's place. */
function stepInputOf(context: FailoverContext, place: TaskPlace): StepInput {
  const input: StepInput = {
    request: context.request,
    role: context.role,
    cluster: context.cluster,
    policy: context.policy,
    leaseToken: context.leaseToken,
    task: place.task,
    path: place.path,
    attempt: context.attempt,
    idempotencyKey: `${context.request.failoverId}/${context.role}/${place.path}`,
    params: place.plan.params ?? {},
    downtime: {},
  };
  if (context.proof) input.proof = context.proof;
  if (context.expectedVersion !== undefined) input.expectedVersion = context.expectedVersion;
  if (context.downtimeStartedAtMs !== undefined) input.downtime.startedAtMs = context.downtimeStartedAtMs;
  if (context.downtimeEndedAtMs !== undefined) input.downtime.endedAtMs = context.downtimeEndedAtMs;
  if (context.lockedAtMs !== undefined) input.lockedAtMs = context.lockedAtMs;
  return input;
}

/** The input of the lease actors (renew, regain) and the reachability probe. */
function infraInputOf(context: FailoverContext, task: string): StepInput {
  const input: StepInput = {
    request: context.request,
    role: context.role,
    cluster: context.cluster,
    policy: context.policy,
    leaseToken: context.leaseToken,
    task,
    path: task,
    attempt: context.attempt,
    idempotencyKey: `${context.request.failoverId}/${context.role}/${task}`,
    params: {},
    downtime: {},
  };
  if (context.proof) input.proof = context.proof;
  if (context.expectedVersion !== undefined) input.expectedVersion = context.expectedVersion;
  return input;
}

interface PlaceParams {
  order: number;
  stageIndex: number;
  stage: string;
  task: string;
  path: string;
}

export const failoverSetup = setup({
  types: {
    input: {} as FailoverInput,
    context: {} as FailoverContext,
    events: {} as FailoverEvent,
    tags: {} as FailoverTag,
    output: {} as FailoverOutput,
  },
  actors: {
    validateFailover: unprovided<StepInput, StepOutput>('validateFailover'),
    acquireLock: unprovided<StepInput, StepOutput>('acquireLock'),
    joinLease: unprovided<StepInput, StepOutput>('joinLease'),
    renewLease: unprovided<StepInput, StepOutput>('renewLease'),
    regainLease: unprovided<StepInput, StepOutput>('regainLease'),
    waitUntil: unprovided<WaitUntilInput, WaitUntilOutput>('waitUntil'),
    probeReachability: unprovided<StepInput, ReachabilityOutput>('probeReachability'),
    disableNetwork: unprovided<StepInput, StepOutput>('disableNetwork'),
    enableNetwork: unprovided<StepInput, StepOutput>('enableNetwork'),
    disableFlux: unprovided<StepInput, StepOutput>('disableFlux'),
    resumeFlux: unprovided<StepInput, StepOutput>('resumeFlux'),
    suspendCronJobs: unprovided<StepInput, StepOutput>('suspendCronJobs'),
    resumeCronJobs: unprovided<StepInput, StepOutput>('resumeCronJobs'),
    scaleDownWorkloads: unprovided<StepInput, StepOutput>('scaleDownWorkloads'),
    waitForWorkloadsScaledDown: unprovided<StepInput, StepOutput>('waitForWorkloadsScaledDown'),
    scaleUpWorkloads: unprovided<StepInput, StepOutput>('scaleUpWorkloads'),
    waitForWorkloadsReady: unprovided<StepInput, StepOutput>('waitForWorkloadsReady'),
    demoteVolumes: unprovided<StepInput, StepOutput>('demoteVolumes'),
    waitForVolumesDemoted: unprovided<StepInput, StepOutput>('waitForVolumesDemoted'),
    promoteVolumes: unprovided<StepInput, StepOutput>('promoteVolumes'),
    waitForVolumesPromoted: unprovided<StepInput, StepOutput>('waitForVolumesPromoted'),
    verifyDataAvailability: unprovided<StepInput, StepOutput>('verifyDataAvailability'),
    setVolumeState: unprovided<StepInput, StepOutput>('setVolumeState'),
    waitForPeer: unprovided<StepInput, StepOutput>('waitForPeer'),
    transferOwnership: unprovided<StepInput, StepOutput>('transferOwnership'),
    recordHistory: unprovided<StepInput, StepOutput>('recordHistory'),
    releaseLock: unprovided<StepInput, StepOutput>('releaseLock'),
    fenceSource: unprovided<StepInput, StepOutput>('fenceSource'),
    unfenceSource: unprovided<StepInput, StepOutput>('unfenceSource'),
  },
  guards: {
    isBranch: ({ context }, params: { branch: string }) => failoverInputProblems(inputOfContext(context)).length === 0 && branchKeyOf(context) === params.branch,
    /** The failure may pass if tried again, and this step has attempts left. */
    canRetry: ({ context, event }, params?: { attemptFactor?: number }) => {
      const e = errorOf('step', (event as { error?: unknown }).error);
      return isRetryable(e) && context.attempt + 1 < context.policy.attemptMax * (params?.attemptFactor ?? 1);
    },
    /** The lease is gone: every side effect must stop. */
    leaseLostError: ({ event }) => isLeaseLost(errorOf('step', (event as { error?: unknown }).error)),
    /** A renewal failed with a retryable error and the lease has not expired yet. */
    renewalCanRetry: ({ context, event }) => {
      const raw = (event as { error?: unknown }).error;
      const e = errorOf('renewLease', raw);
      const at = errorAtMs(raw, context.lastUpdateMs);
      return isRetryable(e) && at < (context.leaseExpiresAtMs ?? 0);
    },
    /** The lease actor failed with something retrying cannot fix (another failover holds the lock, ownership moved). */
    regainCanRetry: ({ event }) => isRetryable(errorOf('regainLease', (event as { error?: unknown }).error)),
    bothUnreachable: ({ event }) => {
      const o = (event as { output?: ReachabilityOutput }).output;
      return o !== undefined && o.own === false && o.peer === false;
    },
    observed: ({ event }, params: { value: PeerObservation }) => (event as { output?: StepOutput }).output?.observed === params.value,
    /** The regain found the failover already finished with success by the peer (it released the lock): no lease is needed any more. */
    peerSucceeded: ({ event }) => regainSawSuccess(event),
    /**
     * A planned failover's target that finds it already succeeded: every hand-off of its own was applied (success is
     * recorded only after the last one), so it goes on with its Completion tasks, whatever stale place (a snapshot
     * restored from before its last writes) it stopped at; a target that records the history itself has completed.
     */
    targetSeesSuccess: ({ context, event }) => context.role === 'target' && context.request.type === 'planned' && context.rollback === undefined && regainSawSuccess(event),
    /** A source that finds the failover already succeeded has nothing left to do (the target finishes as the owner). */
    sourceSeesSuccess: ({ context, event }) => context.role === 'source' && context.rollback === undefined && regainSawSuccess(event),
    /** The regain found the failover ended without success while this side was still working: undo this side. */
    peerFailedWhileWorking: ({ context, event }) => {
      const o = (event as { output?: StepOutput }).output?.observed;
      return context.rollback === undefined && (o === 'FAILED' || o === 'ENDED_FAILED' || o === 'ENDED_ROLLED_BACK');
    },
    leaseReleased: ({ context }) => context.leaseReleased === true,
    /** The lease was lost (and won back) too often: stop instead of looping. */
    leaseLossesSpent: ({ context }) => context.leaseLostCount > context.policy.leaseLossMax,
  },
  actions: {
    /** Progression only moves forward: a task with a lower order never replaces a higher one. */
    markProgress: assign(({ context }, params: PlaceParams) =>
      params.order > context.progress.order
        ? { progress: { order: params.order, stageIndex: params.stageIndex, stage: params.stage, task: params.task, atMs: context.lastUpdateMs } }
        : {},
    ),
    /** Logging hook ('Entered state' with progression); the wiring provides it. */
    enteredState: (_, _params: PlaceParams) => {},
    resetAttempts: assign({ attempt: 0, round: 0, retryAtMs: undefined }),
    recordFailure: assign(({ context, event }, params: { op: string }) => {
      const raw = (event as { error?: unknown }).error;
      const e = errorOf(params.op, raw);
      const at = Math.max(context.lastUpdateMs, errorAtMs(raw, context.lastUpdateMs));
      // Capped: a loop that keeps retrying (regaining the lease) stays at the longest backoff.
      const attempt = Math.min(context.attempt + 1, context.policy.attemptMax * ABORT_ATTEMPT_FACTOR);
      return {
        lastError: e,
        errors: keepErrors(context.errors, e),
        attempt,
        lastUpdateMs: at,
        retryAtMs: at + backoffMs(attempt, context.policy.backoffBaseMs, context.policy.backoffMaxMs),
      };
    }),
    recordDone: assign(({ context, event }, params: { marks: TaskMark[] }) => {
      const o = (event as { output?: StepOutput }).output;
      if (!o) return {};
      const at = Math.max(context.lastUpdateMs, o.atMs);
      const patch: Partial<FailoverContext> = { lastUpdateMs: at, attempt: 0, round: 0, retryAtMs: undefined, lastError: undefined };
      for (const m of params.marks) {
        if (m === 'proof' && o.proof) {
          patch.proof = o.proof;
          patch.leaseExpiresAtMs = o.leaseExpiresAtMs;
          patch.leaseRenewAtMs = at + Math.floor(context.policy.leaseTtlMs / 3);
          if (context.lockedAtMs === undefined) {
            patch.lockedAtMs = at;
            patch.transitoryDeadlineMs = at + context.request.group.timeouts.transitoryStateMs;
          }
        }
        if (m === 'version' && o.version !== undefined && context.expectedVersion === undefined) patch.expectedVersion = o.version;
        if (m === 'pointOfNoReturn' && context.pointOfNoReturnAtMs === undefined) patch.pointOfNoReturnAtMs = at;
        if (m === 'downtimeStart' && context.downtimeStartedAtMs === undefined) patch.downtimeStartedAtMs = o.startedAtMs;
        if (m === 'downtimeEnd' && context.downtimeEndedAtMs === undefined) patch.downtimeEndedAtMs = at;
        if (m === 'peerMetrics') {
          if (context.downtimeStartedAtMs === undefined && o.downtimeStartedAtMs !== undefined) patch.downtimeStartedAtMs = o.downtimeStartedAtMs;
          if (context.downtimeEndedAtMs === undefined && o.downtimeEndedAtMs !== undefined) patch.downtimeEndedAtMs = o.downtimeEndedAtMs;
        }
        if (m === 'history' && o.history && context.history === undefined) patch.history = { ...o.history };
      }
      return patch;
    }),
    beginRollback: assign(({ context, event }, params: { cause: RollbackCause; stage: string; task: string }) => {
      if (context.rollback) return {};
      const raw = (event as { error?: unknown }).error;
      const info: FailoverContext['rollback'] = { cause: params.cause, stage: params.stage, task: params.task, atMs: context.lastUpdateMs };
      if (raw !== undefined) info.error = errorOf(params.task, raw);
      else if (params.cause === 'StepFailed' && context.lastError) info.error = context.lastError;
      return { rollback: info };
    }),
    /** The peer ended the failover without success while this side had lost its lease: undo from where it stood. */
    beginRollbackAfterPeerEnded: assign(({ context }) =>
      context.rollback ? {} : { rollback: { cause: 'PeerFailed' as const, stage: context.progress.stage, task: context.progress.task, atMs: context.lastUpdateMs } },
    ),
    recordAbort: assign(({ context, event }, params: { task: string }) => {
      const raw = (event as { error?: unknown }).error;
      const output = (event as { output?: StepOutput }).output;
      const error = raw !== undefined ? errorOf(params.task, raw) : context.lastError;
      const message = error
        ? `${params.task} failed: ${error.message}`
        : `${params.task} observed ${output?.observed ?? 'an unexpected outcome'}`;
      const failure: NonNullable<FailoverContext['failure']> = { reason: error?.reason === 'ValidationFailed' || params.task === 'ValidateFailover' ? 'ValidationFailed' : 'StepFailed', message, atMs: context.lastUpdateMs };
      if (error) failure.error = error;
      return { failure: context.failure ?? failure };
    }),
    recordUnexpected: assign(({ context, event }, params: { task: string }) => {
      const output = (event as { output?: StepOutput }).output;
      return {
        failure: context.failure ?? {
          reason: 'PeerFailed',
          message: `${params.task} observed ${output?.observed ?? 'nothing'} from the peer operator, which this side cannot continue from`,
          atMs: context.lastUpdateMs,
        },
      };
    }),
    /** Past the point of no return a step keeps failing: start another round of attempts after the longest backoff. */
    beginRound: assign(({ context, event }) => {
      const o = (event as { output?: ReachabilityOutput }).output;
      const at = Math.max(context.lastUpdateMs, o?.atMs ?? context.lastUpdateMs);
      return { round: context.round + 1, attempt: 0, lastUpdateMs: at, retryAtMs: at + context.policy.backoffMaxMs };
    }),
    recordManualIntervention: assign(({ context, event }, params: { task: string; stage: string }) => {
      const o = (event as { output?: ReachabilityOutput }).output;
      const at = Math.max(context.lastUpdateMs, o?.atMs ?? context.lastUpdateMs);
      const own = context.cluster;
      const peer = context.role === 'source' ? context.request.targetCluster : context.request.sourceCluster;
      const action =
        `Both clusters are unreachable from the operator on ${own} (${own}: API server not answering; ${peer}: API server not answering) ` +
        `while the failover is past the point of no return at ${params.stage}/${params.task}` +
        (context.lastError ? ` (last error: ${context.lastError.message})` : '') +
        `. Restore connectivity to at least one cluster's API server; the engine then resumes by itself from ${params.task}. ` +
        `Do not scale workloads or promote volumes by hand: ${context.request.targetCluster} must end as the only writer.`;
      return { manualAction: action, lastUpdateMs: at, retryAtMs: at + context.policy.backoffMaxMs };
    }),
    scheduleProbe: assign(({ context, event }) => {
      const o = (event as { output?: ReachabilityOutput }).output;
      const at = Math.max(context.lastUpdateMs, o?.atMs ?? context.lastUpdateMs);
      return { lastUpdateMs: at, retryAtMs: at + context.policy.backoffMaxMs };
    }),
    clearManualIntervention: assign({ manualAction: undefined }),
    noteDeadlinePassed: assign(({ context }) => (context.deadlinePassedAtMs === undefined ? { deadlinePassedAtMs: Math.max(context.lastUpdateMs, context.transitoryDeadlineMs) } : {})),
    recordRenewal: assign(({ context, event }) => {
      const o = (event as { output?: StepOutput }).output;
      if (!o) return {};
      const at = Math.max(context.lastUpdateMs, o.atMs);
      return { leaseExpiresAtMs: o.leaseExpiresAtMs ?? context.leaseExpiresAtMs, leaseRenewAtMs: at + Math.floor(context.policy.leaseTtlMs / 3), lastUpdateMs: at };
    }),
    scheduleRenewalRetry: assign(({ context, event }) => {
      const at = Math.max(context.lastUpdateMs, errorAtMs((event as { error?: unknown }).error, context.lastUpdateMs));
      return { leaseRenewAtMs: at + Math.max(100, Math.floor(context.policy.leaseTtlMs / 20)), lastUpdateMs: at };
    }),
    recordLeaseLost: assign(({ context, event }) => {
      const raw = (event as { error?: unknown }).error;
      const e = raw === undefined ? undefined : errorOf('lease', raw);
      return {
        leaseLostAtMs: Math.max(context.lastUpdateMs, errorAtMs(raw, context.lastUpdateMs)),
        leaseLostCount: context.leaseLostCount + 1,
        attempt: 0,
        ...(e ? { lastError: e, errors: keepErrors(context.errors, e) } : {}),
      };
    }),
    recordRegained: assign(({ context, event }) => {
      const o = (event as { output?: StepOutput }).output;
      if (!o) return {};
      const at = Math.max(context.lastUpdateMs, o.atMs);
      return {
        proof: o.proof ?? context.proof,
        leaseExpiresAtMs: o.leaseExpiresAtMs ?? context.leaseExpiresAtMs,
        leaseRenewAtMs: at + Math.floor(context.policy.leaseTtlMs / 3),
        lastUpdateMs: at,
        leaseLostAtMs: undefined,
        attempt: 0,
        ...historyOf(context, o),
      };
    }),
    markLeaseReleased: assign(({ context, event }) => {
      const o = (event as { output?: StepOutput }).output;
      return {
        leaseReleased: true,
        proof: o?.proof ?? context.proof,
        leaseLostAtMs: undefined,
        attempt: 0,
        lastUpdateMs: Math.max(context.lastUpdateMs, o?.atMs ?? context.lastUpdateMs),
        ...historyOf(context, o),
      };
    }),
    recordLeaseLossesSpent: assign(({ context }) => ({
      failure: {
        reason: 'LeaseLost',
        message: `The lock lease was lost ${context.leaseLostCount} times (bound ${context.policy.leaseLossMax}); the failover stopped at ${context.progress.stage}/${context.progress.task}${context.lastError ? ` (last error: ${context.lastError.message})` : ''}`,
        atMs: context.lastUpdateMs,
      },
    })),
    recordLeaseGone: assign(({ context, event }) => {
      const e = errorOf('regainLease', (event as { error?: unknown }).error);
      const superseded = e.reason === 'Superseded' || e.reason === 'NotOwner' || e.reason === 'VersionMismatch';
      return {
        failure: {
          reason: superseded ? 'Superseded' : 'LeaseLost',
          message: superseded
            ? `Group ${context.request.groupId} changed owner while this failover had lost its lease (${e.message}); it stopped at ${context.progress.stage}/${context.progress.task} and the newer owner's operator reconciles the clusters`
            : `The lock lease was lost and cannot be won back (${e.message}); the failover stopped at ${context.progress.stage}/${context.progress.task} without further side effects`,
          atMs: context.lastUpdateMs,
          error: e,
        },
        lastError: e,
        errors: keepErrors(context.errors, e),
      };
    }),
    recordInvalidInput: assign(({ context }) => ({
      failure: { reason: 'InvalidInput', message: failoverInputProblems(inputOfContext(context)).join('; '), atMs: context.lastUpdateMs },
    })),
    finish: assign(({ context }, params: { outcome: NonNullable<FailoverContext['outcome']> }) => ({
      finishedAtMs: context.finishedAtMs ?? context.lastUpdateMs,
      manualAction: undefined,
      outcome: context.outcome ?? params.outcome,
    })),
  },
});

/** A regain that finds the failover ended brings its history record: both copies then report its figures. */
function historyOf(context: FailoverContext, o: StepOutput | undefined): Pick<FailoverContext, 'history'> | Record<string, never> {
  return o?.history && context.history === undefined ? { history: { ...o.history } } : {};
}

function inputOfContext(context: FailoverContext): FailoverInput {
  return { request: context.request, role: context.role, cluster: context.cluster, policy: context.policy };
}

function branchKeyOf(context: FailoverContext): string {
  const r = context.request;
  if (r.type === 'unplanned') return context.role === 'target' ? 'unplannedTarget' : 'unplannedSource';
  if (r.mode === 'CONSISTENCY') return context.role === 'source' ? 'consistencySource' : 'consistencyTarget';
  return context.role === 'source' ? 'uptimeSource' : 'uptimeTarget';
}

// ---------------------------------------------------------------------------------------------------------------
// Chart generation from the plan. The config is built as plain objects; xstate validates actor, guard and action
// names when the machine is created, and the path tests reach every generated state.

type Cfg = Record<string, any>;

const abs = (branch: BranchPlan, path: string) => `#${MACHINE_ID}.${branch.key}.${path}`;
const FINAL: Record<'completed' | 'rolledBack' | 'failed', string> = {
  completed: `#${MACHINE_ID}.completed`,
  rolledBack: `#${MACHINE_ID}.rolledBack`,
  failed: `#${MACHINE_ID}.failed`,
};

/**
 * Waits on the invoked timer until the retry time in context (a restored actor re-runs it: `after` timers are not
 * re-armed), then goes to `next` either way.
 */
function untilRetryAt(id: string, next: string): Cfg {
  return {
    id,
    src: 'waitUntil',
    input: ({ context }: { context: FailoverContext }) => ({ atMs: context.retryAtMs ?? context.lastUpdateMs }),
    onDone: next,
    onError: next,
  };
}

function placeParams(p: TaskPlace): PlaceParams {
  return { order: p.order, stageIndex: p.stageIndex, stage: p.stage, task: p.task, path: p.path };
}

function rollbackTargetOf(branch: BranchPlan): string {
  return abs(branch, `${workPathOf(branch)}.${branch.rollback.key}`);
}

function taskState(branch: BranchPlan, place: TaskPlace, next: string): Cfg {
  const plan = place.plan;
  const op = plan.task;
  const rollbackEntry = rollbackTargetOf(branch);
  const abortEntry = abs(branch, branch.abort.key);
  const leaseLost = abs(branch, leaseLostKey(windowOf(plan)));
  const inLease = branch.holdsLease && (place.group === 'work' || place.group === 'rollback');
  const doneActions = [{ type: 'recordDone', params: { marks: plan.marks ?? [] } }];
  const rollbackActions = (cause: RollbackCause) => [{ type: 'beginRollback', params: { cause, stage: place.stage, task: place.task } }];

  const gotoOf = (g: Goto): Cfg => {
    switch (g) {
      case 'next':
        return { target: next, actions: doneActions };
      case 'completed':
        return { target: FINAL.completed, actions: doneActions };
      case 'rolledBack':
        return { target: FINAL.rolledBack, actions: doneActions };
      case 'failed':
        return { target: FINAL.failed, actions: [...doneActions, { type: 'recordUnexpected', params: { task: place.task } }] };
      case 'rollback':
        return { target: rollbackEntry, actions: [...doneActions, ...rollbackActions('PeerFailed')] };
      case 'abort':
        return { target: abortEntry, actions: [...doneActions, { type: 'recordAbort', params: { task: place.task } }] };
    }
  };

  const onDone: Cfg[] | Cfg = plan.outcomes
    ? [
        ...Object.entries(plan.outcomes).map(([value, g]) => ({ guard: { type: 'observed', params: { value } }, ...gotoOf(g as Goto) })),
        { target: FINAL.failed, actions: [...doneActions, { type: 'recordUnexpected', params: { task: place.task } }] },
      ]
    : { target: next, actions: doneActions };

  const onError: Cfg[] = [];
  if (inLease) onError.push({ guard: 'leaseLostError', target: leaseLost, actions: ['recordLeaseLost'] });
  // Nothing is at stake while an abort-policy task (validation, the lock, waiting for the peer) retries: give it a larger budget.
  const attemptFactor = plan.policy === 'abort' && place.group !== 'abort' ? ABORT_ATTEMPT_FACTOR : 1;
  onError.push({ guard: { type: 'canRetry', params: { attemptFactor } }, target: 'backingOff', actions: [{ type: 'recordFailure', params: { op } }] });
  if (place.group === 'abort') {
    // Best effort bookkeeping on the way to `failed`: a spent retry budget moves on.
    onError.push({ target: next, actions: [{ type: 'recordFailure', params: { op } }] });
  } else if (plan.policy === 'rollback') {
    onError.push({ target: rollbackEntry, actions: [{ type: 'recordFailure', params: { op } }, ...rollbackActions('StepFailed')] });
  } else if (plan.policy === 'abort') {
    onError.push({ target: abortEntry, actions: [{ type: 'recordFailure', params: { op } }, { type: 'recordAbort', params: { task: place.task } }] });
  } else {
    onError.push({ target: 'assessing', actions: [{ type: 'recordFailure', params: { op } }] });
  }

  const states: Cfg = {
    running: {
      invoke: {
        id: `${place.path}`,
        src: plan.src,
        input: ({ context }: { context: FailoverContext }) => stepInputOf(context, place),
        onDone,
        onError,
      },
    },
    backingOff: {
      tags: ['retrying'],
      invoke: untilRetryAt(`${place.path}#backoff`, 'running'),
    },
  };
  if (plan.policy === 'forward' && place.group !== 'abort') {
    states.assessing = {
      tags: ['retrying'],
      invoke: {
        id: `${place.path}#probe`,
        src: 'probeReachability',
        input: ({ context }: { context: FailoverContext }) => infraInputOf(context, 'ProbeReachability'),
        onDone: [
          { guard: 'bothUnreachable', target: 'stalled', actions: [{ type: 'recordManualIntervention', params: { task: place.task, stage: place.stage } }] },
          { target: 'backingOff', actions: ['beginRound'] },
        ],
        onError: { target: 'backingOff', actions: ['beginRound'] },
      },
    };
    states.stalled = {
      tags: ['manualIntervention'],
      initial: 'waiting',
      states: {
        waiting: {
          invoke: untilRetryAt(`${place.path}#stalled`, 'probing'),
        },
        probing: {
          invoke: {
            id: `${place.path}#reprobe`,
            src: 'probeReachability',
            input: ({ context }: { context: FailoverContext }) => infraInputOf(context, 'ProbeReachability'),
            onDone: [
              { guard: 'bothUnreachable', target: 'waiting', actions: ['scheduleProbe'] },
              { target: `${abs(branch, place.path)}.running`, actions: ['clearManualIntervention', 'beginRound'] },
            ],
            onError: { target: 'waiting', actions: ['scheduleProbe'] },
          },
        },
      },
    };
  }

  const cfg: Cfg = {
    meta: { stage: place.stage, stageIndex: place.stageIndex, task: place.task, order: place.order, policy: plan.policy, group: place.group },
    entry: [{ type: 'markProgress', params: placeParams(place) }, 'resetAttempts', { type: 'enteredState', params: placeParams(place) }],
    initial: 'running',
    states,
  };
  const tags: FailoverTag[] = [...(plan.tags ?? [])];
  if (plan.src === 'waitForPeer' || plan.src === 'joinLease') tags.push('waitingForPeer');
  if (tags.length) cfg.tags = tags;
  if (inLease && place.group === 'work') {
    cfg.on = {
      'deadline.passed':
        plan.policy === 'rollback'
          ? { target: rollbackEntry, actions: ['noteDeadlinePassed', ...rollbackActions('TransitoryTimeout')] }
          : { actions: ['noteDeadlinePassed'] },
    };
  }
  // A lease lost by the lease region lands in the leaseLost state that keeps declaring this task's window.
  if (inLease) cfg.on = { ...cfg.on, 'lease.lost': { target: leaseLost } };
  return cfg;
}

/** Builds a group of stages (init, work, rollback, abort) into stage states whose tasks chain in order. */
function stageStates(branch: BranchPlan, places: TaskPlace[], lastNext: string): Cfg {
  const out: Cfg = {};
  places.forEach((place, i) => {
    const next = i + 1 < places.length ? abs(branch, places[i + 1].path) : lastNext;
    const parts = place.path.split('.');
    const stageKey = parts[parts.length - 2];
    out[stageKey] ??= { meta: { stage: place.stage, stageIndex: place.stageIndex }, initial: parts[parts.length - 1], states: {} };
    out[stageKey].states[parts[parts.length - 1]] = taskState(branch, place, next);
  });
  return out;
}

function branchState(branch: BranchPlan): Cfg {
  const places = placesOf(branch);
  const of = (g: TaskPlace['group']) => places.filter((p) => p.group === g);
  const init = of('init');
  const work = of('work');
  const rollback = of('rollback');
  const abort = of('abort');
  const workPath = workPathOf(branch);
  const workStates: Cfg = {
    ...stageStates(branch, work, FINAL.completed),
    ...(rollback.length ? stageStates(branch, rollback, FINAL.rolledBack) : {}),
  };
  const workCfg: Cfg = { initial: work[0].path.split('.').slice(-2)[0], states: workStates };

  const states: Cfg = {};
  if (init.length) Object.assign(states, stageStates(branch, init, abs(branch, workPath)));
  if (abort.length) Object.assign(states, stageStates(branch, abort, FINAL.failed));

  if (branch.holdsLease) {
    workCfg.states.hist = { type: 'history', history: 'deep' };
    states.holding = {
      type: 'parallel',
      tags: ['leaseHeld'],
      states: {
        work: workCfg,
        lease: {
          initial: 'waiting',
          states: {
            released: {},
            waiting: {
              always: { guard: 'leaseReleased', target: 'released' },
              invoke: {
                id: `${branch.key}#leaseTimer`,
                src: 'waitUntil',
                input: ({ context }: { context: FailoverContext }) => ({ atMs: context.leaseRenewAtMs }),
                onDone: 'renewing',
                onError: 'renewing',
              },
            },
            renewing: {
              invoke: {
                id: `${branch.key}#renew`,
                src: 'renewLease',
                input: ({ context }: { context: FailoverContext }) => infraInputOf(context, 'RenewLease'),
                onDone: { target: 'waiting', actions: ['recordRenewal'] },
                onError: [
                  { guard: 'leaseLostError', target: 'waiting', actions: ['recordLeaseLost', raiseLeaseLost] },
                  { guard: 'renewalCanRetry', target: 'waiting', actions: ['scheduleRenewalRetry'] },
                  { target: 'waiting', actions: ['recordLeaseLost', raiseLeaseLost] },
                ],
              },
            },
          },
        },
        deadline: {
          initial: 'armed',
          states: {
            armed: {
              invoke: {
                id: `${branch.key}#deadline`,
                src: 'waitUntil',
                input: ({ context }: { context: FailoverContext }) => ({ atMs: context.transitoryDeadlineMs }),
                onDone: { target: 'passed' },
              },
            },
            passed: { entry: raiseDeadline },
          },
        },
      },
    };
    const completion = work.find((p) => p.stage === 'Completion');
    const leaseLostState = (window: WindowTag | undefined, suffix: string): Cfg => ({
      ...(window ? { tags: [window] } : {}),
      initial: 'regaining',
      states: {
        regaining: {
          always: { guard: 'leaseLossesSpent', target: FINAL.failed, actions: ['recordLeaseLossesSpent'] },
          invoke: {
            id: `${branch.key}#regain${suffix}`,
            src: 'regainLease',
            input: ({ context }: { context: FailoverContext }) => infraInputOf(context, 'RegainLease'),
            onDone: [
              { guard: 'sourceSeesSuccess', target: FINAL.completed, actions: ['markLeaseReleased'] },
              ...(completion ? [{ guard: 'targetSeesSuccess', target: writesHistory(branch) ? FINAL.completed : abs(branch, completion.path), actions: ['markLeaseReleased'] }] : []),
              { guard: 'peerSucceeded', target: abs(branch, `${workPath}.hist`), actions: ['markLeaseReleased'] },
              {
                guard: 'peerFailedWhileWorking',
                target: rollbackTargetOf(branch),
                actions: ['recordRegained', 'beginRollbackAfterPeerEnded'],
              },
              { target: abs(branch, `${workPath}.hist`), actions: ['recordRegained'] },
            ],
            onError: [
              { guard: 'regainCanRetry', target: 'backingOff', actions: [{ type: 'recordFailure', params: { op: 'RegainLease' } }] },
              { target: FINAL.failed, actions: ['recordLeaseGone'] },
            ],
          },
        },
        backingOff: {
          invoke: untilRetryAt(`${branch.key}#regainBackoff${suffix}`, 'regaining'),
        },
      },
    });
    // One leaseLost state per window the branch's tasks declare: the sides stay in that window while the lease is
    // won back (the volumes do not change on their own), and the chart keeps saying so.
    for (const window of [undefined, ...new Set([...work, ...rollback].map((p) => windowOf(p.plan)))]) {
      states[leaseLostKey(window)] ??= leaseLostState(window, window ? `-${window}` : '');
    }
    states.holding.on = { 'lease.lost': abs(branch, 'leaseLost') };
  } else {
    states.work = workCfg;
  }
  return { initial: init.length ? init[0].path.split('.')[0] : workPath.split('.')[0], states };
}

/** Whether a regain's answer says the failover already succeeded (ownership moved, history SUCCESS, or COMPLETED). */
function regainSawSuccess(event: unknown): boolean {
  const o = (event as { output?: StepOutput }).output?.observed;
  return o === 'OWNED' || o === 'ENDED_SUCCESS' || o === 'COMPLETED';
}

const raiseDeadline = raise({ type: 'deadline.passed' } as FailoverEvent);
const raiseLeaseLost = raise({ type: 'lease.lost' } as FailoverEvent);

/** The window a task declares (dual primaries, or a fenced source), if any. */
function windowOf(plan: TaskPlan): WindowTag | undefined {
  return plan.tags?.find((t): t is WindowTag => t === 'dualPrimaryWindow' || t === 'sourceFenced');
}

/** The leaseLost state a task's lost lease leads to: the plain one, or the one that keeps declaring its window. */
function leaseLostKey(window: WindowTag | undefined): string {
  return window ? `leaseLost_${window}` : 'leaseLost';
}

const branchStates: Cfg = Object.fromEntries(BRANCHES.map((b) => [b.key, branchState(b)]));

export const failoverMachine = failoverSetup.createMachine({
  id: MACHINE_ID,
  context: ({ input }) => {
    const policy = { ...DEFAULT_FAILOVER_POLICY, ...(input?.policy ?? {}) };
    const requestedAtMs = typeof input?.request?.requestedAtMs === 'number' ? input.request.requestedAtMs : 0;
    const transitoryMs = input?.request?.group?.timeouts?.transitoryStateMs ?? 0;
    return {
      request: input?.request,
      role: input?.role,
      cluster: input?.cluster,
      policy,
      leaseToken: `lease/${input?.request?.failoverId ?? 'invalid'}`,
      transitoryDeadlineMs: requestedAtMs + transitoryMs,
      leaseRenewAtMs: requestedAtMs,
      attempt: 0,
      round: 0,
      errors: [],
      lastUpdateMs: requestedAtMs,
      leaseLostCount: 0,
      progress: { order: 0, stageIndex: 1, stage: 'Initialization', task: 'ValidateFailover', atMs: requestedAtMs },
    } as FailoverContext;
  },
  initial: 'routing',
  states: {
    routing: {
      always: [
        ...BRANCHES.map((b) => ({ guard: { type: 'isBranch' as const, params: { branch: b.key } }, target: b.key })),
        { target: 'failed', actions: 'recordInvalidInput' },
      ],
    },
    ...branchStates,
    completed: { type: 'final', entry: { type: 'finish', params: { outcome: 'completed' } } },
    rolledBack: { type: 'final', entry: { type: 'finish', params: { outcome: 'rolledBack' } } },
    failed: { type: 'final', entry: { type: 'finish', params: { outcome: 'failed' } } },
  } as any,
  output: ({ context }) => ({ outcome: context.outcome ?? 'failed' }),
});
