// Why: when the primary of a group dies or stays broken, a standby must take the group over without a person,
// exactly once. This is the reference operator's detection (PARITY.md §2.5) with its gaps closed: suspended groups
// are skipped; the unhealthy-duration check is real (since when the primary has reported ERROR is read from its
// heartbeat records, and tracked locally as a fallback); only one standby acts (the healthy standby with the
// lowest name, and a compare-and-set on the group's lock in global state so two standbys cannot both start one).
//
// What the automatic Failover is (a choice, documented in docs/daemon.md):
// - The primary's heartbeat is older than timeouts.heartbeat: the primary is unreachable, so an UPTIME failover
//   (which must deactivate the source after the traffic switch) cannot run, nor can a planned CONSISTENCY one
//   (the source must demote its own volumes). The Failover is `type: unplanned`, `failoverMode: CONSISTENCY`,
//   `force: true`: the target fences the source (NetworkFence), moves ownership by compare-and-set and
//   force-promotes.
// - The primary heartbeats but has reported ERROR for longer than timeouts.unhealthyPrimary: its operator is
//   alive and can demote, so the Failover is `type: planned`, `failoverMode: CONSISTENCY` (no data loss; it rolls
//   back if the source cannot shut down).
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort } from '../../drivers/cluster/cluster.port.ts';
import { isDriverError } from '../../drivers/errors.ts';
import type { ClusterStatusRecord, GlobalStatePort, GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import { DEFAULT_FAILOVER_POLICY, type FailoverType } from '../../machines/failover/failover.types.ts';
import { groupIdOf, type FailoverGroupSpec } from '../../machines/failover/group.types.ts';
import { Annotations, AUTO_FAILOVER_COMPONENT, FIELD_MANAGER, Labels } from './api.ts';
import { GroupConditionReason as R } from './conditions.ts';
import { formatDurationMs } from './duration.ts';
import { failoverIdOf, failoverObject } from './failover-spec.ts';
import type { Health } from './health.ts';

export interface AutoFailoverVerdict {
  /** Whether this daemon may start an automatic failover of the group (the AutoFailoverReady condition). */
  ready: boolean;
  reason: string;
  message: string;
  /** Set when this check created a Failover. */
  triggered?: { name: string; type: FailoverType; reason: string };
}

export type Decision =
  | { trigger: false; ready: boolean; reason: string; message: string }
  | { trigger: true; type: FailoverType; primary: string; why: string };

/** What the decision remembers between checks (per group, in memory). */
export interface DetectionMemory {
  /** The first time this daemon saw the group (stands in for a primary that never heartbeated). */
  firstSeenMs: number;
  /** The primary and since when this daemon has seen it report ERROR without a break. */
  errorSeen?: { primary: string; sinceMs: number };
  /** No new automatic failover of the group before this time (one was just started). */
  cooldownUntilMs?: number;
}

export interface DecisionInput {
  me: string;
  spec: FailoverGroupSpec;
  record: GroupRecord;
  clusters: ClusterStatusRecord[];
  /** This cluster's health as it just computed it. */
  ownHealth: Health;
  nowMs: number;
  memory: DetectionMemory;
  /** A failover of this group runs on this cluster now. */
  localFailoverActive: boolean;
}

const ELIGIBLE: ReadonlySet<string> = new Set(['OK', 'DEGRADED']);

/** The detection, as a pure function of what the daemon knows (updates `memory.errorSeen`). */
export function decideAutoFailover(d: DecisionInput): Decision {
  const { me, spec, record, nowMs, memory } = d;
  const t = spec.timeouts;
  const primary = record.ownerCluster;
  const primaryRec = d.clusters.find((c) => c.cluster === primary);
  // Track since when the primary reports ERROR (reset when it does not, or when the primary changes).
  if (primaryRec && primaryRec.health === 'ERROR') {
    if (!memory.errorSeen || memory.errorSeen.primary !== primary) memory.errorSeen = { primary, sinceMs: primaryRec.lastHeartbeatMs };
  } else memory.errorSeen = undefined;

  if (spec.suspended || record.suspended) return { trigger: false, ready: false, reason: R.Suspended, message: 'Automatic failovers are suspended' };
  if (primary === me) return { trigger: false, ready: false, reason: R.IsPrimary, message: `${me} is the primary; automatic failovers start on a standby` };
  if (d.localFailoverActive || (record.lock && record.lock.expiresAtMs > nowMs)) {
    const l = record.lock;
    return { trigger: false, ready: false, reason: R.FailoverInProgress, message: l ? `Locked by ${l.holder} for ${l.failoverId}` : 'A failover of the group runs on this cluster' };
  }
  if (!ELIGIBLE.has(d.ownHealth)) return { trigger: false, ready: false, reason: R.StandbyUnhealthy, message: `${me} reports ${d.ownHealth}; only an OK or DEGRADED standby takes the group over` };
  const fresh = (c: ClusterStatusRecord) => nowMs - c.lastHeartbeatMs <= t.heartbeatMs;
  const candidates = new Set<string>([me]);
  for (const c of d.clusters) if (c.cluster !== primary && c.role === 'STANDBY' && ELIGIBLE.has(c.health) && fresh(c)) candidates.add(c.cluster);
  const elected = [...candidates].sort()[0];
  if (elected !== me) return { trigger: false, ready: false, reason: R.OtherStandbyElected, message: `${elected} is the elected standby (the healthy standby with the lowest name)` };
  if (memory.cooldownUntilMs !== undefined && nowMs < memory.cooldownUntilMs) {
    return { trigger: false, ready: false, reason: R.FailoverInProgress, message: `An automatic failover started recently; the next one may start after ${new Date(memory.cooldownUntilMs).toISOString()}` };
  }

  const lastHeartbeatMs = primaryRec?.lastHeartbeatMs ?? memory.firstSeenMs;
  const silentMs = nowMs - lastHeartbeatMs;
  if (silentMs > t.heartbeatMs) {
    return {
      trigger: true,
      type: 'unplanned',
      primary,
      why: `primary ${primary} has not heartbeated for ${formatDurationMs(silentMs)} (timeouts.heartbeat ${formatDurationMs(t.heartbeatMs)})`,
    };
  }
  if (primaryRec?.health === 'ERROR') {
    const published = primaryRec.components?.healthSinceMs;
    const sinceMs = typeof published === 'number' ? Math.min(published, memory.errorSeen?.sinceMs ?? published) : (memory.errorSeen?.sinceMs ?? nowMs);
    const errorMs = nowMs - sinceMs;
    if (errorMs > t.unhealthyPrimaryMs) {
      // A planned failover needs a fully healthy target: the source's validation refuses anything but OK.
      if (d.ownHealth !== 'OK') return { trigger: false, ready: false, reason: R.StandbyUnhealthy, message: `Primary ${primary} is failing, but ${me} reports ${d.ownHealth}; a planned failover needs an OK target` };
      return {
        trigger: true,
        type: 'planned',
        primary,
        why: `primary ${primary} has reported ERROR for ${formatDurationMs(errorMs)} (timeouts.unhealthyPrimary ${formatDurationMs(t.unhealthyPrimaryMs)})`,
      };
    }
    return { trigger: false, ready: true, reason: R.Armed, message: `Primary ${primary} reports ERROR; ${me} takes the group over once that has lasted ${formatDurationMs(t.unhealthyPrimaryMs)}` };
  }
  return {
    trigger: false,
    ready: true,
    reason: R.Armed,
    message: `Watching primary ${primary} (health ${primaryRec?.health ?? 'UNKNOWN'}): ${me} takes the group over after ${formatDurationMs(t.heartbeatMs)} without its heartbeat or ${formatDurationMs(t.unhealthyPrimaryMs)} of ERROR`,
  };
}

/** `auto-failover-<group>-<YYYYMMDD-HHMMSS>` (UTC), at most 253 characters. */
export function autoFailoverName(groupName: string, nowMs: number): string {
  const iso = new Date(nowMs).toISOString(); // 2026-01-01T00:05:00.000Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  const prefix = 'auto-failover-';
  const room = 253 - prefix.length - stamp.length - 1;
  return `${prefix}${groupName.slice(0, room)}-${stamp}`;
}

/** The lock's reason on a claim: names the claimer and the Failover, so only the claimer resumes an interrupted claim. */
export function claimReason(me: string, type: FailoverType, name: string, why: string): string {
  return `auto-failover by ${me} (${type}) as ${name}: ${why}`;
}
const CLAIM = /^auto-failover by (\S+) \((planned|unplanned)\) as (\S+): (.*)$/s;

export interface AutoFailoverDeps {
  clusterName: string;
  clusterPort: ClusterPort;
  globalState: GlobalStatePort;
  clock: ClockPort;
  log: Logger;
  /** Whether a failover of this group runs on this cluster now. */
  failoverActive(groupId: string): boolean;
  /** Whether this cluster has a Failover object of this name (a claim interrupted before the create). */
  failoverExists(namespace: string, name: string): boolean;
  trace?: (event: string, fields: Record<string, string | number | boolean | null | undefined>) => void;
  /** The lease the claim holds until the failover chart takes it over (default: the chart's lease TTL). */
  claimTtlMs?: number;
}

/** What the checker reads of a group after each heartbeat. */
export interface CheckedGroup {
  key: string;
  spec?: FailoverGroupSpec;
  record?: GroupRecord;
  clusters: ClusterStatusRecord[];
  report?: { health: Health };
  firstSeenMs: number;
}

export class AutoFailoverChecker {
  private readonly memory = new Map<string, DetectionMemory>();
  /** Automatic Failovers this daemon created (name), in order. */
  readonly created: string[] = [];

  constructor(private readonly deps: AutoFailoverDeps) {}

  async check(group: CheckedGroup, signal?: AbortSignal): Promise<AutoFailoverVerdict> {
    const { spec, record } = group;
    if (!spec || !record || !group.report) return { ready: false, reason: R.StandbyUnhealthy, message: 'Not checked yet' };
    const { clusterName: me, clock } = this.deps;
    const groupId = groupIdOf(spec);
    let memory = this.memory.get(groupId);
    if (!memory) this.memory.set(groupId, (memory = { firstSeenMs: group.firstSeenMs }));
    const nowMs = clock.now();

    const resumed = await this.resumeClaim(spec, record, signal);
    if (resumed) return resumed;

    const d = decideAutoFailover({ me, spec, record, clusters: group.clusters, ownHealth: group.report.health, nowMs, memory, localFailoverActive: this.deps.failoverActive(groupId) });
    if (!d.trigger) return { ready: d.ready, reason: d.reason, message: d.message };

    const name = autoFailoverName(spec.name, nowMs);
    const failoverId = failoverIdOf({ namespace: spec.namespace, name }, { namespace: spec.namespace, name: spec.name });
    // The compare-and-set: the lock, taken for this failover with the lease token its chart will present and the
    // holder that will hold it (the target for an unplanned failover, the source for a planned one). A second
    // standby gets Conflict `Locked`; the chart re-acquires the same lease idempotently.
    const holder = d.type === 'unplanned' ? me : d.primary;
    try {
      await this.deps.globalState.acquireLock(
        groupId,
        { holder, leaseToken: `lease/${failoverId}`, failoverId, reason: claimReason(me, d.type, name, d.why), ttlMs: this.deps.claimTtlMs ?? DEFAULT_FAILOVER_POLICY.leaseTtlMs },
        { log: this.deps.log, ...(signal ? { signal } : {}) },
      );
    } catch (e) {
      if (isDriverError(e) && e.kind === 'Conflict') {
        this.deps.log.info({ groupId, reason: e.reason }, 'Another cluster claimed the automatic failover first');
        return { ready: false, reason: R.FailoverInProgress, message: `Another cluster claimed the group first: ${e.message}` };
      }
      throw e;
    }
    memory.cooldownUntilMs = nowMs + Math.max(spec.timeouts.transitoryStateMs, spec.timeouts.heartbeatMs);
    await this.createFailover(spec, name, d.type, d.primary, d.why, nowMs, signal);
    return { ready: false, reason: R.Triggered, message: `Started automatic Failover ${spec.namespace}/${name}: ${d.why}`, triggered: { name, type: d.type, reason: d.why } };
  }

  /** A claim this cluster made whose Failover object was never created (the daemon died in between): create it now. */
  private async resumeClaim(spec: FailoverGroupSpec, record: GroupRecord, signal?: AbortSignal): Promise<AutoFailoverVerdict | undefined> {
    const lock = record.lock;
    if (!lock || lock.expiresAtMs <= this.deps.clock.now()) return undefined;
    const m = CLAIM.exec(lock.reason);
    if (!m || m[1] !== this.deps.clusterName) return undefined;
    const name = m[3];
    if (lock.failoverId !== failoverIdOf({ namespace: spec.namespace, name }, { namespace: spec.namespace, name: spec.name })) return undefined;
    if (this.deps.failoverExists(spec.namespace, name)) return undefined;
    const type = m[2] as FailoverType;
    const primary = type === 'unplanned' ? record.ownerCluster : lock.holder;
    await this.createFailover(spec, name, type, primary, m[4], lock.acquiredAtMs, signal);
    return { ready: false, reason: R.Triggered, message: `Resumed automatic Failover ${spec.namespace}/${name}: ${m[4]}`, triggered: { name, type, reason: m[4] } };
  }

  private async createFailover(spec: FailoverGroupSpec, name: string, type: FailoverType, primary: string, why: string, requestedAtMs: number, signal?: AbortSignal): Promise<void> {
    const { clusterName: me } = this.deps;
    const obj = failoverObject({
      name,
      namespace: spec.namespace,
      targetCluster: me,
      mode: 'CONSISTENCY',
      type,
      force: type === 'unplanned',
      reason: `Automatic failover: ${why}`,
      groups: [{ name: spec.name, namespace: spec.namespace }],
      labels: { [Labels.component]: AUTO_FAILOVER_COMPONENT },
      annotations: {
        [Annotations.automatic]: 'true',
        [Annotations.reason]: why,
        [Annotations.sourceCluster]: primary,
        [Annotations.requestedAt]: new Date(requestedAtMs).toISOString(),
      },
    });
    try {
      await this.deps.clusterPort.create(obj, { log: this.deps.log, fieldManager: FIELD_MANAGER, ...(signal ? { signal } : {}) });
    } catch (e) {
      if (isDriverError(e) && e.kind === 'Conflict' && e.reason === 'AlreadyExists') return;
      throw e;
    }
    this.created.push(name);
    this.deps.log.warn({ groupId: groupIdOf(spec), failover: name, type, primary, reason: why }, 'Created automatic Failover');
    this.deps.trace?.('daemon.auto-failover', { cluster: me, group: groupIdOf(spec), failover: name, type, primary });
  }
}
