// Why: serves one simulated cluster's store over the Kubernetes REST API (discovery, CRUD, patches, server-side
// apply, the status subresource, watches), so the real Kubernetes driver and kubectl run against the simulator.
// It is a view of the simulator's own store, not a second store, and every request goes through SimKernel.call,
// so latency, partitions, down API servers and injected faults reach HTTP clients as they reach simulated ones.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastJsonPatch from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { apiVersionOf, refString, type GVK, type KubeObject, type ObjectRef, type WatchEvent } from '../../drivers/cluster/cluster.port.ts';
import { DriverError } from '../../drivers/errors.ts';
import type { JsonObject } from '../../drivers/json.ts';
import type { OpClass } from '../faults.ts';
import type { SimKernel } from '../kernel.ts';
import { badRequest, cause, conflict, invalid, notFound, unknownResource, type TypeNames } from '../kube/api-errors.ts';
import { copy, isObject } from '../kube/object-util.ts';
import { CRD_GVK } from '../kube/registry.ts';
import type { KubeStore, ResourceType } from '../kube/store.types.ts';
import { signalIoActivity } from './io-settle.ts';
import { EXCHANGE_HEADER, EXCHANGE_QUERY, transitGate } from './transit-gate.ts';
import {
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openApiV3GroupVersion,
  openApiV3Index,
  rootPaths,
  versionDoc,
} from './kube-discovery.ts';
import { parseKubePath, type DiscoveryRoute, type ResourceRoute } from './kube-paths.ts';
import { KubeRequestCounter, type KubeRequestStats } from './kube-stats.ts';
import { deletedStatus, errorResponse, statusObject } from './kube-status.ts';
import { strategicMerge } from './strategic-merge.ts';
import { renderTable, tableApiVersion, tableColumns, wantsTable, type IncludeObject } from './kube-table.ts';

export interface KubeApiServerOptions {
  kernel: SimKernel;
  store: KubeStore;
  /** Loopback only: the simulated server has no authentication. */
  host?: '127.0.0.1';
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The party the requests come from, for partitions and crashes (default `client`). */
  caller?: string;
}

