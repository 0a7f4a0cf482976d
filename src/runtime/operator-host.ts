// Why: the process that runs failover charts on one cluster's operator. It starts an actor per failover, persists
// the chart's snapshot (stamped with the chart version) on every transition, and after a crash restores every
// unfinished failover from its last persisted snapshot, so no failover ever stops half-way because its operator
// died. It is the same code in the daemon and in the simulator; only the ports differ.
import { createActor, type ActorOptions, type AnyActorLogic, type AnyActorRef, type AnyMachineSnapshot, type AnyStateMachine, type StateValue, type Subscription } from 'xstate';
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { isDriverError, toStepError, type StepError } from '../../drivers/errors.ts';
import type { JsonObject } from '../../drivers/json.ts';
import type { SnapshotStorePort, SnapshotValue } from '../../drivers/snapshots/snapshot.port.ts';

export type TraceFields = Record<string, string | number | boolean | null | undefined>;

/**
 * Thrown (and recorded) when a persisted snapshot was taken with another chart version than the running one:
 * restoring it could resume in a state that no longer exists, or with context the chart no longer reads.
 */
export class SnapshotVersionMismatchError extends Error {
  override readonly name = 'SnapshotVersionMismatchError';
  constructor(
    readonly key: string,
    readonly storedVersion: number,
    readonly runningVersion: number,
  ) {
    super(
      `Refused to restore failover ${key}: its snapshot was persisted by chart version ${storedVersion}, but this operator runs chart version ${runningVersion}. ` +
        `Finish or abandon the failover with an operator at version ${storedVersion}, or delete its snapshot to give it up.`,
    );
  }
}

/** What one process life of the host works with: the chart wired to this life's ports, and persistence. */
export interface HostIncarnation {
  /** The failover chart, provided with this incarnation's actors. */
  logic: AnyStateMachine;
  snapshots: SnapshotStorePort;
  /** The persister's backoff sleeps on it. */
  clock: ClockPort;
  /** XState's clock for the actors (the simulator passes its virtual clock). */
  xstateClock?: NonNullable<ActorOptions<AnyActorLogic>['clock']>;
}

/** A failover the host must run: its id and the actor's input. */
export interface Submission {
  failoverId: string;
  input: JsonObject;
}

/** One new snapshot of a live actor, as the host saw it. */
export interface HostSnapshotEvent {
  cluster: string;
  failoverId: string;
  snapshot: AnyMachineSnapshot;
  /** Counted over every failover of this host life, from 1. */
  hostTransition: number;
  /** Whether the state value changed (a retry inside one state changes only context). */
  stateChanged: boolean;
}

export interface PersistedEvent {
  cluster: string;
  failoverId: string;
  revision: number;
  value: SnapshotValue;
}

export interface OperatorHostOptions<TStatus> {
  cluster: string;
  /** The running chart's version; stamped on every snapshot, required of every restored one. */
  machineVersion: number;
  /** Called at construction and at every restart: a new process life. */
  incarnate(): HostIncarnation;
  /** Derives the status from a snapshot (never stored separately). */
  deriveStatus(snapshot: AnyMachineSnapshot): TStatus;
  /** A short description of a status for trace lines (phase, progression). */
  describeStatus?(status: TStatus): TraceFields;
  /** The trace fields of a new snapshot; by default describeStatus(deriveStatus(snapshot)). */
  describeSnapshot?(snapshot: AnyMachineSnapshot): TraceFields;
  log: Logger;
  /** Trace lines (the simulator's trace); deterministic fields only. */
  trace?(event: string, fields: TraceFields): void;
  onSnapshot?(e: HostSnapshotEvent): void;
  onPersisted?(e: PersistedEvent): void;
  /** An actor failed with a programmer error (the daemon would crash on it). */
  onActorError?(failoverId: string, error: unknown): void;
  /**
   * The failovers the host must run even without a snapshot (the durable Failover objects). On restart, those
   * with no snapshot start from scratch.
   */
  pendingRequests?(): Submission[];
  persistBackoffMs?: { base: number; max: number };
}

interface Managed {
  failoverId: string;
  input: JsonObject;
  actor: AnyActorRef;
  sub?: Subscription;
  last: AnyMachineSnapshot;
  lastValue: string;
  /** The stored revision, as far as this life knows; undefined: create. */
  revision: number | undefined;
  dirty: boolean;
  persisting: boolean;
  persistError?: StepError;
  error?: unknown;
  /** The snapshot on disk has reached a final state: the failover has ended. */
  done: boolean;
}

export interface RestartReport {
  restored: string[];
  /** Found with a final snapshot: kept for status, not run. */
  finished: string[];
  started: string[];
  refused: Array<{ failoverId: string; error: Error }>;
}

const ATTEMPT_MAX = 10_000;

