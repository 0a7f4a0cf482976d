// Why: the stand-down checker is what the swarm trusts to catch two primaries after an unplanned failover, so it
// must flag each thing it exists for (a fence lifted while the old source still runs, an old source that never
// stands down) and stay quiet where nothing is wrong (a failover that rolled back leaves the source the owner).
import { describe, expect, it } from 'vitest';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import type { GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import { STAND_DOWN_INV, StandDownChecker } from '../../simulator/invariants/stand-down.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { SimWorld } from '../../simulator/world.ts';
import { loadCrds } from '../../src/crds.ts';

const CRDS = loadCrds();
const FENCE = { ...Kinds.NetworkFence, name: 'failover-engine-fence-east' };

/** The sample world (east active) with west's fence against east in effect, and a checker reading `owner`. */
async function fencedWorld(owner: { current: string }) {
  const world = SimWorld.build({ seed: 1, scenario: scenarioByName('sample'), crds: CRDS });
  const record = (): Pick<GroupRecord, 'ownerCluster' | 'fencingToken' | 'lock'> => ({ ownerCluster: owner.current, fencingToken: 3 });
  const checker = new StandDownChecker({ world, groupId: 'shop/storefront', oldSource: 'east', boundMs: 60_000, record });
  world.cluster('west').store.create({
    apiVersion: 'csiaddons.openshift.io/v1alpha1',
    kind: 'NetworkFence',
    metadata: { name: FENCE.name },
    spec: { driver: 'rbd.csi.ceph.com', cidrs: [world.clusterCidr('east')], fenceState: 'Fenced' },
  });
  const run = (ms: number) => world.kernel.run({ untilMs: world.kernel.now() + ms, afterEvent: () => checker.afterEvent() });
  await run(30_000);
  expect(world.isFenced('east')).toBe(true);
  return { world, checker, run };
}

describe('stand-down invariant', () => {
  it('stand-down invariant: a fence lifted while the superseded source still runs is a violation', async () => {
    const { world, checker, run } = await fencedWorld({ current: 'west' });
    expect(checker.violations).toEqual([]);
    world.cluster('west').store.mergePatch(FENCE, { spec: { fenceState: 'Unfenced' } });
    await run(30_000);
    expect(world.isFenced('east')).toBe(false);
    expect(checker.violations.map((v) => v.invariant)).toContain(STAND_DOWN_INV.fenceLiftedTooEarly);
    expect(checker.violations.find((v) => v.invariant === STAND_DOWN_INV.fenceLiftedTooEarly)!.message).toMatch(/Primary volumes .*db-data-0/);
  });

  it('stand-down invariant: a superseded source still running past the bound after it came back is a violation', async () => {
    const { world, checker, run } = await fencedWorld({ current: 'west' });
    checker.reachableAt(world.kernel.now());
    await run(30_000);
    expect(checker.violations).toEqual([]); // within the bound
    await run(60_000);
    expect(checker.final().map((v) => v.invariant)).toContain(STAND_DOWN_INV.standsDownInTime);
  });

  it('stand-down invariant: a source that still owns the group (the failover rolled back) is not asked to stand down', async () => {
    const { world, checker, run } = await fencedWorld({ current: 'east' });
    checker.reachableAt(world.kernel.now());
    world.cluster('west').store.mergePatch(FENCE, { spec: { fenceState: 'Unfenced' } });
    await run(120_000);
    expect(checker.final()).toEqual([]);
  });
});
