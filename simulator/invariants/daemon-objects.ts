// Why: a property counts only for what users run. With the daemons as the only actors, what a user sees is the
// Kubernetes objects they write: both clusters' copies of the Failover and every FailoverGroup's status. These
// invariants check those objects against the charts and global state (simulator/invariants/failover.ts checks the
// world itself), and this is the one place where further daemon-level invariants plug in (DAEMON_INVARIANTS).
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { finalTaskOf } from '../../machines/failover/failover.plan.ts';
import type { FailoverRequest, FailoverRole } from '../../machines/failover/failover.types.ts';
import { groupIdOf } from '../../machines/failover/group.types.ts';
import { FailoverGroupKind, FailoverKind } from '../../src/daemon/api.ts';
import type { Invariant, SimKernel } from '../kernel.ts';
import { STAND_DOWN_INV, StandDownChecker } from './stand-down.ts';
import type { SimWorld } from '../world.ts';

export const DAEMON_INV = {
  copiesAgree: 'failover-copies-agree',
  succeededNamesFinalTask: 'succeeded-names-final-task',
  statusTimesOneClock: 'status-times-one-clock',
  groupStatusAgrees: 'group-status-agrees',
} as const;

/**
 * Invariants whose failure comes only from a known bug another change fixes: still checked and reported (each run's
 * `invariants`), but a run does not fail on them (`failure` stays unset) until the fix merges. Empty: keep it so.
 */
export const PENDING_FIX: ReadonlySet<string> = new Set<string>();

/** What a daemon-level invariant may read: the world, the failover's request, its clusters by role. */
export interface DaemonRunContext {
  world: SimWorld;
  request: FailoverRequest;
  clusters: Record<FailoverRole, string>;
  /** The Failover object (one cluster's copy), straight from the store. */
  failover(cluster: string): KubeObject | undefined;
}

/**
 * A plug-in: the invariants it adds to a daemon-level run. One that needs the world to run on after the failover
 * ended before it can judge (the old source standing down) says so with `pending`; the runner runs on while any is.
 */
export type DaemonInvariant = Invariant & { pending?(): boolean };
export type DaemonInvariantFactory = (ctx: DaemonRunContext) => DaemonInvariant[];

/**
 * After an unplanned failover, the old source stands down once it is reachable again, within a bound, and its fence
 * is lifted only after that (StandDownChecker). Reachable: its API server and its daemon are up; each time they come
 * back the bound starts again (a crash or outage after it came back is not the stand-down's delay).
 */
export const standDownInvariants: DaemonInvariantFactory = (ctx) => {
  if (ctx.request.type !== 'unplanned') return [];
  const { world, request } = ctx;
  const kernel = world.kernel;
  const old = request.sourceCluster;
  const checker = new StandDownChecker({ world, group: request.group, oldSource: old, boundMs: STAND_DOWN_BOUND_MS });
  let wasUp = false;
  const firstOf = (names: readonly string[]) => checker.violations.find((v) => names.includes(v.invariant))?.message;
  return [
    {
      name: STAND_DOWN_INV.fenceLiftedTooEarly,
      kind: 'always',
      check: () => {
        const up = !kernel.isDown(`apiserver/${old}`) && !kernel.isDown(`operator/${old}`);
        if (up && !wasUp) checker.reachableAt(kernel.now());
        wasUp = up;
        checker.afterEvent();
        return firstOf([STAND_DOWN_INV.fenceLiftedTooEarly]);
      },
    },
    { name: STAND_DOWN_INV.staysDown, kind: 'always', check: () => firstOf([STAND_DOWN_INV.staysDown]) },
    {
      name: STAND_DOWN_INV.standsDownInTime,
      kind: 'eventually',
      check: () => {
        const before = checker.violations.length;
        checker.final({ expectFenceLifted: true });
        // The fence still in effect at the end is a liveness failure of the stand-down (the owner lifts it after).
        return firstOf([STAND_DOWN_INV.standsDownInTime]) ?? checker.violations.slice(before).find((v) => v.invariant === STAND_DOWN_INV.fenceLiftedTooEarly)?.message;
      },
      // Superseded and not stood down (or stood down with its fence still in effect), within the bound: run on.
      pending: () => {
        const rec = world.globalState.getGroup(groupIdOf(request.group));
        if (!rec || rec.ownerCluster === old || checker.windowEndedAtMs !== undefined) return false;
        return checker.stoodDownAtMs === undefined || world.isFenced(old);
      },
    },
  ];
};

