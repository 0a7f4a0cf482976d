// Why: a watch may start from an older resourceVersion and must then see every change after it, so the server
// keeps a bounded history of changes per resource type (like the real watch cache) and says `Expired` (410)
// once a version has fallen out of it.
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';

export interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The object after the change (for DELETED: its last state, at the deletion's resourceVersion). Never mutated. */
  object: KubeObject;
  /** The object before the change (MODIFIED and DELETED). Never mutated. */
  old?: KubeObject;
}

export class EventHistory {
  private items: HistoryEntry[] = [];
  private head = 0;
  /** Every change at or below this resourceVersion is gone from the history. */
  compactedRv = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`watch history capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  push(e: HistoryEntry): void {
    this.items.push(e);
    if (this.size > this.capacity) {
      this.compactedRv = this.items[this.head].rv;
      this.head++;
      if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    }
  }

  /** The retained entries after `rv`, oldest first. */
  since(rv: number): HistoryEntry[] {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.items.slice(lo);
  }

  /** Drops every entry up to `rv` (a forced compaction, as etcd's). */
  compact(rv: number): void {
    this.compactedRv = Math.max(this.compactedRv, rv);
    this.items = this.items.slice(this.head).filter((e) => e.rv > rv);
    this.head = 0;
  }
}
