// Why: the daemon must work with the API its cluster actually serves. Found on a real Kubernetes 1.20 server: a group
// that lists a CronJob never registered (1.20 serves CronJob as batch/v1beta1 only) and the FailoverGroup condition
// blamed the workloads. The daemon takes the CronJob version from discovery; where no CronJob API exists the condition
// names the missing API and the minimum Kubernetes version; and without its own CRDs the daemon does not start.
import { describe, expect, it } from 'vitest';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { SimGlobalState } from '../../drivers/globalstate/globalstate.sim.ts';
import { SimGlobalStateStore } from '../../simulator/globalstate/store.ts';
import type { SimResourceRegistry } from '../../simulator/kube/registry.ts';
import type { SimWorld } from '../../simulator/world.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { MissingApiError } from '../../src/daemon/served-kinds.ts';
import { conditionOf, daemonWorld } from './daemon-world.ts';

/** Every cluster's API server serves CronJob at these versions only (the simulated controllers keep batch/v1). */
const cronJobServedAs = (versions: string[]) => (world: SimWorld) => {
  for (const c of world.scenario.clusters) (world.cluster(c).store.registry as SimResourceRegistry).serveAs(Kinds.CronJob, versions);
};

describe('daemon: the APIs a cluster serves', () => {
  it('daemon: served apis: CronJob served only as batch/v1beta1 (Kubernetes 1.20): the group registers and a failover suspends and resumes its CronJob', async () => {
    const dw = await daemonWorld({ prepare: cronJobServedAs(['v1beta1']) });
    await dw.world.runFor(40_000);
    expect(dw.world.globalState.getGroup('shop/storefront')?.ownerCluster).toBe('east');
    for (const c of ['east', 'west']) {
      expect(conditionOf(dw.group(c), 'Registered'), c).toMatchObject({ status: 'True', reason: 'GroupRegistered' });
      expect(dw.group(c)?.status?.health, c).toBe('OK');
    }
    dw.world.cluster('east').store.create(failoverObject({ name: 'old-api', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }));
    expect(await dw.runUntil(() => dw.failover('west', 'old-api')?.status?.status === 'SUCCESS' && dw.failover('east', 'old-api')?.status?.status === 'SUCCESS', 600_000, 1_000)).toBe(true);
    expect(dw.world.peekWorkload('east', 'CronJob', 'shop', 'nightly-report')?.spec?.suspend).toBe(true);
    expect(dw.world.peekWorkload('west', 'CronJob', 'shop', 'nightly-report')?.spec?.suspend).toBe(false);
  });

  it('daemon: served apis: no CronJob API at all: the group is not registered and the condition names the missing API and Kubernetes 1.21', async () => {
    // A global state that has never heard of the group: east's daemon would register it if it could tell it runs it.
    const stores = new WeakMap<SimWorld, SimGlobalStateStore>();
    const fresh = (party: string, world: SimWorld) => {
      let s = stores.get(world);
      if (!s) stores.set(world, (s = new SimGlobalStateStore(world.kernel)));
      return new SimGlobalState(world.kernel, s, party);
    };
    const dw = await daemonWorld({ prepare: cronJobServedAs([]), daemons: { globalState: fresh } });
    await dw.world.runFor(40_000);
    expect(stores.get(dw.world)!.getGroup('shop/storefront')).toBeUndefined();
    const registered = conditionOf(dw.group('east'), 'Registered');
    expect(registered).toMatchObject({ status: 'False', reason: 'MissingAPI' });
    expect(registered?.message).toMatch(/CronJob neither as batch\/v1 \(Kubernetes 1\.21 and later\) nor as batch\/v1beta1/);
    const cronJob = (dw.group('east')?.status?.workloads as Array<{ kind: string; health: string; status: string }>).find((w) => w.kind === 'CronJob');
    expect(cronJob).toMatchObject({ health: 'ERROR', status: expect.stringMatching(/^cluster east serves CronJob neither as batch\/v1/) });
    expect(registered?.message).not.toMatch(/does not run the workloads/);
  });

  it('daemon: served apis: a cluster without the engine CRDs: the daemon does not start, and says which CRD and how to install it', async () => {
    const unserved = (world: SimWorld) => (world.cluster('west').store.registry as SimResourceRegistry).unregisterCrd('failovers.failover-engine.io');
    const started = daemonWorld({ prepare: unserved, daemons: { clusters: ['west'] } });
    await expect(started).rejects.toBeInstanceOf(MissingApiError);
    await expect(started).rejects.toThrow(/cluster west does not serve failover-engine\.io\/v1alpha1 Failover: install the engine's CRDs: kubectl apply -f crds\/engine\/ \(the engine's CRDs need Kubernetes 1\.28 or later\)/);
  });
});
