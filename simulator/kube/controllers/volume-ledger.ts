// Why: the storage beneath the VolumeReplications of every cluster, shared by their controllers: which side was
// primary when, which writes each side's copy holds, and every write a promotion or a resync threw away. The
// world's no-data-loss and single-primary invariants read it; a test can tell "demoted then promoted" (nothing
// lost) from "forced while the old side kept writing" (lost writes, split brain).

/**
 * A copy of the volume's data, named by its newest write: `seq` writes into primary epoch `epoch` (seq 0 is
 * the state the epoch started from). Epochs chain to the state they were promoted from.
 */
export interface DataHead {
  epoch: number;
  seq: number;
}

/** One stretch of time during which one cluster's VolumeReplication was status.state Primary. */
export interface PrimaryEpoch {
  id: number;
  cluster: string;
  fromMs: number;
  /** Unset while still primary. */
  toMs?: number;
  /** The data this epoch started from (undefined: an empty volume). */
  base?: DataHead;
  /** Clusters that were also primary when this epoch began (a forced promotion). */
  overlappedAtStart: string[];
  /** When this cluster's copy resynced from a peer after the epoch ended: its writes are gone, it diverges no more. */
  discardedAtMs?: number;
}

export type DataLossKind = 'promoted-behind' | 'discarded-on-resync';

/**
 * Writes lost for good, or at risk: `promoted-behind` when a cluster became primary without writes another
 * copy holds; `discarded-on-resync` when a resync overwrote writes no other copy holds.
 */
export interface DataLossRecord {
  namespace: string;
  name: string;
  atMs: number;
  kind: DataLossKind;
  /** The cluster whose copy is now authoritative (promoted, or resynced from). */
  cluster: string;
  /** The cluster whose writes are missing. */
  missingFrom: string;
  writes: number;
}

interface Pair {
  states: Map<string, string>;
  heads: Map<string, DataHead | undefined>;
  epochs: PrimaryEpoch[];
  lastSyncMs?: number;
  writes: number;
}

export class VolumeReplicationLedger {
  private readonly pairs = new Map<string, Pair>();
  private readonly epochBase = new Map<number, DataHead | undefined>();
  private nextEpoch = 1;
  private readonly losses: DataLossRecord[] = [];

  constructor(private readonly now: () => number) {}

  /** Becomes a deep copy of `src` (a template world's ledger); this ledger must be new. */
  copyFrom(src: VolumeReplicationLedger): void {
    if (this.pairs.size || this.epochBase.size || this.losses.length || this.nextEpoch !== 1) throw new Error('VolumeReplicationLedger.copyFrom: this ledger is not new');
    // Field by field (a world clone does this every run; structuredClone costs ten times more). A head is never
    // changed in place (a write or a sync sets a new one), so copies need not keep heads shared as the source does.
    for (const [key, p] of src.pairs) {
      const pair: Pair = {
        states: new Map(p.states),
        heads: new Map([...p.heads].map(([c, h]) => [c, copyHead(h)])),
        epochs: p.epochs.map((e) => Object.assign({}, e, { base: copyHead(e.base), overlappedAtStart: [...e.overlappedAtStart] })),
        writes: p.writes,
      };
      if (p.lastSyncMs !== undefined) pair.lastSyncMs = p.lastSyncMs;
      this.pairs.set(key, pair);
    }
    for (const [id, base] of src.epochBase) this.epochBase.set(id, copyHead(base));
    for (const l of src.losses) this.losses.push({ ...l });
    this.nextEpoch = src.nextEpoch;
  }

  private pair(namespace: string, name: string): Pair {
    const key = `${namespace}/${name}`;
    let p = this.pairs.get(key);
    if (!p) {
      p = { states: new Map(), heads: new Map(), epochs: [], writes: 0 };
      this.pairs.set(key, p);
    }
    return p;
  }

  /**
   * Records the status.state a cluster's VolumeReplication now has (undefined: deleted). Entering Primary opens
   * an epoch (and records the writes this copy lacks); leaving it closes the epoch.
   */
  observe(cluster: string, namespace: string, name: string, state: string | undefined): void {
    const p = this.pair(namespace, name);
    const was = p.states.get(cluster);
    if (state === undefined) p.states.delete(cluster);
    else p.states.set(cluster, state);
    if (!p.heads.has(cluster)) p.heads.set(cluster, undefined);
    const nowMs = this.now();
    if (was !== 'Primary' && state === 'Primary') {
      for (const [other, head] of p.heads) {
        if (other === cluster) continue;
        const missing = this.missing(head, p.heads.get(cluster));
        if (missing > 0) this.losses.push({ namespace, name, atMs: nowMs, kind: 'promoted-behind', cluster, missingFrom: other, writes: missing });
      }
      const id = this.nextEpoch++;
      const base = p.heads.get(cluster);
      this.epochBase.set(id, base);
      const overlappedAtStart = [...p.states].filter(([c, s]) => c !== cluster && s === 'Primary').map(([c]) => c);
      p.epochs.push({ id, cluster, fromMs: nowMs, base: base ? { ...base } : undefined, overlappedAtStart });
      p.heads.set(cluster, { epoch: id, seq: 0 });
    } else if (was === 'Primary' && state !== 'Primary') {
      const open = this.openEpoch(p, cluster);
      if (open) open.toMs = nowMs;
    }
  }

