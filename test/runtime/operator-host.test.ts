// Why: the operator host is what makes a failover survive its operator's crash. These tests use a small stand-in
// chart with the same habits as the failover chart (deadlines in context, invoked timer actors, idempotent steps)
// and check persistence on every transition, crash without cleanup, restore, version refusal and stalls.
import { assign, fromPromise, setup, type AnyMachineSnapshot } from 'xstate';
import { describe, expect, it } from 'vitest';
import { SimKernel } from '../../simulator/kernel.ts';
import { SimProcess } from '../../simulator/process.ts';
import { SimSnapshotDisk, SimSnapshotStore, type SnapshotCommit } from '../../drivers/snapshots/snapshot.sim.ts';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { OperatorHost, SnapshotVersionMismatchError, stateValueString, type Submission } from '../../src/runtime/operator-host.ts';
import { silentLogger } from '../../src/log.ts';

/** The world a stand-in step acts on: an append-only log of effects, keyed for idempotency. */
interface Effects {
  done: Set<string>;
  log: string[];
  /** Calls made (including repeats), by key. */
  calls: string[];
}

interface Ports {
  clock: ClockPort;
  effects: { apply(key: string, durationMs: number): Promise<void> };
}

/** A chart: step1 -> step2 -> wait (deadline in context, invoked timer) -> step3 -> done; stepMs per step. */
function standIn(ports: Ports) {
  return setup({
    types: { context: {} as { id: string; waitUntilMs?: number; n: number }, input: {} as { id: string } },
    actors: {
      step: fromPromise<{ atMs: number }, { key: string }>(async ({ input }) => {
        await ports.effects.apply(input.key, 1_000);
        return { atMs: ports.clock.now() };
      }),
      waitUntil: fromPromise<void, { untilMs: number }>(async ({ input }) => {
        await ports.clock.sleep(Math.max(0, input.untilMs - ports.clock.now()));
      }),
    },
  }).createMachine({
    id: 'standin',
    context: ({ input }) => ({ id: input.id, n: 0 }),
    initial: 'step1',
    states: {
      step1: { invoke: { src: 'step', input: ({ context }) => ({ key: `${context.id}/step1` }), onDone: { target: 'step2', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
      step2: {
        invoke: {
          src: 'step',
          input: ({ context }) => ({ key: `${context.id}/step2` }),
          onDone: { target: 'waiting', actions: assign({ n: ({ context }) => context.n + 1, waitUntilMs: ({ event }) => event.output.atMs + 30_000 }) },
        },
      },
      waiting: { invoke: { src: 'waitUntil', input: ({ context }) => ({ untilMs: context.waitUntilMs! }), onDone: 'step3' } },
      step3: { invoke: { src: 'step', input: ({ context }) => ({ key: `${context.id}/step3` }), onDone: { target: 'done', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
      done: { type: 'final' },
    },
  });
}

function world(seed = 1, version = 7) {
  const kernel = new SimKernel({ seed, keepTraceLines: true });
  const disk = new SimSnapshotDisk('east', () => kernel.now());
  const commits: SnapshotCommit[] = [];
  disk.subscribe((c) => commits.push(c));
  const proc = new SimProcess('operator/east', kernel);
  const effects: Effects = { done: new Set(), log: [], calls: [] };
  const baseClock = simClock(kernel.sched);
  const effectsPort = {
    apply: async (key: string, durationMs: number) => {
      effects.calls.push(key);
      await kernel.sched.sleep(durationMs / 2);
      if (!effects.done.has(key)) {
        effects.done.add(key);
        effects.log.push(`${key}@${kernel.elapsed()}`);
      }
      await kernel.sched.sleep(durationMs / 2);
    },
  };
  const submissions: Submission[] = [];
  const host = new OperatorHost<{ state: string }>({
    cluster: 'east',
    machineVersion: version,
    incarnate: () => {
      const clock = proc.clock(baseClock);
      return {
        logic: standIn({ clock, effects: proc.fence(effectsPort) }),
        snapshots: proc.fence(new SimSnapshotStore(kernel, disk, 'operator/east')),
        clock,
        xstateClock: proc.xstateClock(kernel.sched.xstateClock),
      };
    },
    deriveStatus: (s: AnyMachineSnapshot) => ({ state: stateValueString(s.value) }),
    describeStatus: (st) => ({ status: st.state }),
    log: silentLogger,
    trace: (e, f) => kernel.emit(e, f),
    pendingRequests: () => submissions,
  });
  const submit = (id: string) => {
    const s = { failoverId: id, input: { id } };
    submissions.push(s);
    host.start(s);
  };
  const crash = () => {
    host.crash();
    proc.kill();
    kernel.setDown('operator/east', true);
  };
  const restart = async () => {
    kernel.setDown('operator/east', false);
    proc.revive();
    return host.restart();
  };
  return { kernel, disk, commits, proc, effects, host, submit, crash, restart };
}

const ctxOf = (c: SnapshotCommit) => (c.value?.snapshot as { value: string; context: { n: number } });

describe('runtime: operator host', () => {
  it('operator host: persists every transition, stamped with the chart version', async () => {
    const w = world();
    w.submit('f-1');
    await w.kernel.run();
    expect(w.host.isDone('f-1')).toBe(true);
    const saved = w.commits.filter((c) => c.type === 'saved');
    expect(saved.every((c) => c.value?.machineVersion === 7)).toBe(true);
    expect(saved.map((c) => ctxOf(c).value)).toEqual(['step1', 'step2', 'waiting', 'step3', 'done']);
    expect(w.effects.log.map((l) => l.split('@')[0])).toEqual(['f-1/step1', 'f-1/step2', 'f-1/step3']);
    expect(w.host.status('f-1')).toEqual({ state: 'done' });
    expect(w.kernel.trace.lines.filter((l) => l.includes('failover.state')).length).toBe(5);
  });

  it('operator host: crash stops the actor with no further effects; the dead life never acts again', async () => {
    const w = world();
    w.submit('f-1');
    await w.kernel.run({ untilMs: w.kernel.startMs + 1_200 }); // step2 called, its effect not applied yet
    expect(w.effects.calls).toEqual(['f-1/step1', 'f-1/step2']);
    w.crash();
    await w.kernel.run({ untilMs: w.kernel.startMs + 400_000 });
    // The call already made lands (a request already sent), but nothing of the dead life runs after it.
    expect(w.effects.log.map((l) => l.split('@')[0])).toEqual(['f-1/step1', 'f-1/step2']);
    expect(w.effects.calls).toEqual(['f-1/step1', 'f-1/step2']);
    expect(w.host.status('f-1')).toBeUndefined();
    expect(w.disk.read('f-1')).toBeDefined();
    expect(JSON.parse(w.disk.read('f-1')!.json).snapshot.value).toBe('step2');
  });

  it('operator host: restart restores the unfinished failover and it ends as an uncrashed run does', async () => {
    const clean = world();
    clean.submit('f-1');
    await clean.kernel.run();
    for (const crashAtMs of [0, 500, 1_500, 2_100, 10_000, 31_900, 32_500]) {
      const w = world();
      w.submit('f-1');
      await w.kernel.run({ untilMs: w.kernel.startMs + crashAtMs });
      w.crash();
      await w.kernel.run({ untilMs: w.kernel.now() + 5_000 });
      const report = await w.kernel.resolve(w.restart());
      expect(report.refused).toEqual([]);
      await w.kernel.run();
      expect(w.host.isDone('f-1'), `crash at ${crashAtMs}ms`).toBe(true);
      expect(w.effects.done).toEqual(clean.effects.done);
      expect(w.host.status('f-1')).toEqual({ state: 'done' });
    }
  });

  it('operator host: a restored wait keeps its deadline from context (xstate 5331: no `after` re-arm needed)', async () => {
    const w = world();
    w.submit('f-1');
    await w.kernel.run({ untilMs: w.kernel.startMs + 10_000 }); // waiting until ~32s
    expect(w.host.snapshot('f-1')?.value).toBe('waiting');
    const deadline = (w.host.snapshot('f-1')?.context as { waitUntilMs: number }).waitUntilMs;
    w.crash();
    await w.kernel.run({ untilMs: w.kernel.now() + 2_000 });
    await w.kernel.resolve(w.restart());
    await w.kernel.run();
    const step3 = w.effects.log.find((l) => l.startsWith('f-1/step3'))!;
    // step3's effect lands half a step (500 ms) after the deadline, not 30 s after the restart.
    expect(w.kernel.startMs + Number(step3.split('@')[1])).toBe(deadline + 500);
  });

  it('operator host: finished failovers are not re-run after restart, but keep their status', async () => {
    const w = world();
    w.submit('f-1');
    await w.kernel.run();
    const calls = w.effects.calls.length;
    w.crash();
    const report = await w.kernel.resolve(w.restart());
    expect(report).toMatchObject({ restored: [], finished: ['f-1'], started: [] });
    await w.kernel.run();
    expect(w.effects.calls.length).toBe(calls);
    expect(w.host.status('f-1')).toEqual({ state: 'done' });
  });

  it('operator host: a request with no snapshot yet (crash before the first write) starts again on restart', async () => {
    const w = world();
    w.submit('f-1');
    w.crash(); // before any virtual time passes: the first save never left
    await w.kernel.run({ untilMs: w.kernel.now() + 1_000 });
    expect(w.disk.keys()).toEqual([]);
    const report = await w.kernel.resolve(w.restart());
    expect(report.started).toEqual(['f-1']);
    await w.kernel.run();
    expect(w.host.isDone('f-1')).toBe(true);
  });

  it('operator host: refuses a snapshot of another chart version, naming both versions', async () => {
    const w = world(1, 7);
    w.submit('f-1');
    await w.kernel.run({ untilMs: w.kernel.startMs + 1_500 });
    w.crash();
    // The same disk, read by an operator running chart version 8.
    const w8 = world(1, 8);
    const stored = await w.kernel.resolve(new SimSnapshotStore(w.kernel, w.disk, 'test').load('f-1'));
    expect(stored?.machineVersion).toBe(7);
    await w8.kernel.resolve(new SimSnapshotStore(w8.kernel, w8.disk, 'test').save('f-1', stored!, undefined));
    w8.crash();
    const report = await w8.kernel.resolve(w8.restart());
    expect(report.refused).toHaveLength(1);
    const err = report.refused[0].error;
    expect(err).toBeInstanceOf(SnapshotVersionMismatchError);
    expect(err.message).toMatch(/chart version 7.*chart version 8/);
    expect(w8.host.status('f-1')).toBeUndefined();
    // Starting it afresh would overwrite the refused snapshot: refused too, and the disk keeps version 7.
    expect(() => w8.host.start({ failoverId: 'f-1', input: { id: 'f-1' } })).toThrow(/will not start failover f-1 again.*chart version 7/);
    expect(JSON.parse(w8.disk.read('f-1')!.json).machineVersion).toBe(7);
  });

  it('operator host: a conflicting entry on disk (a lost write that applied) is adopted and overwritten', async () => {
    const w = world();
    // Someone (our own timed-out write) created the entry already.
    const store = new SimSnapshotStore(w.kernel, w.disk, 'operator/east');
    await w.kernel.resolve(store.save('f-1', { machineVersion: 7, snapshot: { stale: true } }, undefined));
    w.submit('f-1');
    await w.kernel.run();
    expect(w.host.isDone('f-1')).toBe(true);
    expect(ctxOf(w.commits.at(-1)!).value).toBe('done');
    expect(w.kernel.trace.lines.some((l) => l.includes('snapshot.conflict'))).toBe(true);
  });

  it('operator host: persistence survives injected faults (errors, timeouts that apply) and still ends on disk', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const w = world(seed);
      const rates = { Conflict: 0.1, Throttled: 0.1, Transient: 0.1, Timeout: 0.1 };
      w.kernel.plan.healAtMs = 60_000;
      w.kernel.plan.errorRates['kube.write'] = rates;
      w.kernel.plan.errorRates['kube.read'] = rates;
      w.submit('f-1');
      await w.kernel.run({ untilMs: w.kernel.startMs + 200_000 });
      expect(w.host.isDone('f-1')).toBe(true);
      expect(w.host.isPersisted('f-1')).toBe(true);
      const onDisk = JSON.parse(w.disk.read('f-1')!.json) as { snapshot: { value: string } };
      expect(onDisk.snapshot.value, `seed ${seed}`).toBe('done');
    }
  });

  it('process: a stall freezes calls, answers and timers, then resumes in order with state intact', async () => {
    const w = world();
    w.submit('f-1');
    await w.kernel.run({ untilMs: w.kernel.startMs + 2_500 }); // waiting starts at ~2s
    w.proc.stall(60_000);
    await w.kernel.run({ untilMs: w.kernel.startMs + 50_000 });
    expect(w.host.snapshot('f-1')?.value).toBe('waiting'); // the deadline (~32s) passed, but the process is frozen
    expect(w.effects.calls).not.toContain('f-1/step3');
    await w.kernel.run();
    expect(w.host.isDone('f-1')).toBe(true);
    const step3 = Number(w.effects.log.find((l) => l.startsWith('f-1/step3'))!.split('@')[1]);
    expect(step3).toBeGreaterThanOrEqual(62_500);
  });

  it('stand-in check: a restored `after` timer is not re-armed (xstate issue 5331), which is why charts avoid it', async () => {
    const kernel = new SimKernel({ seed: 1 });
    const m = setup({}).createMachine({ initial: 'a', states: { a: { after: { 5_000: 'b' } }, b: { type: 'final' } } });
    const { createActor } = await import('xstate');
    const a = createActor(m, { clock: kernel.sched.xstateClock }).start();
    const persisted = JSON.parse(JSON.stringify(a.getPersistedSnapshot()));
    a.stop();
    const restored = createActor(m, { clock: kernel.sched.xstateClock, snapshot: persisted }).start();
    await kernel.run({ untilMs: kernel.startMs + 60_000 });
    expect(restored.getSnapshot().value).toBe('a');
  });
});
