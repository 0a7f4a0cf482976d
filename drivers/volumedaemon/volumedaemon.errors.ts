// Why: the ONE mapping of the Volume Daemon's answers (HTTP statuses, failed operations' error_code) to
// DriverError kinds, for the real client and the simulated port alike.
import { DriverError, kindFromHttpStatus, type DriverErrorKind } from '../errors.ts';

export const VOLUMEDAEMON_DRIVER_NAME = 'volumedaemon';

/** HTTP status (of a response, or a failed operation's error_code) → kind and reason. */
export function classifyDaemonStatus(status: number): { kind: DriverErrorKind; reason?: string } {
  if (status === 504 || status === 408) return { kind: 'Transient', reason: 'Timeout' };
  if (status === 503 || status === 502) return { kind: 'Transient', reason: 'Unavailable' };
  if (status === 429) return { kind: 'Throttled', reason: 'TooManyRequests' };
  if (status === 500) return { kind: 'Transient', reason: 'InternalError' };
  return { kind: kindFromHttpStatus(status) };
}

export function fromDaemonStatus(op: string, status: number, message: string): DriverError {
  const { kind, reason } = classifyDaemonStatus(status);
  return new DriverError(kind, VOLUMEDAEMON_DRIVER_NAME, op, `${op}: ${message}`, { code: status, ...(reason ? { reason } : {}) });
}

/** A failed HTTP response: the daemon's `{ error, code }` body, or the status alone. */
export function fromDaemonHttp(op: string, status: number, bodyText: string): DriverError {
  let message = `HTTP ${status}`;
  try {
    const b = JSON.parse(bodyText) as { error?: unknown };
    if (typeof b.error === 'string') message = `${b.error} (HTTP ${status})`;
  } catch {
    if (bodyText) message = `HTTP ${status}: ${bodyText.slice(0, 200)}`;
  }
  return fromDaemonStatus(op, status, message);
}

export function fromDaemonNetwork(op: string, e: unknown, timedOut: boolean): DriverError {
  const message = e instanceof Error ? e.message : String(e);
  return new DriverError('Transient', VOLUMEDAEMON_DRIVER_NAME, op, `${op}: ${timedOut ? 'timed out' : `unreachable: ${message}`}`, {
    cause: e,
    reason: timedOut ? 'Timeout' : 'Unavailable',
  });
}

/** An injected simulator fault, as the simulated daemon server puts it on the wire. */
export function injectedDaemonFault(e: DriverError): { status: number; body: { error: string; code: string } } {
  if (e.kind === 'Throttled') return { status: 429, body: { error: 'too many requests', code: 'throttled' } };
  if (e.kind === 'Conflict') return { status: 409, body: { error: 'operation in progress on this volume', code: 'conflict' } };
  if (e.reason === 'Timeout') return { status: 504, body: { error: 'gateway timeout', code: 'timeout' } };
  if (e.reason === 'Unavailable') return { status: 503, body: { error: 'service unavailable', code: 'unavailable' } };
  return { status: 500, body: { error: `internal error: ${e.message}`, code: 'internal' } };
}