/** `a`, `a.b`, parallel regions `{a.x,b.y}`: a stable, readable form of a state value. */
export function stateValueString(value: StateValue): string {
  if (typeof value === 'string') return value;
  const parts = Object.keys(value)
    .sort()
    .map((k) => {
      const v = value[k];
      if (v === undefined || (typeof v === 'object' && Object.keys(v).length === 0)) return k;
      return `${k}.${stateValueString(v)}`;
    });
  return parts.length === 1 ? parts[0] : `{${parts.join(',')}}`;
}

export class OperatorHost<TStatus = unknown> {
  readonly cluster: string;
  private inc: HostIncarnation;
  private readonly managed = new Map<string, Managed>();
  /** Failovers restored with a final snapshot: their last snapshot, for status. */
  private readonly finished = new Map<string, AnyMachineSnapshot>();
  private life = 1;
  private up = true;
  private transitions = 0;
  readonly refused = new Map<string, Error>();

  constructor(private readonly opts: OperatorHostOptions<TStatus>) {
    this.cluster = opts.cluster;
    this.inc = opts.incarnate();
  }

  get alive(): boolean {
    return this.up;
  }

  /**
   * Starts the failover (idempotent by failoverId while this life runs it). A process that may have persisted
   * failovers before must call recover() first (restart() after a crash), so that they are restored rather than
   * started again.
   */
  start(sub: Submission): void {
    if (!this.up) throw new Error(`OperatorHost ${this.cluster}: cannot start failover ${sub.failoverId}: the operator is down (call restart() first)`);
    if (this.managed.has(sub.failoverId) || this.finished.has(sub.failoverId)) return;
    const refused = this.refused.get(sub.failoverId);
    if (refused) {
      // Starting afresh would overwrite the snapshot this operator refused to restore: keep it for a person.
      throw new Error(`OperatorHost ${this.cluster}: will not start failover ${sub.failoverId} again: ${refused.message}`, { cause: refused });
    }
    const actor = createActor(this.inc.logic, { input: sub.input, ...(this.inc.xstateClock ? { clock: this.inc.xstateClock } : {}) });
    const m: Managed = {
      failoverId: sub.failoverId,
      input: sub.input,
      actor,
      last: actor.getSnapshot() as AnyMachineSnapshot,
      lastValue: '',
      revision: undefined,
      dirty: false,
      persisting: false,
      done: false,
    };
    this.managed.set(sub.failoverId, m);
    this.trace('failover.started', { cluster: this.cluster, failover: sub.failoverId });
    this.attach(m, true);
  }

  /**
   * A process crash: every actor stops where it is, with no exit actions, no compensation and no final write.
   * In-flight promises are abandoned (their signals abort); what was not persisted is lost.
   */
  crash(): void {
    if (!this.up) return;
    this.up = false;
    this.life++;
    for (const m of this.managed.values()) {
      m.sub?.unsubscribe();
      m.actor.stop();
    }
    this.managed.clear();
    this.finished.clear();
    this.trace('operator.crashed', { cluster: this.cluster });
  }

  /**
   * A new process life: restores every unfinished failover from its last persisted snapshot, keeps the finished
   * ones for status, and starts pending requests that have no snapshot. Reads are retried with backoff until
   * they succeed (bounded); a snapshot from another chart version is refused (SnapshotVersionMismatchError).
   */
  async restart(): Promise<RestartReport> {
    if (this.up) throw new Error(`OperatorHost ${this.cluster}: restart() needs a crashed operator (call crash() first)`);
    this.up = true;
    this.inc = this.opts.incarnate();
    this.transitions = 0;
    this.trace('operator.restarting', { cluster: this.cluster });
    return this.restore('operator.restarted');
  }

  /**
   * The first start of a process: restores every unfinished failover the store holds (a previous process's), keeps
   * the finished ones for status and starts pending requests, exactly as restart() does, but without a crash: the
   * host has run nothing yet in this life. Call it once, before start(); the daemon does so on start.
   */
  async recover(): Promise<RestartReport> {
    if (!this.up) throw new Error(`OperatorHost ${this.cluster}: recover() is for a fresh host; a crashed one comes back with restart()`);
    if (this.recovered || this.managed.size > 0 || this.finished.size > 0 || this.life !== 1) {
      throw new Error(`OperatorHost ${this.cluster}: recover() runs once, on a fresh host before any start(); later lives use crash() then restart()`);
    }
    this.recovered = true;
    this.trace('operator.recovering', { cluster: this.cluster });
    return this.restore('operator.recovered');
  }

  private recovered = false;

