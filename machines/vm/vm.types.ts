// Why: the data of the VM charts (test failover, cleanup, live failover, failback and the VM and volume
// lifecycles): inputs, outputs, context and events. JSON-safe only, so snapshots survive JSON.stringify and a
// restart. machines/ cannot import drivers/, so the job statuses are restated here (the wiring checks that they
// match drivers/joblog/joblog.port.ts at compile time).
import type { StepError } from '../shared/step-error.ts';

export type { StepError } from '../shared/step-error.ts';

/** The job log's statuses (drivers/joblog/joblog.port.ts JOB_STATUSES). */
export type JobStatus =
  | 'pending'
  | 'validating'
  | 'executing'
  | 'snapshotting'
  | 'creating_vm'
  | 'switching_volume'
  | 'powering_on'
  | 'completed'
  | 'failed'
  | 'cleanup'
  | 'reverting';

/** The job log's job types (drivers/joblog/joblog.port.ts JOB_TYPES). */
export type VmJobType = 'test-failover' | 'cleanup' | 'failover' | 'failback';

/** Where a replicated VM stands, as the appliance's database tracks it (sendense's VM context status). */
export type VmContextStatus = 'ready_for_failover' | 'failed_over_test' | 'failed_over_live';

/** Bounded retries with exponential backoff; every retry loop in these charts reads one of these. */
export interface RetryPolicy {
  attemptMax: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** Tunables of the VM charts. Units last. */
export interface VmPolicy {
  /** Ordinary steps (CloudStack calls, job-log writes, reads): 8 attempts span about 90 s of backoff. */
  retry: RetryPolicy;
  /**
   * Putting a volume back on the appliance: the one step that must not give up early (a volume attached to
   * nothing is the worst outcome), so it gets more attempts and a longer backoff cap.
   */
  reattach: RetryPolicy;
  /** VirtIO injection runs at most this many times (each retry first reverts the volume to its snapshot). */
  injectionAttemptMax: number;
  /**
   * After an injection whose end is unknown (timeout, engine crash), how long to wait before the volume is
   * reverted: an orphaned injection still writing would undo the revert. Must exceed the injection's longest run
   * as far as it can still reach the disk; detaching the volume (the revert's first step) cuts it off as well.
   */
  injectionQuiesceMs: number;
  /** Re-reads of a VM caught in Starting/Stopping before the lifecycle gives up on it. */
  settleRoundsMax: number;
  /** How long a Starting/Stopping VM is left to settle between reads. */
  settleWaitMs: number;
}

export const DEFAULT_VM_POLICY: VmPolicy = {
  retry: { attemptMax: 8, backoffBaseMs: 1_000, backoffMaxMs: 30_000 },
  reattach: { attemptMax: 12, backoffBaseMs: 1_000, backoffMaxMs: 60_000 },
  injectionAttemptMax: 3,
  injectionQuiesceMs: 120_000,
  settleRoundsMax: 10,
  settleWaitMs: 5_000,
};

/** The job a chart writes to. `correlationId` is on every log line of the job (src/log.ts jobLog). */
export interface JobRef {
  jobId: string;
  correlationId: string;
  /** The replicated (source) VM the job is about. */
  vmId: string;
  type: VmJobType;
}

/**
 * How one step records itself in the job log. `whole`: the step is started before the work and completed or
 * failed after it. `open`: the step is only started (idempotent) and a later, explicit `recordStep` closes it,
 * for a phase made of several operations (a lifecycle chart's ops).
 */
export interface StepRecord {
  jobId: string;
  name: string;
  mode: 'whole' | 'open';
  /** Job statuses to set, in order, before the step starts (setting the current status again is a no-op). */
  statuses?: JobStatus[];
}

/** What a retrying step is given: the arguments of its one operation, and how to record and retry it. */
export interface StepInput<TArgs = unknown> {
  op: string;
  args: TArgs;
  record?: StepRecord;
  retry: RetryPolicy;
}

/** What one attempt of a step is given (the wiring's implementation of the op receives this). */
export interface AttemptInput<TArgs = unknown> {
  op: string;
  args: TArgs;
  record?: StepRecord;
  /** From 1. Part of every idempotency key the wiring builds. */
  attempt: number;
}

export type StepOutcome<T = unknown> = { ok: true; value: T; attempts: number } | { ok: false; error: StepError; attempts: number };

/** A timer that survives a restart: the deadline is kept in the invoking chart's context. */
export interface TimerInput {
  /** Used to arm the timer the first time (deadline = now + delayMs). */
  delayMs: number;
  /** Set once armed: a restored chart re-invokes the timer with it, so the wait is not restarted. */
  deadlineMs?: number;
}

export type TimerEvent = { type: 'timer.armed'; deadlineMs: number } | { type: 'timer.fired' };

/** Which device the injection watcher asks about (the boot volume on the appliance). */
export interface InjectionWatchInput {
  volumeId: string;
  devicePath?: string;
}

/** Sent by the injection watcher once no injection runs on the device any more. */
export type InjectionWatchEvent = { type: 'injection.idle' };

// ---------------------------------------------------------------------------------------------------------
// Validation (pre-failover checks) and the plan it resolves.

/** A source VM as the appliance's database knows it, plus what CloudStack says about its volumes. */
export interface ValidationFacts {
  vmId: string;
  /** Undefined when the appliance does not know the VM. */
  vm?: {
    name: string;
    cpuCount: number;
    memoryMb: number;
    osType: string;
    contextStatus: string;
    nics: { macAddress: string; sourceNetwork: string }[];
    networkMappings: Record<string, string>;
    volumeIds: string[];
    lastReplication: { status: string; changeId?: string; completedAtMs?: number };
  };
  /** Each replicated volume as CloudStack reports it (undefined when CloudStack does not know it). */
  volumes: { volumeId: string; state?: string; attachedToVmId?: string; zoneId?: string; devicePath?: string }[];
  /** The replication appliance VM. */
  appliance?: { vmId: string; state: string; zoneId: string };
  /** Non-terminal jobs on this VM other than the current one. */
  activeJobIds: string[];
  /** CloudStack networks by id (to check that every mapping points at a network in the zone). */
  networks: { id: string; zoneId: string }[];
  /** The offering the VM will be deployed with (the smallest that fits), if any fits. */
  offering?: { id: string; cpuNumber: number; memoryMb: number };
  templateId?: string;
  zoneId?: string;
  nowMs: number;
}

export interface ValidationCheck {
  name: string;
  passed: boolean;
  /** A failed critical check makes the readiness score 0. */
  critical: boolean;
  message: string;
}

export interface ReadinessReport {
  checks: ValidationCheck[];
  passed: number;
  total: number;
  /** passed / total × 100, rounded down; 0 when any critical check failed. */
  score: number;
  /** score ≥ READY_SCORE_MIN. */
  ready: boolean;
  criticalFailures: string[];
}

/** CloudStack's deployVirtualMachine parameters for the test or live VM. */
export interface DeploySpec {
  name: string;
  displayName: string;
  zoneId: string;
  serviceOfferingId: string;
  templateId: string;
  networkIds: string[];
}

/** What the failover will do, resolved from the validation facts (stored in context, shown by the CLI). */
export interface FailoverPlan {
  vmName: string;
  applianceVmId: string;
  /** The replicated volumes, boot disk first; the boot disk becomes the new VM's root (device 0). */
  volumeIds: string[];
  /** Where each volume appears on the appliance (/dev/vdb …), for the manual step if one is ever orphaned. */
  devicePaths: Record<string, string>;
  deploy: DeploySpec;
}

// ---------------------------------------------------------------------------------------------------------
// Lifecycle charts.

export type VmGoal = 'stopped' | 'running' | 'destroyed';
export type ObservedVmState = 'absent' | 'stopped' | 'running' | 'starting' | 'stopping' | 'error';

export interface VmObservation {
  vmId?: string;
  state: ObservedVmState;
  /** CloudStack's own state name, for messages. */
  rawState?: string;
}

export interface VmLifecycleInput {
  jobId: string;
  /** The VM by id when known, and always by name (a deploy that timed out but happened is found by name). */
  vm: { vmId?: string; name: string };
  goal: VmGoal;
  /** An absent VM counts as stopped (cleanup: nothing to stop). Destroyed is reached by absence anyway. */
  acceptAbsent: boolean;
  /** Given when the VM may be created if absent. */
  deploy?: DeploySpec;
  /** The job-log step this lifecycle run belongs to (opened by its ops, closed at its end). */
  record?: { name: string; statuses?: JobStatus[] };
  /** Volumes that must never go with the VM: destroying a VM that holds one is refused. */
  protectedVolumeIds: string[];
  policy: VmPolicy;
}

export interface VmLifecycleOutput {
  goalReached: boolean;
  vmId?: string;
  /** The VM's last known state: where it was left. */
  state: ObservedVmState | 'destroyed' | 'unknown';
  error?: StepError;
}

export type VolumeGoal = 'appliance' | 'target' | 'detached';
export type VolumeWhere = 'appliance' | 'target' | 'none' | 'elsewhere' | 'unknown';

export interface VolumeObservation {
  volumeId: string;
  /** Undefined when the volume is attached to nothing. */
  attachedToVmId?: string;
  deviceId?: number;
  /** The block device on the appliance (from the Volume Daemon), when attached there. */
  devicePath?: string;
}

export interface VolumeLifecycleInput {
  jobId: string;
  volumeId: string;
  applianceVmId: string;
  /** The test or live VM. */
  targetVmId?: string;
  /** The slot on the target: 0 makes the volume its root disk. */
  targetDeviceId?: number;
  goal: VolumeGoal;
  /** When the appliance cannot take the volume back, attach it to the target instead (failback). */
  fallbackToTarget: boolean;
  record?: { name: string; statuses?: JobStatus[] };
  policy: VmPolicy;
}

export interface VolumeLifecycleOutput {
  volumeId: string;
  goalReached: boolean;
  where: VolumeWhere;
  vmId?: string;
  devicePath?: string;
  error?: StepError;
}

// ---------------------------------------------------------------------------------------------------------
// Conditions (Kubernetes style; types and reasons are documented in vm.status.ts).

export interface VmCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------------------
// Cleanup (end of a test, and the rollback of a failed test or live failover).

export interface CleanupInput {
  job: JobRef;
  /** `cleanup`: its own job, and the VM context goes back to
   * ready_for_failover. `rollback`: steps of the failed job, named `rollback-…`; the caller ends the job. Both set the
   * job statuses cleanup (stop, detach) then reverting (revert, reattach, remove). */
  mode: 'cleanup' | 'rollback';
  applianceVmId: string;
  volumeIds: string[];
  devicePaths: Record<string, string>;
  /** Names the steps: `test-vm-shutdown` or `live-vm-shutdown`. */
  vmRole: FailoverKind;
  /** The test or live VM, by id when known and always by name. */
  vm?: { vmId?: string; name: string };
  /** Per volume: the snapshot (by id when known, always by name). Absent entries: no snapshot to revert. */
  snapshots: { volumeId: string; snapshotId?: string; name: string }[];
  /** Revert the volumes to their snapshots (false when nothing wrote to them yet). */
  revert: boolean;
  /** Why the rollback runs (the error that started it), for the job log. */
  cause?: StepError;
  policy: VmPolicy;
}

export interface CleanupOutput {
  /** Every volume is back on the appliance and every temporary resource is gone. */
  clean: boolean;
  /** Per volume, where it was left. */
  volumes: { volumeId: string; where: VolumeWhere; vmId?: string }[];
  vmRemoved: boolean;
  reverted: boolean;
  snapshotsDeleted: boolean;
  /** The first thing that went wrong, if any. */
  error?: StepError;
  conditions: VmCondition[];
}

// ---------------------------------------------------------------------------------------------------------
// Test and live failover.

export type FailoverKind = 'test' | 'live';

export interface VmFailoverInput {
  job: JobRef;
  /** Test only: the test ends by itself (auto-cleanup) this long after the test VM runs. */
  testDurationMs?: number;
  /** The cleanup job's id, when the test ends (defaults to `<jobId>-cleanup`). */
  cleanupJobId?: string;
  policy: VmPolicy;
}

export interface SnapshotRef {
  volumeId: string;
  snapshotId?: string;
  name: string;
}

export type VmFailoverEvent = TimerEvent | InjectionWatchEvent | { type: 'cleanup.requested' };

export interface VmFailoverContext extends VmFailoverInput {
  kind: FailoverKind;
  plan?: FailoverPlan;
  report?: ReadinessReport;
  snapshots: SnapshotRef[];
  /** The new VM (test or live), once created. */
  targetVm?: { vmId?: string; name: string };
  /** The new VM's own root volume (deleted before the boot disk takes its place). */
  rootVolumeId?: string;
  /** Which replicated volume is being moved (index into plan.volumeIds). */
  volumeIndex: number;
  injectionAttempt: number;
  /** The last injection's error while it is waited out (quiescingInjection). */
  injectionError?: StepError;
  quiesceUntilMs?: number;
  /** Test only: when the test ends by itself (set once the timer is armed). */
  autoCleanupAtMs?: number;
  error?: StepError;
  conditions: VmCondition[];
  rollback?: CleanupOutput;
  cleanup?: CleanupOutput;
  /** Set on entering a final state. */
  outcome?: VmFailoverOutput['outcome'];
}

export interface VmFailoverOutput {
  outcome: 'completed' | 'cleanedUp' | 'failed' | 'volumeOrphaned';
  error?: StepError;
  conditions: VmCondition[];
}

// ---------------------------------------------------------------------------------------------------------
// Failback.

export interface FailbackInput {
  job: JobRef;
  policy: VmPolicy;
}

export interface FailbackContext extends FailbackInput {
  plan?: FailbackPlan;
  volumeIndex: number;
  /** Per volume, where the move left it. */
  moved: { volumeId: string; where: VolumeWhere }[];
  error?: StepError;
  conditions: VmCondition[];
}

/** What failback works on, read from the appliance's database and CloudStack. */
export interface FailbackPlan {
  applianceVmId: string;
  volumeIds: string[];
  liveVm: { vmId?: string; name: string };
}
