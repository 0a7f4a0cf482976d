// Why: the job-log step names of the VM jobs, in one place, so the charts, the status, the CLI's plan and the
// tests agree. The first six are the reference's (sendense enhanced test failover); the rest name the steps the
// reference leaves implicit (cleanup, rollback, failback).
import type { FailoverKind } from './vm.types.ts';

export const StepName = {
  validation: 'pre-failover-validation',
  snapshot: 'cloudstack-volume-snapshot-creation',
  injection: 'virtio-driver-injection',
  injectionRevert: 'virtio-injection-revert',
  volumeAttachment: 'volume-attachment',
  contextUpdate: 'vm-context-update',
  snapshotDeletion: 'snapshot-deletion',
  failbackValidation: 'pre-failback-validation',
  volumeReattach: 'volume-reattach',
} as const;

/** `test-vm-creation` / `live-vm-creation`, and the same for startup and validation. */
export function vmStepName(kind: FailoverKind, what: 'creation' | 'startup' | 'validation' | 'shutdown' | 'removal' | 'restart'): string {
  return `${kind}-vm-${what}`;
}

/** Rollback steps are the cleanup's steps, prefixed, so they never collide with the failed job's own. */
export function cleanupStepName(mode: 'cleanup' | 'rollback', name: string): string {
  return mode === 'rollback' ? `rollback-${name}` : name;
}
