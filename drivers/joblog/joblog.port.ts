// Why: the job log is the operator-visible record of each VM job (test failover, cleanup, failover, failback):
// its status, progress and one entry per step. Step recording is idempotent (upsert by step name) so a step
// re-run after a crash or a snapshot restore never duplicates it, and a terminal status is final.
import type { CallOpts } from '../cluster/cluster.port.ts';
import type { StepError } from '../errors.ts';
import type { JsonObject } from '../json.ts';

export type { CallOpts } from '../cluster/cluster.port.ts';

export const JOBLOG_DRIVER = 'joblog';

export const JOB_STATUSES = [
  'pending',
  'validating',
  'executing',
  'snapshotting',
  'creating_vm',
  'switching_volume',
  'powering_on',
  'completed',
  'failed',
  'cleanup',
  'reverting',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['completed', 'failed'];
export function isTerminalJobStatus(s: JobStatus): boolean {
  return s === 'completed' || s === 'failed';
}

/**
 * Progress per status (sendense FAILOVER_FLOWS.md, PARITY.md §3). `failed` keeps the last progress reached,
 * so it is absent here.
 */
export const JOB_PROGRESS_PERCENT: Readonly<Record<Exclude<JobStatus, 'failed'>, number>> = {
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

export function progressFor(status: JobStatus, previousPercent: number): number {
  return status === 'failed' ? previousPercent : JOB_PROGRESS_PERCENT[status];
}

export const JOB_TYPES = ['test-failover', 'cleanup', 'failover', 'failback'] as const;
export type JobType = (typeof JOB_TYPES)[number];

export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface JobStep {
  /** Unique within a job: steps are upserted by name. */
  name: string;
  status: StepStatus;
  /** 1 on the first run; bumped when a failed step is started again. */
  attempt: number;
  startedAtMs?: number;
  endedAtMs?: number;
  error?: StepError;
  details?: JsonObject;
}

export interface JobRecord {
  id: string;
  type: JobType;
  vmId: string;
  correlationId: string;
  status: JobStatus;
  progressPercent: number;
  /** In the order they were first started. */
  steps: JobStep[];
  createdAtMs: number;
  updatedAtMs: number;
  error?: StepError;
  /** Bumped by every write (the compare-and-set value in DynamoDB). */
  version: number;
}

export interface CreateJobRequest {
  id: string;
  type: JobType;
  vmId: string;
  correlationId: string;
}

export interface JobFilter {
  vmId?: string;
  /** Only jobs whose status is not terminal. */
  activeOnly?: boolean;
}

/**
 * Errors: an unknown job id → NotFound; any write to a job in a terminal status (other than repeating the
 * very same terminal write) → Conflict; a bad status or type → Invalid.
 */
export interface JobLogPort {
  /** Idempotent: the same id with the same type, vmId and correlationId resolves with the existing job; a different one → Conflict (reason AlreadyExists). */
  createJob(req: CreateJobRequest, opts?: CallOpts): Promise<JobRecord>;
  getJob(jobId: string, opts?: CallOpts): Promise<JobRecord | undefined>;
  /** Newest first (by createdAtMs, then id). */
  listJobs(filter?: JobFilter, opts?: CallOpts): Promise<JobRecord[]>;
  /**
   * Sets the status (and its progress). Setting the current status again is a no-op. `completed`/`failed`
   * are final: a later different write → Conflict. `error` is kept with `failed`.
   */
  setStatus(jobId: string, status: JobStatus, opts?: CallOpts & { error?: StepError }): Promise<JobRecord>;
  /**
   * Upserts the step as running. Already running or completed/skipped → unchanged (a re-run after restore);
   * failed → running again with attempt + 1.
   */
  startStep(jobId: string, name: string, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord>;
  /** Marks the step completed (upserting it if it was never started); already completed → unchanged. Details merge. */
  completeStep(jobId: string, name: string, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord>;
  /** Marks the step failed with its error (upserting it); already failed with the same attempt → unchanged. */
  failStep(jobId: string, name: string, error: StepError, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord>;
  /** Marks the step skipped (upserting it); a completed step stays completed. */
  skipStep(jobId: string, name: string, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord>;
}
