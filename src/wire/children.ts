// Why: the failover's volume and workload steps run one child chart per resource (replication.machine.ts,
// workload.machine.ts) to completion. This runs one such actor and settles with its output, stopping it when the
// step is aborted (the parent left the state), so no child outlives its step.
import { createActor, type AnyActorLogic, type OutputFrom, type InputFrom } from 'xstate';

export function runToCompletion<L extends AnyActorLogic>(logic: L, input: InputFrom<L>, signal: AbortSignal): Promise<OutputFrom<L>> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const actor = createActor(logic, { input });
    const onAbort = () => {
      actor.stop();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    actor.subscribe({
      complete: () => {
        signal.removeEventListener('abort', onAbort);
        resolve((actor.getSnapshot() as { output?: unknown }).output as OutputFrom<L>);
      },
      error: (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    });
    actor.start();
  });
}
