// Why: clients (kubectl, client-node's KubernetesObjectApi) find every resource through discovery; these check
// the documents the simulated API server serves, and that a CRD created over HTTP shows up in them at once.
import { afterEach, describe, expect, it } from 'vitest';
import { loadCrds } from '../../src/crds.ts';
import { compareKubeVersions } from '../../simulator/serve/kube-discovery.ts';
import { kubeHttpHarness, type KubeHttpHarness } from './kube-harness.ts';

const CRDS = loadCrds();
const vrCrd = () => structuredClone(CRDS.find((c) => c.metadata.name === 'volumereplications.replication.storage.openshift.io')!);

describe('kube api: discovery', () => {
  let h: KubeHttpHarness;
  afterEach(() => h.dispose());

  it('discovery: /api lists v1 and /api/v1 the core resources with verbs, scope, short names and status subresources', async () => {
    h = await kubeHttpHarness();
    const api = await h.http('GET', '/api');
    expect(api.status).toBe(200);
    expect(api.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const core = await h.http('GET', '/api/v1');
    expect(core.body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    const byName = Object.fromEntries((core.body.resources as { name: string }[]).map((r) => [r.name, r]));
    expect(byName.configmaps).toMatchObject({ kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], verbs: expect.arrayContaining(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) });
    expect(byName.namespaces).toMatchObject({ kind: 'Namespace', namespaced: false });
    expect(byName['pods/status']).toMatchObject({ kind: 'Pod', verbs: ['get', 'patch', 'update'] });
    expect(byName['configmaps/status']).toBeUndefined();
  });

  it('discovery: /apis lists the groups with a preferred version, /apis/apps/v1 its resources', async () => {
    h = await kubeHttpHarness({ crds: CRDS });
    const apis = await h.http('GET', '/apis');
    expect(apis.body.kind).toBe('APIGroupList');
    const groups = Object.fromEntries((apis.body.groups as { name: string; preferredVersion: { version: string } }[]).map((g) => [g.name, g]));
    expect(groups.apps.preferredVersion).toEqual({ groupVersion: 'apps/v1', version: 'v1' });
    expect(groups['replication.storage.openshift.io'].preferredVersion.version).toBe('v1alpha1');
    // HelmRelease serves several versions: GA is preferred over betas.
    expect(groups['helm.toolkit.fluxcd.io'].preferredVersion.version).toBe('v2');
    const apps = await h.http('GET', '/apis/apps/v1');
    const names = (apps.body.resources as { name: string }[]).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['deployments', 'deployments/status', 'statefulsets', 'statefulsets/status']));
    expect((await h.http('GET', '/apis/apps')).body).toMatchObject({ kind: 'APIGroup', name: 'apps' });
    expect((await h.http('GET', '/version')).body).toMatchObject({ major: '1', minor: '32' });
  });

  it('discovery: an unknown group/version is a 404 Status', async () => {
    h = await kubeHttpHarness();
    const r = await h.http('GET', '/apis/nope.example.com/v1');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
  });

  it('discovery: a CRD created over HTTP is served at once (group list, resource list, OpenAPI v3)', async () => {
    h = await kubeHttpHarness();
    expect((await h.http('GET', '/apis/replication.storage.openshift.io/v1alpha1')).status).toBe(404);
    const created = await h.http('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: vrCrd() });
    expect(created.status).toBe(201);
    const groups = (await h.http('GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
    expect(groups).toContain('replication.storage.openshift.io');
    const list = await h.http('GET', '/apis/replication.storage.openshift.io/v1alpha1');
    expect(list.body.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'volumereplications', kind: 'VolumeReplication', namespaced: true }),
        expect.objectContaining({ name: 'volumereplications/status' }),
      ]),
    );
    const index = await h.http('GET', '/openapi/v3');
    const entry = index.body.paths['apis/replication.storage.openshift.io/v1alpha1'];
    expect(entry.serverRelativeURL).toMatch(/^\/openapi\/v3\/apis\/replication\.storage\.openshift\.io\/v1alpha1\?hash=/);
    const doc = await h.http('GET', entry.serverRelativeURL);
    const patch = doc.body.paths['/apis/replication.storage.openshift.io/v1alpha1/namespaces/{namespace}/volumereplications/{name}'].patch;
    // What kubectl reads to use server-side field validation.
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'replication.storage.openshift.io', version: 'v1alpha1', kind: 'VolumeReplication' });
    expect(patch.parameters.map((p: { name: string }) => p.name)).toContain('fieldValidation');
  });

  it('discovery: Kubernetes version priority puts GA before beta before alpha', () => {
    expect(['v1alpha1', 'v2beta1', 'v1', 'v2', 'v1beta2', 'foo'].sort(compareKubeVersions)).toEqual(['v2', 'v1', 'v2beta1', 'v1beta2', 'v1alpha1', 'foo']);
  });
});
