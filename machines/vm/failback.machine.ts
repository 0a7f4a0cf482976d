// Why: failback of a live-failed-over VM as a chart: stop the live VM, move each volume back to the appliance,
// remove the live VM, and give the VM context back (ready_for_failover) so replication can resume. If a volume
// will not go back, the chart undoes the failback instead of stopping half-way: the volumes return to the live
// VM and it is started again, so the service runs as before and the conditions say why the failback failed.
import { assign, not, setup } from 'xstate';
import { retryingStep, stepError, stepOk, stepValue } from './step.machine.ts';
import { finishJobState } from './finish-job.state.ts';
import { onGoalMissed, onStepFailed, onStepThrew } from './step.transitions.ts';
import { validateFailback, type FailbackFacts } from './validation.ts';
import { condition, VmConditionReason, VmConditionType, vmKept, volumeLost, withCondition } from './vm.conditions.ts';
import { targetVmName } from './vm.names.ts';
import { StepName, vmStepName } from './vm.steps.ts';
import { vmLifecycleMachine } from './vm-lifecycle.machine.ts';
import { volumeLifecycleMachine } from './volume-lifecycle.machine.ts';
import type {
  FailbackContext,
  FailbackInput,
  FailbackPlan,
  ReadinessReport,
  StepError,
  StepOutcome,
  VmCondition,
  VmFailoverOutput,
  VmLifecycleOutput,
  VolumeLifecycleOutput,
  VolumeWhere,
} from './vm.types.ts';

export const FAILBACK_MACHINE_VERSION = 1;

export interface FailbackMachineContext extends FailbackContext {
  report?: ReadinessReport;
  /** Volumes the undo already tried to return to the live VM (each is tried once). */
  returnTried: string[];
  outcome?: VmFailoverOutput['outcome'];
}

function planFrom(f: FailbackFacts): FailbackPlan | undefined {
  if (!f.vm || !f.liveVm || !f.appliance) return undefined;
  return { applianceVmId: f.appliance.vmId, volumeIds: [...f.vm.volumeIds], liveVm: { vmId: f.liveVm.vmId, name: f.liveVm.name } };
}

function currentVolumeId(c: FailbackMachineContext): string {
  return c.plan?.volumeIds[c.volumeIndex] ?? '';
}

/** The next volume the undo should return to the live VM: on the appliance, not tried yet. */
function toReturn(c: FailbackMachineContext): string | undefined {
  return c.moved.find((m) => m.where === 'appliance' && !c.returnTried.includes(m.volumeId))?.volumeId;
}

function notReady(c: FailbackMachineContext): StepError {
  const failed = c.report?.checks.filter((x) => !x.passed).map((x) => `${x.name}: ${x.message}`) ?? [];
  return { kind: 'Invalid', driver: 'engine', op: StepName.failbackValidation, reason: 'NotReady', message: `VM ${c.job.vmId} cannot fail back: ${failed.join('; ')}` };
}

