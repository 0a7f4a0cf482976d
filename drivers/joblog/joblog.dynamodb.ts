// Why: the job log on DynamoDB: one item per job (status, progress and steps together), changed only by single
// conditional writes on its version, so it works on dynalite (no transactions) and two writers never lose each
// other's step. It uses the global-state table schema (PK/SK, GSI1), so ensureTable creates its table too.
//   item: PK `JOB#<id>`, SK `JOB`, GSI1PK `VMJOBS#<vmId>`, GSI1SK `<createdAtMs, 15 digits>#<id>`, version, status, doc (the JobRecord as JSON)
import { GetItemCommand, PutItemCommand, QueryCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClockPort } from '../clock/clock.port.ts';
import { DriverError, type StepError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { GSI1 } from '../globalstate/dynamodb.table.ts';
import { isConditionalCheckFailed, toDriverError } from '../globalstate/dynamodb.errors.ts';
import { isTerminalJobStatus, JOBLOG_DRIVER, type CallOpts, type CreateJobRequest, type JobFilter, type JobLogPort, type JobRecord, type JobStatus } from './joblog.port.ts';
import { applyMutation, checkSameJob, compareJobs, newJob, notFound, requireJobId, setStatusMutation, stepMutation, validateCreate, type JobMutation } from './joblog.rules.ts';

type Item = Record<string, AttributeValue>;

export interface DynamoJobLogOptions {
  tableName: string;
  clock: ClockPort;
  /** Compare-and-set attempts per write when other writers race it (default 8). */
  casAttemptMax?: number;
  /** A bound on pages per list call (default 100). */
  pageMax?: number;
}

const jobPk = (id: string) => `JOB#${id}`;
const JOB_SK = 'JOB';
const vmPk = (vmId: string) => `VMJOBS#${vmId}`;
const vmSk = (j: JobRecord) => `${String(j.createdAtMs).padStart(15, '0')}#${j.id}`;

function toItem(j: JobRecord): Item {
  return {
    PK: { S: jobPk(j.id) },
    SK: { S: JOB_SK },
    GSI1PK: { S: vmPk(j.vmId) },
    GSI1SK: { S: vmSk(j) },
    version: { N: String(j.version) },
    status: { S: j.status },
    doc: { S: JSON.stringify(j) },
  };
}

function fromItem(item: Item, op: string): JobRecord {
  const doc = item.doc?.S;
  if (!doc) throw new DriverError('Fatal', JOBLOG_DRIVER, op, `${op}: job item ${item.PK?.S ?? '?'} has no doc attribute (not written by this driver?)`);
  return JSON.parse(doc) as JobRecord;
}

export class DynamoJobLog implements JobLogPort {
  private readonly table: string;
  private readonly clock: ClockPort;
  private readonly casAttemptMax: number;
  private readonly pageMax: number;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoJobLogOptions,
  ) {
    if (typeof options.tableName !== 'string' || options.tableName === '') throw new Error('joblog.tableName: missing; give the DynamoDB table (created by ensureTable, docs/cloudstack.md)');
    this.table = options.tableName;
    this.clock = options.clock;
    this.casAttemptMax = options.casAttemptMax ?? 8;
    this.pageMax = options.pageMax ?? 100;
  }

  async createJob(req: CreateJobRequest, opts?: CallOpts): Promise<JobRecord> {
    const op = 'createJob';
    validateCreate(req);
    const job = newJob(req, this.clock.now());
    try {
      await this.client.send(new PutItemCommand({ TableName: this.table, Item: toItem(job), ConditionExpression: 'attribute_not_exists(PK)' }), { abortSignal: opts?.signal });
      return job;
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw this.err(op, e);
    }
    const existing = await this.read(op, req.id, opts);
    if (!existing) throw new DriverError('Conflict', JOBLOG_DRIVER, op, `${op}: job ${req.id} was there and is gone: retry`, { reason: 'Raced' });
    return checkSameJob(existing, req);
  }

  async getJob(jobId: string, opts?: CallOpts): Promise<JobRecord | undefined> {
    requireJobId('getJob', jobId);
    return this.read('getJob', jobId, opts);
  }

  async listJobs(filter: JobFilter = {}, opts?: CallOpts): Promise<JobRecord[]> {
    const op = 'listJobs';
    const out: JobRecord[] = [];
    let start: Item | undefined;
    for (let page = 0; page < this.pageMax; page++) {
      try {
        const res =
          filter.vmId !== undefined
            ? await this.client.send(
                new QueryCommand({
                  TableName: this.table,
                  IndexName: GSI1,
                  KeyConditionExpression: 'GSI1PK = :pk',
                  ExpressionAttributeValues: { ':pk': { S: vmPk(filter.vmId) } },
                  ExclusiveStartKey: start,
                }),
                { abortSignal: opts?.signal },
              )
            : await this.client.send(
                new ScanCommand({
                  TableName: this.table,
                  FilterExpression: 'begins_with(PK, :p) AND SK = :sk',
                  ExpressionAttributeValues: { ':p': { S: 'JOB#' }, ':sk': { S: JOB_SK } },
                  ExclusiveStartKey: start,
                  ConsistentRead: true,
                }),
                { abortSignal: opts?.signal },
              );
        for (const item of res.Items ?? []) out.push(fromItem(item, op));
        start = res.LastEvaluatedKey;
      } catch (e) {
        throw this.err(op, e);
      }
      if (!start) break;
    }
    if (start) throw new DriverError('Fatal', JOBLOG_DRIVER, op, `${op}: more than ${this.pageMax} pages of jobs`);
    return out.filter((j) => !filter.activeOnly || !isTerminalJobStatus(j.status)).sort(compareJobs);
  }

  async setStatus(jobId: string, status: JobStatus, opts?: CallOpts & { error?: StepError }): Promise<JobRecord> {
    return this.mutate('setStatus', jobId, setStatusMutation(status, opts?.error), opts);
  }
  async startStep(jobId: string, name: string, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord> {
    return this.mutate('startStep', jobId, stepMutation('start', name, opts?.details), opts);
  }
  async completeStep(jobId: string, name: string, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord> {
    return this.mutate('completeStep', jobId, stepMutation('complete', name, opts?.details), opts);
  }
  async failStep(jobId: string, name: string, error: StepError, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord> {
    return this.mutate('failStep', jobId, stepMutation('fail', name, opts?.details, error), opts);
  }
  async skipStep(jobId: string, name: string, opts?: CallOpts & { details?: JsonObject }): Promise<JobRecord> {
    return this.mutate('skipStep', jobId, stepMutation('skip', name, opts?.details), opts);
  }

  /** Read, apply, write back only if the version is unchanged; a lost race is re-read and re-applied (bounded). */
  private async mutate(op: string, jobId: string, m: JobMutation, opts?: CallOpts): Promise<JobRecord> {
    requireJobId(op, jobId);
    for (let attempt = 1; attempt <= this.casAttemptMax; attempt++) {
      const job = await this.read(op, jobId, opts);
      if (!job) throw notFound(op, jobId);
      const next = applyMutation(op, job, m, this.clock.now());
      if (next === 'unchanged') return job;
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: toItem(next),
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':v': { N: String(job.version) } },
          }),
          { abortSignal: opts?.signal },
        );
        return next;
      } catch (e) {
        if (!isConditionalCheckFailed(e)) throw this.err(op, e);
        opts?.log?.debug({ driver: JOBLOG_DRIVER, op, jobId, attempt }, 'Retried job write after a concurrent change');
      }
    }
    throw new DriverError('Conflict', JOBLOG_DRIVER, op, `${op}: job ${jobId} kept changing under ${this.casAttemptMax} attempts`, { reason: 'ContentionExhausted', details: { jobId } });
  }

  private async read(op: string, jobId: string, opts?: CallOpts): Promise<JobRecord | undefined> {
    try {
      const res = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { PK: { S: jobPk(jobId) }, SK: { S: JOB_SK } }, ConsistentRead: true }), {
        abortSignal: opts?.signal,
      });
      return res.Item ? fromItem(res.Item, op) : undefined;
    } catch (e) {
      throw this.err(op, e);
    }
  }

  private err(op: string, e: unknown): DriverError {
    return toDriverError(`joblog.${op}`, e, { tableName: this.table });
  }
}
