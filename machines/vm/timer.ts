// Why: the placeholder for the restart-proof timer every VM chart invokes instead of `after` (a restored actor
// does not re-arm `after` timers, xstate issue 5331). The wiring provides the real one: it arms the deadline
// (sending `timer.armed` so the chart keeps it in context) and sends `timer.fired` when it passes.
import { fromCallback } from 'xstate';
import { NotProvidedError } from '../shared/unprovided.ts';
import type { TimerEvent, TimerInput } from './vm.types.ts';

export function unprovidedTimer(name: string) {
  return fromCallback<TimerEvent, TimerInput>(() => {
    throw new NotProvidedError(name);
  });
}
