// Why: the one ClusterPort contract. It runs unchanged against the simulated cluster and, later, against a real
// API server (or the simulator served over HTTP), so the simulation cannot drift from what a cluster does. It
// asserts observed state only, and reaches backends through the harness alone.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterPort, KubeObject, ObjectRef, WatchEvent, WatchHandle } from '../../drivers/cluster/cluster.port.ts';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { DriverError } from '../../drivers/errors.ts';
import { withCallRetries } from '../../src/wire/resilient.ts';

export interface ClusterHarness {
  port: ClusterPort;
  /** Lets a promise settle: runs virtual time for the simulator; the identity for real backends. */
  settle<T>(p: Promise<T>): Promise<T>;
  /** Makes the upstream CRDs (VolumeReplication at least) served; absent when they always are. */
  installCrds?(): Promise<void>;
  /** Forgets the watch history (as etcd compaction does), so that older resourceVersions are Expired. */
  compactHistory?(): Promise<void>;
  /** The namespace the suite works in (created if missing). Default `contract`. */
  namespace?: string;
  dispose(): Promise<void>;
}

export function describeClusterContract(name: string, harness: () => Promise<ClusterHarness>): void {
  describe(`ClusterPort contract (${name})`, () => {
    let h: ClusterHarness;
    let port: ClusterPort;
    let ns: string;
    const run = <T>(p: Promise<T>): Promise<T> => h.settle(p);
    /** The rejection of a promise (fails the test if it resolves). */
    const failure = async (p: Promise<unknown>): Promise<DriverError> => {
      const e = await run(p).then(
        (v) => {
          throw new Error(`expected a failure, got ${JSON.stringify(v)}`);
        },
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(DriverError);
      return e as DriverError;
    };

    const cm = (name: string, data: Record<string, string>, labels?: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
      data,
    });
    const cmRef = (name: string): ObjectRef => ({ ...Kinds.ConfigMap, namespace: ns, name });
    const vr = (name: string, replicationState: string): KubeObject => ({
      apiVersion: 'replication.storage.openshift.io/v1alpha1',
      kind: 'VolumeReplication',
      metadata: { name, namespace: ns },
      spec: { volumeReplicationClass: 'rbd-replication', replicationState, dataSource: { apiGroup: '', kind: 'PersistentVolumeClaim', name: 'data' } },
    });
    const vrRef = (name: string): ObjectRef => ({ ...Kinds.VolumeReplication, namespace: ns, name });

    /** Watches until `enough` holds for the events seen, then stops; returns them. */
    async function watchUntil(
      opts: { resourceVersion?: string; labelSelector?: string },
      act: () => Promise<void>,
      enough: (es: WatchEvent[]) => boolean,
      via: ClusterPort = port,
    ): Promise<WatchEvent[]> {
      const events: WatchEvent[] = [];
      let wake: () => void = () => {};
      const reached = new Promise<void>((resolve) => (wake = resolve));
      const handle: WatchHandle = await run(
        via.watch(Kinds.ConfigMap, { namespace: ns, ...opts }, (e) => {
          if (e.type === 'BOOKMARK') return;
          events.push(e);
          if (enough(events)) wake();
        }),
      );
      try {
        await act();
        await run(Promise.race([reached, handle.done.then((err) => Promise.reject(err ?? new Error('watch ended early')))]));
      } finally {
        handle.stop();
      }
      expect(await run(handle.done)).toBeUndefined();
      return events;
    }

    beforeEach(async () => {
      h = await harness();
      port = h.port;
      ns = h.namespace ?? 'contract';
      if (!(await run(port.get({ ...Kinds.Namespace, name: ns })))) {
        await run(port.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
      }
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('create, get and list: the server sets uid, resourceVersion and creationTimestamp', async () => {
      const created = await run(port.create(cm('one', { a: '1' })));
      expect(created.metadata.uid).toMatch(/\S/);
      expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      const got = await run(port.get(cmRef('one')));
      expect(got?.data).toEqual({ a: '1' });
      expect(got?.metadata.uid).toBe(created.metadata.uid);
      expect(got?.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
      await run(port.create(cm('two', { b: '2' })));
      const list = await run(port.list(Kinds.ConfigMap, { namespace: ns }));
      const mine = list.items.filter((o) => o.metadata.name === 'one' || o.metadata.name === 'two');
      expect(mine.map((o) => o.metadata.name)).toEqual(['one', 'two']);
      expect(list.resourceVersion).toMatch(/^\d+$/);
    });

    it('create: a taken name fails with Conflict, reason AlreadyExists (409)', async () => {
      await run(port.create(cm('taken', { a: '1' })));
      const e = await failure(port.create(cm('taken', { a: '2' })));
      expect(e).toMatchObject({ kind: 'Conflict', reason: 'AlreadyExists', code: 409 });
      expect((await run(port.get(cmRef('taken'))))?.data).toEqual({ a: '1' });
    });

    it('get: an unknown object resolves undefined', async () => {
      expect(await run(port.get(cmRef('no-such-object')))).toBeUndefined();
    });

    it('update: with the current resourceVersion replaces the object; a stale one fails with Conflict (409)', async () => {
      const v1 = await run(port.create(cm('upd', { a: '1' })));
      const v2 = await run(port.update({ ...v1, data: { a: '2' } }));
      expect(v2.data).toEqual({ a: '2' });
      expect(v2.metadata.resourceVersion).not.toBe(v1.metadata.resourceVersion);
      const e = await failure(port.update({ ...v1, data: { a: 'stale' } }));
      expect(e).toMatchObject({ kind: 'Conflict', reason: 'Conflict', code: 409 });
      expect((await run(port.get(cmRef('upd'))))?.data).toEqual({ a: '2' });
    });

    it('update: a write that changes nothing keeps the resourceVersion', async () => {
      const v1 = await run(port.create(cm('noop', { a: '1' })));
      const v2 = await run(port.update(v1));
      expect(v2.metadata.resourceVersion).toBe(v1.metadata.resourceVersion);
    });

    it('mergePatch: merges the patch; null deletes a key', async () => {
      await run(port.create(cm('mp', { a: '1', b: '2' })));
      const out = await run(port.mergePatch(cmRef('mp'), { data: { a: '10', b: null, c: '3' } }));
      expect(out.data).toEqual({ a: '10', c: '3' });
      expect((await run(port.get(cmRef('mp'))))?.data).toEqual({ a: '10', c: '3' });
    });

    it('mergePatch: a stale metadata.resourceVersion in the patch fails with Conflict', async () => {
      const v1 = await run(port.create(cm('mp-stale', { a: '1' })));
      await run(port.mergePatch(cmRef('mp-stale'), { data: { a: '2' } }));
      const e = await failure(port.mergePatch(cmRef('mp-stale'), { metadata: { resourceVersion: v1.metadata.resourceVersion }, data: { a: '3' } }));
      expect(e).toMatchObject({ kind: 'Conflict', code: 409 });
      expect((await run(port.get(cmRef('mp-stale'))))?.data).toEqual({ a: '2' });
    });

    it('mergePatch: an unknown object fails with NotFound (404)', async () => {
      const e = await failure(port.mergePatch(cmRef('missing'), { data: { a: '1' } }));
      expect(e).toMatchObject({ kind: 'NotFound', code: 404 });
    });

    it('status subresource: patchStatus changes status only; a spec patch bumps generation and ignores status', async () => {
      await h.installCrds?.();
      const created = await run(port.create(vr('status-vr', 'primary')));
      expect(created.metadata.generation).toBe(1);
      const st = await run(port.patchStatus(vrRef('status-vr'), { status: { state: 'Primary', message: 'ok' }, spec: { replicationState: 'secondary' } }));
      expect(st.status).toMatchObject({ state: 'Primary', message: 'ok' });
      expect(st.spec?.replicationState).toBe('primary');
      expect(st.metadata.generation).toBe(1);
      const sp = await run(port.mergePatch(vrRef('status-vr'), { spec: { replicationState: 'secondary' }, status: { state: 'Ignored' } }));
      expect(sp.spec?.replicationState).toBe('secondary');
      expect(sp.metadata.generation).toBe(2);
      expect(sp.status?.state).toBe('Primary');
      const got = await run(port.get(vrRef('status-vr')));
      expect(got?.status?.state).toBe('Primary');
      expect(got?.metadata.generation).toBe(2);
    });

    it('apply: creates, then updates the fields its manager applies', async () => {
      const a1 = await run(port.apply(cm('ssa', { a: '1' }), { fieldManager: 'contract-alice' }));
      expect(a1.data).toEqual({ a: '1' });
      const a2 = await run(port.apply(cm('ssa', { a: '2', b: '3' }), { fieldManager: 'contract-alice' }));
      expect(a2.data).toEqual({ a: '2', b: '3' });
      expect(a2.metadata.uid).toBe(a1.metadata.uid);
    });

    it('apply: a field another manager owns with another value fails with Conflict naming it; force takes it', async () => {
      await run(port.apply(cm('ssa-conflict', { a: '1', b: '1' }), { fieldManager: 'contract-alice' }));
      const e = await failure(port.apply(cm('ssa-conflict', { a: '2' }), { fieldManager: 'contract-bob' }));
      expect(e).toMatchObject({ kind: 'Conflict', code: 409 });
      expect(e.message).toContain('contract-alice');
      expect(e.message).toContain('.data.a');
      expect((await run(port.get(cmRef('ssa-conflict'))))?.data).toEqual({ a: '1', b: '1' });
      // The same value is no conflict: both managers own the field.
      await run(port.apply(cm('ssa-conflict', { b: '1' }), { fieldManager: 'contract-bob' }));
      const forced = await run(port.apply(cm('ssa-conflict', { a: '2', b: '1' }), { fieldManager: 'contract-bob', force: true }));
      expect(forced.data).toEqual({ a: '2', b: '1' });
    });

    it('apply: fields dropped from the applied config are removed, unless another manager owns them too', async () => {
      await run(port.apply(cm('ssa-drop', { a: '1', b: '2', c: '3' }), { fieldManager: 'contract-alice' }));
      await run(port.apply(cm('ssa-drop', { c: '3' }), { fieldManager: 'contract-bob' }));
      const out = await run(port.apply(cm('ssa-drop', { a: '1' }), { fieldManager: 'contract-alice' }));
      expect(out.data).toEqual({ a: '1', c: '3' });
    });

    it('list: label selectors (equality, inequality, set-based, exists, !key)', async () => {
      await run(port.create(cm('sel-a', {}, { tier: 'web', env: 'prod' })));
      await run(port.create(cm('sel-b', {}, { tier: 'db', env: 'prod' })));
      await run(port.create(cm('sel-c', {}, { tier: 'web' })));
      await run(port.create(cm('sel-d', {}, { other: 'x' })));
      const names = async (labelSelector: string) =>
        (await run(port.list(Kinds.ConfigMap, { namespace: ns, labelSelector }))).items.map((o) => o.metadata.name).filter((n) => n.startsWith('sel-'));
      expect(await names('tier=web')).toEqual(['sel-a', 'sel-c']);
      expect(await names('tier==web,env=prod')).toEqual(['sel-a']);
      expect(await names('tier!=web')).toEqual(['sel-b', 'sel-d']);
      expect(await names('tier in (web,db)')).toEqual(['sel-a', 'sel-b', 'sel-c']);
      expect(await names('tier notin (web)')).toEqual(['sel-b', 'sel-d']);
      expect(await names('env')).toEqual(['sel-a', 'sel-b']);
      expect(await names('!env')).toEqual(['sel-c', 'sel-d']);
      expect(await names('tier,!env')).toEqual(['sel-c']);
    });

    it('list: a malformed label selector fails with Invalid', async () => {
      const e = await failure(port.list(Kinds.ConfigMap, { namespace: ns, labelSelector: 'tier in web' }));
      expect(e.kind).toBe('Invalid');
    });

    it('delete: resolves true, then false once the object is gone', async () => {
      await run(port.create(cm('del', {})));
      expect(await run(port.delete(cmRef('del')))).toBe(true);
      expect(await run(port.get(cmRef('del')))).toBeUndefined();
      expect(await run(port.delete(cmRef('del')))).toBe(false);
    });

    it('delete: a stale resourceVersion precondition fails with Conflict and keeps the object', async () => {
      const v1 = await run(port.create(cm('del-stale', { a: '1' })));
      await run(port.mergePatch(cmRef('del-stale'), { data: { a: '2' } }));
      const e = await failure(port.delete(cmRef('del-stale'), { resourceVersion: v1.metadata.resourceVersion }));
      expect(e).toMatchObject({ kind: 'Conflict', code: 409 });
      expect(await run(port.get(cmRef('del-stale')))).toBeDefined();
    });

    it('delete: an object with finalizers stays, terminating, until they are removed', async () => {
      const obj = cm('fin', { a: '1' });
      obj.metadata.finalizers = ['contract.example.com/hold'];
      await run(port.create(obj));
      expect(await run(port.delete(cmRef('fin')))).toBe(true);
      const terminating = await run(port.get(cmRef('fin')));
      expect(terminating?.metadata.deletionTimestamp).toMatch(/^\d{4}-/);
      await run(port.mergePatch(cmRef('fin'), { metadata: { finalizers: null } }));
      expect(await run(port.get(cmRef('fin')))).toBeUndefined();
    });

    it('watch: from a list resourceVersion sees ADDED, MODIFIED, DELETED in order', async () => {
      const { resourceVersion } = await run(port.list(Kinds.ConfigMap, { namespace: ns }));
      const events = await watchUntil(
        { resourceVersion },
        async () => {
          await run(port.create(cm('w1', { a: '1' })));
          await run(port.mergePatch(cmRef('w1'), { data: { a: '2' } }));
          await run(port.delete(cmRef('w1')));
        },
        (es) => es.some((e) => e.type === 'DELETED'),
      );
      const w1 = events.filter((e) => e.object.metadata.name === 'w1');
      expect(w1.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
      expect(w1[1].object.data).toEqual({ a: '2' });
      const rvs = w1.map((e) => Number(e.object.metadata.resourceVersion));
      expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
    });

    it('watch: with a label selector, stopping to match is DELETED and starting to match is ADDED', async () => {
      const { resourceVersion } = await run(port.list(Kinds.ConfigMap, { namespace: ns }));
      const events = await watchUntil(
        { resourceVersion, labelSelector: 'watched=yes' },
        async () => {
          await run(port.create(cm('wsel', {}, { watched: 'no' })));
          await run(port.mergePatch(cmRef('wsel'), { metadata: { labels: { watched: 'yes' } } }));
          await run(port.mergePatch(cmRef('wsel'), { data: { a: '1' } }));
          await run(port.mergePatch(cmRef('wsel'), { metadata: { labels: { watched: 'no' } } }));
        },
        (es) => es.some((e) => e.type === 'DELETED'),
      );
      expect(events.filter((e) => e.object.metadata.name === 'wsel').map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    });

    it('watch: through the wiring\'s call-retry wrapper, events arrive as from the port itself', async () => {
      // The failover wiring always calls the port through withCallRetries (a Proxy): a watch run with the wrapper
      // as `this` must still hand the handler the objects (it once got promises, and waits never ended over HTTP).
      const noSleep: ClockPort = { now: () => 0, sleep: () => Promise.reject(new Error('no retry expected in this test')) };
      const wrapped = withCallRetries(port, noSleep);
      const { resourceVersion } = await run(wrapped.list(Kinds.ConfigMap, { namespace: ns }));
      const events = await watchUntil(
        { resourceVersion, labelSelector: 'via=wrapper' },
        async () => {
          await run(port.create(cm('wrapped', { a: '1' }, { via: 'wrapper' })));
          await run(port.delete(cmRef('wrapped')));
        },
        (es) => es.some((e) => e.type === 'DELETED'),
        wrapped,
      );
      expect(events.map((e) => [e.type, e.object.kind, e.object.metadata.name, e.object.metadata.labels?.via])).toEqual([
        ['ADDED', 'ConfigMap', 'wrapped', 'wrapper'],
        ['DELETED', 'ConfigMap', 'wrapped', 'wrapper'],
      ]);
    });

    it('watch: an event handler that throws ends the stream with Fatal, reason HandlerFailed (no event silently lost)', async () => {
      const { resourceVersion } = await run(port.list(Kinds.ConfigMap, { namespace: ns }));
      const seen: string[] = [];
      const handle = await run(
        port.watch(Kinds.ConfigMap, { namespace: ns, resourceVersion }, (e) => {
          if (e.type === 'BOOKMARK') return;
          seen.push(e.object.metadata.name);
          throw new Error(`handler bug on ${e.object.metadata.name}`);
        }),
      );
      try {
        await run(port.create(cm('boom', { a: '1' })));
        await run(port.create(cm('after-boom', { a: '1' })));
        const err = await run(handle.done);
        expect(err).toBeInstanceOf(DriverError);
        expect(err).toMatchObject({ kind: 'Fatal', reason: 'HandlerFailed' });
        expect(err?.message).toContain('handler bug on boom');
        expect(seen).toEqual(['boom']);
      } finally {
        handle.stop();
      }
    });

    it('watch: too old a resourceVersion fails with Conflict, reason Expired (410)', async (ctx) => {
      if (!h.compactHistory) return ctx.skip();
      const old = await run(port.create(cm('old', { a: '1' })));
      await run(port.mergePatch(cmRef('old'), { data: { a: '2' } }));
      await h.compactHistory();
      // A server may refuse the watch, or open it and end it at once with 410: both are the same answer.
      const err = await run(
        port.watch(Kinds.ConfigMap, { namespace: ns, resourceVersion: old.metadata.resourceVersion }, () => {}).then(
          (w) => w.done,
          (e: unknown) => e,
        ),
      );
      expect(err).toBeInstanceOf(DriverError);
      expect(err).toMatchObject({ kind: 'Conflict', reason: 'Expired' });
    });

    it('CRD schema: a VolumeReplication with an unsupported replicationState fails with Invalid naming the field', async () => {
      await h.installCrds?.();
      const e = await failure(port.create(vr('bad-vr', 'bogus')));
      expect(e).toMatchObject({ kind: 'Invalid', code: 422 });
      expect(e.message).toContain('spec.replicationState');
      expect(e.message).toContain('Unsupported value: "bogus"');
      expect(await run(port.get(vrRef('bad-vr')))).toBeUndefined();
    });

    it('CRD schema: defaults are filled in and unknown fields pruned', async () => {
      await h.installCrds?.();
      const o = vr('defaults-vr', 'primary');
      (o.spec as Record<string, unknown>).notInSchema = 'dropped';
      const created = await run(port.create(o));
      expect(created.spec?.autoResync).toBe(false);
      expect(created.spec).not.toHaveProperty('notInSchema');
    });
  });
}
