// Why: the simulated csi-addons VolumeReplication controller and its storage. It keeps the rules a failover
// must respect: a volume is not promoted while its peer is still primary (unless forced), demotion and promotion
// take time, a forced promotion over a live primary ends in split brain that only a resync clears, and the
// secondary copy follows the primary's writes one replication interval behind.
import { Kinds, type GVK, type KubeObject } from '../../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../../drivers/json.ts';
import type { StoreChange } from '../store.types.ts';
import {
  Annotations,
  annotation,
  asString,
  BaseController,
  findCondition,
  isoTime,
  keyOf,
  objectRef,
  refFor,
  setCondition,
  splitKey,
  Timers,
  type Condition,
  type ControllerContext,
  type ControllerFork,
} from './common.ts';
import type { VolumeReplicationLedger } from './volume-ledger.ts';

/** spec.replicationState. */
export type ReplicationState = 'primary' | 'secondary' | 'resync';
/** status.state. `Resyncing` is the simulator's name for a resync in progress (upstream keeps `Secondary`). */
export type VolumeState = 'Primary' | 'Secondary' | 'Resyncing' | 'Unknown';

/** Condition types of csi-addons (api/replication.storage/v1alpha1). */
export const VrCondition = {
  /** The last requested operation (promote, demote, resync) finished. */
  Completed: 'Completed',
  /** The volume is not healthy: just demoted (until the first resync check), failed, or in split brain. */
  Degraded: 'Degraded',
  /** A resync is running. */
  Resyncing: 'Resyncing',
} as const;

/** Condition reasons of csi-addons, plus SplitBrain (ceph-csi reports split brain through the Degraded message). */
export const VrReason = {
  Promoted: 'Promoted',
  Demoted: 'Demoted',
  FailedToPromote: 'FailedToPromote',
  FailedToDemote: 'FailedToDemote',
  FailedToResync: 'FailedToResync',
  Error: 'Error',
  VolumeDegraded: 'VolumeDegraded',
  Healthy: 'Healthy',
  ResyncTriggered: 'ResyncTriggered',
  NotResyncing: 'NotResyncing',
  /** Both copies were primary at once; the demoted one keeps diverged data until `replicationState: resync`. */
  SplitBrain: 'SplitBrain',
} as const;

/** What the world tells a VolumeReplication controller about the copies of a volume on the other clusters. */
export interface VolumePeers {
  /** The same-named VolumeReplication on every other cluster of the world (absent ones left out); the stored objects, frozen and shared: read only. */
  peers(namespace: string, name: string): Array<{ cluster: string; object: Readonly<KubeObject> }>;
  /** Whether replication traffic can flow between two clusters' storage now. */
  linkUp(a: string, b: string): boolean;
  /** Whether the application writes to this cluster's copy now (its pods run and its site is not fenced). */
  writesActive(cluster: string, namespace: string, name: string): boolean;
}

export interface VolumeReplicationOptions extends VolumePeers {
  ledger: VolumeReplicationLedger;
  /** How often a secondary copy receives a snapshot from the primary (and the primary takes writes). */
  syncIntervalMs?: number;
}

export const DEFAULT_SYNC_INTERVAL_MS = 10_000;
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export function vrState(obj: KubeObject | undefined): VolumeState {
  const s = asString(obj?.status?.state);
  return s === 'Primary' || s === 'Secondary' || s === 'Resyncing' ? s : 'Unknown';
}

export function inSplitBrain(obj: KubeObject | undefined): boolean {
  return findCondition(obj?.status, VrCondition.Degraded)?.reason === VrReason.SplitBrain;
}

type Conds = Array<Omit<Condition, 'lastTransitionTime'>>;

