// Why: the simulated API server's store must behave as a real one in the details the contract suite cannot
// reach through the port (server-set metadata, managedFields, watch history and selectors, listeners, CRD
// registration, exact error texts), since every simulated run stands on it.
import { describe, expect, it } from 'vitest';
import { Kinds, type KubeObject, type ObjectRef, type WatchEvent } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import type { StoreChange } from '../../simulator/kube/store.types.ts';
import { loadCrds } from '../../src/crds.ts';
import { thrown } from '../support/thrown.ts';

const CRDS = loadCrds();
const T0 = 1_767_225_600_000;

function store(opts: { crds?: boolean; watchHistory?: number; cluster?: string } = {}) {
  const clock = { ms: T0 };
  const s = new SimKubeStore(opts.cluster ?? 'c1', createRegistry(opts.crds === false ? [] : CRDS), () => clock.ms, { watchHistory: opts.watchHistory });
  return { s, clock };
}

const cm = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>, namespace = 'apps'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
  data,
});
const cmRef = (name: string, namespace = 'apps'): ObjectRef => ({ ...Kinds.ConfigMap, namespace, name });
const deploy = (name: string, spec: JsonObject = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'apps' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    ...spec,
  },
});
const deployRef = (name: string): ObjectRef => ({ ...Kinds.Deployment, namespace: 'apps', name });
const vr = (name: string, replicationState: unknown = 'primary'): KubeObject => ({
  apiVersion: 'replication.storage.openshift.io/v1alpha1',
  kind: 'VolumeReplication',
  metadata: { name, namespace: 'apps' },
  spec: { volumeReplicationClass: 'rbd', replicationState: replicationState as string, dataSource: { kind: 'PersistentVolumeClaim', name: 'data' } },
});
const vrRef = (name: string): ObjectRef => ({ ...Kinds.VolumeReplication, namespace: 'apps', name });

describe('kube store: metadata', () => {
  it('kube store: resourceVersion is one cluster-wide counter across types', () => {
    const { s } = store({ crds: false });
    const start = Number(s.currentResourceVersion());
    const a = s.create(cm('a'));
    const d = s.create(deploy('web'));
    const b = s.mergePatch(cmRef('a'), { data: { x: '1' } });
    expect([a, d, b].map((o) => Number(o.metadata.resourceVersion))).toEqual([start + 1, start + 2, start + 3]);
    expect(s.currentResourceVersion()).toBe(String(start + 3));
  });

  it('kube store: uids are deterministic per cluster and differ between clusters', () => {
    const uid = (cluster: string) => store({ cluster, crds: false }).s.create(cm('a')).metadata.uid;
    expect(uid('c1')).toBe(uid('c1'));
    expect(uid('c1')).not.toBe(uid('c2'));
    const { s } = store({ crds: false });
    expect(s.create(cm('a')).metadata.uid).not.toBe(s.create(cm('b')).metadata.uid);
    expect(uid('c1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('kube store: create sets creationTimestamp from the virtual clock and generation 1', () => {
    const { s, clock } = store({ crds: false });
    clock.ms = T0 + 90_500;
    const o = s.create(cm('a'));
    expect(o.metadata.creationTimestamp).toBe('2026-01-01T00:01:30Z');
    expect(o.metadata.generation).toBe(1);
  });

  it('kube store: create refuses a body that names a resourceVersion (400)', () => {
    const { s } = store({ crds: false });
    const o = cm('a');
    o.metadata.resourceVersion = '5';
    expect(thrown(() => s.create(o))).toMatchObject({ kind: 'Invalid', code: 400, message: 'resourceVersion should not be set on objects to be created' });
  });

  it('kube store: generateName gives a deterministic, unused name', () => {
    const names = () => {
      const { s } = store({ crds: false });
      const gen = (): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '', namespace: 'apps', generateName: 'job-' } as never, data: {} });
      return [s.create(gen()).metadata.name, s.create(gen()).metadata.name];
    };
    const [a, b] = names();
    expect(a).toMatch(/^job-[a-z0-9]{5}$/);
    expect(a).not.toBe(b);
    expect(names()).toEqual([a, b]);
  });

  it('kube store: a namespaced object without a namespace lands in default; cluster-scoped objects have none', () => {
    const { s } = store({ crds: false });
    const o = s.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: {} });
    expect(o.metadata.namespace).toBe('default');
    const ns = s.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', namespace: 'ignored' } });
    expect(ns.metadata.namespace).toBeUndefined();
    expect(ns.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'apps' });
    expect(ns.status).toEqual({ phase: 'Active' });
  });

  it('kube store: an unknown type fails NotFound with the server\'s words', () => {
    const { s } = store({ crds: false });
    const e = thrown(() => s.list({ group: 'example.com', version: 'v1', kind: 'Widget' }));
    expect(e).toMatchObject({ kind: 'NotFound', code: 404, message: 'the server could not find the requested resource' });
    expect(thrown(() => s.get(vrRef('x'))).message).toBe('the server could not find the requested resource');
  });

  it('kube store: get and list return deep copies, sorted by namespace then name', () => {
    const { s } = store({ crds: false });
    s.create(cm('b', {}, undefined, 'zeta'));
    s.create(cm('b'));
    s.create(cm('a'));
    s.create(cm('a', {}, undefined, 'zeta'));
    const all = s.list(Kinds.ConfigMap).items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(all).toEqual(['apps/a', 'apps/b', 'zeta/a', 'zeta/b']);
    expect(s.list(Kinds.ConfigMap, { namespace: 'zeta' }).items.map((o) => o.metadata.name)).toEqual(['a', 'b']);
    const got = s.get(cmRef('a'))!;
    (got.data as Record<string, string>).mutated = 'yes';
    got.metadata.labels = { changed: 'yes' };
    expect(s.get(cmRef('a'))!.data).toEqual({});
    expect(s.get(cmRef('a'))!.metadata.labels).toBeUndefined();
  });

  it('kube store: the objects a caller passes in are not kept (later changes to them change nothing)', () => {
    const { s } = store({ crds: false });
    const input = cm('a', { k: 'v' });
    s.create(input);
    (input.data as Record<string, string>).k = 'changed';
    expect(s.get(cmRef('a'))!.data).toEqual({ k: 'v' });
  });
});

