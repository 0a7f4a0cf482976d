// Why: the store saves work by sharing the unchanged parts of a new version with the old one, by validating only
// status on a status write, and by caching decoded managedFields. These tests pin that none of it can be seen:
// results equal the full computation, a changed schema is used at once, and callers still own what they get.
import fc from 'fast-check';
import mergePatchLib from 'json-merge-patch';
import { describe, expect, it } from 'vitest';
import { Kinds, type KubeObject, type ObjectRef } from '../../drivers/cluster/cluster.port.ts';
import { DriverError } from '../../drivers/errors.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { copy, copyJson, copyJsonSharing, deepFreeze, isoSeconds, shareEqual } from '../../simulator/kube/object-util.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { SimKubeStore } from '../../simulator/kube/store.ts';
import { applySchema } from '../../simulator/kube/validation.ts';
import { loadCrds } from '../../src/crds.ts';
import { thrown } from '../support/thrown.ts';

const CRDS = loadCrds();
const T0 = 1_767_225_600_000;
const RUNS = Number(process.env.SIM_RUNS ?? 60);

function store(crds: KubeObject[] = CRDS) {
  const clock = { ms: T0 };
  return { s: new SimKubeStore('c1', createRegistry(crds), () => clock.ms), clock };
}

const vr = (name: string): KubeObject => ({
  apiVersion: 'replication.storage.openshift.io/v1alpha1',
  kind: 'VolumeReplication',
  metadata: { name, namespace: 'apps' },
  spec: { volumeReplicationClass: 'rbd', replicationState: 'primary', dataSource: { kind: 'PersistentVolumeClaim', name: 'data' } },
});
const vrRef = (name: string): ObjectRef => ({ ...Kinds.VolumeReplication, namespace: 'apps', name });
const cond = (type: string, status: string) => ({ type, status, reason: 'R', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 });

/** A CRD `widgets.example.com` with a status subresource and the given status schema. */
const widgetCrd = (status: JsonObject): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } }, status } } },
      },
    ],
  },
});
const widgetRef: ObjectRef = { group: 'example.com', version: 'v1', kind: 'Widget', namespace: 'apps', name: 'w' };

describe('kube store: status writes validate what changed', () => {
  it('kube store: a status write is checked against the schema the type has now (a CRD replaced by a stricter one)', () => {
    const { s } = store([]);
    const crd = s.create(widgetCrd({ type: 'object', properties: { phase: { type: 'string' } } }));
    const w = s.create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'apps' }, spec: { size: 1 } });
    s.updateStatus({ ...w, status: { phase: 'C' } });
    s.update({ ...widgetCrd({ type: 'object', properties: { phase: { type: 'string', enum: ['A', 'B'] } } }), metadata: crd.metadata });
    const e = thrown(() => s.updateStatus({ ...s.get(widgetRef)!, status: { phase: 'D' } }));
    expect(e.message).toBe('Widget.example.com "w" is invalid: status.phase: Unsupported value: "D": supported values: "A", "B"');
    expect(s.updateStatus({ ...s.get(widgetRef)!, status: { phase: 'B' } }).status).toEqual({ phase: 'B' });
    // The stored object now passed the new schema: the next status write takes the short path, and still refuses.
    expect(thrown(() => s.updateStatus({ ...s.get(widgetRef)!, status: { phase: 'C' } })).message).toContain('Unsupported value: "C"');
    expect(s.get(widgetRef)!.status).toEqual({ phase: 'B' });
  });

  it('kube store: a status write prunes, defaults and reports violations exactly as validating the whole object does', () => {
    const { s } = store();
    const schema = createRegistry(CRDS).lookup(Kinds.VolumeReplication)!.openAPIV3Schema!;
    const created = s.create(vr('x'));
    const statuses: JsonObject[] = [
      { conditions: [cond('Completed', 'True')], state: 'Primary', unknownField: 1 },
      { conditions: [cond('Completed', 'True'), cond('Degraded', 'False')], state: 'Primary', message: null },
      { conditions: [{ ...cond('Completed', 'True'), observedGeneration: -1 }], state: 7 },
      { conditions: 'nope', lastSyncTime: 'yesterday' },
      { conditions: [cond('Completed', 'True'), cond('Degraded', 'False')], state: 'Primary' },
    ];
    let cur = created;
    for (const status of statuses) {
      const whole = copy({ ...s.get(vrRef('x'))!, status }) as unknown as JsonObject;
      const causes = applySchema(whole, schema);
      let got: KubeObject | DriverError;
      try {
        got = s.updateStatus({ ...cur, status });
      } catch (e) {
        got = e as DriverError;
      }
      if (causes.length === 0) {
        expect(got).not.toBeInstanceOf(DriverError);
        expect((got as KubeObject).status).toEqual(whole.status);
        expect(JSON.stringify((got as KubeObject).status)).toBe(JSON.stringify(whole.status));
        cur = got as KubeObject;
      } else {
        expect(got).toBeInstanceOf(DriverError);
        expect((got as DriverError).details?.causes).toEqual(causes.map((c) => expect.objectContaining({ field: c.field, message: c.message })));
      }
    }
  });
});

