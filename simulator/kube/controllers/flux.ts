// Why: the simulated Flux kustomize- and helm-controllers. The engine pauses Flux on the site it leaves and asks
// the site it activates for a reconcile; this makes both observable: a paused object is left alone, and a
// reconcile request is answered after fluxReconcileMs with status.lastHandledReconcileAt and Ready=True.
import { Kinds, type GVK, type KubeObject } from '../../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../../drivers/json.ts';
import type { StoreChange } from '../store.types.ts';
import {
  Annotations,
  annotation,
  asNumber,
  asObject,
  asString,
  BaseController,
  isoTime,
  keyOf,
  objectRef,
  refFor,
  removeCondition,
  setCondition,
  shortHash,
  splitKey,
  type Condition,
  type ControllerContext,
  type ControllerFork,
} from './common.ts';

export type FluxKind = 'Kustomization' | 'HelmRelease';

/** Paused: spec.suspend is true, or the reference operator's `fluxcd.io/ignore: "true"` annotation is set. */
export function fluxPaused(obj: KubeObject): boolean {
  return obj.spec?.suspend === true || annotation(obj, Annotations.fluxIgnore) === 'true';
}

/** Whether a change asks for a reconcile: creation, a spec change, a new reconcile request, a pause toggle. */
function wantsReconcile(c: StoreChange): boolean {
  if (c.type !== 'MODIFIED' || !c.old) return c.type === 'ADDED';
  const a = c.old;
  const b = c.object;
  return (
    a.metadata.generation !== b.metadata.generation ||
    annotation(a, Annotations.fluxRequestedAt) !== annotation(b, Annotations.fluxRequestedAt) ||
    annotation(a, Annotations.fluxIgnore) !== annotation(b, Annotations.fluxIgnore)
  );
}

export class FluxController extends BaseController {
  readonly name: string;
  protected readonly kinds: readonly GVK[];
  private readonly gvk: GVK;
  /** Reconciles finished so far, per object (for the trace and tests). */
  private readonly completed = new Map<string, number>();

  constructor(
    ctx: ControllerContext,
    readonly kind: FluxKind,
  ) {
    super(ctx, kind.toLowerCase());
    this.name = kind.toLowerCase();
    this.gvk = Kinds[kind];
    this.kinds = [this.gvk];
  }

  protected override onChange(c: StoreChange): void {
    if (c.type === 'DELETED') {
      this.timers.cancel(keyOf(c.object.metadata.namespace, c.object.metadata.name));
      return;
    }
    if (wantsReconcile(c)) super.onChange(c);
  }

  protected override adoptState(src: this, fork: ControllerFork): void {
    super.adoptState(src, fork);
    for (const [key, n] of src.completed) this.completed.set(key, n);
  }

  reconciles(namespace: string, name: string): number {
    return this.completed.get(keyOf(namespace, name)) ?? 0;
  }

  protected reconcile(key: string): void {
    const obj = this.ctx.store.peek(refFor(this.gvk, key));
    if (!obj) return;
    const { namespace, name } = splitKey(key);
    if (fluxPaused(obj)) {
      if (this.timers.has(key)) this.timers.cancel(key);
      this.emit('paused', { kind: this.kind, ns: namespace, name });
      return;
    }
    if (this.timers.has(key)) return; // one reconcile at a time; it reads the object again when it finishes
    if (upToDate(obj)) return;
    let conditions = (obj.status?.conditions as unknown as Condition[] | undefined) ?? [];
    conditions = setCondition(conditions, { type: 'Reconciling', status: 'True', reason: 'Progressing', message: 'Reconciliation in progress', observedGeneration: obj.metadata.generation ?? 1 }, this.now);
    const ready = conditions.find((c) => c.type === 'Ready');
    if (!ready || ready.status !== 'True') {
      conditions = setCondition(conditions, { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'Reconciliation in progress', observedGeneration: obj.metadata.generation ?? 1 }, this.now);
    }
    this.writeStatus(obj, { ...(obj.status ?? {}), conditions: conditions as unknown as JsonObject[] });
    this.emit('reconciling', { kind: this.kind, ns: namespace, name, requestedAt: annotation(obj, Annotations.fluxRequestedAt) });
    this.timers.set(key, this.ctx.kernel.draw(this.ctx.kernel.plan.physics.fluxReconcileMs), () => this.finish(key));
  }

  /** The source revision the simulated controllers apply (stable per object). */
  revision(obj: KubeObject): string {
    if (this.kind === 'HelmRelease') return chartVersion(obj);
    return `main@sha1:${shortHash(`${obj.metadata.namespace}/${obj.metadata.name}`, 40)}`;
  }