  /** Loads every persisted failover into this life (see restart() and recover()). */
  private async restore(doneEvent: string): Promise<RestartReport> {
    const life = this.life;
    const report: RestartReport = { restored: [], finished: [], started: [], refused: [] };
    const keys = await this.retry(life, 'list', () => this.inc.snapshots.list());
    for (const key of keys) {
      const stored = await this.retry(life, 'load', () => this.inc.snapshots.load(key));
      if (this.life !== life) return report;
      if (!stored) continue;
      if (stored.machineVersion !== this.opts.machineVersion) {
        const error = new SnapshotVersionMismatchError(key, stored.machineVersion, this.opts.machineVersion);
        this.refuse(report, key, error);
        continue;
      }
      const input = this.opts.pendingRequests?.().find((p) => p.failoverId === key)?.input ?? {};
      let actor: AnyActorRef;
      try {
        actor = createActor(this.inc.logic, {
          snapshot: stored.snapshot as any,
          input,
          ...(this.inc.xstateClock ? { clock: this.inc.xstateClock } : {}),
        });
      } catch (e) {
        this.refuse(report, key, new Error(`Refused to restore failover ${key}: its snapshot does not fit chart version ${this.opts.machineVersion}: ${(e as Error).message}`, { cause: e }));
        continue;
      }
      const snap = actor.getSnapshot() as AnyMachineSnapshot;
      if (snap.status !== 'active') {
        this.finished.set(key, snap);
        report.finished.push(key);
        this.trace('failover.finished-on-disk', { cluster: this.cluster, failover: key, state: stateValueString(snap.value) });
        continue;
      }
      const m: Managed = {
        failoverId: key,
        input,
        actor,
        last: snap,
        lastValue: stateValueString(snap.value),
        revision: stored.revision,
        dirty: false,
        persisting: false,
        done: false,
      };
      this.managed.set(key, m);
      report.restored.push(key);
      this.trace('failover.restored', { cluster: this.cluster, failover: key, state: m.lastValue, revision: stored.revision });
      this.attach(m, false);
    }
    for (const sub of this.opts.pendingRequests?.() ?? []) {
      if (this.life !== life) return report;
      if (this.managed.has(sub.failoverId) || this.finished.has(sub.failoverId) || this.refused.has(sub.failoverId)) continue;
      this.start(sub);
      report.started.push(sub.failoverId);
    }
    this.trace(doneEvent, { cluster: this.cluster, restored: report.restored.length, finished: report.finished.length, started: report.started.length, refused: report.refused.length });
    return report;
  }

  /** The ids of every failover this life knows (running or finished), sorted. */
  failoverIds(): string[] {
    return [...new Set([...this.managed.keys(), ...this.finished.keys()])].sort();
  }

  /** The current snapshot (live actor, or the final one restored from disk). */
  snapshot(failoverId: string): AnyMachineSnapshot | undefined {
    return this.managed.get(failoverId)?.last ?? this.finished.get(failoverId);
  }

  /** The derived status; undefined while the operator is down or does not know the failover. */
  status(failoverId: string): TStatus | undefined {
    const s = this.snapshot(failoverId);
    return s ? this.opts.deriveStatus(s) : undefined;
  }

  /** Whether the failover has reached a final state (as far as this life knows). */
  isDone(failoverId: string): boolean {
    const m = this.managed.get(failoverId);
    if (m) return m.last.status === 'done';
    return this.finished.has(failoverId);
  }

  /** Whether every write of this failover's latest snapshot has reached the store. */
  isPersisted(failoverId: string): boolean {
    const m = this.managed.get(failoverId);
    if (!m) return this.finished.has(failoverId);
    return !m.dirty && !m.persisting;
  }

  /** The programmer error an actor died of, if any. */
  actorError(failoverId: string): unknown {
    return this.managed.get(failoverId)?.error;
  }

  persistError(failoverId: string): StepError | undefined {
    return this.managed.get(failoverId)?.persistError;
  }

  private refuse(report: RestartReport, key: string, error: Error): void {
    this.refused.set(key, error);
    report.refused.push({ failoverId: key, error });
    this.trace('failover.restore-refused', { cluster: this.cluster, failover: key, error: error.message });
    this.opts.log.error({ failoverId: key, err: error }, 'Refused to restore Failover');
  }

  private attach(m: Managed, fresh: boolean): void {
    const life = this.life;
    m.sub = m.actor.subscribe({
      next: (snap: AnyMachineSnapshot) => this.onSnapshot(m, snap, life),
      error: (err: unknown) => this.onError(m, err, life),
    });
    if (fresh) {
      // The first snapshot (the initial state) arrives through the subscription as start() runs.
      m.last = undefined as unknown as AnyMachineSnapshot;
    }
    m.actor.start();
  }

