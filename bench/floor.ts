// Why: the simulator's speed means little without XState's own floor: the SAME charts (the failover chart on both
// sides, one workload chart per workload and one replication chart per volume, as the wiring runs them) with
// no-op drivers, every actor provided to resolve at once, in zero virtual time. The ratio floor / simulator says how
// much the simulated world (stores, controllers, latencies, faults, invariants, persistence) costs on top.
import { setMaxListeners } from 'node:events';
import { createActor, fromPromise } from 'xstate';
import { failoverMachine } from '../machines/failover/failover.machine.ts';
import type { FailoverInput, FailoverRequest, FailoverRole, ReachabilityOutput, StepInput, StepOutput } from '../machines/failover/failover.types.ts';
import { type FailoverGroupSpec, type WorkloadSpec } from '../machines/failover/group.types.ts';
import { replicationMachine, type RequestStateInput, type VolumeRef, type WaitVolumeInput } from '../machines/replication/replication.machine.ts';
import type { VolumeView } from '../machines/replication/replication.types.ts';
import { workloadMachine, type ScaleInput, type WaitWorkloadInput, type WorkloadView } from '../machines/workload/workload.machine.ts';
import { failoverRequestOf } from '../src/daemon/failover-request.ts';
import { runToCompletion } from '../src/wire/children.ts';
import { mapLimit } from '../src/wire/limit.ts';

/** Every task resolves at this virtual time: no time passes in the floor. */
const NOW_MS = 1_767_225_600_000;
/** A promise that never settles: waitUntil timers (lease renewal, deadlines) never fire in zero time. */
const never = <T>() => new Promise<T>(() => {});

type Scalable = WorkloadSpec & { kind: 'Deployment' | 'StatefulSet' };
const scalables = (g: FailoverGroupSpec) => g.workloads.filter((w): w is Scalable => w.kind !== 'CronJob');
const volumesOf = (g: FailoverGroupSpec) => [...new Set(g.workloads.flatMap((w) => w.volumeReplications))].sort();

/** The workload chart with drivers that answer at once: scaled, and converged when waited on. */
const noopWorkload = workloadMachine.provide({
  actors: {
    scaleWorkload: fromPromise<WorkloadView, ScaleInput>(async ({ input }) => ({ exists: true, specReplicas: input.replicas, readyReplicas: 0, atMs: NOW_MS })),
    waitForWorkload: fromPromise<WorkloadView, WaitWorkloadInput>(async ({ input }) => ({ exists: true, specReplicas: input.replicas, readyReplicas: input.replicas, atMs: NOW_MS })),
    waitUntil: fromPromise<{ atMs: number }, { atMs: number }>(() => never()),
  },
});

/** The replication chart with drivers that answer at once: observed not yet there, asked, then reached. */
const noopReplication = replicationMachine.provide({
  actors: {
    observeVolume: fromPromise<VolumeView, VolumeRef>(async () => ({ exists: true, atMs: NOW_MS, state: 'Unknown', generation: 2, observedGeneration: 1 })),
    requestState: fromPromise<VolumeView, RequestStateInput>(async () => ({ exists: true, atMs: NOW_MS, generation: 2, observedGeneration: 1 })),
    waitForVolume: fromPromise<VolumeView, WaitVolumeInput>(async ({ input }) => ({
      exists: true,
      atMs: NOW_MS,
      spec: input.desired,
      state: input.desired === 'primary' ? 'Primary' : 'Secondary',
      generation: 2,
      observedGeneration: 2,
    })),
    waitUntil: fromPromise<{ atMs: number }, { atMs: number }>(() => never()),
  },
});

/** A step that resolves at once with `extra`. */
const step = (extra: (input: StepInput) => Partial<StepOutput> = () => ({})) =>
  fromPromise<StepOutput, StepInput>(async ({ input }) => ({ atMs: NOW_MS, startedAtMs: NOW_MS, ...extra(input) }));

/** The deadline and retry policy every child chart gets from its step, as the wiring passes them. */
const childPolicy = (input: StepInput) => ({
  deadlineMs: NOW_MS + input.policy.waitTimeoutMs,
  attemptMax: input.policy.attemptMax,
  backoffBaseMs: input.policy.backoffBaseMs,
  backoffMaxMs: input.policy.backoffMaxMs,
});

/** A step that runs one child chart per workload (bounded, as the wiring does), then resolves. */
function workloadStep(order: Array<{ kinds: Array<'Deployment' | 'StatefulSet'>; wait: (input: StepInput) => boolean; zero: boolean }>) {
  return fromPromise<StepOutput, StepInput>(async ({ input, signal }) => {
    const g = input.request.group;
    setMaxListeners(g.workloads.length + 8, signal); // as the wiring does: one abort listener per child chart
    for (const phase of order) {
      const items = scalables(g).filter((w) => phase.kinds.includes(w.kind));
      await mapLimit(items, input.policy.concurrencyMax, (w) =>
        runToCompletion(
          noopWorkload,
          {
            kind: w.kind,
            namespace: g.namespace,
            name: w.name,
            replicas: phase.zero ? 0 : 1,
            wait: phase.wait(input) ? 'converged' : 'none',
            ...childPolicy(input),
          },
          signal,
        ),
      );
    }
    return { atMs: NOW_MS, startedAtMs: NOW_MS };
  });
}

