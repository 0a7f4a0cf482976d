// Why: what must hold in the simulated cloud whatever the faults, for VM failover runs: a replicated source
// volume is never destroyed, no VM ever boots from a half-written disk, and once faults heal no source volume
// is left orphaned and no CloudStack job is left running. Scenarios add the ones that fit them.
import type { Invariant } from '../kernel.ts';
import type { SimCloud } from './cloud.ts';

/** Always: every replicated source volume still exists (a destroy with expunge or a deleteVolume never took one). */
export function sourceVolumesNeverDeleted(cloud: SimCloud): Invariant {
  return {
    name: 'cloudstack.source-volume-never-deleted',
    kind: 'always',
    check: () => {
      const gone = cloud.sourceVolumeIds().filter((id) => cloud.whereIs(id).kind === 'deleted');
      return gone.length ? `source volume(s) ${gone.join(', ')} were deleted` : undefined;
    },
  };
}

/** Always: no VM was started from a half-written (failed injection, not reverted) disk. */
export function neverBootsHalfWrittenDisk(cloud: SimCloud): Invariant {
  return {
    name: 'cloudstack.never-boots-half-written-disk',
    kind: 'always',
    check: () => {
      const bad = cloud.sortedVms().filter((v) => v.state === 'Running' && v.guest === 'corrupt');
      return bad.length ? `VM(s) ${bad.map((v) => v.name).join(', ')} booted from a half-written disk` : undefined;
    },
  };
}

/** Eventually: every source volume is attached somewhere (the appliance, or a test/live VM): never orphaned. */
export function sourceVolumesNotOrphaned(cloud: SimCloud): Invariant {
  return {
    name: 'cloudstack.source-volume-not-orphaned',
    kind: 'eventually',
    check: () => {
      const loose = cloud.sourceVolumeIds().filter((id) => cloud.whereIs(id).kind === 'detached');
      return loose.length ? `source volume(s) ${loose.join(', ')} are attached to nothing` : undefined;
    },
  };
}

/** Eventually: no CloudStack job is still pending. */
export function noPendingJobs(cloud: SimCloud): Invariant {
  return {
    name: 'cloudstack.no-pending-jobs',
    kind: 'eventually',
    check: () => {
      const pending = [...cloud.jobs.values()].filter((j) => j.status === 0);
      return pending.length ? `job(s) still pending: ${pending.map((j) => `${j.command} ${j.id}`).join(', ')}` : undefined;
    },
  };
}

/** The four above. */
export function cloudInvariants(cloud: SimCloud): Invariant[] {
  return [sourceVolumesNeverDeleted(cloud), neverBootsHalfWrittenDisk(cloud), sourceVolumesNotOrphaned(cloud), noPendingJobs(cloud)];
}
