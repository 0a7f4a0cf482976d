// Why: the ONE mapping from what the Kubernetes API (through @kubernetes/client-node or a raw HTTP answer) says
// when it refuses a request to a DriverError kind: the HTTP status gives the kind (kindFromHttpStatus), the
// metav1.Status object gives the finer reason (AlreadyExists, Expired, Invalid ...) and the field causes.
import { ApiException } from '@kubernetes/client-node';
import { DriverError, kindFromHttpStatus, type DriverErrorKind } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { STATUS_REASONS } from './status-reasons.ts';

export const KUBERNETES_DRIVER_NAME = 'kubernetes';

/** A metav1.Status object, as the API server sends it with every refusal. */
export interface KubeStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    retryAfterSeconds?: number;
    causes?: { field?: string; message?: string; reason?: string }[];
  };
}

/** Network failures that a retry may cure. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

/** TLS failures: the configuration is wrong, and retrying will not fix it. */
const FATAL_TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function parseStatus(body: unknown): KubeStatus | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (value && typeof value === 'object' && (value as KubeStatus).kind === 'Status') return value as KubeStatus;
  return undefined;
}

/**
 * A refusal with an HTTP status (and the Status object, when there is one) to a DriverError. 410 Gone is
 * Conflict with reason `Expired`, the signal to relist; 504 and reason Timeout are Transient with reason Timeout.
 */
export function fromKubeStatus(op: string, code: number, status: KubeStatus | undefined, context: JsonObject = {}, cause?: unknown): DriverError {
  const kind: DriverErrorKind = kindFromHttpStatus(code);
  // With no Status object (a proxy's bare 503, say), the reason the code implies.
  const reason = status?.reason || STATUS_REASONS[code];
  const details: JsonObject = { ...context };
  if (status?.details?.causes?.length) {
    details.causes = status.details.causes.map((c) => {
      const o: JsonObject = {};
      if (c.field !== undefined) o.field = c.field;
      if (c.message !== undefined) o.message = c.message;
      if (c.reason !== undefined) o.reason = c.reason;
      return o;
    });
  }
  if (status?.details?.retryAfterSeconds !== undefined) details.retryAfterSeconds = status.details.retryAfterSeconds;
  const message = status?.message || `${op}: HTTP ${code}${reason ? ` ${reason}` : ''}`;
  const opts: { cause?: unknown; reason?: string; code: number; details: JsonObject } = { code, details };
  if (reason !== undefined) opts.reason = reason;
  if (cause !== undefined) opts.cause = cause;
  return new DriverError(kind, KUBERNETES_DRIVER_NAME, op, message, opts);
}

/**
 * Any failure of a Kubernetes call to a DriverError. `timedOut` says whether the driver's own per-request
 * timeout fired (an abort by the caller's own signal is not an operating failure and is rethrown as is by the
 * driver before it gets here). Programmer errors (a TypeError in our code) are returned unchanged.
 */
export function toKubeDriverError(op: string, e: unknown, context: JsonObject = {}, timedOut = false): unknown {
  if (e instanceof DriverError) return e;
  if (e instanceof ApiException) return fromKubeStatus(op, e.code, parseStatus(e.body), context, e);
  const err = e as { name?: string; code?: string; statusCode?: number; type?: string; message?: string; cause?: { code?: string } } | undefined;
  if (timedOut || err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.type === 'aborted') {
    return new DriverError('Transient', KUBERNETES_DRIVER_NAME, op, `${op}: timed out`, { reason: 'Timeout', details: context, cause: e });
  }
  if (typeof err?.statusCode === 'number') return fromKubeStatus(op, err.statusCode, undefined, context, e);
  const code = err?.code ?? err?.cause?.code;
  if (code && TRANSIENT_NETWORK_CODES.has(code)) {
    return new DriverError('Transient', KUBERNETES_DRIVER_NAME, op, `${op}: ${err?.message ?? code}`, { reason: 'Unavailable', details: context, cause: e });
  }
  if (code && FATAL_TLS_CODES.has(code)) {
    return new DriverError('Fatal', KUBERNETES_DRIVER_NAME, op, `${op}: TLS: ${err?.message ?? code}`, { reason: 'TLS', details: context, cause: e });
  }
  if (err?.name === 'FetchError') {
    return new DriverError('Transient', KUBERNETES_DRIVER_NAME, op, `${op}: ${err.message}`, { reason: 'Unavailable', details: context, cause: e });
  }
  return e;
}
