// Why: the simulated API server must fail the way a real one does (same kind, HTTP code, reason and message
// text), so callers and the contract suite cannot tell it from a real cluster. Every store error is built here.
import { DriverError } from '../../drivers/errors.ts';
import type { Json, JsonObject } from '../../drivers/json.ts';

export const KUBE_DRIVER = 'kubernetes';

/** What an error message needs to know of a resource type. */
export interface TypeNames {
  group: string;
  kind: string;
  plural: string;
}

/** One field error, as the real server lists it in `details.causes`. */
export interface FieldCause {
  /** The field path, `spec.template.spec.containers[0].image`. */
  field: string;
  /** The message without the field: `Required value`, `Unsupported value: "x": supported values: ...`. */
  message: string;
  /** FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueTooLong, FieldValueTooMany, FieldValueTypeInvalid, FieldValueForbidden, FieldValueDuplicate. */
  reason: string;
}

/** `deployments.apps`, or `configmaps` for the core group. */
export function qualifiedResource(t: TypeNames): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

/** `Deployment.apps`, or `ConfigMap` for the core group. */
export function qualifiedKind(t: TypeNames): string {
  return t.group ? `${t.kind}.${t.group}` : t.kind;
}

function details(t: TypeNames, name: string, extra: JsonObject = {}): JsonObject {
  return { name, group: t.group, kind: t.plural, ...extra };
}

export function notFound(op: string, t: TypeNames, name: string): DriverError {
  return new DriverError('NotFound', KUBE_DRIVER, op, `${qualifiedResource(t)} "${name}" not found`, { reason: 'NotFound', code: 404, details: details(t, name) });
}

/** An unknown group, version or kind: what kubectl prints for a resource the server does not serve. */
export function unknownResource(op: string, what: string): DriverError {
  return new DriverError('NotFound', KUBE_DRIVER, op, 'the server could not find the requested resource', {
    reason: 'NotFound',
    code: 404,
    details: { resource: what },
  });
}

export function alreadyExists(op: string, t: TypeNames, name: string): DriverError {
  return new DriverError('Conflict', KUBE_DRIVER, op, `${qualifiedResource(t)} "${name}" already exists`, {
    reason: 'AlreadyExists',
    code: 409,
    details: details(t, name),
  });
}

export const MODIFIED_SINCE = 'the object has been modified; please apply your changes to the latest version and try again';

/** Optimistic concurrency failure: 409, reason Conflict. */
export function conflict(op: string, t: TypeNames, name: string, why = MODIFIED_SINCE, extra: JsonObject = {}): DriverError {
  return new DriverError('Conflict', KUBE_DRIVER, op, `Operation cannot be fulfilled on ${qualifiedResource(t)} "${name}": ${why}`, {
    reason: 'Conflict',
    code: 409,
    details: details(t, name, extra),
  });
}

export function formatCause(c: FieldCause): string {
  return `${c.field}: ${c.message}`;
}

/** 422 Invalid: `Kind.group "name" is invalid: field: message` (several causes in brackets, as the server prints them). */
export function invalid(op: string, t: TypeNames, name: string, causes: FieldCause[]): DriverError {
  const body = causes.length === 1 ? formatCause(causes[0]) : `[${causes.map(formatCause).join(', ')}]`;
  return new DriverError('Invalid', KUBE_DRIVER, op, `${qualifiedKind(t)} "${name}" is invalid: ${body}`, {
    reason: 'Invalid',
    code: 422,
    details: {
      name,
      group: t.group,
      kind: t.kind,
      causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })),
    },
  });
}

/** 400 Bad Request (a malformed request rather than an invalid object): kind Invalid. */
export function badRequest(op: string, message: string, extra: JsonObject = {}): DriverError {
  return new DriverError('Invalid', KUBE_DRIVER, op, message, { reason: 'BadRequest', code: 400, details: extra });
}

/** 410 Gone: the watch's resourceVersion is older than the history the server keeps. */
export function expired(op: string, requested: number, oldest: number): DriverError {
  return new DriverError('Conflict', KUBE_DRIVER, op, `too old resource version: ${requested} (${oldest})`, {
    reason: 'Expired',
    code: 410,
    details: { requested: String(requested), oldest: String(oldest) },
  });
}

/** 504: a resourceVersion newer than the server has (a version from another cluster, for example). */
export function tooLargeResourceVersion(op: string, requested: number, current: number): DriverError {
  return new DriverError('Transient', KUBE_DRIVER, op, `Timeout: Too large resource version: ${requested}, current: ${current}`, {
    reason: 'Timeout',
    code: 504,
    details: { requested: String(requested), current: String(current) },
  });
}

/** Formats a value the way field errors print it: strings quoted, numbers and booleans bare, the rest as JSON. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === undefined) return 'null';
  return JSON.stringify(v as Json);
}

export const cause = {
  required: (field: string, detail?: string): FieldCause => ({ field, reason: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value' }),
  invalid: (field: string, value: unknown, detail: string): FieldCause => ({ field, reason: 'FieldValueInvalid', message: `Invalid value: ${showValue(value)}: ${detail}` }),
  notSupported: (field: string, value: unknown, supported: readonly unknown[]): FieldCause => ({
    field,
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${showValue(value)}: supported values: ${supported.map(showValue).join(', ')}`,
  }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldCause => ({ field, reason: 'FieldValueTypeInvalid', message: `Invalid value: ${showValue(value)}: ${detail}` }),
  tooLong: (field: string, max: number): FieldCause => ({ field, reason: 'FieldValueTooLong', message: `Too long: may not be longer than ${max}` }),
  tooMany: (field: string, actual: number, max: number): FieldCause => ({ field, reason: 'FieldValueTooMany', message: `Too many: ${actual}: must have at most ${max} items` }),
  forbidden: (field: string, detail: string): FieldCause => ({ field, reason: 'FieldValueForbidden', message: `Forbidden: ${detail}` }),
  duplicate: (field: string, value: unknown): FieldCause => ({ field, reason: 'FieldValueDuplicate', message: `Duplicate value: ${showValue(value)}` }),
  immutable: (field: string, value: unknown): FieldCause => ({ field, reason: 'FieldValueInvalid', message: `Invalid value: ${showValue(value)}: field is immutable` }),
};

/** Server-side apply conflicts: 409, reason Conflict, one cause per field with the manager that owns it. */
export function applyConflict(op: string, t: TypeNames, name: string, message: string, fields: { manager: string; apiVersion: string; field: string }[]): DriverError {
  return new DriverError('Conflict', KUBE_DRIVER, op, message, {
    reason: 'Conflict',
    code: 409,
    details: {
      name,
      group: t.group,
      kind: t.plural,
      causes: fields.map((f) => ({ reason: 'FieldManagerConflict', message: `conflict with "${f.manager}" using ${f.apiVersion}`, field: f.field })),
    },
  });
}

/** A failed JSON patch (a `test` op that did not hold, or a path that does not resolve): 422. */
export function patchFailed(op: string, t: TypeNames, name: string, why: string): DriverError {
  return new DriverError('Invalid', KUBE_DRIVER, op, `the server rejected our request due to an error in our request: ${why}`, {
    reason: 'Invalid',
    code: 422,
    details: { name, group: t.group, kind: t.plural },
  });
}
