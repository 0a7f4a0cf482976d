// Why: the GlobalStatePort on DynamoDB (and dynalite). Every safety-critical change is ONE conditional write
// (PutItem/UpdateItem with a ConditionExpression) on the group's CONFIG item, since dynalite has no transactions;
// lease expiry compares epoch-millisecond NUMBERS. Throttling is retried here with jittered exponential backoff;
// a refused condition is re-read to name the reason, and re-runs of applied writes are recognised as successes.
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClientConfig,
  type GetItemCommandOutput,
  type PutItemCommandInput,
  type QueryCommandInput,
  type QueryCommandOutput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { Logger } from 'pino';
import type { ClockPort } from '../clock/clock.port.ts';
import { localCredentialsFor } from './dynamodb.local-credentials.ts';
import type { CallOpts } from '../cluster/cluster.port.ts';
import { DriverError } from '../errors.ts';
import type { Json, JsonObject } from '../json.ts';
import { realRandom } from '../random/random.real.ts';
import type { RandomPort } from '../random/random.port.ts';
import {
  CLUSTER_SK_PREFIX,
  LOCK_ATTRIBUTES,
  clusterToItem,
  configKey,
  groupPk,
  historyGsi1Pk,
  historyToItem,
  itemToCluster,
  itemToHistory,
  itemToRecord,
  recordToItem,
  toAttr,
  type Item,
} from './dynamodb.codec.ts';
import { DYNAMODB_DRIVER, dynamoErrorKind, isConditionalCheckFailed, toDriverError } from './dynamodb.errors.ts';
import { GSI1 } from './dynamodb.table.ts';
import type {
  AcquireLockInput,
  ClusterStatusRecord,
  CreateGroupInput,
  GlobalStatePort,
  GroupRecord,
  HistoryRecord,
  LeaseProof,
  VolumeHandoff,
} from './globalstate.port.ts';
import {
  GlobalStateValidator,
  decideAcquire,
  guardRefusal,
  handoffOf,
  newGroupRecord,
  transferAlreadyApplied,
  transferRefusal,
  volumeStateAlreadySet,
  type Refusal,
  type TransferInput,
} from './globalstate.rules.ts';

export interface DynamoRetryOptions {
  /** Tries per request, the first included (bounded). Default 6. */
  attemptsMax?: number;
  /** The backoff cap doubles from this per retry. Default 50 ms. */
  baseDelayMs?: number;
  /** The backoff cap never exceeds this. Default 5000 ms. */
  maxDelayMs?: number;
  /** Jitter source (full jitter: a uniform draw in [0, cap]). Default: the OS. */
  random?: RandomPort;
}

export interface DynamoGlobalStateOptions {
  /** Build it with createDynamoDBClient (or `maxAttempts: 1`): this driver does the retrying. */
  client: DynamoDBClient;
  tableName: string;
  /** Lease expiry and timestamps are read from here (inject a controllable clock in tests). */
  clock: ClockPort;
  log?: Logger;
  retry?: DynamoRetryOptions;
}

/**
 * A DynamoDB client for this driver: the SDK's own retries are off, so the driver's backoff is the one that counts.
 * A local endpoint (localhost, 127.0.0.1, [::1]) without configured credentials is signed with dummy ones.
 */
export function createDynamoDBClient(config: DynamoDBClientConfig = {}, env: NodeJS.ProcessEnv = process.env): DynamoDBClient {
  const local = localCredentialsFor(config, env);
  return new DynamoDBClient({ ...config, ...(local ? { credentials: { ...local } } : {}), maxAttempts: 1 });
}

/** Attempts of one acquireLock (read, decide, conditional write) when the record changes under it. */
const ACQUIRE_ROUNDS_MAX = 3;
/** A bound on query pagination (each page is up to 1 MB). */
const QUERY_PAGES_MAX = 1_000;

/** Builds ExpressionAttributeNames/Values: every attribute name is aliased (no reserved-word surprises). */
class Expr {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private readonly aliases = new Map<string, string>();
  private nv = 0;

  name(attr: string): string {
    let a = this.aliases.get(attr);
    if (!a) {
      a = `#n${this.aliases.size}`;
      this.aliases.set(attr, a);
      this.names[a] = attr;
    }
    return a;
  }

  path(...parts: string[]): string {
    return parts.map((p) => this.name(p)).join('.');
  }

  value(v: Json | AttributeValue, raw = false): string {
    const a = `:v${this.nv++}`;
    this.values[a] = raw ? (v as AttributeValue) : toAttr(v as Json);
    return a;
  }

