// Why: the volume-replication chart wired to one cluster: observe and wait on VolumeReplications through the
// ClusterPort (waits driven by watch events), and request states with fenced writes.
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { Kinds, type ClusterPort, type KubeObject, type ObjectRef } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { replicationMachine, type RequestStateInput, type VolumeRef, type WaitVolumeInput } from '../../machines/replication/replication.machine.ts';
import { inSplitBrain, reached, type VolumeView, type VrConditionView } from '../../machines/replication/replication.types.ts';
import { EngineAnnotations } from './annotations.ts';
import { fencedPatch } from './fenced-write.ts';
import { providedOnce } from './provided-once.ts';
import type { Limiter } from './limit.ts';
import type { SharedWaits } from './shared-waits.ts';
import { waitFor } from './watch-wait.ts';
import { stampAt } from './stamp.ts';

export function vrRef(namespace: string, name: string): ObjectRef {
  return { ...Kinds.VolumeReplication, namespace, name };
}

function condition(obj: KubeObject, type: string): VrConditionView | undefined {
  const list = obj.status?.conditions;
  if (!Array.isArray(list)) return undefined;
  const c = list.find((x) => x !== null && typeof x === 'object' && !Array.isArray(x) && (x as JsonObject).type === type) as JsonObject | undefined;
  if (!c) return undefined;
  const status = c.status === 'True' || c.status === 'False' ? c.status : 'Unknown';
  return { status, reason: String(c.reason ?? ''), message: String(c.message ?? '') };
}

/** A VolumeReplication as the replication chart sees it. */
export function volumeViewOf(obj: KubeObject | undefined, atMs: number): VolumeView {
  if (!obj) return { exists: false, atMs };
  const v: VolumeView = { exists: true, atMs };
  if (typeof obj.spec?.replicationState === 'string') v.spec = obj.spec.replicationState;
  if (typeof obj.status?.state === 'string') v.state = obj.status.state;
  if (obj.metadata.generation !== undefined) v.generation = obj.metadata.generation;
  if (typeof obj.status?.observedGeneration === 'number') v.observedGeneration = obj.status.observedGeneration;
  if (typeof obj.status?.message === 'string') v.message = obj.status.message;
  const completed = condition(obj, 'Completed');
  const degraded = condition(obj, 'Degraded');
  const resyncing = condition(obj, 'Resyncing');
  if (completed) v.completed = completed;
  if (degraded) v.degraded = degraded;
  if (resyncing) v.resyncing = resyncing;
  if (obj.metadata.annotations?.[EngineAnnotations.forcePromote] === 'true') v.forced = true;
  return v;
}

function resynced(v: VolumeView): boolean {
  return v.exists && v.state === 'Secondary' && v.resyncing?.status !== 'True' && !inSplitBrain(v);
}

export interface ReplicationWiring {
  port: ClusterPort;
  clock: ClockPort;
  /** The fencing token carried on every write. */
  token: number;
  log: Logger;
  /** Bounds the reads and writes of a step (a request holds a slot; a wait never does). */
  requests?: Limiter;
  /** The step's shared list+watch per kind, so N volumes' waits do not list the kind N times. */
  waits?: SharedWaits;
}

const wire = providedOnce(replicationMachine);

/** The replication chart provided for one cluster and one fencing token. */
export function wireReplication(w: ReplicationWiring) {
  const { port, clock, log } = w;
  const bounded = <R>(fn: () => Promise<R>, signal: AbortSignal) => (w.requests ? w.requests.run(fn, signal) : fn());
  const waits = w.waits;
  const wait: typeof waitFor = waits ? (_port, gvk, scope, predicate, opts) => waits.waitFor(gvk, scope, predicate, opts) : waitFor;
  return wire({
    actors: {
      observeVolume: ({ input, signal }: { input: VolumeRef; signal: AbortSignal }): Promise<VolumeView> =>
        stampAt(clock, async () => volumeViewOf(await bounded(() => port.get(vrRef(input.namespace, input.name), { log, signal }), signal), clock.now())),
      requestState: ({ input, signal }: { input: RequestStateInput; signal: AbortSignal }): Promise<VolumeView> =>
        stampAt(clock, async () => {
          const obj = await bounded(() => fencedPatch(
            port,
            vrRef(input.namespace, input.name),
            (cur) => {
              const wantForce = input.state === 'primary' && input.force ? 'true' : undefined;
              const haveForce = cur.metadata.annotations?.[EngineAnnotations.forcePromote];
              if (cur.spec?.replicationState === input.state && haveForce === wantForce) return undefined;
              return { spec: { replicationState: input.state }, metadata: { annotations: { [EngineAnnotations.forcePromote]: wantForce ?? null } } };
            },
            { token: w.token, log, signal, cached: waits?.cachedRef },
          ), signal);
          return volumeViewOf(obj, clock.now());
        }),
      waitForVolume: ({ input, signal }: { input: WaitVolumeInput; signal: AbortSignal }): Promise<VolumeView> =>
        stampAt(clock, () =>
          wait(
            port,
            Kinds.VolumeReplication,
            { namespace: input.namespace, name: input.name },
            (objects) => {
              const v = volumeViewOf(objects.get(input.name), clock.now());
              if (input.until === 'resynced') return resynced(v) ? v : undefined;
              // Split brain never settles by itself: hand it back to the chart, which asks for a resync.
              if (input.desired === 'secondary' && inSplitBrain(v)) return v;
              return reached(v, input.desired, input.mode) ? v : undefined;
            },
            {
              clock,
              timeoutMs: Math.max(0, input.deadlineMs - clock.now()),
              signal,
              log,
              what: `VolumeReplication ${input.namespace}/${input.name} ${input.until === 'resynced' ? 'resynced' : `${input.desired} (${input.mode})`}`,
            },
          ),
        ),
      waitUntil: async ({ input, signal }: { input: { atMs: number }; signal: AbortSignal }) => {
        await clock.sleep(Math.max(0, input.atMs - clock.now()), signal);
        return { atMs: clock.now() };
      },
    },
  });
}
