// Why: the cross-cluster record of each failover group, shared by the operators of every cluster. Every
// safety-critical fact (owner, version, lock, fencing token, volume hand-off) lives in ONE record and changes
// only by a compare-and-set on it, so the port maps onto single conditional writes (DynamoDB, dynalite) and
// onto the simulator's in-memory store with the same semantics.
import type { CallOpts } from '../cluster/cluster.port.ts';
import type { JsonObject } from '../json.ts';

export type ClusterHealth = 'OK' | 'DEGRADED' | 'ERROR' | 'UNKNOWN';
export type ClusterRole = 'PRIMARY' | 'STANDBY' | 'FAILOVER' | 'FAILBACK';
/** The volume hand-off between the source's and the target's operators. */
export type VolumeHandoffState = 'READY_FOR_PROMOTION' | 'PROMOTED' | 'COMPLETED' | 'FAILED';

export interface GroupTimeouts {
  transitoryStateMs: number;
  unhealthyPrimaryMs: number;
  heartbeatMs: number;
}

export interface GroupLock {
  /** The cluster (operator) that holds the lock. */
  holder: string;
  /** A fresh random token per acquisition; renew and release must present it. */
  leaseToken: string;
  reason: string;
  acquiredAtMs: number;
  /** Epoch milliseconds, compared as numbers (never as strings). */
  expiresAtMs: number;
  /** The failover that holds the lock. */
  failoverId: string;
}

export interface VolumeHandoff {
  failoverId: string;
  state: VolumeHandoffState;
  /** The fencing token of the write that set this state. */
  fencingToken: number;
  updatedAtMs: number;
  message?: string;
}

/** The one record per group that holds every safety-critical fact. */
export interface GroupRecord {
  groupId: string;
  ownerCluster: string;
  previousOwner?: string;
  /** Bumped by every ownership change: the compare-and-set value that fences the old owner. */
  version: number;
  /** Bumped by every lock acquisition; it never goes down. Carried on every write of the lock holder. */
  fencingToken: number;
  lock?: GroupLock;
  volumeState?: VolumeHandoff;
  suspended: boolean;
  suspensionReason?: string;
  timeouts: GroupTimeouts;
  heartbeatIntervalMs: number;
  lastFailover?: { failoverId: string; atMs: number; sourceCluster: string; targetCluster: string };
  /** Free-form, JSON-safe facts an operator keeps with the group (remembered replica counts, for example). */
  metadata: JsonObject;
  updatedAtMs: number;
}

export interface ClusterStatusRecord {
  groupId: string;
  cluster: string;
  health: ClusterHealth;
  role: ClusterRole;
  lastHeartbeatMs: number;
  components?: JsonObject;
}

export type HistoryStatus = 'SUCCESS' | 'FAILED' | 'ROLLED_BACK';
export interface HistoryRecord {
  groupId: string;
  /** Unique per failover: recording the same failover twice is a no-op. */
  failoverId: string;
  failoverName: string;
  sourceCluster: string;
  targetCluster: string;
  mode: 'CONSISTENCY' | 'UPTIME';
  type: 'planned' | 'unplanned';
  startMs: number;
  endMs: number;
  status: HistoryStatus;
  reason: string;
  downtimeSeconds: number;
  durationSeconds: number;
}

export interface CreateGroupInput {
  groupId: string;
  ownerCluster: string;
  timeouts: GroupTimeouts;
  heartbeatIntervalMs: number;
  metadata?: JsonObject;
}

export interface AcquireLockInput {
  holder: string;
  leaseToken: string;
  failoverId: string;
  reason: string;
  ttlMs: number;
  /**
   * A forced failover (the operator asked to skip the advisory checks): take the lock even though the group is
   * suspended. Suspension stops automatic failovers; it never overrides a live lock. Default false.
   */
  force?: boolean;
}

/** Proof of holding the lock: every guarded write presents it and is refused if it is stale. */
export interface LeaseProof {
  leaseToken: string;
  fencingToken: number;
}

/**
 * The global state of every failover group. Writes that guard safety are single compare-and-sets on the
 * group record. They fail with Conflict and a reason: `AlreadyExists`, `Locked`, `LeaseLost` (the lease
 * expired or another holder has it), `StaleFencingToken`, `VersionMismatch`, `NotOwner`, `Suspended`.
 * An unknown group is NotFound. Time for lease expiry comes from the implementation's clock.
 */
