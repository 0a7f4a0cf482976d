// Why: every simulated failover starts from the world the builder makes; these tests pin what "converged, primary
// active, standby ready" means on each cluster, so a failover test's starting point is known and checked.
import { describe, expect, it } from 'vitest';
import { apiVersionOf, Kinds, type ObjectRef } from '../../drivers/cluster/cluster.port.ts';
import { Annotations, findCondition } from '../../simulator/kube/controllers/common.ts';
import { scenarioByName, SCENARIO_NAMES } from '../../simulator/scenarios/index.ts';
import { cidrContains, SimWorld, worldParties } from '../../simulator/world.ts';
import { loadCrds } from '../../src/crds.ts';

const crds = loadCrds();
const shop = (kind: keyof typeof Kinds, name: string): ObjectRef => ({ ...Kinds[kind], namespace: 'shop', name });

describe('simulated world', () => {
  it('world: build: the primary runs the group and the standby holds it at zero (scenario=sample)', async () => {
    const world = SimWorld.build({ seed: 3, scenario: scenarioByName('sample'), crds });
    expect(world.pending()).toEqual([]);
    const east = (r: ObjectRef) => world.get('east', r);
    const west = (r: ObjectRef) => world.get('west', r);

    // Primary: workloads at their replicas with ready pods, volumes primary, traffic published, Flux reconciled.
    expect(east(shop('Deployment', 'web'))?.spec?.replicas).toBe(3);
    expect(world.readyReplicas('east', 'Deployment', 'shop', 'web')).toBe(3);
    expect(world.pods('east', 'Deployment', 'shop', 'web')).toHaveLength(3);
    expect(world.readyReplicas('east', 'StatefulSet', 'shop', 'db')).toBe(2);
    expect(world.pods('east', 'StatefulSet', 'shop', 'db').map((p) => p.metadata.name)).toEqual(['db-0', 'db-1']);
    expect(world.readyReplicas('east', 'Deployment', 'shop', 'worker')).toBe(2);
    expect(east(shop('CronJob', 'nightly-report'))?.spec?.suspend).toBe(false);
    for (const vr of ['web-data', 'db-data-0', 'db-data-1']) {
      expect(world.volumeState('east', 'shop', vr)).toBe('Primary');
      expect(world.volumeState('west', 'shop', vr)).toBe('Secondary');
      expect(world.primaryHolders('shop', vr)).toEqual(['east']);
      expect(east(shop('PersistentVolumeClaim', vr))?.status?.phase).toBe('Bound');
    }
    expect(east(shop('VirtualService', 'storefront'))?.metadata.annotations?.[Annotations.externalDnsController]).toBe('dns-controller');
    expect(east(shop('Ingress', 'storefront'))?.metadata.annotations?.[Annotations.dnsDisabled]).toBeUndefined();
    expect(findCondition(east(shop('Kustomization', 'storefront'))?.status, 'Ready')?.status).toBe('True');
    expect(findCondition(east(shop('HelmRelease', 'storefront-cache'))?.status, 'Ready')?.status).toBe('True');

    // Standby: the same workloads at 0 with their original replicas annotated, nothing running, traffic and Flux off.
    const westWeb = west(shop('Deployment', 'web'));
    expect(westWeb?.spec?.replicas).toBe(0);
    expect(westWeb?.metadata.annotations?.[Annotations.originalReplicas]).toBe('3');
    expect(west(shop('StatefulSet', 'db'))?.metadata.annotations?.[Annotations.originalReplicas]).toBe('2');
    expect(world.pods('west', 'Deployment', 'shop', 'web')).toHaveLength(0);
    expect(world.pods('west', 'StatefulSet', 'shop', 'db')).toHaveLength(0);
    expect(west(shop('CronJob', 'nightly-report'))?.spec?.suspend).toBe(true);
    for (const kind of ['VirtualService', 'Ingress'] as const) {
      expect(west(shop(kind, 'storefront'))?.metadata.annotations).toMatchObject({ [Annotations.externalDnsController]: 'ignore', [Annotations.dnsDisabled]: 'true' });
    }
    expect(west(shop('Kustomization', 'storefront'))?.metadata.annotations?.[Annotations.fluxIgnore]).toBe('true');
    expect(west(shop('HelmRelease', 'storefront-cache'))?.metadata.annotations?.[Annotations.fluxIgnore]).toBe('true');

    // The global state: owner east, two healthy clusters, the original replica counts remembered.
    const record = world.globalState.getGroup('shop/storefront');
    expect(record).toMatchObject({ ownerCluster: 'east', version: 1, suspended: false, metadata: { originalReplicas: { 'Deployment/web': 3, 'StatefulSet/db': 2, 'Deployment/worker': 2 } } });
    expect(world.globalState.listClusters('shop/storefront').map((c) => `${c.cluster}:${c.role}:${c.health}`).sort()).toEqual(['east:PRIMARY:OK', 'west:STANDBY:OK']);

    // Time passes and nothing moves but replication: still converged, the standby's copies follow.
    await world.runFor(60_000);
    expect(world.pending()).toEqual([]);
    expect(world.get('west', shop('VolumeReplication', 'web-data'))?.status?.lastSyncTime).toBeDefined();
    expect(world.volumes.writes('shop', 'web-data')).toBeGreaterThan(0);
    expect(world.dataLoss()).toEqual([]);
  });

  it('world: build: three clusters, one primary holder per volume, two standbys (scenario=three-clusters)', async () => {
    const world = SimWorld.build({ seed: 5, scenario: scenarioByName('three-clusters'), crds });
    expect([...world.clusters.keys()]).toEqual(['east', 'west', 'north']);
    expect(world.converged()).toBe(true);
    for (const c of ['west', 'north']) {
      expect(world.volumeState(c, 'shop', 'web-data')).toBe('Secondary');
      expect(world.pods(c, 'Deployment', 'shop', 'web')).toHaveLength(0);
    }
    expect(world.primaryHolders('shop', 'web-data')).toEqual(['east']);
    await world.runFor(130_000);
    expect(world.cluster('east').controllers.cronJobs.jobsStarted('shop', 'cleanup')).toBe(2);
    expect(world.cluster('west').controllers.cronJobs.jobsStarted('shop', 'cleanup')).toBe(0);
  });

  it('world: build: the reference group has 20 workloads, 20 volumes, 4 network and 2 Flux resources', () => {
    const world = SimWorld.build({ seed: 1, scenario: scenarioByName('reference'), crds });
    const spec = world.scenario.groups[0].spec;
    expect(spec.workloads).toHaveLength(20);
    expect(spec.workloads.flatMap((w) => w.volumeReplications)).toHaveLength(20);
    expect(spec.networkResources).toHaveLength(4);
    expect(spec.fluxResources).toHaveLength(2);
    expect(new Set(spec.workloads.map((w) => w.kind))).toEqual(new Set(['Deployment', 'StatefulSet', 'CronJob']));
    expect(world.cluster('east').store.list(Kinds.VolumeReplication).items).toHaveLength(20);
    expect(world.converged()).toBe(true);
  });

  it('world: the fault plan covers every operator, API server and the global store', () => {
    expect(worldParties(['east', 'west'])).toEqual({
      parties: ['operator/east', 'operator/west', 'apiserver/east', 'apiserver/west', 'globalstate'],
      crashable: ['operator/east', 'operator/west'],
    });
    const world = SimWorld.build({ seed: 7, scenario: scenarioByName('sample'), crds, profile: 'swarm' });
    expect(world.kernel.plan.profile).toBe('swarm');
    const parties = new Set(worldParties(['east', 'west']).parties);
    for (const p of world.kernel.plan.partitions) for (const side of p.between) expect(parties.has(side)).toBe(true);
    for (const c of world.kernel.plan.crashes) expect(c.party).toMatch(/^operator\//);
  });

  it('world: ports: the cluster port and the global state port reach the simulated world', async () => {
    const world = SimWorld.build({ seed: 2, scenario: scenarioByName('sample'), crds });
    const port = world.clusterPort('west', 'operator/west');
    const web = await world.kernel.resolve(port.get(shop('Deployment', 'web')));
    expect(web?.metadata.annotations?.[Annotations.originalReplicas]).toBe('3');
    await world.kernel.resolve(port.mergePatch(shop('Deployment', 'web'), { spec: { replicas: 3 } }));
    expect(await world.settle()).toBe(true);
    expect(world.readyReplicas('west', 'Deployment', 'shop', 'web')).toBe(3);
    const record = await world.kernel.resolve(world.globalStatePort('operator/west').getGroup('shop/storefront'));
    expect(record?.ownerCluster).toBe('east');
  });

  it('world: a fenced site stops writing to its volumes (NetworkFence on its CIDR)', async () => {
    const world = SimWorld.build({ seed: 4, scenario: scenarioByName('sample'), crds });
    expect(world.isFenced('east')).toBe(false);
    expect(world.writesActive('east', 'shop', 'web-data')).toBe(true);
    world.cluster('west').store.create({
      apiVersion: apiVersionOf(Kinds.NetworkFence),
      kind: 'NetworkFence',
      metadata: { name: 'fence-east' },
      spec: { driver: 'rbd.csi.ceph.com', cidrs: [world.clusterCidr('east')], fenceState: 'Fenced', secret: { name: 'rbd', namespace: 'rook-ceph' } },
    });
    expect(await world.settle()).toBe(true);
    expect(world.isFenced('east')).toBe(true);
    expect(world.isFenced('west')).toBe(false);
    expect(world.writesActive('east', 'shop', 'web-data')).toBe(false);
    const before = world.volumes.writes('shop', 'web-data');
    await world.runFor(40_000);
    expect(world.volumes.writes('shop', 'web-data')).toBe(before);
  });

  it('world: cidrContains compares IPv4 prefixes', () => {
    expect(cidrContains('10.1.0.0/16', '10.1.0.0/16')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '10.1.0.0/16')).toBe(true);
    expect(cidrContains('10.1.0.0/16', '10.0.0.0/8')).toBe(false);
    expect(cidrContains('10.2.0.0/16', '10.1.0.0/16')).toBe(false);
    expect(cidrContains('garbage', '10.1.0.0/16')).toBe(false);
  });

  it('world: every built-in scenario builds converged', () => {
    for (const name of SCENARIO_NAMES) {
      const world = SimWorld.build({ seed: 1, scenario: scenarioByName(name), crds });
      expect(world.pending(), name).toEqual([]);
    }
  });
});
