// Why: the step charts (replication, workload, rejoin) retry a failed invocation the same way: while the chart's
// `canRetry` guard allows, go to `backingOff` (which waits, then tries again), else to the failure state,
// recording the failure either way. Replication and workload also bound retries by one deadline kept in context
// and back off from the time the failure carries. Written once so the charts cannot drift apart.
import { backoffMs } from './retry.ts';
import { asStepError, isRetryable, type StepError } from './step-error.ts';

/** The onError transitions of a retried step: back off while `canRetry` allows, else `failed`; `recordFailure` on both. */
export function retryOrFail<F extends string>(failed: F) {
  return [
    { guard: 'canRetry', target: 'backingOff', actions: 'recordFailure' },
    { target: failed, actions: 'recordFailure' },
  ] as const;
}

/** The context a deadline-bounded step chart keeps for its retries. */
export interface DeadlineRetryContext {
  attempt: number;
  attemptMax: number;
  deadlineMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  view?: { atMs: number };
}

/** The virtual time a thrown error carries (`atMs`), if any. */
function errAt(e: unknown): number | undefined {
  const at = e !== null && typeof e === 'object' ? (e as { atMs?: unknown }).atMs : undefined;
  return typeof at === 'number' ? at : undefined;
}

/** When the failure happened: the error's own time, else the last view's, else 0. */
function failedAt(context: DeadlineRetryContext, raw: unknown): number {
  return errAt(raw) ?? context.view?.atMs ?? 0;
}

/** True when the error is retryable, attempts remain and the deadline has not passed. */
export function canRetryBeforeDeadline(op: string, context: DeadlineRetryContext, raw: unknown): boolean {
  return isRetryable(asStepError(op, raw)) && context.attempt + 1 < context.attemptMax && failedAt(context, raw) < context.deadlineMs;
}

/** The context update that records a failure: the error, the attempt count, and when to try again. */
export function recordedFailure(op: string, context: DeadlineRetryContext, raw: unknown): { lastError: StepError; attempt: number; retryAtMs: number } {
  const attempt = context.attempt + 1;
  return { lastError: asStepError(op, raw), attempt, retryAtMs: failedAt(context, raw) + backoffMs(attempt, context.backoffBaseMs, context.backoffMaxMs) };
}
