// Why: a live failover of a replicated VM as a chart: the same chain as a test failover (validate, snapshot,
// inject, create the VM, move the volumes onto it, start and check it) without the test bubble. Once the VM runs
// and the VM context says failed_over_live, the failover is committed: the snapshots (the rollback point) are
// deleted and the job completes. Job statuses: pending → validating → executing → snapshotting → creating_vm →
// switching_volume → powering_on → completed (or failed, after a rollback).
import { assign } from 'xstate';
import { chainContext, chainOutput, chainSetup, chainStates } from './failover-chain.ts';
import { condition, VmConditionReason, VmConditionType } from './vm.conditions.ts';
import { stepError } from './step.machine.ts';
import { finishJobState } from './finish-job.state.ts';
import { StepName } from './vm.steps.ts';

export const LIVE_FAILOVER_MACHINE_VERSION = 1;

export const liveFailoverMachine = chainSetup.createMachine({
  id: 'liveFailover',
  context: ({ input }) => chainContext('live', input),
  initial: 'openingJob',
  states: {
    ...chainStates('live', 'deletingSnapshots'),
    // Committed: the VM runs on the volumes; the rollback point is not needed any more.
    deletingSnapshots: {
      invoke: {
        id: 'deleteSnapshots',
        src: 'deleteSnapshots',
        input: ({ context }) => ({
          op: 'deleteSnapshots',
          args: { snapshots: context.snapshots },
          record: { jobId: context.job.jobId, name: StepName.snapshotDeletion, mode: 'whole' as const },
          retry: context.policy.retry,
        }),
        onDone: [
          {
            guard: { type: 'stepFailed', params: ({ event }) => event.output },
            target: 'completing',
            actions: {
              type: 'addConditions',
              params: ({ context, event }) => [
                condition(
                  VmConditionType.SnapshotKept,
                  'True',
                  VmConditionReason.StepFailed,
                  `snapshot(s) ${context.snapshots.map((s) => s.snapshotId ?? s.name).join(', ')} could not be deleted (${stepError(event.output, 'deleteSnapshots').message}): delete them by hand`,
                ),
              ],
            },
          },
          { target: 'completing' },
        ],
        onError: { target: 'completing' },
      },
    },
    completing: finishJobState({ id: 'finishJobCompleted', end: { status: 'completed' }, target: 'failedOver', action: 'addConditions', wrap: (c) => [c] }),
    /** The VM runs on CloudStack from the replicated volumes; the VM context is failed_over_live. */
    failedOver: { type: 'final', entry: assign({ outcome: 'completed' }) },
  },
  output: ({ context }) => chainOutput(context),
});
