// Why: the failover tasks that act on this operator's own cluster (network, Flux, CronJobs, workloads, volumes,
// fencing). Every write is a fenced write carrying the failover's token; every wait is driven by watch events;
// independent resources are worked on concurrently with a bound (policy.concurrencyMax).
import { Kinds, type KubeObject, type ObjectRef } from '../../../drivers/cluster/cluster.port.ts';
import { DriverError } from '../../../drivers/errors.ts';
import type { JsonObject } from '../../../drivers/json.ts';
import type { StepInput } from '../../../machines/failover/failover.types.ts';
import { EngineAnnotations, NETWORK_FENCE_MESSAGES, NETWORK_FENCE_SUCCEEDED } from '../annotations.ts';
import { fencedEnsure, fencedPatch } from '../fenced-write.ts';
import { mapLimit } from '../limit.ts';
import { volumeViewOf, vrRef } from '../replication.ts';
import { ResourceOps, scalableOf, volumeNamesOf, type OpsOptions, type Scalable } from '../resource-ops.ts';
import { waitFor } from '../watch-wait.ts';
import { DEFAULT_FENCE_DRIVER, type FailoverWiring, type StepCtx } from './deps.ts';
import { rememberedReplicas, rememberReplicas } from './remembered.ts';

/** The name of the NetworkFence the target creates to cut the source's clients off the storage. */
export function fenceNameOf(request: StepInput['request']): string {
  return fenceNameFor(request.sourceCluster);
}

