// Why: the end of a test failover, and the undo of a failed test or live failover, as one chart: stop the VM,
// bring each volume off it, revert the volume to its snapshot while it is detached, put it back on the
// appliance, then remove the VM and the snapshots. The order is the reference's rollback ranking: first the
// volume goes back somewhere (never left on nothing), then the VM goes, then the snapshot. A snapshot whose
// revert failed is kept (it is the only copy of the data before injection) and a VM that still holds a volume
// is kept (destroying it would take the volume with it); both are named in conditions.
import { assign, not, setup } from 'xstate';
import { retryingStep, stepError, stepOk } from './step.machine.ts';
import { onStepFailed, onStepThrew } from './step.transitions.ts';
import { cleanupStepName } from './vm.steps.ts';
import { condition, jobLogNotUpdated, snapshotKept, VmConditionReason, VmConditionType, vmKept, volumeLocationUnknown, volumeOrphaned, withCondition } from './vm.conditions.ts';
import { vmLifecycleMachine } from './vm-lifecycle.machine.ts';
import { volumeLifecycleMachine } from './volume-lifecycle.machine.ts';
import type { CleanupInput, CleanupOutput, StepError, StepOutcome, VmCondition, VmLifecycleOutput, VolumeLifecycleOutput, VolumeWhere } from './vm.types.ts';

export const CLEANUP_MACHINE_VERSION = 1;

export interface CleanupVolumeState {
  volumeId: string;
  where: VolumeWhere;
  vmId?: string;
  /** true: reverted; false: the revert failed (snapshot kept); undefined: not attempted. */
  reverted?: boolean;
}

export interface CleanupContext extends CleanupInput {
  volumeIndex: number;
  volumes: CleanupVolumeState[];
  vmStopped: boolean;
  vmRemoved: boolean;
  snapshotsDeleted: boolean;
  jobFinished: boolean;
  error?: StepError;
  conditions: VmCondition[];
}

function current(c: CleanupContext): CleanupVolumeState {
  return c.volumes[c.volumeIndex];
}

function updateVolume(c: CleanupContext, patch: Partial<CleanupVolumeState>): CleanupVolumeState[] {
  return c.volumes.map((v, i) => (i === c.volumeIndex ? { ...v, ...patch } : v));
}

function snapshotOf(c: CleanupContext, volumeId: string) {
  return c.snapshots.find((s) => s.volumeId === volumeId);
}

/** The snapshots that may go: those of volumes reverted (or not needing a revert). Failed reverts keep theirs. */
function deletableSnapshots(c: CleanupContext) {
  return c.snapshots.filter((s) => {
    const v = c.volumes.find((x) => x.volumeId === s.volumeId);
    return !c.revert || v?.reverted === true;
  });
}

function allOnAppliance(c: CleanupContext): boolean {
  return c.volumes.every((v) => v.where === 'appliance');
}

function anyOrphaned(c: CleanupContext): boolean {
  return c.volumes.some((v) => v.where === 'none' || v.where === 'unknown');
}

function isClean(c: CleanupContext): boolean {
  return allOnAppliance(c) && (c.vm === undefined || c.vmRemoved) && c.snapshotsDeleted && (!c.revert || c.volumes.every((v) => v.reverted === true));
}

