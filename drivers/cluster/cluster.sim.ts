// Why: the ClusterPort over a simulated API server. Every request goes through SimKernel.call (seeded latency,
// partitions, down parties, injected faults), and watch events reach the caller through the scheduler after a
// seeded latency, in order, until the stream breaks (a partition, a down API server), as a real watch does.
import type { SimKernel } from '../../simulator/kernel.ts';
import type { OpClass } from '../../simulator/faults.ts';
import type { TimerId } from '../../simulator/scheduler.ts';
import type { KubeStore } from '../../simulator/kube/store.types.ts';
import { unknownResource } from '../../simulator/kube/api-errors.ts';
import { copy } from '../../simulator/kube/object-util.ts';
import { DriverError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import {
  gvkOf,
  refOf,
  refString,
  type ApplyOpts,
  type CallOpts,
  type ClusterPort,
  type DeleteOpts,
  type GVK,
  type KubeObject,
  type ListOpts,
  type ObjectList,
  type ObjectRef,
  type WatchEvent,
  type WatchHandle,
  type WatchOpts,
  type WriteOpts,
} from './cluster.port.ts';
import { watchHandlerError } from './watch-handler-error.ts';

const DRIVER = 'kubernetes';

/** One open watch stream: FIFO delivery through the scheduler, ended by stop(), a partition or a down party. */
class SimWatchStream {
  private ended = false;
  private lastAtMs = 0;
  private readonly timers = new Set<TimerId>();
  private partitionTimer: TimerId | undefined;
  private storeWatch: { stop(): void } | undefined;
  private readonly unsubscribeParty: () => void;
  private resolveDone!: (e: DriverError | undefined) => void;
  readonly done: Promise<DriverError | undefined>;
  readonly handle: WatchHandle;

  constructor(
    private readonly kernel: SimKernel,
    private readonly caller: string,
    private readonly apiserver: string,
    private readonly detail: string,
    private readonly onEvent: (e: WatchEvent) => void,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.handle = { stop: () => this.end(undefined), done: this.done };
    this.unsubscribeParty = kernel.onPartyChange((party, isDown) => {
      if (isDown && (party === apiserver || party === caller)) this.end(this.broken('Unavailable', `${party} went down`));
    });
    this.armPartitionTimer();
  }

  attach(w: { stop(): void }): void {
    if (this.ended) w.stop();
    else this.storeWatch = w;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Queues an event: delivered after a seeded latency, never before an event queued earlier. */
  push(e: WatchEvent): void {
    if (this.ended) return;
    const atMs = Math.max(this.kernel.now() + this.kernel.draw(this.kernel.plan.latency['kube.watch']), this.lastAtMs);
    this.lastAtMs = atMs;
    const id = this.kernel.sched.at(atMs, 'kube.watch.event', () => {
      this.timers.delete(id);
      if (this.ended || this.checkRoute()) return;
      // The store shares its frozen objects with every watcher; the caller gets its own copy, made only now that
      // the event is really delivered.
      try {
        this.onEvent(e.type === 'BOOKMARK' ? e : { type: e.type, object: copy(e.object) });
      } catch (err) {
        this.end(watchHandlerError(err, { ref: this.detail }));
      }
    });
    this.timers.add(id);
  }

  /** Ends the stream if the route broke; returns whether it did. */
  private checkRoute(): boolean {
    const k = this.kernel;
    if (k.isDown(this.apiserver) || k.isDown(this.caller)) {
      this.end(this.broken('Unavailable', `${k.isDown(this.apiserver) ? this.apiserver : this.caller} is unavailable`));
      return true;
    }
    if (k.partitioned(this.caller, this.apiserver)) {
      this.end(this.broken('Timeout', `watch from ${this.caller} to ${this.apiserver} broke (partition)`));
      return true;
    }
    return false;
  }

  /** Wakes up when the next partition of this route starts, so a quiet watch ends too. */
  private armPartitionTimer(): void {
    const k = this.kernel;
    const t = k.elapsed();
    const next = k.plan.partitions
      .filter((p) => p.toMs > p.fromMs && p.fromMs > t && ((p.between[0] === this.caller && p.between[1] === this.apiserver) || (p.between[1] === this.caller && p.between[0] === this.apiserver)))
      .reduce<number | undefined>((min, p) => (min === undefined || p.fromMs < min ? p.fromMs : min), undefined);
    if (next === undefined) return;
    this.partitionTimer = k.sched.at(k.startMs + next, 'kube.watch.partition', () => {
      this.partitionTimer = undefined;
      if (this.ended) return;
      if (!this.checkRoute()) this.armPartitionTimer();
    });
  }

  private broken(reason: 'Timeout' | 'Unavailable', message: string): DriverError {
    return new DriverError('Transient', DRIVER, 'kube.watch', message, { reason });
  }

  end(err: DriverError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.storeWatch?.stop();
    for (const id of this.timers) this.kernel.sched.cancel(id);
    this.timers.clear();
    if (this.partitionTimer !== undefined) this.kernel.sched.cancel(this.partitionTimer);
    this.unsubscribeParty();
    this.kernel.emit('kube.watch.end', { from: this.caller, to: this.apiserver, detail: this.detail, reason: err ? (err.reason ?? err.kind) : 'stopped' });
    this.resolveDone(err);
  }
}

export class SimClusterDriver implements ClusterPort {
  readonly cluster: string;
  private readonly apiserver: string;

  constructor(
    private readonly kernel: SimKernel,
    private readonly store: KubeStore,
    private readonly caller: string,
  ) {
    this.cluster = store.cluster;
    this.apiserver = `apiserver/${store.cluster}`;
  }

  private async call<T>(opClass: OpClass, verb: string, detail: string, opts: CallOpts | undefined, fn: () => T): Promise<T> {
    const op = `kube.${verb}`;
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const startMs = this.kernel.now();
    try {
      const result = await this.kernel.call(opClass, { from: this.caller, to: this.apiserver, op, detail }, fn, DRIVER);
      opts?.log?.debug({ driver: DRIVER, op, cluster: this.cluster, object: detail, durationMs: this.kernel.now() - startMs, outcome: 'ok' }, 'Called Kubernetes API');
      return result;
    } catch (e) {
      const kind = e instanceof DriverError ? e.kind : 'Internal';
      opts?.log?.debug({ driver: DRIVER, op, cluster: this.cluster, object: detail, durationMs: this.kernel.now() - startMs, outcome: 'error', kind }, 'Kubernetes API call failed');
      throw e;
    }
  }

  /** A type the server does not serve to clients (an older server's API) is unknown, as on a real server. */
  private servedOrThrow<T extends GVK>(gvk: T, op: string): T {
    if (!this.store.registry.served(gvk)) throw unknownResource(op, `${gvk.group ? `${gvk.group}/` : ''}${gvk.version}, Kind=${gvk.kind}`);
    return gvk;
  }

  private servedObject(obj: KubeObject, op: string): KubeObject {
    this.servedOrThrow(gvkOf(obj), op);
    return obj;
  }

  served(gvk: GVK, opts?: CallOpts): Promise<boolean> {
    return this.call('kube.read', 'discovery', `${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`, opts, () => this.store.registry.served(gvk));
  }

  get(ref: ObjectRef, opts?: CallOpts): Promise<KubeObject | undefined> {
    return this.call('kube.read', 'get', refString(ref), opts, () => this.store.get(this.servedOrThrow(ref, 'kube.get')));
  }

  list(gvk: GVK, opts: ListOpts = {}): Promise<ObjectList> {
    return this.call('kube.read', 'list', `${gvk.kind}/${opts.namespace ?? '*'}`, opts, () =>
      this.store.list(this.servedOrThrow(gvk, 'kube.list'), { namespace: opts.namespace, labelSelector: opts.labelSelector }),
    );
  }

  create(obj: KubeObject, opts: WriteOpts = {}): Promise<KubeObject> {
    return this.call('kube.write', 'create', refString(refOf(obj)), opts, () => this.store.create(this.servedObject(obj, 'kube.create'), { fieldManager: opts.fieldManager }));
  }

  update(obj: KubeObject, opts: WriteOpts = {}): Promise<KubeObject> {
    return this.call('kube.write', 'update', refString(refOf(obj)), opts, () => this.store.update(this.servedObject(obj, 'kube.update'), { fieldManager: opts.fieldManager }));
  }

  mergePatch(ref: ObjectRef, patch: JsonObject, opts: WriteOpts = {}): Promise<KubeObject> {
    return this.call('kube.write', 'patch', refString(ref), opts, () => this.store.mergePatch(this.servedOrThrow(ref, 'kube.patch'), patch, { fieldManager: opts.fieldManager }));
  }

  apply(obj: KubeObject, opts: ApplyOpts): Promise<KubeObject> {
    return this.call('kube.write', 'apply', refString(refOf(obj)), opts, () => this.store.apply(this.servedObject(obj, 'kube.apply'), { fieldManager: opts.fieldManager, force: opts.force }));
  }

  patchStatus(ref: ObjectRef, patch: JsonObject, opts: WriteOpts = {}): Promise<KubeObject> {
    return this.call('kube.write', 'patchStatus', `${refString(ref)}/status`, opts, () => this.store.patchStatus(this.servedOrThrow(ref, 'kube.patchStatus'), patch));
  }

  delete(ref: ObjectRef, opts: DeleteOpts = {}): Promise<boolean> {
    return this.call('kube.write', 'delete', refString(ref), opts, () => this.store.delete(this.servedOrThrow(ref, 'kube.delete'), { resourceVersion: opts.resourceVersion }));
  }

  /**
   * Starts a watch. Like a real server, a resourceVersion too old for the history does not fail the request: the
   * stream opens and ends at once, `done` resolving with the Conflict/Expired (410) error.
   */
  async watch(gvk: GVK, opts: WatchOpts, onEvent: (e: WatchEvent) => void): Promise<WatchHandle> {
    const detail = `${gvk.kind}/${opts.namespace ?? '*'}`;
    const stream = new SimWatchStream(this.kernel, this.caller, this.apiserver, detail, onEvent);
    try {
      await this.call('kube.watch', 'watch', detail, opts, () => {
        if (stream.isEnded) return;
        try {
          const w = this.store.watch(
            this.servedOrThrow(gvk, 'kube.watch'),
            { namespace: opts.namespace, labelSelector: opts.labelSelector, resourceVersion: opts.resourceVersion, allowBookmarks: opts.allowBookmarks },
            (e) => stream.push(e),
          );
          stream.attach(w);
        } catch (e) {
          if (e instanceof DriverError && e.reason === 'Expired') stream.end(e);
          else throw e;
        }
      });
    } catch (e) {
      // The request failed (perhaps after the server had started the watch): nothing may keep streaming.
      stream.end(undefined);
      throw e;
    }
    if (opts.signal) {
      if (opts.signal.aborted) stream.end(undefined);
      else opts.signal.addEventListener('abort', () => stream.end(undefined), { once: true });
    }
    return stream.handle;
  }
}
