// Why: an unplanned failover leaves a NetworkFence (Fenced) in the new owner's cluster against the old source's
// node networks, and the failover chart never lifts it: lifting it while the old source still holds primary
// volumes or ready pods would make two writers. The owner's daemon lifts it here, with a fenced write carrying the
// group's token, only once the fenced cluster has published (its heartbeat's components.standDown) that it stood
// down for the current ownership of EVERY group this cluster owns with it, and no failover of those groups runs
// here. Then a later planned failback onto the old source can promote its volumes again.
import type { Logger } from 'pino';
import { Kinds, type ClusterPort, type ObjectRef } from '../../drivers/cluster/cluster.port.ts';
import { isDriverError } from '../../drivers/errors.ts';
import type { ClusterStatusRecord, GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import { fenceNameFor } from '../wire/failover/cluster-steps.ts';
import { fencedPatch } from '../wire/fenced-write.ts';
import { ownershipKey, standDownOf } from './rejoin-supervisor.ts';

type TraceFn = (event: string, fields: Record<string, string | number | boolean | null | undefined>) => void;

/** What the lifter reads of one managed group (the group reconciler's state after its last heartbeat). */
export interface FenceGroupView {
  key: string;
  /** False until the group's spec is valid (a group not yet understood blocks every lift). */
  hasSpec: boolean;
  record?: GroupRecord;
  clusters: readonly ClusterStatusRecord[];
}

export interface FenceLifterDeps {
  clusterName: string;
  clusterPort: ClusterPort;
  log: Logger;
  trace?: TraceFn;
  /** Every group this daemon manages. */
  groups(): FenceGroupView[];
  /** Whether a failover of the group runs (or is restored and unfinished) on this cluster. */
  failoverActive(groupId: string): boolean;
}

/** Whether `peer` published that it stood down for the group's current ownership (owner, version, token). */
export function peerStoodDown(record: GroupRecord, clusters: readonly ClusterStatusRecord[], peer: string): boolean {
  const sd = standDownOf(clusters.find((c) => c.cluster === peer)?.components);
  return sd !== undefined && sd.phase === 'StoodDown' && ownershipKey({ ownerCluster: sd.owner, version: sd.version }) === ownershipKey(record);
}

export class FenceLifter {
  /** Peers whose fence is known lifted or absent since the last failover that ran here. */
  private readonly clear = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly log: Logger;
  private stopped = false;
  stats = { lifted: 0, checks: 0 };

  constructor(private readonly deps: FenceLifterDeps) {
    this.log = deps.log.child({ component: 'fence-lift' });
  }

  /** A failover ran on this cluster: it may have fenced a peer again. */
  invalidate(): void {
    this.clear.clear();
  }

  /** The daemon stops: no lift starts or writes after this. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * After a heartbeat of a group this cluster owns: for each peer that reports it stood down for the current
   * ownership, lift this cluster's fence against it when every other owned group allows it too.
   */
  afterOwnerHeartbeat(record: GroupRecord, clusters: readonly ClusterStatusRecord[]): void {
    const me = this.deps.clusterName;
    if (this.stopped || record.ownerCluster !== me) return;
    for (const c of clusters) {
      const peer = c.cluster;
      if (peer === me || this.clear.has(peer) || this.inFlight.has(peer)) continue;
      if (!peerStoodDown(record, clusters, peer)) continue;
      this.inFlight.add(peer);
      void this.lift(peer).finally(() => this.inFlight.delete(peer));
    }
  }

  /** The groups that keep the fence against `peer` in place (empty: it may be lifted), with why. */
  blockers(peer: string): string[] {
    const me = this.deps.clusterName;
    const out: string[] = [];
    for (const g of this.deps.groups()) {
      if (!g.hasSpec) {
        out.push(`${g.key}: spec not understood yet`);
        continue;
      }
      if (this.deps.failoverActive(g.key)) {
        out.push(`${g.key}: a failover runs on ${me}`);
        continue;
      }
      const rec = g.record;
      if (!rec) {
        out.push(`${g.key}: no heartbeat yet`);
        continue;
      }
      if (rec.ownerCluster !== me || !g.clusters.some((c) => c.cluster === peer)) continue;
      if (!peerStoodDown(rec, g.clusters, peer)) out.push(`${g.key}: ${peer} has not reported standing down for ${ownershipKey(rec)}`);
    }
    return out;
  }

  private async lift(peer: string): Promise<void> {
    const { clusterPort: port, clusterName: me } = this.deps;
    const name = fenceNameFor(peer);
    const log = this.log.child({ fencedCluster: peer, fence: name });
    this.stats.checks++;
    const blockers = this.blockers(peer);
    if (blockers.length) {
      log.debug({ blockers }, 'Fence stays: not every group has stood down');
      return;
    }
    // The fence is per fenced cluster, shared by its groups: carry the highest token among them (a newer failover
    // of one of them would be running here, and then nothing is lifted).
    let token = 0;
    for (const g of this.deps.groups()) if (g.record && g.record.ownerCluster === me && g.clusters.some((c) => c.cluster === peer)) token = Math.max(token, g.record.fencingToken);
    const ref: ObjectRef = { ...Kinds.NetworkFence, name };
    try {
      const cur = await port.get(ref, { log });
      if (!cur || cur.spec?.fenceState === 'Unfenced') {
        this.clear.add(peer);
        return;
      }
      // Look again right before the write: a failover may have started (or the daemon stopped) while it was read.
      if (this.stopped || this.blockers(peer).length) return;
      await fencedPatch(port, ref, (o) => (o.spec?.fenceState === 'Unfenced' ? undefined : { spec: { fenceState: 'Unfenced' } }), { token, log });
      this.clear.add(peer);
      this.stats.lifted++;
      log.info({ token }, 'Lifted the fence: the fenced cluster stood down for every group');
      this.deps.trace?.('daemon.fence-lifted', { cluster: me, fenced: peer, token });
    } catch (e) {
      if (!isDriverError(e)) throw e;
      log.warn({ kind: e.kind, reason: e.reason, err: e.message }, 'Could not lift the fence; trying again on the next heartbeat');
    }
  }
}
