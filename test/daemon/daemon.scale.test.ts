// Why: an idle daemon must cost what its heartbeats cost and nothing more: no polling loop, no status rewritten on
// every beat. This runs the scale.idle benchmark's world at a small size and counts the work (the benchmark runs
// it at 1,000 groups; speed is measured there, not here).
import { describe, expect, it } from 'vitest';
import { runScaleIdle } from '../../src/daemon/scale-idle.ts';

describe('daemon: scale', () => {
  it('daemon: scale.idle: heartbeats at the interval, status refreshed at most every 5 minutes, nothing else (groups=20)', async () => {
    const r = await runScaleIdle({ groups: 20, idleMs: 10 * 60_000 });
    expect(r.workloads).toBe(200);
    for (const c of ['east', 'west']) {
      const p = r.perCluster[c];
      // 10 minutes at one heartbeat per 30 s: exactly 20 per group.
      expect(p.heartbeats).toBe(20 * 20);
      expect(p.heartbeatErrors).toBe(0);
      // Only the timestamp refresh writes status while nothing changes: twice per group in 10 minutes.
      expect(p.groupStatusWrites).toBeLessThanOrEqual(2 * 20);
      expect(p.failoversAccepted).toBe(0);
      expect(p.autoFailovers).toBe(0);
    }
  });
});
