// Why: the engine reads and waits on Kubernetes objects through a cache kept current by one list and then one
// watch (client-go's reflector and informer), never by polling: it relists when the watch's resourceVersion has
// expired (410 Gone), follows bookmarks, re-watches with backoff after errors, resyncs handlers, and resolves
// `waitFor` the moment the cache satisfies a predicate. It runs on any ClusterPort and on the injected clock, so
// the same informer works against a real API server and inside the deterministic simulator.
import type { Logger } from 'pino';
import type { ClockPort } from '../clock/clock.port.ts';
import { DriverError } from '../errors.ts';
import type { ClusterPort, GVK, KubeObject, WatchEvent, WatchHandle } from './cluster.port.ts';

export interface InformerHandlers {
  onAdd?(obj: KubeObject): void;
  onUpdate?(old: KubeObject, obj: KubeObject): void;
  onDelete?(obj: KubeObject): void;
}

export interface InformerOptions {
  port: ClusterPort;
  gvk: GVK;
  namespace?: string;
  labelSelector?: string;
  clock: ClockPort;
  log?: Logger;
  /** Every this often each handler gets onUpdate(obj, obj) for every cached object. 0 (the default) never. */
  resyncMs?: number;
  /** Wait after a failed list or watch: doubles from baseMs up to maxMs. Default 500 ms to 30 s. */
  backoff?: { baseMs: number; maxMs: number };
}

export interface InformerStats {
  lists: number;
  watches: number;
  /** Lists after the first: after a 410 Gone or a failed list. */
  relists: number;
  expired: number;
  watchErrors: number;
}

/** The read side of an informer, as `waitFor` predicates see it. */
export interface InformerView {
  get(name: string, namespace?: string): KubeObject | undefined;
  list(): KubeObject[];
}

const INFORMER = 'informer';

function keyOf(name: string, namespace: string | undefined): string {
  return namespace ? `${namespace}/${name}` : name;
}

function objKey(o: KubeObject): string {
  return keyOf(o.metadata.name, o.metadata.namespace);
}

export class Informer implements InformerView {
  private readonly cache = new Map<string, KubeObject>();
  private readonly handlers = new Set<InformerHandlers>();
  private readonly waiters = new Set<() => void>();
  private readonly abort = new AbortController();
  private rv = '';
  private isSynced = false;
  private started: Promise<void> | undefined;
  private watchHandle: WatchHandle | undefined;
  private lastError: unknown;
  readonly stats: InformerStats = { lists: 0, watches: 0, relists: 0, expired: 0, watchErrors: 0 };

  constructor(private readonly opts: InformerOptions) {}

  get synced(): boolean {
    return this.isSynced;
  }

  /** The resourceVersion the cache is current at. */
  get resourceVersion(): string {
    return this.rv;
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  get(name: string, namespace?: string): KubeObject | undefined {
    const o = this.cache.get(keyOf(name, namespace));
    return o === undefined ? undefined : structuredClone(o);
  }

  list(): KubeObject[] {
    return [...this.cache.keys()].sort().map((k) => structuredClone(this.cache.get(k)!));
  }

  /** Adds handlers; they get onAdd for every object already cached. Returns the removal. */
  addHandler(h: InformerHandlers): () => void {
    this.handlers.add(h);
    if (this.isSynced) for (const o of this.list()) h.onAdd?.(o);
    return () => this.handlers.delete(h);
  }

  /** Starts the list-and-watch loop; resolves once the first list has filled the cache. */
  start(): Promise<void> {
    this.started ??= new Promise<void>((resolve, reject) => {
      void this.loop(resolve).catch((e: unknown) => reject(e));
      if (this.opts.resyncMs) void this.resyncLoop(this.opts.resyncMs);
    });
    return this.started;
  }

  stop(): void {
    if (this.stopped) return;
    this.abort.abort(new Error('informer stopped'));
    this.watchHandle?.stop();
    this.wake();
  }

  /**
   * Resolves with the predicate's first truthy answer: now if the synced cache already satisfies it, else at the
   * first change that makes it so. Rejects with DriverError Transient, reason Timeout, after `timeoutMs`.
   */
  waitFor<T>(predicate: (view: InformerView) => T | undefined | null | false, timeoutMs: number, opts: { signal?: AbortSignal; what?: string } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = new AbortController();
      const finish = (fn: () => void) => {
        this.waiters.delete(check);
        timer.abort();
        opts.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const check = () => {
        if (this.stopped) return finish(() => reject(new DriverError('Fatal', INFORMER, 'waitFor', `informer for ${this.opts.gvk.kind} stopped`)));
        if (!this.isSynced) return;
        let v: T | undefined | null | false;
        try {
          v = predicate(this);
        } catch (e) {
          return finish(() => reject(e));
        }
        if (v !== undefined && v !== null && v !== false) finish(() => resolve(v));
      };
      const onAbort = () => finish(() => reject(opts.signal?.reason));
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(check);
      this.opts.clock.sleep(timeoutMs, timer.signal).then(
        () => {
          const last = this.lastError instanceof Error ? `; last error: ${this.lastError.message}` : '';
          finish(() =>
            reject(
              new DriverError('Transient', INFORMER, 'waitFor', `timed out after ${timeoutMs}ms waiting for ${opts.what ?? `a ${this.opts.gvk.kind} condition`} on ${this.opts.port.cluster}${last}`, {
                reason: 'Timeout',
                details: { cluster: this.opts.port.cluster, kind: this.opts.gvk.kind },
              }),
            ),
          );
        },
        () => {},
      );
      check();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private backoffMs(failures: number): number {
    const b = this.opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
    return Math.min(b.maxMs, b.baseMs * 2 ** Math.min(20, Math.max(0, failures - 1)));
  }

  private async pause(ms: number): Promise<void> {
    try {
      await this.opts.clock.sleep(ms, this.abort.signal);
    } catch {
      // stopped
    }
  }

  private async loop(onSynced: () => void): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.relist();
        failures = 0;
        onSynced();
      } catch (e) {
        if (this.stopped) return;
        this.lastError = e;
        failures++;
        this.opts.log?.warn({ kind: this.opts.gvk.kind, err: (e as Error).message, failures }, 'Could not list objects');
        await this.pause(this.backoffMs(failures));
        continue;
      }
      await this.watchLoop();
    }
  }

