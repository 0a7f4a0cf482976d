// Why: the discovery documents a Kubernetes client reads before anything else (/api, /apis, the per-version
// resource lists, /version, and the OpenAPI v3 index kubectl uses to choose server-side field validation), built
// from the simulated server's own registry so a CRD created over HTTP is served at once.
import type { ResourceRegistry, ResourceType } from '../kube/store.types.ts';

/** The Kubernetes version the simulated server claims (kubectl picks its behaviour from the minor version). */
export const SIM_SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-failover-sim' } as const;

const OBJECT_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];
/** Kinds served with a scale subresource (kubectl scale). */
const SCALABLE_KINDS = new Set(['Deployment', 'StatefulSet']);

/** Kubernetes' version priority: GA before beta before alpha, higher numbers first, anything else last. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    return { major: Number(m[1]), level: m[2] === undefined ? 2 : m[2] === 'beta' ? 1 : 0, minor: m[3] === undefined ? 0 : Number(m[3]) };
  };
  const x = parse(a);
  const y = parse(b);
  if (x && !y) return -1;
  if (!x && y) return 1;
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.level !== y.level) return y.level - x.level;
  if (x.major !== y.major) return y.major - x.major;
  return y.minor - x.minor;
}

export interface GroupVersions {
  group: string;
  /** Served versions, preferred first. */
  versions: string[];
}

/** The groups the registry serves (core group '' included), each with its versions in priority order. */
export function servedGroups(registry: ResourceRegistry): GroupVersions[] {
  const by = new Map<string, Set<string>>();
  for (const t of registry.all()) {
    if (!registry.served(t)) continue;
    if (!by.has(t.group)) by.set(t.group, new Set());
    by.get(t.group)!.add(t.version);
  }
  return [...by.keys()].sort().map((group) => ({ group, versions: [...by.get(group)!].sort(compareKubeVersions) }));
}

function typesOf(registry: ResourceRegistry, group: string, version: string): ResourceType[] {
  return registry
    .all()
    .filter((t) => t.group === group && t.version === version && registry.served(t))
    .sort((a, b) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0));
}

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(g: GroupVersions): object {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v }));
  return { name: g.group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(registry: ResourceRegistry): object {
  const groups = servedGroups(registry).filter((g) => g.group !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
}

export function apiGroupDoc(registry: ResourceRegistry, group: string): object | undefined {
  const g = servedGroups(registry).find((x) => x.group === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) } : undefined;
}

/** The APIResourceList of one group/version, with `<plural>/status` for every status subresource. */
export function apiResourceList(registry: ResourceRegistry, group: string, version: string): object | undefined {
  const types = typesOf(registry, group, version);
  if (types.length === 0) return undefined;
  const resources: object[] = [];
  for (const t of types) {
    const r: Record<string, unknown> = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: OBJECT_VERBS };
    if (t.shortNames?.length) r.shortNames = t.shortNames;
    if (['Pod', 'Service', 'Deployment', 'StatefulSet', 'CronJob', 'Job'].includes(t.kind) && !t.openAPIV3Schema) r.categories = ['all'];
    resources.push(r);
    if (t.statusSubresource) resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: STATUS_VERBS });
    if (SCALABLE_KINDS.has(t.kind) && t.group === 'apps') {
      resources.push({ name: `${t.plural}/scale`, singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: STATUS_VERBS });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}

export function versionDoc(): object {
  return {
    ...SIM_SERVER_VERSION,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** The legacy root document: every path the server serves. */
export function rootPaths(registry: ResourceRegistry): object {
  const paths = ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v3', '/readyz', '/version'];
  for (const g of servedGroups(registry)) {
    if (g.group === '') continue;
    paths.push(`/apis/${g.group}`);
    for (const v of g.versions) paths.push(`/apis/${g.group}/${v}`);
  }
  return { paths: paths.sort() };
}

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** The OpenAPI v3 index: one document per group/version. */
export function openApiV3Index(registry: ResourceRegistry): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of servedGroups(registry)) {
    for (const v of g.versions) {
      const p = gvPath(g.group, v);
      const hash = typesOf(registry, g.group, v)
        .map((t) => t.plural)
        .join(',');
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${encodeURIComponent(hash).slice(0, 64)}` };
    }
  }
  return { paths };
}

/**
 * A minimal OpenAPI v3 document for one group/version: every object path with its operations, each tagged with
 * `x-kubernetes-group-version-kind` and listing the `fieldValidation` and `fieldManager` query parameters, which
 * is what kubectl reads to decide that the server validates fields itself. Object schemas are the CRD schemas
 * where there are some, and open objects otherwise (the simulated server validates; kubectl need not).
 */
export function openApiV3GroupVersion(registry: ResourceRegistry, group: string, version: string): object | undefined {
  const types = typesOf(registry, group, version);
  if (types.length === 0) return undefined;
  const base = `/${gvPath(group, version)}`;
  const paths: Record<string, object> = {};
  const schemas: Record<string, object> = {};
  const query = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  const writeParams = [query('dryRun'), query('fieldManager'), query('fieldValidation')];
  for (const t of types) {
    const gvk = { group, version, kind: t.kind };
    const schemaName = `${group === '' ? 'io.k8s.api.core' : group.split('.').reverse().join('.')}.${version}.${t.kind}`;
    schemas[schemaName] = { ...(t.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }), 'x-kubernetes-group-version-kind': [gvk] };
    const ref = { $ref: `#/components/schemas/${schemaName}` };
    const body = { content: { 'application/json': { schema: ref } } };
    const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
    const op = (action: string, extra: object = {}) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, responses: ok, ...extra });
    const coll = `${base}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}`;
    paths[coll] = { get: op('list'), post: op('post', { parameters: writeParams, requestBody: body }) };
    const item = `${coll}/{name}`;
    const patchBody = { content: { 'application/merge-patch+json': { schema: { type: 'object' } }, 'application/apply-patch+yaml': { schema: { type: 'object' } } } };
    paths[item] = {
      get: op('get'),
      put: op('put', { parameters: writeParams, requestBody: body }),
      patch: op('patch', { parameters: [...writeParams, query('force')], requestBody: patchBody }),
      delete: op('delete'),
    };
    if (t.statusSubresource) {
      paths[`${item}/status`] = {
        get: op('get'),
        put: op('put', { parameters: writeParams, requestBody: body }),
        patch: op('patch', { parameters: [...writeParams, query('force')], requestBody: patchBody }),
      };
    }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: SIM_SERVER_VERSION.gitVersion }, paths, components: { schemas } };
}
