// Why: the job log in memory, for the simulator and tests: deterministic (time from the injected clock), with
// the same rules as the DynamoDB implementation (joblog.rules.ts).
import type { ClockPort } from '../clock/clock.port.ts';
import type { StepError } from '../errors.ts';
import { jsonClone, type JsonObject } from '../json.ts';
import { isTerminalJobStatus, type CallOpts, type CreateJobRequest, type JobFilter, type JobLogPort, type JobRecord, type JobStatus } from './joblog.port.ts';
import { applyMutation, checkSameJob, compareJobs, newJob, notFound, requireJobId, setStatusMutation, stepMutation, validateCreate, type JobMutation } from './joblog.rules.ts';

export class MemoryJobLog implements JobLogPort {
  private readonly jobs = new Map<string, JobRecord>();

  constructor(private readonly clock: ClockPort) {}

  async createJob(req: CreateJobRequest, _opts?: CallOpts): Promise<JobRecord> {
    validateCreate(req);
    const existing = this.jobs.get(req.id);
    if (existing) return jsonClone(checkSameJob(existing, req));
    const job = newJob(req, this.clock.now());
    this.jobs.set(job.id, job);
    return jsonClone(job);
  }

  async getJob(jobId: string, _opts?: CallOpts): Promise<JobRecord | undefined> {
    requireJobId('getJob', jobId);
    const j = this.jobs.get(jobId);
    return j ? jsonClone(j) : undefined;
  }

  async listJobs(filter: JobFilter = {}, _opts?: CallOpts): Promise<JobRecord[]> {
    return [...this.jobs.values()]
      .filter((j) => (filter.vmId === undefined || j.vmId === filter.vmId) && (!filter.activeOnly || !isTerminalJobStatus(j.status)))
      .sort(compareJobs)
      .map((j) => jsonClone(j));
  }

  async setStatus(jobId: string, status: JobStatus, opts?: CallOpts & { error?: StepError }): Promise<JobRecord> {
    return this.mutate('setStatus', jobId, setStatusMutation(status, opts?.error));
  }
  async startStep(jobId: string, name: string, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord> {
    return this.mutate('startStep', jobId, stepMutation('start', name, opts?.details));
  }
  async completeStep(jobId: string, name: string, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord> {
    return this.mutate('completeStep', jobId, stepMutation('complete', name, opts?.details));
  }
  async failStep(jobId: string, name: string, error: StepError, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord> {
    return this.mutate('failStep', jobId, stepMutation('fail', name, opts?.details, error));
  }
  async skipStep(jobId: string, name: string, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord> {
    return this.mutate('skipStep', jobId, stepMutation('skip', name, opts?.details));
  }

  private async mutate(op: string, jobId: string, m: JobMutation): Promise<JobRecord> {
    requireJobId(op, jobId);
    const job = this.jobs.get(jobId);
    if (!job) throw notFound(op, jobId);
    const next = applyMutation(op, job, m, this.clock.now());
    if (next === 'unchanged') return jsonClone(job);
    this.jobs.set(jobId, next);
    return jsonClone(next);
  }
}
