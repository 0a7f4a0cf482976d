// Why: a world cloned from its scenario's template must be the very world a fresh build makes for the same seed
// (every stored object, resourceVersion, watch history, pending event, random stream and trace line), or replays
// and pinned seeds would silently change; and clones must never leak into each other or into the template.
import { describe, expect, it } from 'vitest';
import { Kinds, type KubeObject, type WatchEvent } from '../../drivers/cluster/cluster.port.ts';
import { groupIdOf } from '../../machines/failover/group.types.ts';
import { runSimulation } from '../../simulator/failover-run.ts';
import type { SimKubeStore } from '../../simulator/kube/store.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { SimWorld, type SimWorldOptions } from '../../simulator/world.ts';
import { loadCrds } from '../../src/crds.ts';

const crds = loadCrds();

/** Everything a run can observe of a world before time starts. */
function snapshot(world: SimWorld): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of world.clusters.values()) {
    const store = c.store as SimKubeStore;
    const objects: Record<string, unknown> = {};
    const history: WatchEvent[] = [];
    for (const t of store.registry.all()) {
      objects[`${t.group}/${t.version}/${t.kind}`] = store.peekList(t).items;
      store.watch(t, { resourceVersion: '1' }, (e) => history.push(e)).stop();
    }
    out[c.name] = { rv: store.currentResourceVersion(), objects, history, pods: world.pods(c.name, 'Deployment', 'shop', 'web').map((p) => p.metadata.name) };
  }
  out.sched = world.kernel.sched.state();
  out.trace = [...world.kernel.trace.lines];
  out.traceHash = world.kernel.trace.hash();
  out.ledger = { ...(world.volumes as unknown as Record<string, unknown>), now: undefined };
  out.groups = world.scenario.groups.map((g) => {
    const id = groupIdOf(g.spec);
    return { group: world.globalState.getGroup(id), clusters: world.globalState.listClusters(id) };
  });
  return out;
}

/** What the next writes and draws of a world give: the uid and generateName counters, the streams' positions. */
function probe(world: SimWorld): unknown[] {
  const out: unknown[] = [];
  for (const c of world.clusters.values()) {
    const made = c.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '', generateName: 'probe-', namespace: 'default' } as unknown as KubeObject['metadata'], data: { a: 'b' } });
    out.push(made.metadata.uid, made.metadata.name, made.metadata.resourceVersion);
    for (const stream of [`pods/${c.name}/deployment`, `pods/${c.name}/statefulset`, `volumereplication/${c.name}/sync-phase`]) out.push(world.kernel.prng.stream(stream).int(0, 1e9));
  }
  return out;
}

const options = (scenario: string, seed: number, extra: Partial<SimWorldOptions> = {}): SimWorldOptions => ({ seed, scenario: scenarioByName(scenario), crds, profile: 'swarm', keepTraceLines: true, ...extra });

describe('world template', () => {
  for (const scenario of ['sample', 'reference']) {
    it(`world: template: a clone is the world a fresh build makes, object for object (scenario=${scenario})`, () => {
      const template = SimWorld.template(options(scenario, 99));
      for (const seed of [1, 2, 3, 7, 11]) {
        const fresh = SimWorld.build(options(scenario, seed, { fromTemplate: false }));
        const clone = SimWorld.fromTemplate(template, options(scenario, seed));
        expect(fresh.clonedFromTemplate).toBe(false);
        expect(clone.clonedFromTemplate).toBe(true);
        expect(snapshot(clone)).toEqual(snapshot(fresh));
        expect(probe(clone)).toEqual(probe(fresh));
      }
    });
  }

  it('world: template: the seed-dependent parts differ by seed as in fresh builds (scenario=reference)', () => {
    const template = SimWorld.template(options('reference', 5));
    const a = SimWorld.fromTemplate(template, options('reference', 1));
    const b = SimWorld.fromTemplate(template, options('reference', 2));
    const podNames = (w: SimWorld) => w.cluster('east').store.peekList(Kinds.Pod).items.map((p) => p.metadata.name);
    expect(podNames(a)).not.toEqual(podNames(b));
    expect(podNames(a)).toEqual(podNames(SimWorld.build(options('reference', 1, { fromTemplate: false }))));
    expect(a.kernel.sched.state().events.map((e) => e.atMs)).not.toEqual(b.kernel.sched.state().events.map((e) => e.atMs));
  });

  it('world: template: changing one clone changes neither another clone nor the template (scenario=sample)', async () => {
    const template = SimWorld.template(options('sample', 4));
    const templateBefore = snapshot(template.world);
    const a = SimWorld.fromTemplate(template, options('sample', 4));
    const b = SimWorld.fromTemplate(template, options('sample', 4));
    const bBefore = snapshot(b);
    // Writes of every kind on a: a spec change, a status write, a delete, then time passes (controllers act).
    const east = a.cluster('east').store;
    const web = east.get({ ...Kinds.Deployment, namespace: 'shop', name: 'web' })!;
    east.update({ ...web, spec: { ...web.spec, replicas: 1 } });
    const vr = east.get({ ...Kinds.VolumeReplication, namespace: 'shop', name: 'web-data' })!;
    east.updateStatus({ ...vr, status: { ...vr.status, message: 'changed' } });
    const pod = east.peekList(Kinds.Pod, { namespace: 'shop' }).items[0];
    east.delete({ ...Kinds.Pod, namespace: 'shop', name: pod.metadata.name });
    a.globalState.heartbeat('test', { groupId: 'shop/storefront', cluster: 'east', health: 'DEGRADED', role: 'PRIMARY' });
    await a.runFor(120_000);
    expect(a.kernel.sched.eventsProcessed).toBeGreaterThan(0);
    expect(snapshot(b)).toEqual(bBefore);
    expect(snapshot(template.world)).toEqual(templateBefore);
    // And the template still clones into the fresh build's world.
    expect(snapshot(SimWorld.fromTemplate(template, options('sample', 6)))).toEqual(snapshot(SimWorld.build(options('sample', 6, { fromTemplate: false }))));
  });

  it('world: template: build clones once a scenario has been built before', () => {
    const scenario = { ...scenarioByName('sample'), name: 'sample-template-cache' };
    const o = { seed: 1, scenario, crds };
    expect(SimWorld.build(o).clonedFromTemplate).toBe(false);
    expect(SimWorld.build({ ...o, seed: 2 }).clonedFromTemplate).toBe(true);
    expect(SimWorld.build({ ...o, seed: 3 }).clonedFromTemplate).toBe(true);
    expect(SimWorld.build({ ...o, seed: 3, fromTemplate: false }).clonedFromTemplate).toBe(false);
  });

  for (const [scenario, profile, mode, type] of [
    ['reference', 'calm', 'CONSISTENCY', 'planned'],
    ['sample', 'swarm', 'CONSISTENCY', 'unplanned'], // unplanned runs in CONSISTENCY: the daemon refuses UPTIME unplanned
  ] as const) {
    it(`world: template: a run on a clone has the fresh world's trace (scenario=${scenario} profile=${profile})`, async () => {
      for (const seed of [1, 2, 3]) {
        const fresh = await runSimulation({ seed, scenario, profile, failover: { mode, type }, crds, fromTemplate: false });
        // Built three times, so the second and third come from the template.
        const cloned = await runSimulation({ seed, scenario, profile, failover: { mode, type }, crds });
        expect({ outcome: cloned.outcome, events: cloned.eventCount, hash: cloned.traceHash }).toEqual({ outcome: fresh.outcome, events: fresh.eventCount, hash: fresh.traceHash });
      }
    });
  }
});
