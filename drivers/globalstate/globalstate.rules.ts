// Why: the decisions every GlobalStatePort implementation must take identically (when a lease is live, which
// reason a refused write gets, when a re-run is an idempotent success, how input is validated), in one pure
// module, so the simulator's store and the DynamoDB driver cannot drift apart. The DynamoDB driver enforces them
// with conditional writes; the contract suite checks both against the same expectations.
import { DriverError } from '../errors.ts';
import type { Json, JsonObject } from '../json.ts';
import type {
  AcquireLockInput,
  ClusterHealth,
  ClusterRole,
  ClusterStatusRecord,
  CreateGroupInput,
  GroupLock,
  GroupRecord,
  HistoryRecord,
  LeaseProof,
  VolumeHandoff,
  VolumeHandoffState,
} from './globalstate.port.ts';

/** The reasons a GlobalStatePort Conflict carries (DriverError.reason). */
export const GlobalStateConflict = {
  /** createGroup: the group already exists. */
  AlreadyExists: 'AlreadyExists',
  /** acquireLock: another lease holds the lock and has not expired. */
  Locked: 'Locked',
  /** A guarded write or renew: this lease expired, was released, or another holder has the lock now. */
  LeaseLost: 'LeaseLost',
  /** A guarded write: the lease token matches but the fencing token is not the record's (an older acquisition). */
  StaleFencingToken: 'StaleFencingToken',
  /** transferOwnership: the record's version is not the expected one (someone changed ownership first). */
  VersionMismatch: 'VersionMismatch',
  /** transferOwnership: the record is not owned by `from`. */
  NotOwner: 'NotOwner',
  /** acquireLock: automatic failovers are suspended for the group. */
  Suspended: 'Suspended',
} as const;
export type GlobalStateConflictReason = (typeof GlobalStateConflict)[keyof typeof GlobalStateConflict];

/** The version a new group record starts at; every ownership change adds one. */
export const INITIAL_GROUP_VERSION = 1;
/** The fencing token of a group that was never locked; the first acquisition issues 1. */
export const INITIAL_FENCING_TOKEN = 0;

export const CLUSTER_HEALTHS: readonly ClusterHealth[] = ['OK', 'DEGRADED', 'ERROR', 'UNKNOWN'];
export const CLUSTER_ROLES: readonly ClusterRole[] = ['PRIMARY', 'STANDBY', 'FAILOVER', 'FAILBACK'];
export const VOLUME_HANDOFF_STATES: readonly VolumeHandoffState[] = ['READY_FOR_PROMOTION', 'PROMOTED', 'COMPLETED', 'FAILED'];
const HISTORY_STATUSES = ['SUCCESS', 'FAILED', 'ROLLED_BACK'] as const;
const HISTORY_MODES = ['CONSISTENCY', 'UPTIME'] as const;
const HISTORY_TYPES = ['planned', 'unplanned'] as const;

export interface Refusal {
  reason: GlobalStateConflictReason;
  message: string;
}

/** A lease is live up to and including its expiry millisecond; numbers are compared, never strings. */
export function leaseLive(lock: GroupLock | undefined, nowMs: number): boolean {
  return lock !== undefined && lock.expiresAtMs >= nowMs;
}

export function newGroupRecord(input: CreateGroupInput, nowMs: number): GroupRecord {
  return {
    groupId: input.groupId,
    ownerCluster: input.ownerCluster,
    version: INITIAL_GROUP_VERSION,
    fencingToken: INITIAL_FENCING_TOKEN,
    suspended: false,
    timeouts: { ...input.timeouts },
    heartbeatIntervalMs: input.heartbeatIntervalMs,
    metadata: dropUndefined(input.metadata ?? {}),
    updatedAtMs: nowMs,
  };
}

export type AcquireDecision =
  /** The same lease (token and holder) still holds the lock: extend it, keep the fencing token. */
  | { action: 'reacquire' }
  /** The lock is free or its lease expired: take it and issue fencing token + 1. */
  | { action: 'take' }
  | { action: 'refuse'; refusal: Refusal };

