// Why: every VM job chart ends by writing the job's final status (completed, failed, or failed with a volume
// orphaned), and a job log that will not take that write never changes the outcome: the chart goes on to the
// same final state with a JobLogNotUpdated condition. This is that state node, written once for the failover
// chain, the live and test failovers and the failback (their state names and invoke ids stay their own).
import { stepError } from './step.machine.ts';
import { jobLogNotUpdated, volumeOrphanedError } from './vm.conditions.ts';
import type { RetryPolicy, StepError, StepOutcome, VmCondition } from './vm.types.ts';

/** What the final write reads from any VM job chart's context. */
export interface FinishingContext {
  job: { jobId: string };
  policy: { retry: RetryPolicy };
  error?: StepError;
  conditions: VmCondition[];
}

/** How the job ends: completed; failed with the chart's error; failed because a volume is orphaned (`op` names the phase). */
export type JobEnd = { status: 'completed' } | { status: 'failed'; firstStep: string } | { status: 'orphaned'; firstStep: string; op: string };

function finishArgs(c: FinishingContext, end: JobEnd) {
  switch (end.status) {
    case 'completed':
      return { jobId: c.job.jobId, status: 'completed' as const };
    case 'failed':
      return { jobId: c.job.jobId, status: 'failed' as const, error: c.error, firstStep: end.firstStep };
    case 'orphaned':
      return { jobId: c.job.jobId, firstStep: end.firstStep, status: 'failed' as const, error: volumeOrphanedError(c.conditions, end.op) };
  }
}

/**
 * The state that writes the job's end and then goes to `target` either way. `action` is the chart's
 * condition-adding action; `wrap` turns the JobLogNotUpdated condition into that action's params.
 */
export function finishJobState<A extends string, P>(o: { id: string; end: JobEnd; target: string; action: A; wrap: (c: VmCondition) => P; markFailed?: boolean }) {
  return {
    ...(o.markFailed ? { entry: 'markFailed' as const } : {}),
    invoke: {
      id: o.id,
      src: 'finishJob' as const,
      input: ({ context }: { context: FinishingContext }) => ({ op: 'finishJob', args: finishArgs(context, o.end), retry: context.policy.retry }),
      onDone: [
        {
          guard: { type: 'stepFailed' as const, params: ({ event }: { event: { output: StepOutcome } }) => event.output },
          target: o.target,
          actions: { type: o.action, params: ({ event }: { event: { output: StepOutcome } }) => o.wrap(jobLogNotUpdated(stepError(event.output, 'finishJob'))) },
        },
        { target: o.target },
      ],
      onError: { target: o.target },
    },
  };
}