  private onSnapshot(m: Managed, snap: AnyMachineSnapshot, life: number): void {
    if (life !== this.life || snap === m.last) return;
    if (snap.status === 'stopped' || snap.status === 'error') return;
    m.last = snap;
    const value = stateValueString(snap.value);
    const stateChanged = value !== m.lastValue;
    m.lastValue = value;
    this.transitions++;
    if (stateChanged || snap.status === 'done') {
      const fields = this.describe(snap);
      this.trace('failover.state', { cluster: this.cluster, failover: m.failoverId, state: value, ...fields, ...(snap.status === 'done' ? { done: true } : {}) });
      if (this.opts.log.isLevelEnabled('info')) this.opts.log.info({ failoverId: m.failoverId, state: value, ...fields }, 'Entered state');
    }
    if (snap.status === 'done') m.done = true;
    m.dirty = true;
    if (!m.persisting) void this.persist(m, life);
    this.opts.onSnapshot?.({ cluster: this.cluster, failoverId: m.failoverId, snapshot: snap, hostTransition: this.transitions, stateChanged });
  }

  private describe(snap: AnyMachineSnapshot): TraceFields {
    if (this.opts.describeSnapshot) return this.opts.describeSnapshot(snap);
    const status = this.opts.deriveStatus(snap);
    return this.opts.describeStatus?.(status) ?? {};
  }

  private onError(m: Managed, err: unknown, life: number): void {
    if (life !== this.life) return;
    m.error = err;
    const e = toStepError('actor', err);
    this.trace('failover.error', { cluster: this.cluster, failover: m.failoverId, error: e.message });
    this.opts.log.error({ failoverId: m.failoverId, err }, 'Failover actor failed');
    this.opts.onActorError?.(m.failoverId, err);
  }

  /** Writes the latest snapshot until it is stored; newer snapshots supersede older ones not yet written. */
  private async persist(m: Managed, life: number): Promise<void> {
    m.persisting = true;
    const { base, max } = this.opts.persistBackoffMs ?? { base: 100, max: 5_000 };
    try {
      let attempt = 0;
      while (m.dirty && this.life === life) {
        m.dirty = false;
        const value: SnapshotValue = {
          machineVersion: this.opts.machineVersion,
          snapshot: m.actor.getPersistedSnapshot(),
          // The chart's context inside the snapshot holds the request, and restore reads context from the
          // snapshot (never from input), so the input is not stored a second time.
          meta: { failoverId: m.failoverId, cluster: this.cluster },
        };
        for (;;) {
          if (this.life !== life) return;
          try {
            const r = await this.inc.snapshots.save(m.failoverId, value, m.revision);
            if (this.life !== life) return;
            m.revision = r.revision;
            m.persistError = undefined;
            attempt = 0;
            this.opts.onPersisted?.({ cluster: this.cluster, failoverId: m.failoverId, revision: r.revision, value });
            break;
          } catch (e) {
            if (this.life !== life) return;
            if (!isDriverError(e)) throw e;
            m.persistError = e.toStepError();
            if (++attempt > ATTEMPT_MAX) {
              this.trace('snapshot.gave-up', { cluster: this.cluster, failover: m.failoverId, error: e.message });
              return;
            }
            if (e.kind === 'Conflict') {
              // This life is the only writer: the store moved on by our own earlier write (a timeout that
              // applied) or the entry is gone. Learn its revision and write ours over it.
              this.trace('snapshot.conflict', { cluster: this.cluster, failover: m.failoverId, reason: e.reason });
              try {
                const cur = await this.inc.snapshots.load(m.failoverId);
                if (this.life !== life) return;
                m.revision = cur?.revision;
              } catch (le) {
                if (this.life !== life) return;
                if (!isDriverError(le)) throw le;
                await this.inc.clock.sleep(Math.min(max, base * 2 ** Math.min(attempt, 16)));
              }
              continue;
            }
            if (!e.retryable) {
              this.trace('snapshot.failed', { cluster: this.cluster, failover: m.failoverId, kind: e.kind, error: e.message });
              this.opts.log.error({ failoverId: m.failoverId, err: e }, 'Could not persist Failover snapshot');
              return;
            }
            await this.inc.clock.sleep(Math.min(max, base * 2 ** Math.min(attempt, 16)));
            if (this.life !== life) return;
            if (m.dirty) break; // a newer snapshot supersedes this one
          }
        }
      }
    } finally {
      if (this.life === life) m.persisting = false;
    }
  }

  private async retry<T>(life: number, op: string, f: () => Promise<T>): Promise<T> {
    const { base, max } = this.opts.persistBackoffMs ?? { base: 100, max: 5_000 };
    for (let attempt = 1; ; attempt++) {
      try {
        return await f();
      } catch (e) {
        if (!isDriverError(e) || !e.retryable || attempt >= ATTEMPT_MAX || this.life !== life) throw e;
        this.trace('snapshot.retry', { cluster: this.cluster, op, attempt, kind: e.kind });
        await this.inc.clock.sleep(Math.min(max, base * 2 ** Math.min(attempt, 16)));
      }
    }
  }

  private trace(event: string, fields: TraceFields): void {
    this.opts.trace?.(event, fields);
  }
}
