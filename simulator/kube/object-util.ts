// Why: small helpers on plain JSON objects shared by the store, server-side apply and validation: deep copy,
// deep equality, paths into objects, and the server's deterministic uids and timestamps.
import type { Json, JsonObject } from '../../drivers/json.ts';

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy of a caller's value through JSON: drops undefined, turns Dates into strings, as the wire would. */
export function copyJson<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
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
