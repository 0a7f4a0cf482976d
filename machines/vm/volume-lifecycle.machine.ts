// Why: a replicated source volume's attachments as a chart (attachedToAppliance → detaching → detached →
// attachingToTarget → attachedToTarget, and back through detachingFromTarget and reattaching), run towards one
// goal per invocation. It holds the rule that matters most in a VM failover: a volume is never left attached
// to nothing. When a move fails, the chart gives up its goal, reads where the volume really is, and puts it back
// on the appliance (or, for failback, on the live VM) with a longer retry budget; only when that also fails
// does it end `orphaned`, saying so, so the caller can name the volume and the manual step.
import { and, assign, not, setup } from 'xstate';
import { retryingStep, stepOk, stepValue } from './step.machine.ts';
import { onStepFailed, onStepThrew, openRecord } from './step.transitions.ts';
import type { StepError, StepOutcome, VolumeLifecycleInput, VolumeLifecycleOutput, VolumeObservation, VolumeWhere } from './vm.types.ts';

export const VOLUME_LIFECYCLE_MACHINE_VERSION = 1;

export interface VolumeLifecycleContext extends VolumeLifecycleInput {
  where: VolumeWhere;
  vmId?: string;
  devicePath?: string;
  goalReached: boolean;
  /** A move failed: the goal is given up and the volume is only being made safe. */
  abandoned: boolean;
  reattachTried: boolean;
  fallbackTried: boolean;
  error?: StepError;
}

function whereOf(c: VolumeLifecycleContext, o: VolumeObservation): VolumeWhere {
  if (o.attachedToVmId === undefined) return 'none';
  if (o.attachedToVmId === c.applianceVmId) return 'appliance';
  if (c.targetVmId !== undefined && o.attachedToVmId === c.targetVmId) return 'target';
  return 'elsewhere';
}

const observed = (o: StepOutcome) => stepValue<VolumeObservation>(o);