/** How long after the old source is reachable again it may still run anything of the group. */
export const STAND_DOWN_BOUND_MS = 5 * 60_000;

/**
 * The daemon-level invariants every run registers besides DaemonObjectInvariants'. Add a factory here to plug one
 * in (the old source standing down after an unplanned failover goes here).
 */
export const DAEMON_INVARIANTS: readonly DaemonInvariantFactory[] = [standDownInvariants];

const TERMINAL = new Set(['SUCCESS', 'FAILED']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export class DaemonObjectInvariants {
  private readonly kernel: SimKernel;
  readonly ctx: DaemonRunContext;
  /** How the group statuses compared with global state after the failover ended (undefined: never compared). */
  private groupVerdict: string | undefined = 'the failover did not end, so the group statuses were not compared';
  private readonly pendingChecks: Array<() => boolean> = [];

  constructor(
    private readonly world: SimWorld,
    private readonly request: FailoverRequest,
  ) {
    this.kernel = world.kernel;
    const ref = { namespace: request.group.namespace, name: request.failoverName };
    this.ctx = {
      world,
      request,
      clusters: { source: request.sourceCluster, target: request.targetCluster },
      failover: (cluster) => world.get(cluster, { ...FailoverKind, ...ref }),
    };
  }

  install(): void {
    const eventually = (name: string, check: () => string | undefined) => this.kernel.addInvariant({ name, kind: 'eventually', check });
    eventually(DAEMON_INV.copiesAgree, () => this.checkCopiesAgree());
    eventually(DAEMON_INV.succeededNamesFinalTask, () => this.checkFinalTask());
    eventually(DAEMON_INV.statusTimesOneClock, () => this.checkTimes());
    eventually(DAEMON_INV.groupStatusAgrees, () => this.groupVerdict);
    for (const factory of DAEMON_INVARIANTS) {
      for (const inv of factory(this.ctx)) {
        this.kernel.addInvariant(inv);
        if (inv.pending) this.pendingChecks.push(inv.pending);
      }
    }
  }

  /** Runs the world on while a plug-in still waits for something to judge (bounded by `maxMs`). */
  async awaitPlugins(runFor: (ms: number) => Promise<unknown>, maxMs: number): Promise<void> {
    const deadline = this.kernel.now() + maxMs;
    while (this.pendingChecks.some((p) => p()) && this.kernel.now() < deadline) await runFor(1_000);
  }

  /** Both copies carry a final outcome (the daemons have written what their charts ended with). */
  settled(): boolean {
    return this.copies().every(([, o]) => TERMINAL.has(String(o?.status?.status)));
  }

  /**
   * After the failover ended: runs the world up to one heartbeat interval (plus the first beat's jitter and a
   * status write) and records whether every FailoverGroup object's status agrees with global state by then.
   */
  async awaitGroupStatus(runFor: (ms: number) => Promise<unknown>): Promise<void> {
    const boundMs = this.request.group.heartbeatIntervalMs + 10_000;
    const deadline = this.kernel.now() + boundMs;
    let wrong = this.groupStatusProblem();
    while (wrong !== undefined && this.kernel.now() < deadline) {
      await runFor(1_000);
      wrong = this.groupStatusProblem();
    }
    this.groupVerdict = wrong === undefined ? undefined : `${boundMs}ms after the failover ended: ${wrong}`;
  }

  private copies(): Array<[FailoverRole, KubeObject | undefined]> {
    return (['source', 'target'] as const).map((role) => [role, this.ctx.failover(this.ctx.clusters[role])]);
  }

  private checkCopiesAgree(): string | undefined {
    const outcomes = this.copies().map(([role, o]) => `${role} (${this.ctx.clusters[role]}): ${o ? String(o.status?.status ?? 'no status') : 'no copy'}`);
    const [a, b] = this.copies().map(([, o]) => o?.status?.status);
    if (a === undefined || a !== b || !TERMINAL.has(String(a))) return `the Failover copies end differently: ${outcomes.join(', ')}`;
    // A succeeded failover reports one downtime and one duration, whichever cluster a user asks (the history record's).
    if (a === 'SUCCESS') {
      const [ma, mb] = this.copies().map(([, o]) => JSON.stringify(o?.status?.metrics ?? null));
      if (ma !== mb) return `the succeeded Failover copies report different metrics: ${this.ctx.clusters.source} ${ma}, ${this.ctx.clusters.target} ${mb}`;
    }
    return undefined;
  }

  /** A succeeded copy names the task that ended the failover as a whole (the same on both copies: finalTaskOf). */
  private checkFinalTask(): string | undefined {
    const wrong: string[] = [];
    const final = finalTaskOf({ mode: this.request.mode, type: this.request.type });
    const want = `TASK_${final.task}`;
    for (const [role, o] of this.copies()) {
      if (o?.status?.status !== 'SUCCESS') continue;
      const progression = o.status.progression as { stage?: unknown } | undefined;
      if (o.status.state !== want || progression?.stage !== final.stage) {
        wrong.push(`${role} (${this.ctx.clusters[role]}) succeeded with state ${String(o.status.state)} in stage ${String(progression?.stage)}, not the failover's final task ${want} in ${final.stage}`);
      }
    }
    return wrong.length ? wrong.join('; ') : undefined;
  }

  /** Every time the daemons wrote lies between the world's start and now: they all come from the world's clock. */
  private checkTimes(): string | undefined {
    const from = this.kernel.startMs;
    const to = this.kernel.now();
    const bad: string[] = [];
    const visit = (where: string, v: unknown, path: string) => {
      if (typeof v === 'string' && ISO.test(v)) {
        const ms = Date.parse(v);
        if (!(ms >= from && ms <= to)) bad.push(`${where} ${path} = ${v}`);
      } else if (Array.isArray(v)) v.forEach((x, i) => visit(where, x, `${path}[${i}]`));
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(where, x, `${path}.${k}`);
    };
    for (const [role, o] of this.copies()) if (o) visit(`Failover (${role} copy)`, o.status, 'status');
    for (const c of this.world.clusters.keys()) {
      const g = this.world.get(c, { ...FailoverGroupKind, namespace: this.request.group.namespace, name: this.request.group.name });
      if (g) visit(`FailoverGroup on ${c}`, g.status, 'status');
    }
    return bad.length ? `times outside the world's clock [${new Date(from).toISOString()}, ${new Date(to).toISOString()}]: ${bad.slice(0, 5).join(', ')}` : undefined;
  }

  private groupStatusProblem(): string | undefined {
    const owner = this.world.globalState.getGroup(this.request.groupId)?.ownerCluster;
    const wrong: string[] = [];
    for (const c of this.world.clusters.keys()) {
      const g = this.world.get(c, { ...FailoverGroupKind, namespace: this.request.group.namespace, name: this.request.group.name });
      if (!g) continue;
      const active = (g.status?.globalState as { activeCluster?: unknown } | undefined)?.activeCluster;
      if (active !== owner) wrong.push(`FailoverGroup on ${c} says active cluster ${String(active)}, global state's owner is ${String(owner)}`);
    }
    return wrong.length ? wrong.join('; ') : undefined;
  }
}
