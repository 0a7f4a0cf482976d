// Why: what every simulated controller shares: a deduplicating work queue on virtual time (controllers never act
// inside a store callback), Kubernetes-style conditions, virtual timestamps, and the annotations the world and
// the engine agree on.
import type { GVK, KubeObject, ObjectRef } from '../../../drivers/cluster/cluster.port.ts';
import type { Json, JsonObject } from '../../../drivers/json.ts';
import type { SimKernel } from '../../kernel.ts';
import type { TraceValue } from '../../trace.ts';
import { deepEqual, isoSeconds } from '../object-util.ts';
import type { KubeStore, StoreChange } from '../store.types.ts';

/** Annotations and labels the simulated world, its controllers and the engine share. */
export const Annotations = {
  /** Forces a VolumeReplication promotion while the peer is still primary (the CRD has no force field). */
  forcePromote: 'replication.storage.openshift.io/force-promote',
  /** Flux v1-style pause, as the reference operator uses it (PARITY.md §2.3): `"true"` stops reconciliation. */
  fluxIgnore: 'fluxcd.io/ignore',
  /** A reconcile request: Flux reconciles when this value changes and records it in status.lastHandledReconcileAt. */
  fluxRequestedAt: 'reconcile.fluxcd.io/requestedAt',
  /** external-dns: `dns-controller` publishes the object's records, `ignore` leaves them alone. */
  externalDnsController: 'external-dns.alpha.kubernetes.io/controller',
  /** The reference operator's network switch (PARITY.md §2.3): `"true"` while the site serves no traffic. */
  dnsDisabled: 'failover.io/dns-disabled',
  /** dr-syncer style: the replica count a standby workload runs with once it is activated. */
  originalReplicas: 'failover-engine.io/original-replicas',
} as const;

export const EXTERNAL_DNS_ACTIVE = 'dns-controller';
export const EXTERNAL_DNS_IGNORE = 'ignore';

/** What every controller gets: the kernel (time, randomness, trace) and its cluster's store. */
export interface ControllerContext {
  kernel: SimKernel;
  store: KubeStore;
}

export interface Controller {
  readonly name: string;
  /** Subscribes to the store and queues every existing object once. */
  start(): void;
  /** Unsubscribes and cancels every pending timer. */
  stop(): void;
}

/** An RFC 3339 timestamp of a virtual time (second precision, as Kubernetes serialises metav1.Time). */
export const isoTime = isoSeconds;

export function sameGvk(a: GVK, b: GVK): boolean {
  return a.group === b.group && a.kind === b.kind;
}

export function objectGvkMatches(obj: KubeObject, gvk: GVK): boolean {
  if (obj.kind !== gvk.kind) return false;
  const i = obj.apiVersion.indexOf('/');
  return (i < 0 ? '' : obj.apiVersion.slice(0, i)) === gvk.group;
}

export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export function refFor(gvk: GVK, key: string): ObjectRef {
  const { namespace, name } = splitKey(key);
  const ref: ObjectRef = { group: gvk.group, version: gvk.version, kind: gvk.kind, name };
  if (namespace !== undefined) ref.namespace = namespace;
  return ref;
}

/**
 * The reference to one object of a kind. Built field by field: on Node 20, V8 takes a slow path (about 0.5 µs per
 * added key) for `{ ...gvk, namespace, name }` whenever the spread object is not frozen, and refs are built often.
 */
export function objectRef(gvk: GVK, namespace: string | undefined, name: string): ObjectRef {
  return { group: gvk.group, version: gvk.version, kind: gvk.kind, namespace, name };
}

export function annotation(obj: KubeObject, key: string): string | undefined {
  return obj.metadata.annotations?.[key];
}

export function asObject(v: Json | undefined): JsonObject | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

