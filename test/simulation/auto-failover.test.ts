// Why: an automatic failover must work as shipped: the source site dead from the start, nobody asking, the
// target's daemon starts the failover of the dead primary by itself, exactly once, and it ends like any unplanned
// failover, with every invariant held, under the seed's faults too.
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../simulator/failover-run.ts';
import { loadCrds } from '../../src/crds.ts';

const CRDS = loadCrds();

describe('simulation: automatic failover of a dead primary (through the daemons)', () => {
  for (const [seed, profile] of [[1, 'none'], [3, 'swarm'], [5, 'swarm']] as const) {
    it(`auto-failover: the target's daemon fails over a dead primary by itself, once, and it completes (seed=${seed}, sample, profile ${profile})`, async () => {
      const r = await runSimulation({ seed, scenario: 'sample', profile, failover: { mode: 'CONSISTENCY', type: 'unplanned', trigger: 'auto' }, crds: CRDS });
      expect(r.failure, `${r.failure?.message}\n${r.replayHint}`).toBeUndefined();
      expect(r.outcome).toBe('completed');
      expect(r.failover).toMatchObject({ type: 'unplanned', force: true, source: 'east', target: 'west' });
      expect(r.failover.failoverId).toMatch(/^auto-failover-storefront-\d{8}-\d{6}-[0-9a-f]{8}$/);
      expect(r.invariants.find((i) => i.name === 'auto-failover-once')).toMatchObject({ held: true });
      expect(r.replayHint).toContain('--trigger auto');
    });
  }

  it('auto-failover: a trigger that cannot be (auto with a planned failover) is refused naming the field', async () => {
    await expect(runSimulation({ seed: 1, scenario: 'sample', failover: { mode: 'CONSISTENCY', type: 'planned', trigger: 'auto' }, crds: CRDS })).rejects.toThrow(/failover.trigger auto/);
  });
});
