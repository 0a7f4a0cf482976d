// Why: the placeholder for every named actor a chart declares in setup(): the chart runs only once the wiring
// (src/wire/) provides the real implementation, and a missing wire-up fails loudly instead of doing nothing.
import { fromPromise } from 'xstate';

/** Thrown by a placeholder actor that was never provided: a programmer error, never caught as a step failure. */
export class NotProvidedError extends Error {
  override readonly name = 'NotProvidedError';
  constructor(readonly actor: string) {
    super(`actor '${actor}' was not provided: wire it with machine.provide({ actors: { ${actor}: ... } })`);
  }
}

export function unprovided<TInput, TOutput>(name: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new NotProvidedError(name);
  });
}
