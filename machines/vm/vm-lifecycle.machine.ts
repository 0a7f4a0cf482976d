// Why: a CloudStack VM's lifecycle as a chart (absent → creating → stopped → starting → running → stopping →
// destroying → destroyed), run towards one goal per invocation. The failover, cleanup and failback charts invoke
// it to create, start, stop or remove the test or live VM. It always reads the VM first, so a run restored after
// a crash (or repeated) carries on from where the VM really is instead of redoing what is done.
import { assign, not, setup } from 'xstate';
import { unprovidedTimer } from './timer.ts';
import { retryingStep, stepError, stepOk, stepValue } from './step.machine.ts';
import { onStepFailed, onStepThrew, openRecord } from './step.transitions.ts';
import type { ObservedVmState, StepError, StepOutcome, VmLifecycleInput, VmLifecycleOutput, VmObservation } from './vm.types.ts';

export const VM_LIFECYCLE_MACHINE_VERSION = 1;

export interface VmLifecycleContext extends VmLifecycleInput {
  vmId?: string;
  state: ObservedVmState | 'destroyed' | 'unknown';
  /** Reads of a VM caught in Starting/Stopping so far. */
  settleRounds: number;
  settleAtMs?: number;
  goalReached: boolean;
  error?: StepError;
}

const observed = (o: StepOutcome) => stepValue<VmObservation>(o);

/** A failed op leaves the VM's state unread. */
const failUnknown = (error: StepError) => ({ error, state: 'unknown' as const });

