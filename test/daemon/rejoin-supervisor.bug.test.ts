// Why: a programmer error inside the rejoin (a step that throws something that is not a DriverError) is a bug: it
// must reach the host's crash hook and must not be retried as if the cluster had refused a write.
import { describe, expect, it } from 'vitest';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort } from '../../drivers/cluster/cluster.port.ts';
import type { GlobalStatePort, GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { RejoinSupervisor } from '../../src/daemon/rejoin-supervisor.ts';
import { silentLogger } from '../../src/log.ts';

const spec = scenarioByName('sample').groups[0].spec;
const record = { groupId: 'shop/storefront', ownerCluster: 'west', version: 2, fencingToken: 5, suspended: false, metadata: {} } as unknown as GroupRecord;

/** A clock whose sleeps pass at once. */
const clock: ClockPort = { now: () => 0, sleep: async () => undefined };

describe('daemon: rejoin supervisor', () => {
  it('daemon: rejoin: a programmer error in a stand-down step reaches the crash hook once and is not retried', async () => {
    const bugs: unknown[] = [];
    let reported!: () => void;
    const first = new Promise<void>((r) => (reported = r));
    // Every Kubernetes call hits a bug (a TypeError, not a DriverError); global state answers normally.
    const clusterPort = new Proxy({}, { get: () => () => Promise.reject(new TypeError('a bug in the wiring')) }) as unknown as ClusterPort;
    const globalState = { getGroup: async () => record } as unknown as GlobalStatePort;
    const sup = new RejoinSupervisor({
      clusterName: 'east',
      clusterPort,
      globalState,
      clock,
      log: silentLogger,
      failoverActive: () => false,
      onChange: () => undefined,
      onActorError: (_g, err) => {
        bugs.push(err);
        reported();
      },
    });
    sup.check('shop/storefront', spec, record, { reconnected: false, heartbeatIntervalMs: 1_000 });
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise((_, reject) => (bound = setTimeout(() => reject(new Error('the bug never reached the crash hook')), 10_000)))]);
    clearTimeout(bound);
    expect(String(bugs[0])).toContain('a bug in the wiring');
    expect(sup.view('shop/storefront')).toMatchObject({ phase: 'Failed', owner: 'west', version: 2 });
    // The next heartbeats (even one after a reconnect) do not run it again.
    sup.check('shop/storefront', spec, record, { reconnected: true, heartbeatIntervalMs: 1_000 });
    sup.check('shop/storefront', spec, record, { reconnected: false, heartbeatIntervalMs: 1_000 });
    expect(sup.stats.started).toBe(1);
    expect(bugs).toHaveLength(1);
    sup.stop();
  });
});