describe('kube store: writes', () => {
  it('kube store: update without a resourceVersion is Invalid; with a stale one Conflict (409) in the server\'s words', () => {
    const { s } = store({ crds: false });
    const v1 = s.create(cm('a', { k: '1' }));
    const noRv = cm('a', { k: '2' });
    expect(thrown(() => s.update(noRv))).toMatchObject({ kind: 'Invalid', code: 422, message: 'ConfigMap "a" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update' });
    s.update({ ...v1, data: { k: '2' } });
    expect(thrown(() => s.update({ ...v1, data: { k: '3' } }))).toMatchObject({
      kind: 'Conflict',
      code: 409,
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again',
    });
  });

  it('kube store: update of a missing object fails NotFound (404)', () => {
    const { s } = store({ crds: false });
    const e = thrown(() => s.update({ ...cm('ghost'), metadata: { name: 'ghost', namespace: 'apps', resourceVersion: '1' } }));
    expect(e).toMatchObject({ kind: 'NotFound', code: 404, message: 'configmaps "ghost" not found' });
  });

  it('kube store: create of a taken name fails AlreadyExists in the server\'s words', () => {
    const { s } = store({ crds: false });
    s.create(deploy('web'));
    expect(thrown(() => s.create(deploy('web')))).toMatchObject({ kind: 'Conflict', reason: 'AlreadyExists', code: 409, message: 'deployments.apps "web" already exists' });
  });

  it('kube store: a write that changes nothing stores nothing (same resourceVersion, no event)', () => {
    const { s } = store({ crds: false });
    const changes: StoreChange[] = [];
    const v1 = s.create(cm('a', { k: '1' }));
    s.subscribe((c) => changes.push(c));
    expect(s.update(v1).metadata.resourceVersion).toBe(v1.metadata.resourceVersion);
    expect(s.mergePatch(cmRef('a'), { data: { k: '1' } }).metadata.resourceVersion).toBe(v1.metadata.resourceVersion);
    expect(changes).toEqual([]);
  });

  it('kube store: uid, creationTimestamp and generation cannot be set by an update', () => {
    const { s } = store({ crds: false });
    const v1 = s.create(deploy('web'));
    const out = s.update({ ...v1, metadata: { ...v1.metadata, creationTimestamp: '1999-01-01T00:00:00Z', generation: 42 } });
    expect(out.metadata.creationTimestamp).toBe(v1.metadata.creationTimestamp);
    expect(out.metadata.generation).toBe(1);
    const e = thrown(() => s.update({ ...out, metadata: { ...out.metadata, uid: 'other' } }));
    expect(e.message).toContain('metadata.uid: Invalid value: "other": field is immutable');
  });

  it('kube store: generation bumps on spec changes only; status subresource keeps status and spec apart', () => {
    const { s } = store({ crds: false });
    const d = s.create({ ...deploy('web'), status: { replicas: 99 } });
    expect(d.status).toBeUndefined(); // status is reset on create
    const labelled = s.mergePatch(deployRef('web'), { metadata: { labels: { team: 'a' } } });
    expect(labelled.metadata.generation).toBe(1);
    const st = s.patchStatus(deployRef('web'), { status: { readyReplicas: 2 }, spec: { replicas: 7 }, metadata: { labels: { via: 'status' } } });
    expect(st.status).toEqual({ readyReplicas: 2 });
    expect(st.spec!.replicas).toBe(2);
    expect(st.metadata.labels).toEqual({ team: 'a' });
    expect(st.metadata.generation).toBe(1);
    const scaled = s.mergePatch(deployRef('web'), { spec: { replicas: 3 }, status: { readyReplicas: 0 } });
    expect(scaled.metadata.generation).toBe(2);
    expect(scaled.status).toEqual({ readyReplicas: 2 });
    const full = s.update({ ...scaled, spec: { ...scaled.spec, replicas: 4 }, status: undefined });
    expect(full.status).toEqual({ readyReplicas: 2 });
    expect(full.metadata.generation).toBe(3);
    const us = s.updateStatus({ ...full, status: { readyReplicas: 4 }, spec: { ...full.spec, replicas: 0 } });
    expect(us.status).toEqual({ readyReplicas: 4 });
    expect(us.spec!.replicas).toBe(4);
    expect(thrown(() => s.patchStatus(cmRef('x'), { status: {} })).message).toBe('the server could not find the requested resource');
  });

  it('kube store: without a status subresource, status is an ordinary field that bumps generation', () => {
    const { s } = store({ crds: false });
    s.create({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { kind: 'Widget', plural: 'widgets' },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    const w = s.create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'apps' }, spec: { size: 1 }, status: { ready: false } });
    expect(w.status).toEqual({ ready: false });
    const ref = { group: 'example.com', version: 'v1', kind: 'Widget', namespace: 'apps', name: 'w' };
    const out = s.mergePatch(ref, { status: { ready: true } });
    expect(out.status).toEqual({ ready: true });
    expect(out.metadata.generation).toBe(2);
    expect(thrown(() => s.patchStatus(ref, { status: {} })).message).toBe('the server could not find the requested resource');
  });

  it('kube store: merge patch: null deletes; a stale resourceVersion is Conflict; a renaming patch is refused', () => {
    const { s } = store({ crds: false });
    const v1 = s.create(cm('a', { x: '1', y: '2' }));
    expect(s.mergePatch(cmRef('a'), { data: { y: null } }).data).toEqual({ x: '1' });
    expect(thrown(() => s.mergePatch(cmRef('a'), { metadata: { resourceVersion: v1.metadata.resourceVersion }, data: { x: '9' } })).kind).toBe('Conflict');
    expect(thrown(() => s.mergePatch(cmRef('a'), { metadata: { name: 'b' } }))).toMatchObject({ kind: 'Invalid', code: 400 });
    expect(thrown(() => s.mergePatch(cmRef('missing'), { data: {} }))).toMatchObject({ kind: 'NotFound', code: 404 });
  });

  it('kube store: JSON patch: ops apply; a failing test op is Invalid (422) and changes nothing', () => {
    const { s } = store({ crds: false });
    const v1 = s.create(deploy('web'));
    const out = s.jsonPatch(deployRef('web'), [
      { op: 'test', path: '/spec/replicas', value: 2 },
      { op: 'replace', path: '/spec/replicas', value: 5 },
      { op: 'add', path: '/metadata/labels', value: { a: 'b' } },
    ]);
    expect(out.spec!.replicas).toBe(5);
    expect(out.metadata.labels).toEqual({ a: 'b' });
    const e = thrown(() => s.jsonPatch(deployRef('web'), [{ op: 'test', path: '/spec/replicas', value: 2 }, { op: 'replace', path: '/spec/replicas', value: 0 }]));
    expect(e).toMatchObject({ kind: 'Invalid', code: 422, reason: 'Invalid' });
    expect(e.message).toContain('testing value /spec/replicas failed');
    expect(s.get(deployRef('web'))!.spec!.replicas).toBe(5);
    expect(thrown(() => s.jsonPatch(deployRef('web'), [{ op: 'remove', path: '/spec/nope/deeper' }]))).toMatchObject({ kind: 'Invalid', code: 422 });
    expect(thrown(() => s.jsonPatch(deployRef('web'), [{ op: 'replace', path: '/metadata/resourceVersion', value: v1.metadata.resourceVersion! }])).kind).toBe('Conflict');
  });

  it('kube store: delete: a precondition names both versions; a finished delete returns true then false', () => {
    const { s } = store({ crds: false });
    const v1 = s.create(cm('a'));
    const v2 = s.mergePatch(cmRef('a'), { data: { k: 'v' } });
    const e = thrown(() => s.delete(cmRef('a'), { resourceVersion: v1.metadata.resourceVersion }));
    expect(e.message).toBe(
      `Operation cannot be fulfilled on configmaps "a": the ResourceVersion in the precondition (${v1.metadata.resourceVersion}) does not match the ResourceVersion in record (${v2.metadata.resourceVersion}). The object might have been modified`,
    );
    expect(s.delete(cmRef('a'), { resourceVersion: v2.metadata.resourceVersion })).toBe(true);
    expect(s.delete(cmRef('a'))).toBe(false);
  });

  it('kube store: finalizers: delete marks the object terminating; no finalizer may be added; removing the last deletes it', () => {
    const { s, clock } = store({ crds: false });
    const changes: string[] = [];
    s.subscribe((c) => changes.push(`${c.type}:${c.object.metadata.resourceVersion}`));
    s.create({ ...cm('a'), metadata: { name: 'a', namespace: 'apps', finalizers: ['example.com/one', 'example.com/two'] } });
    clock.ms += 5_000;
    expect(s.delete(cmRef('a'))).toBe(true);
    const t = s.get(cmRef('a'))!;
    expect(t.metadata.deletionTimestamp).toBe('2026-01-01T00:00:05Z');
    expect(t.metadata.generation).toBe(2);
    expect(s.delete(cmRef('a'))).toBe(true); // already terminating: no change
    const e = thrown(() => s.mergePatch(cmRef('a'), { metadata: { finalizers: ['example.com/one', 'example.com/two', 'example.com/three'] } }));
    expect(e.message).toContain('metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted');
    const kept = s.mergePatch(cmRef('a'), { metadata: { finalizers: ['example.com/two'], deletionTimestamp: null } });
    expect(kept.metadata.deletionTimestamp).toBe('2026-01-01T00:00:05Z');
    s.mergePatch(cmRef('a'), { metadata: { finalizers: [] } });
    expect(s.get(cmRef('a'))).toBeUndefined();
    expect(changes.map((c) => c.split(':')[0])).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED', 'DELETED']);
  });

  it('kube store: Secret stringData is merged into data as base64 and not stored', () => {
    const { s } = store({ crds: false });
    const o = s.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'apps' }, data: { a: 'eA==' }, stringData: { b: 'hello' } });
    expect(o.data).toEqual({ a: 'eA==', b: 'aGVsbG8=' });
    expect(o).not.toHaveProperty('stringData');
    expect(o.type).toBe('Opaque');
  });
});

