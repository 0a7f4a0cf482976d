// Why: the simulated global store (the DynamoDB table of the simulated world). It keeps one record per group and
// applies every change as the same compare-and-set the DynamoDB driver sends as a conditional write, with lease
// expiry on virtual time, so simulated operators race exactly as real ones do. It also remembers everything the
// invariants need: every revision of each record, every fencing token issued, every guarded write and its fate.
import { DriverError } from '../../drivers/errors.ts';
import { jsonClone, type JsonObject } from '../../drivers/json.ts';
import type {
  AcquireLockInput,
  ClusterStatusRecord,
  CreateGroupInput,
  GroupRecord,
  HistoryRecord,
  LeaseProof,
  VolumeHandoff,
} from '../../drivers/globalstate/globalstate.port.ts';
import {
  compareHistoryNewestFirst,
  decideAcquire,
  dropUndefined,
  guardRefusal,
  handoffOf,
  leaseLive,
  mergeMetadata,
  newGroupRecord,
  transferAlreadyApplied,
  transferRefusal,
  volumeStateAlreadySet,
  type Refusal,
  type TransferInput,
} from '../../drivers/globalstate/globalstate.rules.ts';
import type { SimKernel } from '../kernel.ts';
// Stored records are plain JSON (commit stores a jsonClone): copyJson gives what jsonClone would, several times faster.
import { copyJson } from '../kube/object-util.ts';

const DRIVER = 'globalstate';

/** One committed change of a group record. */
export interface GroupRevision {
  /** Store-wide order of commits. */
  seq: number;
  atMs: number;
  /** `createGroup`, `acquireLock`, `transferOwnership` … (`expireLease` for an injected fault). */
  op: string;
  /** The caller (party) that made the change. */
  by: string;
  record: GroupRecord;
}

/** A fencing token the store issued. Tokens of one group are issued strictly increasing. */
export interface FencingTokenIssue {
  atMs: number;
  fencingToken: number;
  /** `acquireLock` takes the lock; an unguarded `transferOwnership` revokes it (and fences its holder). */
  cause: 'acquireLock' | 'transferOwnership';
  by: string;
  failoverId: string;
  holder?: string;
  leaseToken?: string;
}

export type GuardedOp = 'renewLock' | 'setVolumeState' | 'patchMetadata' | 'transferOwnership';

/** A write that carried (or, for an unguarded transfer, could have carried) a lease proof, and its fate. */
export interface GuardedWrite {
  seq: number;
  atMs: number;
  groupId: string;
  op: GuardedOp;
  by: string;
  /** False only for a transferOwnership without proof (fencing an unreachable source). */
  guarded: boolean;
  leaseToken?: string;
  /** The fencing token the write carried. */
  fencingToken?: number;
  /** The record's fencing token when the write arrived (undefined for an unknown group). */
  recordFencingToken?: number;
  /** True when the write changed the record. */
  applied: boolean;
  /** True when the write was a re-run of one that had already applied (an idempotent success, no change). */
  replay?: boolean;
  /** The refusal reason (`LeaseLost`, `StaleFencingToken`, `NotOwner`, `VersionMismatch`, `NotFound`). */
  reason?: string;
}

export class SimGlobalStateStore {
  private readonly groups = new Map<string, GroupRecord>();
  private readonly revisions = new Map<string, GroupRevision[]>();
  private readonly tokens = new Map<string, FencingTokenIssue[]>();
  private readonly histories = new Map<string, HistoryRecord[]>();
  private readonly clusterStatus = new Map<string, Map<string, ClusterStatusRecord>>();
  private readonly writes: GuardedWrite[] = [];
  private seq = 0;

  constructor(private readonly kernel: SimKernel) {}

  // ---------------------------------------------------------------------------------------------------------
  // Operations. SimGlobalState calls these inside kernel.call, after validating the input; each one is atomic.

  getGroup(groupId: string): GroupRecord | undefined {
    return copyJson(this.groups.get(groupId));
  }

  createGroup(by: string, input: CreateGroupInput): GroupRecord {
    const op = 'globalstate.createGroup';
    if (this.groups.has(input.groupId)) throw conflict(op, { reason: 'AlreadyExists', message: `group ${input.groupId} already exists` }, input.groupId);
    const record = newGroupRecord(jsonClone(input), this.now());
    return this.commit('createGroup', by, record);
  }

