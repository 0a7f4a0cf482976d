// Why: the daemon must know, from its cluster's discovery, at which API version each kind it reads and writes is
// served (a Kubernetes 1.20 server serves CronJob as batch/v1beta1 only), must refuse to start without its own CRDs
// and the csi-addons kinds it cannot work without (one line naming the missing one and the fix), and must name a
// missing API in a FailoverGroup's conditions instead of reporting a cache that never syncs as broken workloads.
import type { Logger } from 'pino';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { isDriverError } from '../../drivers/errors.ts';
import { apiVersionOf, Kinds, type ClusterPort, type GVK } from '../../drivers/cluster/cluster.port.ts';
import { FailoverGroupKind, FailoverKind } from './api.ts';
import type { ResourceKindName } from './health.ts';

/**
 * The oldest Kubernetes whose API server enforces the engine's CRDs as written: their CEL rules
 * (x-kubernetes-validations, on by default since 1.25) use `fieldPath`, which the API server knows since 1.28.
 */
export const MIN_KUBERNETES_VERSION = '1.28';

/** CronJob served before Kubernetes 1.21 (and until 1.24, next to batch/v1). */
export const CRONJOB_V1BETA1: GVK = Object.freeze({ group: 'batch', version: 'v1beta1', kind: 'CronJob' });

/** The versions tried for each kind a group can name, preferred first. */
const CANDIDATES: Record<ResourceKindName, readonly GVK[]> = {
  Deployment: [Kinds.Deployment],
  StatefulSet: [Kinds.StatefulSet],
  CronJob: [Kinds.CronJob, CRONJOB_V1BETA1],
  VolumeReplication: [Kinds.VolumeReplication],
  VirtualService: [Kinds.VirtualService],
  Ingress: [Kinds.Ingress],
  HelmRelease: [Kinds.HelmRelease],
  Kustomization: [Kinds.Kustomization],
};

/** What is missing when none of a kind's versions is served, and what to do about it. */
function missingMessage(kind: ResourceKindName, cluster: string): string {
  const gvk = CANDIDATES[kind][0];
  switch (kind) {
    case 'CronJob':
      return `cluster ${cluster} serves CronJob neither as batch/v1 (Kubernetes 1.21 and later) nor as batch/v1beta1 (Kubernetes 1.8 to 1.24): run Kubernetes 1.21 or later, or remove the CronJobs from the group`;
    case 'VirtualService':
      return `cluster ${cluster} does not serve ${apiVersionOf(gvk)} VirtualService: install Istio (its CRDs, e.g. kubectl apply -f crds/upstream/networking.istio.io_virtualservices.yaml), or remove the VirtualServices from the group`;
    case 'HelmRelease':
    case 'Kustomization':
      return `cluster ${cluster} does not serve ${apiVersionOf(gvk)} ${kind}: install Flux (its CRDs, e.g. kubectl apply -f crds/upstream/), or remove the ${kind}s from the group`;
    case 'VolumeReplication':
      return `cluster ${cluster} does not serve ${apiVersionOf(gvk)} VolumeReplication: install the csi-addons replication CRDs (e.g. kubectl apply -f crds/upstream/)`;
    default:
      return `cluster ${cluster} does not serve ${apiVersionOf(gvk)} ${kind}: run Kubernetes ${MIN_KUBERNETES_VERSION} or later`;
  }
}

/** A kind the daemon cannot start without is not served; the message names it and the fix. */
export class MissingApiError extends Error {
  override readonly name = 'MissingApiError';
}

export interface ServedKinds {
  /** The version each kind is served at on this cluster (absent when it is not served at all). */
  readonly gvk: Partial<Record<ResourceKindName, GVK>>;
  /** For each kind served at no known version: what is missing and the fix. */
  readonly missing: Partial<Record<ResourceKindName, string>>;
}

