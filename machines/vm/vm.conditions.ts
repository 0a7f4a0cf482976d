// Why: the condition types and reasons a VM job's status carries, each with what it means for the person
// watching it (RamenDR status.go style), and the builders the charts use to record the conditions that only
// they can know (a volume left attached to nothing, a snapshot kept because the revert failed). Status
// derivation (vm.status.ts) uses only these constants.
import type { StepError, VmCondition } from './vm.types.ts';

/** Condition types: at most one condition of each type per subject is present. */
export const VmConditionType = {
  /** True while the job runs (forward or rolling back); False once it has ended. */
  InProgress: 'InProgress',
  /** True when the job did what it was asked (the test VM runs, the VM failed over, the test was cleaned up, the VM failed back). */
  Completed: 'Completed',
  /** True when the pre-failover validation scored the VM ready (score ≥ 80, no critical failure); the message gives the score. */
  Ready: 'Ready',
  /** True when a failed failover was undone: the volumes are back on the appliance, reverted, and the partial resources are gone. */
  RolledBack: 'RolledBack',
  /** True when the job ended without doing what it was asked; the message says why and where things were left. */
  Failed: 'Failed',
  /** True when a volume is attached to nothing after every way back failed. A person must attach it; the message says where. */
  VolumeOrphaned: 'VolumeOrphaned',
  /** True when where a volume is could not be read at the end: check it in CloudStack. */
  VolumeLocationUnknown: 'VolumeLocationUnknown',
  /** True when a volume could not be reverted to its snapshot: the snapshot is kept for a manual revert. */
  SnapshotKept: 'SnapshotKept',
  /** True when the test or live VM could not be removed (or was kept because a volume was still on it). */
  VmKept: 'VmKept',
  /** True while a test VM runs; the message says when it ends by itself, if it does. */
  TestRunning: 'TestRunning',
  /** True when the job log could not be written at the end (the outcome in status is still right). */
  JobLogNotUpdated: 'JobLogNotUpdated',
} as const;
export type VmConditionTypeName = (typeof VmConditionType)[keyof typeof VmConditionType];

/** Condition reasons (PascalCase, machine-readable). */
export const VmConditionReason = {
  /** The job is validating the VM. */
  Validating: 'Validating',
  /** Snapshots are being taken as the rollback point. */
  Snapshotting: 'Snapshotting',
  /** VirtIO drivers are being injected into the boot volume. */
  InjectingDrivers: 'InjectingDrivers',
  /** The boot volume is being reverted to its snapshot before the injection runs again. */
  RevertingForRetry: 'RevertingForRetry',
  /** The test or live VM is being created. */
  CreatingVm: 'CreatingVm',
  /** The volumes are moving from the appliance to the new VM. */
  SwitchingVolumes: 'SwitchingVolumes',
  /** The new VM is starting. */
  PoweringOn: 'PoweringOn',
  /** The new VM is being checked (running, boot disk at device 0). */
  VerifyingVm: 'VerifyingVm',
  /** The job's outcome is being recorded. */
  Finishing: 'Finishing',
  /** A test VM runs; the test ends with a cleanup. */
  TestVmRunning: 'TestVmRunning',
  /** The test is being cleaned up. */
  CleaningUp: 'CleaningUp',
  /** The failed job is being undone. */
  RollingBack: 'RollingBack',
  /** Failback: the live VM is stopping and the volumes go back to the appliance. */
  FailingBack: 'FailingBack',
  /** The score or a critical check said no; nothing was changed. */
  NotReady: 'NotReady',
  /** A step failed for good; the message names it and the error. */
  StepFailed: 'StepFailed',
  /** Every step finished. */
  Succeeded: 'Succeeded',
  /** Every way back to the appliance failed. */
  ReattachFailed: 'ReattachFailed',
  /** The revert to the snapshot failed. */
  RevertFailed: 'RevertFailed',
  /** The VM still held a volume, so it was kept. */
  VolumeStillAttached: 'VolumeStillAttached',
  /** The VM could not be stopped or removed. */
  VmOperationFailed: 'VmOperationFailed',
  /** The volume could not be read. */
  ReadFailed: 'ReadFailed',
  /** The job log would not take the final write. */
  JobLogUnavailable: 'JobLogUnavailable',
} as const;