  setSuspended(by: string, groupId: string, suspended: boolean, reason: string | undefined): GroupRecord {
    const record = this.mustGet('globalstate.setSuspended', groupId);
    record.suspended = suspended;
    if (suspended && reason !== undefined) record.suspensionReason = reason;
    else delete record.suspensionReason;
    record.updatedAtMs = this.now();
    return this.commit('setSuspended', by, record);
  }

  acquireLock(by: string, groupId: string, input: AcquireLockInput): GroupRecord {
    const op = 'globalstate.acquireLock';
    const record = this.mustGet(op, groupId);
    const now = this.now();
    const decision = decideAcquire(record, input, now);
    if (decision.action === 'refuse') {
      this.kernel.emit('globalstate.lock.refused', { group: groupId, by, reason: decision.refusal.reason });
      throw conflict(op, decision.refusal, groupId);
    }
    if (decision.action === 'reacquire') {
      record.lock!.expiresAtMs = now + input.ttlMs;
      record.updatedAtMs = now;
      return this.commit('acquireLock', by, record);
    }
    record.fencingToken += 1;
    record.lock = { holder: input.holder, leaseToken: input.leaseToken, reason: input.reason, acquiredAtMs: now, expiresAtMs: now + input.ttlMs, failoverId: input.failoverId };
    record.updatedAtMs = now;
    this.issue(groupId, { atMs: now, fencingToken: record.fencingToken, cause: 'acquireLock', by, failoverId: input.failoverId, holder: input.holder, leaseToken: input.leaseToken });
    this.kernel.emit('globalstate.lock.taken', { group: groupId, holder: input.holder, fencingToken: record.fencingToken, expiresAtMs: record.lock.expiresAtMs });
    return this.commit('acquireLock', by, record);
  }

  renewLock(by: string, groupId: string, proof: LeaseProof, ttlMs: number): GroupRecord {
    return this.guarded('renewLock', by, groupId, proof, (record, now) => {
      record.lock!.expiresAtMs = now + ttlMs;
    });
  }

  releaseLock(by: string, groupId: string, leaseToken: string): boolean {
    const record = this.mustGet('globalstate.releaseLock', groupId);
    if (record.lock?.leaseToken !== leaseToken) return false;
    delete record.lock;
    record.updatedAtMs = this.now();
    this.commit('releaseLock', by, record);
    this.kernel.emit('globalstate.lock.released', { group: groupId, by });
    return true;
  }

  setVolumeState(by: string, groupId: string, proof: LeaseProof, handoff: Omit<VolumeHandoff, 'fencingToken' | 'updatedAtMs'>): GroupRecord {
    return this.guarded(
      'setVolumeState',
      by,
      groupId,
      proof,
      (record, now) => {
        record.volumeState = handoffOf(proof, handoff, now);
      },
      (record) => volumeStateAlreadySet(record, proof, handoff),
    );
  }

  patchMetadata(by: string, groupId: string, proof: LeaseProof, metadata: JsonObject): GroupRecord {
    return this.guarded('patchMetadata', by, groupId, proof, (record) => {
      record.metadata = mergeMetadata(record.metadata, jsonClone(metadata));
    });
  }

  transferOwnership(by: string, groupId: string, input: TransferInput): GroupRecord {
    const op = 'globalstate.transferOwnership';
    const now = this.now();
    const record = this.groups.get(groupId);
    const entry = (applied: boolean, extra: Partial<GuardedWrite> = {}) =>
      this.logWrite({ groupId, op: 'transferOwnership', by, guarded: input.proof !== undefined, leaseToken: input.proof?.leaseToken, fencingToken: input.proof?.fencingToken, recordFencingToken: record?.fencingToken, applied, ...extra });
    if (!record) {
      entry(false, { reason: 'NotFound' });
      throw notFound(op, groupId);
    }
    if (transferAlreadyApplied(record, input)) {
      entry(false, { replay: true });
      return copyJson(record);
    }
    const refusal = transferRefusal(record, input, now);
    if (refusal) {
      entry(false, { reason: refusal.reason });
      this.kernel.emit('globalstate.write.refused', { group: groupId, op: 'transferOwnership', by, reason: refusal.reason });
      throw conflict(op, refusal, groupId);
    }
    const next = copyJson(record);
    next.ownerCluster = input.to;
    next.previousOwner = input.from;
    next.version += 1;
    next.lastFailover = { failoverId: input.failoverId, atMs: now, sourceCluster: input.from, targetCluster: input.to };
    next.updatedAtMs = now;
    if (!input.proof) {
      // Fencing without the lock: revoke whatever lease there is and issue a new fencing token, so every proof
      // handed out before this transfer (the old owner's included) is refused from now on.
      delete next.lock;
      next.fencingToken += 1;
      this.issue(groupId, { atMs: now, fencingToken: next.fencingToken, cause: 'transferOwnership', by, failoverId: input.failoverId });
    }
    entry(true);
    this.kernel.emit('globalstate.owner.transferred', { group: groupId, from: input.from, to: input.to, version: next.version, guarded: input.proof !== undefined });
    return this.commit('transferOwnership', by, next);
  }

