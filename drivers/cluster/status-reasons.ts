// Why: Kubernetes names every refusal with a StatusReason (metav1.StatusReason) that follows from its HTTP code; the
// driver needs it when a proxy answers without a Status object, and the simulated API server writes it into its own.
// One table, so the two cannot drift apart.

/** The StatusReason the API server gives each HTTP code it refuses with. */
export const STATUS_REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};
