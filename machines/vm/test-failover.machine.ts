// Why: a test failover of a replicated VM as a chart: the shared chain (validate, snapshot, inject, create the
// test VM, move the volumes onto it, start and check it), then the test runs (`runningAsTest`) until an operator
// asks for the cleanup or the optional test duration passes; the cleanup chart then gives the VM back
// (ready_for_failover). The test's deadline is kept in context and driven by an invoked timer, so a restarted
// engine still ends the test on time.
import { assign } from 'xstate';
import { chainContext, chainOutput, chainSetup, chainStates } from './failover-chain.ts';
import { finishJobState } from './finish-job.state.ts';
import { onStepThrew } from './step.transitions.ts';
import type { CleanupInput, VmFailoverContext } from './vm.types.ts';

export const TEST_FAILOVER_MACHINE_VERSION = 1;

function cleanupInput(c: VmFailoverContext): CleanupInput {
  return {
    job: { jobId: c.cleanupJobId ?? `${c.job.jobId}-cleanup`, correlationId: c.job.correlationId, vmId: c.job.vmId, type: 'cleanup' },
    mode: 'cleanup',
    applianceVmId: c.plan?.applianceVmId ?? '',
    volumeIds: c.plan?.volumeIds ?? [],
    devicePaths: c.plan?.devicePaths ?? {},
    vmRole: 'test',
    vm: c.targetVm,
    snapshots: c.snapshots,
    revert: true,
    policy: c.policy,
  };
}

export const testFailoverMachine = chainSetup.createMachine({
  id: 'testFailover',
  context: ({ input }) => chainContext('test', input),
  initial: 'openingJob',
  states: {
    ...chainStates('test', 'completing'),
    completing: finishJobState({ id: 'finishJobCompleted', end: { status: 'completed' }, target: 'runningAsTest', action: 'addConditions', wrap: (c) => [c] }),
    // The test VM runs. It ends on `cleanup.requested`, or by itself at autoCleanupAtMs.
    runningAsTest: {
      initial: 'choosing',
      on: { 'cleanup.requested': { target: 'cleaningUp' } },
      states: {
        choosing: { always: [{ guard: 'hasTestDuration', target: 'timed' }, { target: 'untimed' }] },
        untimed: {},
        // Two invocations, so a restored chart's timer has the deadline in its input (see step.machine.ts).
        timed: {
          initial: 'arming',
          on: { 'timer.fired': { target: '#testFailover.cleaningUp' } },
          states: {
            arming: {
              invoke: {
                id: 'autoCleanupTimer',
                src: 'waitUntil',
                input: ({ context }) => ({ delayMs: context.testDurationMs ?? 0 }),
                onError: { target: '#testFailover.cleaningUp' },
              },
              on: { 'timer.armed': { target: 'armed', actions: assign({ autoCleanupAtMs: ({ event }) => event.deadlineMs }) } },
            },
            armed: {
              invoke: {
                id: 'autoCleanupTimer',
                src: 'waitUntil',
                input: ({ context }) => ({ delayMs: context.testDurationMs ?? 0, deadlineMs: context.autoCleanupAtMs }),
                onError: { target: '#testFailover.cleaningUp' },
              },
            },
          },
        },
      },
    },
    cleaningUp: {
      invoke: {
        id: 'cleanup',
        src: 'cleanup',
        input: ({ context }) => cleanupInput(context),
        onDone: [
          {
            guard: { type: 'rollbackOrphaned', params: ({ event }) => event.output },
            target: 'volumeOrphaned',
            actions: [assign({ cleanup: ({ event }) => event.output }), { type: 'addConditions', params: ({ event }) => event.output.conditions }],
          },
          {
            guard: { type: 'cleanupClean', params: ({ event }) => event.output },
            target: 'cleanedUp',
            actions: [assign({ cleanup: ({ event }) => event.output }), { type: 'addConditions', params: ({ event }) => event.output.conditions }],
          },
          {
            target: 'cleanupIncomplete',
            actions: [
              assign({ cleanup: ({ event }) => event.output, error: ({ context, event }) => context.error ?? event.output.error }),
              { type: 'addConditions', params: ({ event }) => event.output.conditions },
            ],
          },
        ],
        onError: onStepThrew('cleanupIncomplete', 'cleanup', 'fail'),
      },
    },
    /** The test ended and everything it made is gone; the VM is ready_for_failover again. */
    cleanedUp: { type: 'final', entry: assign({ outcome: 'cleanedUp' }) },
    /** The cleanup ended with something kept or failed (every volume is attached somewhere); see the conditions. */
    cleanupIncomplete: { type: 'final', entry: assign({ outcome: 'failed' }) },
  },
  output: ({ context }) => chainOutput(context),
});
