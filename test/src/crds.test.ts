// Why: the simulator serves the vendored upstream CRDs; they must parse into CRD objects, register, and stay
// byte-identical to the shared copy the product brief names as the source of truth.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { loadCrds, parseCrds, UPSTREAM_CRD_DIR } from '../../src/crds.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHARED_CRDS = join(REPO_ROOT, '..', 'shared', 'crds');

describe('crds', () => {
  it('crds: every vendored upstream file parses into CustomResourceDefinitions with a schema per version', () => {
    const crds = loadCrds(UPSTREAM_CRD_DIR);
    expect(crds.map((c) => c.metadata.name)).toEqual([
      'networkfences.csiaddons.openshift.io',
      'helmreleases.helm.toolkit.fluxcd.io',
      'kustomizations.kustomize.toolkit.fluxcd.io',
      'virtualservices.networking.istio.io',
      'volumereplicationclasses.replication.storage.openshift.io',
      'volumereplications.replication.storage.openshift.io',
    ]);
    const registry = createRegistry(crds);
    expect(registry.lookup({ group: 'replication.storage.openshift.io', version: 'v1alpha1', kind: 'VolumeReplication' })).toMatchObject({
      plural: 'volumereplications',
      namespaced: true,
      statusSubresource: true,
    });
    expect(registry.lookup({ group: 'replication.storage.openshift.io', version: 'v1alpha1', kind: 'VolumeReplicationClass' })).toMatchObject({ namespaced: false, statusSubresource: true });
    expect(registry.byPlural('networking.istio.io', 'v1beta1', 'virtualservices')?.kind).toBe('VirtualService');
    for (const t of registry.all().filter((x) => x.group.includes('.') && !x.group.endsWith('k8s.io'))) expect(t.openAPIV3Schema).toBeDefined();
    // The default set holds the upstream CRDs (and may add the engine's own).
    expect(loadCrds().map((c) => c.metadata.name)).toEqual(expect.arrayContaining(crds.map((c) => c.metadata.name)));
  });

  it('crds: documents that are not CRDs are skipped; malformed YAML names its source', () => {
    const text = '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n';
    expect(parseCrds(text, 'inline.yaml')).toEqual([]);
    expect(() => parseCrds('a: [1, 2', 'broken.yaml')).toThrow(/^broken\.yaml: invalid YAML/);
  });

  it('crds: the vendored copies equal the shared upstream CRDs', (ctx) => {
    const vendored = readdirSync(UPSTREAM_CRD_DIR).sort();
    expect(vendored.length).toBeGreaterThan(0);
    if (!existsSync(SHARED_CRDS)) {
      ctx.skip(`the shared CRD folder ${SHARED_CRDS} is absent on this machine: nothing to compare against`);
      return;
    }
    expect(vendored).toEqual(readdirSync(SHARED_CRDS).sort());
    for (const f of vendored) expect(readFileSync(join(UPSTREAM_CRD_DIR, f), 'utf8'), f).toBe(readFileSync(join(SHARED_CRDS, f), 'utf8'));
  });
});
