// Why: the RTO figure divides a simulated failover's duration by the shortest time ANY engine could take under the
// same latency model, so "how much time does the engine waste" has a number. The bound is computed from the model
// (each operation's and each piece of physics' baseMs, its lower bound) and the chart's dependency structure, never
// from a run. Each term below says which operation it is and why it is on the chain.
import type { FailoverMode } from '../machines/failover/failover.types.ts';
import type { FaultPlan, OpClass, PhysicsModel } from '../simulator/faults.ts';
import type { ScenarioGroup } from '../simulator/scenario.ts';

/** One term of the chain: what it is, and its milliseconds. */
export interface BoundTerm {
  step: string;
  ms: number;
}

export interface CriticalPath {
  totalMs: number;
  terms: BoundTerm[];
}

/**
 * How a simulated call spends its latency (simulator/kernel.ts `call`): the request takes effect after
 * floor(L/2) and the answer arrives at L. A cluster change that sets physics in motion (pods stopping, a volume
 * demoting) therefore starts floor(L/2) after the request was sent, and the caller needs the full L before it may
 * act on the answer.
 */
const appliedAfter = (latencyMs: number) => Math.floor(latencyMs / 2);

/**
 * The longest chain of dependent operations of a planned failover of `group`, in milliseconds, from the request
 * (both operators get it at time 0) to the end of the side that finishes the failover (for CONSISTENCY the
 * target's lock release; for UPTIME the source's). Every latency and every piece of physics counts its baseMs
 * (the jitter is never negative), independent operations on different resources count once (in parallel), and
 * operations the chart runs one after another because one needs the other's result count in sequence.
 */
export function criticalPathLowerBoundMs(group: ScenarioGroup, plan: Pick<FaultPlan, 'latency' | 'physics'>, mode: FailoverMode): number {
  return criticalPath(group, plan, mode).totalMs;
}

