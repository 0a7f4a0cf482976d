// Why: one pino root logger for the daemon and CLI, child loggers per failover or job carrying their IDs, and
// redaction of every secret-bearing field, so that no key or token reaches a log line.
import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths pino blanks out, at any depth the engine logs them. */
export const REDACT_PATHS = [
  'secretKey',
  'apiKey',
  'password',
  'token',
  'authorization',
  'headers.authorization',
  '*.secretKey',
  '*.apiKey',
  '*.password',
  '*.token',
  '*.authorization',
  '*.headers.authorization',
  '*.*.secretKey',
  '*.*.apiKey',
  '*.*.password',
  '*.*.token',
];

export interface LogOptions {
  level?: string;
  /** Where lines go (default stdout). The simulator passes an in-memory sink. */
  destination?: DestinationStream;
  /** Reads the time for each line; the simulator passes its virtual clock so logs are deterministic. */
  now?: () => number;
}

export function createRootLogger(options: LogOptions = {}): Logger {
  const now = options.now;
  return pino(
    {
      base: { service: 'failover-engine' },
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: now ? () => `,"time":"${new Date(now()).toISOString()}"` : pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });

export function failoverLog(parent: Logger, f: { failoverId: string; groupId: string; source: string; target: string; cluster?: string }): Logger {
  return parent.child({ failoverId: f.failoverId, groupId: f.groupId, source: f.source, target: f.target, ...(f.cluster ? { cluster: f.cluster } : {}) });
}

export function jobLog(parent: Logger, j: { jobId: string; correlationId: string; vmId: string }): Logger {
  return parent.child({ jobId: j.jobId, correlationId: j.correlationId, vmId: j.vmId });
}

/** An in-memory destination: every line as parsed JSON (tests, the simulator). */
export function memoryDestination(): DestinationStream & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s.trimEnd()) };
}
