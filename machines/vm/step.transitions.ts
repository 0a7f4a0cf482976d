// Why: every VM chart invokes retrying steps (step.machine.ts) and reacts to them the same way: a step that
// ended with ok: false takes its failure branch with the step's own error; an actor that errored outright takes
// it with `<op>: <error>`; a lifecycle op that belongs to an open job-log step carries that record. Written once
// here so the charts cannot drift apart on how an error is named. Each helper returns plain XState config for the
// chart's own named guard (`stepFailed`) and action (given by name: `fail`, `noteError`, `giveUp` ...).
import { stepError } from './step.machine.ts';
import type { JobStatus, StepError, StepOutcome, StepRecord } from './vm.types.ts';

/** The error of an invoked actor that threw instead of ending (named after the invocation). */
export function thrownError(op: string, error: unknown): StepError {
  return stepError(undefined, `${op}: ${String(error)}`);
}

/** The params an action takes from a step's error: the error itself, unless the chart wraps it. */
type Wrap<P> = (e: StepError) => P;
const asIs: Wrap<StepError> = (e) => e;

/**
 * The onDone branch of a failed step: guard `stepFailed`, then `action` with the step's error (or, through
 * `wrap`, with the params that action takes).
 */
export function onStepFailed<A extends string>(target: string, op: string, action: A): ReturnType<typeof failedBranch<A, StepError>>;
export function onStepFailed<A extends string, P>(target: string, op: string, action: A, wrap: Wrap<P>): ReturnType<typeof failedBranch<A, P>>;
export function onStepFailed<A extends string>(target: string, op: string, action: A, wrap: Wrap<unknown> = asIs) {
  return failedBranch(target, op, action, wrap);
}

function failedBranch<A extends string, P>(target: string, op: string, action: A, wrap: Wrap<P>) {
  return {
    guard: { type: 'stepFailed' as const, params: ({ event }: { event: { output: StepOutcome } }) => event.output },
    target,
    actions: { type: action, params: ({ event }: { event: { output: StepOutcome } }) => wrap(stepError(event.output, op)) },
  };
}

/** The onError branch of an invoked step or chart that threw: `action` with `<op>: <error>` (or its wrap). */
export function onStepThrew<A extends string>(target: string, op: string, action: A): ReturnType<typeof threwBranch<A, StepError>>;
export function onStepThrew<A extends string, P>(target: string, op: string, action: A, wrap: Wrap<P>): ReturnType<typeof threwBranch<A, P>>;
export function onStepThrew<A extends string>(target: string, op: string, action: A, wrap: Wrap<unknown> = asIs) {
  return threwBranch(target, op, action, wrap);
}

function threwBranch<A extends string, P>(target: string, op: string, action: A, wrap: Wrap<P>) {
  return { target, actions: { type: action, params: ({ event }: { event: { error: unknown } }) => wrap(thrownError(op, event.error)) } };
}

/** A lifecycle chart's record for its ops: the caller's open job-log step, if it gave one. */
export function openRecord(c: { jobId: string; record?: { name: string; statuses?: JobStatus[] } }): StepRecord | undefined {
  return c.record ? { jobId: c.jobId, name: c.record.name, statuses: c.record.statuses, mode: 'open' } : undefined;
}

/** The onDone branch of a lifecycle chart that ended short of its goal: `action` with the chart's error, or one naming the invocation. */
export function onGoalMissed<A extends string>(target: string, op: string, action: A) {
  return { target, actions: { type: action, params: ({ event }: { event: { output: { error?: StepError } } }) => event.output.error ?? stepError(undefined, op) } };
}
