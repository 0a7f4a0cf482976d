// Why: the simulated controllers are the cluster the engine is tested against; if they do not behave like the
// real ones (pods that take time to start and stop, ordered StatefulSets, suspended CronJobs, volumes that refuse
// a second primary, Flux that ignores a paused object), every failover test built on them proves nothing.
import { describe, expect, it } from 'vitest';
import { apiVersionOf, Kinds, type KubeObject, type ObjectRef } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { Annotations, findCondition } from '../../simulator/kube/controllers/common.ts';
import { nextFireMs, parseCronSchedule } from '../../simulator/kube/controllers/cronjob.ts';
import { startClusterControllers, type ClusterControllers } from '../../simulator/kube/controllers/index.ts';
import { VolumeReplicationLedger } from '../../simulator/kube/controllers/volume-ledger.ts';
import { KUBELET_FINALIZER } from '../../simulator/kube/controllers/workloads.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import type { StoreChange } from '../../simulator/kube/store.types.ts';
import { loadCrds } from '../../src/crds.ts';

const crds = loadCrds();

interface Harness {
  kernel: SimKernel;
  stores: Map<string, SimKubeStore>;
  controllers: Map<string, ClusterControllers>;
  ledger: VolumeReplicationLedger;
  link: { up: boolean };
  writes: { active: boolean };
  store(c: string): SimKubeStore;
}

/** Clusters with their controllers wired to each other's VolumeReplications, as the world wires them. */
function harness(clusters = ['east', 'west'], seed = 11): Harness {
  const kernel = new SimKernel({ seed });
  const stores = new Map<string, SimKubeStore>();
  const controllers = new Map<string, ClusterControllers>();
  const ledger = new VolumeReplicationLedger(() => kernel.now());
  const link = { up: true };
  const writes = { active: true };
  for (const c of clusters) stores.set(c, new SimKubeStore(c, createRegistry(crds), () => kernel.now()));
  for (const c of clusters) {
    controllers.set(
      c,
      startClusterControllers(kernel, stores.get(c)!, {
        ledger,
        peers: (ns, name) =>
          clusters
            .filter((o) => o !== c)
            .flatMap((o) => {
              const object = stores.get(o)!.get({ ...Kinds.VolumeReplication, namespace: ns, name });
              return object ? [{ cluster: o, object }] : [];
            }),
        linkUp: () => link.up,
        writesActive: () => writes.active,
      }),
    );
  }
  for (const s of stores.values()) s.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  return { kernel, stores, controllers, ledger, link, writes, store: (c) => stores.get(c)! };
}

function deployment(kind: 'Deployment' | 'StatefulSet', name: string, replicas: number): KubeObject {
  const spec: JsonObject = {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `registry.example/${name}:1` }] } },
  };
  if (kind === 'StatefulSet') spec.serviceName = name;
  return { apiVersion: 'apps/v1', kind, metadata: { name, namespace: 'shop' }, spec };
}

function vr(name: string, state: 'primary' | 'secondary' | 'resync'): KubeObject {
  return {
    apiVersion: apiVersionOf(Kinds.VolumeReplication),
    kind: 'VolumeReplication',
    metadata: { name, namespace: 'shop' },
    spec: { volumeReplicationClass: 'rbd', replicationState: state, dataSource: { kind: 'PersistentVolumeClaim', name }, autoResync: false },
  };
}

const ref = (kind: keyof typeof Kinds, name: string): ObjectRef => ({ ...Kinds[kind], namespace: 'shop', name });
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

/** Runs virtual time until `cond` holds (or the bound), and returns whether it held. */
async function runUntil(h: Harness, cond: () => boolean, maxMs = 300_000): Promise<boolean> {
  await h.kernel.run({ untilMs: h.kernel.now() + maxMs, stopWhen: cond });
  return cond();
}

function podsOf(store: SimKubeStore, app: string): KubeObject[] {
  return store.list(Kinds.Pod, { namespace: 'shop', labelSelector: `app=${app}` }).items;
}

