// Why: the chain a test failover and a live failover share (the reference's six phases): validate, snapshot
// the volumes as the rollback point, inject VirtIO drivers, create the VM, move the volumes onto it, start and
// check it. Both charts are built from these states and differ only in how they end (a test runs until it is
// cleaned up; a live failover is done). Every failure after the snapshot rolls back through the cleanup chart:
// volumes back on the appliance and reverted, the VM and the snapshots gone. A volume the rollback cannot put
// anywhere ends the job `volumeOrphaned`, with a condition naming it and the manual step.
import { assign, not, setup } from 'xstate';
import { cleanupMachine } from './cleanup.machine.ts';
import { retryingStep, stepError, stepOk, stepValue } from './step.machine.ts';
import { finishJobState } from './finish-job.state.ts';
import { onGoalMissed, onStepFailed, onStepThrew } from './step.transitions.ts';
import { unprovidedTimer } from './timer.ts';
import { silentInjectionWatch } from './injection-watch.ts';
import { planFailover, validateFailover, type LeftoverFacts } from './validation.ts';
import { condition, VmConditionReason, VmConditionType, withCondition } from './vm.conditions.ts';
import { snapshotName } from './vm.names.ts';
import { StepName, vmStepName } from './vm.steps.ts';
import { vmLifecycleMachine } from './vm-lifecycle.machine.ts';
import { volumeLifecycleMachine } from './volume-lifecycle.machine.ts';
import type {
  CleanupInput,
  CleanupOutput,
  FailoverKind,
  SnapshotRef,
  StepError,
  StepOutcome,
  ValidationFacts,
  VmCondition,
  VmFailoverContext,
  VmFailoverEvent,
  VmFailoverInput,
  VmFailoverOutput,
  VmLifecycleOutput,
  VolumeLifecycleOutput,
} from './vm.types.ts';

/** What gatherFacts returns: the facts the checks read, and leftovers of an earlier run. */
export interface GatheredFacts {
  facts: ValidationFacts;
  leftovers: LeftoverFacts;
}

function bootVolumeId(c: VmFailoverContext): string {
  return c.plan?.volumeIds[0] ?? '';
}

function currentVolumeId(c: VmFailoverContext): string {
  return c.plan?.volumeIds[c.volumeIndex] ?? '';
}

function snapshotOf(c: VmFailoverContext, volumeId: string): SnapshotRef | undefined {
  return c.snapshots.find((s) => s.volumeId === volumeId);
}

function notReadyError(c: VmFailoverContext): StepError {
  const r = c.report;
  const failed = r?.checks.filter((x) => !x.passed).map((x) => `${x.name}${x.critical ? ' (critical)' : ''}: ${x.message}`) ?? [];
  return {
    kind: 'Invalid',
    driver: 'engine',
    op: StepName.validation,
    reason: 'NotReady',
    message: `VM ${c.job.vmId} is not ready (readiness score ${r?.score ?? 0}, needs 80): ${failed.join('; ') || 'no plan could be made from the facts'}`,
  };
}

function rollbackInput(c: VmFailoverContext): CleanupInput {
  const plan = c.plan;
  return {
    job: c.job,
    mode: 'rollback',
    applianceVmId: plan?.applianceVmId ?? '',
    volumeIds: plan?.volumeIds ?? [],
    devicePaths: plan?.devicePaths ?? {},
    vmRole: c.kind,
    vm: c.targetVm,
    snapshots: c.snapshots,
    // Only the injection writes to the volumes before they leave the appliance; a rollback before it has nothing to revert.
    revert: c.injectionAttempt > 0,
    cause: c.error,
    policy: c.policy,
  };
}

function failedCondition(c: VmFailoverContext): VmCondition {
  const e = c.error;
  return condition(
    VmConditionType.Failed,
    'True',
    e?.reason === 'NotReady' ? VmConditionReason.NotReady : VmConditionReason.StepFailed,
    e ? `${e.op}: ${e.message}` : 'the job failed',
  );
}