const promotedConds = (): Conds => [
  { type: VrCondition.Completed, status: 'True', reason: VrReason.Promoted, message: 'Volume is promoted' },
  { type: VrCondition.Degraded, status: 'False', reason: VrReason.Healthy, message: 'Volume is healthy' },
  { type: VrCondition.Resyncing, status: 'False', reason: VrReason.NotResyncing, message: 'Volume is not resyncing' },
];
const demotedConds = (degraded: boolean, splitBrainMessage?: string): Conds => [
  { type: VrCondition.Completed, status: 'True', reason: VrReason.Demoted, message: 'Volume is demoted' },
  splitBrainMessage !== undefined
    ? { type: VrCondition.Degraded, status: 'True', reason: VrReason.SplitBrain, message: splitBrainMessage }
    : degraded
      ? { type: VrCondition.Degraded, status: 'True', reason: VrReason.VolumeDegraded, message: 'Volume is degraded' }
      : { type: VrCondition.Degraded, status: 'False', reason: VrReason.Healthy, message: 'Volume is demoted' },
  { type: VrCondition.Resyncing, status: 'False', reason: VrReason.NotResyncing, message: 'Volume is not resyncing' },
];
const failedPromoteConds = (message: string): Conds => [
  { type: VrCondition.Completed, status: 'False', reason: VrReason.FailedToPromote, message },
  { type: VrCondition.Degraded, status: 'True', reason: VrReason.Error, message: 'error detected while promotion' },
  { type: VrCondition.Resyncing, status: 'False', reason: VrReason.NotResyncing, message: 'Volume is not resyncing' },
];
const resyncingConds = (): Conds => [
  { type: VrCondition.Completed, status: 'True', reason: VrReason.Demoted, message: 'Volume is demoted' },
  { type: VrCondition.Degraded, status: 'True', reason: VrReason.VolumeDegraded, message: 'Volume is degraded' },
  { type: VrCondition.Resyncing, status: 'True', reason: VrReason.ResyncTriggered, message: 'resync is triggered' },
];
const failedResyncConds = (message: string): Conds => [
  { type: VrCondition.Completed, status: 'False', reason: VrReason.FailedToResync, message },
  { type: VrCondition.Degraded, status: 'True', reason: VrReason.Error, message: 'error detected while resyncing' },
  { type: VrCondition.Resyncing, status: 'False', reason: VrReason.FailedToResync, message: 'failed to resync' },
];

export class VolumeReplicationController extends BaseController {
  readonly name = 'volumereplication';
  protected readonly kinds: readonly GVK[] = [Kinds.VolumeReplication];
  private readonly ticks: Timers;
  private readonly retries = new Map<string, number>();
  private readonly syncIntervalMs: number;
  private readonly tickRnd;

  constructor(
    ctx: ControllerContext,
    private readonly opts: VolumeReplicationOptions,
  ) {
    super(ctx, 'volumereplication');
    this.ticks = new Timers(ctx.kernel, 'controller.volumereplication.sync');
    this.syncIntervalMs = opts.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    this.tickRnd = ctx.kernel.prng.stream(`volumereplication/${ctx.store.cluster}/sync-phase`);
  }

  get ledger(): VolumeReplicationLedger {
    return this.opts.ledger;
  }

  override stop(): void {
    super.stop();
    this.ticks.clear();
  }

  protected override onChange(c: StoreChange): void {
    const { namespace, name } = c.object.metadata;
    const key = keyOf(namespace, name);
    const state = c.type === 'DELETED' ? undefined : vrState(c.object);
    if (c.type === 'DELETED' || vrState(c.old) !== state || !c.old) this.ledger.observe(this.cluster, namespace ?? '', name, state);
    if (c.type === 'DELETED') {
      this.timers.cancel(key);
      this.ticks.cancel(key);
      this.retries.delete(key);
      return;
    }
    if (!this.ticks.has(key)) this.ticks.set(key, this.tickRnd.int(1, this.syncIntervalMs), () => this.tick(key));
    const old = c.old;
    if (
      c.type === 'ADDED' ||
      !old ||
      old.metadata.generation !== c.object.metadata.generation ||
      annotation(old, Annotations.forcePromote) !== annotation(c.object, Annotations.forcePromote)
    ) {
      this.retries.delete(key);
      this.queue.add(key);
    }
  }

  /** The replication ticks are taken over with their random phases drawn again from this world's stream, in order. */
  protected override adoptState(src: this, fork: ControllerFork): void {
    super.adoptState(src, fork);
    for (const [key, n] of src.retries) this.retries.set(key, n);
    this.ticks.adopt(src.ticks, fork, (key) => ({ fn: () => this.tick(key), atMs: this.now + this.tickRnd.int(1, this.syncIntervalMs) }));
  }

  override start(): void {
    super.start();
    for (const obj of this.ctx.store.peekList(Kinds.VolumeReplication).items) {
      const key = keyOf(obj.metadata.namespace, obj.metadata.name);
      this.ledger.observe(this.cluster, obj.metadata.namespace ?? '', obj.metadata.name, vrState(obj));
      if (!this.ticks.has(key)) this.ticks.set(key, this.tickRnd.int(1, this.syncIntervalMs), () => this.tick(key));
    }
  }

  private get physics() {
    return this.ctx.kernel.plan.physics;
  }

