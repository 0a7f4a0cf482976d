// Why: a step is several port calls; with a few percent of calls failing transiently (throttling, a lost answer)
// a whole step would fail too often and burn its attempt budget. Each call is retried a few times first (bounded,
// with backoff on the injected clock). Reads retry any retryable failure; writes retry only Transient and
// Throttled (every write the engine makes is idempotent on re-run), never a Conflict: a refused precondition
// or lease is an answer, not a glitch. Watches are not wrapped (the watch-wait helper re-lists on its own), and
// every method runs with the port itself as `this`, never the wrapper.
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { isDriverError } from '../../drivers/errors.ts';

export const CALL_ATTEMPTS_MAX = 3;
export const CALL_RETRY_BASE_MS = 200;

const READS = new Set(['get', 'list', 'getGroup', 'listClusters', 'listHistory']);
const NOT_WRAPPED = new Set(['watch']);

function signalOf(args: unknown[]): AbortSignal | undefined {
  const last = args[args.length - 1];
  const s = last !== null && typeof last === 'object' ? (last as { signal?: unknown }).signal : undefined;
  return s instanceof AbortSignal ? s : undefined;
}

/** The port with each call retried up to `attempts` times on a retryable failure. */
export function withCallRetries<T extends object>(port: T, clock: ClockPort, attempts = CALL_ATTEMPTS_MAX, baseMs = CALL_RETRY_BASE_MS): T {
  // One wrapper per method, made on its first read (a method replaced on the port gets its own).
  const wrapped = new Map<PropertyKey, { v: unknown; w: unknown }>();
  return new Proxy(port, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      const hit = wrapped.get(prop);
      if (hit?.v === v) return hit.w;
      const w = wrap(target, prop, v as (...a: unknown[]) => Promise<unknown>);
      wrapped.set(prop, { v, w });
      return w;
    },
  });

  function wrap(target: T, prop: PropertyKey, v: (...a: unknown[]) => Promise<unknown>): unknown {
    // Bound to the port itself: called with the proxy as `this`, a method's own calls to its helpers
    // (this.withKind, this.run) would come back through this trap and be turned into retried promises.
    if (typeof prop !== 'string' || NOT_WRAPPED.has(prop)) return v.bind(target);
    const read = READS.has(prop);
    return async (...args: unknown[]) => {
      for (let i = 0; ; i++) {
        try {
          return await v.apply(target, args);
        } catch (e) {
          const retry = isDriverError(e) && (read ? e.retryable : e.kind === 'Transient' || e.kind === 'Throttled') && i + 1 < attempts;
          const signal = signalOf(args);
          if (!retry || signal?.aborted) throw e;
          await clock.sleep(baseMs * 2 ** i, signal);
        }
      }
    };
  }
}
