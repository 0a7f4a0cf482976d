// Why: discovery at daemon start must ride out a throttled or lost answer (the daemon-level swarm found daemons
// that refused to start on one injected Throttled), and must still fail at once on an answer that will not change.
import { describe, expect, it } from 'vitest';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort, GVK } from '../../drivers/cluster/cluster.port.ts';
import { DriverError } from '../../drivers/errors.ts';
import { discoverServedKinds } from '../../src/daemon/served-kinds.ts';
import { silentLogger } from '../../src/log.ts';

/** A clock whose sleeps pass at once, advancing its time. */
function fastClock(): ClockPort & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return { slept, now: () => now, sleep: async (ms) => { slept.push(ms); now += ms; } };
}

/** A port whose discovery fails with `kind` on its first `failures` calls, then serves every kind. */
function flakyDiscovery(kind: 'Throttled' | 'Transient' | 'Unauthorized', failures: number): ClusterPort & { calls: number } {
  const port = {
    calls: 0,
    served: async (_gvk: GVK) => {
      port.calls++;
      if (port.calls <= failures) throw new DriverError(kind, 'kube', 'discovery', `injected ${kind}`);
      return true;
    },
  };
  return port as unknown as ClusterPort & { calls: number };
}

describe('daemon: discovery at start', () => {
  it('daemon: discovery: throttled and lost answers are asked again with backoff, and the daemon starts', async () => {
    const clock = fastClock();
    const port = flakyDiscovery('Throttled', 3);
    const served = await discoverServedKinds(port, { cluster: 'east', fencing: false, log: silentLogger, clock });
    expect(served.gvk.CronJob).toMatchObject({ group: 'batch', version: 'v1' });
    expect(clock.slept).toEqual([500, 1_000, 2_000]);
  });

  it('daemon: discovery: an answer that will not change (Unauthorized) fails at once', async () => {
    const clock = fastClock();
    const port = flakyDiscovery('Unauthorized', 1);
    await expect(discoverServedKinds(port, { cluster: 'east', fencing: false, log: silentLogger, clock })).rejects.toThrow(/injected Unauthorized/);
    expect(port.calls).toBe(1);
  });

  it('daemon: discovery: gives up after its patience with the last failure', async () => {
    const clock = fastClock();
    const port = flakyDiscovery('Transient', Number.POSITIVE_INFINITY);
    await expect(discoverServedKinds(port, { cluster: 'east', fencing: false, log: silentLogger, clock })).rejects.toThrow(/injected Transient/);
    expect(clock.now()).toBeGreaterThanOrEqual(5 * 60_000);
  });
});
