// Why: the JSON-safe form of a failed step as charts keep it in context (machines/ cannot import drivers/).
// Structurally identical to drivers/errors.ts StepError, so a DriverError's toStepError() fits it.

export type StepErrorKind = 'Transient' | 'Throttled' | 'Conflict' | 'NotFound' | 'Unauthorized' | 'Invalid' | 'Fatal' | 'Internal';

export interface StepError {
  kind: StepErrorKind;
  driver: string;
  op: string;
  message: string;
  /** A finer reason within the kind: `Timeout`, `Expired`, `AlreadyExists`, `LeaseLost`, `StaleFencingToken`. */
  reason?: string;
  code?: number;
}

const KINDS: readonly string[] = ['Transient', 'Throttled', 'Conflict', 'NotFound', 'Unauthorized', 'Invalid', 'Fatal', 'Internal'];

/**
 * Any thrown value to a StepError. An object that already has the StepError shape (a DriverError, or a
 * StepError thrown by a wired step) keeps its kind and reason; anything else is an `Internal` error.
 */
export function asStepError(op: string, e: unknown): StepError {
  if (e !== null && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    if (typeof o.kind === 'string' && KINDS.includes(o.kind) && typeof o.message === 'string') {
      const se: StepError = {
        kind: o.kind as StepErrorKind,
        driver: typeof o.driver === 'string' ? o.driver : 'engine',
        op: typeof o.op === 'string' ? o.op : op,
        message: o.message,
      };
      if (typeof o.reason === 'string') se.reason = o.reason;
      if (typeof o.code === 'number') se.code = o.code;
      return se;
    }
    if (e instanceof Error) return { kind: 'Internal', driver: 'engine', op, message: e.message };
  }
  return { kind: 'Internal', driver: 'engine', op, message: String(e) };
}

/**
 * Conflict reasons that trying again cannot fix: another failover holds the lock, the group is suspended, the
 * group changed owner or version, this failover was superseded, the request failed validation.
 */
export const PERMANENT_REASONS: readonly string[] = ['Locked', 'Suspended', 'NotOwner', 'VersionMismatch', 'Superseded', 'ValidationFailed'];

/** Transient, Throttled and Conflict may succeed when tried again (as DriverError.retryable says), unless the reason is permanent. */
export function isRetryable(e: StepError): boolean {
  if (e.reason !== undefined && PERMANENT_REASONS.includes(e.reason)) return false;
  return e.kind === 'Transient' || e.kind === 'Throttled' || e.kind === 'Conflict';
}

/**
 * The lease is gone (expired, or another failover holds the lock) or the group moved on under a newer failover
 * (Superseded): every side effect must stop.
 */
export function isLeaseLost(e: StepError): boolean {
  return e.kind === 'Conflict' && (e.reason === 'LeaseLost' || e.reason === 'StaleFencingToken' || e.reason === 'Superseded');
}