export const failbackMachine = setup({
  types: {
    input: {} as FailbackInput,
    context: {} as FailbackMachineContext,
    output: {} as VmFailoverOutput,
  },
  actors: {
    openJob: retryingStep('openJob'),
    gatherFailbackFacts: retryingStep('gatherFailbackFacts'),
    setContextStatus: retryingStep('setContextStatus'),
    finishJob: retryingStep('finishJob'),
    vmLifecycle: vmLifecycleMachine,
    volumeLifecycle: volumeLifecycleMachine,
  },
  guards: {
    stepFailed: (_, o: StepOutcome) => !stepOk(o),
    ready: ({ context }) => context.report?.ready === true && context.plan !== undefined,
    vmGoalReached: (_, o: VmLifecycleOutput) => o.goalReached,
    volumeGoalReached: (_, o: VolumeLifecycleOutput) => o.goalReached,
    volumeLost: (_, o: VolumeLifecycleOutput) => o.where === 'none' || o.where === 'unknown',
    moreVolumes: ({ context }) => context.volumeIndex + 1 < (context.plan?.volumeIds.length ?? 0),
    anyToReturn: ({ context }) => toReturn(context) !== undefined,
  },
  actions: {
    fail: assign(({ context }, e: StepError) => ({ error: context.error ?? e })),
    addCondition: assign(({ context }, c: VmCondition) => ({ conditions: withCondition(context.conditions, c) })),
    noteMove: assign(({ context }, o: VolumeLifecycleOutput) => ({
      moved: [...context.moved.filter((m) => m.volumeId !== o.volumeId), { volumeId: o.volumeId, where: o.where as VolumeWhere }],
    })),
    noteReturnTried: assign(({ context }, volumeId: string) => ({ returnTried: [...context.returnTried, volumeId] })),
    markFailed: assign(({ context }) => ({
      conditions: withCondition(
        context.conditions,
        condition(VmConditionType.Failed, 'True', context.error?.reason === 'NotReady' ? VmConditionReason.NotReady : VmConditionReason.StepFailed, context.error ? `${context.error.op}: ${context.error.message}` : 'the failback failed'),
      ),
    })),
  },
}).createMachine({
  id: 'failback',
  context: ({ input }) => ({ ...input, volumeIndex: 0, moved: [], returnTried: [], conditions: [] }),
  initial: 'openingJob',
  states: {
    openingJob: {
      invoke: {
        id: 'openJob',
        src: 'openJob',
        input: ({ context }) => ({ op: 'openJob', args: { job: context.job }, retry: context.policy.retry }),
        onDone: [onStepFailed('failing', 'openJob', 'fail'), { target: 'validating' }],
        onError: onStepThrew('failing', 'openJob', 'fail'),
      },
    },
    validating: {
      invoke: {
        id: 'gatherFailbackFacts',
        src: 'gatherFailbackFacts',
        input: ({ context }) => ({
          op: 'gatherFailbackFacts',
          args: { vmId: context.job.vmId, jobId: context.job.jobId },
          record: { jobId: context.job.jobId, name: StepName.failbackValidation, mode: 'whole' as const, statuses: ['validating' as const] },
          retry: context.policy.retry,
        }),
        onDone: [
          onStepFailed('failing', 'gatherFailbackFacts', 'fail'),
          {
            target: 'checkingReadiness',
            actions: assign(({ event }) => {
              const f = stepValue<FailbackFacts>(event.output);
              return { report: validateFailback(f), plan: planFrom(f) };
            }),
          },
        ],
        onError: onStepThrew('failing', 'gatherFailbackFacts', 'fail'),
      },
    },
    checkingReadiness: {
      always: [{ guard: 'ready', target: 'stoppingVm' }, { target: 'failing', actions: { type: 'fail', params: ({ context }) => notReady(context) } }],
    },
    stoppingVm: {
      invoke: {
        id: 'stopLiveVm',
        src: 'vmLifecycle',
        input: ({ context }) => ({
          jobId: context.job.jobId,
          vm: context.plan?.liveVm ?? { name: '' },
          goal: 'stopped' as const,
          acceptAbsent: false,
          record: { name: vmStepName('live', 'shutdown'), statuses: ['executing' as const] },
          protectedVolumeIds: context.plan?.volumeIds ?? [],
          policy: context.policy,
        }),
        onDone: [
          { guard: { type: 'vmGoalReached', params: ({ event }) => event.output }, target: 'movingVolume' },
          // Not stopped: the volumes are all still on it. Make sure it runs, and report.
          onGoalMissed('restoringLiveVm', 'stopLiveVm', 'fail'),
        ],
        onError: onStepThrew('restoringLiveVm', 'stopLiveVm', 'fail'),
      },
    },
    movingVolume: {
      invoke: {
        id: 'moveVolumeBack',
        src: 'volumeLifecycle',
        input: ({ context }) => ({
          jobId: context.job.jobId,
          volumeId: currentVolumeId(context),
          applianceVmId: context.plan?.applianceVmId ?? '',
          targetVmId: context.plan?.liveVm.vmId,
          targetDeviceId: context.volumeIndex === 0 ? 0 : undefined,
          goal: 'appliance' as const,
          // If the appliance will not take it, it goes back on the live VM rather than nowhere.
          fallbackToTarget: true,
          record: { name: StepName.volumeReattach, statuses: ['switching_volume' as const] },
          policy: context.policy,
        }),
        onDone: [
          { guard: { type: 'volumeGoalReached', params: ({ event }) => event.output }, target: 'nextVolume', actions: { type: 'noteMove', params: ({ event }) => event.output } },
          {
            guard: { type: 'volumeLost', params: ({ event }) => event.output },
            target: 'orphaning',
            actions: [
              { type: 'noteMove', params: ({ event }) => event.output },
              { type: 'fail', params: ({ event }) => event.output.error ?? stepError(undefined, 'moveVolumeBack') },
              {
                type: 'addCondition',
                params: ({ context, event }) => volumeLost(event.output, context.plan?.applianceVmId ?? '?'),
              },
            ],
          },
          {
            target: 'restoringLiveVm',
            actions: [{ type: 'noteMove', params: ({ event }) => event.output }, { type: 'fail', params: ({ event }) => event.output.error ?? stepError(undefined, 'moveVolumeBack') }],
          },
        ],
        onError: onStepThrew('restoringLiveVm', 'moveVolumeBack', 'fail'),
      },
    },
    nextVolume: {
      always: [
        { guard: 'moreVolumes', target: 'movingVolume', actions: assign({ volumeIndex: ({ context }) => context.volumeIndex + 1 }) },
        { target: 'removingVm' },
      ],
    },
    removingVm: {
      invoke: {
        id: 'removeLiveVm',
        src: 'vmLifecycle',
        input: ({ context }) => ({
          jobId: context.job.jobId,
          vm: context.plan?.liveVm ?? { name: '' },
          goal: 'destroyed' as const,
          acceptAbsent: true,
          record: { name: vmStepName('live', 'removal'), statuses: ['cleanup' as const] },
          protectedVolumeIds: context.plan?.volumeIds ?? [],
          policy: context.policy,
        }),
        onDone: [
          { guard: { type: 'vmGoalReached', params: ({ event }) => event.output }, target: 'updatingContext' },
          {
            target: 'updatingContext',
            actions: {
              type: 'addCondition',
              params: ({ context, event }) =>
                vmKept(context.plan?.liveVm.name ?? '?', context.plan?.liveVm.vmId, VmConditionReason.VmOperationFailed, `it could not be removed (${event.output.error?.message ?? 'unknown error'}); destroy it by hand`),
            },
          },
        ],
        onError: { target: 'updatingContext' },
      },
    },
    updatingContext: {
      invoke: {
        id: 'setContextStatus',
        src: 'setContextStatus',
        input: ({ context }) => ({
          op: 'setContextStatus',
          args: { vmId: context.job.vmId, status: 'ready_for_failover' },
          record: { jobId: context.job.jobId, name: StepName.contextUpdate, mode: 'whole' as const },
          retry: context.policy.retry,
        }),
        onDone: [onStepFailed('failing', 'setContextStatus', 'fail'), { target: 'completing' }],
        onError: onStepThrew('failing', 'setContextStatus', 'fail'),
      },
    },
    completing: finishJobState({ id: 'finishJobCompleted', end: { status: 'completed' }, target: 'failedBack', action: 'addCondition', wrap: (c) => c }),
    // The failback failed before the live VM lost its volumes for good: put back those already on the appliance
    // and start the live VM, so the service runs as before.
    restoringLiveVm: {
      initial: 'returningVolumes',
      states: {
        returningVolumes: {
          always: { guard: not('anyToReturn'), target: 'startingVm' },
          invoke: {
            id: 'returnVolume',
            src: 'volumeLifecycle',
            input: ({ context }) => {
              const volumeId = toReturn(context) ?? '';
              const index = context.plan?.volumeIds.indexOf(volumeId) ?? -1;
              return {
                jobId: context.job.jobId,
                volumeId,
                applianceVmId: context.plan?.applianceVmId ?? '',
                targetVmId: context.plan?.liveVm.vmId,
                targetDeviceId: index === 0 ? 0 : undefined,
                goal: 'target' as const,
                fallbackToTarget: false,
                record: { name: 'rollback-volume-return' },
                policy: context.policy,
              };
            },
            onDone: [
              {
                guard: { type: 'volumeLost', params: ({ event }) => event.output },
                target: '#failback.orphaning',
                actions: [
                  { type: 'noteMove', params: ({ event }) => event.output },
                  {
                    type: 'addCondition',
                    params: ({ context, event }) => volumeLost(event.output, context.plan?.applianceVmId ?? '?'),
                  },
                ],
              },
              // Back on the live VM, or left on the appliance (safe): each volume is tried once.
              {
                target: 'returningVolumes',
                reenter: true,
                actions: [{ type: 'noteMove', params: ({ event }) => event.output }, { type: 'noteReturnTried', params: ({ event }) => event.output.volumeId }],
              },
            ],
            onError: { target: 'startingVm' },
          },
        },
        startingVm: {
          invoke: {
            id: 'restartLiveVm',
            src: 'vmLifecycle',
            input: ({ context }) => ({
              jobId: context.job.jobId,
              vm: context.plan?.liveVm ?? { name: '' },
              goal: 'running' as const,
              acceptAbsent: false,
              record: { name: vmStepName('live', 'restart') },
              protectedVolumeIds: context.plan?.volumeIds ?? [],
              policy: context.policy,
            }),
            onDone: [
              {
                guard: { type: 'vmGoalReached', params: ({ event }) => event.output },
                target: '#failback.failing',
                actions: {
                  type: 'addCondition',
                  params: () => condition(VmConditionType.RolledBack, 'True', VmConditionReason.Succeeded, 'the live VM runs again with its volumes; the VM stays failed_over_live'),
                },
              },
              {
                target: '#failback.failing',
                actions: {
                  type: 'addCondition',
                  params: ({ event }) =>
                    condition(VmConditionType.RolledBack, 'False', VmConditionReason.StepFailed, `the live VM could not be started again (${event.output.error?.message ?? 'unknown error'}): start it by hand`),
                },
              },
            ],
            onError: { target: '#failback.failing' },
          },
        },
      },
    },
    failing: finishJobState({
      id: 'finishJobFailed',
      end: { status: 'failed', firstStep: StepName.failbackValidation },
      target: 'failed',
      action: 'addCondition',
      wrap: (c) => c,
      markFailed: true,
    }),
    orphaning: finishJobState({
      id: 'finishJobOrphaned',
      end: { status: 'orphaned', firstStep: StepName.failbackValidation, op: 'failback' },
      target: 'volumeOrphaned',
      action: 'addCondition',
      wrap: (c) => c,
      markFailed: true,
    }),
    /** The volumes are back on the appliance, the live VM is gone, the VM is ready_for_failover. */
    failedBack: { type: 'final', entry: assign({ outcome: 'completed' }) },
    /** The failback failed; the conditions say where things are (the live VM runs again when it could be restored). */
    failed: { type: 'final', entry: assign({ outcome: 'failed' }) },
    /** A volume is attached to nothing: the conditions name it and the manual step. */
    volumeOrphaned: { type: 'final', entry: assign({ outcome: 'volumeOrphaned' }) },
  },
  output: ({ context }) => ({ outcome: context.outcome ?? 'failed', ...(context.error ? { error: context.error } : {}), conditions: context.conditions }),
});

/** The live VM's name for a source VM name (failback finds it by name). */
export const liveVmName = (vmName: string) => targetVmName('live', vmName);
