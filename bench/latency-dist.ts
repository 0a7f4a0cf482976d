// Why: the expected critical path of the jittered latency model needs exact distributions, not sampled ones: the
// simulator draws every latency and every piece of physics as baseMs + a uniform whole number in [0, jitterMs]
// (simulator/kernel.ts `draw`), so every quantity on the chain is a whole number of milliseconds with a finite
// distribution. Sums (one pod after another) are convolutions, maxima of independent copies (pods in parallel)
// are products of distribution functions, and the expectation is then exact, with no sampling error.
import type { LatencyModel } from '../simulator/faults.ts';

/** A distribution over whole milliseconds: P(X = min + i) = p[i]. */
export class Dist {
  constructor(
    readonly min: number,
    readonly p: Float64Array,
  ) {}

  static point(v: number): Dist {
    return new Dist(v, Float64Array.of(1));
  }

  /** baseMs + a uniform whole number in [0, jitterMs] (both included), as kernel.draw draws it. */
  static of(model: LatencyModel): Dist {
    const n = Math.max(0, Math.floor(model.jitterMs)) + 1;
    return new Dist(model.baseMs, new Float64Array(n).fill(1 / n));
  }

  get max(): number {
    return this.min + this.p.length - 1;
  }

  mean(): number {
    let m = 0;
    for (let i = 0; i < this.p.length; i++) m += (this.min + i) * this.p[i];
    return m;
  }

  /** The distribution of f(X) for a non-decreasing f on whole numbers (floor(x/2), x − floor(x/2)). */
  map(f: (x: number) => number): Dist {
    const lo = f(this.min);
    const out = new Float64Array(f(this.max) - lo + 1);
    for (let i = 0; i < this.p.length; i++) out[f(this.min + i) - lo] += this.p[i];
    return new Dist(lo, out);
  }

  /** X + Y for independent X and Y. */
  plus(o: Dist): Dist {
    const out = new Float64Array(this.p.length + o.p.length - 1);
    for (let i = 0; i < this.p.length; i++) {
      const a = this.p[i];
      if (a === 0) continue;
      for (let j = 0; j < o.p.length; j++) out[i + j] += a * o.p[j];
    }
    return new Dist(this.min + o.min, out);
  }

  /** P(X ≤ t). */
  cdf(t: number): number {
    if (t < this.min) return 0;
    if (t >= this.max) return 1;
    let s = 0;
    for (let i = 0; i <= t - this.min; i++) s += this.p[i];
    return s;
  }

  /** The maximum of independent variables: `n` copies of each listed distribution (items with n = 0 are ignored). */
  static maxOf(items: ReadonlyArray<readonly [Dist, number]>): Dist {
    const live = items.filter(([, n]) => n > 0);
    if (live.length === 0) return Dist.point(0);
    const lo = Math.max(...live.map(([d]) => d.min));
    const hi = Math.max(...live.map(([d]) => d.max));
    // Running distribution functions of each item, advanced together over t = lo … hi.
    const cdfs = live.map(([d]) => d.cdf(lo - 1));
    const out = new Float64Array(hi - lo + 1);
    let prev = 0;
    for (let t = lo; t <= hi; t++) {
      let f = 1;
      for (let k = 0; k < live.length; k++) {
        const [d, n] = live[k];
        const i = t - d.min;
        if (i >= 0 && i < d.p.length) cdfs[k] += d.p[i];
        const c = t >= d.max ? 1 : cdfs[k];
        f *= n === 1 ? c : c ** n;
      }
      out[t - lo] = Math.max(0, f - prev);
      prev = f;
    }
    return new Dist(lo, out);
  }
}
