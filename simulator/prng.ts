// Why: every random choice in the simulated world comes from named streams derived from one root seed, so a
// seed replays exactly and adding draws to one stream does not shift the others.
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

type Rng = ReturnType<typeof xoroshiro128plus>;

/** FNV-1a over a string: a stable 32-bit mix of the root seed and a stream's name. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h | 0;
}

export class RandomStream {
  private readonly rng: Rng;
  constructor(readonly name: string, seed: number) {
    this.rng = xoroshiro128plus(seed);
  }
  /** A uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`RandomStream.int: max ${max} < min ${min}`);
    return uniformInt(this.rng, min, max);
  }
  /** A uniform float in [0, 1). */
  float(): number {
    return uniformInt(this.rng, 0, 2 ** 30 - 1) / 2 ** 30;
  }
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('RandomStream.pick: empty list');
    return items[this.int(0, items.length - 1)];
  }
  /** A float in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.float();
  }
  /** A deterministic UUID in version 4 format. */
  uuid(): string {
    const hex = (n: number) => this.int(0, 16 ** n - 1).toString(16).padStart(n, '0');
    const variant = (8 + this.int(0, 3)).toString(16);
    return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(6)}${hex(6)}`;
  }
}

export class Prng {
  private readonly streams = new Map<string, RandomStream>();
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  }
  /** The stream of this name; the same name always gives the same stream object. */
  stream(name: string): RandomStream {
    let s = this.streams.get(name);
    if (!s) {
      s = new RandomStream(name, fnv1a(`${this.seed}:${name}`));
      this.streams.set(name, s);
    }
    return s;
  }
}