export function decideAcquire(record: GroupRecord, input: AcquireLockInput, nowMs: number): AcquireDecision {
  const lock = record.lock;
  if (lock && leaseLive(lock, nowMs) && lock.leaseToken === input.leaseToken && lock.holder === input.holder) return { action: 'reacquire' };
  if (record.suspended && input.force !== true) {
    return {
      action: 'refuse',
      refusal: {
        reason: 'Suspended',
        message: `group ${record.groupId} is suspended${record.suspensionReason ? ` (${record.suspensionReason})` : ''}: resume it before starting a failover, or force the failover`,
      },
    };
  }
  if (lock && leaseLive(lock, nowMs)) {
    return {
      action: 'refuse',
      refusal: {
        reason: 'Locked',
        message: `group ${record.groupId} is locked by ${lock.holder} for failover ${lock.failoverId} until ${lock.expiresAtMs} (now ${nowMs})`,
      },
    };
  }
  return { action: 'take' };
}

/** Why a write guarded by `proof` is refused now, or undefined when the proof holds. */
export function guardRefusal(record: GroupRecord, proof: LeaseProof, nowMs: number): Refusal | undefined {
  const lock = record.lock;
  if (lock === undefined || lock.leaseToken !== proof.leaseToken) {
    return {
      reason: 'LeaseLost',
      message: lock === undefined ? `group ${record.groupId}: the lock is not held (released, expired and fenced, or never taken)` : `group ${record.groupId}: the lock is held by another lease (${lock.holder}, fencing token ${record.fencingToken})`,
    };
  }
  if (!leaseLive(lock, nowMs)) {
    return { reason: 'LeaseLost', message: `group ${record.groupId}: the lease expired at ${lock.expiresAtMs} (now ${nowMs})` };
  }
  if (record.fencingToken !== proof.fencingToken) {
    return {
      reason: 'StaleFencingToken',
      message: `group ${record.groupId}: fencing token ${proof.fencingToken} is not the current one (${record.fencingToken})`,
    };
  }
  return undefined;
}

export interface TransferInput {
  from: string;
  to: string;
  expectedVersion: number;
  failoverId: string;
  proof?: LeaseProof;
}

/** Why an ownership transfer is refused now, or undefined when it may apply. */
export function transferRefusal(record: GroupRecord, input: TransferInput, nowMs: number): Refusal | undefined {
  if (record.ownerCluster !== input.from) {
    return { reason: 'NotOwner', message: `group ${record.groupId} is owned by ${record.ownerCluster}, not ${input.from}` };
  }
  if (record.version !== input.expectedVersion) {
    return { reason: 'VersionMismatch', message: `group ${record.groupId} is at version ${record.version}, not ${input.expectedVersion}` };
  }
  return input.proof ? guardRefusal(record, input.proof, nowMs) : undefined;
}

/** True when this very transfer (same failover, same from/to, from expectedVersion) already applied. */
export function transferAlreadyApplied(record: GroupRecord, input: TransferInput): boolean {
  return (
    record.ownerCluster === input.to &&
    record.previousOwner === input.from &&
    record.version === input.expectedVersion + 1 &&
    record.lastFailover?.failoverId === input.failoverId
  );
}

/** The hand-off a setVolumeState call writes. */
export function handoffOf(proof: LeaseProof, handoff: Omit<VolumeHandoff, 'fencingToken' | 'updatedAtMs'>, nowMs: number): VolumeHandoff {
  const v: VolumeHandoff = { failoverId: handoff.failoverId, state: handoff.state, fencingToken: proof.fencingToken, updatedAtMs: nowMs };
  if (handoff.message !== undefined) v.message = handoff.message;
  return v;
}

/** True when the record already holds this hand-off, written with this fencing token (an applied re-run). */
export function volumeStateAlreadySet(record: GroupRecord, proof: LeaseProof, handoff: Omit<VolumeHandoff, 'fencingToken' | 'updatedAtMs'>): boolean {
  const v = record.volumeState;
  return (
    v !== undefined &&
    v.failoverId === handoff.failoverId &&
    v.state === handoff.state &&
    v.fencingToken === proof.fencingToken &&
    (v.message ?? undefined) === (handoff.message ?? undefined)
  );
}

/** Shallow merge: each top-level key of `patch` replaces the stored one; a null value removes the key. */
export function mergeMetadata(current: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...current };
  for (const key of Object.keys(patch)) {
    const v = patch[key];
    if (v === undefined) continue;
    if (v === null) delete out[key];
    else out[key] = stripJson(v);
  }
  return out;
}

/** Width of the zero-padded endMs in history sort keys: every epoch millisecond until year 33658. */
export const HISTORY_END_MS_DIGITS = 15;

/** The string that orders history entries: zero-padded endMs, then failoverId (DynamoDB GSI1SK). */
export function historySortKey(endMs: number, failoverId: string): string {
  return `${String(endMs).padStart(HISTORY_END_MS_DIGITS, '0')}#${failoverId}`;
}

