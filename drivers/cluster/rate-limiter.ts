// Why: a client-side rate limit on every Kubernetes request, as client-go has (QPS 5, burst 10 by default), so
// a busy engine cannot flood an API server. Time comes from the injected clock, so it is testable on virtual time.
import type { ClockPort } from '../clock/clock.port.ts';

export interface RateLimiterOptions {
  /** Sustained requests per second. 0 or Infinity turns the limit off. */
  qps: number;
  /** Requests allowed at once after an idle period. */
  burst: number;
  clock: ClockPort;
}

/** client-go's defaults (rest.Config QPS and Burst). */
export const DEFAULT_QPS = 5;
export const DEFAULT_BURST = 10;

/**
 * A token bucket with reservations (golang.org/x/time/rate): each `take` reserves one token at once, possibly
 * driving the balance negative, and waits until the bucket would have refilled that far. Reservations are
 * served in call order, so waiters never overtake each other.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;
  private readonly unlimited: boolean;

  constructor(private readonly opts: RateLimiterOptions) {
    if (!(opts.qps >= 0)) throw new RangeError(`rate limiter: qps must be >= 0, got ${opts.qps}`);
    if (!Number.isInteger(opts.burst) || opts.burst < 1) throw new RangeError(`rate limiter: burst must be an integer >= 1, got ${opts.burst}`);
    this.unlimited = opts.qps === 0 || opts.qps === Number.POSITIVE_INFINITY;
    this.tokens = opts.burst;
    this.lastMs = opts.clock.now();
  }

  /** How long a request made now would wait, without reserving anything. */
  delayMs(): number {
    if (this.unlimited) return 0;
    const t = this.refill(this.opts.clock.now());
    return t >= 1 ? 0 : Math.ceil(((1 - t) / this.opts.qps) * 1000);
  }

  /** Waits for a token. When `signal` aborts first, the reservation is returned and the abort reason thrown. */
  async take(signal?: AbortSignal): Promise<void> {
    if (this.unlimited) return;
    signal?.throwIfAborted();
    const now = this.opts.clock.now();
    this.tokens = this.refill(now) - 1;
    this.lastMs = now;
    if (this.tokens >= 0) return;
    const waitMs = Math.ceil((-this.tokens / this.opts.qps) * 1000);
    try {
      await this.opts.clock.sleep(waitMs, signal);
    } catch (e) {
      this.tokens = Math.min(this.opts.burst, this.tokens + 1);
      throw e;
    }
  }

  private refill(nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    return Math.min(this.opts.burst, this.tokens + (elapsedMs / 1000) * this.opts.qps);
  }
}
