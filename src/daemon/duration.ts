// Why: the CRDs carry durations as strings ("30s", "5m", "1h30m", as Kubernetes and Go write them) while the
// engine works in milliseconds. Parsing lives here so every bad value is reported the same way: the field, what
// was given, and how to write it.

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
/** A week: anything longer is a typo, not a timeout. */
export const DURATION_MS_MAX = 7 * 24 * 3_600_000;

/** A duration string such as "30s", "5m" or "1h30m" to milliseconds; throws DurationError naming `field`. */
export function parseDurationMs(value: unknown, field: string): number {
  if (typeof value !== 'string') throw new DurationError(field, value, 'must be a duration string');
  const text = value.trim();
  if (!DURATION.test(text)) throw new DurationError(field, value, 'is not a duration');
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]];
  ms = Math.round(ms);
  if (ms < 1) throw new DurationError(field, value, 'must be at least 1ms');
  if (ms > DURATION_MS_MAX) throw new DurationError(field, value, 'must be at most 168h (a week)');
  return ms;
}

/** Milliseconds back to the shortest duration string ("90000" → "1m30s"). */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  if (rest > 0) out += `${rest}ms`;
  return out;
}

/** A duration field that cannot be read: names the field, the value and the fix. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
  constructor(
    readonly field: string,
    readonly value: unknown,
    problem: string,
  ) {
    super(`${field}: ${JSON.stringify(value) ?? String(value)} ${problem}: write it as a number with a unit (ms, s, m, h), such as "30s", "5m" or "1h30m"`);
  }
}