  params(): Pick<UpdateItemCommandInput, 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
    const out: Pick<UpdateItemCommandInput, 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> = {};
    if (Object.keys(this.names).length > 0) out.ExpressionAttributeNames = this.names;
    if (Object.keys(this.values).length > 0) out.ExpressionAttributeValues = this.values;
    return out;
  }

  /** The live-lease guard every write of the lock holder carries. */
  guard(proof: LeaseProof, nowMs: number): string {
    return `${this.name('lockToken')} = ${this.value(proof.leaseToken)} AND ${this.name('fencingToken')} = ${this.value(proof.fencingToken)} AND ${this.name('lockExpiresAt')} >= ${this.value(nowMs)}`;
  }
}

export class DynamoGlobalState implements GlobalStatePort {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly clock: ClockPort;
  private readonly log?: Logger;
  private readonly attemptsMax: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: RandomPort;

  constructor(options: DynamoGlobalStateOptions) {
    if (!options || !options.client) throw new TypeError('DynamoGlobalState: options.client is required: pass a DynamoDBClient (createDynamoDBClient)');
    if (typeof options.tableName !== 'string' || options.tableName.length < 3) {
      throw new TypeError(`DynamoGlobalState: options.tableName must be a DynamoDB table name of 3 to 255 characters (got ${JSON.stringify(options.tableName)})`);
    }
    if (!options.clock) throw new TypeError('DynamoGlobalState: options.clock is required: pass realClock (drivers/clock/clock.real.ts)');
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock;
    this.log = options.log?.child({ driver: DYNAMODB_DRIVER, table: options.tableName });
    this.attemptsMax = options.retry?.attemptsMax ?? 6;
    this.baseDelayMs = options.retry?.baseDelayMs ?? 50;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 5_000;
    this.random = options.retry?.random ?? realRandom;
    if (!Number.isSafeInteger(this.attemptsMax) || this.attemptsMax < 1) throw new TypeError(`DynamoGlobalState: retry.attemptsMax must be a whole number of 1 or more (got ${this.attemptsMax})`);
  }

  async getGroup(groupId: string, opts?: CallOpts): Promise<GroupRecord | undefined> {
    const op = 'globalstate.getGroup';
    this.v(op).groupId(groupId);
    return this.readRecord(op, groupId, opts);
  }

  async createGroup(input: CreateGroupInput, opts?: CallOpts): Promise<GroupRecord> {
    const op = 'globalstate.createGroup';
    this.v(op).createGroup(input);
    const record = newGroupRecord(input, this.clock.now());
    const x = new Expr();
    try {
      await this.put(op, { TableName: this.tableName, Item: recordToItem(record), ConditionExpression: `attribute_not_exists(${x.name('PK')})`, ...x.params() }, opts);
    } catch (e) {
      if (isConditionalCheckFailed(e)) throw this.conflict(op, e, { reason: 'AlreadyExists', message: `group ${input.groupId} already exists` }, input.groupId);
      throw e;
    }
    return record;
  }

  async setSuspended(groupId: string, suspended: boolean, reason: string | undefined, opts?: CallOpts): Promise<GroupRecord> {
    const op = 'globalstate.setSuspended';
    const v = this.v(op);
    v.groupId(groupId);
    if (typeof suspended !== 'boolean') v.fail('suspended', 'must be true or false', 'pass a boolean');
    v.optionalText('reason', reason);
    const x = new Expr();
    const now = this.clock.now();
    const set = [`${x.name('suspended')} = ${x.value(suspended)}`, `${x.name('updatedAtMs')} = ${x.value(now)}`];
    const keepReason = suspended && reason !== undefined;
    if (keepReason) set.push(`${x.name('suspensionReason')} = ${x.value(reason)}`);
    const update = `SET ${set.join(', ')}${keepReason ? '' : ` REMOVE ${x.name('suspensionReason')}`}`;
    try {
      return await this.update(op, { Key: configKey(groupId), UpdateExpression: update, ConditionExpression: `attribute_exists(${x.name('PK')})`, ...x.params() }, opts);
    } catch (e) {
      if (isConditionalCheckFailed(e)) throw this.notFound(op, groupId, e);
      throw e;
    }
  }

