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
  // Numbers, booleans and null never print a space, a quote or '=': only strings may need quoting.
  if (typeof v !== 'string') return String(v);
  const s = v;
  return /[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s;
}

export class Trace {
  readonly lines: string[] = [];
  private readonly hasher: Hash = createHash('sha256');
  /** Lines not yet fed to the hasher: sha256 over the concatenation equals sha256 fed line by line, in fewer calls. */
  private unhashed = '';
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
    for (const k in fields) {
      const v = fields[k];
      if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
    }
    this.write(line);
  }

  /** Writes a line as given (the header lines: seed and fault plan). */
  raw(line: string): void {
    this.write(line);
  }

  private write(line: string): void {
    this.count++;
    this.unhashed += line + '\n';
    if (this.unhashed.length >= 1 << 16) this.flushHash();
    if (this.keepLines) this.lines.push(line);
    this.options.sink?.(line);
  }

  get eventCount(): number {
    return this.count;
  }

  /** sha256 of every line so far, each ended by a newline. */
  hash(): string {
    this.flushHash();
    return this.hasher.copy().digest('hex');
  }

  private flushHash(): void {
    if (this.unhashed === '') return;
    this.hasher.update(this.unhashed);
    this.unhashed = '';
  }

  text(): string {
    return this.lines.join('\n') + (this.lines.length ? '\n' : '');
  }
}