describe('kube store: shared unchanged parts', () => {
  it('kube store: putStatus returns the stored object itself (frozen, equal to a read); updateStatus a copy the caller owns', () => {
    const { s } = store();
    s.create(vr('a'));
    const cur = s.get(vrRef('a'))!;
    const put = s.putStatus({ ...cur, status: { state: 'Primary', message: 'm' } });
    expect(Object.isFrozen(put)).toBe(true);
    expect(put).toBe(s.peek(vrRef('a')));
    expect(put.status).toEqual({ state: 'Primary', message: 'm' });
    const copyBack = s.updateStatus({ ...s.get(vrRef('a'))!, status: { state: 'Secondary', message: 'n' } });
    expect(Object.isFrozen(copyBack)).toBe(false);
    copyBack.status!.state = 'changed by the caller';
    expect(s.get(vrRef('a'))!.status).toEqual({ state: 'Secondary', message: 'n' });
  });

  it('kube store: a new version shares its unchanged parts with the old one; callers still own what they pass and get', () => {
    const { s } = store();
    const created = s.create(vr('x'));
    const first = s.updateStatus({ ...created, status: { conditions: [cond('Completed', 'True')], state: 'Primary' } });
    const before = s.peek(vrRef('x'))!;
    const input = { ...first, status: { conditions: [cond('Completed', 'True'), cond('Degraded', 'False')], state: 'Primary' } };
    const second = s.updateStatus(input);
    const after = s.peek(vrRef('x'))!;
    expect(after).not.toBe(before);
    expect(after.spec).toBe(before.spec);
    expect((after.status as JsonObject).conditions).not.toBe((before.status as JsonObject).conditions);
    expect(((after.status as JsonObject).conditions as JsonObject[])[0]).toBe(((before.status as JsonObject).conditions as JsonObject[])[0]);
    // What the caller passed in and what it got back are its own.
    (input.status.conditions[0] as JsonObject).status = 'False';
    ((second.status as JsonObject).conditions as JsonObject[])[0].reason = 'Changed';
    expect(s.get(vrRef('x'))!.status).toEqual({ conditions: [cond('Completed', 'True'), cond('Degraded', 'False')], state: 'Primary' });
    // A stored part handed back as it is (a reader's peek) is taken as it is.
    const third = s.updateStatus({ ...after, status: { ...(after.status as JsonObject), state: 'Secondary' } });
    expect(s.peek(vrRef('x'))!.status).toMatchObject({ state: 'Secondary' });
    expect((s.peek(vrRef('x'))!.status as JsonObject).conditions).toBe((after.status as JsonObject).conditions);
    expect(third.status).toEqual({ conditions: [cond('Completed', 'True'), cond('Degraded', 'False')], state: 'Secondary' });
  });

  it('kube store: a status written with its keys in another order is stored in the order it was written', () => {
    const { s } = store();
    const created = s.create(vr('x'));
    const c = [cond('Completed', 'True')];
    s.updateStatus({ ...created, status: { state: 'Primary', message: 'ok', conditions: c } });
    const o = s.updateStatus({ ...s.get(vrRef('x'))!, status: { conditions: c, message: 'ko', state: 'Primary' } });
    expect(Object.keys(o.status as JsonObject)).toEqual(['conditions', 'message', 'state']);
    expect(Object.keys(s.peek(vrRef('x'))!.status as JsonObject)).toEqual(['conditions', 'message', 'state']);
    // Content equal in another key order is no change at all: nothing is stored, as on the server.
    const rv = s.peek(vrRef('x'))!.metadata.resourceVersion;
    s.updateStatus({ ...s.get(vrRef('x'))!, status: { state: 'Primary', message: 'ko', conditions: c } });
    expect(s.peek(vrRef('x'))!.metadata.resourceVersion).toBe(rv);
  });

  it('kube store: two servers built from the same CRD objects serve equal CRDs, each with its own server-set metadata', () => {
    const a = store().s;
    const b = new SimKubeStore('c2', createRegistry(CRDS), () => T0);
    const ref = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', name: 'volumereplications.replication.storage.openshift.io' };
    const ca = a.get(ref)!;
    const cb = b.get(ref)!;
    expect(ca.spec).toEqual(cb.spec);
    expect(ca.metadata.uid).not.toBe(cb.metadata.uid);
    (ca.spec as JsonObject).group = 'changed.example.com';
    expect((a.get(ref)!.spec as JsonObject).group).toBe('replication.storage.openshift.io');
    expect((b.peek(ref)!.spec as JsonObject).group).toBe('replication.storage.openshift.io');
  });
});

