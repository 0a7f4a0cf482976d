// Why: the real HTTP drivers (CloudStack, Volume Daemon, appliance) check their base URL and request bound the
// same way and send every request the same way: a real-time bound per request joined with the caller's signal,
// the caller's own abort passed through as is, and any other failure to get an answer mapped by the backend's
// one error mapper. Written once here so the three cannot drift apart.

/** Checks an http(s) URL field; `hint` says what to give, e.g. `give the daemon's address, e.g. http://127.0.0.1:8090`. */
export function checkHttpUrl(field: string, value: string, hint: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${field}: "${String(value)}" is not a URL; ${hint}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${field}: protocol ${url.protocol} is not http: or https:`);
}

/** Checks an optional per-request bound in milliseconds. */
export function checkRequestTimeout(field: string, ms: number | undefined): void {
  if (ms !== undefined && !(Number.isFinite(ms) && ms > 0)) {
    throw new Error(`${field}: must be a positive number of milliseconds, got ${ms}`);
  }
}

/**
 * One request, read to the end as text, within `timeoutMs` (and the caller's signal). The caller's abort
 * rethrows its reason; any other failure goes through `onFailure` (told whether the bound ran out), whose
 * error is thrown.
 */
export async function fetchText(
  fetchImpl: typeof fetch,
  url: string,
  init: Omit<RequestInit, 'signal'>,
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
  onFailure: (e: unknown, timedOut: boolean) => Error,
): Promise<{ res: Response; text: string }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
  try {
    const res = await fetchImpl(url, { ...init, signal });
    return { res, text: await res.text() };
  } catch (e) {
    if (callerSignal?.aborted) throw callerSignal.reason;
    throw onFailure(e, timeout.aborted);
  }
}
