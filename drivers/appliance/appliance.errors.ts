// Why: the ONE mapping of the appliance API's answers (HTTP statuses and `{error, code}` bodies, no answer at all,
// and the simulator's injected faults as they go on the wire) to DriverError kinds, for the real client and the
// simulated port alike, so both reach the charts as the same kinds.
import { DriverError, kindFromHttpStatus, type DriverErrorKind } from '../errors.ts';
import { APPLIANCE_DRIVER } from './appliance.port.ts';

/** An error body as the appliance sends it. */
export type ApplianceErrorBody = { error: string; code: string };

/** HTTP status → kind and reason (the shared HTTP table, with the appliance's reasons). */
export function classifyApplianceStatus(status: number): { kind: DriverErrorKind; reason?: string } {
  if (status === 401 || status === 403) return { kind: 'Unauthorized', reason: 'BadToken' };
  if (status === 504 || status === 408) return { kind: 'Transient', reason: 'Timeout' };
  if (status === 503 || status === 502) return { kind: 'Transient', reason: 'Unavailable' };
  if (status === 429) return { kind: 'Throttled', reason: 'TooManyRequests' };
  if (status === 500) return { kind: 'Transient', reason: 'InternalError' };
  return { kind: kindFromHttpStatus(status) };
}

export function fromApplianceStatus(op: string, status: number, message: string, code?: string): DriverError {
  const { kind, reason } = classifyApplianceStatus(status);
  const hint = kind === 'Unauthorized' ? ': the appliance refused the bearer token (check --appliance-token / APPLIANCE_TOKEN)' : '';
  return new DriverError(kind, APPLIANCE_DRIVER, op, `${op}: ${message}${hint}`, {
    code: status,
    ...(reason ? { reason } : {}),
    ...(code ? { details: { code } } : {}),
  });
}

/** The `{error, code}` of a body, if it is one. */
export function errorBodyOf(body: unknown): ApplianceErrorBody | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.error !== 'string') return undefined;
  return { error: b.error, code: typeof b.code === 'string' ? b.code : '' };
}

/** A non-2xx answer (already parsed) → DriverError. */
export function fromApplianceResponse(op: string, status: number, body: unknown): DriverError {
  const e = errorBodyOf(body);
  return fromApplianceStatus(op, status, e ? `${e.error} (HTTP ${status})` : `HTTP ${status}`, e?.code || undefined);
}

/** A request that got no answer (connection refused, reset, our own timeout). */
export function fromApplianceNetwork(op: string, e: unknown, timedOut: boolean): DriverError {
  const message = e instanceof Error ? e.message : String(e);
  return new DriverError('Transient', APPLIANCE_DRIVER, op, `${op}: ${timedOut ? 'timed out' : `appliance unreachable: ${message}`}`, {
    cause: e,
    reason: timedOut ? 'Timeout' : 'Unavailable',
  });
}

/** An answer that is not what the API documents (wrong endpoint, another version). */
export function badApplianceResponse(op: string, field: string, message: string): DriverError {
  return new DriverError('Fatal', APPLIANCE_DRIVER, op, `${op}: the appliance's answer is not as documented: ${field}: ${message} (is --appliance-url the API base, e.g. https://appliance:8443?)`, {
    reason: 'BadResponse',
    details: { field },
  });
}

/**
 * A fault the simulator injected (a DriverError from kernel.call), as the simulated appliance puts it on the wire,
 * chosen so that fromApplianceResponse gives back the same kind and reason.
 */
export function injectedApplianceFault(e: DriverError): { status: number; body: ApplianceErrorBody } {
  if (e.kind === 'Throttled') return { status: 429, body: { error: 'too many requests', code: 'throttled' } };
  if (e.kind === 'Conflict') return { status: 409, body: { error: 'the VM record is being changed by another request', code: 'conflict' } };
  if (e.reason === 'Timeout') return { status: 504, body: { error: 'gateway timeout', code: 'timeout' } };
  if (e.reason === 'Unavailable') return { status: 503, body: { error: 'service unavailable', code: 'unavailable' } };
  return { status: 500, body: { error: `internal error: ${e.message}`, code: 'internal' } };
}
