// Why: one operation with bounded, restart-proof retries, as a chart of its own. Every named step of the VM
// charts (a CloudStack call, a Volume Daemon move, a job-log write) is this chart with its one `attempt` actor
// provided by the wiring, so the retry rule is written and tested once: retry only what may succeed (Transient,
// Throttled, Conflict), at most `attemptMax` times, with exponential backoff whose deadline is kept in context
// and driven by an invoked timer (never `after`, which a restored actor does not re-arm).
import { assign, setup } from 'xstate';
import { backoffMs } from '../shared/retry.ts';
import { asStepError, isRetryable } from '../shared/step-error.ts';
import { unprovided } from '../shared/unprovided.ts';
import { unprovidedTimer } from './timer.ts';
import type { AttemptInput, StepError, StepInput, StepOutcome, TimerEvent } from './vm.types.ts';

export const STEP_MACHINE_VERSION = 1;

export interface StepContext extends StepInput {
  /** The attempt running or about to run, from 1. */
  attempt: number;
  retryAtMs?: number;
  lastError?: StepError;
  value?: unknown;
  ok: boolean;
}

export const stepMachine = setup({
  types: {
    input: {} as StepInput,
    context: {} as StepContext,
    events: {} as TimerEvent,
    output: {} as StepOutcome,
  },
  actors: {
    attempt: unprovided<AttemptInput, unknown>('attempt'),
    waitUntil: unprovidedTimer('waitUntil'),
  },
  guards: {
    canRetry: ({ context }, error: StepError) => isRetryable(error) && context.attempt < context.retry.attemptMax,
  },
  actions: {
    recordError: assign((_, error: StepError) => ({ lastError: error })),
  },
}).createMachine({
  id: 'step',
  context: ({ input }) => ({ ...input, attempt: 1, ok: false }),
  initial: 'attempting',
  states: {
    attempting: {
      invoke: {
        id: 'attempt',
        src: 'attempt',
        input: ({ context }) => ({ op: context.op, args: context.args, record: context.record, attempt: context.attempt }),
        onDone: { target: 'succeeded', actions: assign({ value: ({ event }) => event.output, ok: true, lastError: undefined }) },
        onError: [
          {
            guard: { type: 'canRetry', params: ({ context, event }) => asStepError(context.op, event.error) },
            target: 'waiting',
            actions: { type: 'recordError', params: ({ context, event }) => asStepError(context.op, event.error) },
          },
          { target: 'failed', actions: { type: 'recordError', params: ({ context, event }) => asStepError(context.op, event.error) } },
        ],
      },
    },
    // Restored invoked actors keep the input they were created with, so the timer is invoked twice: `arming`
    // asks for a deadline (now + backoff), `armed` waits for the deadline the chart then keeps in context. A
    // restored `armed` state's timer still has the deadline in its input, so the wait is not restarted.
    waiting: {
      initial: 'arming',
      on: {
        'timer.fired': { target: 'attempting', actions: assign({ attempt: ({ context }) => context.attempt + 1, retryAtMs: undefined }) },
      },
      states: {
        arming: {
          invoke: {
            id: 'retryTimer',
            src: 'waitUntil',
            input: ({ context }) => ({ delayMs: backoffMs(context.attempt, context.retry.backoffBaseMs, context.retry.backoffMaxMs) }),
            onError: { target: '#step.failed', actions: { type: 'recordError', params: ({ context, event }) => asStepError(`${context.op}.retryTimer`, event.error) } },
          },
          on: { 'timer.armed': { target: 'armed', actions: assign({ retryAtMs: ({ event }) => event.deadlineMs }) } },
        },
        armed: {
          invoke: {
            id: 'retryTimer',
            src: 'waitUntil',
            input: ({ context }) => ({ delayMs: backoffMs(context.attempt, context.retry.backoffBaseMs, context.retry.backoffMaxMs), deadlineMs: context.retryAtMs }),
            onError: { target: '#step.failed', actions: { type: 'recordError', params: ({ context, event }) => asStepError(`${context.op}.retryTimer`, event.error) } },
          },
        },
      },
    },
    succeeded: { type: 'final' },
    failed: { id: 'failed', type: 'final' },
  },
  output: ({ context }): StepOutcome =>
    context.ok
      ? { ok: true, value: context.value, attempts: context.attempt }
      : {
          ok: false,
          error: context.lastError ?? { kind: 'Internal', driver: 'engine', op: context.op, message: `${context.op} failed without an error` },
          attempts: context.attempt,
        },
});

/** The step chart for one named operation: its attempt fails loudly (NotProvidedError) until the wiring provides it. */
export function retryingStep(name: string) {
  return stepMachine.provide({ actors: { attempt: unprovided<AttemptInput, unknown>(name) } });
}

/** The value of a successful step (the parent's guards have checked `ok`). */
export function stepValue<T>(o: StepOutcome): T {
  if (!o.ok) throw new Error(`stepValue: the step failed (${o.error.message}); check ok first`);
  return o.value as T;
}

/** The error of a failed step, or of a child chart that errored outright. */
export function stepError(o: StepOutcome | undefined, op: string): StepError {
  if (o && !o.ok) return o.error;
  return { kind: 'Internal', driver: 'engine', op, message: `${op} ended without a result` };
}

export function stepOk(o: StepOutcome | undefined): boolean {
  return o !== undefined && o.ok;
}
