// Why: the failover group, one application as it exists on both clusters: what the failover chart moves.
// Plain JSON, shared by the charts, the simulator's scenarios and the daemon's CRD.

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'CronJob';
export type NetworkResourceKind = 'VirtualService' | 'Ingress';
export type FluxResourceKind = 'HelmRelease' | 'Kustomization';

export interface WorkloadSpec {
  kind: WorkloadKind;
  name: string;
  /** Names of the VolumeReplications (same namespace) that carry this workload's volumes. */
  volumeReplications: string[];
}

export interface NetworkResourceSpec {
  kind: NetworkResourceKind;
  name: string;
}

export interface FluxResourceSpec {
  kind: FluxResourceKind;
  name: string;
  /** Request a reconcile when Flux is resumed on the target. */
  triggerReconcile: boolean;
}

export interface GroupTimeoutsSpec {
  /** The longest a group may stay in a failover before the engine rolls back or finishes. */
  transitoryStateMs: number;
  /** How long the primary may stay unhealthy before an automatic failover. */
  unhealthyPrimaryMs: number;
  /** How long without heartbeats before a cluster is assumed down. */
  heartbeatMs: number;
}

export interface FailoverGroupSpec {
  /** Unique id across clusters: `<namespace>/<name>`. */
  name: string;
  namespace: string;
  operatorID: string;
  suspended: boolean;
  suspensionReason?: string;
  timeouts: GroupTimeoutsSpec;
  heartbeatIntervalMs: number;
  workloads: WorkloadSpec[];
  networkResources: NetworkResourceSpec[];
  fluxResources: FluxResourceSpec[];
}

/** The sample values of the reference operator (`config/samples/failovergroup.yaml`). */
export const DEFAULT_GROUP_TIMEOUTS: GroupTimeoutsSpec = {
  transitoryStateMs: 5 * 60_000,
  unhealthyPrimaryMs: 2 * 60_000,
  heartbeatMs: 60_000,
};
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;

export function groupIdOf(spec: Pick<FailoverGroupSpec, 'namespace' | 'name'>): string {
  return `${spec.namespace}/${spec.name}`;
}