  heartbeat(_by: string, status: Omit<ClusterStatusRecord, 'lastHeartbeatMs'>): ClusterStatusRecord {
    this.mustGet('globalstate.heartbeat', status.groupId);
    const rec: ClusterStatusRecord = { groupId: status.groupId, cluster: status.cluster, health: status.health, role: status.role, lastHeartbeatMs: this.now() };
    if (status.components !== undefined) rec.components = dropUndefined(jsonClone(status.components));
    let perGroup = this.clusterStatus.get(status.groupId);
    if (!perGroup) this.clusterStatus.set(status.groupId, (perGroup = new Map()));
    perGroup.set(status.cluster, rec);
    return jsonClone(rec);
  }

  /** World setup: a cluster that has never heartbeated for the group (its daemon has not started yet). */
  forgetCluster(groupId: string, cluster: string): boolean {
    const gone = this.clusterStatus.get(groupId)?.delete(cluster) ?? false;
    if (gone) this.kernel.emit('globalstate.cluster.forgotten', { group: groupId, cluster });
    return gone;
  }

  /** Sorted by cluster name (the order of the CLUSTER#<name> sort keys). */
  listClusters(groupId: string): ClusterStatusRecord[] {
    const perGroup = this.clusterStatus.get(groupId);
    if (!perGroup) return [];
    return [...perGroup.keys()].sort(byCodeUnit).map((k) => jsonClone(perGroup.get(k)!));
  }

  recordHistory(by: string, entry: HistoryRecord): boolean {
    this.mustGet('globalstate.recordHistory', entry.groupId);
    let list = this.histories.get(entry.groupId);
    if (!list) this.histories.set(entry.groupId, (list = []));
    if (list.some((h) => h.failoverId === entry.failoverId)) return false;
    list.push(jsonClone(entry));
    this.kernel.emit('globalstate.history.recorded', { group: entry.groupId, failoverId: entry.failoverId, status: entry.status, by });
    return true;
  }

