// Why: the condition types and reasons the daemon itself writes (on FailoverGroups, and on Failovers it could not
// accept), each with what it means for the person reading it (RamenDR status.go style). The conditions of a
// running failover come from the chart's snapshot (machines/failover/failover.conditions.ts), not from here.

export const GroupConditionType = {
  /** True when the spec parses; False names the field and the fix. */
  SpecValid: 'SpecValid',
  /** True when the group has its record in global state; False while waiting for the cluster that runs it to register it. */
  Registered: 'Registered',
  /** True while this cluster's heartbeats reach global state; False when the last one failed. */
  Heartbeating: 'Heartbeating',
  /** True when every resource of the group is as expected on this cluster (running here, or at rest on a standby). */
  Healthy: 'Healthy',
  /** Whether this cluster's daemon may start an automatic failover of the group; the reason says why not. */
  AutoFailoverReady: 'AutoFailoverReady',
  /**
   * Only on a cluster that does not own the group: True once this cluster stood down for the current owner
   * (traffic off, Flux and CronJobs paused, workloads at 0, volumes secondary); False while it is standing down or
   * when standing down failed (the message has the error and what a person must do).
   */
  StoodDown: 'StoodDown',
} as const;

export const GroupConditionReason = {
  Valid: 'Valid',
  /** A field of the spec is wrong; the message names it. */
  InvalidSpec: 'InvalidSpec',
  /** The group record exists in global state. */
  GroupRegistered: 'GroupRegistered',
  /** No record yet and this cluster does not run the workloads: the cluster that does registers the group. */
  AwaitingPrimary: 'AwaitingPrimary',
  /** Global state could not be reached or refused the write; the message has the error. */
  GlobalStateError: 'GlobalStateError',
  /** The group names a kind this cluster's API server does not serve; the message names the API and the fix. */
  MissingAPI: 'MissingAPI',
  HeartbeatSent: 'HeartbeatSent',
  AllResourcesHealthy: 'AllResourcesHealthy',
  ResourcesDegraded: 'ResourcesDegraded',
  ResourcesFailing: 'ResourcesFailing',
  /** spec.suspended (or the global record) disables automatic failovers. */
  Suspended: 'Suspended',
  /** This cluster is the primary: automatic failovers start on a standby. */
  IsPrimary: 'IsPrimary',
  /** This standby watches the primary and would fail over to itself. */
  Armed: 'Armed',
  /** Another healthy standby has precedence (the lowest name wins). */
  OtherStandbyElected: 'OtherStandbyElected',
  /** This standby is not healthy enough to take the group over. */
  StandbyUnhealthy: 'StandbyUnhealthy',
  /** A failover of the group is in progress (the group is locked). */
  FailoverInProgress: 'FailoverInProgress',
  /** This daemon started an automatic failover; the message names the Failover. */
  Triggered: 'Triggered',
  /** Another cluster owns the group: this cluster's daemon runs the rejoin chart to keep its side down. */
  StandingDown: 'StandingDown',
  /** This cluster stood down for the current owner; the owner may now lift its fence against this cluster. */
  StoodDown: 'StoodDown',
  /** The rejoin chart failed; it runs again with backoff. The message has the error and the manual step. */
  StandDownFailed: 'StandDownFailed',
} as const;

export const FailoverAcceptance = {
  /** Condition type: True when this cluster's daemon runs its part of the failover; False says why not. */
  Accepted: 'Accepted',
  /** The spec (or a FailoverGroup it names) is wrong; the message names the field and the fix. */
  InvalidSpec: 'InvalidSpec',
  /** Waiting for the group to appear in global state (its primary's daemon registers it). */
  GroupNotRegistered: 'GroupNotRegistered',
  /** This cluster is neither the source nor the target of the failover. */
  NotInvolved: 'NotInvolved',
  /** This cluster's daemon runs its part (the role is in status.role). */
  Running: 'Running',
} as const;

export interface KubeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** The new conditions, keeping each one's lastTransitionTime while its status has not changed. */
export function mergeConditions(previous: unknown, next: KubeCondition[]): KubeCondition[] {
  const prev = Array.isArray(previous) ? (previous as Array<Partial<KubeCondition>>) : [];
  return next.map((c) => {
    const old = prev.find((p) => p && p.type === c.type);
    return old && old.status === c.status && typeof old.lastTransitionTime === 'string' ? { ...c, lastTransitionTime: old.lastTransitionTime } : c;
  });
}