export const chainSetup = setup({
  types: {
    input: {} as VmFailoverInput,
    context: {} as VmFailoverContext,
    events: {} as VmFailoverEvent,
    output: {} as VmFailoverOutput,
  },
  actors: {
    openJob: retryingStep('openJob'),
    gatherFacts: retryingStep('gatherFacts'),
    createSnapshots: retryingStep('createSnapshots'),
    injectDrivers: retryingStep('injectDrivers'),
    revertSnapshot: retryingStep('revertSnapshot'),
    findRootVolume: retryingStep('findRootVolume'),
    deleteRootVolume: retryingStep('deleteRootVolume'),
    verifyVm: retryingStep('verifyVm'),
    setContextStatus: retryingStep('setContextStatus'),
    deleteSnapshots: retryingStep('deleteSnapshots'),
    finishJob: retryingStep('finishJob'),
    vmLifecycle: vmLifecycleMachine,
    volumeLifecycle: volumeLifecycleMachine,
    cleanup: cleanupMachine,
    waitUntil: unprovidedTimer('waitUntil'),
    watchInjection: silentInjectionWatch,
  },
  guards: {
    stepFailed: (_, o: StepOutcome) => !stepOk(o),
    ready: ({ context }) => context.report?.ready === true && context.plan !== undefined,
    /** The injection failed without a clean exit: the tool may still run (a lost answer, a crashed engine). */
    injectionMayRun: (_, o: StepOutcome) => !o.ok && (o.error.kind === 'Transient' || o.error.kind === 'Throttled' || o.error.kind === 'Conflict'),
    canRetryInjection: ({ context }) => context.injectionAttempt < context.policy.injectionAttemptMax,
    vmGoalReached: (_, o: VmLifecycleOutput) => o.goalReached,
    volumeGoalReached: (_, o: VolumeLifecycleOutput) => o.goalReached,
    hasRootVolume: ({ context }) => context.rootVolumeId !== undefined,
    moreVolumes: ({ context }) => context.volumeIndex + 1 < (context.plan?.volumeIds.length ?? 0),
    rollbackOrphaned: (_, o: CleanupOutput) => o.volumes.some((v) => v.where === 'none' || v.where === 'unknown'),
    cleanupClean: (_, o: CleanupOutput) => o.clean,
    hasTestDuration: ({ context }) => context.testDurationMs !== undefined && context.testDurationMs > 0,
  },
  actions: {
    fail: assign(({ context }, e: StepError) => ({ error: context.error ?? e })),
    addConditions: assign(({ context }, cs: VmCondition[]) => ({ conditions: cs.reduce(withCondition, context.conditions) })),
    markFailed: assign(({ context }) => ({ conditions: withCondition(context.conditions, failedCondition(context)) })),
  },
});

type ChainState = Parameters<typeof chainSetup.createStateConfig>[0];

/** The context every chart built from the chain starts with. */
export function chainContext(kind: FailoverKind, input: VmFailoverInput): VmFailoverContext {
  return { ...input, kind, snapshots: [], volumeIndex: 0, injectionAttempt: 0, conditions: [] };
}

/** The chain's output, from how the chart ended. */
export function chainOutput(context: VmFailoverContext): VmFailoverOutput {
  return { outcome: context.outcome ?? 'failed', ...(context.error ? { error: context.error } : {}), conditions: context.conditions };
}

/**
 * The shared states. `afterMarking` is where the chain goes once the VM runs and the VM context says so (the
 * test waits; the live failover finishes).
 */