  listHistory(groupId: string, limit?: number): HistoryRecord[] {
    const sorted = [...(this.histories.get(groupId) ?? [])].sort(compareHistoryNewestFirst);
    return jsonClone(limit === undefined ? sorted : sorted.slice(0, limit));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Fault injection (the nemesis): things that happen to a real store without anyone asking.

  /**
   * Makes the group's current lease expire now (as a long stall of its holder or a clock jump would): the lock
   * stays in the record, but the next acquireLock may take it and the holder's guarded writes are refused.
   * Returns false when no live lease was held.
   */
  expireLease(groupId: string): boolean {
    const record = this.groups.get(groupId);
    const now = this.now();
    if (!record || !leaseLive(record.lock, now)) return false;
    const next = copyJson(record);
    next.lock!.expiresAtMs = now - 1;
    this.commit('expireLease', 'nemesis', next);
    this.kernel.emit('globalstate.lease.expired', { group: groupId, holder: record.lock!.holder });
    return true;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Inspection (read-only, for invariants and tests). Every result is a copy.

  group(groupId: string): GroupRecord | undefined {
    return copyJson(this.groups.get(groupId));
  }

  groupIds(): string[] {
    return [...this.groups.keys()].sort(byCodeUnit);
  }

  /** The live lease of a group at the current virtual time, if any. */
  liveLock(groupId: string): GroupRecord['lock'] {
    const lock = this.groups.get(groupId)?.lock;
    return leaseLive(lock, this.now()) ? jsonClone(lock) : undefined;
  }

  /** Every committed revision of the group record, oldest first. */
  revisionsOf(groupId: string): GroupRevision[] {
    return jsonClone(this.revisions.get(groupId) ?? []);
  }

  /** The failover history recorded for the group, in recording order (listHistory gives newest first). */
  historyOf(groupId: string): HistoryRecord[] {
    return jsonClone(this.histories.get(groupId) ?? []);
  }

  /** Every fencing token issued for the group, in order of issue. */
  fencingTokenLog(groupId: string): FencingTokenIssue[] {
    return jsonClone(this.tokens.get(groupId) ?? []);
  }

  /** How many entries fencingTokenLog(groupId) holds, without copying them (for checkers that poll the log). */
  fencingTokenCount(groupId: string): number {
    return this.tokens.get(groupId)?.length ?? 0;
  }

  /** How many guarded writes of every group were logged so far: unchanged means guardedWrites() is unchanged too. */
  guardedWriteCount(): number {
    return this.writes.length;
  }

  /** Every guarded write (and unguarded transfer), applied or refused, in arrival order; all groups when omitted. */
  guardedWrites(groupId?: string): GuardedWrite[] {
    return jsonClone(groupId === undefined ? this.writes : this.writes.filter((w) => w.groupId === groupId));
  }

  /** The cluster status records of a group, sorted by cluster name. */
  clustersOf(groupId: string): ClusterStatusRecord[] {
    return this.listClusters(groupId);
  }

  // ---------------------------------------------------------------------------------------------------------

  private now(): number {
    return this.kernel.now();
  }

  private mustGet(op: string, groupId: string): GroupRecord {
    const record = this.groups.get(groupId);
    if (!record) throw notFound(op, groupId);
    return copyJson(record);
  }

  /** A write guarded by the live lease and fencing token; `alreadySet` makes a re-run of an applied write succeed. */
  private guarded(op: GuardedOp, by: string, groupId: string, proof: LeaseProof, change: (record: GroupRecord, now: number) => void, alreadySet?: (record: GroupRecord) => boolean): GroupRecord {
    const fullOp = `globalstate.${op}`;
    const now = this.now();
    const current = this.groups.get(groupId);
    const entry = (applied: boolean, extra: Partial<GuardedWrite> = {}) =>
      this.logWrite({ groupId, op, by, guarded: true, leaseToken: proof.leaseToken, fencingToken: proof.fencingToken, recordFencingToken: current?.fencingToken, applied, ...extra });
    if (!current) {
      entry(false, { reason: 'NotFound' });
      throw notFound(fullOp, groupId);
    }
    const refusal = guardRefusal(current, proof, now);
    if (refusal) {
      if (alreadySet?.(current)) {
        entry(false, { replay: true });
        return copyJson(current);
      }
      entry(false, { reason: refusal.reason });
      this.kernel.emit('globalstate.write.refused', { group: groupId, op, by, reason: refusal.reason, fencingToken: proof.fencingToken });
      throw conflict(fullOp, refusal, groupId);
    }
    const next = copyJson(current);
    change(next, now);
    next.updatedAtMs = now;
    entry(true);
    return this.commit(op, by, next);
  }

  private commit(op: string, by: string, record: GroupRecord): GroupRecord {
    const stored = jsonClone(record);
    this.groups.set(record.groupId, stored);
    let list = this.revisions.get(record.groupId);
    if (!list) this.revisions.set(record.groupId, (list = []));
    list.push({ seq: ++this.seq, atMs: this.now(), op, by, record: copyJson(stored) });
    return copyJson(stored);
  }

  private issue(groupId: string, issue: FencingTokenIssue): void {
    let list = this.tokens.get(groupId);
    if (!list) this.tokens.set(groupId, (list = []));
    list.push(issue);
  }

  private logWrite(w: Omit<GuardedWrite, 'seq' | 'atMs'>): void {
    const clean = Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)) as Omit<GuardedWrite, 'seq' | 'atMs'>;
    this.writes.push({ seq: ++this.seq, atMs: this.now(), ...clean });
  }
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function conflict(op: string, refusal: Refusal, groupId: string): DriverError {
  return new DriverError('Conflict', DRIVER, op, refusal.message, { reason: refusal.reason, details: { groupId } });
}

function notFound(op: string, groupId: string): DriverError {
  return new DriverError('NotFound', DRIVER, op, `group ${groupId} does not exist: create it first (createGroup)`, { reason: 'GroupNotFound', details: { groupId } });
}