/** A step that runs one replication chart per volume (bounded), then resolves. */
function volumeStep(desired: 'primary' | 'secondary') {
  return fromPromise<StepOutput, StepInput>(async ({ input, signal }) => {
    const g = input.request.group;
    const mode = input.request.mode === 'CONSISTENCY' && input.request.type === 'planned' ? 'safe' : 'fast';
    setMaxListeners(volumesOf(g).length + 8, signal); // as the wiring does: one abort listener per child chart
    await mapLimit(volumesOf(g), input.policy.concurrencyMax, (name) =>
      runToCompletion(
        noopReplication,
        {
          namespace: g.namespace,
          name,
          desired,
          mode,
          force: desired === 'primary' && input.params.force === true,
          ...childPolicy(input),
        },
        signal,
      ),
    );
    return { atMs: NOW_MS, startedAtMs: NOW_MS };
  });
}

/** The failover chart with no-op drivers: the same named actors the wiring provides, each resolving at once. */
export const noopFailoverLogic = failoverMachine.provide({
  actors: {
    validateFailover: step(() => ({ version: 1 })),
    acquireLock: step((i) => ({ proof: { leaseToken: i.leaseToken, fencingToken: 2 }, leaseExpiresAtMs: NOW_MS + i.policy.leaseTtlMs, version: 1 })),
    joinLease: step((i) => ({ observed: 'JOINED', proof: { leaseToken: i.leaseToken, fencingToken: 2 }, leaseExpiresAtMs: NOW_MS + i.policy.leaseTtlMs, version: 1 })),
    renewLease: step((i) => ({ leaseExpiresAtMs: NOW_MS + i.policy.leaseTtlMs })),
    regainLease: step(),
    waitUntil: fromPromise(() => never()),
    probeReachability: fromPromise<ReachabilityOutput, StepInput>(async () => ({ atMs: NOW_MS, own: true, peer: true, globalState: true })),
    disableNetwork: step(),
    enableNetwork: step(),
    disableFlux: step(),
    resumeFlux: step(),
    suspendCronJobs: step(),
    resumeCronJobs: step(),
    scaleDownWorkloads: workloadStep([
      { kinds: ['Deployment'], wait: () => false, zero: true },
      { kinds: ['StatefulSet'], wait: () => false, zero: true },
    ]),
    waitForWorkloadsScaledDown: workloadStep([
      { kinds: ['Deployment'], wait: () => true, zero: true },
      { kinds: ['StatefulSet'], wait: () => true, zero: true },
    ]),
    scaleUpWorkloads: workloadStep([
      { kinds: ['StatefulSet'], wait: () => true, zero: false },
      { kinds: ['Deployment'], wait: (i) => i.params.waitReady === true, zero: false },
    ]),
    waitForWorkloadsReady: workloadStep([{ kinds: ['Deployment', 'StatefulSet'], wait: () => true, zero: false }]),
    demoteVolumes: step(),
    waitForVolumesDemoted: volumeStep('secondary'),
    promoteVolumes: step(),
    waitForVolumesPromoted: volumeStep('primary'),
    verifyDataAvailability: step(),
    setVolumeState: step(),
    waitForPeer: step((i) => ({ observed: (Array.isArray(i.params.awaiting) ? i.params.awaiting[0] : undefined) as string | undefined })),
    transferOwnership: step(),
    recordHistory: step(),
    releaseLock: step(),
    fenceSource: step(),
    unfenceSource: step(),
  },
  actions: { enteredState: () => {} },
});

export function floorRequest(group: FailoverGroupSpec, n: number): FailoverRequest {
  return failoverRequestOf({
    failover: { namespace: group.namespace, name: `floor-${n}` },
    group,
    sourceCluster: 'east',
    targetCluster: 'west',
    mode: 'CONSISTENCY',
    type: 'planned',
    force: false,
    reason: 'benchmark floor',
    requestedAtMs: NOW_MS,
  });
}

/** One side of a failover to its final state; resolves with its outcome. */
function runSide(request: FailoverRequest, role: FailoverRole): Promise<string> {
  return new Promise((resolve, reject) => {
    const input: FailoverInput = { request, role, cluster: role === 'source' ? request.sourceCluster : request.targetCluster };
    const actor = createActor(noopFailoverLogic, { input });
    actor.subscribe({
      complete: () => {
        const out = (actor.getSnapshot() as { context: { outcome?: string } }).context.outcome ?? 'unknown';
        actor.stop();
        resolve(out);
      },
      error: (e) => reject(e instanceof Error ? e : new Error(String(e))),
    });
    actor.start();
  });
}

/** One full failover on the floor: both sides, to their final states. Rejects unless both complete. */
export async function floorFailover(group: FailoverGroupSpec, n: number): Promise<void> {
  const request = floorRequest(group, n);
  const [source, target] = await Promise.all([runSide(request, 'source'), runSide(request, 'target')]);
  if (source !== 'completed' || target !== 'completed') throw new Error(`floor failover ${n}: source ${source}, target ${target} (expected both completed)`);
}
