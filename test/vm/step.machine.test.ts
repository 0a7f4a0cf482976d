// Why: the retrying step chart is the retry rule of every VM chart; its bound, its error classes and its
// restart-proof deadline are checked here once.
import { createActor, fromCallback, fromPromise, toPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { DriverError } from '../../drivers/errors.ts';
import { retryingStep, stepMachine } from '../../machines/vm/step.machine.ts';
import type { AttemptInput, StepInput, TimerEvent, TimerInput } from '../../machines/vm/vm.types.ts';
import { immediateTimer } from './stub-ops.ts';

const input = (attemptMax = 3): StepInput => ({ op: 'probe', args: { x: 1 }, retry: { attemptMax, backoffBaseMs: 1_000, backoffMaxMs: 8_000 } });

function failing(times: number, kind: DriverError['kind'] = 'Transient') {
  let n = 0;
  return {
    calls: () => n,
    logic: fromPromise<unknown, AttemptInput>(async ({ input: i }) => {
      n++;
      if (n <= times) throw new DriverError(kind, 'stub', 'probe', `fail ${n}`, { reason: 'Injected' });
      return { ok: i.args, attempt: i.attempt };
    }),
  };
}

describe('vm step chart', () => {
  it('step: a Transient failure is retried and then succeeds (attemptMax=3)', async () => {
    const f = failing(2);
    const actor = createActor(stepMachine.provide({ actors: { attempt: f.logic, waitUntil: immediateTimer } }), { input: input(3) }).start();
    const out = await toPromise(actor);
    expect(out).toEqual({ ok: true, value: { ok: { x: 1 }, attempt: 3 }, attempts: 3 });
    expect(f.calls()).toBe(3);
  });

  it('step: gives up after attemptMax Transient failures, keeping the last error (attemptMax=3)', async () => {
    const f = failing(10);
    const out = await toPromise(createActor(stepMachine.provide({ actors: { attempt: f.logic, waitUntil: immediateTimer } }), { input: input(3) }).start());
    expect(out).toMatchObject({ ok: false, attempts: 3, error: { kind: 'Transient', op: 'probe', message: 'fail 3', reason: 'Injected' } });
    expect(f.calls()).toBe(3);
  });

  it('step: a Fatal or Invalid failure is not retried', async () => {
    for (const kind of ['Fatal', 'Invalid', 'NotFound'] as const) {
      const f = failing(10, kind);
      const out = await toPromise(createActor(stepMachine.provide({ actors: { attempt: f.logic, waitUntil: immediateTimer } }), { input: input(5) }).start());
      expect(out).toMatchObject({ ok: false, attempts: 1, error: { kind } });
      expect(f.calls()).toBe(1);
    }
  });

  it('step: an attempt that was never wired fails loudly as Internal and is not retried', async () => {
    const out = await toPromise(createActor(retryingStep('createSnapshots').provide({ actors: { waitUntil: immediateTimer } }), { input: input(5) }).start());
    expect(out).toMatchObject({ ok: false, attempts: 1, error: { kind: 'Internal' } });
    expect(out.ok ? '' : out.error.message).toMatch(/actor 'createSnapshots' was not provided/);
  });

  it('step: the retry deadline is kept in context and a restored chart waits for the same deadline (JSON round trip)', async () => {
    const seen: TimerInput[] = [];
    const holdTimer = fromCallback<TimerEvent, TimerInput>(({ input: t, sendBack }) => {
      seen.push(t);
      if (t.deadlineMs === undefined) void Promise.resolve().then(() => sendBack({ type: 'timer.armed', deadlineMs: 5_000 + t.delayMs }));
    });
    const f = failing(1);
    const first = createActor(stepMachine.provide({ actors: { attempt: f.logic, waitUntil: holdTimer } }), { input: input(3) }).start();
    await new Promise((r) => setImmediate(r));
    expect(first.getSnapshot().value).toEqual({ waiting: 'armed' });
    expect(first.getSnapshot().context.retryAtMs).toBe(6_000); // 5_000 + backoff(1) = 1_000
    const persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();

    const fired = fromCallback<TimerEvent, TimerInput>(({ input: t, sendBack }) => {
      seen.push(t);
      void Promise.resolve().then(() => sendBack({ type: 'timer.fired' }));
    });
    const restored = createActor(stepMachine.provide({ actors: { attempt: f.logic, waitUntil: fired } }), { snapshot: persisted, input: input(3) }).start();
    const out = await toPromise(restored);
    expect(seen[seen.length - 1]).toEqual({ delayMs: 1_000, deadlineMs: 6_000 });
    expect(out).toMatchObject({ ok: true, attempts: 2 });
  });

  it('step: backoff doubles per attempt and is capped (base 1000, max 8000)', async () => {
    const delays: number[] = [];
    const timer = fromCallback<TimerEvent, TimerInput>(({ input: t, sendBack }) => {
      delays.push(t.delayMs);
      void Promise.resolve().then(() => sendBack({ type: 'timer.fired' }));
    });
    const f = failing(10);
    await toPromise(createActor(stepMachine.provide({ actors: { attempt: f.logic, waitUntil: timer } }), { input: input(6) }).start());
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
  });
});