  private openEpoch(p: Pair, cluster: string): PrimaryEpoch | undefined {
    for (let i = p.epochs.length - 1; i >= 0; i--) if (p.epochs[i].cluster === cluster && p.epochs[i].toMs === undefined) return p.epochs[i];
    return undefined;
  }

  /** The clusters whose copy is status.state Primary now, in the order they were first seen. */
  primaryHolders(namespace: string, name: string): string[] {
    const out: string[] = [];
    const p = this.pairs.get(`${namespace}/${name}`);
    if (p) for (const [c, s] of p.states) if (s === 'Primary') out.push(c);
    return out;
  }

  /** Every volume pair the ledger knows, as `namespace/name`. */
  volumes(): string[] {
    return [...this.pairs.keys()];
  }

  /** One application write on a primary copy; false when the cluster is not primary. */
  write(cluster: string, namespace: string, name: string): boolean {
    const p = this.pair(namespace, name);
    if (p.states.get(cluster) !== 'Primary') return false;
    const head = p.heads.get(cluster);
    if (!head) return false;
    p.heads.set(cluster, { epoch: head.epoch, seq: head.seq + 1 });
    p.writes++;
    return true;
  }

  /** Copies `from`'s data to `to` (a replication snapshot arriving). */
  sync(from: string, to: string, namespace: string, name: string): DataHead | undefined {
    const p = this.pair(namespace, name);
    const head = p.heads.get(from);
    p.heads.set(to, head ? { ...head } : undefined);
    p.lastSyncMs = this.now();
    return head;
  }

  /** A resync: `to` takes `from`'s data and drops its own; the writes only `to` held are recorded as lost. */
  resync(from: string, to: string, namespace: string, name: string): number {
    const p = this.pair(namespace, name);
    const discarded = this.missing(p.heads.get(to), p.heads.get(from));
    if (discarded > 0) this.losses.push({ namespace, name, atMs: this.now(), kind: 'discarded-on-resync', cluster: from, missingFrom: to, writes: discarded });
    // The epochs `to` was primary in are discarded: they no longer make another copy's epoch a split brain.
    for (const e of p.epochs) if (e.cluster === to && e.toMs !== undefined && e.discardedAtMs === undefined) e.discardedAtMs = this.now();
    this.sync(from, to, namespace, name);
    return discarded;
  }

  head(cluster: string, namespace: string, name: string): DataHead | undefined {
    const h = this.pairs.get(`${namespace}/${name}`)?.heads.get(cluster);
    return h ? { ...h } : undefined;
  }

  lastSyncMs(namespace: string, name: string): number | undefined {
    return this.pairs.get(`${namespace}/${name}`)?.lastSyncMs;
  }

  /** The primary epochs of one volume, oldest first. */
  epochs(namespace: string, name: string): PrimaryEpoch[] {
    return (this.pairs.get(`${namespace}/${name}`)?.epochs ?? []).map((e) => ({ ...e, overlappedAtStart: [...e.overlappedAtStart] }));
  }

  /** Writes ever made to this volume on any primary. */
  writes(namespace: string, name: string): number {
    return this.pairs.get(`${namespace}/${name}`)?.writes ?? 0;
  }

  /**
   * Whether the cluster's latest primary epoch overlapped another cluster's primary epoch in time: both sides
   * took writes at once, so this copy cannot simply follow the other (split brain). An epoch whose copy has since
   * resynced from a peer (its writes discarded) no longer counts.
   */
  overlapped(cluster: string, namespace: string, name: string): boolean {
    const p = this.pairs.get(`${namespace}/${name}`);
    if (!p) return false;
    let mine: PrimaryEpoch | undefined;
    for (let i = p.epochs.length - 1; i >= 0 && !mine; i--) if (p.epochs[i].cluster === cluster) mine = p.epochs[i];
    if (!mine) return false;
    const end = mine.toMs ?? Number.POSITIVE_INFINITY;
    return p.epochs.some((e) => e.cluster !== cluster && e.discardedAtMs === undefined && e.fromMs < end && (e.toMs ?? Number.POSITIVE_INFINITY) > mine.fromMs);
  }

  /** How far `head` reaches into `epoch` (0 when it does not descend from it). */
  private reach(head: DataHead | undefined, epoch: number): number {
    for (let cur = head; cur; cur = this.epochBase.get(cur.epoch)) if (cur.epoch === epoch) return cur.seq;
    return 0;
  }

  /** The writes `a` holds that `b` does not. */
  missing(a: DataHead | undefined, b: DataHead | undefined): number {
    let total = 0;
    for (let cur = a; cur; cur = this.epochBase.get(cur.epoch)) total += Math.max(0, cur.seq - this.reach(b, cur.epoch));
    return total;
  }

  /** Whether `to`'s copy holds every write `from`'s copy holds. */
  contains(to: string, from: string, namespace: string, name: string): boolean {
    const p = this.pairs.get(`${namespace}/${name}`);
    return !p || this.missing(p.heads.get(from), p.heads.get(to)) === 0;
  }

  /** Every write lost (or put at risk) so far, oldest first. */
  dataLoss(): DataLossRecord[] {
    return this.losses.map((l) => ({ ...l }));
  }
}

function copyHead(h: DataHead | undefined): DataHead | undefined {
  return h ? { epoch: h.epoch, seq: h.seq } : undefined;
}
