// Why: the data of one cross-cluster failover as each cluster's operator runs it: the request (identical on
// both sides), the operator's role in it, and the chart's context. JSON-safe only, so snapshots survive
// JSON.stringify and a restart.
//
// Contract changes (keep this list; the durability helper codes against these types):
// - v1: initial contract. FailoverInput gained an OPTIONAL `policy` (tunables; defaults in DEFAULT_FAILOVER_POLICY).
// - v1: FailoverPolicy gained `leaseLossMax` (optional in input like every policy field).
import type { FailoverGroupSpec } from './group.types.ts';
import type { StepError } from '../shared/step-error.ts';

export type FailoverMode = 'CONSISTENCY' | 'UPTIME';
export type FailoverType = 'planned' | 'unplanned';
export type FailoverRole = 'source' | 'target';

/** One failover as the user (or the auto-failover checker) asked for it. Identical on both clusters. */
export interface FailoverRequest {
  /** Unique per failover (the Failover object's uid): lease token, history key and idempotency keys derive from it. */
  failoverId: string;
  /** The Failover object's name (audit, history). */
  failoverName: string;
  /** `<namespace>/<name>` of the group (groupIdOf). */
  groupId: string;
  group: FailoverGroupSpec;
  sourceCluster: string;
  targetCluster: string;
  mode: FailoverMode;
  /** planned: both operators cooperate. unplanned: the source is unreachable; the target fences it and goes alone. */
  type: FailoverType;
  /** Skip the safety checks that are advisory (suspended group, target health); never skips fencing or CAS. */
  force: boolean;
  reason: string;
  requestedAtMs: number;
}

/** Tunables; every field has a default (DEFAULT_FAILOVER_POLICY). Units last. */
export interface FailoverPolicy {
  /** Lease time-to-live; renewed at leaseTtlMs / 3 while the failover runs. */
  leaseTtlMs: number;
  /** Attempts per step before the failure policy decides (rollback before the point of no return). */
  attemptMax: number;
  /** Exponential backoff between attempts: base * 2^(attempt-1), capped. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Bound on each wait for Kubernetes objects to converge (pods gone, VR promoted, workloads ready). */
  waitTimeoutMs: number;
  /** Bound on each wait for the peer operator through global state (the one poll). */
  handoffTimeoutMs: number;
  /** Independent resources worked on concurrently: at most this many requests in flight. */
  concurrencyMax: number;
  /** Times the lease may be lost (and won back) before the failover stops: a bound on the lose/regain loop. */
  leaseLossMax: number;
}

export const DEFAULT_FAILOVER_POLICY: FailoverPolicy = {
  leaseTtlMs: 60_000,
  attemptMax: 6,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  waitTimeoutMs: 120_000,
  handoffTimeoutMs: 10 * 60_000,
  concurrencyMax: 64,
  leaseLossMax: 20,
};

export interface FailoverInput {
  request: FailoverRequest;
  role: FailoverRole;
  /** The operator's own cluster. */
  cluster: string;
  policy?: Partial<FailoverPolicy>;
}

/** The JSON form of drivers' LeaseProof (machines/ cannot import drivers/). */
export interface LeaseProofJson {
  leaseToken: string;
  fencingToken: number;
}

/** Why the chart rolled back. */
export type RollbackCause = 'StepFailed' | 'TransitoryTimeout' | 'PeerFailed' | 'ValidationFailed';

export interface RollbackInfo {
  cause: RollbackCause;
  /** The stage and task the failover was in when it turned back. */
  stage: string;
  task: string;
  atMs: number;
  error?: StepError;
}

/** The last task entered, in the total order of failover.progress.ts: status progression reads it. */
export interface ProgressMark {
  order: number;
  stageIndex: number;
  stage: string;
  task: string;
  atMs: number;
}

