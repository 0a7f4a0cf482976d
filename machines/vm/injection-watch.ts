// Why: after an injection whose end is unknown (a lost answer, a crashed engine) the chart must not revert the
// volume while the tool may still write to it. The wiring provides a watcher that asks the injection port whether
// a run is still going on the device and sends `injection.idle` once none is; this default never does, so a chart
// without one (or a port that cannot tell) falls back to the fixed quiesce wait (policy.injectionQuiesceMs).
import { fromCallback } from 'xstate';
import type { InjectionWatchEvent, InjectionWatchInput } from './vm.types.ts';

export const silentInjectionWatch = fromCallback<InjectionWatchEvent, InjectionWatchInput>(() => undefined);
