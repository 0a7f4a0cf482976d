// Why: the RTO figure divides a simulated failover's duration by the shortest time ANY engine could take under the
// same latency model, so "how much time does the engine waste" has a number. The bound is computed from the model
// and the chart's dependency structure, never from a run. The structure is written once (`chain`) and evaluated
// two ways: at every operation's baseMs (the bound of one run: jitter is never negative), and in expectation under
// the jittered model (a lower bound on the MEAN duration of any engine, since the chain lower-bounds every
// realisation of the draws). Each term below says which operation it is and why it is on the chain.
import type { FailoverMode } from '../machines/failover/failover.types.ts';
import type { FaultPlan, OpClass, PhysicsModel } from '../simulator/faults.ts';
import type { ScenarioGroup } from '../simulator/scenario.ts';
import { Dist } from './latency-dist.ts';

/** One term of the chain: what it is, and its milliseconds. */
export interface BoundTerm {
  step: string;
  ms: number;
}

export interface CriticalPath {
  totalMs: number;
  terms: BoundTerm[];
}

type Plan = Pick<FaultPlan, 'latency' | 'physics'>;

/**
 * How the chain's quantities combine. `T` is a number (every draw at its baseMs) or a distribution (every draw
 * uniform over its jitter, all draws independent). `maxOf` is the maximum of independent copies: `n` copies of each
 * listed quantity (the operations on N resources that run in parallel).
 */
interface Algebra<T> {
  latency(c: OpClass): T;
  physics(p: keyof PhysicsModel): T;
  /** floor(x/2): when a call of latency x takes effect (simulator/kernel.ts `call`). */
  half(x: T): T;
  /** x − floor(x/2): from taking effect to the answer. */
  rest(x: T): T;
  sum(...xs: T[]): T;
  maxOf(items: ReadonlyArray<readonly [T, number]>): T;
  zero: T;
  /** The term's milliseconds: the value, or the expectation. */
  ms(x: T): number;
}

const baseAlgebra = (plan: Plan): Algebra<number> => ({
  latency: (c) => plan.latency[c].baseMs,
  physics: (p) => plan.physics[p].baseMs,
  half: (x) => Math.floor(x / 2),
  rest: (x) => x - Math.floor(x / 2),
  sum: (...xs) => xs.reduce((s, x) => s + x, 0),
  maxOf: (items) => items.reduce((m, [x, n]) => (n > 0 ? Math.max(m, x) : m), 0),
  zero: 0,
  ms: (x) => x,
});

const expectedAlgebra = (plan: Plan): Algebra<Dist> => ({
  latency: (c) => Dist.of(plan.latency[c]),
  physics: (p) => Dist.of(plan.physics[p]),
  half: (x) => x.map((v) => Math.floor(v / 2)),
  rest: (x) => x.map((v) => v - Math.floor(v / 2)),
  sum: (...xs) => xs.reduce((s, x) => s.plus(x), Dist.point(0)),
  maxOf: (items) => Dist.maxOf(items),
  zero: Dist.point(0),
  ms: (x) => x.mean(),
});

/**
 * The longest chain of dependent operations of a planned failover of `group`, in milliseconds, from the request
 * (both operators get it at time 0) to the end of the side that finishes the failover (for CONSISTENCY the
 * target's lock release; for UPTIME the source's). Every latency and every piece of physics counts its baseMs
 * (the jitter is never negative), independent operations on different resources count once (in parallel), and
 * operations the chart runs one after another because one needs the other's result count in sequence.
 */
export function criticalPathLowerBoundMs(group: ScenarioGroup, plan: Plan, mode: FailoverMode): number {
  return criticalPath(group, plan, mode).totalMs;
}

/** The bound at baseMs, with its terms (docs/benchmarks.md prints them). */
export function criticalPath(group: ScenarioGroup, plan: Plan, mode: FailoverMode): CriticalPath {
  return chain(group, mode, baseAlgebra(plan));
}

/**
 * E[CP]: the expected length of the same chain when every draw is baseMs + a uniform whole number in [0, jitterMs],
 * independently (simulator/kernel.ts `draw`). For every realisation of the draws no engine finishes before the
 * chain does, so no engine's expected duration is below this. Each term is the exact expectation of its stage
 * (the stages follow each other, so the expectations add); with every jitter at 0 it equals `criticalPath`.
 */
export function expectedCriticalPath(group: ScenarioGroup, plan: Plan, mode: FailoverMode): CriticalPath {
  return chain(group, mode, expectedAlgebra(plan));
}

