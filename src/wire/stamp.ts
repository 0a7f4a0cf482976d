// Why: child charts compute absolute backoff deadlines from the time a step failed; this attaches it.
import type { ClockPort } from '../../drivers/clock/clock.port.ts';

/** Runs `fn`; a rejection gets `atMs` (the clock when it failed) if it is an object without one. */
export async function stampAt<T>(clock: ClockPort, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e !== null && typeof e === 'object' && (e as { atMs?: unknown }).atMs === undefined) {
      try {
        Object.defineProperty(e, 'atMs', { value: clock.now(), enumerable: true, configurable: true });
      } catch {
        // a frozen error keeps no time; the chart falls back to its last known time
      }
    }
    throw e;
  }
}
