// Why: a watch's event handler is the caller's code; when it throws, the event it was given is lost. Both cluster
// drivers then end the stream with this one error (done resolves with it), so the caller learns why instead of
// waiting forever on a stream that silently dropped what it was waiting for.
import { DriverError } from '../errors.ts';
import type { JsonObject } from '../json.ts';

export function watchHandlerError(e: unknown, details?: JsonObject): DriverError {
  const message = e instanceof Error ? e.message : String(e);
  return new DriverError('Fatal', 'kubernetes', 'kube.watch', `the watch event handler threw: ${message}`, {
    reason: 'HandlerFailed',
    cause: e,
    ...(details ? { details } : {}),
  });
}