export const vmLifecycleMachine = setup({
  types: {
    input: {} as VmLifecycleInput,
    context: {} as VmLifecycleContext,
    events: {} as { type: 'timer.armed'; deadlineMs: number } | { type: 'timer.fired' },
    output: {} as VmLifecycleOutput,
  },
  actors: {
    observeVm: retryingStep('observeVm'),
    deployVm: retryingStep('deployVm'),
    startVm: retryingStep('startVm'),
    stopVm: retryingStep('stopVm'),
    destroyVm: retryingStep('destroyVm'),
    recordStep: retryingStep('recordStep'),
    waitUntil: unprovidedTimer('waitUntil'),
  },
  guards: {
    stepFailed: (_, o: StepOutcome) => !stepOk(o),
    observedAs: (_, p: { o: StepOutcome; state: ObservedVmState | ObservedVmState[] }) =>
      stepOk(p.o) && (Array.isArray(p.state) ? p.state.includes(observed(p.o).state) : observed(p.o).state === p.state),
    canSettle: ({ context }) => context.settleRounds < context.policy.settleRoundsMax,
    goalIs: ({ context }, goal: VmLifecycleInput['goal']) => context.goal === goal,
    canDeploy: ({ context }) => context.deploy !== undefined,
    acceptAbsent: ({ context }) => context.acceptAbsent,
    hasRecord: ({ context }) => context.record !== undefined,
    goalReached: ({ context }) => context.goalReached,
  },
  actions: {
    fail: assign((_, p: { error: StepError; state?: VmLifecycleContext['state'] }) => ({ error: p.error, ...(p.state ? { state: p.state } : {}) })),
    noteObservation: assign((_, o: VmObservation) => ({ vmId: o.vmId, state: o.state })),
  },
}).createMachine({
  id: 'vmLifecycle',
  context: ({ input }) => ({ ...input, vmId: input.vm.vmId, state: 'unknown', settleRounds: 0, goalReached: false }),
  initial: 'observing',
  states: {
    observing: {
      invoke: {
        id: 'observeVm',
        src: 'observeVm',
        input: ({ context }) => ({ op: 'observeVm', args: { vmId: context.vmId, name: context.vm.name }, retry: context.policy.retry }),
        onDone: [
          onStepFailed('failing', 'observeVm', 'fail', failUnknown),
          { guard: { type: 'observedAs', params: ({ event }) => ({ o: event.output, state: 'absent' }) }, target: 'absent', actions: { type: 'noteObservation', params: ({ event }) => observed(event.output) } },
          { guard: { type: 'observedAs', params: ({ event }) => ({ o: event.output, state: 'stopped' }) }, target: 'stopped', actions: { type: 'noteObservation', params: ({ event }) => observed(event.output) } },
          { guard: { type: 'observedAs', params: ({ event }) => ({ o: event.output, state: 'running' }) }, target: 'running', actions: { type: 'noteObservation', params: ({ event }) => observed(event.output) } },
          {
            guard: { type: 'observedAs', params: ({ event }) => ({ o: event.output, state: ['starting', 'stopping'] }) },
            target: 'settling',
            actions: { type: 'noteObservation', params: ({ event }) => observed(event.output) },
          },
          {
            target: 'failing',
            actions: [
              { type: 'noteObservation', params: ({ event }) => observed(event.output) },
              {
                type: 'fail',
                params: ({ context, event }) => ({
                  error: {
                    kind: 'Fatal',
                    driver: 'cloudstack',
                    op: 'observeVm',
                    message: `VM ${context.vm.name} (${observed(event.output).vmId ?? 'no id'}) is in state ${observed(event.output).rawState ?? observed(event.output).state}: repair or destroy it in CloudStack, then run the job again`,
                  },
                }),
              },
            ],
          },
        ],
        onError: onStepThrew('failing', 'observeVm', 'fail', failUnknown),
      },
    },
    // A VM caught half-way (Starting, Stopping) is left to settle, then read again, a bounded number of times.
    settling: {
      always: {
        guard: not('canSettle'),
        target: 'failing',
        actions: {
          type: 'fail',
          params: ({ context }) => ({
            error: {
              kind: 'Transient',
              driver: 'cloudstack',
              op: 'observeVm',
              reason: 'Timeout',
              message: `VM ${context.vm.name} stayed ${context.state} through ${context.settleRounds} reads: check it in CloudStack, then run the job again`,
            },
          }),
        },
      },
      initial: 'arming',
      on: {
        'timer.fired': { target: 'observing', actions: assign({ settleRounds: ({ context }) => context.settleRounds + 1, settleAtMs: undefined }) },
      },
      // Two invocations, so a restored chart's timer has the deadline in its input (see step.machine.ts).
      states: {
        arming: {
          invoke: {
            id: 'settleTimer',
            src: 'waitUntil',
            input: ({ context }) => ({ delayMs: context.policy.settleWaitMs }),
            onError: { target: '#vmLifecycle.failing', actions: { type: 'fail', params: ({ event }) => ({ error: stepError(undefined, `settleTimer: ${String(event.error)}`) }) } },
          },
          on: { 'timer.armed': { target: 'armed', actions: assign({ settleAtMs: ({ event }) => event.deadlineMs }) } },
        },
        armed: {
          invoke: {
            id: 'settleTimer',
            src: 'waitUntil',
            input: ({ context }) => ({ delayMs: context.policy.settleWaitMs, deadlineMs: context.settleAtMs }),
            onError: { target: '#vmLifecycle.failing', actions: { type: 'fail', params: ({ event }) => ({ error: stepError(undefined, `settleTimer: ${String(event.error)}`) }) } },
          },
        },
      },
    },
    absent: {
      always: [
        { guard: { type: 'goalIs', params: 'destroyed' }, target: 'destroyed' },
        { guard: 'acceptAbsent', target: 'reached' },
        { guard: 'canDeploy', target: 'creating' },
        {
          target: 'failing',
          actions: {
            type: 'fail',
            params: ({ context }) => ({
              error: { kind: 'NotFound', driver: 'cloudstack', op: 'observeVm', message: `VM ${context.vm.name} does not exist and this step may not create it` },
            }),
          },
        },
      ],
    },
    creating: {
      invoke: {
        id: 'deployVm',
        src: 'deployVm',
        input: ({ context }) => ({
          op: 'deployVm',
          args: { deploy: context.deploy },
          record: openRecord(context),
          retry: context.policy.retry,
        }),
        onDone: [
          onStepFailed('failing', 'deployVm', 'fail', failUnknown),
          { target: 'stopped', actions: assign({ vmId: ({ event }) => observed(event.output).vmId, state: 'stopped' }) },
        ],
        onError: onStepThrew('failing', 'deployVm', 'fail', failUnknown),
      },
    },
    stopped: {
      always: [
        { guard: { type: 'goalIs', params: 'stopped' }, target: 'reached' },
        { guard: { type: 'goalIs', params: 'running' }, target: 'starting' },
        { target: 'destroying' },
      ],
    },
    starting: {
      invoke: {
        id: 'startVm',
        src: 'startVm',
        input: ({ context }) => ({
          op: 'startVm',
          args: { vmId: context.vmId, name: context.vm.name },
          record: openRecord(context),
          retry: context.policy.retry,
        }),
        onDone: [
          onStepFailed('failing', 'startVm', 'fail', failUnknown),
          { target: 'running', actions: assign({ state: 'running' }) },
        ],
        onError: onStepThrew('failing', 'startVm', 'fail', failUnknown),
      },
    },
    running: {
      always: [{ guard: { type: 'goalIs', params: 'running' }, target: 'reached' }, { target: 'stopping' }],
    },
    stopping: {
      invoke: {
        id: 'stopVm',
        src: 'stopVm',
        input: ({ context }) => ({
          op: 'stopVm',
          args: { vmId: context.vmId, name: context.vm.name },
          record: openRecord(context),
          retry: context.policy.retry,
        }),
        onDone: [
          onStepFailed('failing', 'stopVm', 'fail', failUnknown),
          { target: 'stopped', actions: assign({ state: 'stopped' }) },
        ],
        onError: onStepThrew('failing', 'stopVm', 'fail', failUnknown),
      },
    },
    destroying: {
      invoke: {
        id: 'destroyVm',
        src: 'destroyVm',
        input: ({ context }) => ({
          op: 'destroyVm',
          args: { vmId: context.vmId, name: context.vm.name, protectedVolumeIds: context.protectedVolumeIds },
          record: openRecord(context),
          retry: context.policy.retry,
        }),
        onDone: [onStepFailed('failing', 'destroyVm', 'fail', failUnknown), { target: 'destroyed' }],
        onError: onStepThrew('failing', 'destroyVm', 'fail', failUnknown),
      },
    },
    destroyed: {
      entry: assign({ state: 'destroyed' }),
      always: { target: 'reached' },
    },
    reached: {
      entry: assign({ goalReached: true }),
      always: [{ guard: 'hasRecord', target: 'reporting' }, { target: 'done' }],
    },
    failing: {
      always: [{ guard: 'hasRecord', target: 'reporting' }, { target: 'failed' }],
    },
    // Closes the job-log step this run belongs to (completed or failed). A job log that cannot be written does
    // not change where the VM is, so the outcome stands either way.
    reporting: {
      invoke: {
        id: 'recordStep',
        src: 'recordStep',
        input: ({ context }) => ({
          op: 'recordStep',
          args: { ok: context.goalReached, error: context.error, details: { vmId: context.vmId ?? null, vmName: context.vm.name, state: context.state } },
          record: openRecord(context),
          retry: context.policy.retry,
        }),
        onDone: [{ guard: 'goalReached', target: 'done' }, { target: 'failed' }],
        onError: [{ guard: 'goalReached', target: 'done' }, { target: 'failed' }],
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => ({
    goalReached: context.goalReached,
    vmId: context.vmId,
    state: context.state,
    ...(context.error && !context.goalReached ? { error: context.error } : {}),
  }),
});