describe('kube store: merge patches share what they leave alone', () => {
  const free: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'gadgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { kind: 'Gadget', plural: 'gadgets' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  const ref: ObjectRef = { group: 'example.com', version: 'v1', kind: 'Gadget', namespace: 'apps', name: 'g' };
  const key = fc.constantFrom('a', 'b', 'c', 'constructor', 'toJSON');
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.constantFrom(null, 1, 'x', true), fc.array(fc.constantFrom(1, 'y'), { maxLength: 2 }), fc.dictionary(key, tie('v'), { maxKeys: 3 })),
  })).v;
  const body = fc.dictionary(key, value, { maxKeys: 4 }) as fc.Arbitrary<JsonObject>;

  it('kube store: a merge patch gives what json-merge-patch gives on a copy, and changes nothing it leaves alone', () => {
    fc.assert(
      fc.property(body, fc.array(body, { minLength: 1, maxLength: 4 }), (spec, patches) => {
        const { s } = store([]);
        s.create(free);
        s.create({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'apps', labels: { app: 'g' } }, spec: copyJson(spec) });
        for (const patch of patches) {
          const before = s.get(ref)!;
          const stored = s.peek(ref)!;
          const want = mergePatchLib.apply(copy(before), copyJson({ spec: patch })) as KubeObject;
          const got = s.mergePatch(ref, { spec: patch });
          expect(JSON.stringify(got.spec)).toBe(JSON.stringify(want.spec));
          expect(got.metadata.labels).toEqual({ app: 'g' });
          expect(s.peek(ref)!.metadata.labels).toBe(stored.metadata.labels);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('kube store: managedFields bookkeeping', () => {
  const KEYS = ['a', 'b', 'c', 'd'];
  const MANAGERS = ['m1', 'm2', 'm3'];
  const write = fc.record({
    manager: fc.constantFrom(...MANAGERS),
    data: fc.dictionary(fc.constantFrom(...KEYS), fc.option(fc.constantFrom('1', '2'), { nil: null }), { minKeys: 1 }),
    status: fc.boolean(),
  });

  it('kube store: after any sequence of writes each manager owns exactly the fields it was last to change', () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 12 }), (writes) => {
        const { s, clock } = store([]);
        s.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'apps' }, data: { keep: 'k' } }, { fieldManager: 'creator' });
        const ref: ObjectRef = { ...Kinds.ConfigMap, namespace: 'apps', name: 'x' };
        // The model: field -> the manager that last changed it.
        const owner = new Map<string, string>([['data\u0000keep', 'creator']]);
        for (const w of writes) {
          clock.ms += 700;
          const cur = s.get(ref)!;
          const data = (cur.data ?? {}) as Record<string, string>;
          for (const [k, v] of Object.entries(w.data)) {
            if (v === null && data[k] !== undefined) owner.delete(`data\u0000${k}`);
            if (v !== null && data[k] !== v) owner.set(`data\u0000${k}`, w.manager);
          }
          s.mergePatch(ref, { data: w.data }, { fieldManager: w.manager });
        }
        const want = new Map<string, string[]>();
        for (const [f, m] of owner) want.set(m, [...(want.get(m) ?? []), f.split('\u0000')[1]].sort());
        const got = new Map<string, string[]>();
        for (const e of s.get(ref)!.metadata.managedFields ?? []) {
          expect(e.operation).toBe('Update');
          got.set(e.manager as string, Object.keys(((e.fieldsV1 as JsonObject)['f:data'] ?? {}) as JsonObject).map((k) => k.slice(2)).sort());
        }
        expect(got).toEqual(want);
      }),
      { numRuns: RUNS },
    );
  });

  it('kube store: with nested maps, each manager owns exactly the leaf fields it was last to change', () => {
    const leafValue = fc.option(fc.constantFrom('1', '2'), { nil: null });
    const value = fc.oneof(leafValue, fc.dictionary(fc.constantFrom('x', 'y'), leafValue));
    const nested = fc.record({ manager: fc.constantFrom(...MANAGERS), extra: fc.dictionary(fc.constantFrom('a', 'ab', 'b'), value, { minKeys: 1 }) });
    /** Leaf fields of a value: path -> JSON of the value (an empty map is a leaf, as managedFields count it). */
    const leafMap = (v: unknown, at: string, out: Map<string, string>): Map<string, string> => {
      if (typeof v === 'object' && v !== null && Object.keys(v).length > 0) for (const [k, x] of Object.entries(v)) leafMap(x, `${at}.${k}`, out);
      else if (v !== undefined) out.set(at, JSON.stringify(v));
      return out;
    };
    const owned = (tree: JsonObject, at: string, out: string[]): string[] => {
      const keys = Object.keys(tree).filter((k) => k.startsWith('f:'));
      if (at !== '' && (keys.length === 0 || '.' in tree)) out.push(at);
      for (const k of keys) owned(tree[k] as JsonObject, `${at}.${k.slice(2)}`, out);
      return out;
    };
    fc.assert(
      fc.property(fc.array(nested, { maxLength: 12 }), (writes) => {
        const { s, clock } = store([]);
        // A built-in kind keeps fields it does not know: `extra` takes any JSON.
        s.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'apps' }, extra: { a: '1', b: { x: '2' } } }, { fieldManager: 'creator' });
        const ref: ObjectRef = { ...Kinds.ConfigMap, namespace: 'apps', name: 'x' };
        const owner = new Map<string, string>([['.extra.a', 'creator'], ['.extra.b.x', 'creator']]);
        for (const w of writes) {
          clock.ms += 700;
          const before = leafMap(s.get(ref)!.extra, '.extra', new Map());
          s.mergePatch(ref, { extra: w.extra }, { fieldManager: w.manager });
          const after = leafMap(s.get(ref)!.extra, '.extra', new Map());
          for (const p of new Set([...before.keys(), ...after.keys()])) {
            if (before.get(p) === after.get(p)) continue;
            if (after.has(p)) owner.set(p, w.manager);
            else owner.delete(p);
          }
        }
        const want = new Map<string, string[]>();
        for (const [p, m] of owner) want.set(m, [...(want.get(m) ?? []), p].sort());
        const got = new Map<string, string[]>();
        for (const e of s.get(ref)!.metadata.managedFields ?? []) {
          const paths = owned(e.fieldsV1 as JsonObject, '', []).filter((p) => p === '.extra' || p.startsWith('.extra.'));
          if (paths.length) got.set(e.manager as string, paths.sort());
        }
        expect(got).toEqual(want);
      }),
      { numRuns: RUNS },
    );
  });

  it('kube store: objects whose managers own the same fields stay apart when one of them changes', () => {
    const { s } = store([]);
    const ref = (name: string): ObjectRef => ({ ...Kinds.ConfigMap, namespace: 'apps', name });
    for (const name of ['p', 'q']) {
      s.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'apps' }, data: { a: '1' } }, { fieldManager: 'maker' });
      s.mergePatch(ref(name), { data: { b: '1' } }, { fieldManager: 'editor' });
    }
    const fields = (name: string) => Object.fromEntries((s.get(ref(name))!.metadata.managedFields ?? []).map((e) => [e.manager as string, e.fieldsV1]));
    expect(fields('p')).toEqual(fields('q'));
    s.mergePatch(ref('p'), { data: { a: '2', c: '1' } }, { fieldManager: 'editor' });
    expect(fields('p')).toEqual({ editor: { 'f:data': { 'f:a': {}, 'f:b': {}, 'f:c': {} } } });
    expect(fields('q')).toEqual({ maker: { 'f:data': { 'f:a': {} } }, editor: { 'f:data': { 'f:b': {} } } });
    s.mergePatch(ref('q'), { data: { b: null } }, { fieldManager: 'maker' });
    expect(fields('q')).toEqual({ maker: { 'f:data': { 'f:a': {} } } });
    expect(fields('p')).toEqual({ editor: { 'f:data': { 'f:a': {}, 'f:b': {}, 'f:c': {} } } });
  });

  it('kube store: a status writer that sets the same fields again keeps its managedFields entry as it was', () => {
    const { s, clock } = store();
    const created = s.create(vr('x'), { fieldManager: 'maker' });
    s.updateStatus({ ...created, status: { state: 'Primary', message: 'one' } });
    const e1 = s.peek(vrRef('x'))!.metadata.managedFields!;
    s.updateStatus({ ...s.get(vrRef('x'))!, status: { state: 'Primary', message: 'two' } });
    const e2 = s.peek(vrRef('x'))!.metadata.managedFields!;
    expect(e2).toBe(e1);
    clock.ms += 5000;
    s.updateStatus({ ...s.get(vrRef('x'))!, status: { state: 'Primary', message: 'three', lastSyncTime: '2026-01-01T00:00:05Z' } });
    const e3 = s.peek(vrRef('x'))!.metadata.managedFields!;
    expect(e3[0]).toBe(e1[0]);
    expect(e3[1]).toMatchObject({ manager: 'unknown', subresource: 'status', time: '2026-01-01T00:00:05Z', fieldsV1: { 'f:status': { 'f:lastSyncTime': {}, 'f:message': {}, 'f:state': {} } } });
    s.updateStatus({ ...s.get(vrRef('x'))!, status: { state: 'Primary' } });
    expect(s.peek(vrRef('x'))!.metadata.managedFields![1].fieldsV1).toEqual({ 'f:status': { 'f:state': {} } });
  });
});

