// Why: the workload chart wired to one cluster: scale with fenced writes, and wait (on watch events) until the
// ready replicas match, or every pod is gone.
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { Kinds, type ClusterPort, type KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { DriverError } from '../../drivers/errors.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { workloadMachine, type ScaleInput, type WaitWorkloadInput, type WorkloadView } from '../../machines/workload/workload.machine.ts';
import { EngineAnnotations } from './annotations.ts';
import { fencedPatch } from './fenced-write.ts';
import type { Limiter } from './limit.ts';
import { providedOnce } from './provided-once.ts';
import type { SharedWaits } from './shared-waits.ts';
import { stampAt } from './stamp.ts';
import { waitFor } from './watch-wait.ts';

export interface WorkloadWiring {
  port: ClusterPort;
  clock: ClockPort;
  token: number;
  log: Logger;
  /** Annotations stamped on the workload with the scale (the remembered replica count). */
  annotations?: Record<string, string>;
  /** Bounds the scale writes of a step (a write holds a slot; a wait never does). */
  writes?: Limiter;
  /** The step's shared list+watch per kind, so N workloads' waits do not list the kind N times. */
  waits?: SharedWaits;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function workloadViewOf(obj: KubeObject | undefined, atMs: number, pods?: number): WorkloadView {
  if (!obj) return { exists: false, atMs };
  const v: WorkloadView = { exists: true, atMs, readyReplicas: num(obj.status?.readyReplicas) ?? 0 };
  const r = num(obj.spec?.replicas);
  v.specReplicas = r ?? 1;
  if (pods !== undefined) v.pods = pods;
  return v;
}

/** `a=b,c=d` from spec.selector.matchLabels (the pods of the workload). */
export function selectorOf(obj: KubeObject): string | undefined {
  const sel = obj.spec?.selector;
  const match = sel && typeof sel === 'object' && !Array.isArray(sel) ? (sel as JsonObject).matchLabels : undefined;
  if (!match || typeof match !== 'object' || Array.isArray(match)) return undefined;
  const parts = Object.entries(match as JsonObject)
    .filter(([, v]) => typeof v === 'string')
    .map(([k, v]) => `${k}=${v as string}`)
    .sort();
  return parts.length ? parts.join(',') : undefined;
}

export function workloadRef(kind: 'Deployment' | 'StatefulSet', namespace: string, name: string) {
  return { ...Kinds[kind], namespace, name };
}

const wire = providedOnce(workloadMachine);

export function wireWorkload(w: WorkloadWiring) {
  const { port, clock, log } = w;
  return wire({
    actors: {
      scaleWorkload: ({ input, signal }: { input: ScaleInput; signal: AbortSignal }): Promise<WorkloadView> =>
        stampAt(clock, async () => {
          const write = () => fencedPatch(
            port,
            workloadRef(input.kind, input.namespace, input.name),
            (cur) => {
              const annotations = w.annotations ?? {};
              const annotationsOk = Object.entries(annotations).every(([k, v]) => cur.metadata.annotations?.[k] === v);
              if (num(cur.spec?.replicas) === input.replicas && annotationsOk) return undefined;
              const patch: JsonObject = { spec: { replicas: input.replicas } };
              if (Object.keys(annotations).length) patch.metadata = { annotations };
              return patch;
            },
            // The read before the write comes from the step's watch cache when it holds the workload.
            { token: w.token, log, signal, cached: w.waits?.cachedRef },
          );
          const obj = await (w.writes ? w.writes.run(write, signal) : write());
          return workloadViewOf(obj, clock.now());
        }),
      waitForWorkload: ({ input, signal }: { input: WaitWorkloadInput; signal: AbortSignal }): Promise<WorkloadView> =>
        stampAt(clock, async () => {
          const timeoutMs = Math.max(0, input.deadlineMs - clock.now());
          const ref = workloadRef(input.kind, input.namespace, input.name);
          const waits = w.waits;
          const wait: typeof waitFor = waits ? (_port, gvk, scope, predicate, opts) => waits.waitFor(gvk, scope, predicate, opts) : waitFor;
          if (input.replicas === 0) {
            const obj = waits
              ? await waits.get(ref, input.namespace, input.name, { clock, timeoutMs, signal, log, what: `${input.kind} ${input.namespace}/${input.name}` })
              : await port.get(ref, { log, signal });
            if (!obj) throw new DriverError('NotFound', 'kubernetes', 'waitForWorkload', `${input.kind} ${input.namespace}/${input.name} does not exist on ${port.cluster}`, { reason: 'NotFound' });
            const selector = selectorOf(obj);
            if (!selector) throw new DriverError('Invalid', 'engine', 'waitForWorkload', `${input.kind} ${input.namespace}/${input.name} has no spec.selector.matchLabels: cannot tell its pods`, { reason: 'Invalid' });
            return wait(port, Kinds.Pod, { namespace: input.namespace, labelSelector: selector }, (pods) => (pods.size === 0 ? workloadViewOf(obj, clock.now(), 0) : undefined), {
              clock,
              timeoutMs,
              signal,
              log,
              what: `every pod of ${input.kind} ${input.namespace}/${input.name} to be gone`,
            });
          }
          return wait(
            port,
            Kinds[input.kind],
            { namespace: input.namespace, name: input.name },
            (objects) => {
              const o = objects.get(input.name);
              if (!o) return undefined;
              const v = workloadViewOf(o, clock.now());
              const current = num(o.status?.observedGeneration) === undefined || (num(o.status?.observedGeneration) ?? 0) >= (o.metadata.generation ?? 0);
              return current && v.specReplicas === input.replicas && (v.readyReplicas ?? 0) >= input.replicas ? v : undefined;
            },
            { clock, timeoutMs, signal, log, what: `${input.kind} ${input.namespace}/${input.name} ready with ${input.replicas} replicas` },
          );
        }),
      waitUntil: async ({ input, signal }: { input: { atMs: number }; signal: AbortSignal }) => {
        await clock.sleep(Math.max(0, input.atMs - clock.now()), signal);
        return { atMs: clock.now() };
      },
    },
  });
}

export { EngineAnnotations };
