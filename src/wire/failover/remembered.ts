// Why: "replica counts are restored from global state". The source records each workload's replica count in
// the group record's metadata (`originalReplicas`, the world's own key) BEFORE it scales anything down, once per
// failover (a re-run after restore keeps the first record), so the target and a rollback scale to the counts the
// application really ran with. The standby's `failover-engine.io/original-replicas` annotation is the fallback.
import { Kinds, type KubeObject } from '../../../drivers/cluster/cluster.port.ts';
import { DriverError } from '../../../drivers/errors.ts';
import type { JsonObject } from '../../../drivers/json.ts';
import type { StepInput } from '../../../machines/failover/failover.types.ts';
import type { WorkloadSpec } from '../../../machines/failover/group.types.ts';
import { EngineAnnotations } from '../annotations.ts';
import type { FailoverWiring, StepCtx } from './deps.ts';

export const REMEMBERED_REPLICAS_KEY = 'originalReplicas';
export const REMEMBERED_BY_KEY = 'originalReplicasFailoverId';

function scalables(input: StepInput): Array<WorkloadSpec & { kind: 'Deployment' | 'StatefulSet' }> {
  return input.request.group.workloads.filter((w): w is WorkloadSpec & { kind: 'Deployment' | 'StatefulSet' } => w.kind !== 'CronJob');
}

type ScalableKind = 'Deployment' | 'StatefulSet';

/**
 * The group's Deployments and StatefulSets on this cluster, by `Kind/name`: one list per kind in use (not one read
 * per workload: a 1,000-workload group costs two requests).
 */
async function workloadsOf(w: FailoverWiring, input: StepInput, ctx: StepCtx, kinds: ReadonlySet<ScalableKind>): Promise<Map<string, KubeObject>> {
  const out = new Map<string, KubeObject>();
  for (const kind of [...kinds].sort()) {
    const list = await w.deps.clusterPort.list(Kinds[kind], { namespace: input.request.group.namespace, log: ctx.log, signal: ctx.signal });
    for (const o of list.items) out.set(`${kind}/${o.metadata.name}`, o);
  }
  return out;
}

function countsOf(v: unknown): Map<string, number> {
  const out = new Map<string, number>();
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, n] of Object.entries(v as JsonObject)) if (typeof n === 'number' && Number.isInteger(n) && n >= 0) out.set(k, n);
  }
  return out;
}

/** Records the source's replica counts for this failover (once) and returns them. Needs the lease proof. */
export async function rememberReplicas(w: FailoverWiring, input: StepInput, ctx: StepCtx): Promise<Map<string, number>> {
  const gs = w.deps.globalState;
  const proof = input.proof;
  if (!proof) throw new DriverError('Conflict', 'engine', 'rememberReplicas', 'no lease proof to write global state with', { reason: 'LeaseLost' });
  const record = await gs.getGroup(input.request.groupId, { log: ctx.log, signal: ctx.signal });
  if (!record) throw new DriverError('Invalid', 'engine', 'rememberReplicas', `group ${input.request.groupId} does not exist in global state`, { reason: 'ValidationFailed' });
  const known = countsOf(record.metadata[REMEMBERED_REPLICAS_KEY]);
  if (record.metadata[REMEMBERED_BY_KEY] === input.request.failoverId && known.size) return known;
  const counts: JsonObject = {};
  const out = new Map<string, number>();
  const items = scalables(input);
  const objects = await workloadsOf(w, input, ctx, new Set(items.map((x) => x.kind)));
  for (const x of items) {
    const key = `${x.kind}/${x.name}`;
    const obj = objects.get(key);
    if (!obj) throw new DriverError('NotFound', 'kubernetes', 'rememberReplicas', `${x.kind} ${input.request.group.namespace}/${x.name} does not exist on ${w.deps.cluster}`, { reason: 'NotFound' });
    const spec = typeof obj.spec?.replicas === 'number' ? obj.spec.replicas : 1;
    const annotated = Number(obj.metadata.annotations?.[EngineAnnotations.originalReplicas]);
    const n = spec > 0 ? spec : (known.get(key) ?? (Number.isInteger(annotated) && annotated > 0 ? annotated : 0));
    counts[key] = n;
    out.set(key, n);
  }
  await gs.patchMetadata(input.request.groupId, proof, { [REMEMBERED_REPLICAS_KEY]: counts, [REMEMBERED_BY_KEY]: input.request.failoverId }, { log: ctx.log, signal: ctx.signal });
  ctx.log.info({ replicas: counts }, 'Remembered replica counts');
  return out;
}

/** The replica counts to activate with: global state first, then the workload's own annotation. */
export async function rememberedReplicas(w: FailoverWiring, input: StepInput, ctx: StepCtx, items: readonly WorkloadSpec[]): Promise<Map<string, number>> {
  const record = await w.deps.globalState.getGroup(input.request.groupId, { log: ctx.log, signal: ctx.signal });
  const known = countsOf(record?.metadata[REMEMBERED_REPLICAS_KEY]);
  const out = new Map<string, number>();
  // The annotation fallback reads the workloads global state does not know, one list per kind (only when needed).
  const unknownKinds = new Set(items.filter((x): x is WorkloadSpec & { kind: ScalableKind } => x.kind !== 'CronJob' && !known.has(`${x.kind}/${x.name}`)).map((x) => x.kind));
  const objects = unknownKinds.size ? await workloadsOf(w, input, ctx, unknownKinds) : new Map<string, KubeObject>();
  for (const x of items) {
    if (x.kind === 'CronJob') continue;
    const key = `${x.kind}/${x.name}`;
    let n = known.get(key);
    if (n === undefined) {
      const obj = objects.get(key);
      const annotated = Number(obj?.metadata.annotations?.[EngineAnnotations.originalReplicas]);
      if (Number.isInteger(annotated) && annotated >= 0) n = annotated;
    }
    if (n === undefined) {
      throw new DriverError(
        'Invalid',
        'engine',
        'rememberedReplicas',
        `No remembered replica count for ${key}: neither global state metadata.${REMEMBERED_REPLICAS_KEY} nor annotation ${EngineAnnotations.originalReplicas} on ${w.deps.cluster} has it; set the annotation on the workload`,
        { reason: 'ValidationFailed' },
      );
    }
    out.set(key, n);
  }
  return out;
}
