// Why: a failover's status (phase, progression, conditions, metrics) is a view derived from the chart's snapshot
// and nothing else, so it can never disagree with what the chart is doing. It works on a live snapshot and on a
// persisted one (plain JSON: value, status, context).
import { failoverMachine, type FailoverTag } from './failover.machine.ts';
import { FailoverConditionReason as R, FailoverConditionType as T, type Condition, type FailoverConditionReasonName, type FailoverConditionTypeName } from './failover.conditions.ts';
import { finalTaskOf } from './failover.plan.ts';
import type { FailoverContext } from './failover.types.ts';

export type FailoverPhase = 'Pending' | 'InProgress' | 'Succeeded' | 'RolledBack' | 'Failed' | 'ManualIntervention';

export interface FailoverStatus {
  phase: FailoverPhase;
  status: 'SUCCESS' | 'FAILED' | 'IN_PROGRESS';
  progression: { stageIndex: number; stage: string; task: string };
  /** `TASK_<TaskName>`, as the reference writes status.state. */
  state: string;
  conditions: Condition[];
  metrics: { totalDowntimeSeconds: number; totalFailoverTimeSeconds: number };
  outcome?: 'completed' | 'rolledBack' | 'manualIntervention' | 'failed';
  message: string;
}

/** What derivation reads: a live MachineSnapshot or its persisted JSON form both have these. */
export interface FailoverSnapshotLike {
  value: unknown;
  status: 'active' | 'done' | 'error' | 'stopped';
  context: FailoverContext;
  error?: unknown;
}

/** RFC 3339 at seconds precision (no real clock: the time comes from the snapshot). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Every leaf path of a state value, dot-joined (`consistencySource.holding.work.x.y.running`). */
export function statePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  if (value && typeof value === 'object') {
    const out: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && Object.keys(v as object).length === 0) out.push(p);
      else out.push(...statePaths(v, p));
    }
    return out;
  }
  return prefix ? [prefix] : [];
}

/** The tags of the states a snapshot is in (resolved through the chart, so persisted snapshots work too). */
export function tagsOf(snapshot: FailoverSnapshotLike): Set<FailoverTag> {
  if (snapshot.status !== 'active') return new Set();
  try {
    const resolved = failoverMachine.resolveState({ value: snapshot.value as any, context: snapshot.context });
    return new Set(resolved.tags as Set<FailoverTag>);
  } catch {
    return new Set();
  }
}

/** True while this side declares that both clusters may hold PRIMARY volumes (read by the single-writer invariant). */
export function dualPrimaryWindowOpen(snapshot: FailoverSnapshotLike): boolean {
  return tagsOf(snapshot).has('dualPrimaryWindow');
}

/** True while the target force-promoted over a fenced source (unplanned failover). */
export function sourceFencedWindowOpen(snapshot: FailoverSnapshotLike): boolean {
  return tagsOf(snapshot).has('sourceFenced');
}

function phaseOf(snapshot: FailoverSnapshotLike, tags: Set<FailoverTag>, paths: string[]): FailoverPhase {
  const c = snapshot.context;
  if (snapshot.status === 'error') return 'Failed';
  if (snapshot.status === 'done' || snapshot.status === 'stopped') {
    const o = c.outcome;
    return o === 'completed' ? 'Succeeded' : o === 'rolledBack' ? 'RolledBack' : 'Failed';
  }
  if (tags.has('manualIntervention')) return 'ManualIntervention';
  if (paths.every((p) => p === 'routing' || p.split('.')[1] === 'initialization')) return 'Pending';
  return 'InProgress';
}

function cond(type: FailoverConditionTypeName, status: Condition['status'], reason: FailoverConditionReasonName, message: string, atMs: number): Condition {
  return { type, status, reason, message, lastTransitionTime: rfc3339(atMs) };
}

function progressReason(c: FailoverContext, tags: Set<FailoverTag>): FailoverConditionReasonName {
  if (c.rollback) return R.RollingBack;
  if (tags.has('waitingForPeer')) return R.WaitingForPeer;
  switch (c.progress.stage) {
    case 'Initialization':
      return R.FailoverStarted;
    case 'SourceClusterShutdown':
      return c.request.type === 'unplanned' ? R.FencingSource : R.ShuttingDownSource;
    case 'VolumeTransitionSource':
      return c.request.type === 'unplanned' ? R.FencingSource : R.DemotingVolumes;
    case 'VolumeTransitionTarget':
      return R.PromotingVolumes;
    case 'TargetClusterPreparation':
      return R.PreparingTarget;
    case 'TrafficTransition':
      return R.SwitchingTraffic;
    case 'TargetClusterActivation':
      return R.ActivatingTarget;
    case 'SourceClusterDeactivation':
      return R.DeactivatingSource;
    case 'Rollback':
      return R.RollingBack;
    default:
      return R.Finalizing;
  }
}