export interface FailoverContext {
  request: FailoverRequest;
  role: FailoverRole;
  cluster: string;
  policy: FailoverPolicy;
  /** Deterministic per failover: both operators present it (the lease belongs to the failover, not a cluster). */
  leaseToken: string;
  proof?: LeaseProofJson;
  /** The group record's version when validated: ownership moves by CAS on it. */
  expectedVersion?: number;
  /** requestedAtMs + group.timeouts.transitoryStateMs: past it, roll back or finish (whichever the state allows). */
  transitoryDeadlineMs: number;
  deadlinePassedAtMs?: number;
  /** When the next lease renewal is due (a restored actor reads it: no `after` timers). */
  leaseRenewAtMs: number;
  /** When the lease expires unless renewed (from the last acquire, join or renewal). */
  leaseExpiresAtMs?: number;
  /** When this side first held (or joined) the lock: the transitory deadline counts from here. */
  lockedAtMs?: number;
  /** Attempts of the current step (0 before the first failure). */
  attempt: number;
  /** When the current backoff ends. */
  retryAtMs?: number;
  /** Rounds of attempts of the current step past the point of no return. */
  round: number;
  lastError?: StepError;
  /** The last few errors, newest last (bounded). */
  errors: StepError[];
  /** Virtual or wall time of the latest step result (every step output carries `atMs`). */
  lastUpdateMs: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  /** Past it the failover cannot roll back (the source's volumes are demoted, or the target serves writes). */
  pointOfNoReturnAtMs?: number;
  /** CONSISTENCY: from source shutdown start to target network enable. UPTIME: the traffic switch gap. */
  downtimeStartedAtMs?: number;
  downtimeEndedAtMs?: number;
  /**
   * The failover's history record as global state holds it (written once per failover, by the side that ends it):
   * the one source of truth for both copies' outcome, downtime and duration once the failover has ended.
   */
  history?: HistoryFigures;
  rollback?: RollbackInfo;
  /** Set when the lease was lost (and whether it was won back). */
  leaseLostAtMs?: number;
  leaseLostCount: number;
  /** The peer finished the failover and released the shared lock: this side runs its last steps without renewing. */
  leaseReleased?: boolean;
  /** Why the failover failed or needs a person: the message status shows. */
  failure?: { reason: string; message: string; atMs: number; error?: StepError };
  progress: ProgressMark;
  /** Set when a final state is entered. */
  outcome?: 'completed' | 'rolledBack' | 'failed';
  /** Both clusters unreachable: what a person must do. */
  manualAction?: string;
}

export type { StepError };

/** The input every task actor receives (the wiring reads what it needs). */
export interface StepInput {
  request: FailoverRequest;
  role: FailoverRole;
  cluster: string;
  policy: FailoverPolicy;
  leaseToken: string;
  proof?: LeaseProofJson;
  expectedVersion?: number;
  /** The reference's task name, and the chart's state path for it. */
  task: string;
  path: string;
  attempt: number;
  /** `<failoverId>/<role>/<path>`: the same on a re-run after restore, so writes can be idempotent. */
  idempotencyKey: string;
  /** Static per-task parameters from the plan (which state to set, force, awaited observations). */
  params: Record<string, string | number | boolean | string[]>;
  /** What this side knows of the downtime window, published to global state with hand-off writes. */
  downtime: { startedAtMs?: number; endedAtMs?: number };
  /** When this side started the failover (lock held or joined): history duration is measured from it. */
  lockedAtMs?: number;
}

/** The figures of a failover's history record (global state), as both sides' charts read them. */
export interface HistoryFigures {
  status: 'SUCCESS' | 'FAILED' | 'ROLLED_BACK';
  startMs: number;
  endMs: number;
  downtimeSeconds: number;
  durationSeconds: number;
}

/** What every task actor resolves with; optional fields are read by the task's marks. */
export interface StepOutput {
  /** The clock when the step finished. */
  atMs: number;
  /** The clock when the (successful attempt of the) step started. */
  startedAtMs: number;
  proof?: LeaseProofJson;
  leaseExpiresAtMs?: number;
  version?: number;
  /** Waits on the peer: what was observed. */
  observed?: string;
  /** The peer's downtime bounds from global state (metadata). */
  downtimeStartedAtMs?: number;
  downtimeEndedAtMs?: number;
  /** The failover's history record, once written (by this step, or by the peer that ended the failover). */
  history?: HistoryFigures;
}

/** What a failed step rejects with: a StepError plus the clock when it failed (for absolute backoff deadlines). */
export interface StepFailure {
  kind: StepError['kind'];
  driver: string;
  op: string;
  message: string;
  reason?: string;
  code?: number;
  atMs?: number;
}

export interface WaitUntilInput {
  atMs: number;
}
export interface WaitUntilOutput {
  atMs: number;
}

/** Probe of the clusters when a step past the point of no return keeps failing. `peer` is null when not probed. */
export interface ReachabilityOutput {
  atMs: number;
  own: boolean;
  peer: boolean | null;
  globalState: boolean;
}
