// Why: the swarm, on the product as users run it: every run is daemon-level (one daemon per cluster through
// startDaemon, the Failover created through the Kubernetes API, or by the target's daemon for a dead primary).
// fast-check draws a world (a generated group of 1 to 50 workloads), a failover (mode, type, force, who starts it)
// and a nemesis on top of the seed's fault plan (errors, throttling, latency, partitions, time-based crashes and
// stalls, API server restarts): a crash of either daemon at any transition, and stalls longer than the lease's ttl.
// Each run must end without a crash, a safety violation or a liveness failure; a failure prints the seed and
// the command that replays it. SIM_RUNS sets the number of runs (default 50: about 20 s on the shared 2-core
// machine); SIM_SEED and SIM_PATH replay a fast-check counterexample.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../simulator/failover-run.ts';
import { loadCrds } from '../../src/crds.ts';
import { caseArb, caseOptions } from './swarm-case.ts';

const CRDS = loadCrds();
const RUNS = Number(process.env.SIM_RUNS ?? 50);
/** Long hunts (SIM_RUNS in the thousands) get up to a second a run on a busy machine before vitest gives up. */
const TIMEOUT_MS = Math.max(600_000, RUNS * 1_000);

describe('simulation: failover swarm', () => {
  it(`failover: swarm: safety then liveness (runs=${RUNS}, workloads=1..50, faults from the seed, crashes at transitions, stalls past the lease)`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const r = await runSimulation({ ...caseOptions(c), crds: CRDS });
        const why = r.failure ? `${r.failure.kind} failure${r.failure.invariant ? ` of ${r.failure.invariant}` : ''} at T+${r.failure.atMs}ms: ${r.failure.message}\nreplay: ${r.replayHint}` : '';
        expect(r.failure, why).toBeUndefined();
        expect(['completed', 'rolledBack', 'failed', 'manualIntervention'], `outcome ${r.outcome}\nreplay: ${r.replayHint}`).toContain(r.outcome);
      }),
      {
        numRuns: RUNS,
        seed: process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED),
        path: process.env.SIM_PATH,
        endOnFailure: true,
      },
    );
  }, TIMEOUT_MS);
});
