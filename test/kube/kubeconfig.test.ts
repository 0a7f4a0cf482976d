// Why: a bad kubeconfig must be refused before any request, with a message that names the file and the field
// (and, for an unknown context, the known ones), so an operator can fix it from the message alone.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import { KubeConfigError, loadInClusterConfig, loadKubeConfig, loadKubeConfigFile } from '../../drivers/cluster/kubeconfig.ts';
import { rmSync } from 'node:fs';
import { thrown } from '../support/thrown.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const GOOD = `apiVersion: v1
kind: Config
clusters:
- name: east
  cluster: {server: "https://10.0.0.1:6443", insecure-skip-tls-verify: true}
- name: west
  cluster: {server: "https://10.0.0.2:6443", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: abc}
contexts:
- name: east
  context: {cluster: east, user: admin, namespace: shop}
- name: west
  context: {cluster: west, user: admin}
current-context: east
`;

describe('kubernetes driver: kubeconfig', () => {
  it('kubeconfig: a good file loads with the current context, or the one asked for', () => {
    const p = file('good', GOOD);
    const a = loadKubeConfigFile(p);
    expect(a).toMatchObject({ context: 'east', namespace: 'shop', source: `kubeconfig ${p}` });
    expect(a.kubeConfig.getCurrentCluster()?.server).toBe('https://10.0.0.1:6443');
    const b = loadKubeConfigFile(p, 'west');
    expect(b.context).toBe('west');
    expect(b.kubeConfig.getCurrentCluster()?.server).toBe('https://10.0.0.2:6443');
    // The driver takes it as is.
    expect(new KubernetesCluster({ kubeConfig: b.kubeConfig }).cluster).toBe('west');
  });

  it('kubeconfig: a context naming an unknown cluster names the file, the field and the known clusters', () => {
    const p = file('badcluster', GOOD.replace('context: {cluster: west, user: admin}', 'context: {cluster: foo, user: admin}'));
    expect(thrown(() => loadKubeConfigFile(p), KubeConfigError).message).toBe(`kubeconfig ${p}: contexts[1].context.cluster: cluster "foo" not found; known clusters: east, west`);
  });

  it('kubeconfig: an unknown context lists the known ones', () => {
    const p = file('good2', GOOD);
    expect(thrown(() => loadKubeConfigFile(p, 'north'), KubeConfigError).message).toBe(`kubeconfig ${p}: context "north" not found; known contexts: east, west`);
    const q = file('badcurrent', GOOD.replace('current-context: east', 'current-context: south'));
    expect(thrown(() => loadKubeConfigFile(q), KubeConfigError).message).toBe(`kubeconfig ${q}: current-context: context "south" not found; known contexts: east, west`);
  });

  it('kubeconfig: missing server, unknown user, duplicate names, bad YAML and a missing file are named', () => {
    const noServer = file('noserver', GOOD.replace('cluster: {server: "https://10.0.0.2:6443", insecure-skip-tls-verify: true}', 'cluster: {insecure-skip-tls-verify: true}'));
    expect(thrown(() => loadKubeConfigFile(noServer), KubeConfigError).message).toMatch(/clusters\[1\]\.cluster\.server: required/);
    const badUser = file('baduser', GOOD.replace('context: {cluster: west, user: admin}', 'context: {cluster: west, user: root}'));
    expect(thrown(() => loadKubeConfigFile(badUser), KubeConfigError).message).toContain('contexts[1].context.user: user "root" not found; known users: admin');
    const dup = file('dup', GOOD.replace('- name: west\n  context', '- name: east\n  context'));
    expect(thrown(() => loadKubeConfigFile(dup), KubeConfigError).message).toContain('contexts[1].name: duplicate context "east"');
    const yaml = file('yaml', 'clusters: [\n');
    expect(thrown(() => loadKubeConfigFile(yaml), KubeConfigError).message).toMatch(new RegExp(`^kubeconfig ${yaml}: invalid YAML at line \\d+`));
    const ca = file('ca', GOOD.replace('insecure-skip-tls-verify: true}\n- name: west', 'certificate-authority: nope.crt}\n- name: west'));
    expect(thrown(() => loadKubeConfigFile(ca), KubeConfigError).message).toContain(`clusters[0].cluster.certificate-authority: file ${join(dir, 'nope.crt')} not found`);
    expect(thrown(() => loadKubeConfigFile(join(dir, 'absent')), KubeConfigError).message).toBe(`kubeconfig ${join(dir, 'absent')}: file not found`);
  });

  it('kubeconfig: KUBECONFIG is used when no path is given', () => {
    const p = file('env', GOOD);
    expect(loadKubeConfig({ env: { KUBECONFIG: `${p}:/elsewhere` } }).source).toBe(`kubeconfig ${p}`);
  });

  it('kubeconfig: in-cluster: a missing service host or token is named; a mounted service account loads', () => {
    expect(thrown(() => loadInClusterConfig({ env: {}, dir }), KubeConfigError).message).toBe('in-cluster config: KUBERNETES_SERVICE_HOST: not set (not running in a pod? pass --kubeconfig)');
    const sa = mkdtempSync(join(dir, 'sa-'));
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(thrown(() => loadInClusterConfig({ env, dir: sa }), KubeConfigError).message).toBe(`in-cluster config: ${sa}/token: file not found (is a service account token mounted?)`);
    writeFileSync(join(sa, 'token'), 'tok');
    writeFileSync(join(sa, 'ca.crt'), 'not really a cert');
    writeFileSync(join(sa, 'namespace'), 'failover-system\n');
    const loaded = loadInClusterConfig({ env, dir: sa });
    expect(loaded).toMatchObject({ source: 'in-cluster config', namespace: 'failover-system' });
    expect(loaded.kubeConfig.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
  });
});
