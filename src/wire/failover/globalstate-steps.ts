// Why: the failover tasks on global state: validation, the lock (acquire, join, renew, regain, release), the
// volume hand-off between the two operators, ownership, history and the reachability probe. The two operators
// hand off ONLY through global state; DynamoDB has no watch, so waiting on the peer is the one bounded poll (a short
// fixed interval) in the engine (waitForPeer, joinLease). Everything else waits on watch events.
import type { Logger } from 'pino';
import { Kinds } from '../../../drivers/cluster/cluster.port.ts';
import { DriverError, isDriverError } from '../../../drivers/errors.ts';
import type { JsonObject } from '../../../drivers/json.ts';
import type { ClusterStatusRecord, GroupRecord, HistoryRecord, VolumeHandoffState } from '../../../drivers/globalstate/globalstate.port.ts';
import { branchFor, writesHistory, type PeerObservation } from '../../../machines/failover/failover.plan.ts';
import type { HistoryFigures, ReachabilityOutput, StepInput, StepOutput } from '../../../machines/failover/failover.types.ts';
import type { TaskRunner } from '../provided-once.ts';
import { validationFailed, type FailoverWiring, type StepCtx } from './deps.ts';
import { rememberReplicas } from './remembered.ts';

/**
 * The peer poll's fixed interval (the one poll: global state has no watch). The peer's hand-off is on the
 * failover's critical path, so a backoff would add up to its cap to the RTO; a short fixed interval bounds the lag
 * at one interval. Cost: one strongly consistent group read per interval per waiting operator (history is read
 * only once the record says the failover may have ended), about 4 reads a second while one side waits.
 */
export const PEER_POLL_INTERVAL_MS = 250;
/** How often validation re-reads the cluster records while waiting for a target's first heartbeat. */
export const FIRST_HEARTBEAT_POLL_MS = 1_000;
/** How long a reachability probe may take before the party counts as unreachable. */
export const PROBE_TIMEOUT_MS = 5_000;
/** History entries read when looking for this failover's record. */
export const HISTORY_LOOKUP_LIMIT = 50;
/** Metadata key holding the downtime bounds both operators know (for metrics on both sides). */
export const DOWNTIME_KEY = 'downtime';

function sameFailover(record: GroupRecord, failoverId: string): boolean {
  return record.volumeState?.failoverId === failoverId;
}

async function historyOf(w: FailoverWiring, input: StepInput, log: Logger, signal: AbortSignal): Promise<HistoryRecord | undefined> {
  const list = await w.deps.globalState.listHistory(input.request.groupId, { log, signal, limit: HISTORY_LOOKUP_LIMIT });
  return list.find((h) => h.failoverId === input.request.failoverId);
}

/** The figures of a history record that both sides' charts keep (the source of truth for both copies' metrics). */
function figuresOf(h: HistoryRecord): HistoryFigures {
  return { status: h.status, startMs: h.startMs, endMs: h.endMs, downtimeSeconds: h.downtimeSeconds, durationSeconds: h.durationSeconds };
}

function endedObservation(h: HistoryRecord): PeerObservation {
  return h.status === 'SUCCESS' ? 'ENDED_SUCCESS' : h.status === 'ROLLED_BACK' ? 'ENDED_ROLLED_BACK' : 'ENDED_FAILED';
}

function downtimeOf(record: GroupRecord, failoverId: string): { startedAtMs?: number; endedAtMs?: number } {
  const d = record.metadata[DOWNTIME_KEY];
  if (!d || typeof d !== 'object' || Array.isArray(d) || d.failoverId !== failoverId) return {};
  const out: { startedAtMs?: number; endedAtMs?: number } = {};
  if (typeof d.startedAtMs === 'number') out.startedAtMs = d.startedAtMs;
  if (typeof d.endedAtMs === 'number') out.endedAtMs = d.endedAtMs;
  return out;
}

function peerMetrics(record: GroupRecord, failoverId: string): Partial<StepOutput> {
  const d = downtimeOf(record, failoverId);
  const out: Partial<StepOutput> = {};
  if (d.startedAtMs !== undefined) out.downtimeStartedAtMs = d.startedAtMs;
  if (d.endedAtMs !== undefined) out.downtimeEndedAtMs = d.endedAtMs;
  return out;
}