  private finish(key: string): void {
    const obj = this.ctx.store.peek(refFor(this.gvk, key));
    if (!obj || fluxPaused(obj)) return;
    const { namespace, name } = splitKey(key);
    this.writeStatus(obj, this.readyStatus(obj));
    this.completed.set(key, (this.completed.get(key) ?? 0) + 1);
    this.emit('reconciled', { kind: this.kind, ns: namespace, name, revision: this.revision(obj), handled: annotation(obj, Annotations.fluxRequestedAt) });
  }

  private readyStatus(obj: KubeObject): JsonObject {
    const generation = obj.metadata.generation ?? 1;
    const old = obj.status ?? {};
    const revision = this.revision(obj);
    const status: JsonObject = { ...old, observedGeneration: generation };
    const requested = annotation(obj, Annotations.fluxRequestedAt);
    if (requested !== undefined) status.lastHandledReconcileAt = requested;
    let conditions = removeCondition((old.conditions as unknown as Condition[] | undefined) ?? [], 'Reconciling');
    if (this.kind === 'Kustomization') {
      status.lastAppliedRevision = revision;
      status.lastAttemptedRevision = revision;
      conditions = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: `Applied revision: ${revision}`, observedGeneration: generation }, this.now);
      conditions = setCondition(conditions, { type: 'Healthy', status: 'True', reason: 'Succeeded', message: 'Health check passed', observedGeneration: generation }, this.now);
    } else {
      const release = (asNumber(old.lastReleaseRevision) ?? 0) + 1;
      const first = release === 1;
      const chart = chartName(obj);
      const at = isoTime(this.now);
      const previous = Array.isArray(old.history) ? asObject(old.history[0]) : undefined;
      status.lastAttemptedRevision = revision;
      status.lastAttemptedGeneration = generation;
      status.lastAttemptedReleaseAction = first ? 'install' : 'upgrade';
      status.lastReleaseRevision = release;
      status.storageNamespace = obj.metadata.namespace ?? '';
      status.history = [
        {
          name: asString(obj.spec?.releaseName) ?? obj.metadata.name,
          namespace: obj.metadata.namespace ?? '',
          version: release,
          status: 'deployed',
          chartName: chart,
          chartVersion: revision,
          configDigest: `sha256:${shortHash(`${obj.metadata.name}:values:${generation}`, 64)}`,
          digest: `sha256:${shortHash(`${obj.metadata.name}:release:${release}`, 64)}`,
          firstDeployed: asString(previous?.firstDeployed) ?? at,
          lastDeployed: at,
        },
      ];
      const message = `Helm ${first ? 'install' : 'upgrade'} succeeded for release ${obj.metadata.namespace}/${obj.metadata.name}.v${release} with chart ${chart}@${revision}`;
      conditions = setCondition(conditions, { type: 'Ready', status: 'True', reason: first ? 'InstallSucceeded' : 'UpgradeSucceeded', message, observedGeneration: generation }, this.now);
      conditions = setCondition(conditions, { type: 'Released', status: 'True', reason: first ? 'InstallSucceeded' : 'UpgradeSucceeded', message, observedGeneration: generation }, this.now);
    }
    status.conditions = conditions as unknown as JsonObject[];
    return status;
  }

  /** Puts an object straight into its reconciled state (the world builder's converged start). */
  materialize(namespace: string, name: string): void {
    const obj = this.ctx.store.peek(objectRef(this.gvk, namespace, name));
    if (!obj) throw new Error(`materialize: ${this.kind} ${namespace}/${name} does not exist on ${this.cluster}`);
    this.writeStatus(obj, this.readyStatus(obj));
  }
}

/** Reconciled at this generation, Ready, and every reconcile request handled: nothing to do. */
function upToDate(obj: KubeObject): boolean {
  const requested = annotation(obj, Annotations.fluxRequestedAt);
  const ready = (obj.status?.conditions as unknown as Condition[] | undefined)?.find((c) => c.type === 'Ready');
  return (
    obj.status?.observedGeneration === (obj.metadata.generation ?? 1) &&
    ready?.status === 'True' &&
    (requested === undefined || obj.status?.lastHandledReconcileAt === requested)
  );
}

function chartSpec(obj: KubeObject): JsonObject | undefined {
  return asObject(asObject(obj.spec?.chart)?.spec);
}

function chartName(obj: KubeObject): string {
  return asString(chartSpec(obj)?.chart) ?? asString(asObject(obj.spec?.chartRef)?.name) ?? obj.metadata.name;
}

function chartVersion(obj: KubeObject): string {
  return asString(chartSpec(obj)?.version) ?? '1.0.0';
}