export const cleanupMachine = setup({
  types: {
    input: {} as CleanupInput,
    context: {} as CleanupContext,
    output: {} as CleanupOutput,
  },
  actors: {
    openJob: retryingStep('openJob'),
    vmLifecycle: vmLifecycleMachine,
    volumeLifecycle: volumeLifecycleMachine,
    revertSnapshot: retryingStep('revertSnapshot'),
    deleteSnapshots: retryingStep('deleteSnapshots'),
    setContextStatus: retryingStep('setContextStatus'),
    finishJob: retryingStep('finishJob'),
  },
  guards: {
    ownsJob: ({ context }) => context.mode === 'cleanup',
    hasVm: ({ context }) => context.vm !== undefined,
    readyToRevert: ({ context }, o: VolumeLifecycleOutput) => o.goalReached && context.revert && snapshotOf(context, current(context).volumeId) !== undefined,
    stepFailed: (_, o: StepOutcome) => !stepOk(o),
    vmGoalReached: (_, o: VmLifecycleOutput) => o.goalReached,
    volumeGoalReached: (_, o: VolumeLifecycleOutput) => o.goalReached,
    volumeAt: (_, p: { o: VolumeLifecycleOutput; where: VolumeWhere[] }) => p.where.includes(p.o.where),
    moreVolumes: ({ context }) => context.volumeIndex + 1 < context.volumes.length,
    vmFree: ({ context }) => context.vm !== undefined && context.volumes.every((v) => v.vmId === undefined || v.vmId !== context.vm?.vmId) && !anyOrphaned(context),
    hasDeletableSnapshots: ({ context }) => deletableSnapshots(context).length > 0,
    clean: ({ context }) => isClean(context),
    orphaned: ({ context }) => anyOrphaned(context),
  },
  actions: {
    noteError: assign(({ context }, e: StepError) => ({ error: context.error ?? e })),
    addCondition: assign(({ context }, c: VmCondition) => ({ conditions: withCondition(context.conditions, c) })),
    noteVolume: assign(({ context }, o: VolumeLifecycleOutput) => ({ volumes: updateVolume(context, { where: o.where, vmId: o.vmId }), error: context.error ?? o.error })),
    noteRevert: assign(({ context }, reverted: boolean) => ({ volumes: updateVolume(context, { reverted }) })),
    /** A volume that could not come off for its revert keeps its snapshot: name it, so nothing is left unsaid. */
    noteSnapshotKept: assign(({ context }, error: StepError | undefined) => {
      const snap = context.revert ? snapshotOf(context, current(context).volumeId) : undefined;
      if (!snap) return {};
      return { conditions: withCondition(context.conditions, snapshotKept(current(context).volumeId, snap.name, error)) };
    }),
    noteVolumeConditions: assign(({ context }, o: VolumeLifecycleOutput) => {
      let conditions = context.conditions;
      if (o.where === 'none') conditions = withCondition(conditions, volumeOrphaned(o.volumeId, context.applianceVmId, context.devicePaths[o.volumeId], o.error));
      if (o.where === 'unknown') conditions = withCondition(conditions, volumeLocationUnknown(o.volumeId, context.applianceVmId, o.error));
      return { conditions };
    }),
  },
}).createMachine({
  id: 'cleanup',
  context: ({ input }) => ({
    ...input,
    volumeIndex: 0,
    volumes: input.volumeIds.map((volumeId) => ({ volumeId, where: 'unknown' as const })),
    vmStopped: false,
    vmRemoved: false,
    snapshotsDeleted: input.snapshots.length === 0,
    jobFinished: false,
    conditions: [],
  }),
  initial: 'starting',
  states: {
    starting: {
      always: [{ guard: 'ownsJob', target: 'openingJob' }, { target: 'stoppingVm' }],
    },
    openingJob: {
      invoke: {
        id: 'openJob',
        src: 'openJob',
        input: ({ context }) => ({ op: 'openJob', args: { job: context.job }, retry: context.policy.retry }),
        onDone: [onStepFailed('ending', 'openJob', 'noteError'), { target: 'stoppingVm' }],
        onError: onStepThrew('ending', 'openJob', 'noteError'),
      },
    },
    // A VM's root disk can only be detached while the VM is stopped.
    stoppingVm: {
      always: { guard: not('hasVm'), target: 'releasingVolume' },
      invoke: {
        id: 'stopVm',
        src: 'vmLifecycle',
        input: ({ context }) => ({
          jobId: context.job.jobId,
          vm: context.vm ?? { name: '' },
          goal: 'stopped' as const,
          acceptAbsent: true,
          record: { name: cleanupStepName(context.mode, `${context.vmRole}-vm-shutdown`), statuses: ['cleanup' as const] },
          protectedVolumeIds: context.volumeIds,
          policy: context.policy,
        }),
        onDone: [
          {
            guard: { type: 'vmGoalReached', params: ({ event }) => event.output },
            target: 'releasingVolume',
            actions: assign({
              vmStopped: true,
              vm: ({ context, event }) => (context.vm ? { ...context.vm, vmId: (event.output as VmLifecycleOutput).vmId ?? context.vm.vmId } : context.vm),
            }),
          },
          {
            // Not stopped: its root disk stays on it (safe); the data disks can still come off.
            target: 'releasingVolume',
            actions: [
              { type: 'noteError', params: ({ event }) => (event.output as VmLifecycleOutput).error ?? stepError(undefined, 'stopVm') },
              {
                type: 'addCondition',
                params: ({ context, event }) =>
                  vmKept(context.vm?.name ?? '?', (event.output as VmLifecycleOutput).vmId, VmConditionReason.VmOperationFailed, `it could not be stopped (${(event.output as VmLifecycleOutput).error?.message ?? 'unknown error'})`),
              },
            ],
          },
        ],
        onError: onStepThrew('releasingVolume', 'stopVm', 'noteError'),
      },
    },
    // Per volume: off the VM (detached, to revert it) or straight back to the appliance when there is nothing to revert.
    releasingVolume: {
      invoke: {
        id: 'releaseVolume',
        src: 'volumeLifecycle',
        input: ({ context }) => ({
          jobId: context.job.jobId,
          volumeId: current(context).volumeId,
          applianceVmId: context.applianceVmId,
          targetVmId: context.vm?.vmId,
          goal: context.revert && snapshotOf(context, current(context).volumeId) ? ('detached' as const) : ('appliance' as const),
          fallbackToTarget: false,
          record: { name: cleanupStepName(context.mode, 'volume-detach'), statuses: ['cleanup' as const] },
          policy: context.policy,
        }),
        onDone: [
          {
            guard: { type: 'readyToRevert', params: ({ event }) => event.output },
            target: 'revertingSnapshot',
            actions: { type: 'noteVolume', params: ({ event }) => event.output },
          },
          {
            guard: { type: 'volumeGoalReached', params: ({ event }) => event.output },
            target: 'nextVolume',
            actions: { type: 'noteVolume', params: ({ event }) => event.output },
          },
          {
            // Could not come off the VM (or could not be read): it is not reverted, and its snapshot is kept.
            target: 'nextVolume',
            actions: [
              { type: 'noteVolume', params: ({ event }) => event.output },
              { type: 'noteVolumeConditions', params: ({ event }) => event.output },
              { type: 'noteRevert', params: false },
              { type: 'noteSnapshotKept', params: ({ event }) => event.output.error },
            ],
          },
        ],
        onError: {
          target: 'nextVolume',
          actions: [
            { type: 'noteError', params: ({ event }) => stepError(undefined, `releaseVolume: ${String(event.error)}`) },
            { type: 'noteRevert', params: false },
            { type: 'noteSnapshotKept', params: ({ event }) => stepError(undefined, `releaseVolume: ${String(event.error)}`) },
          ],
        },
      },
    },
    revertingSnapshot: {
      invoke: {
        id: 'revertSnapshot',
        src: 'revertSnapshot',
        input: ({ context }) => ({
          op: 'revertSnapshot',
          args: { volumeId: current(context).volumeId, snapshot: snapshotOf(context, current(context).volumeId) },
          record: {
            jobId: context.job.jobId,
            name: cleanupStepName(context.mode, 'snapshot-revert'),
            mode: 'whole' as const,
            statuses: ['reverting' as const],
          },
          retry: context.policy.retry,
        }),
        onDone: [
          {
            guard: { type: 'stepFailed', params: ({ event }) => event.output },
            target: 'reattaching',
            actions: [
              { type: 'noteRevert', params: false },
              { type: 'noteError', params: ({ event }) => stepError(event.output, 'revertSnapshot') },
              {
                type: 'addCondition',
                params: ({ context, event }) =>
                  snapshotKept(current(context).volumeId, snapshotOf(context, current(context).volumeId)?.name ?? '?', stepError(event.output, 'revertSnapshot')),
              },
            ],
          },
          { target: 'reattaching', actions: { type: 'noteRevert', params: true } },
        ],
        onError: {
          target: 'reattaching',
          actions: [{ type: 'noteRevert', params: false }, { type: 'noteError', params: ({ event }) => stepError(undefined, `revertSnapshot: ${String(event.error)}`) }],
        },
      },
    },
    reattaching: {
      invoke: {
        id: 'reattachVolume',
        src: 'volumeLifecycle',
        input: ({ context }) => ({
          jobId: context.job.jobId,
          volumeId: current(context).volumeId,
          applianceVmId: context.applianceVmId,
          targetVmId: context.vm?.vmId,
          goal: 'appliance' as const,
          fallbackToTarget: false,
          record: { name: cleanupStepName(context.mode, 'volume-reattach'), statuses: ['reverting' as const] },
          policy: context.policy,
        }),
        onDone: {
          target: 'nextVolume',
          actions: [{ type: 'noteVolume', params: ({ event }) => event.output }, { type: 'noteVolumeConditions', params: ({ event }) => event.output }],
        },
        onError: {
          target: 'nextVolume',
          actions: [
            { type: 'noteError', params: ({ event }) => stepError(undefined, `reattachVolume: ${String(event.error)}`) },
            assign({ volumes: ({ context }) => updateVolume(context, { where: 'unknown' }) }),
          ],
        },
      },
    },
    nextVolume: {
      always: [
        { guard: 'moreVolumes', target: 'releasingVolume', actions: assign({ volumeIndex: ({ context }) => context.volumeIndex + 1 }) },
        { target: 'removingVm' },
      ],
    },
    // The VM goes only when no volume is on it (destroying it would expunge whatever sits at device 0).
    removingVm: {
      always: [
        { guard: not('hasVm'), target: 'deletingSnapshots' },
        {
          guard: not('vmFree'),
          target: 'deletingSnapshots',
          actions: {
            type: 'addCondition',
            params: ({ context }) => vmKept(context.vm?.name ?? '?', context.vm?.vmId, VmConditionReason.VolumeStillAttached, 'a replicated volume is still on it (or could not be located); move the volume first'),
          },
        },
      ],
      invoke: {
        id: 'removeVm',
        src: 'vmLifecycle',
        input: ({ context }) => ({
          jobId: context.job.jobId,
          vm: context.vm ?? { name: '' },
          goal: 'destroyed' as const,
          acceptAbsent: true,
          record: { name: cleanupStepName(context.mode, `${context.vmRole}-vm-removal`), statuses: ['reverting' as const] },
          protectedVolumeIds: context.volumeIds,
          policy: context.policy,
        }),
        onDone: [
          { guard: { type: 'vmGoalReached', params: ({ event }) => event.output }, target: 'deletingSnapshots', actions: assign({ vmRemoved: true }) },
          {
            target: 'deletingSnapshots',
            actions: [
              { type: 'noteError', params: ({ event }) => (event.output as VmLifecycleOutput).error ?? stepError(undefined, 'removeVm') },
              {
                type: 'addCondition',
                params: ({ context, event }) =>
                  vmKept(context.vm?.name ?? '?', context.vm?.vmId, VmConditionReason.VmOperationFailed, `it could not be removed (${(event.output as VmLifecycleOutput).error?.message ?? 'unknown error'}); destroy it by hand`),
              },
            ],
          },
        ],
        onError: onStepThrew('deletingSnapshots', 'removeVm', 'noteError'),
      },
    },
    deletingSnapshots: {
      always: { guard: not('hasDeletableSnapshots'), target: 'updatingContext' },
      invoke: {
        id: 'deleteSnapshots',
        src: 'deleteSnapshots',
        input: ({ context }) => ({
          op: 'deleteSnapshots',
          args: { snapshots: deletableSnapshots(context) },
          record: { jobId: context.job.jobId, name: cleanupStepName(context.mode, 'snapshot-deletion'), mode: 'whole' as const, statuses: ['reverting' as const] },
          retry: context.policy.retry,
        }),
        onDone: [
          {
            guard: { type: 'stepFailed', params: ({ event }) => event.output },
            target: 'updatingContext',
            actions: [
              { type: 'noteError', params: ({ event }) => stepError(event.output, 'deleteSnapshots') },
              {
                type: 'addCondition',
                params: ({ context, event }) =>
                  condition(
                    VmConditionType.SnapshotKept,
                    'True',
                    VmConditionReason.StepFailed,
                    `snapshot(s) ${deletableSnapshots(context).map((x) => `${x.name} of volume ${x.volumeId}`).join(', ')} could not be deleted (${stepError(event.output, 'deleteSnapshots').message}): delete them by hand`,
                  ),
              },
            ],
          },
          { target: 'updatingContext', actions: assign({ snapshotsDeleted: ({ context }) => deletableSnapshots(context).length === context.snapshots.length }) },
        ],
        onError: onStepThrew('updatingContext', 'deleteSnapshots', 'noteError'),
      },
    },
    // A cleaned-up test, or a clean rollback, gives the VM back: ready_for_failover (a no-op when it already is;
    // a rollback may follow a context write whose answer was lost). Anything left over keeps the VM's status.
    updatingContext: {
      always: { guard: not('clean'), target: 'finishingJob' },
      invoke: {
        id: 'setContextStatus',
        src: 'setContextStatus',
        input: ({ context }) => ({
          op: 'setContextStatus',
          args: { vmId: context.job.vmId, status: 'ready_for_failover' },
          record: { jobId: context.job.jobId, name: cleanupStepName(context.mode, 'vm-context-update'), mode: 'whole' as const },
          retry: context.policy.retry,
        }),
        onDone: [onStepFailed('finishingJob', 'setContextStatus', 'noteError'), { target: 'finishingJob' }],
        onError: onStepThrew('finishingJob', 'setContextStatus', 'noteError'),
      },
    },
    finishingJob: {
      always: { guard: not('ownsJob'), target: 'ending' },
      invoke: {
        id: 'finishJob',
        src: 'finishJob',
        input: ({ context }) => ({
          op: 'finishJob',
          args: isClean(context) && context.error === undefined ? { jobId: context.job.jobId, status: 'completed' } : { jobId: context.job.jobId, status: 'failed', error: context.error ?? cleanupError(context), firstStep: cleanupStepName(context.mode, `${context.vmRole}-vm-shutdown`) },
          retry: context.policy.retry,
        }),
        onDone: [
          {
            guard: { type: 'stepFailed', params: ({ event }) => event.output },
            target: 'ending',
            actions: {
              type: 'addCondition',
              params: ({ event }) => jobLogNotUpdated(stepError(event.output, 'finishJob')),
            },
          },
          { target: 'ending', actions: assign({ jobFinished: true }) },
        ],
        onError: { target: 'ending' },
      },
    },
    ending: {
      always: [{ guard: 'orphaned', target: 'volumeOrphaned' }, { guard: 'clean', target: 'cleanedUp' }, { target: 'incomplete' }],
    },
    /** Every volume is back on the appliance (reverted when asked), the VM and the snapshots are gone. */
    cleanedUp: { type: 'final' },
    /** Every volume is attached somewhere, but something was kept or failed; the conditions say what. */
    incomplete: { type: 'final' },
    /** A volume is attached to nothing (or could not be found): the conditions name it and the manual step. */
    volumeOrphaned: { type: 'final' },
  },
  output: ({ context }) => ({
    clean: isClean(context),
    volumes: context.volumes.map((v) => ({ volumeId: v.volumeId, where: v.where, vmId: v.vmId })),
    vmRemoved: context.vmRemoved,
    reverted: context.revert && context.volumes.every((v) => v.reverted === true),
    snapshotsDeleted: context.snapshotsDeleted,
    ...(context.error ? { error: context.error } : {}),
    conditions: context.conditions,
  }),
});

function cleanupError(c: CleanupContext): StepError {
  const where = c.volumes.map((v) => `${v.volumeId}@${v.where}`).join(', ');
  return { kind: 'Fatal', driver: 'engine', op: 'cleanup', message: `cleanup incomplete (volumes: ${where}; VM removed: ${c.vmRemoved}; snapshots deleted: ${c.snapshotsDeleted})` };
}
