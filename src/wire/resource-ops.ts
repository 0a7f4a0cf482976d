// Why: the operations on one cluster's resources of a failover group (traffic, Flux, CronJobs, workloads,
// volumes), shared by the failover steps and the rejoin chart. Every write is fenced with the caller's token,
// every wait is driven by watch events, and independent resources run concurrently up to `concurrencyMax`. A step
// that waits on a kind, or writes more objects of it than it may have writes in flight, opens one list+watch of
// the kind first and serves the read before each fenced write from it: only the writes queue for the bound.
import { getMaxListeners, setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { Kinds, type ClusterPort, type GVK, type ObjectRef } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import type { FailoverGroupSpec, WorkloadSpec } from '../../machines/failover/group.types.ts';
import type { ReplicationMode, ReplicationOutput } from '../../machines/replication/replication.types.ts';
import type { WorkloadOutput } from '../../machines/workload/workload.machine.ts';
import { EngineAnnotations, EXTERNAL_DNS_ACTIVE, EXTERNAL_DNS_IGNORE } from './annotations.ts';
import { runToCompletion } from './children.ts';
import { fencedPatch, type FencedWriteOptions } from './fenced-write.ts';
import { Limiter, mapLimit } from './limit.ts';
import { vrRef, wireReplication } from './replication.ts';
import { StepFailureError } from './failover/deps.ts';
import { SharedWaits } from './shared-waits.ts';
import { waitFor } from './watch-wait.ts';
import { wireWorkload } from './workload.ts';

export type Scalable = WorkloadSpec & { kind: 'Deployment' | 'StatefulSet' };

export interface OpsOptions {
  token: number;
  log: Logger;
  signal: AbortSignal;
  concurrencyMax: number;
  /** Bound on each wait. */
  waitTimeoutMs: number;
  attemptMax: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** The step's shared list+watch per kind (one is made per call when absent; the caller closes its own). */
  waits?: SharedWaits;
}

/** Abort listeners one resource's child chart may hold on the step's signal at once (its own, a queued slot, a wait). */
const LISTENERS_PER_CHILD = 4;

/** Lets `n` children listen on the step's signal at once without Node's leak warning (the bound is known). */
function allowListeners(signal: AbortSignal, n: number): void {
  const want = LISTENERS_PER_CHILD * n + 16;
  if (getMaxListeners(signal) < want) setMaxListeners(want, signal);
}

/** Runs `fn` with the options' shared waits, or with fresh ones closed when it ends. */
async function withWaits<R>(port: ClusterPort, clock: ClockPort, o: OpsOptions, fn: (o: OpsOptions & { waits: SharedWaits }) => Promise<R>): Promise<R> {
  if (o.waits) return fn({ ...o, waits: o.waits });
  const waits = new SharedWaits(port, clock, o.log);
  try {
    return await fn({ ...o, waits });
  } finally {
    waits.close();
  }
}

/** Whether the step reads the objects it writes from one list+watch of their kind (see the header). */
function cachesWrites(o: OpsOptions, count: number, waits: boolean): boolean {
  return waits || count > o.concurrencyMax;
}

export function scalableOf(group: FailoverGroupSpec): Scalable[] {
  return group.workloads.filter((w): w is Scalable => w.kind === 'Deployment' || w.kind === 'StatefulSet');
}
export function volumeNamesOf(group: FailoverGroupSpec): string[] {
  return [...new Set(group.workloads.flatMap((w) => w.volumeReplications))].sort();
}
function networkRef(group: FailoverGroupSpec, n: FailoverGroupSpec['networkResources'][number]): ObjectRef {
  return { ...Kinds[n.kind], namespace: group.namespace, name: n.name };
}
function fluxRef(group: FailoverGroupSpec, f: FailoverGroupSpec['fluxResources'][number]): ObjectRef {
  return { ...Kinds[f.kind], namespace: group.namespace, name: f.name };
}
/** A merge patch setting these annotations (null removes), or undefined when they already hold. */
export function annotationsPatch(current: Record<string, string> | undefined, want: Record<string, string | null>): JsonObject | undefined {
  const changed = Object.entries(want).some(([k, v]) => (v === null ? current?.[k] !== undefined : current?.[k] !== v));
  return changed ? { metadata: { annotations: want } } : undefined;
}

/** A child chart's failure as the parent's step failure (its StepError kept, so retry guards read it). */
export function childFailure(error: ReplicationOutput['error'], fallback: string, atMs: number): Error {
  if (!error) return new StepFailureError({ kind: 'Transient', driver: 'engine', op: 'child', message: fallback, reason: 'Timeout' }, atMs);
  return new StepFailureError({ kind: error.kind, driver: error.driver, op: error.op, message: `${fallback}: ${error.message}`, reason: error.reason, code: error.code }, atMs);
}

export class ResourceOps {
  constructor(
    readonly port: ClusterPort,
    readonly clock: ClockPort,
    /** The version this cluster serves CronJob at (discovery: batch/v1, or batch/v1beta1 before Kubernetes 1.21). */
    readonly cronJobKind: GVK = Kinds.CronJob,
  ) {}

  /** Traffic on (external-dns publishes, dns-disabled removed) or off (external-dns ignores, dns-disabled "true"). */
  async setNetwork(group: FailoverGroupSpec, enabled: boolean, o: OpsOptions): Promise<void> {
    const want: Record<string, string | null> = enabled
      ? { [EngineAnnotations.externalDnsController]: EXTERNAL_DNS_ACTIVE, [EngineAnnotations.dnsDisabled]: null }
      : { [EngineAnnotations.externalDnsController]: EXTERNAL_DNS_IGNORE, [EngineAnnotations.dnsDisabled]: 'true' };
    await mapLimit(group.networkResources, o.concurrencyMax, (n) => fencedPatch(this.port, networkRef(group, n), (cur) => annotationsPatch(cur.metadata.annotations, want), o));
  }

  /** Flux paused (`fluxcd.io/ignore: "true"`) or resumed, with a reconcile request where the group asks for one. */
  async setFlux(group: FailoverGroupSpec, paused: boolean, o: OpsOptions): Promise<void> {
    const requestedAt = new Date(Math.floor(this.clock.now())).toISOString();
    await mapLimit(group.fluxResources, o.concurrencyMax, (f) =>
      fencedPatch(
        this.port,
        fluxRef(group, f),
        (cur) => {
          if (paused) return annotationsPatch(cur.metadata.annotations, { [EngineAnnotations.fluxIgnore]: 'true' });
          const wasPaused = cur.metadata.annotations?.[EngineAnnotations.fluxIgnore] !== undefined;
          const want: Record<string, string | null> = { [EngineAnnotations.fluxIgnore]: null };
          // One reconcile request per resume: a re-run after restore, already resumed, asks nothing new.
          if (f.triggerReconcile && (wasPaused || cur.metadata.annotations?.[EngineAnnotations.fluxRequestedAt] === undefined)) want[EngineAnnotations.fluxRequestedAt] = requestedAt;
          return annotationsPatch(cur.metadata.annotations, want);
        },
        o,
      ),
    );
  }

  async setCronJobs(group: FailoverGroupSpec, suspend: boolean, o: OpsOptions): Promise<void> {
    const cronJobs = group.workloads.filter((x) => x.kind === 'CronJob');
    const write = (cached?: FencedWriteOptions['cached']) =>
      mapLimit(cronJobs, o.concurrencyMax, (c) =>
        fencedPatch(this.port, { ...this.cronJobKind, namespace: group.namespace, name: c.name }, (cur) => (cur.spec?.suspend === suspend ? undefined : { spec: { suspend } }), { ...o, cached }),
      );
    if (!cachesWrites(o, cronJobs.length, false)) return void (await write());
    await withWaits(this.port, this.clock, o, async (ow) => {
      ow.waits.open(this.cronJobKind, group.namespace);
      await write(ow.waits.cachedRef);
    });
  }

  /**
   * Runs the workload chart for each workload, all at once: the scale writes share `concurrencyMax` slots, the
   * waits (watch-driven, served by one shared list+watch per kind) hold none. Throws the first failure after all
   * settled. StatefulSets with more pods (`sizeOf`, default the target replicas) are written first: their pods
   * start or stop one at a time, so theirs are the longest chains, and the writes queued behind the bound then
   * finish in their shadow (longest first).
   */
  async runWorkloads(
    group: FailoverGroupSpec,
    items: readonly Scalable[],
    replicasOf: (x: Scalable) => number,
    wait: boolean,
    o: OpsOptions,
    annotationsOf?: (x: Scalable) => Record<string, string>,
    sizeOf?: (x: Scalable) => number,
  ): Promise<void> {
    if (items.length === 0) return;
    const chainOf = (x: Scalable) => (x.kind === 'StatefulSet' ? (sizeOf ?? replicasOf)(x) : 0);
    const ordered = [...items].sort((a, b) => chainOf(b) - chainOf(a));
    const deadlineMs = this.clock.now() + o.waitTimeoutMs;
    const writes = new Limiter(o.concurrencyMax);
    allowListeners(o.signal, items.length);
    await withWaits(this.port, this.clock, o, (ow) => {
      if (cachesWrites(o, items.length, wait)) for (const kind of new Set(items.map((x) => x.kind))) ow.waits.open(Kinds[kind], group.namespace);
      return mapLimit(ordered, ordered.length, async (x) => {
        const replicas = replicasOf(x);
        const logic = wireWorkload({ port: this.port, clock: this.clock, token: o.token, log: o.log, annotations: annotationsOf?.(x), writes, waits: ow.waits });
        const out: WorkloadOutput = await runToCompletion(
          logic,
          { kind: x.kind, namespace: group.namespace, name: x.name, replicas, wait: wait ? 'converged' : 'none', deadlineMs, attemptMax: o.attemptMax, backoffBaseMs: o.backoffBaseMs, backoffMaxMs: o.backoffMaxMs },
          o.signal,
        );
        if (out.outcome !== 'done') throw childFailure(out.error, `${x.kind} ${group.namespace}/${x.name} did not reach ${replicas} replicas`, this.clock.now());
      });
    });
  }

  /**
   * Scales every workload to 0: Deployments (the application tier) before StatefulSets (the data tier).
   * `sizeOf` (the replicas running now, when known) orders the StatefulSets, longest chain first.
   */
  async scaleDown(group: FailoverGroupSpec, wait: boolean, o: OpsOptions, annotationsOf?: (x: Scalable) => Record<string, string>, sizeOf?: (x: Scalable) => number): Promise<void> {
    const items = scalableOf(group);
    await withWaits(this.port, this.clock, o, async (ow) => {
      await this.runWorkloads(group, items.filter((x) => x.kind === 'Deployment'), () => 0, wait, ow, annotationsOf);
      await this.runWorkloads(group, items.filter((x) => x.kind === 'StatefulSet'), () => 0, wait, ow, annotationsOf, sizeOf);
    });
  }

  /** Asks every VolumeReplication for a state (forced promotion when `force`): fenced writes, no waiting. */
  async requestVolumes(group: FailoverGroupSpec, state: 'primary' | 'secondary', force: boolean, o: OpsOptions): Promise<void> {
    const names = volumeNamesOf(group);
    const write = (cached?: FencedWriteOptions['cached']) =>
      mapLimit(names, o.concurrencyMax, (name) =>
        fencedPatch(
          this.port,
          vrRef(group.namespace, name),
          (cur) => {
            const wantForce = state === 'primary' && force ? 'true' : undefined;
            const haveForce = cur.metadata.annotations?.[EngineAnnotations.forcePromote];
            // Promotion only from secondary or primary (PARITY.md §2.1): a resyncing volume is asked once it settles (the wait step).
            if (state === 'primary' && cur.status?.state === 'Resyncing' && !force) return undefined;
            if (cur.spec?.replicationState === state && haveForce === wantForce) return undefined;
            return { spec: { replicationState: state }, metadata: { annotations: { [EngineAnnotations.forcePromote]: wantForce ?? null } } };
          },
          { ...o, cached },
        ),
      );
    if (!cachesWrites(o, names.length, false)) return void (await write());
    await withWaits(this.port, this.clock, o, async (ow) => {
      ow.waits.open(Kinds.VolumeReplication, group.namespace);
      await write(ow.waits.cachedRef);
    });
  }

  /**
   * Runs the replication chart for every VolumeReplication until it reached `desired`, all at once: reads and
   * writes share `concurrencyMax` slots, the waits (one shared list+watch) hold none. Throws the first failure.
   */
  async waitVolumes(group: FailoverGroupSpec, desired: 'primary' | 'secondary', mode: ReplicationMode, force: boolean, o: OpsOptions): Promise<void> {
    const names = volumeNamesOf(group);
    if (names.length === 0) return;
    const deadlineMs = this.clock.now() + o.waitTimeoutMs;
    allowListeners(o.signal, names.length);
    await withWaits(this.port, this.clock, o, async (ow) => {
      ow.waits.open(Kinds.VolumeReplication, group.namespace);
      const logic = wireReplication({ port: this.port, clock: this.clock, token: o.token, log: o.log, requests: new Limiter(o.concurrencyMax), waits: ow.waits });
      await mapLimit(names, names.length, async (name) => {
        const out: ReplicationOutput = await runToCompletion(
          logic,
          { namespace: group.namespace, name, desired, mode, force: desired === 'primary' && force, deadlineMs, attemptMax: o.attemptMax, backoffBaseMs: o.backoffBaseMs, backoffMaxMs: o.backoffMaxMs },
          o.signal,
        );
        if (out.outcome !== 'done') throw childFailure(out.error, `VolumeReplication ${group.namespace}/${name} did not become ${desired}`, this.clock.now());
      });
      if (desired === 'primary' && force) await this.dropForcePromote(group.namespace, names, { ...ow, cached: ow.waits.cachedRef });
    });
  }

  /**
   * Removes the force-promote annotation from promoted VolumeReplications: it asked for one promotion, and left in
   * place it would let any later promotion of the volume skip the csi-addons safety checks. Called only once every
   * volume reached Primary. Fenced writes like the others; idempotent (a volume without it is left alone).
   */
  private async dropForcePromote(namespace: string, names: string[], o: OpsOptions & { cached?: FencedWriteOptions['cached'] }): Promise<void> {
    await mapLimit(names, o.concurrencyMax, (name) =>
      fencedPatch(
        this.port,
        vrRef(namespace, name),
        (cur) => (cur.metadata.annotations?.[EngineAnnotations.forcePromote] !== undefined ? { metadata: { annotations: { [EngineAnnotations.forcePromote]: null } } } : undefined),
        o,
      ),
    );
  }

  /** Waits until every Flux object that was asked to reconcile has handled the request and is Ready. */
  async waitFluxReady(group: FailoverGroupSpec, o: OpsOptions): Promise<void> {
    const deadlineMs = this.clock.now() + o.waitTimeoutMs;
    await mapLimit(
      group.fluxResources.filter((f) => f.triggerReconcile),
      o.concurrencyMax,
      (f) =>
        waitFor(
          this.port,
          Kinds[f.kind],
          { namespace: group.namespace, name: f.name },
          (objects) => {
            const obj = objects.get(f.name);
            if (!obj) return undefined;
            const conds = Array.isArray(obj.status?.conditions) ? (obj.status.conditions as JsonObject[]) : [];
            const ready = conds.some((c) => c.type === 'Ready' && c.status === 'True');
            const requested = obj.metadata.annotations?.[EngineAnnotations.fluxRequestedAt];
            return ready && (requested === undefined || obj.status?.lastHandledReconcileAt === requested) ? true : undefined;
          },
          { clock: this.clock, timeoutMs: Math.max(0, deadlineMs - this.clock.now()), signal: o.signal, log: o.log, what: `${f.kind} ${group.namespace}/${f.name} reconciled and Ready` },
        ),
    );
  }
}
