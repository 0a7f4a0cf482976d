// Why: one line per simulated event, virtual timestamp first, with a running hash so two runs of one seed can
// be compared byte for byte without keeping every line.
import { createHash, type Hash } from 'node:crypto';

export type TraceValue = string | number | boolean | null | undefined;

export interface TraceOptions {
  /** Keep the lines in memory (the CLI and tests do; long benchmarks need not). Default true. */
  keepLines?: boolean;
  /** The virtual time at which the trace's clock reads 0. */
  epochMs: number;
  /** Called with each line as it is written. */
  sink?: (line: string) => void;
}

function formatValue(v: TraceValue): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s;
}

export class Trace {
  readonly lines: string[] = [];
  private readonly hasher: Hash = createHash('sha256');
  private count = 0;
  private readonly keepLines: boolean;

  constructor(
    private readonly now: () => number,
    private readonly options: TraceOptions,
  ) {
    this.keepLines = options.keepLines ?? true;
  }

  /** Writes `T+000012.345 event k=v ...`; undefined fields are left out, keys keep their given order. */
  emit(event: string, fields: Record<string, TraceValue> = {}): void {
    const t = ((this.now() - this.options.epochMs) / 1000).toFixed(3).padStart(10, '0');
    let line = `T+${t} ${event}`;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
    this.write(line);
  }

  /** Writes a line as given (the header lines: seed and fault plan). */
  raw(line: string): void {
    this.write(line);
  }

  private write(line: string): void {
    this.count++;
    this.hasher.update(line + '\n');
    if (this.keepLines) this.lines.push(line);
    this.options.sink?.(line);
  }

  get eventCount(): number {
    return this.count;
  }

  /** sha256 of every line so far, each ended by a newline. */
  hash(): string {
    return this.hasher.copy().digest('hex');
  }

  text(): string {
    return this.lines.join('\n') + (this.lines.length ? '\n' : '');
  }
}