/** The bound with its terms (docs/benchmarks.md prints them). */
export function criticalPath(group: ScenarioGroup, plan: Pick<FaultPlan, 'latency' | 'physics'>, mode: FailoverMode): CriticalPath {
  const L = (c: OpClass) => plan.latency[c].baseMs;
  const P = (p: keyof PhysicsModel) => plan.physics[p].baseMs;
  const kubeWrite = L('kube.write');
  const kubeWatch = L('kube.watch');
  const gsWrite = L('globalstate.write');
  const gsRead = L('globalstate.read');

  const spec = group.spec;
  const replicasOf = (name: string) => group.replicas[name] ?? 1;
  const deployments = spec.workloads.filter((w) => w.kind === 'Deployment' && replicasOf(w.name) > 0);
  const statefulSets = spec.workloads.filter((w) => w.kind === 'StatefulSet' && replicasOf(w.name) > 0);
  const cronJobs = spec.workloads.filter((w) => w.kind === 'CronJob');
  const volumes = spec.workloads.reduce((n, w) => n + w.volumeReplications.length, 0);
  const hasTraffic = spec.networkResources.length > 0;
  const hasFlux = spec.fluxResources.length > 0;
  const hasReconcile = spec.fluxResources.some((f) => f.triggerReconcile);
  const maxSts = statefulSets.reduce((m, w) => Math.max(m, replicasOf(w.name)), 0);

  /**
   * Stopping every pod, from the scale-down request to the watch event that shows the last pod gone: a
   * Deployment's pods stop in parallel (one podStopMs); a StatefulSet (OrderedReady) removes one pod at a time,
   * highest ordinal first, so replicas × podStopMs. The longest workload decides.
   */
  const podsStoppedMs = (): number => {
    const chain = Math.max(deployments.length ? P('podStopMs') : 0, maxSts * P('podStopMs'));
    return chain > 0 ? appliedAfter(kubeWrite) + chain + kubeWatch : 0;
  };
  /**
   * Starting every pod, StatefulSets first and ready before any Deployment starts (the chart's order, the
   * reference's advice: the data tier before the application tier): a StatefulSet starts one pod at a time
   * (replicas × podStartMs), observed ready through a watch event; then the Deployments' pods start in parallel.
   */
  const podsStartedMs = (): number => {
    let ms = 0;
    if (maxSts > 0) ms += appliedAfter(kubeWrite) + maxSts * P('podStartMs') + kubeWatch;
    if (deployments.length) ms += appliedAfter(kubeWrite) + P('podStartMs') + kubeWatch;
    return ms;
  };
  /** Flux resumed and reconciled (parallel with the workloads; the target is ready only when both are). */
  const fluxReadyMs = hasReconcile ? appliedAfter(kubeWrite) + P('fluxReconcileMs') + kubeWatch : hasFlux ? kubeWrite : 0;
  /** One global-state write, then the peer reading it: the read must take effect after the write did. */
  const handOffMs = appliedAfter(gsWrite) + (gsRead - appliedAfter(gsRead));

  const terms: BoundTerm[] = [];
  const add = (step: string, ms: number) => {
    if (ms > 0) terms.push({ step, ms });
  };

  if (mode === 'CONSISTENCY') {
    // 1. The source takes the lock: one conditional write whose answer (the fencing token) every fenced cluster
    //    write needs.
    add('source acquires the lock (globalstate.write)', gsWrite);
    // 2. Traffic off and Flux suspended, in parallel, before any workload is scaled down (Flux would scale it
    //    back up). CronJob suspension runs in parallel too and is never longer (one write).
    add('network disable ∥ Flux suspend ∥ CronJob suspend (kube.write, in parallel)', hasTraffic || hasFlux || cronJobs.length ? kubeWrite : 0);
    // 3–4. Scale every workload to 0 (one write each, in parallel) and wait for the last pod to be gone.
    add('scale down all, until the last pod is gone (write applied + pod stops + watch event)', podsStoppedMs());
    // 5. Demote every volume (one write each, in parallel): volumeDemoteMs for the demotion, and, in the safe mode a
    //    planned CONSISTENCY failover waits in, a second volumeDemoteMs until the just-demoted volume's first health
    //    check clears Degraded; observed through a watch event.
    if (volumes > 0) add('demote all, until every volume is a healthy Secondary (write applied + 2 × volumeDemoteMs + watch event)', appliedAfter(kubeWrite) + 2 * P('volumeDemoteMs') + kubeWatch);
    // 6–7. The hand-off: the source marks READY_FOR_PROMOTION in global state; the target's read sees it.
    add('source marks READY_FOR_PROMOTION, target reads it (globalstate write applied + read)', handOffMs);
    // 8. Promote every volume (in parallel), observed Primary through a watch event.
    if (volumes > 0) add('promote all, until every volume is Primary (write applied + volumePromoteMs + watch event)', appliedAfter(kubeWrite) + P('volumePromoteMs') + kubeWatch);
    // 9–10. Scale up (StatefulSets, then Deployments) and, in parallel, resume Flux and wait for its reconcile.
    add('scale up StatefulSets then Deployments until ready ∥ Flux reconciled', Math.max(podsStartedMs(), fluxReadyMs));
    // 11. Traffic back on: the answer is needed before the group changes owner.
    add('network enable (kube.write)', hasTraffic ? kubeWrite : 0);
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
    add('source acquires the lock, target reads it (globalstate write applied + read)', handOffMs);
    // Force-promote every volume (the dual-primary window), observed Primary.
    if (volumes > 0) add('force-promote all (write applied + volumePromoteMs + watch event)', appliedAfter(kubeWrite) + P('volumePromoteMs') + kubeWatch);
    add('scale up StatefulSets then Deployments until ready ∥ Flux reconciled', Math.max(podsStartedMs(), fluxReadyMs));
    // The target enables its traffic and says so in global state; the source reads it.
    add('target network enable (kube.write)', hasTraffic ? kubeWrite : 0);
    add('target marks COMPLETED, source reads it (globalstate write applied + read)', handOffMs);
    // The source turns its traffic off, then stops its workloads and demotes its volumes.
    add('source network disable ∥ Flux suspend ∥ CronJob suspend (kube.write)', hasTraffic || hasFlux || cronJobs.length ? kubeWrite : 0);
    add('source scale down all, until the last pod is gone', podsStoppedMs());
    // UPTIME waits for demotion in the fast mode: status.state Secondary is enough (no health check).
    if (volumes > 0) add('source demote all, until every volume is Secondary (write applied + volumeDemoteMs + watch event)', appliedAfter(kubeWrite) + P('volumeDemoteMs') + kubeWatch);
    add('transfer ownership (globalstate.write)', gsWrite);
    add('record history (globalstate.write)', gsWrite);
    add('release the lock (globalstate.write)', gsWrite);
  }
  return { totalMs: terms.reduce((s, t) => s + t.ms, 0), terms };
}