export function condition(type: VmConditionTypeName, status: VmCondition['status'], reason: string, message: string): VmCondition {
  return { type, status, reason, message };
}

/** The one message the issue asks for: which volume, that it is attached to nothing, and the manual step. */
export function volumeOrphaned(volumeId: string, applianceVmId: string, devicePath: string | undefined, cause?: StepError): VmCondition {
  return condition(
    VmConditionType.VolumeOrphaned,
    'True',
    VmConditionReason.ReattachFailed,
    `volume ${volumeId} is attached to nothing; attach it to appliance VM ${applianceVmId}${devicePath ? ` (device ${devicePath})` : ''} by hand` +
      (cause ? ` (last error: ${cause.op}: ${cause.message})` : ''),
  );
}

export function volumeLocationUnknown(volumeId: string, applianceVmId: string, cause?: StepError): VmCondition {
  return condition(
    VmConditionType.VolumeLocationUnknown,
    'True',
    VmConditionReason.ReadFailed,
    `where volume ${volumeId} is could not be read; check it in CloudStack and make sure it is attached to appliance VM ${applianceVmId}` +
      (cause ? ` (last error: ${cause.op}: ${cause.message})` : ''),
  );
}

export function snapshotKept(volumeId: string, snapshot: string, cause?: StepError): VmCondition {
  return condition(
    VmConditionType.SnapshotKept,
    'True',
    VmConditionReason.RevertFailed,
    `volume ${volumeId} was not reverted to snapshot ${snapshot}; the snapshot is kept: revert it by hand (revertSnapshot) while the volume is detached, then delete it` +
      (cause ? ` (error: ${cause.op}: ${cause.message})` : ''),
  );
}

export function vmKept(vmName: string, vmId: string | undefined, reason: string, message: string): VmCondition {
  return condition(VmConditionType.VmKept, 'True', reason, `VM ${vmName}${vmId ? ` (${vmId})` : ''} was kept: ${message}`);
}

/** Adds or replaces the condition of the same type and subject (the message's first word group names it). */
export function withCondition(list: VmCondition[], c: VmCondition): VmCondition[] {
  const subject = (x: VmCondition) => `${x.type}:${x.message.split(' ').slice(0, 2).join(' ')}`;
  return [...list.filter((x) => subject(x) !== subject(c)), c];
}

/** The job log would not take the job's final write (the outcome in status still stands). */
export function jobLogNotUpdated(cause: StepError): VmCondition {
  return condition(VmConditionType.JobLogNotUpdated, 'True', VmConditionReason.JobLogUnavailable, `the job's final status could not be written: ${cause.message}`);
}

/** The condition for a volume that ended attached to nothing (`none`) or unread (`unknown`). */
export function volumeLost(o: { volumeId: string; where: string; error?: StepError }, applianceVmId: string, devicePath?: string): VmCondition {
  return o.where === 'none' ? volumeOrphaned(o.volumeId, applianceVmId, devicePath, o.error) : volumeLocationUnknown(o.volumeId, applianceVmId, o.error);
}

/** The job's final error when a volume is orphaned or unread: the conditions that name each such volume. */
export function volumeOrphanedError(conditions: VmCondition[], op: string): StepError {
  return {
    kind: 'Fatal',
    driver: 'engine',
    op,
    reason: 'VolumeOrphaned',
    message: conditions
      .filter((c) => c.type === VmConditionType.VolumeOrphaned || c.type === VmConditionType.VolumeLocationUnknown)
      .map((c) => `${c.type}: ${c.message}`)
      .join('; '),
  };
}
