// Why: the faults that matter at daemon level, each on its own so a regression names it: both daemons killed at
// once (each restores from its snapshot store), a daemon cut off from its own API server, from the peer's API
// server, from global state, and a daemon stalled past its lease. Each failover must still end, with every
// invariant held (a rollback is a legitimate end; a stuck or unsafe failover is not).
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../simulator/failover-run.ts';
import { quietPlan, type FaultPlan } from '../../simulator/faults.ts';
import { loadCrds } from '../../src/crds.ts';

const CRDS = loadCrds();

function plan(seed: number, change: (p: FaultPlan) => void): FaultPlan {
  const p = quietPlan(seed);
  p.healAtMs = 60_000;
  change(p);
  return p;
}

const CASES: Array<[string, (p: FaultPlan) => void]> = [
  ['both daemons killed at once (T+3s), back after 10 s and 12 s', (p) => {
    p.crashes.push({ party: 'operator/east', atMs: 3_000, downMs: 10_000 }, { party: 'operator/west', atMs: 3_000, downMs: 12_000 });
  }],
  ['the source daemon cut off from its own API server for 25 s', (p) => p.partitions.push({ between: ['operator/east', 'apiserver/east'], fromMs: 2_000, toMs: 27_000 })],
  ['the source daemon cut off from the peer\'s API server for 25 s (the copy of the Failover waits)', (p) => p.partitions.push({ between: ['operator/east', 'apiserver/west'], fromMs: 0, toMs: 25_000 })],
  ['the target daemon cut off from global state for 25 s', (p) => p.partitions.push({ between: ['operator/west', 'globalstate'], fromMs: 5_000, toMs: 30_000 })],
  ['the source daemon stalled past its lease (70 s)', (p) => p.stalls.push({ party: 'operator/east', atMs: 4_000, durationMs: 70_000 })],
];

describe('simulation: daemon-level faults, one at a time', () => {
  for (const mode of ['CONSISTENCY', 'UPTIME'] as const) {
    for (const [what, change] of CASES) {
      it(`daemon faults: ${what}: the failover ends with every invariant held (seed=2, sample, ${mode})`, async () => {
        const r = await runSimulation({ seed: 2, scenario: 'sample', failover: { mode, type: 'planned' }, crds: CRDS, plan: plan(2, change) });
        expect(r.failure, `${r.failure?.kind} ${r.failure?.invariant ?? ''}: ${r.failure?.message}\n${r.replayHint}`).toBeUndefined();
        expect(['completed', 'rolledBack']).toContain(r.outcome);
        expect(r.invariants.every((i) => i.held)).toBe(true);
        if (what.startsWith('both daemons')) expect(r.crashes).toBe(2);
      });
    }
  }
});