  /** Lists and replaces the cache, telling handlers what was added, changed and deleted. */
  private async relist(): Promise<void> {
    if (this.stats.lists > 0) this.stats.relists++;
    this.stats.lists++;
    const list = await this.opts.port.list(this.opts.gvk, {
      ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}),
      ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
      signal: this.abort.signal,
    });
    if (this.stopped) return;
    const fresh = new Map(list.items.map((o) => [objKey(o), o]));
    for (const k of [...this.cache.keys()].sort()) {
      if (!fresh.has(k)) {
        const old = this.cache.get(k)!;
        this.cache.delete(k);
        this.emit((h) => h.onDelete?.(structuredClone(old)));
      }
    }
    for (const k of [...fresh.keys()].sort()) {
      const obj = fresh.get(k)!;
      const old = this.cache.get(k);
      this.cache.set(k, obj);
      if (!old) this.emit((h) => h.onAdd?.(structuredClone(obj)));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit((h) => h.onUpdate?.(structuredClone(old), structuredClone(obj)));
    }
    this.rv = list.resourceVersion;
    this.isSynced = true;
    this.wake();
  }

  /** Watches from the cache's resourceVersion until stopped or expired (then returns, to relist). */
  private async watchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let events = 0;
      let handle: WatchHandle;
      try {
        this.stats.watches++;
        handle = await this.opts.port.watch(
          this.opts.gvk,
          {
            ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}),
            ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
            resourceVersion: this.rv,
            allowBookmarks: true,
            signal: this.abort.signal,
          },
          (e) => {
            events++;
            this.apply(e);
          },
        );
      } catch (e) {
        if (this.stopped) return;
        if (this.isExpired(e)) return;
        this.noteWatchError(e);
        failures++;
        await this.pause(this.backoffMs(failures));
        continue;
      }
      this.watchHandle = handle;
      if (this.stopped) handle.stop();
      const err = await handle.done;
      this.watchHandle = undefined;
      if (this.stopped) return;
      if (err && this.isExpired(err)) return;
      if (err) {
        this.noteWatchError(err);
        failures++;
        await this.pause(this.backoffMs(failures));
      } else if (events === 0) {
        // The server closed an idle stream at once: do not spin.
        failures++;
        await this.pause(this.backoffMs(failures));
      } else {
        failures = 0;
      }
    }
  }

  private isExpired(e: unknown): boolean {
    if (e instanceof DriverError && (e.reason === 'Expired' || e.reason === 'Gone' || e.code === 410)) {
      this.stats.expired++;
      this.opts.log?.info({ kind: this.opts.gvk.kind, resourceVersion: this.rv }, 'Relisted after expired resourceVersion');
      return true;
    }
    return false;
  }

  private noteWatchError(e: unknown): void {
    this.lastError = e;
    this.stats.watchErrors++;
    this.opts.log?.warn({ kind: this.opts.gvk.kind, err: (e as Error)?.message }, 'Watch failed; watching again');
  }

  private apply(e: WatchEvent): void {
    const rv = e.object?.metadata?.resourceVersion;
    if (e.type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return;
    }
    const k = objKey(e.object);
    const old = this.cache.get(k);
    if (e.type === 'DELETED') {
      this.cache.delete(k);
      this.emit((h) => h.onDelete?.(structuredClone(e.object)));
    } else {
      this.cache.set(k, e.object);
      if (old) this.emit((h) => h.onUpdate?.(structuredClone(old), structuredClone(e.object)));
      else this.emit((h) => h.onAdd?.(structuredClone(e.object)));
    }
    if (rv) this.rv = rv;
    this.wake();
  }

  private emit(fn: (h: InformerHandlers) => void): void {
    for (const h of [...this.handlers]) {
      try {
        fn(h);
      } catch (e) {
        this.opts.log?.error({ err: (e as Error).message }, 'Informer handler threw');
      }
    }
  }

  private async resyncLoop(everyMs: number): Promise<void> {
    while (!this.stopped) {
      await this.pause(everyMs);
      if (this.stopped || !this.isSynced) continue;
      for (const o of this.list()) this.emit((h) => h.onUpdate?.(o, o));
    }
  }
}
