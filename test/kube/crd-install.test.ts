// Why: `kubectl apply -f crd.yaml` must install a CRD on the simulated API server, and objects that break its
// schema must be refused with 422 and the field paths in the Status causes, as a real server refuses them.
import { afterEach, describe, expect, it } from 'vitest';
import { DriverError } from '../../drivers/errors.ts';
import { loadCrds } from '../../src/crds.ts';
import { kubeHttpHarness, type KubeHttpHarness } from './kube-harness.ts';

const CRDS = loadCrds();
const crd = (name: string) => structuredClone(CRDS.find((c) => c.metadata.name === name)!);

const fence = (spec: Record<string, unknown>) => ({ apiVersion: 'csiaddons.openshift.io/v1alpha1', kind: 'NetworkFence', metadata: { name: 'fence-east' }, spec });

describe('kube api: CRDs over HTTP', () => {
  let h: KubeHttpHarness;
  afterEach(() => h.dispose());

  it('crd: an upstream CRD POSTed to the API server is served; an object breaking its schema is 422 with field causes', async () => {
    h = await kubeHttpHarness();
    const created = await h.http('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd('networkfences.csiaddons.openshift.io') });
    expect(created.status).toBe(201);
    expect(created.body.metadata.uid).toMatch(/\S/);
    const bad = await h.http('POST', '/apis/csiaddons.openshift.io/v1alpha1/networkfences', { body: fence({ driver: 'rbd.csi.ceph.com', fenceState: 'Sideways', cidrs: ['10.1.0.0/16'] }) });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422, details: { name: 'fence-east', group: 'csiaddons.openshift.io', kind: 'NetworkFence' } });
    expect(bad.body.details.causes).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'spec.fenceState', reason: 'FieldValueNotSupported' })]));
    expect(bad.body.message).toContain('spec.fenceState');
    const good = await h.http('POST', '/apis/csiaddons.openshift.io/v1alpha1/networkfences', { body: fence({ driver: 'rbd.csi.ceph.com', fenceState: 'Fenced', cidrs: ['10.1.0.0/16'] }) });
    expect(good.status).toBe(201);
  });

  it('crd: the driver reports a schema violation as Invalid (422) with the causes in its details', async () => {
    h = await kubeHttpHarness();
    await h.settle(h.driver.create(crd('volumereplications.replication.storage.openshift.io')));
    h.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
    const e = await h
      .settle(
        h.driver.create({
          apiVersion: 'replication.storage.openshift.io/v1alpha1',
          kind: 'VolumeReplication',
          metadata: { name: 'vr', namespace: 'app' },
          spec: { volumeReplicationClass: 'rbd', replicationState: 'bogus', dataSource: { apiGroup: '', kind: 'PersistentVolumeClaim', name: 'data' } },
        }),
      )
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DriverError);
    expect(e).toMatchObject({ kind: 'Invalid', reason: 'Invalid', code: 422 });
    expect((e as DriverError).details?.causes).toEqual([expect.objectContaining({ field: 'spec.replicationState', reason: 'FieldValueNotSupported' })]);
  });

  it('crd: deleting the CRD stops serving its kind', async () => {
    h = await kubeHttpHarness();
    await h.http('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd('networkfences.csiaddons.openshift.io') });
    expect((await h.http('GET', '/apis/csiaddons.openshift.io/v1alpha1/networkfences')).status).toBe(200);
    const del = await h.http('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/networkfences.csiaddons.openshift.io');
    expect(del.status).toBe(200);
    expect((await h.http('GET', '/apis/csiaddons.openshift.io/v1alpha1/networkfences')).status).toBe(404);
  });

  it('crd: an invalid CRD is refused with 422 naming the field', async () => {
    h = await kubeHttpHarness();
    const c = crd('networkfences.csiaddons.openshift.io');
    (c.spec as Record<string, unknown>).scope = 'Galactic';
    const r = await h.http('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: c });
    expect(r.status).toBe(422);
    expect(r.body.details.causes).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'spec.scope' })]));
  });
});
