// Why: every refusal of the simulated API server leaves as a metav1.Status object with the HTTP code, reason and
// field causes the real server would send; this turns the simulator's DriverErrors (the store's and the ones
// the fault plan injects) into that object, in one place.
import { DriverError } from '../../drivers/errors.ts';
import { STATUS_REASONS } from '../../drivers/cluster/status-reasons.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { isObject } from '../kube/object-util.ts';

export interface HttpStatusBody {
  code: number;
  body: JsonObject;
  headers?: Record<string, string>;
}

/** The reason the fault plan's injected errors carry, to the reason the API server uses. */
const REASON_ALIASES: Record<string, string> = { Unavailable: 'ServiceUnavailable' };

function codeOf(e: DriverError, reason: string | undefined): number {
  if (e.code !== undefined && e.code >= 400 && e.code < 600) return e.code;
  switch (reason) {
    case 'Expired':
    case 'Gone':
      return 410;
    case 'AlreadyExists':
    case 'Conflict':
      return 409;
    case 'NotFound':
      return 404;
    case 'Invalid':
      return 422;
    case 'BadRequest':
      return 400;
    case 'TooManyRequests':
      return 429;
    case 'Timeout':
      return 504;
    case 'ServiceUnavailable':
      return 503;
    case 'InternalError':
      return 500;
    case 'Unauthorized':
      return 401;
    case 'Forbidden':
      return 403;
    default:
      break;
  }
  switch (e.kind) {
    case 'Conflict':
      return 409;
    case 'NotFound':
      return 404;
    case 'Invalid':
      return 422;
    case 'Throttled':
      return 429;
    case 'Unauthorized':
      return 403;
    default:
      return 500;
  }
}

/** A failure Status object. */
export function statusObject(code: number, reason: string | undefined, message: string, details?: JsonObject): JsonObject {
  const s: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message };
  const r = reason ?? STATUS_REASONS[code];
  if (r) s.reason = r;
  if (details && Object.keys(details).length) s.details = details;
  s.code = code;
  return s;
}

/** The Status details the real server sends: name, group, kind, causes (and retryAfterSeconds for 429). */
function detailsOf(e: DriverError): JsonObject | undefined {
  const d = e.details;
  if (!isObject(d)) return undefined;
  const out: JsonObject = {};
  for (const k of ['name', 'group', 'kind', 'uid', 'retryAfterSeconds'] as const) if (d[k] !== undefined) out[k] = d[k];
  if (Array.isArray(d.causes)) out.causes = d.causes;
  return Object.keys(out).length ? out : undefined;
}

/** Any error raised while serving a request to the HTTP answer. A non-DriverError is a 500 InternalError. */
export function errorResponse(e: unknown): HttpStatusBody {
  if (!(e instanceof DriverError)) {
    const message = e instanceof Error ? e.message : String(e);
    return { code: 500, body: statusObject(500, 'InternalError', `Internal error occurred: ${message}`) };
  }
  const reason = e.reason ? (REASON_ALIASES[e.reason] ?? e.reason) : undefined;
  const code = codeOf(e, reason);
  const details = detailsOf(e) ?? {};
  const headers: Record<string, string> = {};
  if (code === 429) {
    if (details.retryAfterSeconds === undefined) details.retryAfterSeconds = 1;
    headers['Retry-After'] = String(details.retryAfterSeconds);
  }
  return { code, body: statusObject(code, reason ?? STATUS_REASONS[code], e.message, details), headers };
}

/** The Status a successful DELETE returns. */
export function deletedStatus(details: JsonObject): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}
