// Why: the swarm. fast-check draws a world (a generated group of 1 to 50 workloads), a failover (mode, type,
// force) and a nemesis on top of the seed's fault plan (errors, throttling, latency, partitions, time-based
// crashes and stalls): a crash of either operator at any transition, and stalls longer than the lease's ttl.
// Each run must end without a crash, a safety violation or a liveness failure; a failure prints the seed and
// the command that replays it. SIM_RUNS sets the number of runs (default 25); SIM_SEED and SIM_PATH replay a
// fast-check counterexample.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runSimulation, type CrashPoint, type StallPoint } from '../../simulator/failover-run.ts';
import { loadCrds } from '../../src/crds.ts';

const CRDS = loadCrds();
const RUNS = Number(process.env.SIM_RUNS ?? 25);
const LEASE_TTL_MS = 60_000;

const caseArb = fc.record({
  seed: fc.nat({ max: 2 ** 31 - 1 }),
  workloads: fc.integer({ min: 1, max: 50 }),
  mode: fc.constantFrom('CONSISTENCY' as const, 'UPTIME' as const),
  type: fc.constantFrom('planned' as const, 'planned' as const, 'unplanned' as const),
  force: fc.boolean(),
  crash: fc.option(
    fc.record({ side: fc.constantFrom('source' as const, 'target' as const), atTransition: fc.integer({ min: 1, max: 100 }), downMs: fc.integer({ min: 500, max: 90_000 }) }),
    { freq: 2 },
  ),
  stall: fc.option(
    fc.record({ side: fc.constantFrom('source' as const, 'target' as const), atMs: fc.integer({ min: 0, max: 120_000 }), durationMs: fc.integer({ min: LEASE_TTL_MS + 1_000, max: 3 * LEASE_TTL_MS }) }),
    { freq: 3 },
  ),
});

describe('simulation: failover swarm', () => {
  it(`failover: swarm: safety then liveness (runs=${RUNS}, workloads=1..50, faults from the seed, crashes at transitions, stalls past the lease)`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const cluster = (side: 'source' | 'target') => (side === 'source' ? 'east' : 'west');
        const crashPoints: CrashPoint[] = c.crash ? [{ cluster: cluster(c.crash.side), atTransition: c.crash.atTransition, downMs: c.crash.downMs }] : [];
        const stallPoints: StallPoint[] = c.stall ? [{ cluster: cluster(c.stall.side), atMs: c.stall.atMs, durationMs: c.stall.durationMs }] : [];
        const r = await runSimulation({
          seed: c.seed,
          scenario: `generated-${c.workloads}`,
          profile: 'swarm',
          failover: { mode: c.mode, type: c.type, force: c.force },
          crds: CRDS,
          crashPoints,
          stallPoints,
        });
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
  }, 600_000);
});
