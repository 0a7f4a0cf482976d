// Why: the ONE place that maps AWS SDK (DynamoDB) failures to DriverError kinds, so retry guards see the same
// kinds whatever the backend. A failed condition becomes a Conflict whose reason the driver derives by
// re-reading the item (the SDK only says "the condition failed", never which part).
import { DriverError, type DriverErrorKind } from '../errors.ts';

export const DYNAMODB_DRIVER = 'dynamodb';

const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);
const CONFLICT = new Set(['ConditionalCheckFailedException', 'TransactionConflictException', 'ReplicatedWriteConflictException', 'ResourceInUseException', 'DuplicateItemException']);
const NOT_FOUND = new Set(['ResourceNotFoundException', 'TableNotFoundException', 'IndexNotFoundException']);
const INVALID = new Set(['ValidationException', 'SerializationException', 'InvalidParameterValueException', 'InvalidParameterException']);
const UNAUTHORIZED = new Set([
  'UnrecognizedClientException',
  'AccessDeniedException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'NotAuthorized',
  'CredentialsProviderError',
]);
const TRANSIENT = new Set(['InternalServerError', 'InternalFailure', 'ServiceUnavailable', 'ServiceUnavailableException', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'PriorRequestNotComplete', 'TransactionInProgressException']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);
/** An item collection (one group's partition) outgrew 10 GB: retrying cannot help. */
const FATAL = new Set(['ItemCollectionSizeLimitExceededException']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

function shape(e: unknown): SdkErrorShape {
  return typeof e === 'object' && e !== null ? (e as SdkErrorShape) : {};
}

/** The AWS error name (`ThrottlingException`) or the network error code (`ECONNRESET`). */
export function awsErrorName(e: unknown): string {
  const s = shape(e);
  if (s.code && NETWORK_CODES.has(s.code)) return s.code;
  return s.name ?? s.code ?? 'Error';
}

export function isConditionalCheckFailed(e: unknown): boolean {
  return shape(e).name === 'ConditionalCheckFailedException';
}

export function isResourceInUse(e: unknown): boolean {
  return shape(e).name === 'ResourceInUseException';
}

/** The mapping table: an SDK or network error to a DriverError kind. */
export function dynamoErrorKind(e: unknown): DriverErrorKind {
  const s = shape(e);
  const name = s.name ?? '';
  if (THROTTLED.has(name) || s.$retryable?.throttling) return 'Throttled';
  if (CONFLICT.has(name)) return 'Conflict';
  if (NOT_FOUND.has(name)) return 'NotFound';
  if (INVALID.has(name)) return 'Invalid';
  if (UNAUTHORIZED.has(name)) return 'Unauthorized';
  if (FATAL.has(name)) return 'Fatal';
  if (TRANSIENT.has(name) || (s.code !== undefined && NETWORK_CODES.has(s.code))) return 'Transient';
  const status = s.$metadata?.httpStatusCode;
  if (status === 429) return 'Throttled';
  if (status === 401 || status === 403) return 'Unauthorized';
  if (s.$fault === 'server' || (status !== undefined && status >= 500)) return 'Transient';
  // A failure below the HTTP layer (socket closed, DNS, TLS) carries no status: the request may be retried.
  if (status === undefined && s.$fault === undefined && /socket|network|connect|timed? ?out|EAI_AGAIN|hang up/i.test(s.message ?? '')) return 'Transient';
  return 'Fatal';
}

export interface MapContext {
  tableName?: string;
  /** For a failed condition: the reason and message the driver derived by re-reading the item. */
  conflict?: { reason: string; message: string };
  details?: Record<string, string>;
}

/** Any error an SDK call threw, as a DriverError (a DriverError passes through unchanged). */
export function toDriverError(op: string, e: unknown, ctx: MapContext = {}): DriverError {
  if (e instanceof DriverError) return e;
  const s = shape(e);
  const kind = dynamoErrorKind(e);
  const name = awsErrorName(e);
  const status = s.$metadata?.httpStatusCode;
  const base = s.message && s.message !== 'UnknownError' ? s.message : name;
  let message = `${op}: ${name}: ${base}`;
  let reason: string = name;
  if (kind === 'Conflict' && ctx.conflict) {
    reason = ctx.conflict.reason;
    message = ctx.conflict.message;
  } else if (kind === 'Conflict' && isConditionalCheckFailed(e)) {
    reason = 'ConditionFailed';
  } else if (kind === 'NotFound' && ctx.tableName !== undefined) {
    reason = 'TableNotFound';
    message =
      `${op}: DynamoDB table ${JSON.stringify(ctx.tableName)} (or its index GSI1) does not exist in this region/endpoint: ` +
      `create it with ensureTable(client, ${JSON.stringify(ctx.tableName)}) from drivers/globalstate/dynamodb.table.ts ` +
      `(PK/SK strings, GSI1 on GSI1PK/GSI1SK, PAY_PER_REQUEST; see docs/dynamodb.md), or fix the table name`;
  } else if (kind === 'Invalid' && /specified index/i.test(base)) {
    message = `${op}: the table has no index GSI1: recreate the table with ensureTable (docs/dynamodb.md) (${base})`;
  } else if (kind === 'Unauthorized') {
    message = `${op}: DynamoDB refused the credentials (${name}: ${base}): check the AWS credentials and that the IAM policy in docs/dynamodb.md is attached`;
  } else if (kind === 'Throttled') {
    message = `${op}: DynamoDB throttled the request (${name}) and the retries ran out: lower the request rate or raise the table's capacity`;
  }
  const details: Record<string, string> = { awsError: name, ...ctx.details };
  if (ctx.tableName !== undefined) details.table = ctx.tableName;
  return new DriverError(kind, DYNAMODB_DRIVER, op, message, { cause: e, reason, ...(status !== undefined ? { code: status } : {}), details });
}