/** Every kind at its preferred version: what the daemon assumes when it is not told (tests, tools). */
export function preferredKinds(): ServedKinds {
  const gvk: Partial<Record<ResourceKindName, GVK>> = {};
  for (const [k, versions] of Object.entries(CANDIDATES) as Array<[ResourceKindName, readonly GVK[]]>) gvk[k] = versions[0];
  return { gvk, missing: {} };
}

/**
 * Asks discovery, once at start: throws MissingApiError when the engine's own CRDs, the csi-addons VolumeReplication
 * or (with fencing configured) NetworkFence are not served; otherwise resolves the version of every kind a group can
 * name (CronJob: batch/v1, else batch/v1beta1) and says which are missing.
 */
export async function discoverServedKinds(port: ClusterPort, o: { cluster: string; fencing: boolean; log: Logger; clock: ClockPort }): Promise<ServedKinds> {
  const served = (gvk: GVK) => servedRetrying(port, gvk, o);
  const required: Array<{ gvk: GVK; fix: string }> = [
    { gvk: FailoverGroupKind, fix: 'install the engine\'s CRDs: kubectl apply -f crds/engine/' },
    { gvk: FailoverKind, fix: 'install the engine\'s CRDs: kubectl apply -f crds/engine/' },
    { gvk: Kinds.VolumeReplication, fix: 'install the csi-addons replication CRDs (e.g. kubectl apply -f crds/upstream/)' },
  ];
  if (o.fencing) required.push({ gvk: Kinds.NetworkFence, fix: 'install the csi-addons NetworkFence CRD (e.g. kubectl apply -f crds/upstream/csiaddons.openshift.io_networkfences.yaml), or run without --fence-cidr' });
  for (const r of required) {
    if (!(await served(r.gvk))) {
      throw new MissingApiError(`cluster ${o.cluster} does not serve ${apiVersionOf(r.gvk)} ${r.gvk.kind}: ${r.fix} (the engine's CRDs need Kubernetes ${MIN_KUBERNETES_VERSION} or later)`);
    }
  }
  const gvk: Partial<Record<ResourceKindName, GVK>> = {};
  const missing: Partial<Record<ResourceKindName, string>> = {};
  for (const [kind, versions] of Object.entries(CANDIDATES) as Array<[ResourceKindName, readonly GVK[]]>) {
    let found: GVK | undefined;
    for (const v of versions) {
      if (await served(v)) {
        found = v;
        break;
      }
    }
    if (found) gvk[kind] = found;
    else missing[kind] = missingMessage(kind, o.cluster);
  }
  if (gvk.CronJob && gvk.CronJob !== Kinds.CronJob) o.log.info({ apiVersion: apiVersionOf(gvk.CronJob) }, 'This cluster serves CronJob at an older API version; the daemon uses it');
  for (const [kind, why] of Object.entries(missing)) o.log.info({ kind }, `Not served here (only a group that names it needs it): ${why}`);
  return { gvk, missing };
}

/** How long discovery at start keeps trying through retryable failures (throttling, a lost answer) before it gives up. */
export const DISCOVERY_PATIENCE_MS = 5 * 60_000;
const DISCOVERY_RETRY_BASE_MS = 500;
const DISCOVERY_RETRY_MAX_MS = 30_000;

/**
 * One discovery question, asked again with backoff while the API server answers with a retryable failure: a daemon
 * must not refuse to start because its API server throttled it once (found by the daemon-level swarm).
 */
async function servedRetrying(port: ClusterPort, gvk: GVK, o: { log: Logger; clock: ClockPort }): Promise<boolean> {
  const giveUpAtMs = o.clock.now() + DISCOVERY_PATIENCE_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await port.served(gvk, { log: o.log });
    } catch (e) {
      if (!isDriverError(e) || !e.retryable || o.clock.now() >= giveUpAtMs) throw e;
      const waitMs = Math.min(DISCOVERY_RETRY_MAX_MS, DISCOVERY_RETRY_BASE_MS * 2 ** Math.min(attempt, 16));
      o.log.warn({ kind: gvk.kind, err: e.message, retryInMs: waitMs }, 'Discovery failed; asking again');
      await o.clock.sleep(waitMs);
    }
  }
}
