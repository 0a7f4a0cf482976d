// Why: a cluster that comes back after the other side took its group over (an unplanned failover fenced it and
// moved ownership by compare-and-set) must never become a second writer. Its operator runs this chart for each
// group on start: read who owns the group; if another cluster does, keep this side down: traffic off, Flux and
// CronJobs paused, workloads at 0, and every VolumeReplication demoted to secondary (resynced when it diverged
// in split brain). Level-based and idempotent: running it on a cluster that is already standing by changes nothing.
import { assign, setup } from 'xstate';
import { asStepError, isRetryable, type StepError } from '../shared/step-error.ts';
import { backoffMs } from '../shared/retry.ts';
import { retryOrFail } from '../shared/retry-step.ts';
import { unprovided } from '../shared/unprovided.ts';
import type { FailoverGroupSpec } from './group.types.ts';

export const REJOIN_MACHINE_VERSION = 1;

export interface RejoinInput {
  groupId: string;
  group: FailoverGroupSpec;
  /** This operator's cluster (the one that came back). */
  cluster: string;
  attemptMax?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Bound on each wait (pods gone, volumes secondary). */
  waitTimeoutMs?: number;
}

export interface OwnershipView {
  atMs: number;
  ownerCluster: string;
  version: number;
  /** The group's current fencing token: the stand-down writes carry it (the owner's decision, enforced here). */
  fencingToken: number;
}