function ownedByThisFailover(record: GroupRecord, input: StepInput): boolean {
  return record.ownerCluster === input.request.targetCluster && record.lastFailover?.failoverId === input.request.failoverId;
}

/** The newer failover that moved the group after this one was asked for, if any. */
function supersededBy(record: GroupRecord, input: StepInput): string | undefined {
  const last = record.lastFailover;
  return last !== undefined && last.failoverId !== input.request.failoverId && last.atMs >= input.request.requestedAtMs ? last.failoverId : undefined;
}

/** This failover's lease is held and current: the failover has not ended (history comes before the release). */
function leaseHeld(record: GroupRecord, input: StepInput, nowMs: number): boolean {
  const lock = record.lock;
  return lock !== undefined && lock.leaseToken === input.leaseToken && lock.failoverId === input.request.failoverId && lock.expiresAtMs >= nowMs;
}

function needProof(input: StepInput) {
  if (!input.proof) throw new DriverError('Conflict', 'engine', input.task, `${input.task}: this side holds no lease proof`, { reason: 'LeaseLost' });
  return input.proof;
}

async function requireGroup(w: FailoverWiring, input: StepInput, ctx: { log: Logger; signal: AbortSignal }): Promise<GroupRecord> {
  const record = await w.deps.globalState.getGroup(input.request.groupId, { log: ctx.log, signal: ctx.signal });
  if (!record) throw validationFailed('validateFailover', `group ${input.request.groupId} does not exist in global state: create the FailoverGroup before failing it over`);
  return record;
}

