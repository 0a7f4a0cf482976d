// Why: CloudStack authenticates every API request by an HMAC-SHA1 signature over the canonical command string;
// the client signs and the simulated API server verifies with this one implementation, so they cannot drift.
//
// The algorithm (CloudStack API Developer's Guide, "Signing API Requests", and ApiServer.verifyRequest):
//  1. take every parameter (command, apikey, response=json, …) except `signature`;
//  2. URL-encode each value as Java's URLEncoder does, with spaces as %20 (never '+');
//  3. sort the `key=value` pairs by key, case-insensitively;
//  4. join with '&' and lower-case the whole string;
//  5. HMAC-SHA1 it with the secret key, base64 the digest: that is `signature` (itself URL-encoded on the wire).
// The secret key is never sent.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type CloudStackParams = Record<string, string>;

/**
 * URL-encodes a value as CloudStack's server does (java.net.URLEncoder, then '+' → %20): letters, digits and
 * `. - * _` stay, everything else is %XX of its UTF-8 bytes. encodeURIComponent also keeps `! ' ( ) ~`, which
 * Java encodes, so those are encoded here too.
 */
export function csEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** The string that is signed: encoded pairs sorted by lower-cased key, joined by '&', lower-cased. */
export function canonicalCommandString(params: CloudStackParams): string {
  return Object.keys(params)
    .filter((k) => k.toLowerCase() !== 'signature')
    .map((k) => ({ key: k.toLowerCase(), pair: `${k}=${csEncode(params[k])}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((p) => p.pair)
    .join('&')
    .toLowerCase();
}

/** The base64 HMAC-SHA1 signature (not URL-encoded). */
export function computeSignature(params: CloudStackParams, secretKey: string): string {
  return createHmac('sha1', secretKey).update(canonicalCommandString(params), 'utf8').digest('base64');
}

/**
 * The full query string to send: every parameter (with apikey and response=json added) encoded, then
 * `&signature=<url-encoded signature>`.
 */
export function signedQueryString(params: CloudStackParams, apiKey: string, secretKey: string): string {
  const all: CloudStackParams = { ...params, apikey: apiKey, response: params.response ?? 'json' };
  const signature = computeSignature(all, secretKey);
  const query = Object.keys(all)
    .map((k) => `${encodeURIComponent(k)}=${csEncode(all[k])}`)
    .join('&');
  return `${query}&signature=${csEncode(signature)}`;
}

/** True when `params.signature` (already URL-decoded) is the signature of the other parameters under secretKey. */
export function verifySignature(params: CloudStackParams, secretKey: string): boolean {
  const given = params.signature;
  if (given === undefined || given === '') return false;
  const expected = Buffer.from(computeSignature(params, secretKey));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