export function asNumber(v: Json | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function asString(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A metav1.Condition as JSON. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export function conditionsOf(status: JsonObject | undefined): Condition[] {
  const list = status?.conditions;
  return Array.isArray(list) ? (list.filter((c) => asObject(c) !== undefined) as unknown as Condition[]) : [];
}

export function findCondition(status: JsonObject | undefined, type: string): Condition | undefined {
  const list = status?.conditions;
  if (!Array.isArray(list)) return undefined;
  for (const c of list) if (asObject(c) !== undefined && (c as unknown as Condition).type === type) return c as unknown as Condition;
  return undefined;
}

/**
 * Sets a condition the way apimachinery's meta.SetStatusCondition does: lastTransitionTime changes only when
 * the status flips; reason, message and observedGeneration always follow the new value.
 */
export function setCondition(conditions: Condition[], next: Omit<Condition, 'lastTransitionTime'>, nowMs: number): Condition[] {
  const out = conditions.map((c) => ({ ...c }));
  const i = out.findIndex((c) => c.type === next.type);
  // Object.assign rather than `{ ...next, lastTransitionTime }`: the same object, without V8's slow path (see objectRef).
  const set: Condition = Object.assign({}, next, { lastTransitionTime: i >= 0 && out[i].status === next.status ? out[i].lastTransitionTime : isoTime(nowMs) });
  if (i < 0) out.push(set);
  else out[i] = set;
  return out;
}

export function removeCondition(conditions: Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

/** A stable JSON text (sorted keys) for comparing status before writing it. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}

/** FNV-1a, hex: short deterministic hashes for pod-template-hash and revisions. */
export function shortHash(text: string, length = 10): string {
  let h = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < length; round++) {
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    h = (h ^ round) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

/**
 * How a controller forked from another (a world cloned from a template) takes over the other's pending timers:
 * `bind` gives the event with this id its callback in the new world (and optionally another due time); `seqOf`
 * tells the order events were scheduled in.
 */
export interface ControllerFork {
  bind(id: number, fn: () => void, atMs?: number): void;
  seqOf(id: number): number;
  /** The name a pod has in the new world (Deployment pods' names are drawn per world). */
  podName(namespace: string, name: string): string;
}

/**
 * A controller work queue on virtual time: a key queued several times before it runs is reconciled once, and
 * reconciles never run inside the store's synchronous change callback.
 */
export class WorkQueue {
  private readonly pending = new Map<string, number>();
  constructor(
    private readonly kernel: SimKernel,
    private readonly label: string,
    private readonly handle: (key: string) => void,
  ) {}

  /** Takes over `src`'s pending keys (same timer ids), for a forked controller. */
  adopt(src: WorkQueue, fork: ControllerFork): void {
    for (const [key, id] of src.pending) {
      this.pending.set(key, id);
      fork.bind(id, () => {
        this.pending.delete(key);
        this.handle(key);
      });
    }
  }

  add(key: string, delayMs = 0): void {
    if (this.pending.has(key)) return;
    const id = this.kernel.sched.after(delayMs, this.label, () => {
      this.pending.delete(key);
      this.handle(key);
    });
    this.pending.set(key, id);
  }

  clear(): void {
    for (const id of this.pending.values()) this.kernel.sched.cancel(id);
    this.pending.clear();
  }
}

/** Named timers keyed by object, so a controller can replace or cancel the pending step of one object. */
export class Timers {
  private readonly ids = new Map<string, number>();
  constructor(
    private readonly kernel: SimKernel,
    private readonly label: string,
  ) {}

  has(key: string): boolean {
    return this.ids.has(key);
  }

  /** The pending keys, in the order their timers were set. */
  keys(fork: ControllerFork): string[] {
    return [...this.ids].sort((a, b) => fork.seqOf(a[1]) - fork.seqOf(b[1])).map(([k]) => k);
  }

  /**
   * Takes over `src`'s pending timers (same ids), for a forked controller: `make` gives each key's callback here
   * (and optionally its due time), in the order the timers were set; without it, pending timers are an error.
   */
  adopt(src: Timers, fork: ControllerFork, make?: (key: string) => { fn: () => void; atMs?: number }): void {
    for (const key of src.keys(fork)) {
      if (!make) throw new Error(`cannot fork ${this.label}: timer ${key} is pending`);
      const id = src.ids.get(key)!;
      const { fn, atMs } = make(key);
      this.ids.set(key, id);
      fork.bind(
        id,
        () => {
          this.ids.delete(key);
          fn();
        },
        atMs,
      );
    }
  }

  set(key: string, delayMs: number, fn: () => void): void {
    this.cancel(key);
    const id = this.kernel.sched.after(delayMs, this.label, () => {
      this.ids.delete(key);
      fn();
    });
    this.ids.set(key, id);
  }

  cancel(key: string): void {
    const id = this.ids.get(key);
    if (id !== undefined) {
      this.kernel.sched.cancel(id);
      this.ids.delete(key);
    }
  }

  clear(): void {
    for (const id of this.ids.values()) this.kernel.sched.cancel(id);
    this.ids.clear();
  }
}

/** The base of every controller: subscription, queue, timers and trace in one place. */
export abstract class BaseController implements Controller {
  abstract readonly name: string;
  protected abstract readonly kinds: readonly GVK[];
  protected readonly queue: WorkQueue;
  protected readonly timers: Timers;
  private unsubscribe: (() => void) | undefined;

  constructor(
    protected readonly ctx: ControllerContext,
    label: string,
  ) {
    this.queue = new WorkQueue(ctx.kernel, `controller.${label}`, (key) => this.reconcile(key));
    this.timers = new Timers(ctx.kernel, `controller.${label}.timer`);
  }

  get cluster(): string {
    return this.ctx.store.cluster;
  }

  get now(): number {
    return this.ctx.kernel.now();
  }

  start(): void {
    if (this.unsubscribe) return;
    this.subscribe();
    for (const kind of this.kinds) {
      for (const obj of this.ctx.store.peekList(kind).items) this.queue.add(keyOf(obj.metadata.namespace, obj.metadata.name));
    }
  }

  private subscribe(): void {
    // Every change of the cluster passes through here once per controller: what is fixed is read once.
    const kinds = this.kinds;
    const others = this.onOtherChange !== BaseController.prototype.onOtherChange;
    this.unsubscribe = this.ctx.store.subscribe((c) => {
      for (const k of kinds) {
        if (objectGvkMatches(c.object, k)) {
          this.onChange(c);
          return;
        }
      }
      if (others) this.onOtherChange(c);
    });
  }

  /**
   * Starts as the copy of `src` (the same controller of a template world, whose store this one's was forked from):
   * subscribed, with `src`'s pending work and state, as if it had seen the same changes. `src` is left alone.
   */
  adopt(src: this, fork: ControllerFork): void {
    if (this.unsubscribe) throw new Error(`adopt: controller ${this.name} has already started`);
    this.subscribe();
    this.queue.adopt(src.queue, fork);
    this.adoptState(src, fork);
  }

  /** A controller's own part of adopt: its state and its timers (pending timers are an error unless it says how). */
  protected adoptState(src: this, fork: ControllerFork): void {
    this.timers.adopt(src.timers, fork);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.queue.clear();
    this.timers.clear();
  }

  /** A change to one of this controller's kinds. By default: reconcile it. */
  protected onChange(c: StoreChange): void {
    this.queue.add(keyOf(c.object.metadata.namespace, c.object.metadata.name));
  }

  /** A change to another kind (pods, for the workload controllers). */
  protected onOtherChange(_c: StoreChange): void {}

  protected abstract reconcile(key: string): void;

  protected emit(event: string, fields: Record<string, TraceValue>): void {
    this.ctx.kernel.emit(`controller.${this.name}`, { cluster: this.cluster, event, ...fields });
  }

  /** Writes `status` when it differs from the stored one (conditions' timestamps included). */
  protected writeStatus(obj: Readonly<KubeObject>, status: JsonObject): Readonly<KubeObject> {
    if (deepEqual(obj.status ?? {}, status)) return obj;
    return this.ctx.store.putStatus({ ...obj, status });
  }
}
