// Why: the clock port on the simulator's virtual time.
import type { Scheduler } from '../../simulator/scheduler.ts';
import type { ClockPort } from './clock.port.ts';

export function simClock(sched: Scheduler): ClockPort {
  return { now: () => sched.now(), sleep: (ms, signal) => sched.sleep(ms, signal) };
}
