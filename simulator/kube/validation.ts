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
  root: JsonObject;
  /**
   * The same schema with every root property but `status` (and `metadata`) accepting anything, for a status write
   * onto an object that passed `validate` (compiled on first use); null when normalizing is not idempotent under
   * this schema (a null default), so status writes take the full path.
   */
  validateStatus?: ValidateFunction | null;
}

const compiled = new WeakMap<JsonObject, Compiled>();

/** Whether a value holds a null anywhere (a null default is pruned again on a second normalize). */
function holdsNull(v: unknown): boolean {
  if (v === null) return true;
  if (Array.isArray(v)) return v.some(holdsNull);
  return isObject(v) && Object.values(v).some(holdsNull);
}

function hasNullDefault(s: unknown): boolean {
  if (Array.isArray(s)) return s.some(hasNullDefault);
  if (!isObject(s)) return false;
  if (s.default !== undefined && holdsNull(s.default)) return true;
  return Object.values(s).some(hasNullDefault);
}

function compile(schema: JsonObject): Compiled {
  let c = compiled.get(schema);
  if (!c) {
    const root = toAjv(schema);
    // The server validates metadata itself; the schema only says it is an object.
    root.properties = { ...(isObject(root.properties) ? root.properties : {}), metadata: { type: 'object' } };
    c = { validate: ajv.compile(root), root };
    compiled.set(schema, c);
  }
  return c;
}

function statusValidator(schema: JsonObject, c: Compiled): ValidateFunction | null {
  if (c.validateStatus === undefined) {
    if (hasNullDefault(schema)) c.validateStatus = null;
    else {
      const properties: JsonObject = {};
      for (const [k, v] of Object.entries(c.root.properties as JsonObject)) properties[k] = k === 'status' || k === 'metadata' ? v : {};
      c.validateStatus = ajv.compile({ ...c.root, properties });
    }
  }
  return c.validateStatus;
}

const ROOT_KEPT = new Set(['apiVersion', 'kind', 'metadata']);

/** What `normalize` reads of one schema node, worked out once per node. */
interface NodeRules {
  props?: JsonObject;
  additional?: JsonObject;
  keepUnknown: boolean;
  embedded: boolean;
  /** The properties with a default, in schema order. */
  defaults: Array<[string, JsonObject]>;
}

const nodeRules = new WeakMap<JsonObject, NodeRules>();

function rulesOf(s: JsonObject): NodeRules {
  let r = nodeRules.get(s);
  if (!r) {
    const props = isObject(s.properties) ? s.properties : undefined;
    const defaults: Array<[string, JsonObject]> = [];
    if (props) for (const [k, ps] of Object.entries(props)) if (isObject(ps) && ps.default !== undefined) defaults.push([k, ps]);
    r = {
      props,
      additional: isObject(s.additionalProperties) ? s.additionalProperties : undefined,
      keepUnknown: s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true,
      embedded: s['x-kubernetes-embedded-resource'] === true,
      defaults,
    };
    nodeRules.set(s, r);
  }
  return r;
}

/**
 * Structural pruning and defaulting: unknown fields dropped (unless the schema preserves them), nulls dropped where
 * the field is not nullable, missing fields with a default filled in. In place where the data is writable; a frozen
 * part (shared with the stored version before it) is copied only when it must change. Returns the result.
 * At the root, `only` limits the work to one property; `skipFrozen` returns frozen parts as they are (for a caller
 * whose frozen parts are all already normalized under this same schema, at the same place).
 */
function normalize(data: Json | undefined, s: JsonObject, root: boolean, only?: string, skipFrozen = false): Json | undefined {
  if (typeof data !== 'object' || data === null) return data;
  const frozen = Object.isFrozen(data);
  if (frozen && skipFrozen) return data;
  if (Array.isArray(data)) {
    if (!isObject(s.items)) return data;
    let out = data;
    for (let i = 0; i < data.length; i++) {
      const n = normalize(data[i], s.items, false, undefined, skipFrozen) as Json;
      if (n === data[i]) continue;
      if (out === data && frozen) out = [...data];
      out[i] = n;
    }
    return out;
  }
  const r = rulesOf(s);
  let out = data;
  const keys = only === undefined ? Object.keys(data) : only in data ? [only] : [];
  for (const k of keys) {
    if ((root || r.embedded) && ROOT_KEPT.has(k)) continue;
    const ps = r.props && isObject(r.props[k]) ? (r.props[k] as JsonObject) : r.additional;
    if (!ps) {
      if (!r.keepUnknown) {
        if (out === data && frozen) out = { ...data };
        delete out[k];
      }
      continue;
    }
    if (data[k] === null && ps.nullable !== true) {
      if (out === data && frozen) out = { ...data };
      delete out[k];
      continue;
    }
    const n = normalize(data[k], ps, false, undefined, skipFrozen);
    if (n !== data[k]) {
      if (out === data && frozen) out = { ...data };
      out[k] = n as Json;
    }
  }
  for (const [k, ps] of r.defaults) {
    if (only !== undefined && k !== only) continue;
    if (out[k] !== undefined) continue;
    if (out === data && frozen) out = { ...data };
    out[k] = normalize(copy(ps.default), ps, false) as Json;
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
  return causesOf(validate, obj);
}

/**
 * As `applySchema`, for an object that differs only in `status` from one that `applySchema` accepted under this
 * same schema (a status write), and whose frozen parts are that object's own, at the same place: normalizing them
 * again would change nothing, and the other properties are known valid, so only the rest of status is normalized
 * and only status is checked (root-level rules still see the whole object). The result is the same as
 * `applySchema`'s; an invalid object gets the full validator's errors.
 */
export function applyStatusSchema(obj: JsonObject, schema: JsonObject): FieldCause[] {
  const c = compile(schema);
  const validateStatus = statusValidator(schema, c);
  if (!validateStatus) return applySchema(obj, schema);
  if (Object.isFrozen(obj)) throw new TypeError('applyStatusSchema: the object must be writable (it is normalized in place)');
  normalize(obj, schema, true, 'status', true);
  if (validateStatus(obj)) return [];
  // The status validator accepts whatever the full one does: this fails too, and its errors are the ones to report.
  return c.validate(obj) ? [] : causesOf(c.validate, obj);
}

function causesOf(validate: ValidateFunction, obj: JsonObject): FieldCause[] {
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
