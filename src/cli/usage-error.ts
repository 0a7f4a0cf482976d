// Why: bad input on the command line ends with one line naming the problem and exit code 2.
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseSeed(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`--seed must be a non-negative integer, got "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new UsageError(`--seed must be at most ${Number.MAX_SAFE_INTEGER}, got "${value}"`);
  return n;
}
