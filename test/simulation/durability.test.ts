// Why: the daemon's promise is that a crash never changes how a failover ends. For the sample scenario in both
// modes, a fault-free daemon-level run is the reference; then one run per transition index of each side kills
// that cluster's daemon right after that transition and starts a new one, which restores from its snapshot store,
// and must end the same way, with every invariant held.
import { describe, expect, it } from 'vitest';
import { runSimulation, type SimulationResult } from '../../simulator/failover-run.ts';
import { loadCrds } from '../../src/crds.ts';

const CRDS = loadCrds();
const DOWN_MS = 5_000;

async function run(mode: 'CONSISTENCY' | 'UPTIME', crash?: { cluster: string; atTransition: number }): Promise<SimulationResult> {
  return runSimulation({
    seed: 7,
    scenario: 'sample',
    profile: 'none',
    failover: { mode, type: 'planned' },
    crds: CRDS,
    crashPoints: crash ? [{ ...crash, downMs: DOWN_MS }] : [],
  });
}

for (const mode of ['CONSISTENCY', 'UPTIME'] as const) {
  const reference = await run(mode);
  describe(`durability: crash at every transition (scenario=sample, mode=${mode}, downMs=${DOWN_MS})`, () => {
    it(`durability: the crash-free reference run completes (mode=${mode})`, () => {
      expect(reference.failure, reference.replayHint).toBeUndefined();
      expect(reference.outcome).toBe('completed');
      expect(reference.transitions.source).toBeGreaterThan(5);
      expect(reference.transitions.target).toBeGreaterThan(5);
    });
    for (const [role, cluster] of [['source', 'east'], ['target', 'west']] as const) {
      const n = reference.transitions[role] ?? 0;
      const indexes = Array.from({ length: n }, (_, i) => i + 1);
      it(`durability: crash the ${role} (${cluster}) after each of its ${n} transitions, restart, same outcome (mode=${mode})`, async () => {
        const bad: string[] = [];
        for (const atTransition of indexes) {
          const r = await run(mode, { cluster, atTransition });
          if (r.crashes !== 1) bad.push(`transition ${atTransition}: expected 1 crash, got ${r.crashes} (${r.replayHint})`);
          if (r.failure || r.outcome !== reference.outcome) {
            bad.push(`transition ${atTransition}: outcome ${r.outcome}${r.failure ? `, ${r.failure.kind} ${r.failure.invariant ?? ''}: ${r.failure.message}` : ''} (${r.replayHint})`);
          }
        }
        expect(bad, bad.join('\n')).toEqual([]);
      }, 600_000);
    }
  });
}
