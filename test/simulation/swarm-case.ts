// Why: the property suite's case (a world, a failover and a nemesis drawn by fast-check) and the run options it
// maps to, in one place, so the replay test runs exactly what the property runs and checks its printed command.
import fc from 'fast-check';
import type { CrashPoint, SimulationOptions, StallPoint } from '../../simulator/failover-run.ts';

export const LEASE_TTL_MS = 60_000;

/** A case with a group of 1 to `workloadsMax` workloads (the simulated suite draws up to 50, the real-driver one 8). */
export const swarmCaseArb = (workloadsMax: number) =>
  fc.record({
    seed: fc.nat({ max: 2 ** 31 - 1 }),
    workloads: fc.integer({ min: 1, max: workloadsMax }),
    mode: fc.constantFrom('CONSISTENCY' as const, 'UPTIME' as const),
    type: fc.constantFrom('planned' as const, 'planned' as const, 'unplanned' as const),
    force: fc.boolean(),
    /** An unplanned case is started by the target's daemon itself (a dead primary) instead of a user, sometimes. */
    auto: fc.boolean(),
    crash: fc.option(
      fc.record({ side: fc.constantFrom('source' as const, 'target' as const), atTransition: fc.integer({ min: 1, max: 100 }), downMs: fc.integer({ min: 500, max: 90_000 }) }),
      { freq: 2 },
    ),
    stall: fc.option(
      fc.record({ side: fc.constantFrom('source' as const, 'target' as const), atMs: fc.integer({ min: 0, max: 120_000 }), durationMs: fc.integer({ min: LEASE_TTL_MS + 1_000, max: 3 * LEASE_TTL_MS }) }),
      { freq: 3 },
    ),
  });

export const caseArb = swarmCaseArb(50);

export type SwarmCase = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * The runSimulation options of a case (the source is east, the target west, as in the generated scenarios). An
 * unplanned case runs in CONSISTENCY mode whatever was drawn: the daemon refuses an unplanned UPTIME Failover (it
 * needs a cooperating source), and the unplanned charts are the same in either mode.
 */
export function caseOptions(c: SwarmCase): Omit<SimulationOptions, 'crds'> {
  const cluster = (side: 'source' | 'target') => (side === 'source' ? 'east' : 'west');
  const crashPoints: CrashPoint[] = c.crash ? [{ cluster: cluster(c.crash.side), atTransition: c.crash.atTransition, downMs: c.crash.downMs }] : [];
  const stallPoints: StallPoint[] = c.stall ? [{ cluster: cluster(c.stall.side), atMs: c.stall.atMs, durationMs: c.stall.durationMs }] : [];
  return { seed: c.seed, scenario: `generated-${c.workloads}`, profile: 'swarm', failover: { mode: c.type === 'unplanned' ? 'CONSISTENCY' : c.mode, type: c.type, force: c.force, ...(c.type === 'unplanned' && c.auto ? { trigger: 'auto' as const } : {}) }, crashPoints, stallPoints };
}
