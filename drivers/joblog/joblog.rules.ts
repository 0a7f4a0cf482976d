// Why: the job log's rules as pure functions (create, status, step upserts, the terminal rule), shared by the
// in-memory and the DynamoDB implementations so both behave identically: each write is "read, apply, write
// back if unchanged since", and a write that changes nothing is not a write at all.
import { DriverError, type StepError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import {
  isTerminalJobStatus,
  JOB_STATUSES,
  JOB_TYPES,
  JOBLOG_DRIVER,
  progressFor,
  type CreateJobRequest,
  type JobRecord,
  type JobStatus,
  type JobStep,
} from './joblog.port.ts';

/** A change to a job: the new record, or 'unchanged'. Throws DriverError (Invalid, Conflict) when refused. */
export type JobMutation = (job: JobRecord, nowMs: number) => JobRecord | 'unchanged';

function invalid(op: string, field: string, message: string): DriverError {
  return new DriverError('Invalid', JOBLOG_DRIVER, op, `${op}: ${field}: ${message}`, { details: { field } });
}

export function requireJobId(op: string, jobId: unknown): string {
  if (typeof jobId !== 'string' || jobId.trim() === '' || jobId.length > 200) throw invalid(op, 'jobId', 'must be a non-empty string of at most 200 characters');
  return jobId;
}

export function validateCreate(req: CreateJobRequest): void {
  const op = 'createJob';
  if (!req || typeof req !== 'object') throw invalid(op, 'req', 'must be an object { id, type, vmId, correlationId }');
  requireJobId(op, req.id);
  if (!JOB_TYPES.includes(req.type)) throw invalid(op, 'type', `"${String(req.type)}" is not one of ${JOB_TYPES.join(', ')}`);
  if (typeof req.vmId !== 'string' || req.vmId === '') throw invalid(op, 'vmId', 'must be a non-empty string');
  if (typeof req.correlationId !== 'string' || req.correlationId === '') throw invalid(op, 'correlationId', 'must be a non-empty string');
}

export function newJob(req: CreateJobRequest, nowMs: number): JobRecord {
  return {
    id: req.id,
    type: req.type,
    vmId: req.vmId,
    correlationId: req.correlationId,
    status: 'pending',
    progressPercent: 0,
    steps: [],
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    version: 1,
  };
}

/** createJob on an existing id: the same job again resolves with it; another job → Conflict/AlreadyExists. */
export function checkSameJob(existing: JobRecord, req: CreateJobRequest): JobRecord {
  if (existing.type === req.type && existing.vmId === req.vmId && existing.correlationId === req.correlationId) return existing;
  throw new DriverError('Conflict', JOBLOG_DRIVER, 'createJob', `createJob: job ${req.id} already exists for ${existing.type} of VM ${existing.vmId} (correlation ${existing.correlationId})`, {
    reason: 'AlreadyExists',
    details: { jobId: req.id },
  });
}

export function notFound(op: string, jobId: string): DriverError {
  return new DriverError('NotFound', JOBLOG_DRIVER, op, `${op}: no job ${jobId}`, { details: { jobId } });
}

function terminalConflict(op: string, job: JobRecord): DriverError {
  return new DriverError('Conflict', JOBLOG_DRIVER, op, `${op}: job ${job.id} is ${job.status}, a final status: it takes no more writes`, {
    reason: 'JobTerminal',
    details: { jobId: job.id, status: job.status },
  });
}

/** Applies a mutation with the terminal rule: an actual change to a terminal job → Conflict. */
export function applyMutation(op: string, job: JobRecord, m: JobMutation, nowMs: number): JobRecord | 'unchanged' {
  const next = m(structuredClone(job), nowMs);
  if (next === 'unchanged') return next;
  if (isTerminalJobStatus(job.status)) throw terminalConflict(op, job);
  next.updatedAtMs = Math.max(nowMs, job.updatedAtMs);
  next.version = job.version + 1;
  return next;
}

export function setStatusMutation(status: JobStatus, error?: StepError): JobMutation {
  if (!JOB_STATUSES.includes(status)) throw invalid('setStatus', 'status', `"${String(status)}" is not one of ${JOB_STATUSES.join(', ')}`);
  return (job) => {
    if (job.status === status && (error === undefined || JSON.stringify(job.error) === JSON.stringify(error))) return 'unchanged';
    job.status = status;
    job.progressPercent = progressFor(status, job.progressPercent);
    if (error !== undefined) job.error = error;
    return job;
  };
}

function requireStepName(op: string, name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) throw invalid(op, 'name', 'a step name must be a non-empty string of at most 200 characters');
  return name;
}

function merged(step: JobStep, details: JsonObject | undefined): JsonObject | undefined {
  if (details === undefined) return step.details;
  return { ...(step.details ?? {}), ...details };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

type StepAction = 'start' | 'complete' | 'fail' | 'skip';

/** The step upsert: one entry per name; see JobLogPort for what each action does to each step status. */
export function stepMutation(action: StepAction, name: string, details?: JsonObject, error?: StepError): JobMutation {
  const op = `${action}Step`;
  requireStepName(op, name);
  if (action === 'fail' && (!error || typeof error !== 'object' || typeof error.message !== 'string')) throw invalid(op, 'error', 'failStep needs a StepError { kind, driver, op, message }');
  return (job, nowMs) => {
    const i = job.steps.findIndex((s) => s.name === name);
    if (i < 0) {
      const step: JobStep = { name, status: 'running', attempt: 1, startedAtMs: nowMs };
      if (action === 'complete') Object.assign(step, { status: 'completed', endedAtMs: nowMs });
      if (action === 'skip') Object.assign(step, { status: 'skipped', endedAtMs: nowMs });
      if (action === 'fail') Object.assign(step, { status: 'failed', endedAtMs: nowMs, error });
      if (details !== undefined) step.details = details;
      job.steps.push(step);
      return job;
    }
    const old = job.steps[i];
    const s: JobStep = structuredClone(old);
    switch (action) {
      case 'start':
        if (s.status === 'running' || s.status === 'completed' || s.status === 'skipped') return 'unchanged';
        if (s.status === 'failed') s.attempt += 1;
        s.status = 'running';
        s.startedAtMs = nowMs;
        delete s.endedAtMs;
        delete s.error;
        break;
      case 'complete':
        if (s.status === 'completed' && (details === undefined || sameJson(merged(s, details), s.details))) return 'unchanged';
        if (s.status !== 'completed') {
          s.status = 'completed';
          s.endedAtMs = nowMs;
          delete s.error;
        }
        break;
      case 'fail':
        if (s.status === 'failed' && sameJson(s.error, error)) return 'unchanged';
        if (s.status === 'completed' || s.status === 'skipped') s.attempt += 1;
        s.status = 'failed';
        s.endedAtMs = nowMs;
        s.error = error;
        break;
      case 'skip':
        if (s.status === 'completed' || s.status === 'skipped') return 'unchanged';
        s.status = 'skipped';
        s.endedAtMs = nowMs;
        delete s.error;
        break;
    }
    const d = merged(s, details);
    if (d !== undefined) s.details = d;
    if (sameJson(s, old)) return 'unchanged';
    job.steps[i] = s;
    return job;
  };
}

/** Newest first, then by id: the one order of listJobs. */
export function compareJobs(a: JobRecord, b: JobRecord): number {
  return b.createdAtMs - a.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
