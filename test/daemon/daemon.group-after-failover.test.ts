// Why: when a failover ends, each FailoverGroup's status must show the new owner, the new roles and a health
// measured against the new site at once, not until the next heartbeat: on real servers the group read ERROR with the
// old active cluster for 2–30 s after a failover succeeded. The heartbeat interval here is 50 s, so only the
// refresh at the failover's end can explain a status that is right a few seconds after it.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
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
});
