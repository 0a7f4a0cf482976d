// Why: the overhead ratio is only honest when the simulator and its floor ran every failover asked of them, in
// alternating batches on the same machine, and the ratio comes from those totals; this checks the bookkeeping.
import { describe, expect, it } from 'vitest';
import { measureSimAndFloor } from '../../bench/sim-throughput.ts';

describe('bench: sim throughput', () => {
  it('bench: paired throughput: alternating batches run every requested failover and derive the ratio from both totals', async () => {
    const lines: string[] = [];
    const p = await measureSimAndFloor({ simRuns: 3, simWarmup: 0, floorRuns: 7, floorWarmup: 1, rounds: 2, profile: 'calm', log: (l) => lines.push(l) });
    expect(p.rounds).toBe(2);
    expect(p.sim.runs).toBe(3);
    expect(p.sim.seeds).toBe('1..3');
    expect(Object.values(p.sim.outcomes).reduce((a, b) => a + (b ?? 0), 0)).toBe(3);
    expect(p.floor.runs).toBe(7);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('3/3 reference failovers (calm) and 7/7 on the floor, round 2/2');
    const ratio = p.floor.runs / p.floor.realMs / (p.sim.runs / p.sim.realMs);
    expect(p.overheadRatio).toBeCloseTo(ratio, 0);
    expect(p.sim.virtualMs).toBeGreaterThan(0);
  }, 60_000);

  it('bench: paired throughput: with no floor runs the simulator is measured alone and no ratio is claimed', async () => {
    const p = await measureSimAndFloor({ simRuns: 1, simWarmup: 0, floorRuns: 0, floorWarmup: 0, rounds: 3, profile: 'calm', log: () => {} });
    expect(p.rounds).toBe(1);
    expect(p.sim.runs).toBe(1);
    expect(p.floor.runs).toBe(0);
    expect(p.overheadRatio).toBe(0);
  }, 60_000);
});
