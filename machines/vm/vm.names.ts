// Why: the names the VM charts give to what they create. They are deterministic (a function of the VM and the
// kind of failover, never of time), so a step re-run after a crash finds what the first run made, and a cleanup
// started on its own finds the test VM and snapshots of the test it ends.
import type { FailoverKind } from './vm.types.ts';

/** CloudStack host names: lower-case letters, digits and hyphens, at most 63 characters, starting with a letter. */
export function sanitizeVmName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  const lettered = /^[a-z]/.test(s) ? s : `vm-${s}`;
  return lettered.slice(0, 63).replace(/-+$/, '');
}

/** The test VM is `<name>-test`; the live VM is `<name>-live`. */
export function targetVmName(kind: FailoverKind, vmName: string): string {
  const suffix = kind === 'test' ? '-test' : '-live';
  return sanitizeVmName(vmName).slice(0, 63 - suffix.length).replace(/-+$/, '') + suffix;
}

/** The rollback point of one replicated volume for one kind of failover. */
export function snapshotName(kind: FailoverKind, vmId: string, volumeId: string): string {
  return `${kind}-failover-${vmId}-${volumeId}`;
}