describe('kube store: sharing helpers', () => {
  const json = fc.jsonValue({ maxDepth: 4 });

  it('kube store: isoSeconds formats any time as toISOString does, whatever came before (its last second and day never go stale)', () => {
    const ms = fc.oneof(fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }), fc.integer({ min: T0 - 200_000_000, max: T0 + 200_000_000 }));
    fc.assert(
      fc.property(fc.array(ms, { minLength: 1, maxLength: 20 }), (times) => {
        for (const t of times) expect(isoSeconds(t)).toBe(new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z'));
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('kube store: copyJsonSharing gives copyJson\'s content, in the same key order, and the old value itself when equal', () => {
    fc.assert(
      fc.property(json, json, fc.boolean(), (v, prev, same) => {
        const old = deepFreeze(copyJson(same ? v : prev));
        const got = copyJsonSharing(v, old);
        expect(JSON.stringify(got)).toBe(JSON.stringify(copyJson(v)));
        if (JSON.stringify(v) === JSON.stringify(old) && typeof old === 'object' && old !== null) expect(got).toBe(old);
        if (typeof v === 'object' && v !== null) expect(got).not.toBe(v);
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('kube store: shareEqual keeps the content and key order and shares only equal parts', () => {
    fc.assert(
      fc.property(json, json, (v, prev) => {
        const old = deepFreeze(copyJson(prev));
        const next = copyJson(v);
        const text = JSON.stringify(next);
        const got = shareEqual(next, old);
        expect(JSON.stringify(got)).toBe(text);
        if (text === JSON.stringify(old) && typeof old === 'object' && old !== null) expect(got).toBe(old);
      }),
      { numRuns: RUNS * 5 },
    );
  });
});