export function chainStates(kind: FailoverKind, afterMarking: string) {
  const openingJob = chainSetup.createStateConfig({
    invoke: {
      id: 'openJob',
      src: 'openJob',
      input: ({ context }) => ({ op: 'openJob', args: { job: context.job }, retry: context.policy.retry }),
      onDone: [onStepFailed('failing', 'openJob', 'fail'), { target: 'validating' }],
      onError: onStepThrew('failing', 'openJob', 'fail'),
    },
  });

  // 1. Pre-failover validation: nothing has changed yet, so a failure here ends the job without a rollback.
  const validating = chainSetup.createStateConfig({
    invoke: {
      id: 'gatherFacts',
      src: 'gatherFacts',
      input: ({ context }) => ({
        op: 'gatherFacts',
        args: { vmId: context.job.vmId, jobId: context.job.jobId, kind },
        record: { jobId: context.job.jobId, name: StepName.validation, mode: 'whole' as const, statuses: ['validating' as const] },
        retry: context.policy.retry,
      }),
      onDone: [
        onStepFailed('failing', 'gatherFacts', 'fail'),
        {
          target: 'checkingReadiness',
          actions: assign(({ event }) => {
            const g = stepValue<GatheredFacts>(event.output);
            return { report: validateFailover(g.facts, kind, g.leftovers), plan: planFailover(g.facts, kind) };
          }),
        },
      ],
      onError: onStepThrew('failing', 'gatherFacts', 'fail'),
    },
  });

  const checkingReadiness = chainSetup.createStateConfig({
    always: [
      {
        guard: 'ready',
        target: 'snapshotting',
        actions: assign(({ context }) => ({
          snapshots: (context.plan?.volumeIds ?? []).map((volumeId) => ({ volumeId, name: snapshotName(kind, context.job.vmId, volumeId) })),
        })),
      },
      { target: 'failing', actions: { type: 'fail', params: ({ context }) => notReadyError(context) } },
    ],
  });

  // 2. The rollback point: one CloudStack snapshot per volume (named, so a re-run finds them).
  const snapshotting = chainSetup.createStateConfig({
    invoke: {
      id: 'createSnapshots',
      src: 'createSnapshots',
      input: ({ context }) => ({
        op: 'createSnapshots',
        args: { snapshots: context.snapshots },
        record: { jobId: context.job.jobId, name: StepName.snapshot, mode: 'whole' as const, statuses: ['executing' as const, 'snapshotting' as const] },
        retry: context.policy.retry,
      }),
      onDone: [
        onStepFailed('rollingBack', 'createSnapshots', 'fail'),
        { target: 'injecting', actions: assign({ snapshots: ({ event }) => stepValue<SnapshotRef[]>(event.output) }) },
      ],
      onError: onStepThrew('rollingBack', 'createSnapshots', 'fail'),
    },
  });

  // 3. VirtIO drivers into the boot volume, on the appliance. Not idempotent: a retry first reverts the volume.
  const injecting = chainSetup.createStateConfig({
    entry: assign({ injectionAttempt: ({ context }) => context.injectionAttempt + 1 }),
    invoke: {
      id: 'injectDrivers',
      src: 'injectDrivers',
      input: ({ context }) => ({
        op: 'injectDrivers',
        args: { vmId: context.job.vmId, volumeId: bootVolumeId(context), injectionAttempt: context.injectionAttempt },
        record: { jobId: context.job.jobId, name: StepName.injection, mode: 'whole' as const },
        retry: { ...context.policy.retry, attemptMax: 1 },
      }),
      onDone: [
        // The answer was lost (a timeout, a crash of the engine): the tool may still be writing. Wait it out first.
        {
          guard: { type: 'injectionMayRun', params: ({ event }) => event.output },
          target: 'quiescingInjection',
          actions: assign({ injectionError: ({ event }) => stepError(event.output, 'injectDrivers') }),
        },
        onStepFailed('rollingBack', 'injectDrivers', 'fail'),
        { target: 'creatingVm' },
      ],
      onError: onStepThrew('rollingBack', 'injectDrivers', 'fail'),
    },
  });

  // A revert while an orphaned injection still writes would be undone by it: wait until the injection port says
  // no run is left on the device (`injection.idle`), or, when it cannot tell, out the injection's longest run
  // (policy.injectionQuiesceMs); then revert and inject again, or roll back when no attempt is left.
  // Two timer invocations, so a restored chart waits for the same deadline (see step.machine.ts).
  const quiescingInjection = chainSetup.createStateConfig({
    initial: 'arming',
    invoke: {
      id: 'injectionWatch',
      src: 'watchInjection',
      input: ({ context }) => ({ volumeId: bootVolumeId(context), ...(context.plan?.devicePaths[bootVolumeId(context)] ? { devicePath: context.plan.devicePaths[bootVolumeId(context)] } : {}) }),
    },
    on: {
      'timer.fired': [
        { guard: 'canRetryInjection', target: 'revertingForRetry', actions: assign({ quiesceUntilMs: undefined }) },
        { target: 'rollingBack', actions: [assign({ quiesceUntilMs: undefined }), { type: 'fail', params: ({ context }) => context.injectionError ?? stepError(undefined, 'injectDrivers') }] },
      ],
      'injection.idle': [
        { guard: 'canRetryInjection', target: 'revertingForRetry', actions: assign({ quiesceUntilMs: undefined }) },
        { target: 'rollingBack', actions: [assign({ quiesceUntilMs: undefined }), { type: 'fail', params: ({ context }) => context.injectionError ?? stepError(undefined, 'injectDrivers') }] },
      ],
    },
    states: {
      arming: {
        invoke: {
          id: 'quiesceTimer',
          src: 'waitUntil',
          input: ({ context }) => ({ delayMs: context.policy.injectionQuiesceMs }),
          onError: onStepThrew('#rollingBack', 'quiesceTimer', 'fail'),
        },
        on: { 'timer.armed': { target: 'armed', actions: assign({ quiesceUntilMs: ({ event }) => event.deadlineMs }) } },
      },
      armed: {
        invoke: {
          id: 'quiesceTimer',
          src: 'waitUntil',
          input: ({ context }) => ({ delayMs: context.policy.injectionQuiesceMs, deadlineMs: context.quiesceUntilMs }),
          onError: onStepThrew('#rollingBack', 'quiesceTimer', 'fail'),
        },
      },
    },
  });

  // Before the injection runs again: boot volume off the appliance, back to its snapshot, back on the appliance.
  const revertingForRetry = chainSetup.createStateConfig({
    initial: 'detaching',
    states: {
      detaching: {
        invoke: {
          id: 'detachForRevert',
          src: 'volumeLifecycle',
          input: ({ context }) => ({
            jobId: context.job.jobId,
            volumeId: bootVolumeId(context),
            applianceVmId: context.plan?.applianceVmId ?? '',
            goal: 'detached' as const,
            fallbackToTarget: false,
            record: { name: StepName.injectionRevert },
            policy: context.policy,
          }),
          onDone: [
            { guard: { type: 'volumeGoalReached', params: ({ event }) => event.output }, target: 'reverting' },
            onGoalMissed('#rollingBack', 'detachForRevert', 'fail'),
          ],
          onError: onStepThrew('#rollingBack', 'detachForRevert', 'fail'),
        },
      },
      reverting: {
        invoke: {
          id: 'revertForRetry',
          src: 'revertSnapshot',
          input: ({ context }) => ({
            op: 'revertSnapshot',
            args: { volumeId: bootVolumeId(context), snapshot: snapshotOf(context, bootVolumeId(context)) },
            record: { jobId: context.job.jobId, name: StepName.injectionRevert, mode: 'open' as const },
            retry: context.policy.retry,
          }),
          onDone: [
            {
              // The rollback reverts (and reattaches) again from wherever the volume is.
              guard: { type: 'stepFailed', params: ({ event }) => event.output },
              target: '#rollingBack',
              actions: { type: 'fail', params: ({ event }) => stepError(event.output, 'revertSnapshot') },
            },
            { target: 'reattaching' },
          ],
          onError: onStepThrew('#rollingBack', 'revertSnapshot', 'fail'),
        },
      },
      reattaching: {
        invoke: {
          id: 'reattachForRetry',
          src: 'volumeLifecycle',
          input: ({ context }) => ({
            jobId: context.job.jobId,
            volumeId: bootVolumeId(context),
            applianceVmId: context.plan?.applianceVmId ?? '',
            goal: 'appliance' as const,
            fallbackToTarget: false,
            record: { name: StepName.injectionRevert },
            policy: context.policy,
          }),
          onDone: [
            { guard: { type: 'volumeGoalReached', params: ({ event }) => event.output }, target: '#injecting' },
            onGoalMissed('#rollingBack', 'reattachForRetry', 'fail'),
          ],
          onError: onStepThrew('#rollingBack', 'reattachForRetry', 'fail'),
        },
      },
    },
  });

  // 4. The new VM, deployed stopped (its own root volume is replaced in the next phase).
  const creatingVm = chainSetup.createStateConfig({
    entry: assign({ targetVm: ({ context }) => context.targetVm ?? { name: context.plan?.deploy.name ?? '' } }),
    invoke: {
      id: 'createVm',
      src: 'vmLifecycle',
      input: ({ context }) => ({
        jobId: context.job.jobId,
        vm: context.targetVm ?? { name: context.plan?.deploy.name ?? '' },
        goal: 'stopped' as const,
        acceptAbsent: false,
        deploy: context.plan?.deploy,
        record: { name: vmStepName(kind, 'creation'), statuses: ['creating_vm' as const] },
        protectedVolumeIds: context.plan?.volumeIds ?? [],
        policy: context.policy,
      }),
      onDone: [
        {
          guard: { type: 'vmGoalReached', params: ({ event }) => event.output },
          target: 'switchingVolumes',
          actions: assign({ targetVm: ({ context, event }) => ({ name: context.plan?.deploy.name ?? '', vmId: event.output.vmId }) }),
        },
        onGoalMissed('rollingBack', 'createVm', 'fail'),
      ],
      onError: onStepThrew('rollingBack', 'createVm', 'fail'),
    },
  });

  // 5. The new VM's own root volume goes; each replicated volume moves from the appliance to it (boot disk at device 0).
  const switchingVolumes = chainSetup.createStateConfig({
    initial: 'findingRootVolume',
    states: {
      findingRootVolume: {
        invoke: {
          id: 'findRootVolume',
          src: 'findRootVolume',
          input: ({ context }) => ({
            op: 'findRootVolume',
            args: { vmId: context.targetVm?.vmId, protectedVolumeIds: context.plan?.volumeIds ?? [] },
            record: { jobId: context.job.jobId, name: StepName.volumeAttachment, mode: 'open' as const, statuses: ['switching_volume' as const] },
            retry: context.policy.retry,
          }),
          onDone: [
            onStepFailed('#rollingBack', 'findRootVolume', 'fail'),
            { target: 'deletingRootVolume', actions: assign({ rootVolumeId: ({ event }) => stepValue<{ volumeId?: string }>(event.output).volumeId }) },
          ],
          onError: onStepThrew('#rollingBack', 'findRootVolume', 'fail'),
        },
      },
      deletingRootVolume: {
        always: { guard: not('hasRootVolume'), target: 'movingVolume' },
        invoke: {
          id: 'deleteRootVolume',
          src: 'deleteRootVolume',
          input: ({ context }) => ({
            op: 'deleteRootVolume',
            args: { volumeId: context.rootVolumeId, vmId: context.targetVm?.vmId, protectedVolumeIds: context.plan?.volumeIds ?? [] },
            record: { jobId: context.job.jobId, name: StepName.volumeAttachment, mode: 'open' as const },
            retry: context.policy.retry,
          }),
          onDone: [onStepFailed('#rollingBack', 'deleteRootVolume', 'fail'), { target: 'movingVolume' }],
          onError: onStepThrew('#rollingBack', 'deleteRootVolume', 'fail'),
        },
      },
      movingVolume: {
        invoke: {
          id: 'moveVolume',
          src: 'volumeLifecycle',
          input: ({ context }) => ({
            jobId: context.job.jobId,
            volumeId: currentVolumeId(context),
            applianceVmId: context.plan?.applianceVmId ?? '',
            targetVmId: context.targetVm?.vmId,
            targetDeviceId: context.volumeIndex === 0 ? 0 : undefined,
            goal: 'target' as const,
            fallbackToTarget: false,
            record: { name: StepName.volumeAttachment, statuses: ['switching_volume' as const] },
            policy: context.policy,
          }),
          onDone: [
            { guard: { type: 'volumeGoalReached', params: ({ event }) => event.output }, target: 'nextVolume' },
            // Not moved: the chart already put it back on the appliance if it could; the rollback does the rest.
            onGoalMissed('#rollingBack', 'moveVolume', 'fail'),
          ],
          onError: onStepThrew('#rollingBack', 'moveVolume', 'fail'),
        },
      },
      nextVolume: {
        always: [
          { guard: 'moreVolumes', target: 'movingVolume', actions: assign({ volumeIndex: ({ context }) => context.volumeIndex + 1 }) },
          { target: '#startingVm' },
        ],
      },
    },
  });

  // 6. Start-up and validation.
  const startingVm = chainSetup.createStateConfig({
    id: 'startingVm',
    invoke: {
      id: 'startVm',
      src: 'vmLifecycle',
      input: ({ context }) => ({
        jobId: context.job.jobId,
        vm: context.targetVm ?? { name: '' },
        goal: 'running' as const,
        acceptAbsent: false,
        record: { name: vmStepName(kind, 'startup'), statuses: ['powering_on' as const] },
        protectedVolumeIds: context.plan?.volumeIds ?? [],
        policy: context.policy,
      }),
      onDone: [
        { guard: { type: 'vmGoalReached', params: ({ event }) => event.output }, target: 'verifyingVm' },
        onGoalMissed('rollingBack', 'startVm', 'fail'),
      ],
      onError: onStepThrew('rollingBack', 'startVm', 'fail'),
    },
  });

  const verifyingVm = chainSetup.createStateConfig({
    invoke: {
      id: 'verifyVm',
      src: 'verifyVm',
      input: ({ context }) => ({
        op: 'verifyVm',
        args: { vmId: context.targetVm?.vmId, volumeIds: context.plan?.volumeIds ?? [] },
        record: { jobId: context.job.jobId, name: vmStepName(kind, 'validation'), mode: 'whole' as const },
        retry: context.policy.retry,
      }),
      onDone: [onStepFailed('rollingBack', 'verifyVm', 'fail'), { target: 'markingContext' }],
      onError: onStepThrew('rollingBack', 'verifyVm', 'fail'),
    },
  });

  const markingContext = chainSetup.createStateConfig({
    invoke: {
      id: 'setContextStatus',
      src: 'setContextStatus',
      input: ({ context }) => ({
        op: 'setContextStatus',
        args: { vmId: context.job.vmId, status: kind === 'test' ? 'failed_over_test' : 'failed_over_live' },
        record: { jobId: context.job.jobId, name: StepName.contextUpdate, mode: 'whole' as const },
        retry: context.policy.retry,
      }),
      onDone: [
        onStepFailed('rollingBack', 'setContextStatus', 'fail'),
        { target: afterMarking },
      ],
      onError: onStepThrew('rollingBack', 'setContextStatus', 'fail'),
    },
  });

  // Undo: the cleanup chart in rollback mode, from wherever the failure left things.
  const rollingBack = chainSetup.createStateConfig({
    id: 'rollingBack',
    invoke: {
      id: 'rollback',
      src: 'cleanup',
      input: ({ context }) => rollbackInput(context),
      onDone: [
        {
          guard: { type: 'rollbackOrphaned', params: ({ event }) => event.output },
          target: 'orphaning',
          actions: [assign({ rollback: ({ event }) => event.output }), { type: 'addConditions', params: ({ event }) => event.output.conditions }],
        },
        {
          target: 'failing',
          actions: [
            assign({ rollback: ({ event }) => event.output }),
            { type: 'addConditions', params: ({ event }) => event.output.conditions },
            {
              type: 'addConditions',
              params: ({ event }) =>
                event.output.clean
                  ? [condition(VmConditionType.RolledBack, 'True', VmConditionReason.Succeeded, 'the volumes are back on the appliance (reverted), the VM and the snapshots are gone')]
                  : [condition(VmConditionType.RolledBack, 'False', VmConditionReason.StepFailed, `the rollback was incomplete: ${event.output.error?.message ?? 'see the other conditions'}`)],
            },
          ],
        },
      ],
      onError: onStepThrew('failing', 'rollback', 'fail'),
    },
  });

  const failing = chainSetup.createStateConfig(
    finishJobState({ id: 'finishJobFailed', end: { status: 'failed', firstStep: StepName.validation }, target: 'failed', action: 'addConditions', wrap: (c) => [c], markFailed: true }),
  );

  const orphaning = chainSetup.createStateConfig(
    finishJobState({
      id: 'finishJobOrphaned',
      end: { status: 'orphaned', firstStep: StepName.validation, op: 'rollback' },
      target: 'volumeOrphaned',
      action: 'addConditions',
      wrap: (c) => [c],
      markFailed: true,
    }),
  );

  const states = {
    openingJob,
    validating,
    checkingReadiness,
    snapshotting,
    injecting: { ...injecting, id: 'injecting' },
    quiescingInjection,
    revertingForRetry,
    creatingVm,
    switchingVolumes,
    startingVm,
    verifyingVm,
    markingContext,
    rollingBack,
    failing,
    orphaning,
    /** The failover failed; the rollback's outcome is in the conditions. */
    failed: chainSetup.createStateConfig({ type: 'final', entry: assign({ outcome: 'failed' }) }),
    /** A volume is attached to nothing: the conditions name it and the manual step. */
    volumeOrphaned: chainSetup.createStateConfig({ type: 'final', entry: assign({ outcome: 'volumeOrphaned' }) }),
  } satisfies Record<string, ChainState>;
  return states;
}
