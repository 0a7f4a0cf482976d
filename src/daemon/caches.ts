// Why: the daemon reads its cluster through informer caches (one list, then one watch per kind), never by polling.
// Caches for the kinds a group refers to start lazily, so a cluster without Istio or Flux installed runs fine as
// long as no group names those kinds; the caches answer health questions with no API call at all.
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort, KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { Informer, type InformerHandlers } from '../../drivers/cluster/informer.ts';
import type { FailoverGroupSpec } from '../../machines/failover/group.types.ts';
import type { ObjectLookup, ResourceKindName } from './health.ts';
import { preferredKinds, type ServedKinds } from './served-kinds.ts';

/** The resource kinds a group's health reads. */
export function kindsOf(spec: FailoverGroupSpec): ResourceKindName[] {
  const out = new Set<ResourceKindName>();
  for (const w of spec.workloads) {
    out.add(w.kind);
    if (w.volumeReplications.length) out.add('VolumeReplication');
  }
  for (const n of spec.networkResources) out.add(n.kind);
  for (const f of spec.fluxResources) out.add(f.kind);
  return [...out].sort();
}

export interface ClusterCachesOptions {
  port: ClusterPort;
  clock: ClockPort;
  log: Logger;
  /** Watch one namespace only (default: every namespace). */
  namespace?: string;
  /** Called for every add, update or delete of a cached object. */
  onChange?: (kind: ResourceKindName, obj: KubeObject) => void;
  /** The version each kind is served at, and the kinds not served (discovery; default: the preferred versions). */
  served?: ServedKinds;
}

export class ClusterCaches implements ObjectLookup {
  private readonly informers = new Map<ResourceKindName, Informer>();
  /**
   * The objects as the informers' handlers delivered them (already copies), by kind and `namespace/name`: health
   * reads them many times per heartbeat, and reading the informer itself would copy every object on every read.
   * Callers must treat them as read-only.
   */
  private readonly objects = new Map<ResourceKindName, Map<string, KubeObject>>();
  private readonly starts = new Map<ResourceKindName, Promise<void>>();
  private stopped = false;

  private readonly served: ServedKinds;

  constructor(private readonly opts: ClusterCachesOptions) {
    this.served = opts.served ?? preferredKinds();
  }

  /** Why a kind cannot be cached here (its API is not served, named with the fix), or undefined. */
  unserved(kind: ResourceKindName): string | undefined {
    return this.served.missing[kind];
  }

  /** The informer of a kind, started on first use (the kind must be served: see unserved). */
  informer(kind: ResourceKindName): Informer {
    let inf = this.informers.get(kind);
    if (!inf) {
      const gvk = this.served.gvk[kind];
      if (!gvk) throw new Error(`ClusterCaches.informer(${kind}): ${this.unserved(kind) ?? 'the kind is not served'}`);
      inf = new Informer({ port: this.opts.port, gvk, clock: this.opts.clock, log: this.opts.log, ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}) });
      this.informers.set(kind, inf);
      const objects = new Map<string, KubeObject>();
      this.objects.set(kind, objects);
      const onChange = this.opts.onChange;
      const key = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      const h: InformerHandlers = {
        onAdd: (o) => {
          objects.set(key(o), o);
          onChange?.(kind, o);
        },
        onUpdate: (_old, o) => {
          objects.set(key(o), o);
          onChange?.(kind, o);
        },
        onDelete: (o) => {
          objects.delete(key(o));
          onChange?.(kind, o);
        },
      };
      inf.addHandler(h);
      const started = inf.start();
      started.catch(() => {});
      this.starts.set(kind, started);
      if (this.stopped) inf.stop();
    }
    return inf;
  }

  /** Starts the caches of these kinds and waits (at most `timeoutMs`) until they are filled; resolves whether they all are. */
  async ensure(wanted: readonly ResourceKindName[], timeoutMs: number): Promise<boolean> {
    const kinds = wanted.filter((k) => !this.unserved(k)); // never synced: health names the missing API instead
    const pending = kinds.map((k) => this.informer(k)).filter((i) => !i.synced);
    if (pending.length === 0) return true;
    const abort = new AbortController();
    const all = Promise.all(kinds.map((k) => this.starts.get(k))).then(() => true);
    const timeout = this.opts.clock.sleep(timeoutMs, abort.signal).then(
      () => false,
      () => false,
    );
    try {
      return await Promise.race([all, timeout]);
    } finally {
      abort.abort();
    }
  }

  get(kind: ResourceKindName, namespace: string, name: string): KubeObject | undefined | 'unsynced' {
    if (this.unserved(kind)) return 'unsynced';
    const inf = this.informer(kind);
    if (!inf.synced) return 'unsynced';
    return this.objects.get(kind)!.get(`${namespace}/${name}`);
  }

  /** Objects cached per kind; -1 while a kind's cache is not synced (stats). */
  sizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, i] of [...this.informers.entries()].sort(([a], [b]) => a.localeCompare(b))) out[k] = i.synced ? this.objects.get(k)!.size : -1;
    return out;
  }

  stop(): void {
    this.stopped = true;
    for (const i of this.informers.values()) i.stop();
  }
}