export interface KubeApiServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly cluster: string;
  /** Requests received so far, per verb and per object. */
  stats(): KubeRequestStats;
  resetStats(): void;
  /** Ends every open watch stream, as a restarting API server would; clients must re-watch. */
  closeWatches(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** What a handled request answers: a JSON body, or a watch stream opened by the handler itself. */
interface Answer {
  code: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface Planned {
  opClass: OpClass;
  op: string;
  detail?: string;
  verb: string;
  target: { object?: string; collection?: string };
  /** Runs against the store, inside kernel.call (half-way through the latency). */
  exec: () => Answer;
  watch?: WatchPlan;
}

interface WatchPlan {
  gvk: GVK;
  type: ResourceType;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: (o: KubeObject) => boolean;
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  table?: { apiVersion: string; include: IncludeObject };
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

function names(t: ResourceType): TypeNames {
  return { group: t.group, kind: t.kind, plural: t.plural };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(badRequest('kube.http', `request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJsonBody(op: string, body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest(op, 'the request body is empty: send a JSON object');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(op, `the request body is not valid JSON: ${(e as Error).message}`);
  }
}

function parseObjectBody(op: string, body: Buffer, contentType: string): JsonObject {
  let v: unknown;
  if (contentType === 'application/yaml' || contentType === 'application/apply-patch+yaml') {
    const docs = parseAllDocuments(body.toString('utf8'));
    if (!Array.isArray(docs) || docs.length !== 1) throw badRequest(op, 'the request body must be exactly one YAML document');
    if (docs[0].errors.length) throw badRequest(op, `the request body is not valid YAML: ${docs[0].errors[0].message.split('\n')[0]}`);
    v = docs[0].toJS();
  } else if (contentType === '' || contentType === 'application/json' || contentType.endsWith('+json')) {
    v = parseJsonBody(op, body);
  } else if (contentType === 'application/vnd.kubernetes.protobuf') {
    throw new DriverError(
      'Invalid',
      'kubernetes',
      op,
      'the simulated API server reads JSON and YAML bodies only, not protobuf (which `kubectl create <kind> ...` sends); use `kubectl create ... --dry-run=client -o yaml | kubectl apply -f -`',
      { reason: 'UnsupportedMediaType', code: 415, details: { contentType } },
    );
  } else {
    throw unsupportedMedia(op, contentType);
  }
  if (!isObject(v)) throw badRequest(op, 'the request body must be a JSON object');
  return v;
}

function unsupportedMedia(op: string, contentType: string, accepted = 'application/json, application/yaml'): DriverError {
  return new DriverError('Invalid', 'kubernetes', op, `the body of the request was in an unknown format - accepted media types include: ${accepted}`, {
    reason: 'UnsupportedMediaType',
    code: 415,
    details: { contentType },
  });
}

function methodNotAllowed(op: string): DriverError {
  return new DriverError('Invalid', 'kubernetes', op, 'the server does not allow this method on the requested resource', { reason: 'MethodNotAllowed', code: 405 });
}

/** `metadata.name=x,metadata.namespace!=y`: the field selectors every resource supports. */
function parseFieldSelector(op: string, sel: string | null): ((o: KubeObject) => boolean) | undefined {
  if (!sel) return undefined;
  const tests = sel
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((term) => {
      const m = /^\s*([a-zA-Z.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
      if (!m) throw badRequest(op, `invalid selector: '${sel}'; can't understand '${term}'`);
      const [, field, operator, value] = m;
      if (field !== 'metadata.name' && field !== 'metadata.namespace') throw badRequest(op, `field label not supported: ${field}`);
      const get = (o: KubeObject) => (field === 'metadata.name' ? o.metadata.name : (o.metadata.namespace ?? ''));
      return operator === '!=' ? (o: KubeObject) => get(o) !== value : (o: KubeObject) => get(o) === value;
    });
  return (o) => tests.every((t) => t(o));
}

/** Kinds with a scale subresource. */
const SCALABLE = new Set(['Deployment', 'StatefulSet']);

function selectorString(selector: unknown): string {
  if (!isObject(selector) || !isObject(selector.matchLabels)) return '';
  return Object.entries(selector.matchLabels)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

/** An autoscaling/v1 Scale view of a workload. */
function scaleOf(o: KubeObject): JsonObject {
  const meta: JsonObject = { name: o.metadata.name };
  for (const k of ['namespace', 'uid', 'resourceVersion', 'creationTimestamp'] as const) if (o.metadata[k] !== undefined) meta[k] = o.metadata[k];
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: meta,
    spec: { replicas: typeof o.spec?.replicas === 'number' ? o.spec.replicas : 1 },
    status: { replicas: typeof o.status?.replicas === 'number' ? o.status.replicas : 0, selector: selectorString(o.spec?.selector) },
  };
}

/** The CRD object behind a type, for its printer columns (from the store, or the registry's own copy). */
function crdFor(store: KubeStore, t: ResourceType): KubeObject | undefined {
  if (!t.openAPIV3Schema || !t.group) return undefined;
  const name = `${t.plural}.${t.group}`;
  try {
    const stored = store.get({ ...CRD_GVK, name });
    if (stored) return stored;
  } catch {
    // fall through to the registry's copy
  }
  const reg = store.registry as { crdObjects?: () => KubeObject[] };
  return reg.crdObjects?.().find((c) => c.metadata.name === name);
}

/** Serves `store` on loopback until closed. */
export async function serveKubeApi(opts: KubeApiServerOptions): Promise<KubeApiServer> {
  const { kernel, store } = opts;
  const caller = opts.caller ?? 'client';
  const party = `apiserver/${store.cluster}`;
  const counter = new KubeRequestCounter();
  const watches = new Set<ActiveWatch>();
  const gate = transitGate(kernel);
  let serverAddress = '127.0.0.1:0';

  const registry = store.registry;
  const isNamespacedPlural = (g: string, v: string, p: string) => registry.byPlural(g, v, p)?.namespaced === true;

  function planDiscovery(route: DiscoveryRoute): Planned {
    const exec = (): Answer => {
      const found = (doc: object | undefined): Answer => {
        if (!doc) throw unknownResource('kube.discovery', `${route.group ?? ''}/${route.version ?? ''}`);
        return { code: 200, body: doc };
      };
      switch (route.doc) {
        case 'root':
          return found(rootPaths(registry));
        case 'version':
          return found(versionDoc());
        case 'health':
          return { code: 200, body: 'ok', headers: { 'Content-Type': 'text/plain' } };
        case 'api':
          return found(apiVersions(serverAddress));
        case 'apis':
          return found(apiGroupList(registry));
        case 'group':
          return found(apiGroupDoc(registry, route.group!));
        case 'groupVersion':
          return found(apiResourceList(registry, route.group!, route.version!));
        case 'openapiV2':
          // Only OpenAPI v3 is served; kubectl uses it (and falls back from v2 for what it needs).
          throw unknownResource('kube.discovery', 'openapi/v2');
        case 'openapiV3':
          return found(openApiV3Index(registry));
        case 'openapiV3GroupVersion':
          return found(openApiV3GroupVersion(registry, route.group!, route.version!));
      }
    };
    return { opClass: 'kube.read', op: 'kube.discovery', verb: 'discovery', target: {}, exec, detail: route.doc };
  }

  function planResource(method: string, route: ResourceRoute, url: URL, req: IncomingMessage, body: Buffer): Planned {
    const q = url.searchParams;
    const plural = registry.byPlural(route.group, route.version, route.plural);
    const t = plural && registry.served(plural) ? plural : undefined;
    const fail = (e: DriverError): Planned => ({
      opClass: 'kube.read',
      op: 'kube.request',
      verb: method.toLowerCase(),
      target: {},
      exec: () => {
        throw e;
      },
    });
    if (!t) return fail(unknownResource('kube.request', `${route.group ? `${route.group}/` : ''}${route.version}, Resource=${route.plural}`));
    if (route.subresource === 'scale' && SCALABLE.has(t.kind) && route.name !== undefined && route.namespace !== undefined) {
      return planScale(method, t, route.namespace, route.name, req, body);
    }
    if (route.subresource !== undefined && (route.subresource !== 'status' || !t.statusSubresource)) {
      return fail(unknownResource('kube.request', `${route.plural}/${route.subresource}`));
    }
    if (t.namespaced && route.name !== undefined && route.namespace === undefined) return fail(unknownResource('kube.request', `${route.plural}/${route.name}`));
    const gvk: GVK = { group: t.group, version: t.version, kind: t.kind };
    const status = route.subresource === 'status';
    const refOf = (name: string): ObjectRef => {
      const r: ObjectRef = { ...gvk, name };
      if (t.namespaced && route.namespace !== undefined) r.namespace = route.namespace;
      return r;
    };
    const collection = `${t.group ? `${t.plural}.${t.group}` : t.plural}${route.namespace ? ` -n ${route.namespace}` : ''}`;
    const fieldManager = q.get('fieldManager') ?? undefined;
    const writeOpts = fieldManager ? { fieldManager } : {};
    const sub = status ? '/status' : '';
    const contentType = mediaType(req.headers['content-type']);
    const accept = req.headers.accept;
    const table = wantsTable(accept) ? { apiVersion: tableApiVersion(accept), include: (q.get('includeObject') ?? 'Metadata') as IncludeObject } : undefined;

    if (q.get('dryRun')) {
      return fail(badRequest('kube.request', 'dryRun is not supported by the simulated API server'));
    }

    /** The object in a create, update or apply body, checked against the URL as the server does. */
    const bodyObject = (op: string, name: string | undefined, kind: 'create' | 'update' | 'apply'): KubeObject => {
      const o = parseObjectBody(op, body, kind === 'apply' ? 'application/apply-patch+yaml' : contentType);
      const want = apiVersionOf(gvk);
      if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || o.apiVersion === '' || o.kind === '') {
        throw badRequest(op, `Object 'Kind' or 'apiVersion' is missing in the request body: both are required (expected apiVersion ${want}, kind ${t.kind})`);
      }
      if (o.kind !== t.kind) throw badRequest(op, `the kind in the data (${o.kind}) does not match the expected kind (${t.kind})`);
      if (o.apiVersion !== want) throw badRequest(op, `the API version in the data (${o.apiVersion}) does not match the expected API version (${want})`);
      if (o.metadata === undefined) o.metadata = {};
      if (!isObject(o.metadata)) throw badRequest(op, 'metadata must be an object');
      const meta = o.metadata;
      if (name !== undefined) {
        if (meta.name === undefined || meta.name === '') meta.name = name;
        else if (meta.name !== name) throw badRequest(op, `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
      }
      if (t.namespaced) {
        if (meta.namespace === undefined || meta.namespace === '') meta.namespace = route.namespace;
        else if (meta.namespace !== route.namespace) throw badRequest(op, 'the namespace of the provided object does not match the namespace sent on the request');
      } else if (meta.namespace !== undefined && meta.namespace !== '') {
        delete meta.namespace;
      }
      return o as unknown as KubeObject;
    };

    switch (method) {
      case 'GET': {
        if (route.name !== undefined) {
          const ref = refOf(route.name);
          return {
            opClass: 'kube.read',
            op: `kube.get${status ? 'Status' : ''}`,
            detail: refString(ref),
            verb: `get${sub}`,
            target: { object: refString(ref) },
            exec: () => {
              const obj = store.get(ref);
              if (!obj) throw notFound('kube.get', names(t), route.name!);
              if (table) return { code: 200, body: renderTable([obj], tableColumns(t, crdFor(store, t)), { ...table, nowMs: kernel.now(), resourceVersion: obj.metadata.resourceVersion }) };
              return { code: 200, body: obj };
            },
          };
        }
        const labelSelector = q.get('labelSelector') ?? undefined;
        const fieldSelector = parseFieldSelector('kube.list', q.get('fieldSelector'));
        const watching = q.get('watch') === '1' || q.get('watch') === 'true';
        if (watching) {
          const w: WatchPlan = { gvk, type: t, allowBookmarks: q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1' };
          if (route.namespace) w.namespace = route.namespace;
          if (labelSelector) w.labelSelector = labelSelector;
          if (fieldSelector) w.fieldSelector = fieldSelector;
          const rv = q.get('resourceVersion');
          if (rv) w.resourceVersion = rv;
          const ts = Number(q.get('timeoutSeconds'));
          if (q.get('timeoutSeconds') && Number.isFinite(ts) && ts > 0) w.timeoutSeconds = ts;
          if (table) w.table = table;
          return {
            opClass: 'kube.watch',
            op: 'kube.watch',
            detail: collection,
            verb: 'watch',
            target: { collection },
            exec: () => ({ code: 200, body: undefined }),
            watch: w,
          };
        }
        return {
          opClass: 'kube.read',
          op: 'kube.list',
          detail: collection,
          verb: 'list',
          target: { collection },
          exec: () => {
            const listOpts: { namespace?: string; labelSelector?: string } = {};
            if (route.namespace) listOpts.namespace = route.namespace;
            if (labelSelector) listOpts.labelSelector = labelSelector;
            const list = store.list(gvk, listOpts);
            const items = fieldSelector ? list.items.filter(fieldSelector) : list.items;
            if (table) return { code: 200, body: renderTable(items, tableColumns(t, crdFor(store, t)), { ...table, nowMs: kernel.now(), resourceVersion: list.resourceVersion }) };
            return { code: 200, body: { apiVersion: apiVersionOf(gvk), kind: `${t.kind}List`, metadata: { resourceVersion: list.resourceVersion }, items } };
          },
        };
      }
      case 'POST': {
        if (route.name !== undefined || status) return fail(methodNotAllowed('kube.create'));
        if (t.namespaced && route.namespace === undefined) return fail(methodNotAllowed('kube.create'));
        let peek: string | undefined;
        try {
          const b = JSON.parse(body.toString('utf8')) as { metadata?: { name?: string } };
          peek = b?.metadata?.name;
        } catch {
          peek = undefined;
        }
        const target = peek ? refString(refOf(peek)) : undefined;
        return {
          opClass: 'kube.write',
          op: 'kube.create',
          detail: target ?? collection,
          verb: 'create',
          target: target ? { object: target } : { collection },
          exec: () => {
            const obj = bodyObject('kube.create', undefined, 'create');
            const created = store.create(obj, writeOpts);
            return { code: 201, body: created };
          },
        };
      }
      case 'PUT': {
        if (route.name === undefined) return fail(methodNotAllowed('kube.update'));
        const ref = refOf(route.name);
        return {
          opClass: 'kube.write',
          op: `kube.update${status ? 'Status' : ''}`,
          detail: refString(ref),
          verb: `update${sub}`,
          target: { object: refString(ref) },
          exec: () => {
            const obj = bodyObject('kube.update', route.name, 'update');
            const updated = status ? store.updateStatus(obj) : store.update(obj, writeOpts);
            return { code: 200, body: updated };
          },
        };
      }
      case 'PATCH': {
        if (route.name === undefined) return fail(methodNotAllowed('kube.patch'));
        const ref = refOf(route.name);
        return {
          opClass: 'kube.write',
          op: `kube.patch${status ? 'Status' : ''}`,
          detail: `${refString(ref)} ${contentType}`,
          verb: `patch${sub}`,
          target: { object: refString(ref) },
          exec: () => {
            const patched = patchObject(ref, t, status, contentType, q, fieldManager, body, () => bodyObject('kube.apply', route.name, 'apply'));
            return { code: 200, body: patched };
          },
        };
      }
      case 'DELETE': {
        if (route.name === undefined || status) return fail(methodNotAllowed('kube.delete'));
        const ref = refOf(route.name);
        return {
          opClass: 'kube.write',
          op: 'kube.delete',
          detail: refString(ref),
          verb: 'delete',
          target: { object: refString(ref) },
          exec: () => {
            const preconditions = deletePreconditions(body);
            const cur = store.get(ref);
            if (!cur) throw notFound('kube.delete', names(t), route.name!);
            if (preconditions.uid !== undefined && preconditions.uid !== cur.metadata.uid) {
              throw conflict('kube.delete', names(t), route.name!, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`);
            }
            const deleteOpts = preconditions.resourceVersion !== undefined ? { resourceVersion: preconditions.resourceVersion } : {};
            if (!store.delete(ref, deleteOpts)) throw notFound('kube.delete', names(t), route.name!);
            const details: JsonObject = { name: route.name!, group: t.group, kind: t.plural };
            if (cur.metadata.uid) details.uid = cur.metadata.uid;
            return { code: 200, body: deletedStatus(details) };
          },
        };
      }
      default:
        return fail(methodNotAllowed(`kube.${method.toLowerCase()}`));
    }
  }

  /**
   * The scale subresource of Deployments and StatefulSets (`kubectl scale`): an autoscaling/v1 Scale view of
   * spec.replicas. A write sets spec.replicas through a merge patch (with the Scale's resourceVersion, if any, as
   * the precondition).
   */
  function planScale(method: string, t: ResourceType, namespace: string, name: string, req: IncomingMessage, body: Buffer): Planned {
    const ref: ObjectRef = { group: t.group, version: t.version, kind: t.kind, namespace, name };
    const target = { object: refString(ref) };
    const current = (): KubeObject => {
      const cur = store.get(ref);
      if (!cur) throw notFound('kube.scale', names(t), name);
      return cur;
    };
    const write = (scale: JsonObject, op: string): Answer => {
      const spec = isObject(scale.spec) ? scale.spec : {};
      const replicas = spec.replicas;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
        throw invalid(op, { group: 'autoscaling', kind: 'Scale', plural: 'scale' }, name, [cause.invalid('spec.replicas', replicas ?? null, 'must be greater than or equal to 0')]);
      }
      const meta = isObject(scale.metadata) ? scale.metadata : {};
      const patch: JsonObject = { spec: { replicas } };
      if (typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '') patch.metadata = { resourceVersion: meta.resourceVersion };
      return { code: 200, body: scaleOf(store.mergePatch(ref, patch, { fieldManager: 'kubectl-scale' })) };
    };
    const contentType = mediaType(req.headers['content-type']);
    switch (method) {
      case 'GET':
        return { opClass: 'kube.read', op: 'kube.getScale', detail: refString(ref), verb: 'get/scale', target, exec: () => ({ code: 200, body: scaleOf(current()) }) };
      case 'PUT':
        return { opClass: 'kube.write', op: 'kube.updateScale', detail: refString(ref), verb: 'update/scale', target, exec: () => write(parseObjectBody('kube.updateScale', body, contentType), 'kube.updateScale') };
      case 'PATCH':
        return {
          opClass: 'kube.write',
          op: 'kube.patchScale',
          detail: refString(ref),
          verb: 'patch/scale',
          target,
          exec: () => {
            const scale = scaleOf(current());
            if (contentType === 'application/json-patch+json') {
              const ops = parseJsonBody('kube.patchScale', body);
              if (!Array.isArray(ops)) throw badRequest('kube.patchScale', 'a JSON patch must be a list of operations');
              return write(fastJsonPatch.applyPatch(scale, ops as unknown as fastJsonPatch.Operation[], true, false).newDocument, 'kube.patchScale');
            }
            if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') {
              return write(strategicMerge(scale, parseObjectBody('kube.patchScale', body, contentType)), 'kube.patchScale');
            }
            throw unsupportedMedia('kube.patchScale', contentType, 'application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json');
          },
        };
      default:
        return {
          opClass: 'kube.read',
          op: 'kube.scale',
          verb: method.toLowerCase(),
          target,
          exec: () => {
            throw methodNotAllowed('kube.scale');
          },
        };
    }
  }

  /** The four patch types on the main resource or its status. Runs synchronously, so read-modify-write is atomic. */
  function patchObject(
    ref: ObjectRef,
    t: ResourceType,
    status: boolean,
    contentType: string,
    q: URLSearchParams,
    fieldManager: string | undefined,
    body: Buffer,
    applyBody: () => KubeObject,
  ): KubeObject {
    const writeOpts = fieldManager ? { fieldManager } : {};
    const current = (): KubeObject => {
      const cur = store.get(ref);
      if (!cur) throw notFound('kube.patch', names(t), ref.name);
      return cur;
    };
    /** Writes a patched whole object, keeping the patch's own resourceVersion precondition if it had one. */
    const writeWhole = (cur: KubeObject, next: KubeObject, precondition: unknown): KubeObject => {
      next.metadata = { ...next.metadata, resourceVersion: typeof precondition === 'string' && precondition !== '' ? precondition : cur.metadata.resourceVersion };
      return status ? store.updateStatus(next) : store.update(next, writeOpts);
    };
    switch (contentType) {
      case 'application/merge-patch+json': {
        const patch = parseObjectBody('kube.patch', body, contentType);
        return status ? store.patchStatus(ref, patch) : store.mergePatch(ref, patch, writeOpts);
      }
      case 'application/strategic-merge-patch+json': {
        if (t.openAPIV3Schema) {
          throw unsupportedMedia('kube.patch', contentType, 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
        }
        const patch = parseObjectBody('kube.patch', body, contentType);
        const cur = current();
        const next = strategicMerge(cur as unknown as JsonObject, patch) as unknown as KubeObject;
        const pm = isObject(patch.metadata) ? patch.metadata.resourceVersion : undefined;
        return writeWhole(cur, next, pm);
      }
      case 'application/json-patch+json': {
        const ops = parseJsonBody('kube.patch', body);
        if (!Array.isArray(ops) || !ops.every(isObject)) throw badRequest('kube.patch', 'a JSON patch must be a list of operations');
        if (!status) return store.jsonPatch(ref, ops as JsonObject[], writeOpts);
        const cur = current();
        let next: KubeObject;
        try {
          next = fastJsonPatch.applyPatch(copy(cur), ops as unknown as fastJsonPatch.Operation[], true, false).newDocument;
        } catch (e) {
          throw new DriverError('Invalid', 'kubernetes', 'kube.patchStatus', `the server rejected our request due to an error in our request: ${(e as Error).message.split('\n')[0]}`, {
            reason: 'Invalid',
            code: 422,
          });
        }
        return writeWhole(cur, next, undefined);
      }
      case 'application/apply-patch+yaml': {
        if (!fieldManager) throw badRequest('kube.apply', 'PATCH requests with apply require a fieldManager query parameter');
        const obj = applyBody();
        if (status) {
          // The store has no status apply; a status apply merges the given status, which is what a lone manager sees.
          return store.patchStatus(ref, { status: (obj.status ?? {}) as JsonObject });
        }
        const force = q.get('force') === 'true' || q.get('force') === '1';
        return store.apply(obj, { fieldManager, force });
      }
      default:
        throw unsupportedMedia('kube.patch', contentType, 'application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml');
    }
  }

  function deletePreconditions(body: Buffer): { resourceVersion?: string; uid?: string } {
    if (body.length === 0 || body.toString('utf8').trim() === '') return {};
    const o = parseJsonBody('kube.delete', body);
    if (!isObject(o)) throw badRequest('kube.delete', 'DeleteOptions must be a JSON object');
    const p = isObject(o.preconditions) ? o.preconditions : {};
    const out: { resourceVersion?: string; uid?: string } = {};
    if (typeof p.resourceVersion === 'string' && p.resourceVersion !== '') out.resourceVersion = p.resourceVersion;
    if (typeof p.uid === 'string' && p.uid !== '') out.uid = p.uid;
    return out;
  }

  function send(res: ServerResponse, a: Answer, exchange?: string): void {
    if (res.headersSent || res.destroyed) return;
    gate.answering(exchange);
    const isText = typeof a.body === 'string';
    const text = isText ? (a.body as string) : JSON.stringify(a.body);
    res.writeHead(a.code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', ...(a.headers ?? {}) });
    res.end(text);
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const release = kernel.sched.hold();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const header = req.headers[EXCHANGE_HEADER];
    const exchange = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get(EXCHANGE_QUERY) ?? undefined;
    let released = false;
    /** The request is in the world's hands now: virtual time may run again. */
    const handOver = () => {
      if (released) return;
      released = true;
      release();
      gate.arrived(exchange);
      signalIoActivity(kernel);
    };
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (e) {
      handOver();
      send(res, toAnswer(e), exchange);
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    let plan: Planned;
    try {
      const route = parseKubePath(url.pathname, isNamespacedPlural);
      if (!route) {
        const path = url.pathname;
        plan = { opClass: 'kube.read', op: 'kube.request', verb: 'unknown', target: {}, exec: () => { throw unknownResource('kube.request', path); } };
      } else if (route.kind === 'discovery') {
        plan = method === 'GET' ? planDiscovery(route) : { ...planDiscovery(route), exec: () => { throw methodNotAllowed('kube.discovery'); } };
      } else {
        plan = planResource(method, route, url, req, body);
      }
    } catch (e) {
      handOver();
      send(res, toAnswer(e), exchange);
      return;
    }
    counter.count(plan.verb, plan.target);
    const route = { from: caller, to: party, op: plan.op, detail: plan.detail };
    if (plan.watch) {
      const w = new ActiveWatch(plan.watch, res, exchange);
      watches.add(w);
      res.on('close', () => {
        w.close();
        watches.delete(w);
      });
      const started = kernel.call(plan.opClass, route, () => w.start());
      handOver();
      try {
        await started;
        w.open();
      } catch (e) {
        w.failed(e);
      }
      return;
    }
    const answer = kernel.call(plan.opClass, route, plan.exec);
    handOver();
    try {
      send(res, await answer, exchange);
    } catch (e) {
      send(res, toAnswer(e), exchange);
    }
  }

  function toAnswer(e: unknown): Answer {
    const r = errorResponse(e);
    const a: Answer = { code: r.code, body: r.body };
    if (r.headers) a.headers = r.headers;
    return a;
  }

  /**
   * One open watch stream: store events are delivered in order, each after a drawn latency on virtual time. The
   * API server or the caller going down, or a partition between them, breaks the connection (the client sees
   * the stream fail and must watch again), as it would on a real network.
   */
  class ActiveWatch {
    private handle: { stop(): void } | undefined;
    private closed = false;
    private opened = false;
    private lastAtMs = 0;
    private timeoutTimer: number | undefined;
    private partitionTimer: number | undefined;
    private readonly pending = new Set<number>();
    private readonly unsubscribeParty: () => void;
    private first = true;

    constructor(
      private readonly w: WatchPlan,
      private readonly res: ServerResponse,
      private readonly exchange: string | undefined,
    ) {
      this.unsubscribeParty = kernel.onPartyChange((p, isDown) => {
        if (isDown && (p === party || p === caller)) this.break();
      });
      this.armPartitionTimer();
    }

    /** Inside kernel.call: registers the store watch (throws Expired for a too old resourceVersion). */
    start(): void {
      if (this.closed) return;
      const opts: { namespace?: string; labelSelector?: string; resourceVersion?: string; allowBookmarks?: boolean } = { allowBookmarks: this.w.allowBookmarks };
      if (this.w.namespace) opts.namespace = this.w.namespace;
      if (this.w.labelSelector) opts.labelSelector = this.w.labelSelector;
      const rv = this.w.resourceVersion;
      if (rv === undefined || rv === '0') {
        // "Get state and start at most recent": synthetic ADDED events for what exists, then every change.
        const list = store.list(this.w.gvk, { ...(opts.namespace ? { namespace: opts.namespace } : {}), ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}) });
        for (const item of list.items) this.enqueue({ type: 'ADDED', object: item });
        opts.resourceVersion = list.resourceVersion;
      } else {
        opts.resourceVersion = rv;
      }
      this.handle = store.watch(this.w.gvk, opts, (e) => this.enqueue(e));
      if (this.w.timeoutSeconds !== undefined) {
        this.timeoutTimer = kernel.sched.after(this.w.timeoutSeconds * 1000, 'kube.watch.timeout', () => this.end());
      }
    }

    private enqueue(e: WatchEvent): void {
      if (this.closed) return;
      if (e.type !== 'BOOKMARK' && this.w.fieldSelector && !this.w.fieldSelector(e.object)) return;
      const atMs = Math.max(kernel.now() + kernel.draw(kernel.plan.latency['kube.watch']), this.lastAtMs);
      this.lastAtMs = atMs;
      const event = copy(e);
      const id = kernel.sched.at(atMs, 'kube.watch.deliver', () => {
        this.pending.delete(id);
        this.deliver(event);
      });
      this.pending.add(id);
    }

    private routeBroken(): boolean {
      return kernel.isDown(party) || kernel.isDown(caller) || kernel.partitioned(caller, party);
    }

    private deliver(e: WatchEvent): void {
      if (this.closed) return;
      if (this.routeBroken()) return this.break();
      this.open();
      this.write(this.render(e));
    }

    /** Wakes up when the next partition of this route starts, so a quiet stream breaks too. */
    private armPartitionTimer(): void {
      const t = kernel.elapsed();
      const next = kernel.plan.partitions
        .filter((p) => p.toMs > p.fromMs && p.fromMs > t && ((p.between[0] === caller && p.between[1] === party) || (p.between[1] === caller && p.between[0] === party)))
        .reduce<number | undefined>((min, p) => (min === undefined || p.fromMs < min ? p.fromMs : min), undefined);
      if (next === undefined) return;
      this.partitionTimer = kernel.sched.at(kernel.startMs + next, 'kube.watch.partition', () => {
        this.partitionTimer = undefined;
        if (this.closed) return;
        if (this.routeBroken()) this.break();
        else this.armPartitionTimer();
      });
    }

    private render(e: WatchEvent): unknown {
      if (!this.w.table || e.type === 'BOOKMARK') return e;
      const table = renderTable([e.object], tableColumns(this.w.type, crdFor(store, this.w.type)), {
        apiVersion: this.w.table.apiVersion,
        include: this.w.table.include,
        nowMs: kernel.now(),
        withColumns: this.first,
        ...(e.object.metadata.resourceVersion ? { resourceVersion: e.object.metadata.resourceVersion } : {}),
      });
      this.first = false;
      return { type: e.type, object: table };
    }

    /** Sends the 200 and headers (once). */
    open(): void {
      if (this.closed || this.opened || this.res.headersSent) return;
      this.opened = true;
      gate.answering(this.exchange);
      this.res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
      this.res.flushHeaders();
    }

    private write(v: unknown): void {
      if (this.closed || this.res.destroyed) return;
      gate.answering(this.exchange);
      this.res.write(JSON.stringify(v) + '\n');
    }

    /** The start failed: 410 Expired is an ERROR event on a 200 stream (as the real server does); the rest are plain errors. */
    failed(e: unknown): void {
      if (e instanceof DriverError && e.reason === 'Expired') {
        this.open();
        this.write({ type: 'ERROR', object: statusObject(410, 'Expired', e.message) });
        this.end();
        return;
      }
      this.close();
      if (!this.res.headersSent) send(this.res, toAnswer(e), this.exchange);
      else if (!this.res.writableEnded) this.res.end();
    }

    /** Ends the stream cleanly from the server side (timeoutSeconds, closeWatches, shutdown). */
    end(): void {
      if (this.closed) return;
      this.open();
      this.close();
      if (!this.res.writableEnded) this.res.end();
    }

    /** Breaks the connection (no clean end): what a client sees when the server or the network fails. */
    break(): void {
      if (this.closed) return;
      this.close();
      this.res.destroy();
    }

    /** The client went away (or the stream ended): stop the store watch and every timer. */
    close(): void {
      if (this.closed) return;
      this.closed = true;
      this.handle?.stop();
      this.handle = undefined;
      for (const id of this.pending) kernel.sched.cancel(id);
      this.pending.clear();
      if (this.timeoutTimer !== undefined) kernel.sched.cancel(this.timeoutTimer);
      if (this.partitionTimer !== undefined) kernel.sched.cancel(this.partitionTimer);
      this.timeoutTimer = this.partitionTimer = undefined;
      this.unsubscribeParty();
    }
  }

  const server = createServer((req, res) => void onRequest(req, res));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  serverAddress = `127.0.0.1:${addr.port}`;
  const url = `http://127.0.0.1:${addr.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    cluster: store.cluster,
    stats: () => counter.snapshot(),
    resetStats: () => counter.reset(),
    closeWatches() {
      for (const w of [...watches]) w.end();
      watches.clear();
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const w of [...watches]) w.end();
        watches.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