describe('simulated controllers', () => {
  it('controllers: deployment: scales up in parallel and down to zero pods (replicas=3→0)', async () => {
    const h = harness();
    const s = h.store('east');
    const created: number[] = [];
    s.subscribe((c: StoreChange) => {
      if (c.type === 'ADDED' && c.object.kind === 'Pod') created.push(h.kernel.elapsed());
    });
    s.create(deployment('Deployment', 'web', 3));
    expect(await runUntil(h, () => num(s.get(ref('Deployment', 'web'))?.status?.readyReplicas) === 3)).toBe(true);
    const web = s.get(ref('Deployment', 'web'))!;
    expect(web.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, observedGeneration: web.metadata.generation });
    expect(findCondition(web.status, 'Available')?.status).toBe('True');
    const pods = podsOf(s, 'web');
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^web-[0-9a-f]{10}-[a-z0-9]{5}$/);
      expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web' });
      expect(findCondition(p.status, 'Ready')?.status).toBe('True');
    }
    // Parallel: every pod was created at once; starting took at least podStartMs.baseMs.
    expect(new Set(created).size).toBe(1);
    expect(h.kernel.elapsed()).toBeGreaterThanOrEqual(h.kernel.plan.physics.podStartMs.baseMs);

    s.mergePatch(ref('Deployment', 'web'), { spec: { replicas: 0 } });
    await h.kernel.run({ untilMs: h.kernel.now() + 100 });
    const terminating = podsOf(s, 'web');
    expect(terminating).toHaveLength(3); // still there, going away
    for (const p of terminating) {
      expect(p.metadata.deletionTimestamp).toBeDefined();
      expect(p.metadata.finalizers).toContain(KUBELET_FINALIZER);
    }
    expect(s.get(ref('Deployment', 'web'))?.status?.readyReplicas).toBeUndefined();
    await h.kernel.run();
    expect(podsOf(s, 'web')).toHaveLength(0);
    const after = s.get(ref('Deployment', 'web'))!;
    expect(after.status?.replicas).toBeUndefined();
    expect(after.status?.observedGeneration).toBe(after.metadata.generation);
  });

  it('controllers: deployment: a pod deleted by someone else is stopped and replaced', async () => {
    const h = harness();
    const s = h.store('east');
    s.create(deployment('Deployment', 'web', 2));
    await h.kernel.run();
    const victim = podsOf(s, 'web')[0].metadata.name;
    s.delete({ ...Kinds.Pod, namespace: 'shop', name: victim });
    await h.kernel.run();
    const names = podsOf(s, 'web').map((p) => p.metadata.name);
    expect(names).toHaveLength(2);
    expect(names).not.toContain(victim);
    expect(s.get(ref('Deployment', 'web'))?.status?.readyReplicas).toBe(2);
  });

  it('controllers: deployment: the owner index follows status writes and moved ownerReferences', async () => {
    const h = harness();
    const s = h.store('east');
    const deployments = h.controllers.get('east')!.deployments;
    s.create(deployment('Deployment', 'web', 1));
    s.create(deployment('Deployment', 'api', 0));
    await h.kernel.run();
    const [pod] = podsOf(s, 'web');
    const names = (owner: string) => deployments.pods('shop', owner).map((p) => p.metadata.name);
    expect(names('web')).toEqual([pod.metadata.name]);
    // A status write keeps the pod's ownerReferences: it stays where it was.
    s.updateStatus({ ...pod, status: { ...pod.status, phase: 'Running', message: 'still here' } });
    expect(names('web')).toEqual([pod.metadata.name]);
    expect(names('api')).toEqual([]);
    // Moving its ownerReference (selector labels too) moves it in the index at once, before any reconcile runs.
    const cur = s.get(ref('Pod', pod.metadata.name))!;
    const api = s.get(ref('Deployment', 'api'))!;
    s.update({
      ...cur,
      metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, app: 'api' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: api.metadata.uid ?? '' }] },
    });
    expect(names('api')).toEqual([pod.metadata.name]);
    expect(names('web')).toEqual([]);
  });

  it('controllers: statefulset: pods start one at a time in ordinal order and stop from the highest (replicas=3)', async () => {
    const h = harness();
    const s = h.store('east');
    const events: string[] = [];
    s.subscribe((c) => {
      if (c.object.kind !== 'Pod') return;
      const ready = findCondition(c.object.status, 'Ready')?.status === 'True';
      const wasReady = c.old ? findCondition(c.old.status, 'Ready')?.status === 'True' : false;
      if (c.type === 'ADDED') events.push(`create ${c.object.metadata.name}`);
      else if (c.type === 'DELETED') events.push(`gone ${c.object.metadata.name}`);
      else if (ready && !wasReady) events.push(`ready ${c.object.metadata.name}`);
      else if (c.object.metadata.deletionTimestamp && !c.old?.metadata.deletionTimestamp) events.push(`delete ${c.object.metadata.name}`);
    });
    s.create(deployment('StatefulSet', 'db', 3));
    await h.kernel.run();
    expect(events).toEqual(['create db-0', 'ready db-0', 'create db-1', 'ready db-1', 'create db-2', 'ready db-2']);
    expect(s.get(ref('StatefulSet', 'db'))?.status).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3 });
    const db2 = s.get({ ...Kinds.Pod, namespace: 'shop', name: 'db-2' })!;
    expect(db2.metadata.labels).toMatchObject({ app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-2', 'apps.kubernetes.io/pod-index': '2' });

    events.length = 0;
    s.mergePatch(ref('StatefulSet', 'db'), { spec: { replicas: 0 } });
    await h.kernel.run();
    expect(events).toEqual(['delete db-2', 'gone db-2', 'delete db-1', 'gone db-1', 'delete db-0', 'gone db-0']);
    expect(podsOf(s, 'db')).toHaveLength(0);
    expect(s.get(ref('StatefulSet', 'db'))?.status).toMatchObject({ replicas: 0, availableReplicas: 0 });
  });

  it('controllers: cronjob: schedules parse as documented (@every, */N, daily, fallback)', () => {
    const t0 = Date.UTC(2026, 0, 1, 0, 0, 30);
    expect(nextFireMs(parseCronSchedule('@every 30s'), t0)).toBe(t0 + 30_000);
    expect(nextFireMs(parseCronSchedule('*/5 * * * *'), t0)).toBe(Date.UTC(2026, 0, 1, 0, 5));
    expect(nextFireMs(parseCronSchedule('0 2 * * *'), t0)).toBe(Date.UTC(2026, 0, 1, 2, 0));
    expect(nextFireMs(parseCronSchedule('@hourly'), t0)).toBe(Date.UTC(2026, 0, 1, 1, 0));
    const monthly = parseCronSchedule('0 0 1 * *');
    expect(monthly.kind).toBe('fallback');
    expect(nextFireMs(monthly, t0)).toBe(t0 + 60_000);
    expect(parseCronSchedule('not a schedule').kind).toBe('fallback');
  });

  it('controllers: cronjob: runs on schedule, and not at all while suspended (schedule=*/1)', async () => {
    const h = harness();
    const s = h.store('east');
    const cj = h.controllers.get('east')!.cronJobs;
    s.create({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', namespace: 'shop' },
      spec: { schedule: '*/1 * * * *', jobTemplate: { spec: { template: { spec: { containers: [{ name: 'r', image: 'r:1' }], restartPolicy: 'OnFailure' } } } } },
    });
    await h.kernel.run({ untilMs: h.kernel.startMs + 3 * 60_000 + 1 });
    expect(cj.jobsStarted('shop', 'report')).toBe(3);
    const scheduled = s.get(ref('CronJob', 'report'))?.status?.lastScheduleTime;
    expect(scheduled).toBe('2026-01-01T00:03:00Z');

    s.mergePatch(ref('CronJob', 'report'), { spec: { suspend: true } });
    await h.kernel.run({ untilMs: h.kernel.now() + 10 * 60_000 });
    expect(cj.jobsStarted('shop', 'report')).toBe(3);
    expect(s.get(ref('CronJob', 'report'))?.status?.lastScheduleTime).toBe(scheduled);

    s.mergePatch(ref('CronJob', 'report'), { spec: { suspend: false } });
    await h.kernel.run({ untilMs: h.kernel.now() + 60_000 });
    expect(cj.jobsStarted('shop', 'report')).toBe(4);
  });

  /** east primary and west secondary, settled. */
  async function volumePair(h: Harness, name = 'data'): Promise<void> {
    h.store('east').create(vr(name, 'primary'));
    h.store('west').create(vr(name, 'secondary'));
    expect(await runUntil(h, () => h.ledger.primaryHolders('shop', name).length === 1 && stateOf(h, 'west', name) === 'Secondary')).toBe(true);
    await h.kernel.run({ untilMs: h.kernel.now() + 30_000 });
  }

  const stateOf = (h: Harness, c: string, name = 'data') => h.store(c).get(ref('VolumeReplication', name))?.status?.state;
  const vrOf = (h: Harness, c: string, name = 'data') => h.store(c).get(ref('VolumeReplication', name))!;

  it('controllers: volumereplication: a secondary follows the primary (lastSyncTime advances)', async () => {
    const h = harness();
    await volumePair(h);
    expect(stateOf(h, 'east')).toBe('Primary');
    expect(findCondition(vrOf(h, 'east').status, 'Completed')).toMatchObject({ status: 'True', reason: 'Promoted' });
    const first = vrOf(h, 'west').status?.lastSyncTime;
    expect(first).toBeDefined();
    await h.kernel.run({ untilMs: h.kernel.now() + 30_000 });
    expect(String(vrOf(h, 'west').status?.lastSyncTime) > String(first)).toBe(true);
    expect(h.ledger.writes('shop', 'data')).toBeGreaterThan(0);
  });

  it('controllers: volume ledger: a copy holds the same storage and shares nothing with its source', () => {
    let now = 1_000;
    const src = new VolumeReplicationLedger(() => now);
    src.observe('east', 'shop', 'data', 'Primary');
    src.observe('west', 'shop', 'data', 'Secondary');
    src.write('east', 'shop', 'data');
    now += 10_000;
    src.sync('east', 'west', 'shop', 'data');
    src.write('east', 'shop', 'data');
    now += 5_000;
    src.observe('west', 'shop', 'data', 'Primary'); // forced while east still writes: a loss, overlapping epochs
    const copy = new VolumeReplicationLedger(() => now);
    copy.copyFrom(src);
    const view = (l: VolumeReplicationLedger) => ({
      epochs: l.epochs('shop', 'data'),
      heads: ['east', 'west'].map((c) => l.head(c, 'shop', 'data')),
      holders: l.primaryHolders('shop', 'data'),
      lastSyncMs: l.lastSyncMs('shop', 'data'),
      writes: l.writes('shop', 'data'),
      loss: l.dataLoss(),
      contains: l.contains('west', 'east', 'shop', 'data'),
      overlapped: l.overlapped('west', 'shop', 'data'),
    });
    const before = view(src);
    expect(view(copy)).toEqual(before);
    expect(before.loss).toHaveLength(1);
    // The copy moves on; its source stays as it was.
    now += 1_000;
    copy.write('west', 'shop', 'data');
    copy.observe('east', 'shop', 'data', 'Secondary');
    copy.resync('west', 'east', 'shop', 'data');
    expect(view(copy)).not.toEqual(before);
    expect(view(src)).toEqual(before);
  });

  it('controllers: volumereplication: promotion is refused while the peer is primary, then happens after its demotion', async () => {
    const h = harness();
    await volumePair(h);
    h.store('west').mergePatch(ref('VolumeReplication', 'data'), { spec: { replicationState: 'primary' } });
    await h.kernel.run({ untilMs: h.kernel.now() + 20_000 });
    expect(stateOf(h, 'west')).toBe('Secondary');
    const completed = findCondition(vrOf(h, 'west').status, 'Completed');
    expect(completed).toMatchObject({ status: 'False', reason: 'FailedToPromote' });
    expect(completed?.message).toMatch(/peer volume on east is still primary/);
    expect(findCondition(vrOf(h, 'west').status, 'Degraded')).toMatchObject({ status: 'True', reason: 'Error' });
    expect(h.ledger.primaryHolders('shop', 'data')).toEqual(['east']);

    const demoteAt = h.kernel.now();
    h.store('east').mergePatch(ref('VolumeReplication', 'data'), { spec: { replicationState: 'secondary' } });
    expect(await runUntil(h, () => stateOf(h, 'east') === 'Secondary')).toBe(true);
    expect(h.kernel.now() - demoteAt).toBeGreaterThanOrEqual(h.kernel.plan.physics.volumeDemoteMs.baseMs);
    // Right after a demotion the volume reports Degraded (PARITY.md §2.1), then turns healthy.
    expect(findCondition(vrOf(h, 'east').status, 'Degraded')).toMatchObject({ status: 'True', reason: 'VolumeDegraded' });
    expect(await runUntil(h, () => stateOf(h, 'west') === 'Primary', 120_000)).toBe(true);
    expect(findCondition(vrOf(h, 'west').status, 'Completed')).toMatchObject({ status: 'True', reason: 'Promoted' });
    expect(h.ledger.primaryHolders('shop', 'data')).toEqual(['west']);
    expect(await runUntil(h, () => findCondition(vrOf(h, 'east').status, 'Degraded')?.status === 'False')).toBe(true);
    // A demotion before the promotion loses nothing: the demotion snapshot carried the last writes.
    expect(h.ledger.dataLoss()).toEqual([]);
    expect(h.ledger.contains('west', 'east', 'shop', 'data')).toBe(true);
  });

  it('controllers: volumereplication: forced promotion over a live primary is allowed and ends in split brain that resync clears', async () => {
    const h = harness();
    await volumePair(h);
    h.store('west').mergePatch(ref('VolumeReplication', 'data'), {
      metadata: { annotations: { [Annotations.forcePromote]: 'true' } },
      spec: { replicationState: 'primary' },
    });
    expect(await runUntil(h, () => stateOf(h, 'west') === 'Primary')).toBe(true);
    expect(h.ledger.primaryHolders('shop', 'data')).toEqual(['east', 'west']);
    // The old side keeps writing for a while: those writes exist only on east.
    await h.kernel.run({ untilMs: h.kernel.now() + 25_000 });
    h.store('east').mergePatch(ref('VolumeReplication', 'data'), { spec: { replicationState: 'secondary' } });
    expect(await runUntil(h, () => stateOf(h, 'east') === 'Secondary')).toBe(true);
    const degraded = findCondition(vrOf(h, 'east').status, 'Degraded');
    expect(degraded).toMatchObject({ status: 'True', reason: 'SplitBrain' });
    expect(degraded?.message).toMatch(/split brain.*resync/);
    // Split brain does not heal by itself: no snapshot arrives while it lasts.
    const syncedBefore = vrOf(h, 'east').status?.lastSyncTime;
    await h.kernel.run({ untilMs: h.kernel.now() + 60_000 });
    expect(findCondition(vrOf(h, 'east').status, 'Degraded')?.reason).toBe('SplitBrain');
    expect(vrOf(h, 'east').status?.lastSyncTime).toBe(syncedBefore);

    const resyncAt = h.kernel.now();
    h.store('east').mergePatch(ref('VolumeReplication', 'data'), { spec: { replicationState: 'resync' } });
    await h.kernel.run({ untilMs: h.kernel.now() + 100 });
    expect(stateOf(h, 'east')).toBe('Resyncing');
    expect(findCondition(vrOf(h, 'east').status, 'Resyncing')).toMatchObject({ status: 'True', reason: 'ResyncTriggered' });
    expect(await runUntil(h, () => stateOf(h, 'east') === 'Secondary')).toBe(true);
    expect(h.kernel.now() - resyncAt).toBeGreaterThanOrEqual(h.kernel.plan.physics.volumeResyncMs.baseMs);
    expect(findCondition(vrOf(h, 'east').status, 'Degraded')).toMatchObject({ status: 'False', reason: 'Healthy' });
    expect(findCondition(vrOf(h, 'east').status, 'Resyncing')).toMatchObject({ status: 'False', reason: 'NotResyncing' });
    expect(h.ledger.primaryHolders('shop', 'data')).toEqual(['west']);
    expect(h.ledger.contains('east', 'west', 'shop', 'data')).toBe(true);
    // The writes east took after west's promotion were thrown away by the resync, and the ledger says so.
    expect(h.ledger.dataLoss().map((l) => l.kind)).toContain('discarded-on-resync');
    const epochs = h.ledger.epochs('shop', 'data');
    expect(epochs.find((e) => e.cluster === 'west')?.overlappedAtStart).toEqual(['east']);
  });

  it('controllers: volumereplication: without a demotion snapshot a promotion is refused unless forced (link down)', async () => {
    const h = harness();
    await volumePair(h);
    h.link.up = false;
    await h.kernel.run({ untilMs: h.kernel.now() + 15_000 }); // east takes writes west never receives
    h.store('east').mergePatch(ref('VolumeReplication', 'data'), { spec: { replicationState: 'secondary' } });
    expect(await runUntil(h, () => stateOf(h, 'east') === 'Secondary')).toBe(true);
    h.store('west').mergePatch(ref('VolumeReplication', 'data'), { spec: { replicationState: 'primary' } });
    await h.kernel.run({ untilMs: h.kernel.now() + 20_000 });
    expect(stateOf(h, 'west')).toBe('Secondary');
    expect(findCondition(vrOf(h, 'west').status, 'Completed')?.message).toMatch(/has not been replicated here yet/);
    // The link heals: the last snapshot arrives, and the retried promotion goes through with nothing lost.
    h.link.up = true;
    expect(await runUntil(h, () => stateOf(h, 'west') === 'Primary', 120_000)).toBe(true);
    expect(h.ledger.dataLoss()).toEqual([]);
  });

  it('controllers: volumereplication: a resync of a primary is refused', async () => {
    const h = harness();
    await volumePair(h);
    h.store('east').mergePatch(ref('VolumeReplication', 'data'), { spec: { replicationState: 'resync' } });
    await h.kernel.run({ untilMs: h.kernel.now() + 5_000 });
    expect(stateOf(h, 'east')).toBe('Primary');
    expect(findCondition(vrOf(h, 'east').status, 'Completed')).toMatchObject({ status: 'False', reason: 'FailedToResync' });
  });

  function kustomization(name: string, annotations: Record<string, string> = {}): KubeObject {
    return {
      apiVersion: apiVersionOf(Kinds.Kustomization),
      kind: 'Kustomization',
      metadata: { name, namespace: 'shop', annotations },
      spec: { interval: '10m', prune: true, path: './apps', sourceRef: { kind: 'GitRepository', name: 'platform' } },
    };
  }

  it('controllers: flux: a reconcile request is handled after fluxReconcileMs; a paused object is left alone', async () => {
    const h = harness();
    const s = h.store('east');
    s.create(kustomization('app'));
    await h.kernel.run();
    const ks = () => s.get(ref('Kustomization', 'app'))!;
    expect(findCondition(ks().status, 'Ready')).toMatchObject({ status: 'True', reason: 'ReconciliationSucceeded' });
    expect(ks().status?.lastAppliedRevision).toMatch(/^main@sha1:[0-9a-f]{40}$/);

    const requestedAt = h.kernel.now();
    s.mergePatch(ref('Kustomization', 'app'), { metadata: { annotations: { [Annotations.fluxRequestedAt]: 'req-1' } } });
    await h.kernel.run();
    expect(ks().status?.lastHandledReconcileAt).toBe('req-1');
    expect(ks().status?.observedGeneration).toBe(ks().metadata.generation);
    expect(h.kernel.now() - requestedAt).toBeGreaterThanOrEqual(h.kernel.plan.physics.fluxReconcileMs.baseMs);

    // Paused with the reference operator's annotation: a new request is not handled.
    s.mergePatch(ref('Kustomization', 'app'), { metadata: { annotations: { [Annotations.fluxIgnore]: 'true', [Annotations.fluxRequestedAt]: 'req-2' } } });
    await h.kernel.run({ untilMs: h.kernel.now() + 60_000 });
    expect(ks().status?.lastHandledReconcileAt).toBe('req-1');
    // Resumed: the pending request is handled.
    s.mergePatch(ref('Kustomization', 'app'), { metadata: { annotations: { [Annotations.fluxIgnore]: null } } });
    await h.kernel.run();
    expect(ks().status?.lastHandledReconcileAt).toBe('req-2');
  });

  it('controllers: flux: a HelmRelease with spec.suspend ignores requests until resumed', async () => {
    const h = harness();
    const s = h.store('east');
    s.create({
      apiVersion: apiVersionOf(Kinds.HelmRelease),
      kind: 'HelmRelease',
      metadata: { name: 'cache', namespace: 'shop' },
      spec: { interval: '10m', suspend: true, chart: { spec: { chart: 'redis', version: '2.0.1', sourceRef: { kind: 'HelmRepository', name: 'charts' } } } },
    });
    s.mergePatch(ref('HelmRelease', 'cache'), { metadata: { annotations: { [Annotations.fluxRequestedAt]: 'r1' } } });
    await h.kernel.run({ untilMs: h.kernel.now() + 60_000 });
    const hr = () => s.get(ref('HelmRelease', 'cache'))!;
    expect(hr().status?.lastHandledReconcileAt).toBeUndefined();
    expect(findCondition(hr().status, 'Ready')).toBeUndefined();
    s.mergePatch(ref('HelmRelease', 'cache'), { spec: { suspend: false } });
    await h.kernel.run();
    expect(hr().status).toMatchObject({ lastHandledReconcileAt: 'r1', lastAttemptedRevision: '2.0.1', lastReleaseRevision: 1, observedGeneration: hr().metadata.generation });
    expect(findCondition(hr().status, 'Ready')).toMatchObject({ status: 'True', reason: 'InstallSucceeded' });
  });

  it('controllers: networkfence: a Fenced fence reports Succeeded after a short latency', async () => {
    const h = harness();
    const s = h.store('east');
    s.create({
      apiVersion: apiVersionOf(Kinds.NetworkFence),
      kind: 'NetworkFence',
      metadata: { name: 'fence-west' },
      spec: { driver: 'rbd.csi.ceph.com', cidrs: ['10.2.0.0/16'], fenceState: 'Fenced', secret: { name: 's', namespace: 'rook-ceph' } },
    });
    const fence = () => s.get({ ...Kinds.NetworkFence, name: 'fence-west' })!;
    expect(fence().status?.result).toBeUndefined();
    await h.kernel.run();
    expect(fence().status).toMatchObject({ result: 'Succeeded', message: 'fencing operation successful' });
    s.mergePatch({ ...Kinds.NetworkFence, name: 'fence-west' }, { spec: { fenceState: 'Unfenced' } });
    await h.kernel.run();
    expect(fence().status).toMatchObject({ result: 'Succeeded', message: 'unfencing operation successful' });
  });
});
