// Why: one VolumeReplication moved to primary or secondary as an explicit chart: observe, ask, wait (driven by
// watch events in the wiring), bounded by a deadline kept in context; split brain is cleared by a resync before
// the volume is declared secondary, and a promotion waits until the volume is promotable (secondary or primary).
// The failover chart's volume steps run one actor of this chart per VolumeReplication, concurrently (bounded).
import { assign, setup } from 'xstate';
import type { StepError } from '../shared/step-error.ts';
import { backoffMs } from '../shared/retry.ts';
import { canRetryBeforeDeadline, recordedFailure, retryOrFail } from '../shared/retry-step.ts';
import { unprovided } from '../shared/unprovided.ts';
import { inSplitBrain, promotable, reached, type ReplicationContext, type ReplicationInput, type ReplicationOutput, type VolumeView } from './replication.types.ts';

export const REPLICATION_MACHINE_VERSION = 1;

export interface VolumeRef {
  namespace: string;
  name: string;
}
export interface RequestStateInput extends VolumeRef {
  state: 'primary' | 'secondary' | 'resync';
  force: boolean;
}
export interface WaitVolumeInput extends VolumeRef {
  /**
   * `reached`: the desired state per mode (a volume found in split brain on the way to secondary is returned
   * too, so the chart can resync it); `resynced`: a resync has finished (Secondary, not resyncing, no split brain).
   */
  until: 'reached' | 'resynced';
  desired: ReplicationInput['desired'];
  mode: ReplicationInput['mode'];
  deadlineMs: number;
}

export const replicationMachine = setup({
  types: {
    input: {} as ReplicationInput,
    context: {} as ReplicationContext,
    output: {} as ReplicationOutput,
  },
  actors: {
    observeVolume: unprovided<VolumeRef, VolumeView>('observeVolume'),
    requestState: unprovided<RequestStateInput, VolumeView>('requestState'),
    waitForVolume: unprovided<WaitVolumeInput, VolumeView>('waitForVolume'),
    waitUntil: unprovided<{ atMs: number }, { atMs: number }>('waitUntil'),
  },
  guards: {
    missing: ({ event }) => (event as { output?: VolumeView }).output?.exists === false,
    reached: ({ context, event }) => reached((event as { output?: VolumeView }).output, context.desired, context.mode),
    needsResync: ({ context, event }) => context.desired === 'secondary' && inSplitBrain((event as { output?: VolumeView }).output),
    notPromotable: ({ context, event }) => {
      const v = (event as { output?: VolumeView }).output;
      return context.desired === 'primary' && v !== undefined && !promotable(v);
    },
    canRetry: ({ context, event }) => canRetryBeforeDeadline('replication', context, (event as { error?: unknown }).error),
  },
  actions: {
    recordView: assign(({ event }) => ({ view: (event as { output?: VolumeView }).output })),
    recordFailure: assign(({ context, event }) => recordedFailure('replication', context, (event as { error?: unknown }).error)),
    scheduleRecheck: assign(({ context, event }) => {
      const v = (event as { output?: VolumeView }).output;
      const attempt = context.attempt + 1;
      return { view: v, attempt: Math.min(attempt, context.attemptMax), retryAtMs: (v?.atMs ?? 0) + backoffMs(attempt, context.backoffBaseMs, context.backoffMaxMs) };
    }),
    markResynced: assign({ resynced: true }),
    recordMissing: assign(({ context }) => ({
      lastError: { kind: 'NotFound', driver: 'kubernetes', op: 'observeVolume', message: `VolumeReplication ${context.namespace}/${context.name} does not exist` } as StepError,
    })),
    recordNotPromotable: assign(({ context }) => ({
      lastError: {
        kind: 'Transient',
        driver: 'engine',
        op: 'promoteVolume',
        reason: 'Timeout',
        message: `VolumeReplication ${context.namespace}/${context.name} did not become promotable (state ${context.view?.state ?? 'unknown'}) before the deadline`,
      } as StepError,
    })),
  },
}).createMachine({
  id: 'replication',
  context: ({ input }) => ({ ...input, attempt: 0, resynced: false }),
  initial: 'observing',
  states: {
    observing: {
      invoke: {
        id: 'observe',
        src: 'observeVolume',
        input: ({ context }) => ({ namespace: context.namespace, name: context.name }),
        onDone: [
          { guard: 'missing', target: 'failed', actions: ['recordView', 'recordMissing'] },
          { guard: 'reached', target: 'done', actions: 'recordView' },
          { guard: 'needsResync', target: 'requestingResync', actions: 'recordView' },
          { guard: 'notPromotable', target: 'recheckingLater', actions: 'scheduleRecheck' },
          { target: 'requesting', actions: 'recordView' },
        ],
        onError: retryOrFail('failed'),
      },
    },
    recheckingLater: {
      always: { guard: ({ context }) => (context.retryAtMs ?? 0) >= context.deadlineMs, target: 'failed', actions: 'recordNotPromotable' },
      invoke: { id: 'recheck', src: 'waitUntil', input: ({ context }) => ({ atMs: context.retryAtMs ?? 0 }), onDone: 'observing', onError: 'observing' },
    },
    requesting: {
      invoke: {
        id: 'request',
        src: 'requestState',
        input: ({ context }) => ({ namespace: context.namespace, name: context.name, state: context.desired, force: context.force }),
        onDone: { target: 'waiting', actions: 'recordView' },
        onError: retryOrFail('failed'),
      },
    },
    waiting: {
      invoke: {
        id: 'wait',
        src: 'waitForVolume',
        input: ({ context }) => ({ namespace: context.namespace, name: context.name, until: 'reached', desired: context.desired, mode: context.mode, deadlineMs: context.deadlineMs }),
        onDone: [
          { guard: 'reached', target: 'done', actions: 'recordView' },
          { guard: 'needsResync', target: 'requestingResync', actions: 'recordView' },
          { target: 'observing', actions: 'recordView' },
        ],
        onError: retryOrFail('failed'),
      },
    },
    requestingResync: {
      invoke: {
        id: 'requestResync',
        src: 'requestState',
        input: ({ context }) => ({ namespace: context.namespace, name: context.name, state: 'resync', force: false }),
        onDone: { target: 'waitingForResync', actions: 'recordView' },
        onError: retryOrFail('failed'),
      },
    },
    waitingForResync: {
      invoke: {
        id: 'waitResync',
        src: 'waitForVolume',
        input: ({ context }) => ({ namespace: context.namespace, name: context.name, until: 'resynced', desired: 'secondary', mode: context.mode, deadlineMs: context.deadlineMs }),
        onDone: { target: 'requesting', actions: ['recordView', 'markResynced'] },
        onError: retryOrFail('failed'),
      },
    },
    backingOff: {
      invoke: { id: 'backoff', src: 'waitUntil', input: ({ context }) => ({ atMs: context.retryAtMs ?? 0 }), onDone: 'observing', onError: 'observing' },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => {
    const done = reached(context.view, context.desired, context.mode);
    const out: ReplicationOutput = { outcome: done ? 'done' : 'failed' };
    if (context.view) out.view = context.view;
    if (!done && context.lastError) out.error = context.lastError;
    return out;
  },
});
