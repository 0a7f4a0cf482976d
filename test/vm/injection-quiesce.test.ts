// Why: after an injection whose end is unknown, the chart reverts the volume only once no injection writes to it:
// it waits for the injection port to say `idle` (checked by the wiring's watcher on the injected clock), and only
// when the port cannot tell (`unknown`, errors) for the fixed quiesce time. Checked on the chart with stubs, on the
// watcher with a scripted port, and on the simulated cloud with an engine crash in the middle of the injection.
import { createActor, createMachine, fromCallback } from 'xstate';
import { describe, expect, it } from 'vitest';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { DriverError } from '../../drivers/errors.ts';
import type { InjectionPort, InjectionStatus } from '../../drivers/injection/injection.port.ts';
import type { InjectionWatchEvent, InjectionWatchInput, TimerEvent, TimerInput } from '../../machines/vm/vm.types.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { runVmSimulation } from '../../simulator/vm-run.ts';
import { silentLogger } from '../../src/log.ts';
import { composeVmCharts, injectionWatchActor } from '../../src/wire/vm-failover.ts';
import { FAST_POLICY, StubCloud, job, runChart } from './stub-ops.ts';

const top = (v: unknown) => (typeof v === 'string' ? v : Object.keys(v as object)[0]);

/** A timer that arms but never fires: only the watcher can end the quiesce. */
const neverFires = fromCallback<TimerEvent, TimerInput>(({ input, sendBack }) => {
  void Promise.resolve().then(() => {
    if (input.deadlineMs === undefined) sendBack({ type: 'timer.armed', deadlineMs: 1_000 + input.delayMs });
  });
  return () => undefined;
});

function watcher(seen: InjectionWatchInput[], idle: boolean) {
  return fromCallback<InjectionWatchEvent, InjectionWatchInput>(({ input, sendBack }) => {
    seen.push(input);
    if (idle) void Promise.resolve().then(() => sendBack({ type: 'injection.idle' }));
    return () => undefined;
  });
}

describe('injection quiesce: the chart', () => {
  it('quiesce: an interrupted injection waits; `injection.idle` ends the wait (revert, inject again), without it the chart keeps waiting', async () => {
    const seen: InjectionWatchInput[] = [];
    const cloud = new StubCloud().flaky('injectDrivers', 1);
    const charts = composeVmCharts((name) => cloud.attempt(name), neverFires, watcher(seen, true));
    const { snapshot } = await runChart(charts.testFailover, { job: job('test-failover'), policy: FAST_POLICY }, (v) => top(v) === 'runningAsTest');
    expect(top(snapshot.value)).toBe('runningAsTest');
    expect(cloud.calls.get('injectDrivers')).toBe(2);
    expect(cloud.volumes.get('vol-1')).toMatchObject({ reverted: 1 });
    expect(seen).toEqual([{ volumeId: 'vol-1', devicePath: '/dev/vdb' }]);

    const stuck = new StubCloud().flaky('injectDrivers', 1);
    const silent = composeVmCharts((name) => stuck.attempt(name), neverFires, watcher([], false));
    const actor = createActor(silent.testFailover, { input: { job: job('test-failover'), policy: FAST_POLICY } });
    actor.start();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(actor.getSnapshot().value).toEqual({ quiescingInjection: 'armed' });
    expect(stuck.volumes.get('vol-1')).toMatchObject({ reverted: 0 });
    actor.stop();
  });
});

describe('injection quiesce: the watcher', () => {
  const port = (answers: Array<InjectionStatus | Error>): InjectionPort & { asked: number } => {
    const p = {
      asked: 0,
      inject: () => Promise.reject(new Error('not used')),
      status: async () => {
        const a = answers[Math.min(p.asked++, answers.length - 1)];
        if (a instanceof Error) throw a;
        return a;
      },
    };
    return p;
  };

  async function watch(answers: Array<InjectionStatus | Error>, forMs: number) {
    const kernel = new SimKernel({ seed: 1 });
    const injection = port(answers);
    const events: Array<{ atMs: number; type: string }> = [];
    const logic = injectionWatchActor({ injection, clock: simClock(kernel.sched), log: silentLogger, injectionStatusPollMs: 5_000 });
    const parent = createMachine({
      invoke: { src: logic, input: { volumeId: 'vol-1', devicePath: '/dev/vdb' } },
      on: { 'injection.idle': { actions: () => events.push({ atMs: kernel.elapsed(), type: 'injection.idle' }) } },
    });
    const root = createActor(parent, { clock: kernel.sched.xstateClock });
    root.start();
    await kernel.run({ untilMs: kernel.startMs + forMs });
    root.stop();
    return { events, asked: injection.asked };
  }

  it('watcher: asks at once and every poll; sends injection.idle on the first idle answer, then stops asking', async () => {
    const r = await watch(['running', 'running', 'idle'], 60_000);
    expect(r.events).toEqual([{ atMs: 10_000, type: 'injection.idle' }]);
    expect(r.asked).toBe(3);
  });

  it('watcher: unknown answers and failed questions keep it waiting (the chart\'s fixed quiesce decides)', async () => {
    const r = await watch(['unknown', new DriverError('Transient', 'inject', 'status', 'boom'), 'unknown'], 60_000);
    expect(r.events).toEqual([]);
    expect(r.asked).toBe(13);
  });
});

describe('injection quiesce: the simulated cloud', () => {
  const line = (trace: string, re: RegExp) => trace.split('\n').find((l) => re.test(l)) ?? '';
  const atMs = (l: string) => Math.round(Number(/^T\+(\d+\.\d+)/.exec(l)?.[1] ?? 'NaN') * 1000);

  it('quiesce: after an engine crash mid-injection the revert waits for the orphaned run to end, not the fixed 120 s', async () => {
    const probe = await runVmSimulation({ seed: 14, operation: 'test-failover', profile: 'none', keepTraceLines: true });
    const startedMs = atMs(line(probe.trace!, / inject\.started /));
    const r = await runVmSimulation({ seed: 14, operation: 'test-failover', profile: 'none', crashAtMs: [startedMs + 1_000], keepTraceLines: true });
    expect(r.failure).toBeUndefined();
    expect(r.result).toBe('testRunning');
    const trace = r.trace!;
    const quiesceMs = atMs(line(trace, /state=quiescingInjection/));
    const orphanEndMs = atMs(line(trace, / inject\.done /));
    const revertMs = atMs(line(trace, /state=revertingForRetry/));
    expect(quiesceMs).toBeGreaterThan(startedMs);
    // The orphan ended while the chart waited, and the revert came after it, within one poll, long before 120 s.
    expect(orphanEndMs).toBeGreaterThan(quiesceMs);
    expect(revertMs).toBeGreaterThanOrEqual(orphanEndMs);
    expect(revertMs - orphanEndMs).toBeLessThanOrEqual(5_000 + 1_000);
    expect(revertMs - quiesceMs).toBeLessThan(120_000);
    expect(r.world.volumes[0].data).toMatchObject({ virtio: true, dirty: false });
    expect(r.world.testVms[0].guest).toBe('booted');
  });
});