describe('kube store: server-side apply', () => {
  it('kube store: apply records managedFields per manager as fieldsV1', () => {
    const { s } = store({ crds: false });
    const o = s.apply(cm('a', { x: '1' }, { app: 'a' }), { fieldManager: 'alice' });
    expect(o.metadata.managedFields).toEqual([
      { manager: 'alice', operation: 'Apply', apiVersion: 'v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:x': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } } },
    ]);
    const p = s.mergePatch(cmRef('a'), { data: { y: '2' } }, { fieldManager: 'kubectl-edit' });
    expect(p.metadata.managedFields).toContainEqual(expect.objectContaining({ manager: 'kubectl-edit', operation: 'Update', fieldsV1: { 'f:data': { 'f:y': {} } } }));
  });

  it('kube store: apply conflict names every field and manager; force takes them over', () => {
    const { s } = store({ crds: false });
    s.apply(cm('a', { x: '1', y: '1' }), { fieldManager: 'alice' });
    const e = thrown(() => s.apply(cm('a', { x: '2', y: '2' }), { fieldManager: 'bob' }));
    expect(e).toMatchObject({ kind: 'Conflict', code: 409, reason: 'Conflict' });
    expect(e.message).toBe('Apply failed with 2 conflicts: conflicts with "alice" using v1:\n- .data.x\n- .data.y');
    expect((e.details!.causes as JsonObject[]).map((c) => c.field)).toEqual(['.data.x', '.data.y']);
    const forced = s.apply(cm('a', { x: '2' }), { fieldManager: 'bob', force: true });
    expect(forced.data).toEqual({ x: '2', y: '1' });
    const owners = Object.fromEntries(forced.metadata.managedFields!.map((m) => [m.manager as string, m.fieldsV1]));
    expect(owners).toEqual({ alice: { 'f:data': { 'f:y': {} } }, bob: { 'f:data': { 'f:x': {} } } });
  });

  it('kube store: an Update that changes an applied field takes it; the next apply of another value conflicts with it', () => {
    const { s } = store({ crds: false });
    s.apply(deploy('web'), { fieldManager: 'engine' });
    s.mergePatch(deployRef('web'), { spec: { replicas: 5 } }, { fieldManager: 'hpa' });
    const e = thrown(() => s.apply(deploy('web', { replicas: 3 }), { fieldManager: 'engine' }));
    expect(e.message).toBe('Apply failed with 1 conflict: conflict with "hpa" using apps/v1: .spec.replicas');
    // Applying the value it already has is no conflict.
    expect(s.apply(deploy('web', { replicas: 5 }), { fieldManager: 'engine' }).spec!.replicas).toBe(5);
  });

  it('kube store: apply removes what its manager alone set before and no longer sets', () => {
    const { s } = store({ crds: false });
    s.apply(cm('a', { x: '1', y: '2', z: '3' }, { keep: 'me', drop: 'me' }), { fieldManager: 'alice' });
    s.apply(cm('a', { z: '3' }), { fieldManager: 'bob' });
    const out = s.apply(cm('a', { x: '1' }, { keep: 'me' }), { fieldManager: 'alice' });
    expect(out.data).toEqual({ x: '1', z: '3' });
    expect(out.metadata.labels).toEqual({ keep: 'me' });
    const none = s.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'apps' } }, { fieldManager: 'alice' });
    expect(none.data).toEqual({ z: '3' });
    expect(none.metadata.labels).toBeUndefined();
  });

  it('kube store: apply needs a field manager; a stale resourceVersion in the config is Conflict', () => {
    const { s } = store({ crds: false });
    expect(thrown(() => s.apply(cm('a'), { fieldManager: '' }))).toMatchObject({ kind: 'Invalid', code: 400 });
    const v1 = s.apply(cm('a', { x: '1' }), { fieldManager: 'alice' });
    s.apply(cm('a', { x: '2' }), { fieldManager: 'alice' });
    expect(thrown(() => s.apply({ ...cm('a', { x: '3' }), metadata: { name: 'a', namespace: 'apps', resourceVersion: v1.metadata.resourceVersion } }, { fieldManager: 'alice' })).kind).toBe('Conflict');
  });

  it('kube store: apply to a status-subresource type ignores status', () => {
    const { s } = store({ crds: false });
    const o = s.apply({ ...deploy('web'), status: { replicas: 3 } }, { fieldManager: 'engine' });
    expect(o.status).toBeUndefined();
  });
});

