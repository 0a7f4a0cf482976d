// Why: a cluster that comes back after an unplanned failover moved its group elsewhere must stand down (two
// primaries otherwise). The rejoin chart does it; this supervisor decides when it runs in the daemon: for every
// managed group whose global owner is another cluster, once per ownership (owner, version, fencing token) per
// process life, again when ownership changes, again after a failure (backoff, or at once on reconnect), and never
// while a failover of the group runs on this cluster (a running rejoin is stopped when one starts: the newer
// failover's token wins). Its state is what the heartbeat publishes and what FailoverGroup.status shows.
import type { Logger } from 'pino';
import { createActor, type Actor, type ActorOptions, type AnyActorLogic } from 'xstate';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort, GVK } from '../../drivers/cluster/cluster.port.ts';
import type { GlobalStatePort, GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import type { FailoverGroupSpec } from '../../machines/failover/group.types.ts';
import type { RejoinContext, RejoinOutput } from '../../machines/failover/rejoin.machine.ts';
import { wireRejoin } from '../wire/rejoin.ts';

type XStateClock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;
type TraceFn = (event: string, fields: Record<string, string | number | boolean | null | undefined>) => void;

/** The longest wait before a failed stand-down runs again (the wait starts at the heartbeat interval, doubling per failure). */
export const STAND_DOWN_RETRY_MAX_MS = 60_000;

export type StandDownPhase = 'StandingDown' | 'StoodDown' | 'Failed';

/** What this cluster did about one group it does not own (published in its heartbeat's components.standDown). */
export interface StandDownView {
  phase: StandDownPhase;
  /** The ownership the stand-down is for (as the chart read it; its writes carried this token). */
  owner: string;
  version: number;
  fencingToken: number;
  sinceMs: number;
  error?: string;
}

export interface RejoinSupervisorDeps {
  clusterName: string;
  /** The CronJob version this cluster serves (discovery at daemon start); default batch/v1. */
  cronJobKind?: GVK;
  clusterPort: ClusterPort;
  globalState: GlobalStatePort;
  clock: ClockPort;
  log: Logger;
  xstateClock?: XStateClock;
  trace?: TraceFn;
  /** Whether a failover of the group runs (or is restored and unfinished) on this cluster. */
  failoverActive(groupId: string): boolean;
  /** The stand-down state of a group changed (the group's status and next heartbeat show it). */
  onChange(groupId: string): void;
  /** A programmer error ended a rejoin chart (not retried). */
  onActorError?(groupId: string, err: unknown): void;
}

interface Entry {
  key: string;
  view: StandDownView;
  actor?: Actor<ReturnType<typeof wireRejoin>>;
  failures: number;
  retryAtMs?: number;
  log: Logger;
}

/**
 * What a stand-down is for: the group's ownership (owner and version). Not the fencing token, which every lock
 * acquisition raises: a standby is not stood down again for each failover that takes the lock.
 */
export function ownershipKey(o: { ownerCluster: string; version: number }): string {
  return `${o.ownerCluster}/${o.version}`;
}

/** A cluster's published stand-down of a group, read from its heartbeat record (undefined when none). */
export function standDownOf(components: JsonObject | undefined): StandDownView | undefined {
  const s = components?.standDown;
  if (!s || typeof s !== 'object' || Array.isArray(s)) return undefined;
  const { phase, owner, version, fencingToken, sinceMs, error } = s;
  if ((phase !== 'StandingDown' && phase !== 'StoodDown' && phase !== 'Failed') || typeof owner !== 'string' || typeof version !== 'number' || typeof fencingToken !== 'number') return undefined;
  return { phase, owner, version, fencingToken, sinceMs: typeof sinceMs === 'number' ? sinceMs : 0, ...(typeof error === 'string' ? { error } : {}) };
}

export function standDownComponent(v: StandDownView): JsonObject {
  return { phase: v.phase, owner: v.owner, version: v.version, fencingToken: v.fencingToken, sinceMs: v.sinceMs, ...(v.error !== undefined ? { error: v.error } : {}) };
}

export class RejoinSupervisor {
  private readonly entries = new Map<string, Entry>();
  private readonly logic: ReturnType<typeof wireRejoin>;
  private stopped = false;
  stats = { started: 0, stoodDown: 0, failed: 0, aborted: 0 };

  constructor(private readonly deps: RejoinSupervisorDeps) {
    this.logic = wireRejoin({
      cluster: deps.clusterName,
      clusterPort: deps.clusterPort,
      globalState: deps.globalState,
      clock: deps.clock,
      log: deps.log,
      ...(deps.cronJobKind ? { cronJobKind: deps.cronJobKind } : {}),
    });
  }

  /** The stand-down state of a group on this cluster (undefined when it owns the group or nothing ran yet). */
  view(groupId: string): StandDownView | undefined {
    return this.entries.get(groupId)?.view;
  }

  /**
   * The level check, after each heartbeat that read the group's record: runs the rejoin chart when another cluster
   * owns the group and this ownership has not been stood down for yet (or the last try failed and its backoff
   * passed, or global state was just reached again after failures).
   */
  check(groupId: string, spec: FailoverGroupSpec, record: GroupRecord, o: { reconnected: boolean; heartbeatIntervalMs: number }): void {
    if (this.stopped) return;
    const me = this.deps.clusterName;
    if (this.deps.failoverActive(groupId)) {
      this.abort(groupId, 'a failover of the group runs on this cluster');
      return;
    }
    const e = this.entries.get(groupId);
    if (record.ownerCluster === me) {
      // This cluster owns the group: nothing to stand down (a running chart would find out and end as 'owner').
      if (e && !e.actor) this.forget(groupId);
      return;
    }
    const key = ownershipKey(record);
    if (e?.actor) return; // the running chart reads ownership itself; its result is checked on the next beat
    if (e && e.key === key && e.view.phase === 'StoodDown') return;
    if (e && e.key === key && e.view.phase === 'Failed' && (e.retryAtMs === Number.POSITIVE_INFINITY || (!o.reconnected && this.deps.clock.now() < (e.retryAtMs ?? 0)))) return;
    this.start(groupId, spec, record, e && e.key === key ? e.failures : 0, o.heartbeatIntervalMs);
  }

  /** A failover of the group started or moved on this cluster: stop a running rejoin (its token is older). */
  onFailoverActive(groupId: string): void {
    this.abort(groupId, 'a failover of the group started on this cluster');
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) e.actor?.stop();
  }

  private forget(groupId: string): void {
    this.entries.delete(groupId);
    this.deps.onChange(groupId);
  }

  private abort(groupId: string, why: string): void {
    const e = this.entries.get(groupId);
    if (!e?.actor) return;
    const actor = e.actor;
    e.actor = undefined;
    actor.stop();
    this.stats.aborted++;
    e.log.info({ why }, 'Stopped standing down');
    this.deps.trace?.('daemon.rejoin-aborted', { cluster: this.deps.clusterName, group: groupId });
    // Run again from scratch (a new check) once the failover has ended, whatever it decided.
    this.entries.delete(groupId);
    this.deps.onChange(groupId);
  }

  private start(groupId: string, spec: FailoverGroupSpec, record: GroupRecord, failures: number, heartbeatIntervalMs: number): void {
    const { clock, clusterName: me } = this.deps;
    const log = this.deps.log.child({ groupId, component: 'rejoin' });
    const key = ownershipKey(record);
    const entry: Entry = {
      key,
      view: { phase: 'StandingDown', owner: record.ownerCluster, version: record.version, fencingToken: record.fencingToken, sinceMs: clock.now() },
      failures,
      log,
    };
    const actor = createActor(this.logic, { input: { groupId, group: spec, cluster: me }, ...(this.deps.xstateClock ? { clock: this.deps.xstateClock } : {}) });
    entry.actor = actor;
    this.entries.set(groupId, entry);
    this.stats.started++;
    log.info({ owner: record.ownerCluster, version: record.version, fencingToken: record.fencingToken }, 'Standing down: another cluster owns the group');
    this.deps.trace?.('daemon.rejoin-started', { cluster: me, group: groupId, owner: record.ownerCluster, version: record.version });
    actor.subscribe({
      next: (snap) => {
        if (entry.actor !== actor) return;
        const ctx = snap.context as RejoinContext;
        if (ctx.ownership) {
          const o = ctx.ownership;
          entry.key = ownershipKey(o);
          entry.view = { ...entry.view, owner: o.ownerCluster, version: o.version, fencingToken: o.fencingToken };
        }
        if (snap.status === 'done') this.finished(groupId, entry, snap.output as RejoinOutput, heartbeatIntervalMs);
      },
      error: (err) => {
        // A programmer error in the chart or its wiring: a crash, never a silent or retried stand-down.
        if (entry.actor !== actor) return;
        this.finished(groupId, entry, { outcome: 'failed', error: { kind: 'Internal', driver: 'engine', op: 'rejoin', message: err instanceof Error ? err.message : String(err) } }, heartbeatIntervalMs);
      },
    });
    actor.start();
    this.deps.onChange(groupId);
  }

  private finished(groupId: string, entry: Entry, out: RejoinOutput, heartbeatIntervalMs: number): void {
    const { clock, clusterName: me } = this.deps;
    entry.actor = undefined;
    const now = clock.now();
    if (out.outcome === 'owner') {
      entry.log.info('This cluster owns the group: nothing to stand down');
      this.forget(groupId);
      return;
    }
    if (out.outcome === 'stoodDown') {
      entry.failures = 0;
      entry.retryAtMs = undefined;
      entry.view = { phase: 'StoodDown', owner: entry.view.owner, version: entry.view.version, fencingToken: entry.view.fencingToken, sinceMs: now };
      this.stats.stoodDown++;
      entry.log.info({ owner: entry.view.owner, version: entry.view.version }, 'Stood down: traffic off, workloads at 0, volumes secondary');
      this.deps.trace?.('daemon.rejoin-stood-down', { cluster: me, group: groupId, owner: entry.view.owner, version: entry.view.version });
    } else if (out.error?.kind === 'Internal') {
      // A bug (in a step, or the chart itself): not retried; the group shows it, and the host is told (it crashes
      // the simulated run, and is logged at error level by the daemon).
      entry.retryAtMs = Number.POSITIVE_INFINITY;
      const error = `Internal: ${out.error.message}`;
      entry.view = { phase: 'Failed', owner: entry.view.owner, version: entry.view.version, fencingToken: entry.view.fencingToken, sinceMs: now, error };
      this.stats.failed++;
      this.deps.onActorError?.(groupId, new Error(`rejoin of ${groupId} on ${me}: ${out.error.message}`));
    } else {
      entry.failures++;
      const waitMs = Math.min(STAND_DOWN_RETRY_MAX_MS, Math.max(1_000, heartbeatIntervalMs) * 2 ** Math.min(entry.failures - 1, 16));
      entry.retryAtMs = now + waitMs;
      const error = out.error ? `${out.error.kind}: ${out.error.message}` : 'the rejoin chart failed';
      entry.view = { phase: 'Failed', owner: entry.view.owner, version: entry.view.version, fencingToken: entry.view.fencingToken, sinceMs: now, error };
      this.stats.failed++;
      entry.log.warn({ err: error, failures: entry.failures, retryInMs: waitMs }, 'Could not stand down; trying again');
      this.deps.trace?.('daemon.rejoin-failed', { cluster: me, group: groupId, failures: entry.failures });
    }
    this.deps.onChange(groupId);
  }
}
