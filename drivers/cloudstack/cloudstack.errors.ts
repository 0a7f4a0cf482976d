// Why: the ONE mapping from CloudStack's answers (HTTP status, `errorcode`, `cserrorcode`, `errortext`, async job
// failures) to DriverError kinds. The real client, the simulated port and the simulated API server all go
// through it, so a rule the simulated cloud raises reaches the charts as the same kind the real cloud would give.
import { DriverError, type DriverErrorKind } from '../errors.ts';
import type { JsonObject } from '../json.ts';

export const CLOUDSTACK_DRIVER_NAME = 'cloudstack';

/** CloudStack's ApiErrorCode: the `errorcode` field, and the HTTP status of a failed synchronous call. */
export const CS_ERROR = {
  UNAUTHORIZED: 401,
  METHOD_NOT_ALLOWED: 405,
  API_LIMIT_EXCEED: 429,
  MALFORMED_PARAMETER_ERROR: 430,
  PARAM_ERROR: 431,
  UNSUPPORTED_ACTION_ERROR: 432,
  INTERNAL_ERROR: 530,
  ACCOUNT_ERROR: 531,
  ACCOUNT_RESOURCE_LIMIT_ERROR: 532,
  INSUFFICIENT_CAPACITY_ERROR: 533,
  RESOURCE_UNAVAILABLE_ERROR: 534,
  RESOURCE_ALLOCATION_ERROR: 535,
  RESOURCE_IN_USE_ERROR: 536,
  NETWORK_RULE_CONFLICT_ERROR: 537,
} as const;

/** CloudStack's CSExceptionErrorCode (`cserrorcode`): which Java exception was behind the error. */
export const CS_EXCEPTION = {
  CloudRuntimeException: 4250,
  ConcurrentOperationException: 4300,
  InsufficientCapacityException: 4325,
  InvalidParameterValueException: 4350,
  PermissionDeniedException: 4365,
  ResourceAllocationException: 4370,
  ResourceInUseException: 4375,
  ResourceUnavailableException: 4380,
  ServerApiException: 9999,
} as const;

/** An error as CloudStack states it: in a failed response or a failed async job's result. */
export interface CloudStackErrorBody {
  errorcode: number;
  cserrorcode?: number;
  errortext: string;
}

/**
 * Thrown by the simulated cloud (never by the real client): CloudStack's own error, before mapping. The
 * simulated API server serialises it as CloudStack does; the simulated port maps it with fromCloudStackError.
 */
export class CloudStackApiError extends Error {
  override readonly name = 'CloudStackApiError';
  constructor(
    readonly errorcode: number,
    readonly cserrorcode: number,
    readonly errortext: string,
  ) {
    super(errortext);
  }
  body(): CloudStackErrorBody {
    return { errorcode: this.errorcode, cserrorcode: this.cserrorcode, errortext: this.errortext };
  }
}

/** A bad parameter value (431, InvalidParameterValueException): CloudStack's answer to most rule violations. */
export function invalidParam(text: string): CloudStackApiError {
  return new CloudStackApiError(CS_ERROR.PARAM_ERROR, CS_EXCEPTION.InvalidParameterValueException, text);
}

/** An id that names nothing: CloudStack answers 431 with this text (ParamProcessWorker's uuid translation). */
export function entityNotFound(command: string, param: string, value: string): CloudStackApiError {
  return invalidParam(
    `Unable to execute API command ${command.toLowerCase()} due to invalid value. Invalid parameter ${param} value=${value} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.`,
  );
}

/** The texts by which CloudStack says "no such thing" (it has no 404). */
const NOT_FOUND_TEXT = /entity does not exist|unable to find|does not exist|not found|couldn't find|cannot find/i;
const CONCURRENT_TEXT = /concurrent operation|other active .*work|is being used by another|another job|locked/i;

