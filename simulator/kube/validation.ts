// Why: a CRD's openAPIV3Schema governs its objects on the real server: unknown fields are pruned, defaults
// filled in, nulls dropped, then the object is validated and every violation reported with its field path.
// This does the same with ajv (schemas compiled once, cached by schema object), and words errors as the server.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Json, JsonObject } from '../../drivers/json.ts';
import { cause, showValue, type FieldCause } from './api-errors.ts';
import { copy, isObject, pointerToFieldPath } from './object-util.ts';

const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false, logger: false, validateFormats: true });
// Formats the real server checks; the numeric ones are type hints it does not check.
for (const f of ['int32', 'int64', 'float', 'double', 'password', 'duration', 'quantity']) ajv.addFormat(f, true);
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/);
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
ajv.addFormat('uuid', /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/);

const SKIP_KEYS = new Set(['description', 'default', 'example', 'externalDocs', 'nullable']);

/** The CRD schema to plain JSON Schema for ajv: Kubernetes extensions dropped or translated. */
function toAjv(s: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-') || SKIP_KEYS.has(k)) continue;
    if (k === 'properties' && isObject(v)) {
      const props: JsonObject = {};
      for (const [pk, pv] of Object.entries(v)) if (isObject(pv)) props[pk] = toAjv(pv);
      out.properties = props;
    } else if ((k === 'items' || k === 'not' || k === 'additionalProperties') && isObject(v)) out[k] = toAjv(v);
    else if ((k === 'anyOf' || k === 'oneOf' || k === 'allOf') && Array.isArray(v)) out[k] = v.filter(isObject).map(toAjv);
    else out[k] = v;
  }
  // OpenAPI v3.0 writes exclusive bounds as booleans beside minimum/maximum; JSON Schema as numbers.
  for (const [ex, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof s[ex] !== 'boolean') continue;
    delete out[ex];
    if (s[ex] === true && typeof s[bound] === 'number') {
      out[ex] = s[bound];
      delete out[bound];
    }
  }
  if (s['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    if (!out.anyOf) out.type = ['integer', 'string'];
  }
  if (s.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (Array.isArray(out.type)) out.type = [...out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

interface Compiled {
  validate: ValidateFunction;
}

const compiled = new WeakMap<JsonObject, Compiled>();

function compile(schema: JsonObject): Compiled {
  let c = compiled.get(schema);
  if (!c) {
    const root = toAjv(schema);
    // The server validates metadata itself; the schema only says it is an object.
    root.properties = { ...(isObject(root.properties) ? root.properties : {}), metadata: { type: 'object' } };
    c = { validate: ajv.compile(root) };
    compiled.set(schema, c);
  }
  return c;
}

const ROOT_KEPT = new Set(['apiVersion', 'kind', 'metadata']);

/**
 * Structural pruning and defaulting: unknown fields dropped (unless the schema preserves them), nulls dropped where
 * the field is not nullable, missing fields with a default filled in. In place where the data is writable; a frozen
 * part (shared with the stored version before it) is copied only when it must change. Returns the result.
 */
function normalize(data: Json | undefined, s: JsonObject, root: boolean): Json | undefined {
  if (Array.isArray(data)) {
    if (!isObject(s.items)) return data;
    let out = data;
    for (let i = 0; i < data.length; i++) {
      const n = normalize(data[i], s.items, false) as Json;
      if (n === data[i]) continue;
      if (out === data && Object.isFrozen(data)) out = [...data];
      out[i] = n;
    }
    return out;
  }
  if (!isObject(data)) return data;
  let out = data;
  const writable = (): JsonObject => (out === data && Object.isFrozen(data) ? (out = { ...data }) : out);
  const props = isObject(s.properties) ? s.properties : undefined;
  const additional = isObject(s.additionalProperties) ? s.additionalProperties : undefined;
  const keepUnknown = s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  for (const k of Object.keys(data)) {
    if ((root || embedded) && ROOT_KEPT.has(k)) continue;
    const ps = props && isObject(props[k]) ? (props[k] as JsonObject) : additional;
    if (!ps) {
      if (!keepUnknown) delete writable()[k];
      continue;
    }
    if (data[k] === null && ps.nullable !== true) {
      delete writable()[k];
      continue;
    }
    const n = normalize(data[k], ps, false);
    if (n !== data[k]) writable()[k] = n as Json;
  }
  if (props) {
    for (const [k, ps] of Object.entries(props)) {
      if (isObject(ps) && ps.default !== undefined && out[k] === undefined) writable()[k] = normalize(copy(ps.default), ps, false) as Json;
    }
  }
  return out;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function valueAt(data: unknown, pointer: string): unknown {
  if (pointer === '') return data;
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = Array.isArray(cur) ? cur[Number(seg)] : isObject(cur) ? cur[seg] : undefined;
  }
  return cur;
}

function toCause(e: ErrorObject, data: unknown): FieldCause {
  const field = pointerToFieldPath(e.instancePath, data);
  const v = valueAt(data, e.instancePath);
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'required':
      return cause.required(field === '<root>' ? p.missingProperty : `${field}.${p.missingProperty}`);
    case 'enum':
      return cause.notSupported(field, v, p.allowedValues as unknown[]);
    case 'type':
      return cause.typeInvalid(field, jsonType(v), `${field} in body must be of type ${Array.isArray(p.type) ? p.type.join(',') : p.type}: ${showValue(jsonType(v))}`);
    case 'pattern':
      return cause.invalid(field, v, `${field} in body should match '${p.pattern}'`);
    case 'format':
      return cause.invalid(field, v, `${field} in body must be of type ${p.format}: ${showValue(v)}`);
    case 'minimum':
    case 'exclusiveMinimum':
      return cause.invalid(field, v, `${field} in body should be greater than ${p.comparison === '>=' ? 'or equal to ' : ''}${p.limit}`);
    case 'maximum':
    case 'exclusiveMaximum':
      return cause.invalid(field, v, `${field} in body should be less than ${p.comparison === '<=' ? 'or equal to ' : ''}${p.limit}`);
    case 'minLength':
      return cause.invalid(field, v, `${field} in body should be at least ${p.limit} chars long`);
    case 'maxLength':
      return cause.tooLong(field, p.limit as number);
    case 'minItems':
      return cause.invalid(field, Array.isArray(v) ? v.length : v, `${field} in body should have at least ${p.limit} items`);
    case 'maxItems':
      return cause.tooMany(field, Array.isArray(v) ? v.length : 0, p.limit as number);
    case 'minProperties':
      return cause.invalid(field, v, `${field} in body should have at least ${p.limit} properties`);
    case 'maxProperties':
      return cause.invalid(field, v, `${field} in body should have at most ${p.limit} properties`);
    case 'uniqueItems':
      return cause.duplicate(`${field}[${p.j}]`, Array.isArray(v) ? v[p.j as number] : v);
    case 'oneOf':
      return cause.invalid(field, v, `${field} in body must validate one and only one schema (oneOf)`);
    case 'anyOf':
      return cause.invalid(field, v, `${field} in body must validate at least one schema (anyOf)`);
    case 'not':
      return cause.invalid(field, v, `${field} in body must not validate the schema (not)`);
    default:
      return cause.invalid(field, v, `${field} in body ${e.message ?? 'is invalid'}`);
  }
}

/** Errors inside an anyOf/oneOf/not branch only explain the combinator's own error: leave them out. */
function inBranch(schemaPath: string): boolean {
  return /\/(anyOf|oneOf)\/\d+\//.test(schemaPath) || /\/not\//.test(schemaPath);
}

/**
 * Prunes and defaults `obj` in place against a CRD version's openAPIV3Schema, then validates it. Returns the
 * violations (empty when valid), worded as the real server words them.
 */
export function applySchema(obj: JsonObject, schema: JsonObject): FieldCause[] {
  if (Object.isFrozen(obj)) throw new TypeError('applySchema: the object must be writable (it is normalized in place)');
  normalize(obj, schema, true);
  const { validate } = compile(schema);
  if (validate(obj)) return [];
  const seen = new Set<string>();
  const out: FieldCause[] = [];
  const errors = (validate.errors ?? []).filter((e) => !inBranch(e.schemaPath));
  // A value of the wrong type is reported for its type alone, not also for its enum, pattern or bounds.
  const badType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword !== 'type' && e.keyword !== 'required' && badType.has(e.instancePath)) continue;
    const c = toCause(e, obj);
    const key = `${c.field}\u0000${c.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}
