// Why: the one error type every port implementation (real or simulated) throws for expected operating failures.
import type { JsonObject } from './json.ts';

export const DRIVER_ERROR_KINDS = ['Transient', 'Throttled', 'Conflict', 'NotFound', 'Unauthorized', 'Invalid', 'Fatal'] as const;
export type DriverErrorKind = (typeof DRIVER_ERROR_KINDS)[number];

/** The JSON-safe form of a failure, as kept in chart context and in status. */
export interface StepError {
  kind: DriverErrorKind | 'Internal';
  driver: string;
  op: string;
  message: string;
  /** A finer reason within the kind: `Timeout`, `Expired` (410 Gone), `AlreadyExists`, `LeaseLost`, `StaleFencingToken`. */
  reason?: string;
  /** The backend's own status or error code, where there is one (HTTP status, CloudStack errorcode). */
  code?: number;
}

export interface DriverErrorOptions {
  cause?: unknown;
  reason?: string;
  code?: number;
  /** Structured context: the object, the cluster, the group. Never secrets. */
  details?: JsonObject;
}

/**
 * Thrown by every port implementation for an expected operating failure: the backend said no, was
 * unreachable, or was too slow. `kind` is the discriminant that retry guards read. Programmer errors
 * are never DriverErrors.
 */
export class DriverError extends Error {
  override readonly name = 'DriverError';
  readonly reason?: string;
  readonly code?: number;
  readonly details?: JsonObject;

  constructor(
    readonly kind: DriverErrorKind,
    readonly driver: string,
    readonly op: string,
    message: string,
    options: DriverErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.reason !== undefined) this.reason = options.reason;
    if (options.code !== undefined) this.code = options.code;
    if (options.details !== undefined) this.details = options.details;
  }

  /** Transient, Throttled and Conflict may succeed when tried again; the others will not. */
  get retryable(): boolean {
    return this.kind === 'Transient' || this.kind === 'Throttled' || this.kind === 'Conflict';
  }

  toStepError(): StepError {
    const e: StepError = { kind: this.kind, driver: this.driver, op: this.op, message: this.message };
    if (this.reason !== undefined) e.reason = this.reason;
    if (this.code !== undefined) e.code = this.code;
    return e;
  }
}

export function isDriverError(e: unknown): e is DriverError {
  return e instanceof DriverError;
}

/** Any thrown value to a JSON-safe StepError; a non-DriverError is an `Internal` (programmer) error. */
export function toStepError(op: string, e: unknown): StepError {
  if (e instanceof DriverError) return e.toStepError();
  const message = e instanceof Error ? e.message : String(e);
  return { kind: 'Internal', driver: 'engine', op, message };
}

/** Maps an HTTP status to a DriverError kind: the one table for HTTP backends (Kubernetes, Volume Daemon). */
export function kindFromHttpStatus(status: number): DriverErrorKind {
  if (status === 401 || status === 403) return 'Unauthorized';
  if (status === 404) return 'NotFound';
  if (status === 409 || status === 410 || status === 412) return 'Conflict';
  if (status === 429) return 'Throttled';
  if (status === 400 || status === 405 || status === 415 || status === 422) return 'Invalid';
  if (status === 408 || status === 502 || status === 503 || status === 504 || status === 500) return 'Transient';
  return 'Fatal';
}