/** The one table: CloudStack errorcode (or HTTP status) plus text → DriverError kind and reason. */
export function classifyCloudStackError(code: number, csCode: number | undefined, text: string): { kind: DriverErrorKind; reason?: string } {
  if (code === CS_ERROR.UNAUTHORIZED || code === 403 || code === CS_ERROR.ACCOUNT_ERROR) return { kind: 'Unauthorized' };
  if (code === CS_ERROR.UNSUPPORTED_ACTION_ERROR) return { kind: 'Unauthorized', reason: 'CommandNotAvailable' };
  if (code === CS_ERROR.API_LIMIT_EXCEED) return { kind: 'Throttled', reason: 'TooManyRequests' };
  if (code === CS_ERROR.PARAM_ERROR || code === CS_ERROR.MALFORMED_PARAMETER_ERROR || code === 400) {
    if (NOT_FOUND_TEXT.test(text)) return { kind: 'NotFound' };
    return { kind: 'Invalid' };
  }
  if (code === CS_ERROR.METHOD_NOT_ALLOWED) return { kind: 'Invalid' };
  if (code === CS_ERROR.RESOURCE_IN_USE_ERROR || code === CS_ERROR.NETWORK_RULE_CONFLICT_ERROR) return { kind: 'Conflict', reason: 'ResourceInUse' };
  if (csCode === CS_EXCEPTION.ConcurrentOperationException || (code === CS_ERROR.INTERNAL_ERROR && CONCURRENT_TEXT.test(text))) {
    return { kind: 'Conflict', reason: 'ConcurrentOperation' };
  }
  if (code === CS_ERROR.ACCOUNT_RESOURCE_LIMIT_ERROR) return { kind: 'Fatal', reason: 'ResourceLimit' };
  if (code === CS_ERROR.INSUFFICIENT_CAPACITY_ERROR) return { kind: 'Transient', reason: 'InsufficientCapacity' };
  if (code === CS_ERROR.RESOURCE_UNAVAILABLE_ERROR) return { kind: 'Transient', reason: 'ResourceUnavailable' };
  if (code === CS_ERROR.RESOURCE_ALLOCATION_ERROR) return { kind: 'Transient', reason: 'ResourceAllocation' };
  if (code === CS_ERROR.INTERNAL_ERROR) return { kind: 'Transient', reason: 'InternalError' };
  if (code === 404) return { kind: 'Fatal', reason: 'WrongEndpoint' };
  if (code === 502 || code === 503) return { kind: 'Transient', reason: 'Unavailable' };
  if (code === 504 || code === 408) return { kind: 'Transient', reason: 'Timeout' };
  if (code >= 500) return { kind: 'Transient', reason: 'InternalError' };
  return { kind: 'Fatal' };
}

/** A CloudStack error body (from a failed response or a failed job) → DriverError. */
export function fromCloudStackError(op: string, body: CloudStackErrorBody, details?: JsonObject): DriverError {
  const { kind, reason } = classifyCloudStackError(body.errorcode, body.cserrorcode, body.errortext);
  return new DriverError(kind, CLOUDSTACK_DRIVER_NAME, op, `${op}: ${body.errortext} (CloudStack errorcode ${body.errorcode})`, {
    code: body.errorcode,
    ...(reason ? { reason } : {}),
    ...(details ? { details } : {}),
  });
}

/**
 * A failed HTTP response → DriverError. CloudStack puts `{ "<command>response": { errorcode, cserrorcode,
 * errortext } }` in the body; a proxy in front of it may answer with anything, so the status alone decides then.
 */
export function fromCloudStackHttp(op: string, status: number, bodyText: string): DriverError {
  const body = parseErrorBody(bodyText);
  if (body) return fromCloudStackError(op, body);
  const { kind, reason } = classifyCloudStackError(status, undefined, bodyText);
  return new DriverError(kind, CLOUDSTACK_DRIVER_NAME, op, `${op}: HTTP ${status}${bodyText ? `: ${bodyText.slice(0, 200)}` : ''}`, {
    code: status,
    ...(reason ? { reason } : {}),
  });
}

/** A request that never got an answer (connection refused, reset, aborted by our own timeout). */
export function fromCloudStackNetwork(op: string, e: unknown, timedOut: boolean): DriverError {
  const message = e instanceof Error ? e.message : String(e);
  return new DriverError('Transient', CLOUDSTACK_DRIVER_NAME, op, `${op}: ${timedOut ? 'timed out' : `unreachable: ${message}`}`, {
    cause: e,
    reason: timedOut ? 'Timeout' : 'Unavailable',
  });
}

/** The error body inside `{ "<anything>response": { errorcode, errortext } }` or `{ errorresponse: … }`. */
export function parseErrorBody(text: string): CloudStackErrorBody | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!json || typeof json !== 'object') return undefined;
  for (const value of Object.values(json as Record<string, unknown>)) {
    if (value && typeof value === 'object' && 'errorcode' in value) {
      const v = value as Record<string, unknown>;
      return {
        errorcode: Number(v.errorcode),
        ...(v.cserrorcode !== undefined ? { cserrorcode: Number(v.cserrorcode) } : {}),
        errortext: String(v.errortext ?? ''),
      };
    }
  }
  return undefined;
}

/**
 * A fault the simulator injected (a DriverError from kernel.call), as the simulated API server puts it on the
 * wire, chosen so that fromCloudStackHttp gives back the same kind and reason: Throttled → 429, Conflict →
 * 530 ConcurrentOperationException, Timeout → 504, Unavailable → 503, other Transient → 530.
 */
export function injectedFaultToHttp(e: DriverError): { status: number; body?: CloudStackErrorBody; text?: string } {
  if (e.kind === 'Throttled') {
    return { status: 429, body: { errorcode: 429, cserrorcode: CS_EXCEPTION.ServerApiException, errortext: 'The given user has reached his/her account api limit, please retry later.' } };
  }
  if (e.kind === 'Conflict') {
    return { status: 530, body: { errorcode: 530, cserrorcode: CS_EXCEPTION.ConcurrentOperationException, errortext: 'Unable to complete the operation: concurrent operation in progress' } };
  }
  if (e.reason === 'Timeout') return { status: 504, text: 'Gateway Timeout' };
  if (e.reason === 'Unavailable') return { status: 503, text: 'Service Unavailable' };
  return { status: 530, body: { errorcode: 530, cserrorcode: CS_EXCEPTION.CloudRuntimeException, errortext: `Internal error executing command: ${e.message}` } };
}
