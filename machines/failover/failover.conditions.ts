// Why: the condition types and reasons a failover's status carries, each with what it means for the person
// watching it (RamenDR status.go style). Status derivation (failover.status.ts) uses only these constants.

/** Condition types: at most one condition of each type is present. */
export const FailoverConditionType = {
  /** True while the failover is running (forward or rolling back); False once it has ended. */
  InProgress: 'InProgress',
  /** True when the application runs on the target cluster and owns the group: the failover succeeded. */
  Completed: 'Completed',
  /** True when the failover was undone and the application runs on the source again (nothing was lost). */
  RolledBack: 'RolledBack',
  /** True when the failover stopped without completing or rolling back; the message says why and what state the group is in. */
  Failed: 'Failed',
  /** True when a person must act: both clusters were unreachable past the point of no return. The message says what to do. */
  ManualInterventionRequired: 'ManualInterventionRequired',
  /** True when the transitory-state timeout (group.timeouts.transitoryState) has passed; the reason says whether the engine rolled back or is finishing. */
  TransitoryTimeoutExceeded: 'TransitoryTimeoutExceeded',
  /** True while a step is being retried after a failure; the message names the step and the last error. */
  Retrying: 'Retrying',
  /** True while the failover's lock lease is held (renewed every ttl/3); False when it was lost: every side effect stopped. */
  LeaseHeld: 'LeaseHeld',
  /** True once the point of no return has passed: from then on the failover only moves forward. */
  PointOfNoReturnPassed: 'PointOfNoReturnPassed',
  /** True while both clusters may hold PRIMARY volumes (UPTIME mode, by design) or the target force-promoted over a fenced source. */
  DualPrimaryWindow: 'DualPrimaryWindow',
} as const;
export type FailoverConditionTypeName = (typeof FailoverConditionType)[keyof typeof FailoverConditionType];

/** Condition reasons (PascalCase, machine-readable). */
export const FailoverConditionReason = {
  /** The failover was accepted and is validating its preconditions. */
  FailoverStarted: 'FailoverStarted',
  /** The source cluster is being shut down (network, Flux, CronJobs, workloads). */
  ShuttingDownSource: 'ShuttingDownSource',
  /** Volumes are being demoted on the source. */
  DemotingVolumes: 'DemotingVolumes',
  /** The target is waiting for the source to hand off the volumes, or is promoting them. */
  PromotingVolumes: 'PromotingVolumes',
  /** The target is preparing (UPTIME: promote, scale up, wait ready) before taking traffic. */
  PreparingTarget: 'PreparingTarget',
  /** Traffic is moving to the target (UPTIME). */
  SwitchingTraffic: 'SwitchingTraffic',
  /** Workloads, Flux and traffic are being brought up on the target. */
  ActivatingTarget: 'ActivatingTarget',
  /** The source is being deactivated after the traffic switch (UPTIME). */
  DeactivatingSource: 'DeactivatingSource',
  /** Ownership, history and the lock are being finalised. */
  Finalizing: 'Finalizing',
  /** This operator waits for its peer through global state (the one poll). */
  WaitingForPeer: 'WaitingForPeer',
  /** The target fenced the unreachable source and is taking over alone (unplanned failover). */
  FencingSource: 'FencingSource',
  /** The failover is being undone: the source is restored. */
  RollingBack: 'RollingBack',
  /** Every stage finished; ownership moved to the target and history was recorded. */
  FailoverSucceeded: 'FailoverSucceeded',
  /** A step failed for good before the point of no return; the engine rolled back to the source. */
  StepFailed: 'StepFailed',
  /** The transitory-state timeout passed before the point of no return: the engine rolled back. */
  RolledBackOnTimeout: 'RolledBackOnTimeout',
  /** The transitory-state timeout passed after the point of no return: rolling back would lose data, so the engine finishes forward. */
  FinishingForward: 'FinishingForward',
  /** The peer operator gave up and asked for a rollback (volume hand-off FAILED). */
  PeerFailed: 'PeerFailed',
  /** The preconditions do not hold (suspended group, unhealthy target, wrong owner, another failover holds the lock). */
  ValidationFailed: 'ValidationFailed',
  /** The lock lease was lost and another failover holds it, or the group changed owner: this failover stopped. */
  LeaseLost: 'LeaseLost',
  /** The lease was lost for a while and won back; the failover resumed where it stopped. */
  LeaseRegained: 'LeaseRegained',
  /** The lease is held and renewed. */
  LeaseRenewed: 'LeaseRenewed',
  /** Ownership moved on (a newer failover): this failover is superseded and stopped. */
  Superseded: 'Superseded',
  /** Both clusters were unreachable past the point of no return. */
  ClustersUnreachable: 'ClustersUnreachable',
  /** A retryable error; the step runs again after a backoff. */
  StepRetrying: 'StepRetrying',
  /** The source's volumes are demoted (CONSISTENCY) or the target took traffic (UPTIME): only forward from here. */
  VolumesDemoted: 'VolumesDemoted',
  TrafficSwitched: 'TrafficSwitched',
  TargetServing: 'TargetServing',
  /** UPTIME accepts both sides PRIMARY from target promotion until the source is demoted. */
  UptimeModeByDesign: 'UptimeModeByDesign',
  /** The target force-promoted while the fenced source may still report PRIMARY. */
  SourceFenced: 'SourceFenced',
  /** The condition does not apply (yet). */
  NotApplicable: 'NotApplicable',
} as const;
export type FailoverConditionReasonName = (typeof FailoverConditionReason)[keyof typeof FailoverConditionReason];

/** A Kubernetes-style condition. */
export interface Condition {
  type: FailoverConditionTypeName;
  status: 'True' | 'False' | 'Unknown';
  reason: FailoverConditionReasonName;
  message: string;
  /** RFC 3339, seconds precision. */
  lastTransitionTime: string;
}