  private primaryPeers(namespace: string, name: string): string[] {
    return this.opts
      .peers(namespace, name)
      .filter((p) => vrState(p.object) === 'Primary')
      .map((p) => p.cluster);
  }

  private setStatus(obj: KubeObject, fields: { state?: VolumeState; message: string; conds: Conds; extra?: JsonObject }): boolean {
    let conditions = (obj.status?.conditions as unknown as Condition[] | undefined) ?? [];
    const generation = obj.metadata.generation ?? 1;
    // Object.assign, not a spread of `c` with one more key: V8's slow path (see objectRef in common.ts).
    for (const c of fields.conds) conditions = setCondition(conditions, Object.assign({}, c, { observedGeneration: generation }), this.now);
    const status: JsonObject = {
      ...(obj.status ?? {}),
      ...(fields.extra ?? {}),
      state: fields.state ?? vrState(obj),
      message: fields.message,
      observedGeneration: generation,
      conditions: conditions as unknown as JsonObject[],
    };
    return this.writeStatus(obj, status) !== obj;
  }

  private retry(key: string): void {
    const n = this.retries.get(key) ?? 0;
    this.retries.set(key, n + 1);
    this.queue.add(key, Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** n));
  }

  protected reconcile(key: string): void {
    const obj = this.ctx.store.peek(refFor(Kinds.VolumeReplication, key));
    if (!obj || this.timers.has(key)) return; // an operation in flight re-queues the object when it ends
    const { namespace = '', name } = splitKey(key);
    const desired = asString(obj.spec?.replicationState) as ReplicationState | undefined;
    const state = vrState(obj);
    const generation = obj.metadata.generation ?? 1;
    const current = obj.status?.observedGeneration === generation;
    switch (desired) {
      case 'primary': {
        if (state === 'Primary') {
          if (!current) this.setStatus(obj, { message: 'volume is marked primary', conds: promotedConds() });
          this.retries.delete(key);
          return;
        }
        const refusal = this.promotionRefusal(obj, namespace, name);
        if (refusal) {
          if (this.setStatus(obj, { message: refusal, conds: failedPromoteConds(refusal) })) this.emit('promote.refused', { ns: namespace, name, reason: refusal });
          this.retry(key);
          return;
        }
        this.startOp(obj, 'promote', this.ctx.kernel.draw(this.physics.volumePromoteMs), () => this.completePromote(key));
        return;
      }
      case 'secondary': {
        if (state === 'Primary' || state === 'Unknown') {
          this.startOp(obj, 'demote', this.ctx.kernel.draw(this.physics.volumeDemoteMs), () => this.completeDemote(key));
          return;
        }
        if (state === 'Resyncing') {
          this.startOp(obj, 'resync', this.ctx.kernel.draw(this.physics.volumeResyncMs), () => this.completeResync(key));
          return;
        }
        if (inSplitBrain(obj)) {
          if (obj.spec?.autoResync === true) this.startResync(obj);
          else if (!current) this.setStatus(obj, { message: asString(obj.status?.message) ?? 'volume is in split brain', conds: [] });
          return;
        }
        const degraded = findCondition(obj.status, VrCondition.Degraded);
        if (degraded?.status === 'True' && degraded.reason === VrReason.VolumeDegraded) {
          // After a demotion the volume reports Degraded until the first resync check finds it healthy.
          this.startOp(obj, 'settle', this.ctx.kernel.draw(this.physics.volumeDemoteMs), () => this.completeSettle(key));
          return;
        }
        if (!current) this.setStatus(obj, { message: 'volume is marked secondary', conds: demotedConds(false) });
        return;
      }
      case 'resync': {
        if (state === 'Primary') {
          const message = 'failed to resync: the volume is primary; demote it (replicationState: secondary) before a resync';
          if (this.setStatus(obj, { message, conds: failedResyncConds(message) })) this.emit('resync.refused', { ns: namespace, name });
          return;
        }
        if (state === 'Resyncing' || !current || inSplitBrain(obj) || state === 'Unknown') this.startResync(obj);
        return;
      }
      default: {
        const message = `unsupported volume state "${String(desired)}": spec.replicationState must be primary, secondary or resync`;
        this.setStatus(obj, { message, conds: [] });
      }
    }
  }

  /** Why a promotion may not happen now, or undefined when it may. */
  private promotionRefusal(obj: KubeObject, namespace: string, name: string): string | undefined {
    if (annotation(obj, Annotations.forcePromote) === 'true') return undefined;
    const primaries = this.primaryPeers(namespace, name);
    if (primaries.length) {
      return `failed to promote: the peer volume on ${primaries.join(', ')} is still primary; demote it first, or set annotation ${Annotations.forcePromote}="true" to promote anyway (risks split brain)`;
    }
    const behind = this.opts
      .peers(namespace, name)
      .filter((p) => vrState(p.object) === 'Secondary' && !inSplitBrain(p.object) && !this.ledger.contains(this.cluster, p.cluster, namespace, name))
      .map((p) => p.cluster);
    if (behind.length) {
      return `failed to promote: the last snapshot of the demoted peer on ${behind.join(', ')} has not been replicated here yet; wait for replication, or set annotation ${Annotations.forcePromote}="true" to promote without it (loses its writes)`;
    }
    return undefined;
  }

  private startOp(obj: KubeObject, op: 'promote' | 'demote' | 'resync' | 'settle', delayMs: number, done: () => void): void {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    if (op !== 'settle') {
      const fresh = this.ctx.store.peek(refFor(Kinds.VolumeReplication, key)) ?? obj;
      this.writeStatus(fresh, { ...(fresh.status ?? {}), lastStartTime: isoTime(this.now) });
      this.emit(`${op}.started`, { ns: obj.metadata.namespace, name: obj.metadata.name, forced: op === 'promote' && annotation(obj, Annotations.forcePromote) === 'true' ? true : undefined });
    }
    this.timers.set(key, delayMs, done);
  }

  private completePromote(key: string): void {
    const obj = this.ctx.store.peek(refFor(Kinds.VolumeReplication, key));
    if (!obj) return;
    const { namespace = '', name } = splitKey(key);
    // The storage checks again when the promotion lands: a peer may have become primary meanwhile.
    const refusal = this.promotionRefusal(obj, namespace, name);
    if (refusal) {
      if (this.setStatus(obj, { message: refusal, conds: failedPromoteConds(refusal) })) this.emit('promote.refused', { ns: namespace, name, reason: refusal });
      this.retry(key);
      return;
    }
    const overPrimary = this.primaryPeers(namespace, name);
    this.setStatus(obj, { state: 'Primary', message: 'volume is marked primary', conds: promotedConds(), extra: { lastCompletionTime: isoTime(this.now) } });
    this.retries.delete(key);
    const head = this.ledger.head(this.cluster, namespace, name);
    this.emit('promoted', { ns: namespace, name, forced: overPrimary.length ? true : undefined, overPrimary: overPrimary.join(',') || undefined, epoch: head?.epoch });
    this.queue.add(key);
  }

  private completeDemote(key: string): void {
    const obj = this.ctx.store.peek(refFor(Kinds.VolumeReplication, key));
    if (!obj) return;
    const { namespace = '', name } = splitKey(key);
    const wasPrimary = vrState(obj) === 'Primary';
    const splitBrain = wasPrimary && this.ledger.overlapped(this.cluster, namespace, name);
    if (wasPrimary && !splitBrain) {
      // The demotion snapshot: every healthy secondary peer reachable now receives the final writes.
      for (const p of this.opts.peers(namespace, name)) {
        if (vrState(p.object) === 'Secondary' && !inSplitBrain(p.object) && this.opts.linkUp(this.cluster, p.cluster)) this.ledger.sync(this.cluster, p.cluster, namespace, name);
      }
    }
    const message = splitBrain
      ? `volume is in split brain: it was primary while the peer was promoted, so its data diverged; set spec.replicationState to resync to discard its local changes and follow the primary`
      : 'volume is marked secondary and is degraded';
    this.setStatus(obj, { state: 'Secondary', message, conds: demotedConds(true, splitBrain ? message : undefined), extra: { lastCompletionTime: isoTime(this.now) } });
    this.emit('demoted', { ns: namespace, name, splitBrain: splitBrain ? true : undefined });
    this.queue.add(key);
  }

  private completeSettle(key: string): void {
    const obj = this.ctx.store.peek(refFor(Kinds.VolumeReplication, key));
    if (!obj || vrState(obj) !== 'Secondary' || inSplitBrain(obj)) {
      this.queue.add(key);
      return;
    }
    this.setStatus(obj, { message: 'volume is marked secondary', conds: demotedConds(false) });
    this.emit('healthy', { ns: obj.metadata.namespace, name: obj.metadata.name });
    this.queue.add(key);
  }

  private startResync(obj: KubeObject): void {
    this.setStatus(obj, { state: 'Resyncing', message: 'volume is resyncing changes from primary to secondary', conds: resyncingConds() });
    this.startOp(obj, 'resync', this.ctx.kernel.draw(this.physics.volumeResyncMs), () => this.completeResync(keyOf(obj.metadata.namespace, obj.metadata.name)));
  }

  private completeResync(key: string): void {
    const obj = this.ctx.store.peek(refFor(Kinds.VolumeReplication, key));
    if (!obj) return;
    const { namespace = '', name } = splitKey(key);
    const primaries = this.primaryPeers(namespace, name);
    if (primaries.length !== 1 || !this.opts.linkUp(primaries[0], this.cluster)) {
      const why = primaries.length === 0 ? 'no peer volume is primary' : primaries.length > 1 ? `several peers are primary (${primaries.join(', ')})` : `the replication link to ${primaries[0]} is down`;
      this.setStatus(obj, { state: 'Resyncing', message: `resync is waiting: ${why}`, conds: resyncingConds() });
      this.timers.set(key, this.ctx.kernel.draw(this.physics.volumeResyncMs), () => this.completeResync(key));
      return;
    }
    const discarded = this.ledger.resync(primaries[0], this.cluster, namespace, name);
    this.setStatus(obj, {
      state: 'Secondary',
      message: `volume is resynced from ${primaries[0]}`,
      conds: demotedConds(false),
      extra: { lastCompletionTime: isoTime(this.now), lastSyncTime: isoTime(this.now) },
    });
    this.emit('resynced', { ns: namespace, name, from: primaries[0], discardedWrites: discarded || undefined });
    this.queue.add(key);
  }

  /** The replication interval: the primary takes writes, a secondary receives the primary's last snapshot. */
  private tick(key: string): void {
    const obj = this.ctx.store.peek(refFor(Kinds.VolumeReplication, key));
    if (!obj) return;
    this.ticks.set(key, this.syncIntervalMs, () => this.tick(key));
    const { namespace = '', name } = splitKey(key);
    const state = vrState(obj);
    if (state === 'Primary') {
      if (this.opts.writesActive(this.cluster, namespace, name)) this.ledger.write(this.cluster, namespace, name);
      const last = this.ledger.lastSyncMs(namespace, name);
      if (last !== undefined) this.writeLastSync(obj, isoTime(last));
      return;
    }
    if (state !== 'Secondary' || inSplitBrain(obj)) return;
    const peers = this.opts.peers(namespace, name);
    const primaries = peers.filter((p) => vrState(p.object) === 'Primary');
    let source: string | undefined;
    if (primaries.length === 1) source = primaries[0].cluster;
    else if (primaries.length === 0) {
      // No primary: a demoted peer whose final snapshot has not arrived yet still delivers it.
      source = peers.find((p) => vrState(p.object) === 'Secondary' && !inSplitBrain(p.object) && !this.ledger.contains(this.cluster, p.cluster, namespace, name))?.cluster;
    }
    if (source === undefined || !this.opts.linkUp(source, this.cluster)) return;
    const head = this.ledger.sync(source, this.cluster, namespace, name);
    this.writeLastSync(obj, isoTime(this.now));
    this.emit('synced', { ns: namespace, name, from: source, head: head ? `${head.epoch}.${head.seq}` : '0' });
  }

  /**
   * status.lastSyncTime, the only field a replication tick changes: written when it differs (as writeStatus would
   * decide, without copying and comparing the rest of the status).
   */
  private writeLastSync(obj: KubeObject, lastSyncTime: string): void {
    if (obj.status?.lastSyncTime === lastSyncTime) return;
    this.ctx.store.putStatus({ ...obj, status: { ...(obj.status ?? {}), lastSyncTime } });
  }

  /** Puts a VolumeReplication straight into a settled state (the world builder's converged start). */
  materialize(namespace: string, name: string): void {
    const obj = this.ctx.store.peek(objectRef(Kinds.VolumeReplication, namespace, name));
    if (!obj) throw new Error(`materialize: VolumeReplication ${namespace}/${name} does not exist on ${this.cluster}`);
    const primary = obj.spec?.replicationState === 'primary';
    const at = isoTime(this.now);
    this.setStatus(obj, {
      state: primary ? 'Primary' : 'Secondary',
      message: primary ? 'volume is marked primary' : 'volume is marked secondary',
      conds: primary ? promotedConds() : demotedConds(false),
      extra: { lastStartTime: at, lastCompletionTime: at },
    });
  }
}
