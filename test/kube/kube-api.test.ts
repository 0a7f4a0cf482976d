// Why: the simulated API server must answer kubectl's exact requests as a real server does: Table printing,
// strategic merge patches with directives, server-side apply of YAML, the status subresource, preconditions,
// watch streams (synthetic ADDED, 410 as an ERROR event), Status objects for every refusal, and injected faults.
import { afterEach, describe, expect, it } from 'vitest';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { writesPerObject } from '../../simulator/serve/kube-stats.ts';
import { loadCrds } from '../../src/crds.ts';
import { configMap, kubeHttpHarness, type KubeHttpHarness } from './kube-harness.ts';

/** What kubectl 1.32 sends for `kubectl get`. */
const KUBECTL_TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const CRDS = loadCrds();

const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'app' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          { name: 'app', image: 'nginx:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
          { name: 'side', image: 'busybox:1' },
        ],
      },
    },
  },
});

/** Opens a watch stream and reads it line by line, running the world while waiting. */
async function openWatch(h: KubeHttpHarness, path: string, accept = 'application/json') {
  const res = await h.settle(fetch(`${h.server.url}${path}`, { headers: { Accept: accept } }));
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const next = async (): Promise<any> => {
    for (;;) {
      const i = buf.indexOf('\n');
      if (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        return JSON.parse(line);
      }
      const { value, done } = await h.settle(reader.read());
      if (done) return undefined;
      buf += decoder.decode(value, { stream: true });
    }
  };
  return { status: res.status, next, close: () => reader.cancel().catch(() => undefined) };
}