  async acquireLock(groupId: string, input: AcquireLockInput, opts?: CallOpts): Promise<GroupRecord> {
    const op = 'globalstate.acquireLock';
    const v = this.v(op);
    v.groupId(groupId);
    v.acquire(input);
    let lastFailure: unknown;
    for (let round = 0; round < ACQUIRE_ROUNDS_MAX; round++) {
      const record = await this.readRecord(op, groupId, opts);
      if (!record) throw this.notFound(op, groupId);
      const now = this.clock.now();
      const decision = decideAcquire(record, input, now);
      if (decision.action === 'refuse') throw this.conflict(op, lastFailure, decision.refusal, groupId);
      const x = new Expr();
      const expires = x.value(now + input.ttlMs);
      const nowV = x.value(now);
      let params: Omit<UpdateItemCommandInput, 'TableName'>;
      if (decision.action === 'reacquire') {
        // The same lease re-acquiring (a re-run after a lost answer): extend it, keep the fencing token.
        params = {
          Key: configKey(groupId),
          UpdateExpression: `SET ${x.name('lockExpiresAt')} = ${expires}, ${x.name('updatedAtMs')} = ${nowV}`,
          ConditionExpression: `${x.name('lockToken')} = ${x.value(input.leaseToken)} AND ${x.name('lockHolder')} = ${x.value(input.holder)} AND ${x.name('lockExpiresAt')} >= ${nowV}`,
        };
      } else {
        // Free or expired: take it and issue the next fencing token, in the same conditional write. A forced acquire
        // does not require the group to be resumed (the suspension check is dropped from the condition, nothing else).
        const notSuspended = input.force === true ? '' : `${x.name('suspended')} = ${x.value(false)} AND `;
        params = {
          Key: configKey(groupId),
          UpdateExpression:
            `SET ${x.name('lockHolder')} = ${x.value(input.holder)}, ${x.name('lockToken')} = ${x.value(input.leaseToken)}, ` +
            `${x.name('lockReason')} = ${x.value(input.reason)}, ${x.name('lockAcquiredAt')} = ${nowV}, ${x.name('lockExpiresAt')} = ${expires}, ` +
            `${x.name('lockFailoverId')} = ${x.value(input.failoverId)}, ${x.name('fencingToken')} = ${x.name('fencingToken')} + ${x.value(1)}, ` +
            `${x.name('updatedAtMs')} = ${nowV}`,
          ConditionExpression:
            `attribute_exists(${x.name('PK')}) AND ${notSuspended}` +
            `(attribute_not_exists(${x.name('lockToken')}) OR ${x.name('lockExpiresAt')} < ${nowV})`,
        };
      }
      try {
        const updated = await this.update(op, { ...params, ...x.params() }, opts);
        this.log?.debug({ op, groupId, holder: input.holder, fencingToken: updated.fencingToken, action: decision.action }, 'Acquired group lock');
        return updated;
      } catch (e) {
        if (!isConditionalCheckFailed(e)) throw e;
        lastFailure = e; // the record changed between the read and the write: read again and decide again
      }
    }
    const record = await this.readRecord(op, groupId, opts);
    if (!record) throw this.notFound(op, groupId, lastFailure);
    const decision = decideAcquire(record, input, this.clock.now());
    const refusal: Refusal =
      decision.action === 'refuse' ? decision.refusal : { reason: 'Locked', message: `group ${groupId}: the lock changed hands during ${ACQUIRE_ROUNDS_MAX} attempts: try again` };
    throw this.conflict(op, lastFailure, refusal, groupId);
  }

  async renewLock(groupId: string, proof: LeaseProof, ttlMs: number, opts?: CallOpts): Promise<GroupRecord> {
    const op = 'globalstate.renewLock';
    const v = this.v(op);
    v.groupId(groupId);
    v.proof(proof);
    v.positiveInt('ttlMs', ttlMs);
    const now = this.clock.now();
    const x = new Expr();
    return this.guardedUpdate(op, groupId, proof, now, x, `SET ${x.name('lockExpiresAt')} = ${x.value(now + ttlMs)}, ${x.name('updatedAtMs')} = ${x.value(now)}`, opts);
  }

