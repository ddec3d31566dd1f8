/**
 * Seeded pseudo-random numbers for the simulator: every random choice of a run (flow inter-arrival
 * times, packet sizes, link loss and jitter) comes from one 64-bit seed.
 *
 * - {@link splitmix64} (Steele, Lea, Flood 2014) expands a seed into well-mixed words; it is also
 *   how independent substreams are derived: `substream(seed, "flow:f1")` hashes the name (FNV-1a
 *   64) into the seed, so adding a flow never shifts the numbers another flow sees.
 * - {@link Rng} is xoshiro128** (Blackman & Vigna 2018), 32-bit state words so it runs on plain
 *   JS numbers without BigInt in the hot path.
 * @module
 */

const MASK64 = (1n << 64n) - 1n;

/** One SplitMix64 step: returns [next state, output]. */
export function splitmix64(state: bigint): [bigint, bigint] {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [s, z ^ (z >> 31n)];
}

/** FNV-1a 64 of a UTF-8 string: names substreams. */
export function fnv1a64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & MASK64;
  }
  return h;
}

/**
 * xoshiro128** generator; `next()` returns a uint32. The state words are kept as int32 (the same
 * bits): V8 stores those as small integers, while uint32 words of 2^31 and above were heap numbers,
 * one allocated per state word written (a few MB per 20 ms of fat-tree-k8, in a heap sampling profile).
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds the 128-bit state from two SplitMix64 outputs of `seed` (never all zero). */
  constructor(seed: bigint) {
    let s = BigInt.asUintN(64, seed);
    let o1: bigint;
    let o2: bigint;
    [s, o1] = splitmix64(s);
    [s, o2] = splitmix64(s);
    this.a = Number(o1 & 0xffffffffn) | 0;
    this.b = Number(o1 >> 32n) | 0;
    this.c = Number(o2 & 0xffffffffn) | 0;
    this.d = Number(o2 >> 32n) | 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next uint32. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.next() >>> 5; // 27 bits
    const lo = this.next() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** Exponential variate with the given mean (inverse transform). */
  exp(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }
}

/** 32-bit rotate left, as an int32. */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The generator for a named substream of a run's seed. */
export function substream(seed: bigint, name: string): Rng {
  return new Rng(BigInt.asUintN(64, seed) ^ fnv1a64(name));
}
