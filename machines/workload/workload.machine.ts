// Why: one Deployment or StatefulSet scaled to a replica count (the remembered one when activating, 0 when
// shutting down) and, when asked, waited on until it converged (ready replicas, or every pod gone) within a
// bound kept in context. The failover chart's workload steps run one actor of this chart per workload.
import { assign, setup } from 'xstate';
import type { StepError } from '../shared/step-error.ts';
import { canRetryBeforeDeadline, recordedFailure, retryOrFail } from '../shared/retry-step.ts';
import { unprovided } from '../shared/unprovided.ts';

export const WORKLOAD_MACHINE_VERSION = 1;

export type ScalableKind = 'Deployment' | 'StatefulSet';

export interface WorkloadInput {
  kind: ScalableKind;
  namespace: string;
  name: string;
  replicas: number;
  /** none: scale only; converged: ready replicas equal the count (0: every pod gone). */
  wait: 'none' | 'converged';
  deadlineMs: number;
  attemptMax: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface WorkloadView {
  exists: boolean;
  specReplicas?: number;
  readyReplicas?: number;
  pods?: number;
  atMs: number;
}

export interface WorkloadContext extends WorkloadInput {
  view?: WorkloadView;
  attempt: number;
  retryAtMs?: number;
  lastError?: StepError;
  converged: boolean;
}

export interface WorkloadOutput {
  outcome: 'done' | 'failed';
  view?: WorkloadView;
  error?: StepError;
}

export interface ScaleInput {
  kind: ScalableKind;
  namespace: string;
  name: string;
  replicas: number;
}
export interface WaitWorkloadInput extends ScaleInput {
  deadlineMs: number;
}

export const workloadMachine = setup({
  types: { input: {} as WorkloadInput, context: {} as WorkloadContext, output: {} as WorkloadOutput },
  actors: {
    scaleWorkload: unprovided<ScaleInput, WorkloadView>('scaleWorkload'),
    waitForWorkload: unprovided<WaitWorkloadInput, WorkloadView>('waitForWorkload'),
    waitUntil: unprovided<{ atMs: number }, { atMs: number }>('waitUntil'),
  },
  guards: {
    scaleOnly: ({ context }) => context.wait === 'none',
    canRetry: ({ context, event }) => canRetryBeforeDeadline('workload', context, (event as { error?: unknown }).error),
  },
  actions: {
    recordView: assign(({ event }) => ({ view: (event as { output?: WorkloadView }).output })),
    markConverged: assign({ converged: true }),
    recordFailure: assign(({ context, event }) => recordedFailure('workload', context, (event as { error?: unknown }).error)),
  },
}).createMachine({
  id: 'workload',
  context: ({ input }) => ({ ...input, attempt: 0, converged: false }),
  initial: 'scaling',
  states: {
    scaling: {
      invoke: {
        id: 'scale',
        src: 'scaleWorkload',
        input: ({ context }) => ({ kind: context.kind, namespace: context.namespace, name: context.name, replicas: context.replicas }),
        onDone: [
          { guard: 'scaleOnly', target: 'done', actions: ['recordView', 'markConverged'] },
          { target: 'waiting', actions: 'recordView' },
        ],
        onError: retryOrFail('failed'),
      },
    },
    waiting: {
      invoke: {
        id: 'wait',
        src: 'waitForWorkload',
        input: ({ context }) => ({ kind: context.kind, namespace: context.namespace, name: context.name, replicas: context.replicas, deadlineMs: context.deadlineMs }),
        onDone: { target: 'done', actions: ['recordView', 'markConverged'] },
        onError: retryOrFail('failed'),
      },
    },
    backingOff: {
      invoke: { id: 'backoff', src: 'waitUntil', input: ({ context }) => ({ atMs: context.retryAtMs ?? 0 }), onDone: 'scaling', onError: 'scaling' },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => {
    const out: WorkloadOutput = { outcome: context.converged ? 'done' : 'failed' };
    if (context.view) out.view = context.view;
    if (!context.converged && context.lastError) out.error = context.lastError;
    return out;
  },
});
