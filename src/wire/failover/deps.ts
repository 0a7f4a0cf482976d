// Why: what every failover step implementation shares: the ports of this operator, the per-failover logger
// (created once per failover and reused), the step wrapper that stamps times and turns failures into JSON-safe
// StepFailures, and the lease assertion that stops a cluster write when this failover no longer holds the lock.
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { ClockPort } from '../../../drivers/clock/clock.port.ts';
import type { ClusterPort, GVK } from '../../../drivers/cluster/cluster.port.ts';
import { DriverError, toStepError } from '../../../drivers/errors.ts';
import type { GlobalStatePort, GroupRecord } from '../../../drivers/globalstate/globalstate.port.ts';
import type { RandomPort } from '../../../drivers/random/random.port.ts';
import { DEFAULT_FAILOVER_POLICY, type StepFailure, type StepInput, type StepOutput } from '../../../machines/failover/failover.types.ts';
import { failoverLog } from '../../log.ts';
import type { TaskRunner } from '../provided-once.ts';
import { withCallRetries } from '../resilient.ts';

/** How the target fences an unreachable source's storage clients (unplanned failover, csi-addons NetworkFence). */
/** Abort listeners one resource of a step may hold on the step's signal at once, and the step's own. */
const STEP_LISTENERS_PER_RESOURCE = 4;
const STEP_LISTENERS_BASE = 8;

export interface FencingConfig {
  /** The node networks of a cluster, as the storage backend sees its clients. */
  cidrsOf(cluster: string): string[];
  /** The CSI driver that enforces the fence (`rbd.csi.ceph.com`). */
  driver: string;
  /** The secret the CSI driver needs for fence operations. */
  secret?: { name: string; namespace: string };
  parameters?: Record<string, string>;
}

export interface FailoverDeps {
  /** The operator's own cluster. */
  cluster: string;
  clusterPort: ClusterPort;
  /** Only for probing the peer's reachability (and, where configured, reading it); never for writes. */
  peerClusterPort?: ClusterPort;
  globalState: GlobalStatePort;
  clock: ClockPort;
  random: RandomPort;
  /** The operator's logger; each failover gets a child of it carrying its IDs. */
  log: Logger;
  /** Needed for unplanned failovers only; without it the FenceSourceCluster step fails with a clear error. */
  fencing?: FencingConfig;
  /** The version this cluster serves CronJob at (discovery; default batch/v1). */
  cronJobKind?: GVK;
}

export const DEFAULT_FENCE_DRIVER = 'rbd.csi.ceph.com';

/** Thrown by wired steps: a StepError with the time it failed (the chart computes absolute backoff deadlines from it). */
export class StepFailureError extends Error implements StepFailure {
  override readonly name = 'StepFailureError';
  readonly kind: StepFailure['kind'];
  readonly driver: string;
  readonly op: string;
  readonly reason?: string;
  readonly code?: number;
  readonly atMs: number;
  constructor(f: Omit<StepFailure, 'atMs'>, atMs: number) {
    super(f.message);
    this.kind = f.kind;
    this.driver = f.driver;
    this.op = f.op;
    if (f.reason !== undefined) this.reason = f.reason;
    if (f.code !== undefined) this.code = f.code;
    this.atMs = atMs;
  }
}

export function validationFailed(op: string, message: string): DriverError {
  return new DriverError('Invalid', 'engine', op, message, { reason: 'ValidationFailed' });
}

export interface StepCtx {
  log: Logger;
  signal: AbortSignal;
  /** The fencing token carried on every Kubernetes write (from the lease proof). */
  token: number;
}

export class FailoverWiring {
  private readonly logs = new Map<string, Logger>();
  /** The operator's ports, each call retried a few times on a retryable failure (src/wire/resilient.ts). */
  readonly deps: FailoverDeps;

  constructor(raw: FailoverDeps) {
    this.deps = {
      ...raw,
      clusterPort: withCallRetries(raw.clusterPort, raw.clock),
      globalState: withCallRetries(raw.globalState, raw.clock),
      ...(raw.peerClusterPort ? { peerClusterPort: raw.peerClusterPort } : {}),
    };
  }

  /** The clock in whole milliseconds (global state stores integers; a virtual clock may carry fractions). */
  nowMs(): number {
    return Math.floor(this.deps.clock.now());
  }