/** Newest first: by endMs, then by failoverId, both descending (the order a descending GSI1SK query gives). */
export function compareHistoryNewestFirst(a: HistoryRecord, b: HistoryRecord): number {
  const ka = historySortKey(a.endMs, a.failoverId);
  const kb = historySortKey(b.endMs, b.failoverId);
  return ka < kb ? 1 : ka > kb ? -1 : 0;
}

// ---------------------------------------------------------------------------------------------------------
// Input validation: a clear Invalid error naming the field and the fix, the same in every implementation.

export class GlobalStateValidator {
  constructor(
    private readonly driver: string,
    private readonly op: string,
  ) {}

  fail(field: string, problem: string, fix: string): never {
    throw new DriverError('Invalid', this.driver, this.op, `${this.op}: ${field} ${problem}: ${fix}`, { reason: 'InvalidInput', details: { field } });
  }

  text(field: string, v: unknown): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(field, `must be a non-empty string (got ${describe(v)})`, `pass the ${field}`);
    if (v.length > 512) this.fail(field, `is ${v.length} characters long`, 'use at most 512 characters');
    return v;
  }

  optionalText(field: string, v: unknown): void {
    if (v !== undefined && typeof v !== 'string') this.fail(field, `must be a string when given (got ${describe(v)})`, `pass a string or leave ${field} out`);
  }

  positiveInt(field: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) this.fail(field, `must be a positive integer number of milliseconds (got ${describe(v)})`, `pass a whole number above 0`);
    return v;
  }

  nonNegativeInt(field: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(field, `must be a non-negative integer (got ${describe(v)})`, 'pass a whole number of 0 or more');
    return v;
  }

  nonNegativeNumber(field: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(field, `must be a finite number of 0 or more (got ${describe(v)})`, 'pass a number of 0 or more');
    return v;
  }

  oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(field, `must be one of ${allowed.join(', ')} (got ${describe(v)})`, `use one of ${allowed.join(', ')}`);
    return v as T;
  }

  jsonObject(field: string, v: unknown): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, `must be a JSON object (got ${describe(v)})`, 'pass an object of JSON values');
    for (const key of Object.keys(v)) {
      if (key.length === 0) this.fail(`${field} key`, 'must not be empty', 'name every key');
      checkJson(this, `${field}.${key}`, (v as Record<string, unknown>)[key], 0);
    }
    return v as JsonObject;
  }

  groupId(v: unknown): string {
    return this.text('groupId', v);
  }

  createGroup(input: CreateGroupInput): void {
    if (typeof input !== 'object' || input === null) this.fail('input', 'must be an object', 'pass { groupId, ownerCluster, timeouts, heartbeatIntervalMs }');
    this.groupId(input.groupId);
    this.text('ownerCluster', input.ownerCluster);
    if (typeof input.timeouts !== 'object' || input.timeouts === null) this.fail('timeouts', 'must be an object', 'pass { transitoryStateMs, unhealthyPrimaryMs, heartbeatMs }');
    this.positiveInt('timeouts.transitoryStateMs', input.timeouts.transitoryStateMs);
    this.positiveInt('timeouts.unhealthyPrimaryMs', input.timeouts.unhealthyPrimaryMs);
    this.positiveInt('timeouts.heartbeatMs', input.timeouts.heartbeatMs);
    this.positiveInt('heartbeatIntervalMs', input.heartbeatIntervalMs);
    if (input.metadata !== undefined) this.jsonObject('metadata', input.metadata);
  }

  acquire(input: AcquireLockInput): void {
    if (typeof input !== 'object' || input === null) this.fail('input', 'must be an object', 'pass { holder, leaseToken, failoverId, reason, ttlMs }');
    this.text('holder', input.holder);
    this.text('leaseToken', input.leaseToken);
    this.text('failoverId', input.failoverId);
    if (typeof input.reason !== 'string') this.fail('reason', `must be a string (got ${describe(input.reason)})`, 'say why the lock is taken');
    this.positiveInt('ttlMs', input.ttlMs);
    if (input.force !== undefined && typeof input.force !== 'boolean') this.fail('force', `must be true or false when given (got ${describe(input.force)})`, 'pass force: true to take the lock of a suspended group, or leave it out');
  }

  proof(proof: LeaseProof | undefined, field = 'proof'): void {
    if (typeof proof !== 'object' || proof === null) this.fail(field, 'must be { leaseToken, fencingToken }', 'pass the proof returned with the lock (acquireLock)');
    this.text(`${field}.leaseToken`, proof.leaseToken);
    this.nonNegativeInt(`${field}.fencingToken`, proof.fencingToken);
  }

  handoff(h: Omit<VolumeHandoff, 'fencingToken' | 'updatedAtMs'>): void {
    if (typeof h !== 'object' || h === null) this.fail('handoff', 'must be an object', 'pass { failoverId, state, message? }');
    this.text('handoff.failoverId', h.failoverId);
    this.oneOf('handoff.state', h.state, VOLUME_HANDOFF_STATES);
    this.optionalText('handoff.message', h.message);
  }

  transfer(input: TransferInput): void {
    if (typeof input !== 'object' || input === null) this.fail('input', 'must be an object', 'pass { from, to, expectedVersion, failoverId, proof? }');
    this.text('from', input.from);
    this.text('to', input.to);
    if (input.from === input.to) this.fail('to', `is the same cluster as from (${input.from})`, 'transfer to another cluster');
    this.nonNegativeInt('expectedVersion', input.expectedVersion);
    this.text('failoverId', input.failoverId);
    if (input.proof !== undefined) this.proof(input.proof);
  }

  clusterStatus(s: Omit<ClusterStatusRecord, 'lastHeartbeatMs'>): void {
    if (typeof s !== 'object' || s === null) this.fail('status', 'must be an object', 'pass { groupId, cluster, health, role }');
    this.groupId(s.groupId);
    this.text('cluster', s.cluster);
    this.oneOf('health', s.health, CLUSTER_HEALTHS);
    this.oneOf('role', s.role, CLUSTER_ROLES);
    if (s.components !== undefined) this.jsonObject('components', s.components);
  }

  history(e: HistoryRecord): void {
    if (typeof e !== 'object' || e === null) this.fail('entry', 'must be an object', 'pass a HistoryRecord');
    this.groupId(e.groupId);
    this.text('failoverId', e.failoverId);
    this.text('failoverName', e.failoverName);
    this.text('sourceCluster', e.sourceCluster);
    this.text('targetCluster', e.targetCluster);
    this.oneOf('mode', e.mode, HISTORY_MODES);
    this.oneOf('type', e.type, HISTORY_TYPES);
    this.nonNegativeInt('startMs', e.startMs);
    this.nonNegativeInt('endMs', e.endMs);
    if (e.endMs < e.startMs) this.fail('endMs', `(${e.endMs}) is before startMs (${e.startMs})`, 'pass the time the failover ended');
    if (e.endMs >= 10 ** HISTORY_END_MS_DIGITS) this.fail('endMs', `(${e.endMs}) is too large`, 'pass epoch milliseconds');
    this.oneOf('status', e.status, HISTORY_STATUSES);
    if (typeof e.reason !== 'string') this.fail('reason', `must be a string (got ${describe(e.reason)})`, 'say why the failover ended this way');
    this.nonNegativeNumber('downtimeSeconds', e.downtimeSeconds);
    this.nonNegativeNumber('durationSeconds', e.durationSeconds);
  }

  limit(limit: unknown): number | undefined {
    if (limit === undefined) return undefined;
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0) this.fail('limit', `must be a positive integer (got ${describe(limit)})`, 'pass a whole number above 0, or leave it out for all entries');
    return limit;
  }
}

function checkJson(v: GlobalStateValidator, field: string, value: unknown, depth: number): void {
  if (depth > 32) v.fail(field, 'is nested more than 32 levels deep', 'flatten the value');
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) v.fail(field, `must be a finite number (got ${value})`, 'store a finite number or a string');
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((x, i) => checkJson(v, `${field}[${i}]`, x, depth + 1));
    return;
  }
  if (typeof value === 'object') {
    for (const k of Object.keys(value)) {
      if (k.length === 0) v.fail(`${field} key`, 'must not be empty', 'name every key');
      checkJson(v, `${field}.${k}`, (value as Record<string, unknown>)[k], depth + 1);
    }
    return;
  }
  v.fail(field, `is not a JSON value (got ${typeof value})`, 'store strings, numbers, booleans, null, arrays or objects');
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return Array.isArray(v) ? 'an array' : typeof v;
}

/** A JSON object without undefined members (they do not survive storage). */
export function dropUndefined(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v !== undefined) out[k] = stripJson(v);
  }
  return out;
}

function stripJson(v: Json): Json {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : stripJson(x)));
  if (v !== null && typeof v === 'object') return dropUndefined(v);
  return v;
}
