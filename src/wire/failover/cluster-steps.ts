// Why: the failover tasks that act on this operator's own cluster (network, Flux, CronJobs, workloads, volumes,
// fencing). Every write is a fenced write carrying the failover's token; every wait is driven by watch events;
// independent resources are worked on concurrently with a bound (policy.concurrencyMax).
import { Kinds, type ObjectRef } from '../../../drivers/cluster/cluster.port.ts';
import { DriverError, isDriverError } from '../../../drivers/errors.ts';
import type { JsonObject } from '../../../drivers/json.ts';
import type { StepInput } from '../../../machines/failover/failover.types.ts';
import type { FailoverGroupSpec, WorkloadSpec } from '../../../machines/failover/group.types.ts';
import type { ReplicationOutput } from '../../../machines/replication/replication.types.ts';
import type { WorkloadOutput } from '../../../machines/workload/workload.machine.ts';
import { EngineAnnotations, EXTERNAL_DNS_ACTIVE, EXTERNAL_DNS_IGNORE, NETWORK_FENCE_MESSAGES, NETWORK_FENCE_SUCCEEDED } from '../annotations.ts';
import { runToCompletion } from '../children.ts';
import { fencedEnsure, fencedPatch } from '../fenced-write.ts';
import { mapLimit } from '../limit.ts';
import { volumeViewOf, vrRef, wireReplication } from '../replication.ts';
import { waitFor } from '../watch-wait.ts';
import { wireWorkload } from '../workload.ts';
import { DEFAULT_FENCE_DRIVER, StepFailureError, type FailoverWiring, type StepCtx } from './deps.ts';
import { rememberedReplicas, rememberReplicas } from './remembered.ts';

type Scalable = WorkloadSpec & { kind: 'Deployment' | 'StatefulSet' };

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
function annotationsPatch(current: Record<string, string> | undefined, want: Record<string, string | null>): JsonObject | undefined {
  const changed = Object.entries(want).some(([k, v]) => (v === null ? current?.[k] !== undefined : current?.[k] !== v));
  return changed ? { metadata: { annotations: want } } : undefined;
}