export interface GlobalStatePort {
  getGroup(groupId: string, opts?: CallOpts): Promise<GroupRecord | undefined>;
  /** Creates the group record; Conflict `AlreadyExists` if it exists. */
  createGroup(input: CreateGroupInput, opts?: CallOpts): Promise<GroupRecord>;
  /** Suspend or resume automatic failovers. */
  setSuspended(groupId: string, suspended: boolean, reason: string | undefined, opts?: CallOpts): Promise<GroupRecord>;
  /**
   * Takes the lock if it is free or its lease has expired, and bumps the fencing token. Re-acquiring with
   * the same leaseToken (and holder) while its lease is live is idempotent: same fencing token, the lease is
   * extended to now + ttlMs. Conflict `Locked` otherwise; `Suspended` when the group is suspended (a live
   * re-acquire still succeeds, and so does an acquire with `force`). A lease that expired before the re-run is taken afresh with a new token.
   */
  acquireLock(groupId: string, input: AcquireLockInput, opts?: CallOpts): Promise<GroupRecord>;
  /** Extends the lease to now + ttlMs; Conflict `LeaseLost` if the lease expired or the token is not the holder's. */
  renewLock(groupId: string, proof: LeaseProof, ttlMs: number, opts?: CallOpts): Promise<GroupRecord>;
  /**
   * Releases the lock if this lease still holds it (live or expired); resolves false when it was not held by
   * this lease (so a re-run is harmless). Releasing never changes the fencing token.
   */
  releaseLock(groupId: string, leaseToken: string, opts?: CallOpts): Promise<boolean>;
  /**
   * Sets the volume hand-off state (stamped with the proof's fencing token); guarded by the live lease and
   * fencing token. Re-running it when the record already holds this very hand-off with this fencing token is
   * a success even if the lease has gone since (the earlier call applied, its answer was lost).
   */
  setVolumeState(groupId: string, proof: LeaseProof, handoff: Omit<VolumeHandoff, 'fencingToken' | 'updatedAtMs'>, opts?: CallOpts): Promise<GroupRecord>;
  /**
   * Shallow merge: each top-level key replaces the stored one, a null value removes the key. Guarded by the
   * live lease and fencing token.
   */
  patchMetadata(groupId: string, proof: LeaseProof, metadata: JsonObject, opts?: CallOpts): Promise<GroupRecord>;
  /**
   * Moves ownership from `from` to `to` when the record is still owned by `from` at `expectedVersion`
   * (version + 1, previousOwner = from, lastFailover). With a proof it is also guarded by the lease, and the
   * holder keeps its lock. Without one (fencing an unreachable source) the version compare-and-set alone
   * decides, and the same write revokes any lock and bumps the fencing token, so every earlier proof (the old
   * owner's) is refused from then on; the new owner then acquires the lock afresh. Re-running a transfer that
   * applied (same failoverId, from, to, expectedVersion) resolves with the record instead of a Conflict.
   */
  transferOwnership(
    groupId: string,
    input: { from: string; to: string; expectedVersion: number; failoverId: string; proof?: LeaseProof },
    opts?: CallOpts,
  ): Promise<GroupRecord>;
  /** Records a cluster's heartbeat and health (not safety-critical: last writer wins). NotFound for an unknown group. */
  heartbeat(status: Omit<ClusterStatusRecord, 'lastHeartbeatMs'>, opts?: CallOpts): Promise<ClusterStatusRecord>;
  listClusters(groupId: string, opts?: CallOpts): Promise<ClusterStatusRecord[]>;
  /**
   * Records a failover's outcome once: resolves false if this failoverId is already recorded for the group
   * (the first record wins, whatever the re-run carries). NotFound for an unknown group.
   */
  recordHistory(entry: HistoryRecord, opts?: CallOpts): Promise<boolean>;
  /** Newest first (by endMs, then failoverId, both descending). An unknown group lists nothing. */
  listHistory(groupId: string, opts?: CallOpts & { limit?: number }): Promise<HistoryRecord[]>;
}
