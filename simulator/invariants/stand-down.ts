// Why: after an unplanned failover, the old source must not stay a second primary once it is reachable again, and
// the fence that keeps it off the storage must not be lifted while it still could write. This checker watches one
// group on the old source cluster of a SimWorld: after every event (safety) its fence is never lifted while the
// old source still holds a Primary volume, a ready replica or traffic, it never becomes active again once it stood
// down, and it has stood down at the latest `boundMs` after it became reachable; at the end (liveness) it did
// stand down within the bound (and, when asked, its fence was lifted). A source that still owns the group (the
// unplanned failover failed or rolled back) is not asked to stand down. A new failover that takes the group's lock
// after the stand-down (a planned failback, say) ends the checked window: from then on that failover's own
// invariants apply.
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import type { GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import { groupIdOf, type FailoverGroupSpec } from '../../machines/failover/group.types.ts';
import { Annotations, EXTERNAL_DNS_IGNORE } from '../kube/controllers/common.ts';
import type { SimWorld } from '../world.ts';

export const STAND_DOWN_INV = {
  fenceLiftedTooEarly: 'fence-lifted-only-after-stand-down',
  standsDownInTime: 'old-source-stands-down-within-bound',
  staysDown: 'old-source-stays-down',
} as const;

export interface StandDownViolation {
  invariant: (typeof STAND_DOWN_INV)[keyof typeof STAND_DOWN_INV];
  atMs: number;
  message: string;
}

/** What the old source still runs of the group (all empty: it stood down). */
export interface OldSourceActivity {
  primaryVolumes: string[];
  readyWorkloads: string[];
  servingTraffic: string[];
}

export interface StandDownCheckOptions {
  world: SimWorld;
  /** The group's spec (default: the scenario group with `groupId`). */
  group?: FailoverGroupSpec;
  groupId?: string;
  /** The cluster that was the source of the unplanned failover. */
  oldSource: string;
  /** When the old source became reachable again (set later with `reachableAt` when not known yet). */
  reachableAtMs?: number;
  /** How long after that it may still be active (default 5 virtual minutes). */
  boundMs?: number;
  /**
   * The group's record in global state (default: the world's own store). A world served over HTTP whose daemons
   * use another store (dynalite) passes its latest read of that store.
   */
  record?: () => Pick<GroupRecord, 'ownerCluster' | 'fencingToken' | 'lock'> | undefined;
}

export class StandDownChecker {
  readonly violations: StandDownViolation[] = [];
  /** When the old source was first seen stood down (undefined: not yet). */
  stoodDownAtMs?: number;
  /** When the fence against the old source was first seen lifted after being in effect. */
  fenceLiftedAtMs?: number;
  /** When a newer failover took the group's lock after the stand-down (the checked window ended). */
  windowEndedAtMs?: number;
  private readonly world: SimWorld;
  private readonly group: FailoverGroupSpec;
  private readonly groupId: string;
  private readonly boundMs: number;
  private reachableAtMs?: number;
  private wasFenced = false;
  private tokenAtStandDown?: number;
  private readonly seen = new Set<string>();

  constructor(private readonly o: StandDownCheckOptions) {
    this.world = o.world;
    const group = o.group ?? o.world.scenario.groups.find((g) => groupIdOf(g.spec) === o.groupId)?.spec ?? (o.groupId === undefined ? o.world.scenario.groups[0]?.spec : undefined);
    if (!group) throw new Error(`StandDownChecker: no group ${o.groupId ?? ''} in scenario ${o.world.scenario.name}: pass group or a groupId of the scenario`);
    this.group = group;
    this.groupId = groupIdOf(group);
    this.boundMs = o.boundMs ?? 5 * 60_000;
    if (o.reachableAtMs !== undefined) this.reachableAtMs = o.reachableAtMs;
  }

  /** The old source became reachable again now (its API server and operator are up). */
  reachableAt(atMs: number): void {
    this.reachableAtMs = atMs;
  }

  /** What the old source runs of the group now, read from the world (no latency, no faults). */
  activity(): OldSourceActivity {
    const w = this.world;
    const c = this.o.oldSource;
    const ns = this.group.namespace;
    const out: OldSourceActivity = { primaryVolumes: [], readyWorkloads: [], servingTraffic: [] };
    for (const wl of this.group.workloads) {
      for (const vr of wl.volumeReplications) if (w.volumeState(c, ns, vr) === 'Primary') out.primaryVolumes.push(vr);
      if (wl.kind === 'CronJob') {
        if (w.peekWorkload(c, 'CronJob', ns, wl.name)?.spec?.suspend === false) out.readyWorkloads.push(`CronJob/${wl.name}`);
      } else if (w.readyReplicas(c, wl.kind, ns, wl.name) > 0) out.readyWorkloads.push(`${wl.kind}/${wl.name}`);
    }
    for (const n of this.group.networkResources) {
      const obj = w.peek(c, { ...Kinds[n.kind], namespace: ns, name: n.name });
      const a = obj?.metadata.annotations ?? {};
      if (obj && a[Annotations.externalDnsController] !== EXTERNAL_DNS_IGNORE && a[Annotations.dnsDisabled] !== 'true') out.servingTraffic.push(`${n.kind}/${n.name}`);
    }
    return out;
  }

  /** Safety: call after every simulated event. */
  afterEvent(): void {
    if (this.windowEndedAtMs !== undefined) return;
    const w = this.world;
    const now = w.kernel.now();
    const rec = this.o.record ? this.o.record() : w.globalState.getGroup(this.groupId);
    if (this.stoodDownAtMs !== undefined && rec && rec.lock && this.tokenAtStandDown !== undefined && rec.fencingToken > this.tokenAtStandDown) {
      this.windowEndedAtMs = now;
      return;
    }
    const superseded = rec !== undefined && rec.ownerCluster !== this.o.oldSource;
    const act = this.activity();
    const down = act.primaryVolumes.length === 0 && act.readyWorkloads.length === 0 && act.servingTraffic.length === 0;
    const fenced = w.isFenced(this.o.oldSource);
    if (fenced) this.wasFenced = true;
    else if (this.wasFenced && this.fenceLiftedAtMs === undefined) this.fenceLiftedAtMs = now;
    // A failover that rolls back lifts its fence while the source still owns the group: that is not a stand-down.
    if (this.wasFenced && !fenced && !down && superseded) this.violate(STAND_DOWN_INV.fenceLiftedTooEarly, now, `the fence against ${this.o.oldSource} is lifted while it still runs ${describe(act)}`);
    if (down && this.stoodDownAtMs === undefined && superseded) {
      this.stoodDownAtMs = now;
      this.tokenAtStandDown = rec?.fencingToken ?? 0;
    }
    if (!down && this.stoodDownAtMs !== undefined) this.violate(STAND_DOWN_INV.staysDown, now, `${this.o.oldSource} stood down at ${this.stoodDownAtMs} ms but runs ${describe(act)} again without a failover`);
    if (!down && superseded && this.reachableAtMs !== undefined && now > this.reachableAtMs + this.boundMs) {
      this.violate(STAND_DOWN_INV.standsDownInTime, now, `${this.o.oldSource} is reachable since ${this.reachableAtMs} ms and still runs ${describe(act)} after ${this.boundMs} ms`);
    }
  }

  /** Liveness: call once at the end of the run (after the faults healed). */
  final(o: { expectFenceLifted?: boolean } = {}): StandDownViolation[] {
    const now = this.world.kernel.now();
    this.afterEvent();
    // Only a superseded source must stand down (an unplanned failover that failed or rolled back leaves it owner).
    const rec = this.o.record ? this.o.record() : this.world.globalState.getGroup(this.groupId);
    const superseded = rec !== undefined && rec.ownerCluster !== this.o.oldSource;
    if (superseded && this.reachableAtMs !== undefined && (this.stoodDownAtMs === undefined || this.stoodDownAtMs > Math.max(this.reachableAtMs, 0) + this.boundMs) && this.windowEndedAtMs === undefined) {
      this.violate(STAND_DOWN_INV.standsDownInTime, now, `${this.o.oldSource} did not stand down within ${this.boundMs} ms of becoming reachable (it runs ${describe(this.activity())})`);
    }
    if (o.expectFenceLifted && this.windowEndedAtMs === undefined && this.world.isFenced(this.o.oldSource)) {
      this.violate(STAND_DOWN_INV.fenceLiftedTooEarly, now, `the fence against ${this.o.oldSource} is still in effect at the end although it stood down at ${this.stoodDownAtMs ?? '?'} ms`);
    }
    return this.violations;
  }

  /** One violation per invariant and message (a state that lasts does not repeat on every event). */
  private violate(invariant: StandDownViolation['invariant'], atMs: number, message: string): void {
    const key = `${invariant}|${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.violations.push({ invariant, atMs, message });
  }
}

function describe(a: OldSourceActivity): string {
  const parts = [
    a.primaryVolumes.length ? `Primary volumes ${a.primaryVolumes.join(', ')}` : '',
    a.readyWorkloads.length ? `ready workloads ${a.readyWorkloads.join(', ')}` : '',
    a.servingTraffic.length ? `traffic on ${a.servingTraffic.join(', ')}` : '',
  ].filter(Boolean);
  return parts.join('; ') || 'nothing';
}