  async releaseLock(groupId: string, leaseToken: string, opts?: CallOpts): Promise<boolean> {
    const op = 'globalstate.releaseLock';
    const v = this.v(op);
    v.groupId(groupId);
    v.text('leaseToken', leaseToken);
    const x = new Expr();
    try {
      await this.update(
        op,
        {
          Key: configKey(groupId),
          UpdateExpression: `SET ${x.name('updatedAtMs')} = ${x.value(this.clock.now())} REMOVE ${LOCK_ATTRIBUTES.map((a) => x.name(a)).join(', ')}`,
          ConditionExpression: `${x.name('lockToken')} = ${x.value(leaseToken)}`,
          ...x.params(),
        },
        opts,
      );
      return true;
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
      // Not held by this lease (released already, taken over, or never held): nothing to do, unless no group.
      if (!(await this.readRecord(op, groupId, opts))) throw this.notFound(op, groupId, e);
      return false;
    }
  }

  async setVolumeState(groupId: string, proof: LeaseProof, handoff: Omit<VolumeHandoff, 'fencingToken' | 'updatedAtMs'>, opts?: CallOpts): Promise<GroupRecord> {
    const op = 'globalstate.setVolumeState';
    const v = this.v(op);
    v.groupId(groupId);
    v.proof(proof);
    v.handoff(handoff);
    const now = this.clock.now();
    const x = new Expr();
    const set = `SET ${x.name('volumeState')} = ${x.value({ ...handoffOf(proof, handoff, now) })}, ${x.name('updatedAtMs')} = ${x.value(now)}`;
    return this.guardedUpdate(op, groupId, proof, now, x, set, opts, (record) => volumeStateAlreadySet(record, proof, handoff));
  }

  async patchMetadata(groupId: string, proof: LeaseProof, metadata: JsonObject, opts?: CallOpts): Promise<GroupRecord> {
    const op = 'globalstate.patchMetadata';
    const v = this.v(op);
    v.groupId(groupId);
    v.proof(proof);
    v.jsonObject('metadata', metadata);
    const now = this.clock.now();
    const x = new Expr();
    const set = [`${x.name('updatedAtMs')} = ${x.value(now)}`];
    const remove: string[] = [];
    for (const key of Object.keys(metadata).sort()) {
      const value = metadata[key];
      if (value === undefined) continue;
      if (value === null) remove.push(x.path('metadata', key));
      else set.push(`${x.path('metadata', key)} = ${x.value(value)}`);
    }
    const update = `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`;
    return this.guardedUpdate(op, groupId, proof, now, x, update, opts);
  }

  async transferOwnership(groupId: string, input: TransferInput, opts?: CallOpts): Promise<GroupRecord> {
    const op = 'globalstate.transferOwnership';
    const v = this.v(op);
    v.groupId(groupId);
    v.transfer(input);
    const now = this.clock.now();
    const x = new Expr();
    const one = x.value(1);
    const set = [
      `${x.name('ownerCluster')} = ${x.value(input.to)}`,
      `${x.name('previousOwner')} = ${x.value(input.from)}`,
      `${x.name('version')} = ${x.name('version')} + ${one}`,
      `${x.name('lastFailover')} = ${x.value({ failoverId: input.failoverId, atMs: now, sourceCluster: input.from, targetCluster: input.to })}`,
      `${x.name('updatedAtMs')} = ${x.value(now)}`,
    ];
    let remove = '';
    let condition = `${x.name('ownerCluster')} = ${x.value(input.from)} AND ${x.name('version')} = ${x.value(input.expectedVersion)}`;
    if (input.proof) {
      condition += ` AND ${x.guard(input.proof, now)}`;
    } else {
      // Fencing without the lock: revoke any lease and issue a new fencing token in the same write, so every
      // proof handed out before (the unreachable old owner's included) is refused from now on.
      set.push(`${x.name('fencingToken')} = ${x.name('fencingToken')} + ${one}`);
      remove = ` REMOVE ${LOCK_ATTRIBUTES.map((a) => x.name(a)).join(', ')}`;
    }
    try {
      const updated = await this.update(op, { Key: configKey(groupId), UpdateExpression: `SET ${set.join(', ')}${remove}`, ConditionExpression: condition, ...x.params() }, opts);
      this.log?.info({ op, groupId, from: input.from, to: input.to, version: updated.version, failoverId: input.failoverId, guarded: input.proof !== undefined }, 'Transferred group ownership');
      return updated;
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
      const record = await this.readRecord(op, groupId, opts);
      if (!record) throw this.notFound(op, groupId, e);
      if (transferAlreadyApplied(record, input)) return record;
      const refusal = transferRefusal(record, input, now) ?? { reason: 'VersionMismatch', message: `group ${groupId} changed during the transfer: read it again` };
      throw this.conflict(op, e, refusal, groupId);
    }
  }

