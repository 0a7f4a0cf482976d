// Why: when the simulated world is served to real clients (`failoverctl world serve`), virtual time must move on
// its own, following the wall clock at a chosen speed, so pods start and volumes resync while kubectl watches.
// The simulator itself has no timers (it is deterministic); this real timer loop, outside it, drives it. Processes
// outside the world that share its timestamps (the served daemons) read the world's time from `clock`.
import { realClock } from '../drivers/clock/clock.real.ts';
import type { ClockPort } from '../drivers/clock/clock.port.ts';
import type { SimKernel } from '../simulator/kernel.ts';

export interface RealtimeOptions {
  /** Virtual milliseconds per real millisecond. Default 1. */
  speed?: number;
  /** Real milliseconds between steps. Default 10. */
  tickMs?: number;
  /** Called when a step throws (an invariant violated, say); the loop stops. */
  onError?: (e: unknown) => void;
  /** The wall clock, in milliseconds (tests pass their own). */
  now?: () => number;
  /**
   * Virtual time (Unix ms) to jump to before following the wall clock, if later than the world's time: a world
   * built at the wall time catches up with the time its services took to start, so at speed 1 its clock and the
   * wall clock agree.
   */
  startAtMs?: number;
}

export interface RealtimeDriver {
  /** Virtual time, in ms since the world started, at the last step. */
  readonly elapsedMs: number;
  /** Resolves when the loop has stopped (after stop(), or after an error). */
  readonly done: Promise<void>;
  /**
   * The world's time as a ClockPort, for processes outside the world whose timestamps must agree with its objects'
   * (the served daemons): now() is virtual time, a sleep of `ms` virtual milliseconds lasts ms / speed real ones.
   */
  readonly clock: ClockPort;
  stop(): Promise<void>;
}

/**
 * Runs `kernel` continuously: every tick, virtual time is advanced to `start + speed × real elapsed` (an empty
 * event at that time keeps the clock moving while the world is idle). Only this loop may call kernel.run while
 * it is active.
 */
export function runRealtime(kernel: SimKernel, opts: RealtimeOptions = {}): RealtimeDriver {
  const speed = opts.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number, got ${speed}`);
  const tickMs = opts.tickMs ?? 10;
  const now = opts.now ?? (() => performance.now());
  const realStart = now();
  const virtualStart = Math.max(kernel.now(), opts.startAtMs ?? 0);
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const step = async () => {
    const target = virtualStart + Math.floor((now() - realStart) * speed);
    if (target > kernel.now()) kernel.sched.at(target, 'clock.realtime', () => {});
    await kernel.run({ untilMs: target });
  };

  const loop = async () => {
    while (!stopped) {
      try {
        await step();
      } catch (e) {
        stopped = true;
        opts.onError?.(e);
        return;
      }
      if (stopped) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, tickMs);
      });
      wake = undefined;
    }
  };
  const done = loop();
  const clock: ClockPort = {
    now: () => Math.max(kernel.now(), virtualStart + Math.floor((now() - realStart) * speed)),
    sleep: (ms, signal) => realClock.sleep(ms / speed, signal),
  };
  return {
    clock,
    get elapsedMs() {
      return kernel.elapsed();
    },
    done,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await done;
    },
  };
}