export const volumeLifecycleMachine = setup({
  types: {
    input: {} as VolumeLifecycleInput,
    context: {} as VolumeLifecycleContext,
    output: {} as VolumeLifecycleOutput,
  },
  actors: {
    observeVolume: retryingStep('observeVolume'),
    detachVolume: retryingStep('detachVolume'),
    attachVolume: retryingStep('attachVolume'),
    recordStep: retryingStep('recordStep'),
  },
  guards: {
    stepFailed: (_, o: StepOutcome) => !stepOk(o),
    observedAt: ({ context }, p: { o: StepOutcome; where: VolumeWhere }) => stepOk(p.o) && whereOf(context, observed(p.o)) === p.where,
    goalIs: ({ context }, goal: VolumeLifecycleInput['goal']) => context.goal === goal,
    abandoned: ({ context }) => context.abandoned,
    reattachTried: ({ context }) => context.reattachTried,
    canFallBack: ({ context }) => context.fallbackToTarget && context.targetVmId !== undefined && !context.fallbackTried,
    hasRecord: ({ context }) => context.record !== undefined,
    goalReached: ({ context }) => context.goalReached,
    whereIs: ({ context }, where: VolumeWhere) => context.where === where,
  },
  actions: {
    noteObservation: assign(({ context }, o: VolumeObservation) => ({ where: whereOf(context, o), vmId: o.attachedToVmId, devicePath: o.devicePath })),
    giveUp: assign(({ context }, error: StepError) => ({ abandoned: true, error: context.error ?? error })),
    noteUnknown: assign(({ context }, error: StepError) => ({ where: 'unknown' as const, error: context.error ?? error })),
    noteElsewhere: assign(({ context }) => ({
      error: context.error ?? {
        kind: 'Invalid' as const,
        driver: 'volumedaemon',
        op: 'observeVolume',
        message: `volume ${context.volumeId} is attached to VM ${context.vmId ?? '?'}, which is neither the appliance ${context.applianceVmId} nor the target ${context.targetVmId ?? '(none)'}: detach it by hand, then run the job again`,
      },
    })),
  },
}).createMachine({
  id: 'volumeLifecycle',
  context: ({ input }) => ({ ...input, where: 'unknown', goalReached: false, abandoned: false, reattachTried: false, fallbackTried: false }),
  initial: 'observing',
  states: {
    // Reads where the volume is: at the start, and again after any failed move (whose answer may have been lost
    // although the move happened).
    observing: {
      invoke: {
        id: 'observeVolume',
        src: 'observeVolume',
        input: ({ context }) => ({
          op: 'observeVolume',
          args: { volumeId: context.volumeId },
          // A read is safe to repeat, and not knowing where the volume is is the worst way to end: long budget.
          retry: context.policy.reattach,
        }),
        onDone: [
          onStepFailed('settling', 'observeVolume', 'noteUnknown'),
          {
            guard: { type: 'observedAt', params: ({ event }) => ({ o: event.output, where: 'appliance' }) },
            target: 'attachedToAppliance',
            actions: { type: 'noteObservation', params: ({ event }) => observed(event.output) },
          },
          {
            guard: { type: 'observedAt', params: ({ event }) => ({ o: event.output, where: 'target' }) },
            target: 'attachedToTarget',
            actions: { type: 'noteObservation', params: ({ event }) => observed(event.output) },
          },
          {
            guard: { type: 'observedAt', params: ({ event }) => ({ o: event.output, where: 'none' }) },
            target: 'detached',
            actions: { type: 'noteObservation', params: ({ event }) => observed(event.output) },
          },
          { target: 'settling', actions: [{ type: 'noteObservation', params: ({ event }) => observed(event.output) }, 'noteElsewhere'] },
        ],
        onError: onStepThrew('settling', 'observeVolume', 'noteUnknown'),
      },
    },
    attachedToAppliance: {
      always: [
        { guard: { type: 'goalIs', params: 'appliance' }, target: 'reached' },
        { guard: 'abandoned', target: 'settling' },
        { target: 'detaching' },
      ],
    },
    detaching: {
      invoke: {
        id: 'detachVolume',
        src: 'detachVolume',
        input: ({ context }) => ({
          op: 'detachVolume',
          args: { volumeId: context.volumeId, fromVmId: context.applianceVmId },
          record: openRecord(context),
          retry: context.policy.retry,
        }),
        onDone: [
          onStepFailed('observing', 'detachVolume', 'giveUp'),
          { target: 'detached', actions: assign({ where: 'none', vmId: undefined, devicePath: undefined }) },
        ],
        onError: onStepThrew('observing', 'detachVolume', 'giveUp'),
      },
    },
    // Attached to nothing: the one state the chart never rests in.
    detached: {
      always: [
        { guard: { type: 'goalIs', params: 'detached' }, target: 'reached' },
        { guard: and([{ type: 'goalIs', params: 'target' as const }, not('abandoned')]), target: 'attachingToTarget' },
        { guard: not('reattachTried'), target: 'reattaching' },
        { guard: 'canFallBack', target: 'fallingBack', actions: assign({ fallbackTried: true }) },
        { target: 'settling' },
      ],
    },
    attachingToTarget: {
      invoke: {
        id: 'attachToTarget',
        src: 'attachVolume',
        input: ({ context }) => ({
          op: 'attachVolume',
          args: { volumeId: context.volumeId, vmId: context.targetVmId, deviceId: context.targetDeviceId, role: 'target' },
          record: openRecord(context),
          retry: context.policy.retry,
        }),
        onDone: [
          onStepFailed('observing', 'attachVolume', 'giveUp'),
          { target: 'attachedToTarget', actions: assign({ where: 'target', vmId: ({ context }) => context.targetVmId }) },
        ],
        onError: onStepThrew('observing', 'attachVolume', 'giveUp'),
      },
    },
    // The appliance would not take the volume back: as a last resort it goes back on the target (failback's live
    // VM), with the long retry budget.
    fallingBack: {
      invoke: {
        id: 'fallBackToTarget',
        src: 'attachVolume',
        input: ({ context }) => ({
          op: 'attachVolume',
          args: { volumeId: context.volumeId, vmId: context.targetVmId, deviceId: context.targetDeviceId, role: 'target' },
          retry: context.policy.reattach,
        }),
        onDone: [
          { guard: { type: 'stepFailed', params: ({ event }) => event.output }, target: 'observing' },
          { target: 'attachedToTarget', actions: assign({ where: 'target', vmId: ({ context }) => context.targetVmId }) },
        ],
        onError: { target: 'observing' },
      },
    },
    attachedToTarget: {
      always: [
        { guard: { type: 'goalIs', params: 'target' }, target: 'reached' },
        { guard: 'abandoned', target: 'settling' },
        { target: 'detachingFromTarget' },
      ],
    },
    detachingFromTarget: {
      invoke: {
        id: 'detachFromTarget',
        src: 'detachVolume',
        input: ({ context }) => ({
          op: 'detachVolume',
          args: { volumeId: context.volumeId, fromVmId: context.targetVmId },
          record: openRecord(context),
          retry: context.policy.retry,
        }),
        onDone: [
          onStepFailed('observing', 'detachVolume', 'giveUp'),
          { target: 'detached', actions: assign({ where: 'none', vmId: undefined }) },
        ],
        onError: onStepThrew('observing', 'detachVolume', 'giveUp'),
      },
    },
    // Back to the appliance: the goal of a cleanup, or the emergency path after a failed move.
    reattaching: {
      entry: assign({ reattachTried: true }),
      invoke: {
        id: 'reattachToAppliance',
        src: 'attachVolume',
        input: ({ context }) => ({
          op: 'attachVolume',
          args: { volumeId: context.volumeId, vmId: context.applianceVmId, role: 'appliance' },
          record: context.abandoned ? undefined : openRecord(context),
          retry: context.policy.reattach,
        }),
        onDone: [
          onStepFailed('observing', 'attachVolume', 'giveUp'),
          {
            target: 'attachedToAppliance',
            actions: assign({ where: 'appliance', vmId: ({ context }) => context.applianceVmId, devicePath: ({ event }) => (event.output.ok ? observed(event.output).devicePath : undefined) }),
          },
        ],
        onError: onStepThrew('observing', 'attachVolume', 'giveUp'),
      },
    },
    reached: {
      entry: assign({ goalReached: true }),
      always: { target: 'reporting' },
    },
    // The goal is given up (or the volume could not be read): the job log hears why before the chart ends.
    settling: {
      always: { target: 'reporting' },
    },
    reporting: {
      always: { guard: not('hasRecord'), target: 'ending' },
      invoke: {
        id: 'recordStep',
        src: 'recordStep',
        input: ({ context }) => ({
          op: 'recordStep',
          args: {
            ok: context.goalReached,
            error: context.error,
            details: { volumeId: context.volumeId, where: context.where, vmId: context.vmId ?? null, devicePath: context.devicePath ?? null },
          },
          record: openRecord(context),
          retry: context.policy.retry,
        }),
        onDone: 'ending',
        onError: 'ending',
      },
    },
    ending: {
      always: [
        { guard: 'goalReached', target: 'done' },
        { guard: { type: 'whereIs', params: 'none' }, target: 'orphaned' },
        { guard: { type: 'whereIs', params: 'unknown' }, target: 'lost' },
        { target: 'gaveUp' },
      ],
    },
    /** The goal is reached. */
    done: { type: 'final' },
    /** The goal is given up, but the volume is attached (to the appliance, the target, or a VM named in the error). */
    gaveUp: { type: 'final' },
    /** Attached to nothing, after every way back failed: the caller must ask for the manual step. */
    orphaned: { type: 'final' },
    /** Could not be read: where it is is unknown. */
    lost: { type: 'final' },
  },
  output: ({ context }) => ({
    volumeId: context.volumeId,
    goalReached: context.goalReached,
    where: context.where,
    vmId: context.vmId,
    devicePath: context.devicePath,
    ...(context.error && !context.goalReached ? { error: context.error } : {}),
  }),
});
