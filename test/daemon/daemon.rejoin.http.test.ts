// Why: the bug of issue 12 as it was measured, on `failoverctl daemon`'s own code (runDaemon: client-node over HTTP
// to the served clusters, DynamoDB on dynalite, the wall clock): east's API server becomes unreachable, an unplanned
// Failover succeeds on west, east's API server comes back with its daemon still running. East must stand down (no
// Primary volume, no ready replica, no traffic), and west must lift its fence against east only after that.
import { afterAll, describe, expect, it } from 'vitest';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import type { GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import { StandDownChecker } from '../../simulator/invariants/stand-down.ts';
import type { ServedWorld } from '../../src/cli/world-serve.ts';
import { FailoverKind } from '../../src/daemon/api.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { standDownOf } from '../../src/daemon/rejoin-supervisor.ts';
import { startServedDaemons } from './served-daemons.ts';
import { untilServed } from './served-until.ts';

const GROUP = 'shop/storefront';

describe('daemon: rejoin over HTTP', () => {
  let served: ServedWorld | undefined;
  afterAll(async () => {
    await served?.stop();
  });

  it('daemon: http: after an unplanned failover east comes back and its running daemon stands it down; the fence is lifted after', async () => {
    const d = await startServedDaemons({
      prefix: 'daemon-rejoin-http-',
      serve: { seed: 2, speed: 10 },
      flags: (world) => ({ fenceCidr: ['east', 'west'].map((c) => `${c}=${world.clusterCidr(c)}`), autoFailover: false }),
    });
    served = d.served;
    const { world, gs } = d;
    // The daemons keep the group in dynalite, not in the world's store: the checker reads the latest poll of it.
    let record: GroupRecord | undefined;
    const poll = setInterval(() => void gs.getGroup(GROUP).then((r) => (record = r ?? undefined), () => undefined), 100);
    const checker = new StandDownChecker({ world, groupId: GROUP, oldSource: 'east', boundMs: 30 * 60_000, record: () => record });
    const onChange = () => checker.afterEvent();
    try {
      await untilServed(world, 'the group registered by east, both clusters heartbeating OK', async () => {
        const rec = await gs.getGroup(GROUP);
        const clusters = await gs.listClusters(GROUP);
        return rec?.ownerCluster === 'east' && clusters.length === 2 && clusters.every((c) => c.health === 'OK');
      }, 240_000, { onChange });

      // East's API server becomes unreachable (its daemon keeps running); the unplanned failover runs on west.
      world.kernel.setDown('apiserver/east', true);
      world.cluster('west').store.create(failoverObject({ name: 'east-lost', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', type: 'unplanned', force: true, groups: [{ name: 'storefront' }] }));
      const st = (c: string) => world.get(c, { ...FailoverKind, namespace: 'shop', name: 'east-lost' })?.status?.status;
      await untilServed(world, 'the unplanned Failover to succeed on west', () => st('west') === 'SUCCESS', 480_000, { onChange });
      expect((await gs.getGroup(GROUP))?.ownerCluster).toBe('west');
      expect(world.isFenced('east')).toBe(true);
      expect(checker.activity().primaryVolumes.length).toBeGreaterThan(0); // east still runs as it was: the bug's setting

      // East's API server comes back: east stands down, then west lifts its fence.
      world.kernel.setDown('apiserver/east', false);
      checker.reachableAt(world.kernel.now());
      await untilServed(world, 'east to stand down and west to lift its fence', () => checker.stoodDownAtMs !== undefined && !world.isFenced('east'), 300_000, { onChange });
      checker.afterEvent();
      expect(checker.violations).toEqual([]);
      expect(checker.activity()).toEqual({ primaryVolumes: [], readyWorkloads: [], servingTraffic: [] });
      expect(checker.fenceLiftedAtMs!).toBeGreaterThanOrEqual(checker.stoodDownAtMs!);
      expect(world.get('west', { ...Kinds.NetworkFence, name: 'failover-engine-fence-east' })?.spec?.fenceState).toBe('Unfenced');
      const east = (await gs.listClusters(GROUP)).find((c) => c.cluster === 'east');
      expect(standDownOf(east?.components)).toMatchObject({ phase: 'StoodDown', owner: 'west' });
      await untilServed(world, "east's copy of the Failover to end", () => st('east') === 'SUCCESS', 240_000, { onChange });
      expect(checker.violations).toEqual([]);
    } finally {
      clearInterval(poll);
      await d.stop();
    }
  }, 900_000);
});