export function globalStateSteps(w: FailoverWiring) {
  const { deps } = w;
  const gs = deps.globalState;
  const clock = deps.clock;
  const nowMs = () => w.nowMs();

  /** Publishes what this side knows of the downtime window, merged with what the peer published. */
  const publishDowntime = async (input: StepInput, ctx: StepCtx, record: GroupRecord | undefined) => {
    const known = record ? downtimeOf(record, input.request.failoverId) : {};
    const next: JsonObject = { failoverId: input.request.failoverId };
    const started = known.startedAtMs ?? input.downtime.startedAtMs;
    const ended = known.endedAtMs ?? input.downtime.endedAtMs;
    if (started !== undefined) next.startedAtMs = started;
    if (ended !== undefined) next.endedAtMs = ended;
    if (started === known.startedAtMs && ended === known.endedAtMs && record) return;
    await gs.patchMetadata(input.request.groupId, needProof(input), { [DOWNTIME_KEY]: next }, { log: ctx.log, signal: ctx.signal });
  };

  /**
   * The target's heartbeat record. A target that has never reported, or reports UNKNOWN health (its daemon has just
   * started and its caches are not synced), is waited for, up to
   * the group's heartbeat timeout (after which a silent cluster counts as down), polling every
   * FIRST_HEARTBEAT_POLL_MS; undefined if it still has not reported. Any other record, healthy or not, is returned at once.
   */
  const firstHeartbeatOf = async (input: StepInput, ctx: StepCtx): Promise<ClusterStatusRecord | undefined> => {
    const r = input.request;
    const deadline = nowMs() + r.group.timeouts.heartbeatMs;
    for (let waited = false; ; waited = true) {
      const clusters = await gs.listClusters(r.groupId, { log: ctx.log, signal: ctx.signal });
      const target = clusters.find((c) => c.cluster === r.targetCluster);
      // UNKNOWN: the target's daemon reports, but its caches have not synced yet (it has just started).
      if (target && target.health !== 'UNKNOWN') return target;
      const now = nowMs();
      if (now >= deadline) return target;
      if (!waited) ctx.log.info({ target: r.targetCluster, waitMs: deadline - now }, 'Waiting for the target cluster\'s first heartbeat');
      await clock.sleep(Math.min(FIRST_HEARTBEAT_POLL_MS, deadline - now), ctx.signal);
    }
  };

  const validate = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    const r = input.request;
    const record = await requireGroup(w, input, ctx);
    const history = await historyOf(w, input, ctx.log, ctx.signal);
    if (history && !(history.status === 'SUCCESS' && input.role === 'target')) {
      throw validationFailed('validateFailover', `failover ${r.failoverId} already ended (${history.status}); start a new Failover to try again`);
    }
    if (record.suspended && !r.force) {
      throw validationFailed('validateFailover', `group ${r.groupId} is suspended${record.suspensionReason ? ` (${record.suspensionReason})` : ''}: resume it, or set force to fail over anyway`);
    }
    const resumed = ownedByThisFailover(record, input);
    if (record.ownerCluster !== r.sourceCluster && !resumed) {
      throw validationFailed('validateFailover', `group ${r.groupId} is owned by ${record.ownerCluster}, not by the request's source ${r.sourceCluster}: fail over from ${record.ownerCluster}`);
    }
    const now = nowMs();
    if (record.lock && record.lock.expiresAtMs >= now && record.lock.failoverId !== r.failoverId && input.role === 'source' && r.type === 'planned') {
      throw validationFailed('validateFailover', `group ${r.groupId} is locked by failover ${record.lock.failoverId} (${record.lock.holder}) until ${new Date(record.lock.expiresAtMs).toISOString()}: wait for it to finish`);
    }
    if (!r.force && input.role === 'source') {
      const target = await firstHeartbeatOf(input, ctx);
      if (!target || target.health !== 'OK') {
        const waited = Math.round(r.group.timeouts.heartbeatMs / 1000);
        throw validationFailed('validateFailover', `target cluster ${r.targetCluster} is ${target ? `${target.health}` : `not reporting heartbeats (none within ${waited}s)`}: fix it, or set force to fail over anyway`);
      }
    }
    if (input.role === 'target') {
      // The target's own cluster must answer before it commits to anything.
      await deps.clusterPort.list(Kinds.Namespace, { log: ctx.log, signal: ctx.signal });
    }
    return { version: resumed ? record.version - 1 : record.version };
  };

  // A forced failover takes (and re-takes) the lock even when the group is suspended: the operator asked to skip the
  // advisory checks, and suspension is one of them (validation already honours force).
  const forced = (r: StepInput['request']) => (r.force ? { force: true } : {});

  const acquire = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    const r = input.request;
    const take = () =>
      gs.acquireLock(r.groupId, { holder: deps.cluster, leaseToken: input.leaseToken, failoverId: r.failoverId, reason: `${r.type} ${r.mode} failover ${r.failoverName}: ${r.reason}`.slice(0, 500), ttlMs: input.policy.leaseTtlMs, ...forced(r) }, { log: ctx.log, signal: ctx.signal });
    let record: GroupRecord;
    let joined = false;
    try {
      record = await take();
    } catch (e) {
      if (!(isDriverError(e) && e.reason === 'Locked')) throw e;
      const current = await gs.getGroup(r.groupId, { log: ctx.log, signal: ctx.signal });
      const lock = current?.lock;
      if (current && leaseHeld(current, input, nowMs())) {
        // This failover's own lease, taken again by the peer while this side was away past its TTL (a stall or a
        // crash): the lease is the failover's, not a cluster's, so this side joins it as the peer joins ours. Aborting
        // here would end the failover under a peer that may already have promoted.
        record = current;
        joined = true;
      } else {
        // Unplanned: the unreachable source's lease may still run; it cannot be renewed, so wait it out (bounded by one TTL).
        if (r.type !== 'unplanned' || !lock || lock.holder !== r.sourceCluster) throw e;
        const waitMs = Math.min(input.policy.leaseTtlMs, Math.max(0, lock.expiresAtMs - nowMs()) + 1);
        ctx.log.info({ holder: lock.holder, failoverId: lock.failoverId, waitMs }, "Waiting for the unreachable source's lease to expire");
        await clock.sleep(waitMs, ctx.signal);
        record = await take();
      }
    }
    const proof = { leaseToken: input.leaseToken, fencingToken: record.fencingToken };
    if (input.params.rememberReplicas === true) await rememberReplicas(w, { ...input, proof }, { ...ctx, token: proof.fencingToken });
    ctx.log.info({ fencingToken: proof.fencingToken, expiresAtMs: record.lock?.expiresAtMs, holder: record.lock?.holder }, joined ? "Joined this failover's lease, held by the peer" : 'Acquired lock');
    return { proof, leaseExpiresAtMs: record.lock?.expiresAtMs, version: record.version };
  };

  /** The target joins the failover's lease (the token is the failover's, not a cluster's): the first poll. */
  const join = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    return poll(input, ctx, async (record) => {
      const lock = record.lock;
      if (lock && lock.leaseToken === input.leaseToken && lock.expiresAtMs >= nowMs()) {
        return { observed: 'JOINED', proof: { leaseToken: input.leaseToken, fencingToken: record.fencingToken }, leaseExpiresAtMs: lock.expiresAtMs, version: record.version };
      }
      if (ownedByThisFailover(record, input) && lock?.leaseToken === input.leaseToken) {
        return { observed: 'JOINED', proof: { leaseToken: input.leaseToken, fencingToken: record.fencingToken }, leaseExpiresAtMs: lock.expiresAtMs, version: record.version - 1 };
      }
      return undefined;
    });
  };

  /**
   * Polls the group record (and history) with backoff until `check` answers, this failover's hand-off turns
   * FAILED, or its history is recorded; Transient/Timeout after policy.handoffTimeoutMs.
   */
  const poll = async (input: StepInput, ctx: StepCtx, check: (record: GroupRecord) => Partial<StepOutput> | undefined | Promise<Partial<StepOutput> | undefined>): Promise<Partial<StepOutput>> => {
    const deadline = nowMs() + input.policy.handoffTimeoutMs;
    const untilRecorded = input.params.untilRecorded === true;
    let lastError: unknown;
    for (let polls = 0; ; polls++) {
      try {
        const record = await requireGroup(w, input, ctx);
        const hit = await check(record);
        if (hit && !untilRecorded) return { ...peerMetrics(record, input.request.failoverId), ...hit };
        if (hit) {
          // The peer's success is seen; the wait ends once its history record is written too (the peer writes it
          // next), so this side ends with the failover's recorded figures, the same as the peer's copy.
          const h = await historyOf(w, input, ctx.log, ctx.signal);
          if (h) return { ...peerMetrics(record, input.request.failoverId), ...hit, history: figuresOf(h) };
        } else {
          if (sameFailover(record, input.request.failoverId) && record.volumeState?.state === 'FAILED') return { ...peerMetrics(record, input.request.failoverId), observed: 'FAILED' };
          // A newer failover moved the group after this one was asked for: this one can no longer end as it was meant
          // to, and its superseded peer may never record that (found by the daemon-level swarm: automatic failovers
          // back and forth while the unplanned target was down left the old source waiting for good).
          if (input.params.endsWhenSuperseded === true && supersededBy(record, input) !== undefined) {
            const h = await recordSuperseded(input, ctx, record);
            return { ...peerMetrics(record, input.request.failoverId), observed: endedObservation(h), history: figuresOf(h) };
          }
          // History is written before the lock is released: while this failover's lease holds, it has not ended, and
          // the poll costs one read instead of two.
          const h = leaseHeld(record, input, nowMs()) ? undefined : await historyOf(w, input, ctx.log, ctx.signal);
          if (h) return { ...peerMetrics(record, input.request.failoverId), observed: endedObservation(h), history: figuresOf(h) };
        }
      } catch (e) {
        // A failed read is one missed poll, not a failed wait (the wait is bounded by its deadline).
        if (!(isDriverError(e) && e.retryable) || ctx.signal.aborted) throw e;
        lastError = e;
      }
      const now = nowMs();
      if (now >= deadline) {
        const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
        throw new DriverError('Transient', 'engine', input.task, `Timed out after ${input.policy.handoffTimeoutMs}ms (${polls + 1} polls) waiting on the peer operator for ${input.task}${why}`, { reason: 'Timeout' });
      }
      await clock.sleep(Math.min(PEER_POLL_INTERVAL_MS, deadline - now), ctx.signal);
    }
  };

  const waitForPeer = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    const awaiting = (Array.isArray(input.params.awaiting) ? input.params.awaiting : []) as string[];
    return poll(input, ctx, (record) => {
      if (awaiting.includes('OWNED') && ownedByThisFailover(record, input)) return { observed: 'OWNED' };
      const v = record.volumeState;
      if (v && v.failoverId === input.request.failoverId && awaiting.includes(v.state)) return { observed: v.state };
      return undefined;
    });
  };

  const setVolumeState = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    const state = input.params.state as VolumeHandoffState;
    const proof = needProof(input);
    // The downtime bounds go out first: a peer that sees the new state reads them in the same poll.
    await publishDowntime(input, ctx, await gs.getGroup(input.request.groupId, { log: ctx.log, signal: ctx.signal }));
    await gs.setVolumeState(input.request.groupId, proof, { failoverId: input.request.failoverId, state, message: `${input.task} by ${deps.cluster}` }, { log: ctx.log, signal: ctx.signal });
    ctx.log.info({ volumeState: state }, 'Set volume hand-off state');
    return {};
  };

  const transfer = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    const r = input.request;
    if (input.expectedVersion === undefined) throw validationFailed('transferOwnership', 'no expected version: the failover was never validated');
    const withProof = input.params.withProof === true;
    let record: GroupRecord;
    try {
      record = await gs.transferOwnership(
        r.groupId,
        { from: r.sourceCluster, to: r.targetCluster, expectedVersion: input.expectedVersion, failoverId: r.failoverId, ...(withProof ? { proof: needProof(input) } : {}) },
        { log: ctx.log, signal: ctx.signal },
      );
    } catch (e) {
      // A re-run after a lost answer: the transfer already applied for this very failover.
      const now = await gs.getGroup(r.groupId, { log: ctx.log, signal: ctx.signal });
      if (!now || !ownedByThisFailover(now, input)) throw e;
      record = now;
    }
    ctx.log.info({ owner: record.ownerCluster, version: record.version, guarded: withProof }, 'Transferred ownership');
    if (input.params.markCompleted === true) {
      await publishDowntime(input, ctx, record);
      await gs.setVolumeState(r.groupId, needProof(input), { failoverId: r.failoverId, state: 'COMPLETED', message: `target ${deps.cluster} activated` }, { log: ctx.log, signal: ctx.signal });
    }
    return {};
  };

  /** This failover's history entry as it ends now with `status` (downtime from this side's marks, else the group's). */
  const historyEntry = (input: StepInput, status: HistoryRecord['status'], record: GroupRecord | undefined): HistoryRecord => {
    const r = input.request;
    const now = nowMs();
    let downtimeSeconds = 0;
    const known = record ? downtimeOf(record, r.failoverId) : {};
    const start = input.downtime.startedAtMs ?? known.startedAtMs;
    const end = input.downtime.endedAtMs ?? known.endedAtMs ?? (start !== undefined ? now : undefined);
    if (start !== undefined && end !== undefined) downtimeSeconds = Math.max(0, end - start) / 1000;
    const entry: HistoryRecord = {
      groupId: r.groupId,
      failoverId: r.failoverId,
      failoverName: r.failoverName,
      sourceCluster: r.sourceCluster,
      targetCluster: r.targetCluster,
      mode: r.mode,
      type: r.type,
      startMs: Math.min(Math.floor(r.requestedAtMs), now),
      endMs: now,
      status,
      reason: r.reason,
      downtimeSeconds,
      durationSeconds: Math.max(0, now - r.requestedAtMs) / 1000,
    };
    return entry;
  };

  /** Records this superseded failover as FAILED (once per failover: the first side to get here writes it); the standing record. */
  const recordSuperseded = async (input: StepInput, ctx: StepCtx, record: GroupRecord): Promise<HistoryRecord> => {
    const entry = historyEntry(input, 'FAILED', record);
    const recorded = await gs.recordHistory(entry, { log: ctx.log, signal: ctx.signal });
    ctx.log.info({ recorded, owner: record.ownerCluster, version: record.version }, 'Superseded by a newer failover: this failover ended FAILED');
    return recorded ? entry : ((await historyOf(w, input, ctx.log, ctx.signal)) ?? entry);
  };

  const recordHistory = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    const status = input.params.status as HistoryRecord['status'];
    const record = await gs.getGroup(input.request.groupId, { log: ctx.log, signal: ctx.signal });
    const entry = historyEntry(input, status, record);
    const recorded = await gs.recordHistory(entry, { log: ctx.log, signal: ctx.signal });
    ctx.log.info({ status, recorded }, recorded ? 'Recorded failover history' : 'Failover history was already recorded');
    // Written once per failover: when it was already there (a re-run after a lost answer, or the peer ended the
    // failover first), the record that stands is the one both copies report.
    const standing = recorded ? entry : ((await historyOf(w, input, ctx.log, ctx.signal)) ?? entry);
    return { history: figuresOf(standing) };
  };

  const release = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    if (input.params.onlyIfEnded === true && !(await historyOf(w, input, ctx.log, ctx.signal))) {
      ctx.log.info('Kept the lock: the peer operator still finishes the failover');
      return {};
    }
    const released = await gs.releaseLock(input.request.groupId, input.leaseToken, { log: ctx.log, signal: ctx.signal });
    ctx.log.info({ released }, released ? 'Released lock' : 'Lock was not held by this failover');
    return {};
  };

  const renew = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    const record = await gs.renewLock(input.request.groupId, needProof(input), input.policy.leaseTtlMs, { log: ctx.log, signal: ctx.signal });
    return { leaseExpiresAtMs: record.lock?.expiresAtMs };
  };

  /**
   * After a lost lease: learn whether the failover already ended, and otherwise win the lease back if nobody else
   * holds the lock. A failover that succeeded needs no lease any more (this side only observes or finishes as the
   * new owner); one that ended without success must be undone on this side, so the lock is taken for that.
   */
  const regainOrEnd = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    const r = input.request;
    const record = await requireGroup(w, input, ctx);
    const lock = record.lock;
    const now = nowMs();
    const ours = ownedByThisFailover(record, input);
    if (input.expectedVersion !== undefined && record.version !== input.expectedVersion && !ours) {
      // Superseded: this failover ends here as FAILED, and says so in the history (written once per failover, so
      // whichever side gets here first writes it). Without it the peer, which ends on this failover's history, would
      // wait for good (found by the daemon-level swarm: an automatic failover back while the unplanned target
      // stalled left the old source waiting).
      await recordSuperseded(input, ctx, record);
      throw new DriverError('Conflict', 'engine', 'regainLease', `group ${r.groupId} is at version ${record.version} owned by ${record.ownerCluster}; this failover validated version ${input.expectedVersion}`, { reason: 'Superseded' });
    }
    const h = await historyOf(w, input, ctx.log, ctx.signal);
    if (lock && lock.leaseToken === input.leaseToken && lock.expiresAtMs >= now) {
      ctx.log.info({ fencingToken: record.fencingToken }, 'Lease still held: refreshed the proof');
      const out: Partial<StepOutput> = { proof: { leaseToken: input.leaseToken, fencingToken: record.fencingToken }, leaseExpiresAtMs: lock.expiresAtMs };
      if (h && h.status !== 'SUCCESS') out.observed = endedObservation(h);
      return out;
    }
    // The failover succeeded (history), or ownership already moved to the target (OWNED): nothing left needs the
    // lease, except for the side that records the history and releases the lock (the UPTIME source, the CONSISTENCY
    // target): OWNED alone does not end its need, so it takes the lease again below and finishes its Completion; and
    // when it finds its success recorded (its write applied as it lost the lease) it completes from here, so it
    // releases this failover's lock first (expired, but still in the record). The proof takes the group's current
    // fencing token (the peer may have taken the lease again before it completed), unless another lease holds the lock.
    const writer = r.type === 'planned' && writesHistory(branchFor({ mode: r.mode, type: r.type, role: input.role }));
    const ended = h?.status === 'SUCCESS' ? 'ENDED_SUCCESS' : ours && r.type === 'planned' && !writer ? 'OWNED' : undefined;
    if (ended) {
      if (ended === 'ENDED_SUCCESS' && writer && lock?.leaseToken === input.leaseToken) {
        await gs.releaseLock(r.groupId, input.leaseToken, { log: ctx.log, signal: ctx.signal });
      }
      const fresh = ours && !(lock && lock.expiresAtMs >= now);
      return fresh ? { observed: ended, proof: { leaseToken: input.leaseToken, fencingToken: record.fencingToken } } : { observed: ended };
    }
    if (lock && lock.expiresAtMs >= now) {
      throw new DriverError('Conflict', 'engine', 'regainLease', `group ${r.groupId} is locked by failover ${lock.failoverId} (${lock.holder}) until ${lock.expiresAtMs}`, { reason: 'Locked' });
    }
    const taken = await gs.acquireLock(r.groupId, { holder: deps.cluster, leaseToken: input.leaseToken, failoverId: r.failoverId, reason: `regained for ${r.failoverName}`, ttlMs: input.policy.leaseTtlMs, ...forced(r) }, { log: ctx.log, signal: ctx.signal });
    ctx.log.warn({ fencingToken: taken.fencingToken }, 'Regained lock after losing the lease');
    const out: Partial<StepOutput> = { proof: { leaseToken: input.leaseToken, fencingToken: taken.fencingToken }, leaseExpiresAtMs: taken.lock?.expiresAtMs };
    if (h) out.observed = endedObservation(h);
    else if (sameFailover(taken, r.failoverId) && taken.volumeState?.state === 'FAILED') out.observed = 'FAILED';
    return out;
  };

  /**
   * The regain, and when the failover has ended by then, its history record's figures: a side that learns of the end
   * through a regain (its lease lapsed after the peer released the lock) reports the same downtime and duration as
   * the peer (found by the daemon-level swarm: the CONSISTENCY source reported its own, longer figures).
   */
  const regain = async (input: StepInput, ctx: StepCtx): Promise<Partial<StepOutput>> => {
    const out = await regainOrEnd(input, ctx);
    const h = await historyOf(w, input, ctx.log, ctx.signal);
    return h ? { ...out, history: figuresOf(h) } : out;
  };

  const probe: TaskRunner<ReachabilityOutput, StepInput> = async ({ input, signal }) => {
    const log = w.logFor(input);
    const within = async (fn: (s: AbortSignal) => Promise<unknown>): Promise<boolean> => {
      const ac = new AbortController();
      const onAbort = () => ac.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await Promise.race([
          fn(ac.signal).then(
            () => true,
            () => false,
          ),
          clock.sleep(PROBE_TIMEOUT_MS, ac.signal).then(
            () => false,
            () => false,
          ),
        ]);
      } finally {
        ac.abort();
        signal.removeEventListener('abort', onAbort);
      }
    };
    const [own, peer, globalState] = await Promise.all([
      within((s) => deps.clusterPort.list(Kinds.Namespace, { log, signal: s })),
      deps.peerClusterPort ? within((s) => deps.peerClusterPort!.list(Kinds.Namespace, { log, signal: s })) : Promise.resolve(null),
      within((s) => gs.getGroup(input.request.groupId, { log, signal: s })),
    ]);
    const out: ReachabilityOutput = { atMs: nowMs(), own, peer, globalState };
    log.info({ own, peer, globalState }, 'Probed reachability');
    return out;
  };

  return {
    validateFailover: w.step('validateFailover', validate),
    acquireLock: w.step('acquireLock', acquire),
    joinLease: w.step('joinLease', join),
    renewLease: w.step('renewLease', renew),
    regainLease: w.step('regainLease', regain),
    setVolumeState: w.step('setVolumeState', setVolumeState),
    waitForPeer: w.step('waitForPeer', waitForPeer),
    transferOwnership: w.step('transferOwnership', transfer),
    recordHistory: w.step('recordHistory', recordHistory),
    releaseLock: w.step('releaseLock', release),
    probeReachability: probe,
  };
}

export { isDriverError };