/** The name of the NetworkFence against a cluster (one per fenced cluster, whatever group fenced it). */
export function fenceNameFor(fencedCluster: string): string {
  return `failover-engine-fence-${fencedCluster}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 253);
}

export function clusterSteps(w: FailoverWiring) {
  const { deps } = w;
  const port = deps.clusterPort;
  const clock = deps.clock;
  const limit = (input: StepInput) => input.policy.concurrencyMax;
  const modeOf = (input: StepInput) => (input.request.mode === 'CONSISTENCY' && input.request.type === 'planned' ? 'safe' : 'fast');

  const ops = new ResourceOps(port, clock, deps.cronJobKind);
  const opsOf = (input: StepInput, ctx: StepCtx): OpsOptions => ({
    token: ctx.token,
    log: ctx.log,
    signal: ctx.signal,
    concurrencyMax: input.policy.concurrencyMax,
    waitTimeoutMs: input.policy.waitTimeoutMs,
    attemptMax: input.policy.attemptMax,
    backoffBaseMs: input.policy.backoffBaseMs,
    backoffMaxMs: input.policy.backoffMaxMs,
  });
  const setNetwork = (enabled: boolean) => (input: StepInput, ctx: StepCtx) => ops.setNetwork(input.request.group, enabled, opsOf(input, ctx));
  const setFlux = (paused: boolean) => (input: StepInput, ctx: StepCtx) => ops.setFlux(input.request.group, paused, opsOf(input, ctx));
  const setCronJobs = (suspend: boolean) => (input: StepInput, ctx: StepCtx) => ops.setCronJobs(input.request.group, suspend, opsOf(input, ctx));

  const scaleDown = async (input: StepInput, ctx: StepCtx, wait: boolean) => {
    const remember = input.params.remember !== false;
    const counts = remember ? await rememberReplicas(w, input, ctx) : undefined;
    const annotationsOf = counts ? (x: Scalable) => ({ [EngineAnnotations.originalReplicas]: String(counts.get(`${x.kind}/${x.name}`) ?? 0) }) : undefined;
    const sizeOf = counts ? (x: Scalable) => counts.get(`${x.kind}/${x.name}`) ?? 0 : undefined;
    await ops.scaleDown(input.request.group, wait, opsOf(input, ctx), annotationsOf, sizeOf);
  };

  const scaleUp = async (input: StepInput, ctx: StepCtx, waitAll: boolean) => {
    const g = input.request.group;
    const items = scalableOf(g);
    const counts = await rememberedReplicas(w, input, ctx, items);
    const replicasOf = (x: Scalable) => counts.get(`${x.kind}/${x.name}`) ?? 0;
    // StatefulSets first, and ready before the Deployments that use them start (the reference's guidance).
    await ops.runWorkloads(g, items.filter((x) => x.kind === 'StatefulSet'), replicasOf, true, opsOf(input, ctx));
    await ops.runWorkloads(g, items.filter((x) => x.kind === 'Deployment'), replicasOf, waitAll, opsOf(input, ctx));
  };

  const requestVolumes = (state: 'primary' | 'secondary') => (input: StepInput, ctx: StepCtx) =>
    ops.requestVolumes(input.request.group, state, state === 'primary' && input.params.force === true, opsOf(input, ctx));
  const waitVolumes = (desired: 'primary' | 'secondary') => (input: StepInput, ctx: StepCtx) =>
    ops.waitVolumes(input.request.group, desired, modeOf(input), input.params.force === true, opsOf(input, ctx));

  /**
   * Every VolumeReplication Primary and its PersistentVolumeClaim Bound. A group with more volumes than
   * concurrencyMax reads both kinds with one list each (two requests, one consistent snapshot each) instead of two
   * gets per volume queued behind the bound.
   */
  const verifyData = async (input: StepInput, ctx: StepCtx) => {
    const g = input.request.group;
    const names = volumeNamesOf(g);
    const opts = { log: ctx.log, signal: ctx.signal };
    let vrOf = (name: string) => port.get(vrRef(g.namespace, name), opts);
    let pvcOf = (name: string) => port.get({ ...Kinds.PersistentVolumeClaim, namespace: g.namespace, name }, opts);
    if (names.length > limit(input)) {
      const [vrs, pvcs] = await Promise.all([port.list(Kinds.VolumeReplication, { namespace: g.namespace, ...opts }), port.list(Kinds.PersistentVolumeClaim, { namespace: g.namespace, ...opts })]);
      const byName = (items: KubeObject[]) => new Map(items.map((o) => [o.metadata.name, o]));
      const vrMap = byName(vrs.items);
      const pvcMap = byName(pvcs.items);
      vrOf = async (name) => vrMap.get(name);
      pvcOf = async (name) => pvcMap.get(name);
    }
    await mapLimit(names, limit(input), async (name) => {
      const vr = await vrOf(name);
      const v = volumeViewOf(vr, clock.now());
      if (!v.exists) throw new DriverError('NotFound', 'kubernetes', 'verifyDataAvailability', `VolumeReplication ${g.namespace}/${name} is missing on ${port.cluster}`, { reason: 'NotFound' });
      if (v.state !== 'Primary') throw new DriverError('Transient', 'engine', 'verifyDataAvailability', `VolumeReplication ${g.namespace}/${name} is ${v.state ?? 'Unknown'}, not Primary`, { reason: 'NotReady' });
      const ds = vr?.spec?.dataSource;
      const pvcName = ds && typeof ds === 'object' && !Array.isArray(ds) && typeof ds.name === 'string' ? ds.name : name;
      const pvc = await pvcOf(pvcName);
      if (!pvc) throw new DriverError('NotFound', 'kubernetes', 'verifyDataAvailability', `PersistentVolumeClaim ${g.namespace}/${pvcName} (data of VolumeReplication ${name}) is missing on ${port.cluster}`, { reason: 'NotFound' });
      const phase = pvc.status?.phase;
      if (phase !== undefined && phase !== 'Bound') throw new DriverError('Transient', 'engine', 'verifyDataAvailability', `PersistentVolumeClaim ${g.namespace}/${pvcName} is ${String(phase)}, not Bound`, { reason: 'NotReady' });
    });
  };

  const waitReady = async (input: StepInput, ctx: StepCtx) => {
    const g = input.request.group;
    const items = scalableOf(g);
    const counts = await rememberedReplicas(w, input, ctx, items);
    await ops.runWorkloads(g, items, (x) => counts.get(`${x.kind}/${x.name}`) ?? 0, true, opsOf(input, ctx));
    await ops.waitFluxReady(g, opsOf(input, ctx));
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