  async heartbeat(status: Omit<ClusterStatusRecord, 'lastHeartbeatMs'>, opts?: CallOpts): Promise<ClusterStatusRecord> {
    const op = 'globalstate.heartbeat';
    this.v(op).clusterStatus(status);
    if (!(await this.groupExists(op, status.groupId, opts))) throw this.notFound(op, status.groupId);
    const rec: ClusterStatusRecord = { groupId: status.groupId, cluster: status.cluster, health: status.health, role: status.role, lastHeartbeatMs: this.clock.now() };
    if (status.components !== undefined) rec.components = JSON.parse(JSON.stringify(status.components)) as JsonObject;
    await this.put(op, { TableName: this.tableName, Item: clusterToItem(rec) }, opts);
    return rec;
  }

  async listClusters(groupId: string, opts?: CallOpts): Promise<ClusterStatusRecord[]> {
    const op = 'globalstate.listClusters';
    this.v(op).groupId(groupId);
    const x = new Expr();
    const items = await this.query(
      op,
      {
        KeyConditionExpression: `${x.name('PK')} = ${x.value(groupPk(groupId))} AND begins_with(${x.name('SK')}, ${x.value(CLUSTER_SK_PREFIX)})`,
        ConsistentRead: true,
        ...x.params(),
      },
      undefined,
      opts,
    );
    return items.map(itemToCluster);
  }

  async recordHistory(entry: HistoryRecord, opts?: CallOpts): Promise<boolean> {
    const op = 'globalstate.recordHistory';
    this.v(op).history(entry);
    if (!(await this.groupExists(op, entry.groupId, opts))) throw this.notFound(op, entry.groupId);
    const x = new Expr();
    try {
      await this.put(op, { TableName: this.tableName, Item: historyToItem(entry), ConditionExpression: `attribute_not_exists(${x.name('PK')})`, ...x.params() }, opts);
      return true;
    } catch (e) {
      // The item for this failoverId exists: recorded before (possibly by a call whose answer was lost).
      if (isConditionalCheckFailed(e)) return false;
      throw e;
    }
  }

  async listHistory(groupId: string, opts?: CallOpts & { limit?: number }): Promise<HistoryRecord[]> {
    const op = 'globalstate.listHistory';
    const v = this.v(op);
    v.groupId(groupId);
    const limit = v.limit(opts?.limit);
    const x = new Expr();
    const items = await this.query(op, { IndexName: GSI1, KeyConditionExpression: `${x.name('GSI1PK')} = ${x.value(historyGsi1Pk(groupId))}`, ScanIndexForward: false, ...x.params() }, limit, opts);
    return items.map(itemToHistory);
  }

  // ---------------------------------------------------------------------------------------------------------

  private v(op: string): GlobalStateValidator {
    return new GlobalStateValidator(DYNAMODB_DRIVER, op);
  }

  /** A write guarded by the live lease; a refusal is re-read to name its reason (or recognised as an applied re-run). */
  private async guardedUpdate(
    op: string,
    groupId: string,
    proof: LeaseProof,
    now: number,
    x: Expr,
    update: string,
    opts: CallOpts | undefined,
    alreadySet?: (record: GroupRecord) => boolean,
  ): Promise<GroupRecord> {
    const condition = x.guard(proof, now);
    try {
      return await this.update(op, { Key: configKey(groupId), UpdateExpression: update, ConditionExpression: condition, ...x.params() }, opts);
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
      const record = await this.readRecord(op, groupId, opts);
      if (!record) throw this.notFound(op, groupId, e);
      if (alreadySet?.(record)) return record;
      const refusal = guardRefusal(record, proof, now) ?? { reason: 'LeaseLost', message: `group ${groupId}: the lease changed during the write: read the group again` };
      throw this.conflict(op, e, refusal, groupId);
    }
  }

