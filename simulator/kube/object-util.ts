// Why: small helpers on plain JSON objects shared by the store, server-side apply and validation: deep copy,
// deep equality, paths into objects, and the server's deterministic uids and timestamps.
import type { Json, JsonObject } from '../../drivers/json.ts';

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Thrown inside `plainJson` when a value needs JSON.stringify's full rules (toJSON, class instances, cycles). */
const NOT_PLAIN = Symbol('not plain JSON');
const PLAIN_DEPTH_MAX = 256;

/** A deep copy of plain JSON data with JSON's rules (undefined dropped, non-finite numbers null); throws NOT_PLAIN otherwise. */
function plainJson(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'object':
      break;
    default:
      throw NOT_PLAIN;
  }
  if (v === null) return null;
  if (depth > PLAIN_DEPTH_MAX) throw NOT_PLAIN;
  if (Array.isArray(v)) {
    const a = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      a[i] = x === undefined || typeof x === 'function' || typeof x === 'symbol' ? null : plainJson(x, depth + 1);
    }
    return a;
  }
  const proto = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    if (k === '__proto__') throw NOT_PLAIN;
    out[k] = plainJson(x, depth + 1);
  }
  return out;
}

/**
 * A deep copy of a caller's value through JSON's rules: drops undefined, turns Dates into strings, as the wire
 * would. Plain data is copied directly (several times faster); anything else takes the JSON round trip.
 */
export function copyJson<T>(v: T): T {
  if (v === undefined) return v;
  try {
    return plainJson(v, 0) as T;
  } catch (e) {
    if (e !== NOT_PLAIN) throw e;
    return JSON.parse(JSON.stringify(v)) as T;
  }
}

/**
 * Freezes a value and everything in it, in place, skipping parts already frozen (a stored object shares frozen
 * parts with the version before it). The store freezes what it stores, so it can hand the same object to every
 * internal reader and watcher; a reader that tried to change it would throw (ES modules run in strict mode).
 */
export function deepFreeze<T>(v: T): T {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return v;
  Object.freeze(v);
  if (Array.isArray(v)) for (const x of v) deepFreeze(x);
  else for (const k in v) deepFreeze((v as Record<string, unknown>)[k]);
  return v;
}

/** A deep copy of JSON data the store already holds (several times faster than a JSON round trip). */
export function copy<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const a = new Array(v.length);
    for (let i = 0; i < v.length; i++) a[i] = copy(v[i]);
    return a as T;
  }
  const out: Record<string, unknown> = {};
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = copy(x);
  }
  return out as T;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let n = 0;
  for (const k in ao) {
    if (ao[k] === undefined) continue;
    n++;
    if (!deepEqual(ao[k], bo[k])) return false;
  }
  let m = 0;
  for (const k in bo) if (bo[k] !== undefined) m++;
  return n === m;
}

/** Deep equality of two objects, leaving out some top-level keys (`metadata`, `status`). */
export function equalExcept(a: Record<string, unknown>, b: Record<string, unknown>, skip: ReadonlySet<string>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!skip.has(k) && !deepEqual(a[k], b[k])) return false;
  return true;
}

/** Milliseconds to an RFC 3339 timestamp with second precision, as Kubernetes writes them. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** FNV-1a, 32 bits, as 8 hex digits. */
export function fnv1aHex(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** A uid in UUID form derived from the cluster's name and a counter: unique per cluster, stable per run. */
export function deterministicUid(cluster: string, n: number): string {
  const c = fnv1aHex(cluster);
  const hex = n.toString(16).padStart(12, '0');
  return `${c}-${hex.slice(0, 4)}-4${fnv1aHex(`${cluster}#${n}`).slice(0, 3)}-8${c.slice(0, 3)}-${hex.slice(-12)}`;
}

/** A `generateName` suffix: 5 characters drawn from the cluster's name and a counter, like the server's random one. */
export function nameSuffix(cluster: string, n: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let h = parseInt(fnv1aHex(`${cluster}/generateName/${n}`), 16);
  let s = '';
  for (let i = 0; i < 5; i++) {
    s += alphabet[h % alphabet.length];
    h = Math.floor(h / alphabet.length);
  }
  return s;
}

export function getPath(obj: unknown, path: readonly string[]): Json | undefined {
  let cur: unknown = obj;
  for (const seg of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[seg];
  }
  return cur as Json | undefined;
}

/** Sets a value, creating (or replacing non-object) parents on the way. */
export function setPath(obj: JsonObject, path: readonly string[], value: Json): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]];
    if (!isObject(next)) cur[path[i]] = {};
    cur = cur[path[i]] as JsonObject;
  }
  cur[path[path.length - 1]] = value;
}

/** Deletes a value; returns whether it was there. */
export function deletePath(obj: JsonObject, path: readonly string[]): boolean {
  let cur: unknown = obj;
  for (let i = 0; i < path.length - 1; i++) {
    if (!isObject(cur)) return false;
    cur = cur[path[i]];
  }
  if (!isObject(cur) || !(path[path.length - 1] in cur)) return false;
  delete cur[path[path.length - 1]];
  return true;
}

/** A JSON pointer (`/spec/ports/0/port`) to a Kubernetes field path (`spec.ports[0].port`), following `data`. */
export function pointerToFieldPath(pointer: string, data: unknown): string {
  if (pointer === '') return '<root>';
  let out = '';
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      out += `[${seg}]`;
      cur = cur[Number(seg)];
    } else {
      out += out === '' ? seg : `.${seg}`;
      cur = isObject(cur) ? cur[seg] : undefined;
    }
  }
  return out;
}