/** The name of the NetworkFence the target creates to cut the source's clients off the storage. */
export function fenceNameOf(request: StepInput['request']): string {
  return `failover-engine-fence-${request.sourceCluster}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 253);
}

export function clusterSteps(w: FailoverWiring) {
  const { deps } = w;
  const port = deps.clusterPort;
  const clock = deps.clock;
  const limit = (input: StepInput) => input.policy.concurrencyMax;
  const modeOf = (input: StepInput) => (input.request.mode === 'CONSISTENCY' && input.request.type === 'planned' ? 'safe' : 'fast');

  const setNetwork = (enabled: boolean) => async (input: StepInput, ctx: StepCtx) => {
    const g = input.request.group;
    const want: Record<string, string | null> = enabled
      ? { [EngineAnnotations.externalDnsController]: EXTERNAL_DNS_ACTIVE, [EngineAnnotations.dnsDisabled]: null }
      : { [EngineAnnotations.externalDnsController]: EXTERNAL_DNS_IGNORE, [EngineAnnotations.dnsDisabled]: 'true' };
    await mapLimit(g.networkResources, limit(input), (n) => fencedPatch(port, networkRef(g, n), (cur) => annotationsPatch(cur.metadata.annotations, want), ctx));
  };

  const setFlux = (paused: boolean) => async (input: StepInput, ctx: StepCtx) => {
    const g = input.request.group;
    const requestedAt = new Date(clock.now()).toISOString();
    await mapLimit(g.fluxResources, limit(input), (f) =>
      fencedPatch(
        port,
        fluxRef(g, f),
        (cur) => {
          if (paused) return annotationsPatch(cur.metadata.annotations, { [EngineAnnotations.fluxIgnore]: 'true' });
          const wasPaused = cur.metadata.annotations?.[EngineAnnotations.fluxIgnore] !== undefined;
          const want: Record<string, string | null> = { [EngineAnnotations.fluxIgnore]: null };
          // A reconcile is requested once per resume (a re-run after restore while already resumed asks nothing new).
          if (f.triggerReconcile && (wasPaused || cur.metadata.annotations?.[EngineAnnotations.fluxRequestedAt] === undefined)) want[EngineAnnotations.fluxRequestedAt] = requestedAt;
          return annotationsPatch(cur.metadata.annotations, want);
        },
        ctx,
      ),
    );
  };

  const setCronJobs = (suspend: boolean) => async (input: StepInput, ctx: StepCtx) => {
    const g = input.request.group;
    const cronJobs = g.workloads.filter((x) => x.kind === 'CronJob');
    await mapLimit(cronJobs, limit(input), (c) =>
      fencedPatch(port, { ...Kinds.CronJob, namespace: g.namespace, name: c.name }, (cur) => (cur.spec?.suspend === suspend ? undefined : { spec: { suspend } }), ctx),
    );
  };

  /** Runs the workload chart for each workload of one kind, concurrently; throws the first failure. */
  const runWorkloads = async (
    input: StepInput,
    ctx: StepCtx,
    items: Scalable[],
    replicasOf: (x: Scalable) => number,
    wait: boolean,
    annotationsOf?: (x: Scalable) => Record<string, string>,
  ) => {
    const deadlineMs = clock.now() + input.policy.waitTimeoutMs;
    await mapLimit(items, limit(input), async (x) => {
      const replicas = replicasOf(x);
      const logic = wireWorkload({
        port,
        clock,
        token: ctx.token,
        log: ctx.log,
        annotations: annotationsOf?.(x),
      });
      const out: WorkloadOutput = await runToCompletion(
        logic,
        {
          kind: x.kind,
          namespace: input.request.group.namespace,
          name: x.name,
          replicas,
          wait: wait ? 'converged' : 'none',
          deadlineMs,
          attemptMax: input.policy.attemptMax,
          backoffBaseMs: input.policy.backoffBaseMs,
          backoffMaxMs: input.policy.backoffMaxMs,
        },
        ctx.signal,
      );
      if (out.outcome !== 'done') throw childFailure(out.error, `${x.kind} ${input.request.group.namespace}/${x.name} did not reach ${replicas} replicas`, clock.now());
    });
  };

  const scaleDown = async (input: StepInput, ctx: StepCtx, wait: boolean) => {
    const g = input.request.group;
    const items = scalableOf(g);
    const remember = input.params.remember !== false;
    const counts = remember ? await rememberReplicas(w, input, ctx) : undefined;
    const annotationsOf = counts ? (x: Scalable) => ({ [EngineAnnotations.originalReplicas]: String(counts.get(`${x.kind}/${x.name}`) ?? 0) }) : undefined;
    // Deployments (the application tier) stop before StatefulSets (the data tier).
    await runWorkloads(input, ctx, items.filter((x) => x.kind === 'Deployment'), () => 0, wait, annotationsOf);
    await runWorkloads(input, ctx, items.filter((x) => x.kind === 'StatefulSet'), () => 0, wait, annotationsOf);
  };

  const scaleUp = async (input: StepInput, ctx: StepCtx, waitAll: boolean) => {
    const g = input.request.group;
    const items = scalableOf(g);
    const counts = await rememberedReplicas(w, input, ctx, items);
    const replicasOf = (x: Scalable) => counts.get(`${x.kind}/${x.name}`) ?? 0;
    // StatefulSets first, and ready before the Deployments that use them start (the reference's guidance).
    await runWorkloads(input, ctx, items.filter((x) => x.kind === 'StatefulSet'), replicasOf, true);
    await runWorkloads(input, ctx, items.filter((x) => x.kind === 'Deployment'), replicasOf, waitAll);
  };

  const requestVolumes = (state: 'primary' | 'secondary') => async (input: StepInput, ctx: StepCtx) => {
    const g = input.request.group;
    const force = state === 'primary' && input.params.force === true;
    await mapLimit(volumeNamesOf(g), limit(input), (name) =>
      fencedPatch(
        port,
        vrRef(g.namespace, name),
        (cur) => {
          const wantForce = force ? 'true' : undefined;
          const haveForce = cur.metadata.annotations?.[EngineAnnotations.forcePromote];
          // Promotion only from secondary or primary (PARITY.md §2.1): a resyncing volume is asked once it settles (the wait step).
          if (state === 'primary' && cur.status?.state === 'Resyncing' && !force) return undefined;
          if (cur.spec?.replicationState === state && haveForce === wantForce) return undefined;
          return { spec: { replicationState: state }, metadata: { annotations: { [EngineAnnotations.forcePromote]: wantForce ?? null } } };
        },
        ctx,
      ),
    );
  };

  const waitVolumes = (desired: 'primary' | 'secondary') => async (input: StepInput, ctx: StepCtx) => {
    const g = input.request.group;
    const deadlineMs = clock.now() + input.policy.waitTimeoutMs;
    const logic = wireReplication({ port, clock, token: ctx.token, log: ctx.log });
    await mapLimit(volumeNamesOf(g), limit(input), async (name) => {
      const out: ReplicationOutput = await runToCompletion(
        logic,
        {
          namespace: g.namespace,
          name,
          desired,
          mode: modeOf(input),
          force: desired === 'primary' && input.params.force === true,
          deadlineMs,
          attemptMax: input.policy.attemptMax,
          backoffBaseMs: input.policy.backoffBaseMs,
          backoffMaxMs: input.policy.backoffMaxMs,
        },
        ctx.signal,
      );
      if (out.outcome !== 'done') throw childFailure(out.error, `VolumeReplication ${g.namespace}/${name} did not become ${desired}`, clock.now());
    });
  };

  const verifyData = async (input: StepInput, ctx: StepCtx) => {
    const g = input.request.group;
    await mapLimit(volumeNamesOf(g), limit(input), async (name) => {
      const vr = await port.get(vrRef(g.namespace, name), { log: ctx.log, signal: ctx.signal });
      const v = volumeViewOf(vr, clock.now());
      if (!v.exists) throw new DriverError('NotFound', 'kubernetes', 'verifyDataAvailability', `VolumeReplication ${g.namespace}/${name} is missing on ${port.cluster}`, { reason: 'NotFound' });
      if (v.state !== 'Primary') throw new DriverError('Transient', 'engine', 'verifyDataAvailability', `VolumeReplication ${g.namespace}/${name} is ${v.state ?? 'Unknown'}, not Primary`, { reason: 'NotReady' });
      const ds = vr?.spec?.dataSource;
      const pvcName = ds && typeof ds === 'object' && !Array.isArray(ds) && typeof ds.name === 'string' ? ds.name : name;
      const pvc = await port.get({ ...Kinds.PersistentVolumeClaim, namespace: g.namespace, name: pvcName }, { log: ctx.log, signal: ctx.signal });
      if (!pvc) throw new DriverError('NotFound', 'kubernetes', 'verifyDataAvailability', `PersistentVolumeClaim ${g.namespace}/${pvcName} (data of VolumeReplication ${name}) is missing on ${port.cluster}`, { reason: 'NotFound' });
      const phase = pvc.status?.phase;
      if (phase !== undefined && phase !== 'Bound') throw new DriverError('Transient', 'engine', 'verifyDataAvailability', `PersistentVolumeClaim ${g.namespace}/${pvcName} is ${String(phase)}, not Bound`, { reason: 'NotReady' });
    });
  };

  const waitReady = async (input: StepInput, ctx: StepCtx) => {
    const g = input.request.group;
    const items = scalableOf(g);
    const counts = await rememberedReplicas(w, input, ctx, items);
    await runWorkloads(input, ctx, items, (x) => counts.get(`${x.kind}/${x.name}`) ?? 0, true);
    const deadlineMs = clock.now() + input.policy.waitTimeoutMs;
    await mapLimit(
      g.fluxResources.filter((f) => f.triggerReconcile),
      limit(input),
      (f) =>
        waitFor(
          port,
          Kinds[f.kind],
          { namespace: g.namespace, name: f.name },
          (objects) => {
            const o = objects.get(f.name);
            if (!o) return undefined;
            const conds = Array.isArray(o.status?.conditions) ? (o.status.conditions as JsonObject[]) : [];
            const ready = conds.some((c) => c.type === 'Ready' && c.status === 'True');
            const requested = o.metadata.annotations?.[EngineAnnotations.fluxRequestedAt];
            return ready && (requested === undefined || o.status?.lastHandledReconcileAt === requested) ? true : undefined;
          },
          { clock, timeoutMs: Math.max(0, deadlineMs - clock.now()), signal: ctx.signal, log: ctx.log, what: `${f.kind} ${g.namespace}/${f.name} reconciled and Ready` },
        ),
    );
  };

  const setFence = (fenceState: 'Fenced' | 'Unfenced') => async (input: StepInput, ctx: StepCtx) => {
    const name = fenceNameOf(input.request);
    const ref: ObjectRef = { ...Kinds.NetworkFence, name };
    if (fenceState === 'Unfenced') {
      const existing = await port.get(ref, { log: ctx.log, signal: ctx.signal });
      if (!existing) return;
      await fencedPatch(port, ref, (cur) => (cur.spec?.fenceState === 'Unfenced' ? undefined : { spec: { fenceState: 'Unfenced' } }), ctx);
    } else {
      const f = deps.fencing;
      if (!f) {
        throw new DriverError('Invalid', 'engine', 'fenceSource', `Cannot fence ${input.request.sourceCluster}: the operator on ${deps.cluster} has no fencing configuration (FailoverDeps.fencing: the source's node CIDRs and the CSI driver)`, {
          reason: 'ValidationFailed',
        });
      }
      const cidrs = f.cidrsOf(input.request.sourceCluster);
      if (cidrs.length === 0) throw new DriverError('Invalid', 'engine', 'fenceSource', `Cannot fence ${input.request.sourceCluster}: no node CIDRs are configured for it`, { reason: 'ValidationFailed' });
      const spec: JsonObject = { driver: f.driver || DEFAULT_FENCE_DRIVER, cidrs, fenceState: 'Fenced' };
      if (f.secret) spec.secret = { ...f.secret };
      if (f.parameters) spec.parameters = { ...f.parameters };
      await fencedEnsure(port, { apiVersion: 'csiaddons.openshift.io/v1alpha1', kind: 'NetworkFence', metadata: { name, labels: { 'failover-engine.io/failover': input.request.failoverId.slice(0, 63) } }, spec }, ctx);
    }
    await waitFor(
      port,
      Kinds.NetworkFence,
      { name },
      (objects) => {
        const o = objects.get(name);
        if (!o) return fenceState === 'Unfenced' ? true : undefined;
        return o.status?.result === NETWORK_FENCE_SUCCEEDED && o.status?.message === NETWORK_FENCE_MESSAGES[fenceState] ? true : undefined;
      },
      { clock, timeoutMs: input.policy.waitTimeoutMs, signal: ctx.signal, log: ctx.log, what: `NetworkFence ${name} ${fenceState}` },
    );
  };

  return {
    disableNetwork: w.step('disableNetwork', setNetwork(false), { guarded: true }),
    enableNetwork: w.step('enableNetwork', setNetwork(true), { guarded: true }),
    disableFlux: w.step('disableFlux', setFlux(true), { guarded: true }),
    resumeFlux: w.step('resumeFlux', setFlux(false), { guarded: true }),
    suspendCronJobs: w.step('suspendCronJobs', setCronJobs(true), { guarded: true }),
    resumeCronJobs: w.step('resumeCronJobs', setCronJobs(false), { guarded: true }),
    scaleDownWorkloads: w.step('scaleDownWorkloads', (input, ctx) => scaleDown(input, ctx, false), { guarded: true }),
    waitForWorkloadsScaledDown: w.step('waitForWorkloadsScaledDown', (input, ctx) => scaleDown({ ...input, params: { ...input.params, remember: false } }, ctx, true), { guarded: true }),
    scaleUpWorkloads: w.step('scaleUpWorkloads', (input, ctx) => scaleUp(input, ctx, input.params.waitReady === true), { guarded: true }),
    waitForWorkloadsReady: w.step('waitForWorkloadsReady', waitReady, { guarded: true }),
    demoteVolumes: w.step('demoteVolumes', requestVolumes('secondary'), { guarded: true }),
    promoteVolumes: w.step('promoteVolumes', requestVolumes('primary'), { guarded: true }),
    waitForVolumesDemoted: w.step('waitForVolumesDemoted', waitVolumes('secondary'), { guarded: true }),
    waitForVolumesPromoted: w.step('waitForVolumesPromoted', waitVolumes('primary'), { guarded: true }),
    verifyDataAvailability: w.step('verifyDataAvailability', verifyData),
    fenceSource: w.step('fenceSource', setFence('Fenced'), { guarded: true }),
    unfenceSource: w.step('unfenceSource', setFence('Unfenced'), { guarded: true }),
  };
}

/** A child chart's failure as the parent's step failure (its StepError kept, so retry guards read it). */
function childFailure(error: ReplicationOutput['error'], fallback: string, atMs: number): Error {
  if (!error) return new StepFailureError({ kind: 'Transient', driver: 'engine', op: 'child', message: fallback, reason: 'Timeout' }, atMs);
  return new StepFailureError({ kind: error.kind, driver: error.driver, op: error.op, message: `${fallback}: ${error.message}`, reason: error.reason, code: error.code }, atMs);
}

export { isDriverError };
