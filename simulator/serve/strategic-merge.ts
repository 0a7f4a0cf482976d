// Why: kubectl sends strategic merge patches (application/strategic-merge-patch+json) for built-in kinds by
// default (`kubectl patch`, client-side `kubectl apply`). A plain merge patch would replace whole lists such as
// `containers` and keep kubectl's `$setElementOrder` directives as fields, so the simulated server applies the
// strategy for the built-in types it serves: lists merged by their merge keys and the `$patch`, `$retainKeys`,
// `$setElementOrder/...` and `$deleteFromPrimitiveList/...` directives.
import type { Json, JsonObject } from '../../drivers/json.ts';
import { badRequest } from '../kube/api-errors.ts';
import { copy, isObject } from '../kube/object-util.ts';

/**
 * The merge key of a list field of the built-in types, by field name (apimachinery's `patchMergeKey` tags).
 * `ports` is keyed by `containerPort` in a container and by `port` in a Service: the elements tell which.
 */
const MERGE_KEYS: Record<string, string | ((elements: JsonObject[]) => string | undefined)> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  resourceClaims: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  ports: (els) => (els.every((e) => 'containerPort' in e) ? 'containerPort' : els.every((e) => 'port' in e) ? 'port' : undefined),
};

/** Lists of scalars whose strategy is `merge` (a set union) rather than replace. */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

/** Applies a strategic merge patch to a copy of `original`. Malformed directives throw BadRequest (400). */
export function strategicMerge(original: JsonObject, patch: JsonObject): JsonObject {
  return mergeMap(copy(original), patch, '');
}

function mergeMap(orig: JsonObject, patch: JsonObject, path: string): JsonObject {
  const directive = patch.$patch;
  if (directive === 'replace') {
    const out = copy(patch);
    delete out.$patch;
    return stripDirectives(out);
  }
  if (directive !== undefined && directive !== 'merge' && directive !== 'delete') {
    throw badRequest('kube.patch', `${path || '<root>'}: unknown patch directive $patch: ${JSON.stringify(directive)}`);
  }
  let out = orig;
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badRequest('kube.patch', `${path || '<root>'}: $retainKeys must be a list of keys`);
    const keep = new Set(retain.map(String));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || value === undefined) continue;
    if (key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM)) continue;
    const field = path ? `${path}.${key}` : key;
    if (value === null) {
      delete out[key];
      continue;
    }
    const cur = out[key];
    if (isObject(value)) {
      if (value.$patch === 'delete') {
        delete out[key];
        continue;
      }
      out[key] = isObject(cur) ? mergeMap(cur, value, field) : stripDirectives(copy(value));
      continue;
    }
    if (Array.isArray(value)) {
      out[key] = mergeList(key, Array.isArray(cur) ? cur : [], value, field);
      continue;
    }
    out[key] = value;
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      if (!Array.isArray(value)) throw badRequest('kube.patch', `${path ? `${path}.` : ''}${key}: must be a list`);
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = cur.filter((x) => !value.some((v) => v === x));
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(SET_ORDER)) {
      const field = key.slice(SET_ORDER.length);
      if (!Array.isArray(value)) throw badRequest('kube.patch', `${path ? `${path}.` : ''}${key}: must be a list`);
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = reorder(field, cur, value);
    }
  }
  return out;
}

function mergeKeyOf(field: string, elements: JsonObject[]): string | undefined {
  const k = MERGE_KEYS[field];
  if (k === undefined || elements.length === 0) return undefined;
  return typeof k === 'string' ? k : k(elements);
}

function mergeList(field: string, orig: Json[], patch: Json[], path: string): Json[] {
  const replaceAll = patch.find((e) => isObject(e) && e.$patch === 'replace' && Object.keys(e).length === 1);
  if (replaceAll !== undefined) return patch.filter((e) => e !== replaceAll).map((e) => (isObject(e) ? stripDirectives(copy(e)) : e));
  if (patch.every((e) => !isObject(e))) {
    if (!MERGED_SCALAR_LISTS.has(field)) return copy(patch);
    const out = [...orig];
    for (const v of patch) if (!out.some((x) => x === v)) out.push(v);
    return out;
  }
  const objects = patch.filter(isObject);
  const origObjects = orig.filter(isObject);
  const key = mergeKeyOf(field, [...origObjects, ...objects.filter((e) => e.$patch !== 'delete' || Object.keys(e).length > 1)]);
  if (key === undefined) return patch.map((e) => (isObject(e) ? stripDirectives(copy(e)) : e));
  const out: Json[] = [...orig];
  for (const [i, el] of objects.entries()) {
    const id = el[key];
    if (id === undefined) throw badRequest('kube.patch', `${path}[${i}]: map: ${JSON.stringify(el)} does not contain declared merge key: ${key}`);
    const at = out.findIndex((x) => isObject(x) && x[key] === id);
    if (el.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) out[at] = mergeMap(out[at] as JsonObject, el, `${path}[${at}]`);
    else out.push(stripDirectives(copy(el)));
  }
  return out;
}

/** Orders a merged list as `$setElementOrder` says; elements it does not name keep their order, after. */
function reorder(field: string, list: Json[], order: Json[]): Json[] {
  const objects = list.filter(isObject);
  const key = objects.length === list.length ? mergeKeyOf(field, objects) : undefined;
  const idOf = (x: Json): Json | undefined => (key !== undefined && isObject(x) ? x[key] : x);
  const wanted = order.map((o) => (isObject(o) && key !== undefined ? o[key] : o));
  const placed: Json[] = [];
  const rest: Json[] = [];
  for (const x of list) (wanted.some((w) => w === idOf(x)) ? placed : rest).push(x);
  placed.sort((a, b) => wanted.findIndex((w) => w === idOf(a)) - wanted.findIndex((w) => w === idOf(b)));
  return [...placed, ...rest];
}

/** Removes directive keys from a value being inserted whole. */
function stripDirectives(v: JsonObject): JsonObject {
  for (const k of Object.keys(v)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(SET_ORDER) || k.startsWith(DELETE_FROM)) delete v[k];
    else {
      const x = v[k];
      if (isObject(x)) stripDirectives(x);
      else if (Array.isArray(x)) for (const e of x) if (isObject(e)) stripDirectives(e);
    }
  }
  return v;
}