/** The plan with every draw at its largest value (baseMs + jitterMs, no jitter): its bound caps E[CP] from above. */
export function worstCasePlan(plan: Plan): Plan {
  const top = <K extends string>(r: Record<K, { baseMs: number; jitterMs: number }>) =>
    Object.fromEntries(Object.entries<{ baseMs: number; jitterMs: number }>(r).map(([k, m]) => [k, { baseMs: m.baseMs + m.jitterMs, jitterMs: 0 }])) as Record<K, { baseMs: number; jitterMs: number }>;
  return { latency: top(plan.latency), physics: top(plan.physics) as PhysicsModel };
}

/** How many of each: replica count → how many workloads of one kind run that many. */
function byReplicas(counts: number[]): Array<[number, number]> {
  const m = new Map<number, number>();
  for (const r of counts) m.set(r, (m.get(r) ?? 0) + 1);
  return [...m].sort((a, b) => a[0] - b[0]);
}

function chain<T>(group: ScenarioGroup, mode: FailoverMode, A: Algebra<T>): CriticalPath {
  const kubeWrite = A.latency('kube.write');
  const kubeWatch = A.latency('kube.watch');
  const gsWrite = A.latency('globalstate.write');
  const gsRead = A.latency('globalstate.read');
  /** A cluster write has taken effect (physics starts, the controllers react at once). */
  const applied = A.half(kubeWrite);
  const times = (x: T, n: number) => A.sum(...Array.from({ length: n }, () => x));

  const spec = group.spec;
  const replicasOf = (name: string) => group.replicas[name] ?? 1;
  const deployments = byReplicas(spec.workloads.filter((w) => w.kind === 'Deployment' && replicasOf(w.name) > 0).map((w) => replicasOf(w.name)));
  const statefulSets = byReplicas(spec.workloads.filter((w) => w.kind === 'StatefulSet' && replicasOf(w.name) > 0).map((w) => replicasOf(w.name)));
  const cronJobs = spec.workloads.filter((w) => w.kind === 'CronJob').length;
  const volumes = new Set(spec.workloads.flatMap((w) => w.volumeReplications)).size;
  const network = spec.networkResources.length;
  const reconciling = spec.fluxResources.filter((f) => f.triggerReconcile).length;
  const fluxOnly = spec.fluxResources.length - reconciling;
  /** One request per resource, all in parallel, each answered: the slowest answer. */
  const writes = (n: number) => A.maxOf([[kubeWrite, n]]);

  /**
   * Stopping every pod, from the scale-down write to the watch event that shows the last pod gone. A Deployment's
   * pods stop in parallel (each pod's own podStopMs, each deletion its own watch event); a StatefulSet
   * (OrderedReady) removes one pod at a time, highest ordinal first: replicas × podStopMs, one after another. The
   * slowest workload decides.
   */
  const podsStopped = (): T => {
    const stop = A.physics('podStopMs');
    return A.maxOf([
      ...deployments.map(([r, n]) => [A.sum(applied, A.maxOf([[A.sum(stop, kubeWatch), r]])), n] as const),
      ...statefulSets.map(([r, n]) => [A.sum(applied, times(stop, r), kubeWatch), n] as const),
    ]);
  };
  /**
   * Starting every pod, StatefulSets first and ready before any Deployment starts (the chart's order, the
   * reference's advice: the data tier before the application tier): a StatefulSet starts one pod at a time
   * (replicas × podStartMs), observed ready through a watch event on the StatefulSet; then each Deployment's pods
   * start in parallel, observed through a watch event on the Deployment.
   */
  const podsStarted = (): T => {
    const start = A.physics('podStartMs');
    const sts = A.maxOf(statefulSets.map(([r, n]) => [A.sum(applied, times(start, r), kubeWatch), n] as const));
    const deps = A.maxOf(deployments.map(([r, n]) => [A.sum(applied, A.maxOf([[start, r]]), kubeWatch), n] as const));
    return A.sum(sts, deps);
  };
  /** Flux resumed and, where asked, reconciled (parallel with the workloads; the target is ready only when both are). */
  const fluxReady = A.maxOf([
    [A.sum(applied, A.physics('fluxReconcileMs'), kubeWatch), reconciling],
    [kubeWrite, fluxOnly],
  ]);
  /** One global-state write, then the peer reading it: the read must take effect after the write did. */
  const handOff = A.sum(A.half(gsWrite), A.rest(gsRead));

  const terms: BoundTerm[] = [];
  const add = (step: string, x: T) => {
    const ms = A.ms(x);
    if (ms > 0) terms.push({ step, ms });
  };
  const demote = (healthChecks: number) => A.maxOf([[A.sum(applied, times(A.physics('volumeDemoteMs'), healthChecks), kubeWatch), volumes]]);
  const promote = A.maxOf([[A.sum(applied, A.physics('volumePromoteMs'), kubeWatch), volumes]]);

  if (mode === 'CONSISTENCY') {
    // 1. The source takes the lock: one conditional write whose answer (the fencing token) every fenced cluster
    //    write needs.
    add('source acquires the lock (globalstate.write)', gsWrite);
    // 2. Traffic off and Flux suspended, in parallel, before any workload is scaled down (Flux would scale it
    //    back up). CronJob suspension runs in parallel too.
    add('network disable ∥ Flux suspend ∥ CronJob suspend (kube.write, in parallel)', writes(network + spec.fluxResources.length + cronJobs));
    // 3–4. Scale every workload to 0 (one write each, in parallel) and wait for the last pod to be gone.
    add('scale down all, until the last pod is gone (write applied + pod stops + watch event)', podsStopped());
    // 5. Demote every volume (one write each, in parallel): volumeDemoteMs for the demotion, and, in the safe mode a
    //    planned CONSISTENCY failover waits in, a second volumeDemoteMs until the just-demoted volume's first health
    //    check clears Degraded (the controller's settle step); observed through a watch event.
    add('demote all, until every volume is a healthy Secondary (write applied + 2 × volumeDemoteMs + watch event)', demote(2));
    // 6–7. The hand-off: the source marks READY_FOR_PROMOTION in global state; the target's read sees it.
    add('source marks READY_FOR_PROMOTION, target reads it (globalstate write applied + read)', handOff);
    // 8. Promote every volume (in parallel), observed Primary through a watch event.
    add('promote all, until every volume is Primary (write applied + volumePromoteMs + watch event)', promote);
    // 9–10. Scale up (StatefulSets, then Deployments) and, in parallel, resume Flux and wait for its reconcile.
    add('scale up StatefulSets then Deployments until ready ∥ Flux reconciled', A.maxOf([[podsStarted(), 1], [fluxReady, 1]]));
    // 11. Traffic back on: the answer is needed before the group changes owner.
    add('network enable (kube.write)', writes(network));
    // 12–14. Ownership moves (compare-and-set), history is recorded, the lock is released: three global-state
    //    writes, each after the previous one's answer (history must not claim success before ownership moved; the
    //    lock must not be released before history is written, or a new failover could start on a half-written one).
    add('transfer ownership (globalstate.write)', gsWrite);
    add('record history (globalstate.write)', gsWrite);
    add('release the lock (globalstate.write)', gsWrite);
  } else {
    // UPTIME (planned): the target comes up while the source still serves, then traffic moves, then the source
    // shuts down and hands over ownership.
    // The source takes the lock; the target joins the failover's lease by reading it (its read must take effect
    // after the write did).
    add('source acquires the lock, target reads it (globalstate write applied + read)', handOff);
    // Force-promote every volume (the dual-primary window), observed Primary.
    add('force-promote all (write applied + volumePromoteMs + watch event)', promote);
    add('scale up StatefulSets then Deployments until ready ∥ Flux reconciled', A.maxOf([[podsStarted(), 1], [fluxReady, 1]]));
    // The target enables its traffic and says so in global state; the source reads it.
    add('target network enable (kube.write)', writes(network));
    add('target marks COMPLETED, source reads it (globalstate write applied + read)', handOff);
    // The source turns its traffic off, then stops its workloads and demotes its volumes.
    add('source network disable ∥ Flux suspend ∥ CronJob suspend (kube.write)', writes(network + spec.fluxResources.length + cronJobs));
    add('source scale down all, until the last pod is gone', podsStopped());
    // UPTIME waits for demotion in the fast mode: status.state Secondary is enough (no health check).
    add('source demote all, until every volume is Secondary (write applied + volumeDemoteMs + watch event)', demote(1));
    add('transfer ownership (globalstate.write)', gsWrite);
    add('record history (globalstate.write)', gsWrite);
    add('release the lock (globalstate.write)', gsWrite);
  }
  return { totalMs: terms.reduce((s, t) => s + t.ms, 0), terms };
}