  /** One child logger per failover, carrying its IDs (created once). */
  logFor(input: Pick<StepInput, 'request' | 'role'>): Logger {
    const r = input.request;
    let l = this.logs.get(r.failoverId);
    if (!l) {
      l = failoverLog(this.deps.log, { failoverId: r.failoverId, groupId: r.groupId, source: r.sourceCluster, target: r.targetCluster, cluster: this.deps.cluster });
      this.logs.set(r.failoverId, l);
    }
    return l;
  }

  /**
   * A task actor: times the step, logs its outcome once, and rejects with a StepFailureError. With `guarded`,
   * first checks that this failover still holds the lease (or has finished as the group's new owner), so a
   * restored or stalled actor never writes to a cluster after losing the lock.
   */
  step(name: string, fn: (input: StepInput, ctx: StepCtx) => Promise<Partial<StepOutput> | void>, options: { guarded?: boolean } = {}): TaskRunner<StepOutput, StepInput> {
    return async ({ input, signal }) => {
      // One step works on up to policy.concurrencyMax resources at once, and each of them may hold a few abort
      // listeners on the step's signal at the same time (a sleep, a watch, a child chart, a call in flight): each is
      // removed when its wait ends. Node warns past 10 listeners; the real bound is known, so set it.
      setMaxListeners(STEP_LISTENERS_PER_RESOURCE * Math.max(1, input.policy?.concurrencyMax ?? DEFAULT_FAILOVER_POLICY.concurrencyMax) + STEP_LISTENERS_BASE, signal);
      const log = this.logFor(input);
      const startedAtMs = this.nowMs();
      try {
        if (options.guarded) await this.assertLease(input, signal, log);
        const out = await fn(input, { log, signal, token: input.proof?.fencingToken ?? 0 });
        const atMs = this.nowMs();
        if (log.isLevelEnabled('debug')) log.debug({ step: name, task: input.task, durationMs: atMs - startedAtMs, outcome: 'ok' }, 'Finished step');
        return { ...(out ?? {}), atMs, startedAtMs };
      } catch (e) {
        if (signal.aborted) throw e;
        const se = e instanceof StepFailureError ? e : toStepError(name, e);
        const atMs = this.nowMs();
        log.warn({ step: name, task: input.task, durationMs: atMs - startedAtMs, outcome: 'error', kind: se.kind, reason: se.reason, error: se.message }, 'Step failed');
        throw new StepFailureError({ kind: se.kind, driver: se.driver, op: se.op, message: se.message, reason: se.reason, code: se.code }, atMs);
      }
    };
  }

  /** Rejects with Conflict LeaseLost (or Superseded) unless this failover may still write to the clusters. */
  async assertLease(input: StepInput, signal: AbortSignal, log: Logger): Promise<GroupRecord> {
    const proof = input.proof;
    if (!proof) throw new DriverError('Conflict', 'engine', 'assertLease', `${input.task}: this side holds no lease proof`, { reason: 'LeaseLost' });
    const record = await this.deps.globalState.getGroup(input.request.groupId, { log, signal });
    if (!record) throw validationFailed('assertLease', `group ${input.request.groupId} does not exist in global state`);
    const r = input.request;
    const ownedByUs = record.ownerCluster === r.targetCluster && record.lastFailover?.failoverId === r.failoverId;
    if (input.role === 'target' && ownedByUs && record.fencingToken === proof.fencingToken) return record;
    if (input.expectedVersion !== undefined && record.version !== input.expectedVersion && !ownedByUs) {
      throw new DriverError('Conflict', 'engine', 'assertLease', `group ${r.groupId} moved to version ${record.version} (owner ${record.ownerCluster}) since this failover validated it at ${input.expectedVersion}`, { reason: 'Superseded' });
    }
    const lock = record.lock;
    const now = this.nowMs();
    if (!lock || lock.leaseToken !== proof.leaseToken || lock.expiresAtMs < now) {
      throw new DriverError('Conflict', 'engine', 'assertLease', `the lease of failover ${r.failoverId} is no longer held (${lock ? `lock held by ${lock.holder} for ${lock.failoverId} until ${lock.expiresAtMs}` : 'no lock'})`, { reason: 'LeaseLost' });
    }
    if (record.fencingToken !== proof.fencingToken) {
      throw new DriverError('Conflict', 'engine', 'assertLease', `fencing token ${proof.fencingToken} is stale (current ${record.fencingToken})`, { reason: 'StaleFencingToken' });
    }
    return record;
  }
}