  private async readRecord(op: string, groupId: string, opts: CallOpts | undefined): Promise<GroupRecord | undefined> {
    const out = await this.attempt(op, true, opts, (abortSignal) =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: configKey(groupId), ConsistentRead: true }), { abortSignal }),
    );
    return out.Item ? itemToRecord(out.Item) : undefined;
  }

  private async groupExists(op: string, groupId: string, opts: CallOpts | undefined): Promise<boolean> {
    const out: GetItemCommandOutput = await this.attempt(op, true, opts, (abortSignal) =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: configKey(groupId), ConsistentRead: true, ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': 'PK' } }), { abortSignal }),
    );
    return out.Item !== undefined;
  }

  private async update(op: string, input: Omit<UpdateItemCommandInput, 'TableName'>, opts: CallOpts | undefined): Promise<GroupRecord> {
    const out = await this.attempt(op, false, opts, (abortSignal) =>
      this.client.send(new UpdateItemCommand({ ...input, TableName: this.tableName, ReturnValues: 'ALL_NEW' }), { abortSignal }),
    );
    if (!out.Attributes) throw new DriverError('Fatal', DYNAMODB_DRIVER, op, `${op}: UpdateItem returned no attributes (ReturnValues ALL_NEW was ignored)`);
    return itemToRecord(out.Attributes);
  }

  private async put(op: string, input: PutItemCommandInput, opts: CallOpts | undefined): Promise<void> {
    await this.attempt(op, false, opts, (abortSignal) => this.client.send(new PutItemCommand(input), { abortSignal }));
  }

  private async query(op: string, input: Omit<QueryCommandInput, 'TableName'>, limit: number | undefined, opts: CallOpts | undefined): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, AttributeValue> | undefined;
    for (let page = 0; page < QUERY_PAGES_MAX; page++) {
      const remaining = limit === undefined ? undefined : limit - items.length;
      const out: QueryCommandOutput = await this.attempt(op, true, opts, (abortSignal) =>
        this.client.send(new QueryCommand({ ...input, TableName: this.tableName, ...(remaining !== undefined ? { Limit: remaining } : {}), ...(start ? { ExclusiveStartKey: start } : {}) }), {
          abortSignal,
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
      if (!start || (limit !== undefined && items.length >= limit)) return limit === undefined ? items : items.slice(0, limit);
    }
    throw new DriverError('Fatal', DYNAMODB_DRIVER, op, `${op}: more than ${QUERY_PAGES_MAX} pages of results: the partition is too large to list`);
  }

  /**
   * One request with bounded, jittered exponential backoff. Throttling is always retried (DynamoDB did not apply
   * a throttled request). Other transient failures are retried for reads only: a write that failed that way may
   * have applied, and its caller (a chart step, idempotent by design) decides. A refused condition is returned
   * raw for the caller to explain; everything else becomes a DriverError here.
   */
  private async attempt<T>(op: string, isRead: boolean, opts: CallOpts | undefined, send: (abortSignal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const signal = opts?.signal;
    const log = opts?.log ?? this.log;
    const started = this.clock.now();
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw signal.reason;
      try {
        const out = await send(signal);
        log?.debug({ driver: DYNAMODB_DRIVER, op, attempts: attempt, durationMs: this.clock.now() - started, outcome: 'ok' }, 'Called DynamoDB');
        return out;
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        if (isConditionalCheckFailed(e)) {
          log?.debug({ driver: DYNAMODB_DRIVER, op, attempts: attempt, durationMs: this.clock.now() - started, outcome: 'conditionFailed' }, 'Called DynamoDB');
          throw e;
        }
        const kind = dynamoErrorKind(e);
        const retryable = kind === 'Throttled' || (isRead && kind === 'Transient');
        if (!retryable || attempt >= this.attemptsMax) {
          const err = toDriverError(op, e, { tableName: this.tableName, details: { attempts: String(attempt) } });
          log?.debug({ driver: DYNAMODB_DRIVER, op, attempts: attempt, durationMs: this.clock.now() - started, outcome: 'error', kind: err.kind, reason: err.reason }, 'Called DynamoDB');
          throw err;
        }
        const capMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = this.random.int(0, capMs);
        log?.debug({ driver: DYNAMODB_DRIVER, op, attempt, kind, delayMs }, 'Retrying DynamoDB request');
        await this.clock.sleep(delayMs, signal);
      }
    }
  }

  private conflict(op: string, cause: unknown, refusal: Refusal, groupId: string): DriverError {
    if (cause === undefined) return new DriverError('Conflict', DYNAMODB_DRIVER, op, refusal.message, { reason: refusal.reason, details: { groupId, table: this.tableName } });
    return toDriverError(op, cause, { tableName: this.tableName, conflict: refusal, details: { groupId } });
  }

  private notFound(op: string, groupId: string, cause?: unknown): DriverError {
    return new DriverError('NotFound', DYNAMODB_DRIVER, op, `group ${groupId} does not exist in table ${this.tableName}: create it first (createGroup)`, {
      reason: 'GroupNotFound',
      details: { groupId, table: this.tableName },
      ...(cause !== undefined ? { cause } : {}),
    });
  }
}
