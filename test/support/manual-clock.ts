// Why: a ClockPort that moves only when a test says so, for real drivers whose lease expiry must be tested
// without waiting on the wall clock. sleep() advances the clock at once, and records what was asked.
import type { ClockPort } from '../../drivers/clock/clock.port.ts';

export interface ManualClock extends ClockPort {
  advance(ms: number): void;
  /** Every sleep asked for, in milliseconds, in order. */
  readonly sleeps: number[];
}

export function manualClock(startMs: number): ManualClock {
  let nowMs = startMs;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => nowMs,
    advance(ms: number) {
      if (!(ms >= 0)) throw new Error(`manualClock.advance: ms must be 0 or more (got ${ms})`);
      nowMs += ms;
    },
    async sleep(ms: number, signal?: AbortSignal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      nowMs += ms;
    },
  };
}