function rollbackReason(c: FailoverContext): FailoverConditionReasonName {
  const cause = c.rollback?.cause;
  return cause === 'TransitoryTimeout' ? R.RolledBackOnTimeout : cause === 'PeerFailed' ? R.PeerFailed : cause === 'ValidationFailed' ? R.ValidationFailed : R.StepFailed;
}

function rollbackMessage(c: FailoverContext): string {
  const rb = c.rollback;
  if (!rb) {
    // This side observed the peer's rollback (or failure) and had nothing of its own to undo.
    return `The ${c.role === 'target' ? 'source' : 'target'} operator rolled the failover back before this side changed anything; ${c.request.sourceCluster} keeps the application`;
  }
  const why =
    rb.cause === 'TransitoryTimeout'
      ? `the transitory-state timeout (${Math.round(c.request.group.timeouts.transitoryStateMs / 1000)}s) passed before the point of no return`
      : rb.cause === 'PeerFailed'
        ? `the ${c.role === 'source' ? 'target' : 'source'} operator gave up and handed the volumes back`
        : `${rb.task} failed${rb.error ? `: ${rb.error.message}` : ''}`;
  return `Rolled back at ${rb.stage}/${rb.task} because ${why}`;
}

/** Derives the whole status from the snapshot alone. */
export function deriveFailoverStatus(snapshot: FailoverSnapshotLike): FailoverStatus {
  const c = snapshot.context;
  const tags = tagsOf(snapshot);
  const paths = statePaths(snapshot.value);
  const phase = phaseOf(snapshot, tags, paths);
  const ended = phase === 'Succeeded' || phase === 'RolledBack' || phase === 'Failed';
  const nowMs = ended ? (c.finishedAtMs ?? c.lastUpdateMs) : c.lastUpdateMs;
  const startMs = c.request?.requestedAtMs ?? 0;
  const conditions: Condition[] = [];

  let message: string;
  let outcome: FailoverStatus['outcome'];
  if (phase === 'Succeeded') {
    outcome = 'completed';
    message = `Failed over ${c.request.groupId} from ${c.request.sourceCluster} to ${c.request.targetCluster}`;
    conditions.push(cond(T.Completed, 'True', R.FailoverSucceeded, message, nowMs));
  } else if (phase === 'RolledBack') {
    outcome = 'rolledBack';
    message = rollbackMessage(c);
    conditions.push(cond(T.RolledBack, 'True', rollbackReason(c), message, nowMs));
  } else if (phase === 'Failed') {
    outcome = 'failed';
    const f = c.failure;
    message = f?.message ?? (snapshot.status === 'error' ? `The failover chart stopped with an internal error: ${String((snapshot.error as Error | undefined)?.message ?? snapshot.error)}` : 'The failover failed');
    const reason: FailoverConditionReasonName =
      f?.reason === 'ValidationFailed' || f?.reason === 'InvalidInput'
        ? R.ValidationFailed
        : f?.reason === 'Superseded'
          ? R.Superseded
          : f?.reason === 'LeaseLost'
            ? R.LeaseLost
            : f?.reason === 'PeerFailed'
              ? R.PeerFailed
              : R.StepFailed;
    conditions.push(cond(T.Failed, 'True', reason, message, f?.atMs ?? nowMs));
  } else if (phase === 'ManualIntervention') {
    outcome = 'manualIntervention';
    message = c.manualAction ?? 'Both clusters are unreachable; restore connectivity to one of them';
    conditions.push(cond(T.ManualInterventionRequired, 'True', R.ClustersUnreachable, message, c.lastUpdateMs));
  } else {
    message = `${c.progress.stage}: ${c.progress.task}`;
  }

  const reason = ended ? (phase === 'Succeeded' ? R.FailoverSucceeded : phase === 'RolledBack' ? rollbackReason(c) : R.StepFailed) : progressReason(c, tags);
  conditions.unshift(
    cond(T.InProgress, ended ? 'False' : 'True', reason, ended ? message : `${c.progress.stage}: ${c.progress.task}`, ended ? nowMs : (c.lockedAtMs ?? startMs)),
  );

  if (c.deadlinePassedAtMs !== undefined) {
    const rolledBackOnTimeout = c.rollback?.cause === 'TransitoryTimeout';
    conditions.push(
      cond(
        T.TransitoryTimeoutExceeded,
        'True',
        rolledBackOnTimeout ? R.RolledBackOnTimeout : R.FinishingForward,
        rolledBackOnTimeout
          ? `The transitory-state timeout passed at ${c.rollback!.stage}/${c.rollback!.task}, before the point of no return: the engine rolled back to ${c.request.sourceCluster}`
          : c.rollback
            ? `The transitory-state timeout passed while already rolling back; the engine finishes the rollback`
            : `The transitory-state timeout passed after the point of no return (or while waiting on the peer): rolling back would risk data, so the engine finishes the failover forward`,
        c.deadlinePassedAtMs,
      ),
    );
  }
  if (!ended && tags.has('retrying') && c.lastError) {
    conditions.push(
      cond(T.Retrying, 'True', R.StepRetrying, `${c.progress.task} failed (attempt ${c.attempt}, round ${c.round}): ${c.lastError.message}`, c.lastUpdateMs),
    );
  }
  if (c.proof || c.leaseLostAtMs !== undefined) {
    const held = !ended && tags.has('leaseHeld');
    const lost = c.leaseLostAtMs !== undefined && !held;
    conditions.push(
      cond(
        T.LeaseHeld,
        held ? 'True' : 'False',
        held ? (c.leaseLostCount > 0 ? R.LeaseRegained : R.LeaseRenewed) : lost ? R.LeaseLost : R.NotApplicable,
        held
          ? `Lease ${c.proof?.fencingToken !== undefined ? `with fencing token ${c.proof.fencingToken} ` : ''}held until ${c.leaseExpiresAtMs !== undefined ? rfc3339(c.leaseExpiresAtMs) : 'unknown'}`
          : lost
            ? 'The lease was lost: every side effect stopped until it is won back'
            : 'The lease is not held',
        c.leaseLostAtMs ?? c.lockedAtMs ?? startMs,
      ),
    );
  }
  if (c.pointOfNoReturnAtMs !== undefined) {
    const reasonPonr = c.request.mode === 'UPTIME' && c.request.type === 'planned' ? R.TrafficSwitched : c.role === 'target' ? R.TargetServing : R.VolumesDemoted;
    conditions.push(cond(T.PointOfNoReturnPassed, 'True', reasonPonr, 'From here the failover only moves forward', c.pointOfNoReturnAtMs));
  }
  if (tags.has('dualPrimaryWindow') || tags.has('sourceFenced')) {
    const fenced = tags.has('sourceFenced');
    conditions.push(
      cond(
        T.DualPrimaryWindow,
        'True',
        fenced ? R.SourceFenced : R.UptimeModeByDesign,
        fenced
          ? `${c.request.sourceCluster} is fenced (NetworkFence) while ${c.request.targetCluster} force-promotes its volumes`
          : `UPTIME mode: both clusters may hold PRIMARY volumes until ${c.request.sourceCluster} is demoted`,
        c.lastUpdateMs,
      ),
    );
  }

  // Once the failover has ended, its history record (global state, written once per failover) is the one source of
  // truth for the figures, so both copies of a Failover report the same downtime and duration. Before it (or for a
  // side that never read it), this side's own view of the downtime window and of the elapsed time.
  const recorded = ended ? c.history : undefined;
  const downStart = c.downtimeStartedAtMs;
  const downEnd = c.downtimeEndedAtMs ?? (downStart !== undefined ? nowMs : undefined);
  const totalDowntimeSeconds = recorded ? recorded.downtimeSeconds : downStart !== undefined && downEnd !== undefined ? Math.max(0, downEnd - downStart) / 1000 : 0;
  const totalFailoverTimeSeconds = recorded ? recorded.durationSeconds : Math.max(0, nowMs - startMs) / 1000;
  // A succeeded failover names the task that ended it as a whole (the same on both copies), not the wait this side
  // ended in.
  const place = phase === 'Succeeded' ? finalTaskOf(c.request) : { stageIndex: c.progress.stageIndex, stage: c.progress.stage, task: c.progress.task };

  const status: FailoverStatus['status'] = phase === 'Succeeded' ? 'SUCCESS' : phase === 'RolledBack' || phase === 'Failed' ? 'FAILED' : 'IN_PROGRESS';
  const result: FailoverStatus = {
    phase,
    status,
    progression: { stageIndex: place.stageIndex, stage: place.stage, task: place.task },
    state: `TASK_${place.task}`,
    conditions,
    metrics: { totalDowntimeSeconds, totalFailoverTimeSeconds },
    message,
  };
  if (outcome) result.outcome = outcome;
  return result;
}

/** Total order over progression marks: the status of later snapshots never sorts before earlier ones. */
export function progressionOrder(snapshot: FailoverSnapshotLike): number {
  return snapshot.context.progress.order;
}
