// Why: one call starts every simulated controller of one cluster (the cluster's own machinery: no faults, no
// operator), so the world builder and the controller tests wire them the same way.
import type { SimKernel } from '../../kernel.ts';
import type { KubeStore } from '../store.types.ts';
import type { Controller, ControllerFork } from './common.ts';
import { CronJobController } from './cronjob.ts';
import { FluxController } from './flux.ts';
import { NetworkFenceController } from './networkfence.ts';
import { VolumeReplicationController, type VolumeReplicationOptions } from './volumereplication.ts';
import { ReplicatedWorkloadController } from './workloads.ts';

export interface ClusterControllers {
  deployments: ReplicatedWorkloadController;
  statefulSets: ReplicatedWorkloadController;
  cronJobs: CronJobController;
  volumeReplications: VolumeReplicationController;
  kustomizations: FluxController;
  helmReleases: FluxController;
  networkFences: NetworkFenceController;
  /** Every controller above, in start order. */
  all: Controller[];
  stop(): void;
}

export function startClusterControllers(kernel: SimKernel, store: KubeStore, volumes: VolumeReplicationOptions): ClusterControllers {
  const c = createClusterControllers(kernel, store, volumes);
  for (const ctl of c.all) ctl.start();
  return c;
}

/**
 * The controllers of a cluster whose store was forked from `src`'s: each takes over its counterpart's state and
 * pending work (in start order, as startClusterControllers subscribes them) instead of starting afresh.
 */
export function forkClusterControllers(kernel: SimKernel, store: KubeStore, volumes: VolumeReplicationOptions, src: ClusterControllers, fork: ControllerFork): ClusterControllers {
  const c = createClusterControllers(kernel, store, volumes);
  c.deployments.adopt(src.deployments, fork);
  c.statefulSets.adopt(src.statefulSets, fork);
  c.cronJobs.adopt(src.cronJobs, fork);
  c.volumeReplications.adopt(src.volumeReplications, fork);
  c.kustomizations.adopt(src.kustomizations, fork);
  c.helmReleases.adopt(src.helmReleases, fork);
  c.networkFences.adopt(src.networkFences, fork);
  return c;
}

function createClusterControllers(kernel: SimKernel, store: KubeStore, volumes: VolumeReplicationOptions): ClusterControllers {
  const ctx = { kernel, store };
  const c = {
    deployments: new ReplicatedWorkloadController(ctx, 'Deployment'),
    statefulSets: new ReplicatedWorkloadController(ctx, 'StatefulSet'),
    cronJobs: new CronJobController(ctx),
    volumeReplications: new VolumeReplicationController(ctx, volumes),
    kustomizations: new FluxController(ctx, 'Kustomization'),
    helmReleases: new FluxController(ctx, 'HelmRelease'),
    networkFences: new NetworkFenceController(ctx),
  };
  const all: Controller[] = [c.deployments, c.statefulSets, c.cronJobs, c.volumeReplications, c.kustomizations, c.helmReleases, c.networkFences];
  return { ...c, all, stop: () => all.forEach((ctl) => ctl.stop()) };
}

export type { ControllerFork } from './common.ts';
export { Annotations, EXTERNAL_DNS_ACTIVE, EXTERNAL_DNS_IGNORE } from './common.ts';
export { VolumeReplicationLedger, type DataHead, type DataLossRecord, type PrimaryEpoch } from './volume-ledger.ts';
export { VrCondition, VrReason, vrState, inSplitBrain, type VolumeState, type VolumePeers, type VolumeReplicationOptions } from './volumereplication.ts';
export { fluxPaused } from './flux.ts';
export { fenceInEffect, fenceCidrs } from './networkfence.ts';
export { parseCronSchedule, nextFireMs, parseGoDuration } from './cronjob.ts';
export { desiredReplicas, selectorLabels } from './workloads.ts';
