// Why: the Kubernetes REST path grammar in one place: which URL is discovery, which is a resource collection,
// an object or its status subresource, so the HTTP server's handlers never parse strings themselves.

/** `/api/v1/namespaces/ns/configmaps/name/status` and friends. */
export interface ResourceRoute {
  kind: 'resource';
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type DiscoveryDoc =
  | 'root'
  | 'version'
  | 'health'
  | 'api'
  | 'apis'
  | 'group'
  | 'groupVersion'
  | 'openapiV2'
  | 'openapiV3'
  | 'openapiV3GroupVersion';

export interface DiscoveryRoute {
  kind: 'discovery';
  doc: DiscoveryDoc;
  group?: string;
  version?: string;
}

export type KubeRoute = ResourceRoute | DiscoveryRoute;

/**
 * Parses a request path. `isNamespacedPlural` tells `/api/v1/namespaces/x/configmaps` (configmaps in namespace
 * x) from `/api/v1/namespaces/x/status` (namespace x's status). Returns undefined for a path the API does not have.
 */
export function parseKubePath(pathname: string, isNamespacedPlural: (group: string, version: string, plural: string) => boolean): KubeRoute | undefined {
  let segs: string[];
  try {
    segs = pathname.split('/').filter((s) => s.length > 0).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const d = (doc: DiscoveryDoc, group?: string, version?: string): DiscoveryRoute => {
    const r: DiscoveryRoute = { kind: 'discovery', doc };
    if (group !== undefined) r.group = group;
    if (version !== undefined) r.version = version;
    return r;
  };
  if (segs.length === 0) return d('root');
  const [head, ...rest] = segs;
  switch (head) {
    case 'version':
      return rest.length === 0 ? d('version') : undefined;
    case 'healthz':
    case 'livez':
    case 'readyz':
      return d('health');
    case 'openapi':
      if (rest.length === 1 && rest[0] === 'v2') return d('openapiV2');
      if (rest.length === 1 && rest[0] === 'v3') return d('openapiV3');
      if (rest[0] === 'v3' && rest[1] === 'api' && rest.length === 3) return d('openapiV3GroupVersion', '', rest[2]);
      if (rest[0] === 'v3' && rest[1] === 'apis' && rest.length === 4) return d('openapiV3GroupVersion', rest[2], rest[3]);
      return undefined;
    case 'api':
      if (rest.length === 0) return d('api');
      if (rest.length === 1) return d('groupVersion', '', rest[0]);
      return resource('', rest[0], rest.slice(1), isNamespacedPlural);
    case 'apis':
      if (rest.length === 0) return d('apis');
      if (rest.length === 1) return d('group', rest[0]);
      if (rest.length === 2) return d('groupVersion', rest[0], rest[1]);
      return resource(rest[0], rest[1], rest.slice(2), isNamespacedPlural);
    default:
      return undefined;
  }
}

function resource(group: string, version: string, rest: string[], isNamespacedPlural: (g: string, v: string, p: string) => boolean): ResourceRoute | undefined {
  const r: ResourceRoute = { kind: 'resource', group, version, plural: '' };
  let tail = rest;
  if (rest[0] === 'namespaces' && rest.length >= 3 && isNamespacedPlural(group, version, rest[2])) {
    r.namespace = rest[1];
    tail = rest.slice(2);
  }
  if (tail.length === 0 || tail.length > 3) return undefined;
  r.plural = tail[0];
  if (tail.length >= 2) r.name = tail[1];
  if (tail.length === 3) r.subresource = tail[2];
  return r;
}

/** The path of a collection or an object: the inverse of parseKubePath, for links and tests. */
export function kubePath(r: Omit<ResourceRoute, 'kind'>): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespace ? `/namespaces/${encodeURIComponent(r.namespace)}` : '';
  const name = r.name ? `/${encodeURIComponent(r.name)}` : '';
  const sub = r.name && r.subresource ? `/${r.subresource}` : '';
  return `${base}${ns}/${r.plural}${name}${sub}`;
}
