// Why: the one place that joins the failover chart to this operator's ports: every named actor of
// machines/failover/failover.machine.ts gets its implementation here (cluster steps, global-state steps, the
// timer), and the logging hook writes 'Entered state' with progression. The simulator and the daemon call the
// same function with different ports. The chart itself is provided once (src/wire/provided-once.ts).
import { failoverMachine } from '../../machines/failover/failover.machine.ts';
import type { FailoverContext, WaitUntilInput, WaitUntilOutput } from '../../machines/failover/failover.types.ts';
import { clusterSteps } from './failover/cluster-steps.ts';
import { FailoverWiring, type FailoverDeps } from './failover/deps.ts';
import { globalStateSteps } from './failover/globalstate-steps.ts';
import { providedOnce, type TaskRunner } from './provided-once.ts';

export type { FailoverDeps, FencingConfig } from './failover/deps.ts';
export { FENCING_TOKEN_ANNOTATION } from './fenced-write.ts';

type EnteredStateParams = { order: number; stageIndex: number; stage: string; task: string; path: string };

const wire = providedOnce(failoverMachine, ['enteredState']);

/** The failover chart with every actor provided for this operator's ports. */
export function wireFailover(deps: FailoverDeps) {
  const w = new FailoverWiring(deps);
  const clock = deps.clock;
  const waitUntil: TaskRunner<WaitUntilOutput, WaitUntilInput> = async ({ input, signal }) => {
    const ms = Math.max(0, input.atMs - clock.now());
    if (ms > 0) await clock.sleep(ms, signal);
    return { atMs: clock.now() };
  };
  return wire({
    actors: { ...globalStateSteps(w), ...clusterSteps(w), waitUntil },
    actions: {
      enteredState: ({ context }: { context: FailoverContext }, params: EnteredStateParams) => {
        const log = w.logFor(context);
        // Every transition passes here: build the line only when it is written.
        if (!log.isLevelEnabled('info')) return;
        log.info(
          { state: params.path, role: context.role, progression: { stageIndex: params.stageIndex, stage: params.stage, task: params.task }, attempt: context.attempt, round: context.round },
          'Entered state',
        );
      },
    },
  });
}