describe('kube store: label selectors', () => {
  it('kube store: list filters by equality, inequality, set-based and existence selectors', () => {
    const { s } = store({ crds: false });
    s.create(cm('a', {}, { tier: 'web', env: 'prod' }));
    s.create(cm('b', {}, { tier: 'db', env: 'prod' }));
    s.create(cm('c', {}, { tier: 'web' }));
    s.create(cm('d', {}, { rank: '7' }));
    const names = (labelSelector: string) => s.list(Kinds.ConfigMap, { labelSelector }).items.map((o) => o.metadata.name);
    expect(names('tier=web')).toEqual(['a', 'c']);
    expect(names('tier!=web')).toEqual(['b', 'd']);
    expect(names('tier in (db, web),env')).toEqual(['a', 'b']);
    expect(names('tier notin (web)')).toEqual(['b', 'd']);
    expect(names('!tier')).toEqual(['d']);
    expect(names('rank>5')).toEqual(['d']);
    expect(names('rank<5')).toEqual([]);
    expect(names('')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('kube store: a malformed selector is Invalid (400) and names the selector', () => {
    const { s } = store({ crds: false });
    const e = thrown(() => s.list(Kinds.ConfigMap, { labelSelector: 'tier in web' }));
    expect(e).toMatchObject({ kind: 'Invalid', code: 400, reason: 'BadRequest' });
    expect(e.message).toBe('invalid label selector "tier in web": unable to parse requirement: found \'web\', expected: \'(\'');
  });
});

describe('kube store: watch', () => {
  const collect = () => {
    const events: WatchEvent[] = [];
    const deliver = (e: WatchEvent) => events.push(e);
    const seen = () => events.map((e) => `${e.type}:${e.object.metadata.name}`);
    return { events, deliver, seen };
  };

  it('kube store: watch from a resourceVersion replays the changes after it, then streams', () => {
    const { s } = store({ crds: false });
    s.create(cm('before'));
    const rv = s.currentResourceVersion();
    s.create(cm('a'));
    s.mergePatch(cmRef('a'), { data: { k: 'v' } });
    const c = collect();
    s.watch(Kinds.ConfigMap, { resourceVersion: rv }, c.deliver);
    expect(c.seen()).toEqual(['ADDED:a', 'MODIFIED:a']);
    s.delete(cmRef('a'));
    expect(c.seen()).toEqual(['ADDED:a', 'MODIFIED:a', 'DELETED:a']);
    const del = c.events[2].object;
    expect(del.metadata.resourceVersion).toBe(s.currentResourceVersion());
    expect(del.data).toEqual({ k: 'v' });
  });

  it('kube store: watch with no resourceVersion or "0" starts from now', () => {
    const { s } = store({ crds: false });
    s.create(cm('old'));
    for (const resourceVersion of [undefined, '0']) {
      const c = collect();
      const w = s.watch(Kinds.ConfigMap, { resourceVersion }, c.deliver);
      s.mergePatch(cmRef('old'), { data: { rv: String(resourceVersion) } });
      expect(c.seen()).toEqual(['MODIFIED:old']);
      w.stop();
    }
  });

  it('kube store: watch filters by namespace and selector; leaving the selector is DELETED, entering is ADDED', () => {
    const { s } = store({ crds: false });
    const c = collect();
    s.watch(Kinds.ConfigMap, { namespace: 'apps', labelSelector: 'on=yes' }, c.deliver);
    s.create(cm('x', {}, { on: 'yes' }, 'other'));
    s.create(cm('a', {}, { on: 'no' }));
    s.mergePatch(cmRef('a'), { metadata: { labels: { on: 'yes' } } });
    s.mergePatch(cmRef('a'), { data: { k: 'v' } });
    s.mergePatch(cmRef('a'), { metadata: { labels: { on: 'no' } } });
    s.mergePatch(cmRef('a'), { data: { k: 'w' } });
    expect(c.seen()).toEqual(['ADDED:a', 'MODIFIED:a', 'DELETED:a']);
    // The DELETED of an object that left the selector carries its last matching state at the new version.
    expect(c.events[2].object.metadata.labels).toEqual({ on: 'yes' });
  });

  it('kube store: watch history is bounded: an older resourceVersion is Expired (410)', () => {
    const { s } = store({ crds: false, watchHistory: 3 });
    const first = s.create(cm('a'));
    for (let i = 0; i < 5; i++) s.mergePatch(cmRef('a'), { data: { i: String(i) } });
    const e = thrown(() => s.watch(Kinds.ConfigMap, { resourceVersion: first.metadata.resourceVersion }, () => {}));
    expect(e).toMatchObject({ kind: 'Conflict', reason: 'Expired', code: 410 });
    expect(e.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
    // The newest three are still there.
    const c = collect();
    s.watch(Kinds.ConfigMap, { resourceVersion: String(Number(s.currentResourceVersion()) - 3) }, c.deliver);
    expect(c.events).toHaveLength(3);
  });

  it('kube store: compactHistory expires every earlier resourceVersion', () => {
    const { s } = store({ crds: false });
    const rv = s.currentResourceVersion();
    s.create(cm('a'));
    s.compactHistory();
    expect(thrown(() => s.watch(Kinds.ConfigMap, { resourceVersion: rv }, () => {})).reason).toBe('Expired');
    expect(thrown(() => s.watch(Kinds.Deployment, { resourceVersion: rv }, () => {})).reason).toBe('Expired');
    expect(() => s.watch(Kinds.ConfigMap, { resourceVersion: s.currentResourceVersion() }, () => {})).not.toThrow();
  });

  it('kube store: a resourceVersion from the future is refused', () => {
    const { s } = store({ crds: false });
    expect(thrown(() => s.watch(Kinds.ConfigMap, { resourceVersion: '999999' }, () => {}))).toMatchObject({ kind: 'Transient', code: 504 });
  });

  it('kube store: bookmarks carry the current resourceVersion, only when allowed', () => {
    const { s } = store({ crds: false });
    const yes = collect();
    const no = collect();
    const w = s.watch(Kinds.ConfigMap, { allowBookmarks: true }, yes.deliver);
    s.watch(Kinds.ConfigMap, {}, no.deliver);
    s.create(cm('a'));
    s.bookmark();
    w.bookmark();
    expect(yes.events.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK', 'BOOKMARK']);
    expect(yes.events[1].object).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '', resourceVersion: s.currentResourceVersion() } });
    expect(no.events.map((e) => e.type)).toEqual(['ADDED']);
  });

  it('kube store: a stopped watch receives nothing', () => {
    const { s } = store({ crds: false });
    const c = collect();
    const w = s.watch(Kinds.ConfigMap, {}, c.deliver);
    w.stop();
    s.create(cm('a'));
    expect(c.events).toEqual([]);
  });

  it('kube store: listeners and watches see changes in commit order even when a listener writes', () => {
    const { s } = store({ crds: false });
    const order: string[][] = [[], []];
    const w = collect();
    s.subscribe((c) => {
      order[0].push(`${c.type}:${c.object.metadata.name}`);
      if (c.type === 'ADDED' && c.object.metadata.name === 'a') s.create(cm('b'));
    });
    s.subscribe((c) => order[1].push(`${c.type}:${c.object.metadata.name}`));
    s.watch(Kinds.ConfigMap, {}, w.deliver);
    s.create(cm('a'));
    expect(order[0]).toEqual(['ADDED:a', 'ADDED:b']);
    expect(order[1]).toEqual(['ADDED:a', 'ADDED:b']);
    expect(w.seen()).toEqual(['ADDED:a', 'ADDED:b']);
  });

  it('kube store: a watch started by a listener mid-delivery sees each change once', () => {
    const { s } = store({ crds: false });
    const late = collect();
    let started = false;
    const rv = s.currentResourceVersion();
    s.subscribe(() => {
      if (started) return;
      started = true;
      s.create(cm('b'));
      s.watch(Kinds.ConfigMap, { resourceVersion: rv }, late.deliver);
    });
    s.create(cm('a'));
    s.create(cm('c'));
    expect(late.seen()).toEqual(['ADDED:a', 'ADDED:b', 'ADDED:c']);
  });
});

describe('kube store: CRD schemas', () => {
  it('kube store: an unsupported enum value is Invalid with the server\'s exact message and causes', () => {
    const { s } = store();
    const e = thrown(() => s.create(vr('x', 'bogus')));
    expect(e).toMatchObject({ kind: 'Invalid', code: 422, reason: 'Invalid' });
    expect(e.message).toBe('VolumeReplication.replication.storage.openshift.io "x" is invalid: spec.replicationState: Unsupported value: "bogus": supported values: "primary", "secondary", "resync"');
    expect(e.details!.causes).toEqual([
      { reason: 'FieldValueNotSupported', message: 'Unsupported value: "bogus": supported values: "primary", "secondary", "resync"', field: 'spec.replicationState' },
    ]);
  });

  it('kube store: several violations are listed in brackets, each with its field', () => {
    const { s } = store();
    const o = vr('x', 7);
    delete (o.spec as JsonObject).volumeReplicationClass;
    (o.spec as JsonObject).dataSource = { kind: 'PersistentVolumeClaim' };
    const e = thrown(() => s.create(o));
    expect(e.message).toBe(
      'VolumeReplication.replication.storage.openshift.io "x" is invalid: [spec.volumeReplicationClass: Required value, spec.dataSource.name: Required value, spec.replicationState: Invalid value: "integer": spec.replicationState in body must be of type string: "integer"]',
    );
    expect((e.details!.causes as JsonObject[]).map((c) => c.field)).toEqual(['spec.volumeReplicationClass', 'spec.dataSource.name', 'spec.replicationState']);
  });

  it('kube store: updates and patches are validated too, and leave the object unchanged when invalid', () => {
    const { s } = store();
    s.create(vr('x'));
    expect(thrown(() => s.mergePatch(vrRef('x'), { spec: { replicationState: 'sideways' } })).message).toContain('spec.replicationState: Unsupported value: "sideways"');
    expect(thrown(() => s.patchStatus(vrRef('x'), { status: { conditions: [{ type: 'Completed' }] } })).message).toContain('status.conditions[0].status: Required value');
    expect(s.get(vrRef('x'))!.spec!.replicationState).toBe('primary');
  });

  it('kube store: defaults are filled in, unknown fields pruned, nulls dropped; preserved fields kept', () => {
    const { s } = store();
    const o = vr('x');
    (o.spec as JsonObject).unknownField = 'dropped';
    (o.spec as JsonObject).replicationHandle = null;
    const out = s.create(o);
    expect(out.spec).toEqual({ volumeReplicationClass: 'rbd', replicationState: 'primary', dataSource: { kind: 'PersistentVolumeClaim', name: 'data' }, autoResync: false });
    const hr = s.create({
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: 'app', namespace: 'apps' },
      spec: { interval: '5m', chart: { spec: { chart: 'app', sourceRef: { kind: 'HelmRepository', name: 'repo' } } }, values: { any: { nested: ['thing'] } } },
    });
    expect(hr.spec!.values).toEqual({ any: { nested: ['thing'] } });
  });

  it('kube store: int-or-string and pattern checks follow the schema', () => {
    const { s } = store();
    const ks = (interval: unknown): KubeObject => ({
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'k', namespace: 'apps' },
      spec: { interval: interval as string, prune: true, sourceRef: { kind: 'GitRepository', name: 'repo' } },
    });
    const e = thrown(() => s.create(ks('five minutes')));
    expect(e.message).toContain(`spec.interval: Invalid value: "five minutes": spec.interval in body should match '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$'`);
    expect(s.create(ks('5m')).spec!.interval).toBe('5m');
  });

  it('kube store: a CRD object created in the store registers its types; deleting it unregisters them and their objects', () => {
    const { s } = store({ crds: false });
    const crd = CRDS.find((c) => c.metadata.name === 'volumereplications.replication.storage.openshift.io')!;
    expect(thrown(() => s.create(vr('x'))).message).toBe('the server could not find the requested resource');
    const created = s.create(crd);
    expect(created.status!.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    expect(s.create(vr('x')).metadata.name).toBe('x');
    expect(thrown(() => s.create(vr('y', 'bogus'))).kind).toBe('Invalid');
    const changes: string[] = [];
    s.subscribe((c) => changes.push(`${c.type}:${c.object.kind}/${c.object.metadata.name}`));
    expect(s.delete({ ...{ group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' }, name: crd.metadata.name })).toBe(true);
    expect(changes).toEqual([`DELETED:CustomResourceDefinition/${crd.metadata.name}`, 'DELETED:VolumeReplication/x']);
    expect(thrown(() => s.get(vrRef('x'))).kind).toBe('NotFound');
  });

  it('kube store: CRDs registered before start are served as CustomResourceDefinition objects', () => {
    const { s } = store();
    const names = s.list({ group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' }).items.map((o) => o.metadata.name);
    expect(names).toEqual(CRDS.map((c) => c.metadata.name).sort());
  });

  it('kube store: an invalid CRD is refused naming its fields', () => {
    const { s } = store({ crds: false });
    const e = thrown(() =>
      s.create({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' }, spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced', versions: [] } }),
    );
    expect(e.kind).toBe('Invalid');
    expect(e.message).toContain('spec.versions: Required value');
  });

  it('kube store: a multi-version CRD serves one object at every served version', () => {
    const { s } = store();
    s.create({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs', namespace: 'apps' }, spec: { hosts: ['app.example.com'] } });
    const beta = s.get({ group: 'networking.istio.io', version: 'v1beta1', kind: 'VirtualService', namespace: 'apps', name: 'vs' });
    expect(beta?.apiVersion).toBe('networking.istio.io/v1beta1');
    expect(beta?.spec).toEqual({ hosts: ['app.example.com'] });
  });
});

describe('kube store: built-in validation', () => {
  it('kube store: Deployment: replicas, selector, template labels and containers are checked', () => {
    const { s } = store({ crds: false });
    expect(thrown(() => s.create(deploy('web', { replicas: -1 }))).message).toBe('Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    const mismatch = deploy('web');
    (mismatch.spec as JsonObject).selector = { matchLabels: { app: 'other' } };
    expect(thrown(() => s.create(mismatch)).message).toContain('spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`');
    const noContainers = deploy('web');
    ((noContainers.spec as JsonObject).template as JsonObject).spec = { containers: [] };
    expect(thrown(() => s.create(noContainers)).message).toContain('spec.template.spec.containers: Required value');
    const noReplicas = deploy('web');
    delete (noReplicas.spec as JsonObject).replicas;
    expect(s.create(noReplicas).spec!.replicas).toBe(1);
    expect(thrown(() => s.mergePatch(deployRef('web'), { spec: { selector: { matchLabels: { app: 'web', v: '2' } }, template: { metadata: { labels: { app: 'web', v: '2' } } } } })).message).toContain(
      'spec.selector: Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable',
    );
  });

  it('kube store: names and labels are checked as the server checks them', () => {
    const { s } = store({ crds: false });
    expect(thrown(() => s.create(cm('Bad_Name'))).message).toContain('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of');
    expect(thrown(() => s.create(cm('a', {}, { 'bad key!': 'v' }))).message).toContain('metadata.labels: Invalid value: "bad key!"');
    expect(thrown(() => s.create(cm('a', {}, { k: 'bad value!' }))).message).toContain('a valid label must be an empty string');
    expect(thrown(() => s.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: '1svc', namespace: 'apps' }, spec: { ports: [{ port: 80 }] } })).message).toContain('a DNS-1035 label');
    expect(thrown(() => s.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '' }, data: {} })).message).toBe('ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required');
  });

  it('kube store: StatefulSet spec fields other than the updatable ones are immutable', () => {
    const { s } = store({ crds: false });
    const sts: KubeObject = { ...deploy('db', { serviceName: 'db' }), kind: 'StatefulSet' };
    s.create(sts);
    const ref = { ...Kinds.StatefulSet, namespace: 'apps', name: 'db' };
    expect(s.mergePatch(ref, { spec: { replicas: 0 } }).spec!.replicas).toBe(0);
    expect(thrown(() => s.mergePatch(ref, { spec: { serviceName: 'other' } })).message).toContain("spec: Forbidden: updates to statefulset spec for fields other than 'replicas'");
  });

  it('kube store: CronJob needs a schedule and defaults suspend to false', () => {
    const { s } = store({ crds: false });
    const cj = (schedule: string): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'apps' },
      spec: { schedule, jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job', image: 'busybox' }], restartPolicy: 'Never' } } } } },
    });
    expect(thrown(() => s.create(cj('every night'))).message).toContain('spec.schedule: Invalid value: "every night"');
    const ok = s.create(cj('0 2 * * *'));
    expect(ok.spec!.suspend).toBe(false);
    expect(s.mergePatch({ ...Kinds.CronJob, namespace: 'apps', name: 'nightly' }, { spec: { suspend: true } }).spec!.suspend).toBe(true);
  });
});
