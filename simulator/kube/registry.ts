// Why: the simulated API server's discovery: which group/version/kinds it serves, their plurals, scope and
// subresources, and (for CRDs) their schemas. Built-in types are listed here; CRDs are registered from their
// CustomResourceDefinition objects, as a real server does when one is created.
import type { GVK, KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { cause, invalid, unknownResource, type FieldCause } from './api-errors.ts';
import { isObject } from './object-util.ts';
import type { ResourceRegistry, ResourceType } from './store.types.ts';

/** The storage key of a type: objects are stored once per group and kind, whatever version they are read at. */
export function storageKey(gvk: Pick<GVK, 'group' | 'kind'>): string {
  return `${gvk.group}/${gvk.kind}`;
}

function gvkKey(g: string, v: string, k: string): string {
  return `${g}/${v}/${k}`;
}

const builtin = (group: string, version: string, kind: string, plural: string, namespaced: boolean, statusSubresource: boolean, shortNames?: string[]): ResourceType => {
  const t: ResourceType = { group, version, kind, plural, singular: kind.toLowerCase(), namespaced, statusSubresource };
  if (shortNames) t.shortNames = shortNames;
  return t;
};

/** The built-in types the simulated server serves. */
export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin('', 'v1', 'Namespace', 'namespaces', false, true, ['ns']),
  builtin('', 'v1', 'ConfigMap', 'configmaps', true, false, ['cm']),
  builtin('', 'v1', 'Secret', 'secrets', true, false),
  builtin('', 'v1', 'Pod', 'pods', true, true, ['po']),
  builtin('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, true, ['pvc']),
  builtin('', 'v1', 'Service', 'services', true, true, ['svc']),
  builtin('', 'v1', 'Event', 'events', true, false, ['ev']),
  builtin('apps', 'v1', 'Deployment', 'deployments', true, true, ['deploy']),
  builtin('apps', 'v1', 'StatefulSet', 'statefulsets', true, true, ['sts']),
  builtin('batch', 'v1', 'CronJob', 'cronjobs', true, true, ['cj']),
  builtin('batch', 'v1', 'Job', 'jobs', true, true),
  builtin('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, true, ['ing']),
  builtin('coordination.k8s.io', 'v1', 'Lease', 'leases', true, false),
  builtin('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, true, ['crd', 'crds']),
];

export const CRD_GVK: GVK = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' };

export function isCrdObject(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return obj.kind === 'CustomResourceDefinition' && obj.apiVersion === 'apiextensions.k8s.io/v1';
}

const CRD_NAMES = { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions' };

/** Field errors of a CRD object, as the server's CRD validation reports them (a useful subset). */
export function crdCauses(crd: KubeObject): FieldCause[] {
  const out: FieldCause[] = [];
  const spec = crd.spec;
  if (!isObject(spec)) return [cause.required('spec')];
  const group = spec.group;
  const names = isObject(spec.names) ? spec.names : undefined;
  if (typeof group !== 'string' || group === '') out.push(cause.required('spec.group'));
  else if (!group.includes('.')) out.push(cause.invalid('spec.group', group, 'should be a domain with at least one dot'));
  if (!names) out.push(cause.required('spec.names'));
  else {
    if (typeof names.kind !== 'string' || names.kind === '') out.push(cause.required('spec.names.kind'));
    if (typeof names.plural !== 'string' || names.plural === '') out.push(cause.required('spec.names.plural'));
    else if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(names.plural)) out.push(cause.invalid('spec.names.plural', names.plural, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\''));
  }
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') out.push(cause.notSupported('spec.scope', spec.scope ?? '', ['Cluster', 'Namespaced']));
  if (names && typeof names.plural === 'string' && typeof group === 'string' && crd.metadata.name !== `${names.plural}.${group}`) {
    out.push(cause.invalid('metadata.name', crd.metadata.name, 'must be spec.names.plural+"."+spec.group'));
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : undefined;
  if (!versions || versions.length === 0) out.push(cause.required('spec.versions', 'must have exactly one version marked as storage version'));
  else {
    let storage = 0;
    versions.forEach((v, i) => {
      const f = `spec.versions[${i}]`;
      if (!isObject(v)) return out.push(cause.invalid(f, v, 'must be an object'));
      if (typeof v.name !== 'string' || v.name === '') out.push(cause.required(`${f}.name`));
      if (typeof v.served !== 'boolean') out.push(cause.required(`${f}.served`));
      if (typeof v.storage !== 'boolean') out.push(cause.required(`${f}.storage`));
      if (v.storage === true) storage++;
      const schema = isObject(v.schema) ? v.schema.openAPIV3Schema : undefined;
      if (!isObject(schema)) out.push(cause.required(`${f}.schema.openAPIV3Schema`, 'schemas are required'));
    });
    if (storage !== 1) out.push(cause.invalid('spec.versions', `${storage} storage versions`, 'must have exactly one version marked as storage version'));
  }
  return out;
}

/** The ResourceRegistry of one simulated API server. */
export class SimResourceRegistry implements ResourceRegistry {
  private readonly byGvk = new Map<string, ResourceType>();
  /** The same types by kind (a kind is rarely served by more than one group and version): a lookup without building a key string. */
  private readonly byKind = new Map<string, ResourceType[]>();
  private readonly byPluralKey = new Map<string, ResourceType>();
  private readonly crds = new Map<string, { crd: KubeObject; types: ResourceType[] }>();
  /** Types kept for the simulated controllers but not served to clients (an older server's API, see serveAs). */
  private readonly hidden = new Set<string>();

  constructor(types: readonly ResourceType[] = BUILTIN_TYPES) {
    for (const t of types) this.add(t);
  }

  /**
   * Serves a built-in kind to clients at these versions only, as an older API server does (Kubernetes 1.20 serves
   * CronJob as batch/v1beta1 only). The simulated controllers keep using the current version: objects are stored
   * per group and kind, whatever version they are read at.
   */
  serveAs(gvk: GVK, versions: readonly string[]): void {
    const t = this.lookup(gvk);
    if (!t) throw unknownResource('kube.serveAs', `${gvk.group ? `${gvk.group}/` : ''}${gvk.version}, Kind=${gvk.kind}`);
    for (const version of versions) if (!this.lookup({ ...gvk, version })) this.add({ ...t, version });
    if (!versions.includes(gvk.version)) this.hidden.add(gvkKey(gvk.group, gvk.version, gvk.kind));
  }

  served(gvk: GVK): boolean {
    return this.lookup(gvk) !== undefined && !this.hidden.has(gvkKey(gvk.group, gvk.version, gvk.kind));
  }

  private add(t: ResourceType): void {
    this.byGvk.set(gvkKey(t.group, t.version, t.kind), t);
    const same = (this.byKind.get(t.kind) ?? []).filter((x) => x.group !== t.group || x.version !== t.version);
    this.byKind.set(t.kind, [...same, t]);
    this.byPluralKey.set(gvkKey(t.group, t.version, t.plural), t);
  }

  private remove(t: ResourceType): void {
    this.byGvk.delete(gvkKey(t.group, t.version, t.kind));
    const rest = (this.byKind.get(t.kind) ?? []).filter((x) => x.group !== t.group || x.version !== t.version);
    if (rest.length) this.byKind.set(t.kind, rest);
    else this.byKind.delete(t.kind);
    this.byPluralKey.delete(gvkKey(t.group, t.version, t.plural));
  }

  /**
   * Registers every served version of a CRD (replacing an earlier registration of the same CRD). An invalid CRD
   * throws DriverError Invalid (422) naming the fields. The CRD object is kept by reference (not copied): treat
   * it as immutable.
   */
  registerCrd(crd: KubeObject): ResourceType[] {
    const causes = crdCauses(crd);
    if (causes.length) throw invalid('kube.create', CRD_NAMES, crd.metadata?.name ?? '', causes);
    const spec = crd.spec as JsonObject;
    const names = spec.names as JsonObject;
    const group = spec.group as string;
    this.unregisterCrd(crd.metadata.name);
    const types: ResourceType[] = [];
    for (const v of spec.versions as JsonObject[]) {
      if (v.served !== true) continue;
      const subresources = isObject(v.subresources) ? v.subresources : undefined;
      const t: ResourceType = {
        group,
        version: v.name as string,
        kind: names.kind as string,
        plural: names.plural as string,
        singular: typeof names.singular === 'string' && names.singular ? names.singular : (names.kind as string).toLowerCase(),
        namespaced: spec.scope === 'Namespaced',
        statusSubresource: subresources !== undefined && isObject(subresources.status),
        openAPIV3Schema: (v.schema as JsonObject).openAPIV3Schema as JsonObject,
      };
      if (Array.isArray(names.shortNames)) t.shortNames = names.shortNames as string[];
      types.push(t);
      this.add(t);
    }
    this.crds.set(crd.metadata.name, { crd, types });
    return types;
  }

  /** Removes the types a CRD registered; returns them. */
  unregisterCrd(name: string): ResourceType[] {
    const known = this.crds.get(name);
    if (!known) return [];
    for (const t of known.types) this.remove(t);
    this.crds.delete(name);
    return known.types;
  }

  /** The CRD objects registered so far, by name. */
  crdObjects(): KubeObject[] {
    return [...this.crds.keys()].sort().map((n) => this.crds.get(n)!.crd);
  }

  lookup(gvk: GVK): ResourceType | undefined {
    const types = this.byKind.get(gvk.kind);
    if (types) for (const t of types) if (t.group === gvk.group && t.version === gvk.version) return t;
    return undefined;
  }

  byPlural(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byPluralKey.get(gvkKey(group, version, plural));
  }

  /** The type of a GVK, or DriverError NotFound (`the server could not find the requested resource`). */
  require(gvk: GVK, op: string): ResourceType {
    const t = this.lookup(gvk);
    if (!t) throw unknownResource(op, `${gvk.group ? `${gvk.group}/` : ''}${gvk.version}, Kind=${gvk.kind}`);
    return t;
  }

  all(): ResourceType[] {
    return [...this.byGvk.values()].sort((a, b) => (gvkKey(a.group, a.version, a.kind) < gvkKey(b.group, b.version, b.kind) ? -1 : 1));
  }
}

/** A registry with the built-in types and the given CRD objects (`apiextensions.k8s.io/v1`). */
export function createRegistry(crds: KubeObject[] = []): SimResourceRegistry {
  const r = new SimResourceRegistry();
  for (const crd of crds) r.registerCrd(crd);
  return r;
}
