// Why: an API server restart ends every watch, and the server comes back with its watch history compacted, so the
// daemons' informers must relist after 410 Gone (Expired) and the failover must still end as it would have, with
// every invariant held. The swarm draws such restarts from the seed; this pins one on each cluster mid-failover.
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../simulator/failover-run.ts';
import { loadCrds } from '../../src/crds.ts';

const CRDS = loadCrds();

describe('simulation: API server restart (watches relist after 410 Gone)', () => {
  for (const mode of ['CONSISTENCY', 'UPTIME'] as const) {
    for (const cluster of ['east', 'west']) {
      it(`apiserver restart: ${cluster}'s API server restarts mid-failover; its daemon's watches end Expired and the failover completes (seed=3, sample, ${mode}, profile none)`, async () => {
        const r = await runSimulation({ seed: 3, scenario: 'sample', profile: 'none', failover: { mode, type: 'planned' }, crds: CRDS, apiServerRestarts: [{ cluster, atMs: 8_000, downMs: 5_000 }], keepTraceLines: true });
        expect(r.failure, r.replayHint).toBeUndefined();
        expect(r.outcome).toBe('completed');
        expect(r.apiServerRestarts).toEqual([{ cluster, atMs: 8_000, downMs: 5_000 }]);
        const expired = r.trace!.filter((l) => l.includes(`kube.watch.end from=operator/${cluster} to=apiserver/${cluster}`) && l.endsWith('reason=Expired'));
        expect(expired.length).toBeGreaterThan(0);
        expect(r.invariants.every((i) => i.held)).toBe(true);
      });
    }
  }

  it('apiserver restart: the swarm profile draws restarts from the seed alone (same seed, same restarts; none without swarm)', async () => {
    const opts = { scenario: 'sample', failover: { mode: 'CONSISTENCY' as const, type: 'planned' as const }, crds: CRDS };
    const drawn = [];
    for (let seed = 1; seed <= 8; seed++) drawn.push((await runSimulation({ ...opts, seed, profile: 'swarm' })).apiServerRestarts);
    expect(drawn.some((d) => d.length > 0)).toBe(true);
    expect((await runSimulation({ ...opts, seed: 1, profile: 'swarm' })).apiServerRestarts).toEqual(drawn[0]);
    expect((await runSimulation({ ...opts, seed: 1, profile: 'calm' })).apiServerRestarts).toEqual([]);
  });
});
