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
 * As `plainJson`, where `prev` is a frozen, stored value at the same place: a part that comes out deep-equal to
 * `prev`'s (keys in the same order) is `prev`'s own, and `prev` itself (handed back by the caller) is not copied.
 */
function plainJsonSharing(v: unknown, prev: unknown, depth: number): unknown {
  if (typeof prev !== 'object' || prev === null || !Object.isFrozen(prev) || typeof v !== 'object' || v === null) return plainJson(v, depth);
  if (v === prev) return prev;
  if (depth > PLAIN_DEPTH_MAX) throw NOT_PLAIN;
  if (Array.isArray(v)) {
    if (!Array.isArray(prev)) return plainJson(v, depth);
    const a = new Array(v.length);
    let same = v.length === prev.length;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const c = x === undefined || typeof x === 'function' || typeof x === 'symbol' ? null : plainJsonSharing(x, prev[i], depth + 1);
      a[i] = c;
      if (c !== prev[i]) same = false;
    }
    return same ? prev : a;
  }
  const proto = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
  if (Array.isArray(prev)) return plainJson(v, depth);
  const p = prev as Record<string, unknown>;
  const prevKeys = Object.keys(p);
  const out: Record<string, unknown> = {};
  let same = true;
  let i = 0;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    if (k === '__proto__') throw NOT_PLAIN;
    const c = plainJsonSharing(x, p[k], depth + 1);
    out[k] = c;
    if (prevKeys[i++] !== k || c !== p[k]) same = false;
  }
  return same && i === prevKeys.length ? prev : out;
}

/**
 * `copyJson(v)` for a value that will replace `prev` (a frozen, stored value): the parts equal to `prev`'s are
 * `prev`'s own instead of copies (see `shareEqual`). The same content as `copyJson(v)`.
 */
export function copyJsonSharing<T>(v: T, prev: unknown): T {
  if (v === undefined) return v;
  try {
    return plainJsonSharing(v, prev, 0) as T;
  } catch (e) {
    if (e !== NOT_PLAIN) throw e;
    return shareEqual(JSON.parse(JSON.stringify(v)) as T, prev);
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
  if (Array.isArray(v)) {
    for (const x of v) if (typeof x === 'object' && x !== null && !Object.isFrozen(x)) deepFreeze(x);
  } else {
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === 'object' && x !== null && !Object.isFrozen(x)) deepFreeze(x);
    }
  }
  return v;
}

/**
 * `next` with its parts that are deep-equal to the same parts of `prev` (a frozen, stored object), keys in the
 * same order, replaced by those of `prev`, in place where `next` is writable; `prev` itself when all of it is.
 * The content is unchanged; a new version then shares its unchanged parts with the old one (cheaper to freeze,
 * compare and diff).
 */
export function shareEqual<T>(next: T, prev: unknown): T {
  if (next === prev || typeof next !== 'object' || next === null || typeof prev !== 'object' || prev === null || !Object.isFrozen(prev)) return next;
  if (Array.isArray(next) !== Array.isArray(prev)) return next;
  const writable = !Object.isFrozen(next);
  let same = true;
  if (Array.isArray(next)) {
    const p = prev as unknown[];
    if (next.length !== p.length) same = false;
    for (let i = 0; i < next.length; i++) {
      const v = next[i];
      const s = i < p.length ? shareEqual(v, p[i]) : v;
      if (s !== p[i]) same = false;
      if (s !== v && writable) next[i] = s;
    }
  } else {
    const n = next as Record<string, unknown>;
    const p = prev as Record<string, unknown>;
    const keys = Object.keys(p);
    let i = 0;
    for (const k in n) {
      const v = n[k];
      if (v === undefined || keys[i++] !== k) {
        same = false;
        if (v === undefined) continue;
      }
      const s = shareEqual(v, p[k]);
      if (s !== p[k]) same = false;
      if (s !== v && writable) n[k] = s;
    }
    if (i !== keys.length) same = false;
  }
  return same ? (prev as T) : next;
}

/** A deep copy of JSON data the store already holds (several times faster than a JSON round trip). */
export function copy<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const a = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      a[i] = typeof x === 'object' && x !== null ? copy(x) : x;
    }
    return a as T;
  }
  const out: Record<string, unknown> = {};
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === 'object') out[k] = x === null ? null : copy(x);
    else if (x !== undefined) out[k] = x;
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
  for (const k in a) if (!skip.has(k) && !deepEqual(a[k], b[k])) return false;
  for (const k in b) if (!skip.has(k) && !Object.hasOwn(a, k) && !deepEqual(a[k], b[k])) return false;
  return true;
}

/** The last second formatted, and the last day's `YYYY-MM-DDT` prefix: the store stamps many writes per second and day. */
const lastIso = { s: NaN, text: '', day: NaN, prefix: '' };

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Milliseconds to an RFC 3339 timestamp with second precision, as Kubernetes writes them. */
export function isoSeconds(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s !== lastIso.s) {
    const day = Math.floor(s / 86400);
    if (day !== lastIso.day) {
      lastIso.day = day;
      lastIso.prefix = new Date(day * 86400_000).toISOString().slice(0, -13);
    }
    const sod = s - day * 86400;
    lastIso.s = s;
    lastIso.text = `${lastIso.prefix}${two(Math.floor(sod / 3600))}:${two(Math.floor(sod / 60) % 60)}:${two(sod % 60)}Z`;
  }
  return lastIso.text;
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
