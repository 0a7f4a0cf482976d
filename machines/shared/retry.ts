// Why: the one backoff rule the charts share, so a restored actor recomputes the same deadline from context.

/** Exponential backoff: base * 2^(attempt-1), capped at maxMs; attempt counts from 1. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const n = Math.max(1, attempt);
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, n - 1));
}
