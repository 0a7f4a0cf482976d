// Why: the daemons run inside the deterministic simulator, so a seed must replay byte for byte with them too (they
// take time and randomness only from the injected ports); a difference means some wall-clock or unordered state
// leaked in.
import { describe, expect, it } from 'vitest';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { daemonWorld } from './daemon-world.ts';

async function run(seed: number): Promise<{ hash: string; events: number; marks: string[] }> {
  const dw = await daemonWorld({ seed });
  await dw.world.runFor(40_000);
  dw.world.cluster('east').store.create(failoverObject({ name: 'replay', namespace: 'shop', targetCluster: 'west', mode: 'UPTIME', groups: [{ name: 'storefront' }] }));
  await dw.world.runFor(120_000);
  dw.world.kernel.setDown('operator/west', true); // and the new primary dies: an automatic failover back
  await dw.world.runFor(240_000);
  await dw.sim.stop();
  const marks = dw.world.kernel.trace.lines.filter((l) => / daemon\.(auto-failover|failover-started) /.test(l)).map((l) => l.replace(/^T\+\S+ /, ''));
  return { hash: dw.world.kernel.trace.hash(), events: dw.world.kernel.trace.eventCount, marks };
}

describe('daemon: determinism', () => {
  it('daemon: determinism: one seed, two runs, the same trace (seed=7)', async () => {
    const a = await run(7);
    const b = await run(7);
    expect(a.events).toBeGreaterThan(500);
    // The run did what it says: a planned failover to west (both sides), then an automatic one back to east (west is down).
    expect(a.marks.filter((m) => m.startsWith('daemon.failover-started')).length).toBe(3);
    expect(a.marks.filter((m) => m.startsWith('daemon.auto-failover cluster=east')).length).toBe(1);
    expect(b).toEqual(a);
  });
});