describe('kube api: HTTP semantics', () => {
  let h: KubeHttpHarness;
  afterEach(() => h.dispose());

  async function withNamespace(crds = false): Promise<void> {
    h = await kubeHttpHarness(crds ? { crds: CRDS } : {});
    h.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
  }

  it('kube api: table: kubectl get receives a meta.k8s.io/v1 Table with Name and Age, rows carrying object metadata', async () => {
    await withNamespace();
    h.store.create(configMap('one', 'app', { a: '1', b: '2' }));
    const r = await h.http('GET', '/api/v1/namespaces/app/configmaps?limit=500', { accept: KUBECTL_TABLE_ACCEPT });
    expect(r.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect(r.body.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Data', 'Age']);
    expect(r.body.rows).toHaveLength(1);
    expect(r.body.rows[0].cells.slice(0, 2)).toEqual(['one', 2]);
    expect(r.body.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'one', namespace: 'app' } });
    // Without the Table media type the answer is the plain list, with the list's resourceVersion.
    const plain = await h.http('GET', '/api/v1/namespaces/app/configmaps');
    expect(plain.body).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: h.store.currentResourceVersion() } });
    expect(plain.body.items[0].metadata.name).toBe('one');
  });

  it('kube api: table: a CRD kind shows its additionalPrinterColumns', async () => {
    await withNamespace(true);
    h.store.create({
      apiVersion: 'replication.storage.openshift.io/v1alpha1',
      kind: 'VolumeReplication',
      metadata: { name: 'vr', namespace: 'app' },
      spec: { volumeReplicationClass: 'rbd', replicationState: 'primary', dataSource: { apiGroup: '', kind: 'PersistentVolumeClaim', name: 'data' } },
    });
    const r = await h.http('GET', '/apis/replication.storage.openshift.io/v1alpha1/namespaces/app/volumereplications/vr', { accept: KUBECTL_TABLE_ACCEPT });
    const cols = r.body.columnDefinitions.map((c: { name: string }) => c.name);
    expect(cols).toEqual(['Name', 'Age', 'volumeReplicationClass', 'SourceKind', 'SourceName', 'desiredState', 'currentState']);
    expect(r.body.rows[0].cells).toEqual(['vr', '0s', 'rbd', 'PersistentVolumeClaim', 'data', 'primary', null]);
  });

  it('kube api: strategic merge patch: containers merge by name; $patch delete and $setElementOrder are honoured', async () => {
    await withNamespace();
    expect((await h.http('POST', '/apis/apps/v1/namespaces/app/deployments', { body: deployment('web') })).status).toBe(201);
    // kubectl apply's patch after removing env B and the sidecar and changing the image.
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'app' }],
            containers: [
              { '$setElementOrder/env': [{ name: 'A' }], env: [{ $patch: 'delete', name: 'B' }], image: 'nginx:2', name: 'app' },
              { $patch: 'delete', name: 'side' },
            ],
          },
        },
      },
    };
    const r = await h.http('PATCH', '/apis/apps/v1/namespaces/app/deployments/web', { body: patch, contentType: 'application/strategic-merge-patch+json' });
    expect(r.status).toBe(200);
    expect(r.body.spec.template.spec.containers).toEqual([{ name: 'app', image: 'nginx:2', env: [{ name: 'A', value: '1' }] }]);
    expect(r.body.metadata.generation).toBe(2);
  });

  it('kube api: scale subresource (kubectl scale): a Scale view of spec.replicas, writable by patch', async () => {
    await withNamespace();
    await h.http('POST', '/apis/apps/v1/namespaces/app/deployments', { body: deployment('sc') });
    const got = await h.http('GET', '/apis/apps/v1/namespaces/app/deployments/sc/scale');
    expect(got.body).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, status: { selector: 'app=sc' } });
    const patched = await h.http('PATCH', '/apis/apps/v1/namespaces/app/deployments/sc/scale', { body: { spec: { replicas: 5 } }, contentType: 'application/merge-patch+json' });
    expect(patched.body.spec.replicas).toBe(5);
    expect(h.store.get({ ...Kinds.Deployment, namespace: 'app', name: 'sc' })?.spec?.replicas).toBe(5);
    const negative = await h.http('PATCH', '/apis/apps/v1/namespaces/app/deployments/sc/scale', { body: { spec: { replicas: -1 } }, contentType: 'application/merge-patch+json' });
    expect(negative.status).toBe(422);
    const resources = (await h.http('GET', '/apis/apps/v1')).body.resources;
    expect(resources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'deployments/scale', kind: 'Scale', group: 'autoscaling' })]));
  });

  it('kube api: strategic merge patch on a custom resource is 415, as on a real server', async () => {
    await withNamespace(true);
    h.store.create({ apiVersion: 'replication.storage.openshift.io/v1alpha1', kind: 'VolumeReplicationClass', metadata: { name: 'rbd' }, spec: { provisioner: 'rbd.csi.ceph.com' } });
    const r = await h.http('PATCH', '/apis/replication.storage.openshift.io/v1alpha1/volumereplicationclasses/rbd', {
      body: { spec: { provisioner: 'x' } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(r.status).toBe(415);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
  });

  it('kube api: server-side apply takes a YAML body and needs a fieldManager', async () => {
    await withNamespace();
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: app\ndata:\n  a: "1"\n';
    const missing = await h.http('PATCH', '/api/v1/namespaces/app/configmaps/ssa', { body: yaml, contentType: 'application/apply-patch+yaml' });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    const ok = await h.http('PATCH', '/api/v1/namespaces/app/configmaps/ssa?fieldManager=kubectl&force=true', { body: yaml, contentType: 'application/apply-patch+yaml' });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toEqual({ a: '1' });
    expect(ok.body.metadata.managedFields[0]).toMatchObject({ manager: 'kubectl', operation: 'Apply' });
  });

  it('kube api: status subresource: merge and JSON patches change status only', async () => {
    await withNamespace();
    await h.http('POST', '/apis/apps/v1/namespaces/app/deployments', { body: deployment('st') });
    const merge = await h.http('PATCH', '/apis/apps/v1/namespaces/app/deployments/st/status', {
      body: { status: { readyReplicas: 2 }, spec: { replicas: 9 } },
      contentType: 'application/merge-patch+json',
    });
    expect(merge.status).toBe(200);
    expect(merge.body.status.readyReplicas).toBe(2);
    expect(merge.body.spec.replicas).toBe(2);
    const json = await h.http('PATCH', '/apis/apps/v1/namespaces/app/deployments/st/status', {
      body: [{ op: 'replace', path: '/status/readyReplicas', value: 1 }],
      contentType: 'application/json-patch+json',
    });
    expect(json.body.status.readyReplicas).toBe(1);
    const got = await h.http('GET', '/apis/apps/v1/namespaces/app/deployments/st/status');
    expect(got.body.status.readyReplicas).toBe(1);
  });

  it('kube api: bodies are checked against the URL (name, namespace, apiVersion) with 400 Status', async () => {
    await withNamespace();
    const wrongNs = await h.http('POST', '/api/v1/namespaces/app/configmaps', { body: configMap('x', 'other') });
    expect(wrongNs.status).toBe(400);
    expect(wrongNs.body.message).toContain('does not match the namespace');
    const wrongVersion = await h.http('POST', '/api/v1/namespaces/app/configmaps', { body: { ...configMap('x', 'app'), apiVersion: 'apps/v1' } });
    expect(wrongVersion.status).toBe(400);
    h.store.create(configMap('y', 'app'));
    const wrongName = await h.http('PUT', '/api/v1/namespaces/app/configmaps/y', { body: configMap('z', 'app') });
    expect(wrongName.status).toBe(400);
    const media = await h.http('PATCH', '/api/v1/namespaces/app/configmaps/y', { body: '{}', contentType: 'text/plain' });
    expect(media.status).toBe(415);
    const dryRun = await h.http('POST', '/api/v1/namespaces/app/configmaps?dryRun=All', { body: configMap('d', 'app') });
    expect(dryRun.status).toBe(400);
  });

  it('kube api: delete: uid and resourceVersion preconditions in DeleteOptions; success is a Status', async () => {
    await withNamespace();
    const o = h.store.create(configMap('del', 'app'));
    const badUid = await h.http('DELETE', '/api/v1/namespaces/app/configmaps/del', { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'nope' } } });
    expect(badUid.status).toBe(409);
    expect(badUid.body.message).toContain('Precondition failed: UID in precondition: nope');
    h.store.mergePatch({ ...Kinds.ConfigMap, namespace: 'app', name: 'del' }, { data: { a: '1' } });
    const staleRv = await h.http('DELETE', '/api/v1/namespaces/app/configmaps/del', { body: { preconditions: { resourceVersion: o.metadata.resourceVersion } } });
    expect(staleRv.status).toBe(409);
    const ok = await h.http('DELETE', '/api/v1/namespaces/app/configmaps/del', { body: { preconditions: { uid: o.metadata.uid } } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'del', kind: 'configmaps', uid: o.metadata.uid } });
    const gone = await h.http('DELETE', '/api/v1/namespaces/app/configmaps/del');
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ reason: 'NotFound', details: { name: 'del', kind: 'configmaps' } });
  });

  it('kube api: watch: without a resourceVersion, existing objects arrive first as ADDED, then changes', async () => {
    await withNamespace();
    h.store.create(configMap('pre', 'app'));
    const w = await openWatch(h, '/api/v1/namespaces/app/configmaps?watch=1');
    expect(w.status).toBe(200);
    expect(await w.next()).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'pre' } } });
    h.store.mergePatch({ ...Kinds.ConfigMap, namespace: 'app', name: 'pre' }, { data: { a: '1' } });
    expect(await w.next()).toMatchObject({ type: 'MODIFIED', object: { data: { a: '1' } } });
    await w.close();
  });

  it('kube api: watch: a field selector on metadata.name filters the stream (kubectl delete --wait uses it)', async () => {
    await withNamespace();
    const rv = h.store.currentResourceVersion();
    const w = await openWatch(h, `/api/v1/namespaces/app/configmaps?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dtwo`);
    h.store.create(configMap('one', 'app'));
    h.store.create(configMap('two', 'app'));
    expect(await w.next()).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'two' } } });
    await w.close();
  });

  it('kube api: watch: too old a resourceVersion is a 200 stream with one ERROR event (Status 410 Expired)', async () => {
    await withNamespace();
    const first = h.store.create(configMap('a', 'app'));
    h.store.mergePatch({ ...Kinds.ConfigMap, namespace: 'app', name: 'a' }, { data: { x: '1' } });
    h.store.compactHistory();
    const w = await openWatch(h, `/api/v1/namespaces/app/configmaps?watch=1&resourceVersion=${first.metadata.resourceVersion}`);
    expect(w.status).toBe(200);
    const e = await w.next();
    expect(e).toMatchObject({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 } });
    expect(e.object.message).toContain('too old resource version');
    expect(await w.next()).toBeUndefined();
  });

  it('kube api: watch: Table watches (kubectl get -w) carry one-row Tables', async () => {
    await withNamespace();
    const rv = h.store.currentResourceVersion();
    const w = await openWatch(h, `/api/v1/namespaces/app/configmaps?watch=1&resourceVersion=${rv}`, KUBECTL_TABLE_ACCEPT);
    h.store.create(configMap('t', 'app', { k: 'v' }));
    const e = await w.next();
    expect(e.type).toBe('ADDED');
    expect(e.object).toMatchObject({ kind: 'Table', rows: [{ cells: ['t', 1, '0s'] }] });
    await w.close();
  });

  it('kube api: faults: an injected Throttled write is 429 TooManyRequests with Retry-After; the driver sees Throttled', async () => {
    await withNamespace();
    h.kernel.plan.healAtMs = 60_000;
    h.kernel.plan.errorRates['kube.write'].Throttled = 1;
    const r = await h.http('POST', '/api/v1/namespaces/app/configmaps', { body: configMap('t', 'app') });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 1 } });
    await expect(h.settle(h.driver.create(configMap('t', 'app')))).rejects.toMatchObject({ kind: 'Throttled', reason: 'TooManyRequests', code: 429 });
    expect(await h.settle(h.driver.get({ ...Kinds.ConfigMap, namespace: 'app', name: 't' }))).toBeUndefined();
  });

  it('kube api: faults: a down API server answers 503 and breaks open watches; the driver sees Transient', async () => {
    await withNamespace();
    const handle = await h.settle(h.driver.watch(Kinds.ConfigMap, { namespace: 'app' }, () => {}));
    h.kernel.setDown('apiserver/c1', true);
    const ended = await h.settle(handle.done);
    expect(ended).toMatchObject({ kind: 'Transient' });
    const r = await h.http('GET', '/api/v1/namespaces/app/configmaps');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
    await expect(h.settle(h.driver.list(Kinds.ConfigMap, { namespace: 'app' }))).rejects.toMatchObject({ kind: 'Transient', code: 503 });
  });

  it('kube api: faults: a partition times the request out after the plan timeout (504 Timeout)', async () => {
    await withNamespace();
    h.kernel.plan.partitions.push({ between: ['operator/c1', 'apiserver/c1'], fromMs: 0, toMs: 60_000 });
    const t0 = h.kernel.elapsed();
    await expect(h.settle(h.driver.get({ ...Kinds.ConfigMap, namespace: 'app', name: 'x' }))).rejects.toMatchObject({ kind: 'Transient', reason: 'Timeout', code: 504 });
    // The first request (discovery) already waited out the virtual timeout.
    expect(h.kernel.elapsed() - t0).toBeGreaterThanOrEqual(h.kernel.plan.timeoutMs);
  });

  it('kube api: stats: requests are counted per verb and per object', async () => {
    await withNamespace();
    const d = h.driver;
    await h.settle(d.create(configMap('s', 'app')));
    await h.settle(d.mergePatch({ ...Kinds.ConfigMap, namespace: 'app', name: 's' }, { data: { a: '1' } }));
    await h.settle(d.get({ ...Kinds.ConfigMap, namespace: 'app', name: 's' }));
    await h.settle(d.list(Kinds.ConfigMap, { namespace: 'app' }));
    const s = h.server.stats();
    expect(s.byObject['ConfigMap/app/s']).toEqual({ create: 1, patch: 1, get: 1 });
    expect(s.byCollection['configmaps -n app']).toEqual({ list: 1 });
    expect(s.byVerb).toMatchObject({ create: 1, patch: 1, get: 1, list: 1, discovery: 1 });
    expect(writesPerObject(s)).toEqual({ 'ConfigMap/app/s': 2 });
    h.server.resetStats();
    expect(h.server.stats().total).toBe(0);
  });
});