export interface RejoinStepInput {
  groupId: string;
  group: FailoverGroupSpec;
  cluster: string;
  fencingToken: number;
  waitTimeoutMs: number;
  attemptMax: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface RejoinContext extends Required<RejoinInput> {
  ownership?: OwnershipView;
  attempt: number;
  retryAtMs?: number;
  lastError?: StepError;
  lastUpdateMs: number;
  outcome?: RejoinOutput['outcome'];
}

export interface RejoinOutput {
  outcome: 'owner' | 'stoodDown' | 'failed';
  ownerCluster?: string;
  error?: StepError;
}

/** The stand-down tasks in order: traffic first, then what could write, then the volumes. */
export const REJOIN_TASKS = [
  ['disablingNetwork', 'disableNetwork'],
  ['disablingFlux', 'disableFlux'],
  ['suspendingCronJobs', 'suspendCronJobs'],
  ['scalingDown', 'scaleDownWorkloads'],
  ['waitingForScaleDown', 'waitForWorkloadsScaledDown'],
  ['demotingVolumes', 'demoteVolumes'],
  ['waitingForDemotion', 'waitForVolumesSecondary'],
] as const;

type RejoinActor = (typeof REJOIN_TASKS)[number][1];

function errAt(e: unknown, fallback: number): number {
  const at = e !== null && typeof e === 'object' ? (e as { atMs?: unknown }).atMs : undefined;
  return typeof at === 'number' ? at : fallback;
}

const rejoinSetup = setup({
  types: { input: {} as RejoinInput, context: {} as RejoinContext, output: {} as RejoinOutput },
  actors: {
    readOwnership: unprovided<{ groupId: string }, OwnershipView>('readOwnership'),
    disableNetwork: unprovided<RejoinStepInput, { atMs: number }>('disableNetwork'),
    disableFlux: unprovided<RejoinStepInput, { atMs: number }>('disableFlux'),
    suspendCronJobs: unprovided<RejoinStepInput, { atMs: number }>('suspendCronJobs'),
    scaleDownWorkloads: unprovided<RejoinStepInput, { atMs: number }>('scaleDownWorkloads'),
    waitForWorkloadsScaledDown: unprovided<RejoinStepInput, { atMs: number }>('waitForWorkloadsScaledDown'),
    demoteVolumes: unprovided<RejoinStepInput, { atMs: number }>('demoteVolumes'),
    waitForVolumesSecondary: unprovided<RejoinStepInput, { atMs: number }>('waitForVolumesSecondary'),
    waitUntil: unprovided<{ atMs: number }, { atMs: number }>('waitUntil'),
  },
  guards: {
    weOwnIt: ({ context, event }) => (event as { output?: OwnershipView }).output?.ownerCluster === context.cluster,
    canRetry: ({ context, event }) => isRetryable(asStepError('rejoin', (event as { error?: unknown }).error)) && context.attempt + 1 < context.attemptMax,
  },
  actions: {
    recordOwnership: assign(({ context, event }) => {
      const o = (event as { output?: OwnershipView }).output;
      return { ownership: o, lastUpdateMs: Math.max(context.lastUpdateMs, o?.atMs ?? 0) };
    }),
    settle: assign((_, params: { outcome: RejoinOutput['outcome'] }) => ({ outcome: params.outcome })),
    recordDone: assign(({ context, event }) => ({ attempt: 0, retryAtMs: undefined, lastUpdateMs: Math.max(context.lastUpdateMs, (event as { output?: { atMs: number } }).output?.atMs ?? 0) })),
    recordFailure: assign(({ context, event }) => {
      const raw = (event as { error?: unknown }).error;
      const at = Math.max(context.lastUpdateMs, errAt(raw, context.lastUpdateMs));
      const attempt = Math.min(context.attempt + 1, context.attemptMax);
      return { lastError: asStepError('rejoin', raw), attempt, lastUpdateMs: at, retryAtMs: at + backoffMs(attempt, context.backoffBaseMs, context.backoffMaxMs) };
    }),
  },
});

function stepInput(c: RejoinContext): RejoinStepInput {
  return {
    groupId: c.groupId,
    group: c.group,
    cluster: c.cluster,
    fencingToken: c.ownership?.fencingToken ?? 0,
    waitTimeoutMs: c.waitTimeoutMs,
    attemptMax: c.attemptMax,
    backoffBaseMs: c.backoffBaseMs,
    backoffMaxMs: c.backoffMaxMs,
  };
}

function taskStates(): Record<string, any> {
  const out: Record<string, any> = {};
  REJOIN_TASKS.forEach(([key, src], i) => {
    const next = i + 1 < REJOIN_TASKS.length ? `#rejoin.standingDown.${REJOIN_TASKS[i + 1][0]}` : '#rejoin.stoodDown';
    out[key] = {
      initial: 'running',
      states: {
        running: {
          invoke: {
            id: key,
            src: src as RejoinActor,
            input: ({ context }: { context: RejoinContext }) => stepInput(context),
            onDone: { target: next, actions: 'recordDone' },
            onError: retryOrFail('#rejoin.failed'),
          },
        },
        backingOff: {
          invoke: {
            id: `${key}#backoff`,
            src: 'waitUntil',
            input: ({ context }: { context: RejoinContext }) => ({ atMs: context.retryAtMs ?? context.lastUpdateMs }),
            onDone: 'running',
            onError: 'running',
          },
        },
      },
    };
  });
  return out;
}

export const rejoinMachine = rejoinSetup.createMachine({
  id: 'rejoin',
  context: ({ input }) => ({
    groupId: input.groupId,
    group: input.group,
    cluster: input.cluster,
    attemptMax: input.attemptMax ?? 6,
    backoffBaseMs: input.backoffBaseMs ?? 500,
    backoffMaxMs: input.backoffMaxMs ?? 30_000,
    waitTimeoutMs: input.waitTimeoutMs ?? 120_000,
    attempt: 0,
    lastUpdateMs: 0,
  }),
  initial: 'checkingOwnership',
  states: {
    checkingOwnership: {
      initial: 'running',
      states: {
        running: {
          invoke: {
            id: 'readOwnership',
            src: 'readOwnership',
            input: ({ context }) => ({ groupId: context.groupId }),
            onDone: [
              { guard: 'weOwnIt', target: '#rejoin.owner', actions: 'recordOwnership' },
              { target: '#rejoin.standingDown', actions: 'recordOwnership' },
            ],
            onError: retryOrFail('#rejoin.failed'),
          },
        },
        backingOff: {
          invoke: {
            id: 'readOwnership#backoff',
            src: 'waitUntil',
            input: ({ context }) => ({ atMs: context.retryAtMs ?? context.lastUpdateMs }),
            onDone: 'running',
            onError: 'running',
          },
        },
      },
    },
    standingDown: { initial: REJOIN_TASKS[0][0], states: taskStates() } as any,
    owner: { type: 'final', entry: { type: 'settle', params: { outcome: 'owner' } } },
    stoodDown: { type: 'final', entry: { type: 'settle', params: { outcome: 'stoodDown' } } },
    failed: { type: 'final', entry: { type: 'settle', params: { outcome: 'failed' } } },
  },
  output: ({ context }) => {
    const o: RejoinOutput = { outcome: context.outcome ?? 'failed' };
    if (context.ownership) o.ownerCluster = context.ownership.ownerCluster;
    if (o.outcome === 'failed' && context.lastError) o.error = context.lastError;
    return o;
  },
});
