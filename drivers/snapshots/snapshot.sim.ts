// Why: the simulated operator's durable snapshot storage. It models the real store (a ConfigMap per failover in
// the operator's own cluster, snapshot.kubernetes.ts) without the cost of a full API object per transition:
// the bytes live in a SimSnapshotDisk that belongs to the world, so they outlive an operator crash, and every
// request goes through kernel.call as a `kube.read`/`kube.write` from `operator/<cluster>` to
// `apiserver/<cluster>`, so latency, partitions, injected errors and timeouts (which may still apply the write)
// hit persistence exactly as they hit the ConfigMap.
import { DriverError } from '../errors.ts';
import type { CallOpts } from '../cluster/cluster.port.ts';
import type { SimKernel } from '../../simulator/kernel.ts';
import { checkSnapshotKey, serializeSnapshot, type SnapshotStorePort, type SnapshotValue, type StoredSnapshot } from './snapshot.port.ts';

const DRIVER = 'snapshots';

/** One committed change, seen synchronously by invariants (what is on disk, in commit order). */
export interface SnapshotCommit {
  cluster: string;
  key: string;
  type: 'saved' | 'deleted';
  revision: number;
  /** The value as saved (do not mutate). Undefined for deletes. */
  value?: SnapshotValue;
  atMs: number;
}

interface Entry {
  json: string;
  revision: number;
}

/** The bytes of one cluster's snapshot ConfigMaps: it belongs to the world and survives operator crashes. */
export class SimSnapshotDisk {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(c: SnapshotCommit) => void>();
  private revision = 0;
  /** Bytes written so far (serialized), for benchmarks. */
  bytesWritten = 0;
  writes = 0;

  constructor(
    readonly cluster: string,
    private readonly now: () => number,
  ) {}

  read(key: string): { json: string; revision: number } | undefined {
    return this.entries.get(key);
  }

  keys(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** A conditional write: undefined creates, a number must match the stored revision. */
  write(key: string, value: SnapshotValue, json: string, expectedRevision: number | undefined): number {
    const cur = this.entries.get(key);
    if (expectedRevision === undefined && cur) {
      throw new DriverError('Conflict', DRIVER, 'save', `snapshot ${key} already exists (revision ${cur.revision})`, { reason: 'AlreadyExists', code: 409 });
    }
    if (expectedRevision !== undefined && !cur) {
      throw new DriverError('Conflict', DRIVER, 'save', `snapshot ${key} is gone (expected revision ${expectedRevision})`, { reason: 'NotFound', code: 409 });
    }
    if (expectedRevision !== undefined && cur && cur.revision !== expectedRevision) {
      throw new DriverError('Conflict', DRIVER, 'save', `snapshot ${key} is at revision ${cur.revision}, not ${expectedRevision}`, { reason: 'Conflict', code: 409 });
    }
    const revision = ++this.revision;
    this.entries.set(key, { json, revision });
    this.bytesWritten += json.length;
    this.writes++;
    this.notify({ cluster: this.cluster, key, type: 'saved', revision, value, atMs: this.now() });
    return revision;
  }

  remove(key: string): boolean {
    if (!this.entries.delete(key)) return false;
    const revision = ++this.revision;
    this.notify({ cluster: this.cluster, key, type: 'deleted', revision, atMs: this.now() });
    return true;
  }

  /** Every committed change, synchronously, in commit order. Returns the unsubscribe. */
  subscribe(listener: (c: SnapshotCommit) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private notify(c: SnapshotCommit): void {
    for (const l of this.listeners) l(c);
  }
}

/** The port on a disk, for one caller (the operator party of the disk's cluster). */
export class SimSnapshotStore implements SnapshotStorePort {
  private readonly apiserver: string;

  constructor(
    private readonly kernel: SimKernel,
    private readonly disk: SimSnapshotDisk,
    private readonly caller: string,
  ) {
    this.apiserver = `apiserver/${disk.cluster}`;
  }

  load(key: string, _opts?: CallOpts): Promise<StoredSnapshot | undefined> {
    return this.guard('load', key, () =>
      this.kernel.call('kube.read', { from: this.caller, to: this.apiserver, op: 'snapshot.load', detail: key }, () => {
        const e = this.disk.read(key);
        if (!e) return undefined;
        const v = JSON.parse(e.json) as StoredSnapshot;
        v.key = key;
        v.revision = e.revision;
        return v;
      }, DRIVER),
    );
  }

  save(key: string, value: SnapshotValue, expectedRevision: number | undefined, _opts?: CallOpts): Promise<{ revision: number }> {
    return this.guard('save', key, () => {
      const json = serializeSnapshot(DRIVER, key, value);
      return this.kernel.call('kube.write', { from: this.caller, to: this.apiserver, op: 'snapshot.save', detail: key }, () => ({
        revision: this.disk.write(key, value, json, expectedRevision),
      }), DRIVER);
    });
  }

  delete(key: string, _opts?: CallOpts): Promise<boolean> {
    return this.guard('delete', key, () =>
      this.kernel.call('kube.write', { from: this.caller, to: this.apiserver, op: 'snapshot.delete', detail: key }, () => this.disk.remove(key), DRIVER),
    );
  }

  list(_opts?: CallOpts): Promise<string[]> {
    return this.kernel.call('kube.read', { from: this.caller, to: this.apiserver, op: 'snapshot.list' }, () => this.disk.keys(), DRIVER);
  }

  private async guard<T>(op: string, key: string, f: () => Promise<T>): Promise<T> {
    checkSnapshotKey(DRIVER, op, key);
    return f();
  }
}
