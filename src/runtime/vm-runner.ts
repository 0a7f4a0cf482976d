// Why: runs one VM job's chart so that a crash at any point can resume it. The root actor's persisted snapshot
// (with every child chart's) is saved, stamped with the chart version, after every snapshot change anywhere in
// the actor system (a retry inside a step chart included); a crash stops the actor with no exit work, and a
// restore recreates it from the last saved snapshot. Restoring re-runs in-flight invoked steps (each is
// idempotent) and re-invokes the timers from the deadlines kept in context (xstate issue 5331).
import { createActor, type ActorOptions, type AnyActorLogic, type AnyActorRef, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import type { Logger } from 'pino';
import { stateString } from '../../machines/vm/vm.status.ts';

/** What is stored per job: the chart version, the persisted snapshot, and the transition it was taken at. */
export interface VmSnapshotRecord {
  machineVersion: number;
  snapshot: unknown;
  /** Counted over the whole job (every incarnation), from 1. */
  transition: number;
  /** The actor's input (a restore passes it again). */
  input: unknown;
}

/** Where job snapshots live. Synchronous: the in-memory store commits each transition before the next one. */
export interface VmSnapshotStore {
  save(key: string, record: VmSnapshotRecord): void;
  load(key: string): VmSnapshotRecord | undefined;
  keys(): string[];
}

/** The store in memory, through JSON (what is stored is what survives serialization, nothing more). */
export class MemoryVmSnapshotStore implements VmSnapshotStore {
  private readonly entries = new Map<string, string>();
  writes = 0;
  save(key: string, record: VmSnapshotRecord): void {
    this.entries.set(key, JSON.stringify(record));
    this.writes++;
  }
  load(key: string): VmSnapshotRecord | undefined {
    const s = this.entries.get(key);
    return s === undefined ? undefined : (JSON.parse(s) as VmSnapshotRecord);
  }
  keys(): string[] {
    return [...this.entries.keys()].sort();
  }
}

/** Thrown by restore when the stored snapshot was taken by another chart version. */
export class VmSnapshotVersionError extends Error {
  override readonly name = 'VmSnapshotVersionError';
  constructor(
    readonly key: string,
    readonly stored: number,
    readonly running: number,
  ) {
    super(`Refused to restore VM job ${key}: its snapshot was taken by chart version ${stored}, this engine runs version ${running}; finish it with an engine at version ${stored}, or end it by hand`);
  }
}

export interface VmTransition {
  key: string;
  transition: number;
  snapshot: AnyMachineSnapshot;
  /** The root chart's state value changed (not only a child's, or context). */
  stateChanged: boolean;
  state: string;
}

export interface VmJobRunOptions {
  key: string;
  machineVersion: number;
  input: unknown;
  store: VmSnapshotStore;
  log: Logger;
  /** XState's clock (the simulator passes its virtual clock). */
  clock?: NonNullable<ActorOptions<AnyActorLogic>['clock']>;
  /** After each saved transition. */
  onTransition?(t: VmTransition): void;
  /** A programmer error killed the actor. */
  onError?(error: unknown): void;
  /** Stop saving after this transition, once (a crash is about to happen): what is on disk is transition k. */
  freezeAfterTransition?: number;
}

export class VmJobRun {
  private actor: AnyActorRef | undefined;
  private transitions = 0;
  private lastState = '';
  private frozen = false;
  private freezeAt: number | undefined;
  private lastJson = '';
  private incarnationNo = 0;
  private readonly settled: Promise<AnyMachineSnapshot>;
  private settle!: (s: AnyMachineSnapshot) => void;
  private fail!: (e: unknown) => void;

  constructor(private readonly opts: VmJobRunOptions) {
    this.freezeAt = opts.freezeAfterTransition;
    this.settled = new Promise<AnyMachineSnapshot>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    this.settled.catch(() => undefined);
  }

  get incarnation(): number {
    return this.incarnationNo;
  }

  get transitionCount(): number {
    return this.transitions;
  }

  get running(): boolean {
    return this.actor !== undefined;
  }

  /** Resolves with the final snapshot (status done), whatever incarnation reaches it. */
  done(): Promise<AnyMachineSnapshot> {
    return this.settled;
  }

  snapshot(): AnyMachineSnapshot | undefined {
    return this.actor?.getSnapshot() as AnyMachineSnapshot | undefined;
  }

  /** Starts the job from its input (a fresh job). */
  start(logic: AnyStateMachine): void {
    if (this.actor) throw new Error(`VmJobRun ${this.opts.key}: already running`);
    this.launch(logic, undefined);
  }

  /** Recreates the actor from the last saved snapshot (after a crash). */
  restore(logic: AnyStateMachine): void {
    if (this.actor) throw new Error(`VmJobRun ${this.opts.key}: restore needs a crashed run (call crash() first)`);
    const rec = this.opts.store.load(this.opts.key);
    if (!rec) {
      this.launch(logic, undefined);
      return;
    }
    if (rec.machineVersion !== this.opts.machineVersion) throw new VmSnapshotVersionError(this.opts.key, rec.machineVersion, this.opts.machineVersion);
    this.transitions = rec.transition;
    this.opts.log.info({ key: this.opts.key, transition: rec.transition }, 'Restored VM job from its snapshot');
    this.launch(logic, rec.snapshot);
  }

  /** A process crash: the actor stops where it is; nothing more is saved. */
  crash(): void {
    const a = this.actor;
    if (!a) return;
    this.actor = undefined;
    this.frozen = false;
    a.stop();
  }

  send(event: { type: string }): void {
    if (!this.actor) throw new Error(`VmJobRun ${this.opts.key}: not running (crashed?)`);
    this.actor.send(event);
  }

  private launch(logic: AnyStateMachine, snapshot: unknown): void {
    this.incarnationNo++;
    const life = this.incarnationNo;
    const onAny = () => {
      const root = this.actor;
      if (!root || life !== this.incarnationNo) return;
      this.persist(root);
    };
    const actor = createActor(logic, {
      input: this.opts.input,
      ...(snapshot !== undefined ? { snapshot: snapshot as any } : {}),
      ...(this.opts.clock ? { clock: this.opts.clock } : {}),
      inspect: (ev) => {
        if (ev.type === '@xstate.snapshot') queueMicrotask(onAny);
      },
    });
    this.actor = actor;
    this.lastState = snapshot !== undefined ? stateString((snapshot as { value?: unknown }).value) : '';
    this.lastJson = snapshot !== undefined ? JSON.stringify(snapshot) : '';
    actor.subscribe({
      error: (err: unknown) => {
        if (life !== this.incarnationNo) return;
        this.opts.log.error({ key: this.opts.key, err }, 'VM job actor failed');
        this.opts.onError?.(err);
        this.fail(err);
      },
    });
    actor.start();
    if (snapshot !== undefined && this.actor === actor) {
      // The restored state is where the job is now: watchers hear of it (it is not a new transition).
      const snap = actor.getSnapshot() as AnyMachineSnapshot;
      const state = stateString(snap.value);
      this.opts.onTransition?.({ key: this.opts.key, transition: this.transitions, snapshot: snap, stateChanged: true, state });
      if (snap.status === 'done') this.settle(snap);
    }
  }

  private persist(actor: AnyActorRef): void {
    const snap = actor.getSnapshot() as AnyMachineSnapshot;
    if (snap.status === 'stopped' || snap.status === 'error') return;
    if (this.frozen) return;
    const json = JSON.stringify(actor.getPersistedSnapshot());
    if (json === this.lastJson) return;
    this.lastJson = json;
    this.transitions++;
    this.opts.store.save(this.opts.key, { machineVersion: this.opts.machineVersion, snapshot: JSON.parse(json), transition: this.transitions, input: this.opts.input });
    const state = stateString(snap.value);
    const stateChanged = state !== this.lastState;
    this.lastState = state;
    if (stateChanged) this.opts.log.info({ key: this.opts.key, state, transition: this.transitions }, 'Entered state');
    if (this.freezeAt !== undefined && this.transitions >= this.freezeAt) {
      this.frozen = true;
      this.freezeAt = undefined;
    }
    this.opts.onTransition?.({ key: this.opts.key, transition: this.transitions, snapshot: snap, stateChanged, state });
    if (snap.status === 'done') this.settle(snap);
  }
}
