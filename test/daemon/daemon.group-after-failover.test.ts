// Why: when a failover ends, each FailoverGroup's status must show the new owner, the new roles and a health
// measured against the new site at once, not until the next heartbeat: on real servers the group read ERROR with the
// old active cluster for 2–30 s after a failover succeeded. The heartbeat interval here is 50 s, so only the
// refresh at the failover's end can explain a status that is right a few seconds after it.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { GlobalStatePort } from '../../drivers/globalstate/globalstate.port.ts';
import type { SimWorld } from '../../simulator/world.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { daemonWorld, type DaemonWorld } from './daemon-world.ts';

const INTERVAL_MS = 50_000;
const succeeded = (o: KubeObject | undefined) => o?.status?.status === 'SUCCESS';

interface GroupView {
  health: unknown;
  activeCluster: unknown;
  roles: Record<string, unknown>;
}

function viewOf(dw: DaemonWorld, cluster: string): GroupView {
  const st = dw.group(cluster)?.status;
  const gs = (st?.globalState ?? {}) as { activeCluster?: unknown; clusters?: Array<{ name: string; role: string }> };
  return { health: st?.health, activeCluster: gs.activeCluster, roles: Object.fromEntries((gs.clusters ?? []).map((c) => [c.name, c.role])) };
}

describe('daemon: FailoverGroup status after a failover', () => {
  for (const mode of ['CONSISTENCY', 'UPTIME'] as const) {
    it(`daemon: group after failover: each cluster refreshes its group at once when its side of the failover ends (mode=${mode})`, async () => {
      const dw = await daemonWorld({ mutate: (s) => void (s.heartbeatIntervalMs = INTERVAL_MS) });
      await dw.world.runFor(60_000);
      expect(viewOf(dw, 'east')).toMatchObject({ health: 'OK', activeCluster: 'east' });
      expect(viewOf(dw, 'west')).toMatchObject({ health: 'OK', activeCluster: 'east' });
      dw.world.cluster('east').store.create(failoverObject({ name: 'move', namespace: 'shop', targetCluster: 'west', mode, groups: [{ name: 'storefront' }] }));

      // Within a few seconds of each side's end (far less than the interval), that cluster's group status is right.
      const seenAt: Record<string, number> = {};
      const fresh: Record<string, GroupView> = {};
      expect(
        await dw.runUntil(() => {
          for (const c of ['east', 'west']) {
            if (seenAt[c] === undefined && succeeded(dw.failover(c, 'move'))) seenAt[c] = dw.world.kernel.now();
            if (seenAt[c] !== undefined && fresh[c] === undefined && dw.world.kernel.now() - seenAt[c] >= 3_000) fresh[c] = viewOf(dw, c);
          }
          return fresh.east !== undefined && fresh.west !== undefined;
        }, 600_000, 250),
      ).toBe(true);
      expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('west');
      expect(fresh.west).toMatchObject({ health: 'OK', activeCluster: 'west', roles: { west: 'PRIMARY' } });
      expect(fresh.east).toMatchObject({ health: 'OK', activeCluster: 'west', roles: { east: 'STANDBY' } });

      // Within one heartbeat interval, every group's status agrees with global state about every cluster.
      await dw.world.runFor(INTERVAL_MS + 5_000);
      const roles = Object.fromEntries(dw.world.globalState.listClusters('shop/storefront').map((c) => [c.cluster, c.role]));
      expect(roles).toEqual({ east: 'STANDBY', west: 'PRIMARY' });
      for (const c of ['east', 'west']) expect(viewOf(dw, c)).toEqual({ health: 'OK', activeCluster: 'west', roles });
    });
  }

  it('daemon: group after failover: a refresh asked for while a heartbeat runs is followed by another heartbeat at once', async () => {
    // west's heartbeats, by virtual time; the armed one asks for a refresh while it is in flight (it may have read the
    // old role), as a failover that ends during a heartbeat does.
    const beats: number[] = [];
    let armed = false;
    const late: { dw?: DaemonWorld } = {};
    const watched = (party: string, world: SimWorld): GlobalStatePort => {
      const inner = world.globalStatePort(party);
      if (party !== 'operator/west') return inner;
      return new Proxy(inner, {
        get(target, prop) {
          const v = Reflect.get(target, prop, target) as unknown;
          if (typeof v !== 'function') return v;
          if (prop !== 'heartbeat') return (v as (...a: unknown[]) => unknown).bind(target);
          return (...args: unknown[]) => {
            beats.push(world.kernel.now());
            if (armed) {
              armed = false;
              late.dw!.sim.daemon('west').groups.refreshNow('shop/storefront');
            }
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    };
    const dw = (late.dw = await daemonWorld({ mutate: (s) => void (s.heartbeatIntervalMs = INTERVAL_MS), daemons: { globalState: watched } }));
    await dw.world.runFor(60_000);
    const before = beats.length;
    expect(before).toBeGreaterThan(0);
    armed = true;
    expect(await dw.runUntil(() => beats.length >= before + 2, 2 * INTERVAL_MS, 100)).toBe(true);
    expect(beats[before + 1] - beats[before]).toBeLessThan(5_000);
  });
});
