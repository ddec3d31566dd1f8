/**
 * Counters and distributions for the run summary. Everything here depends only on simulated
 * events, so summaries are byte-identical across worker counts and batch sizes.
 *
 * Distributions are streaming DDSketch quantile sketches (@datadog/sketches-js): memory grows with
 * the logarithm of the value range, not with the number of samples, so a run's memory does not
 * grow with its simulated duration. count, min, max and mean are exact; p50/p90/p99 are nearest-rank
 * percentiles within {@link DIST_RELATIVE_ACCURACY} of the true sample value at that rank (rounded to an integer and
 * clamped to [min, max]). A sketch's bucket counts do not depend on the order samples arrive in.
 * @module
 */
import { DDSketch } from '@datadog/sketches-js';

/** Relative-accuracy bound of every quantile in summary.json (stated there as `quantiles.relative_accuracy`). */
export const DIST_RELATIVE_ACCURACY = 0.01;

/** Integers below this get their sketch bucket key from a table (same key as `mapping.key`). */
const KEY_CACHE_SIZE = 1 << 16;
/** Not computed yet (keys of integers below {@link KEY_CACHE_SIZE} are 0..~560: they fit an Int16Array). */
const NO_KEY = -0x8000;
let keyCache: Int16Array | undefined;
/** Keys of the small integers ({@link KEY_CACHE_SIZE} − 1 has the largest). */
let smallKeys = 0;
function smallKey(sk: DDSketch, x: number): number {
  const c = (keyCache ??= new Int16Array(KEY_CACHE_SIZE).fill(NO_KEY));
  let k = c[x]!;
  if (k === NO_KEY) c[x] = k = sk.mapping.key(x);
  return k;
}

/** How many keys the small integers have (0 to the largest's). */
function smallKeyCount(sk: DDSketch): number {
  if (smallKeys === 0) smallKeys = smallKey(sk, KEY_CACHE_SIZE - 1) + 1;
  return smallKeys;
}

/** A distribution of non-negative samples (ns or bytes). */
export class Dist {
  private sketch: DDSketch | undefined;
  /**
   * Samples of small positive integers (most queue delays and backlogs) counted by sketch key,
   * added to the sketch in bulk when it is read ({@link sync}): the same bucket counts (a sketch's
   * counts do not depend on the order samples arrive in), one array increment per sample.
   */
  private pendingKeys: Float64Array | undefined;
  private pendingAny = false;
  /** Zero samples not yet in the sketch's zero bucket. */
  private pendingZero = 0;
  private n = 0;
  private sum = 0;
  private lo = Infinity;
  private hi = -Infinity;
  add(x: number): void {
    if (x >= 0 && x < KEY_CACHE_SIZE && (x | 0) === x) {
      // Small integers: the bucket key from a table, not a log; counted here until read.
      if (x === 0) this.pendingZero++;
      else {
        const pk = this.pendingKeys ?? this.newPending();
        pk[smallKey(this.sketch!, x)]!++;
        this.pendingAny = true;
      }
    } else (this.sketch ??= newSketch()).accept(x);
    this.n++;
    this.sum += x;
    if (x < this.lo) this.lo = x;
    if (x > this.hi) this.hi = x;
  }
  private newPending(): Float64Array {
    return (this.pendingKeys = new Float64Array(smallKeyCount((this.sketch ??= newSketch()))));
  }
  /** Moves the pending small-integer samples into the sketch. */
  private sync(): DDSketch | undefined {
    if (this.pendingZero === 0 && !this.pendingAny) return this.sketch;
    const sk = (this.sketch ??= newSketch());
    // x === 0 is in the zero bucket (0 ≤ mapping.minPossible), as accept() does.
    sk.zeroCount += this.pendingZero;
    this.pendingZero = 0;
    const pk = this.pendingKeys;
    if (pk && this.pendingAny) {
      for (let k = 0; k < pk.length; k++) {
        if (pk[k]! > 0) {
          sk.store.add(k, pk[k]!);
          pk[k] = 0;
        }
      }
    }
    this.pendingAny = false;
    return sk;
  }
  get count(): number {
    return this.n;
  }
  /**
   * Everything needed to merge this distribution elsewhere (another thread: structured-clonable).
   * Read without moving the pending small-integer counts into the sketch (its store would grow
   * key by key: most of a partition's hand-over time at the end of a run).
   */
  toState(): DistState {
    const sk = this.sketch;
    const bins: number[] = [];
    if (sk && this.n > 0) {
      const st = sk.store;
      const pk = this.pendingAny ? this.pendingKeys : undefined;
      const pkLen = pk ? pk.length : 0;
      const from = Math.min(st.minKey, pkLen > 0 ? 0 : Infinity);
      const to = Math.max(st.maxKey, pkLen - 1);
      for (let k = from; k <= to; k++) {
        let c = k >= st.minKey && k <= st.maxKey ? (st.bins[k - st.offset] ?? 0) : 0;
        if (k >= 0 && k < pkLen) c += pk![k]!;
        if (c > 0) bins.push(k, c);
      }
    }
    return { n: this.n, sum: this.sum, lo: this.lo, hi: this.hi, zero: (sk?.zeroCount ?? 0) + this.pendingZero, bins };
  }
  /**
   * Adds the samples of another distribution's state. Exact: sketch bucket counts add, and count,
   * sum, min and max of integer samples do too, so merged parts answer as one distribution would.
   */
  merge(st: DistState): void {
    if (st.n === 0) return;
    // Like add(): counts of small keys wait in the pending array, the others go to the sketch.
    const sk = (this.sketch ??= newSketch());
    this.pendingZero += st.zero;
    for (let i = 0; i < st.bins.length; i += 2) {
      const k = st.bins[i]!;
      if (k >= 0 && k < smallKeyCount(sk)) {
        (this.pendingKeys ?? this.newPending())[k]! += st.bins[i + 1]!;
        this.pendingAny = true;
      } else sk.store.add(k, st.bins[i + 1]!);
    }
    this.n += st.n;
    this.sum += st.sum;
    if (st.lo < this.lo) this.lo = st.lo;
    if (st.hi > this.hi) this.hi = st.hi;
  }
  /** `{count, min, mean, p50, p90, p99, max}`, or `{count: 0}` (see module doc). */
  toJSON(): Record<string, number> {
    const n = this.n;
    const sk = this.sync();
    if (n === 0 || !sk) return { count: 0 };
    // Nearest rank (the k-th smallest sample, k = ceil(p·n)), as before the sketch; the sketch's own
    // getValueAtQuantile interpolates the rank as p·(n−1).
    const q = (p: number) => {
      const rank = Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
      const v = rank < sk.zeroCount ? 0 : sk.mapping.value(sk.store.keyAtRank(rank - sk.zeroCount));
      return Math.min(this.hi, Math.max(this.lo, Math.round(v)));
    };
    return { count: n, min: this.lo, mean: Math.round((this.sum / n) * 1000) / 1000, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: this.hi };
  }
}

function newSketch(): DDSketch {
  return new DDSketch({ relativeAccuracy: DIST_RELATIVE_ACCURACY });
}

/** {@link Dist.toState}. */
export interface DistState {
  n: number;
  sum: number;
  lo: number;
  hi: number;
  /** Samples in the sketch's zero bucket. */
  zero: number;
  /** `key, count` pairs of the sketch's (positive) store. */
  bins: number[];
}

/** String-keyed counters with sorted JSON output. */
export class Counter {
  private m = new Map<string, number>();
  /** `[key, count]` pairs (to merge elsewhere). */
  entries(): [string, number][] {
    return [...this.m.entries()];
  }
  /** Adds another counter's {@link entries}. */
  merge(e: [string, number][]): void {
    for (const [k, v] of e) this.add(k, v);
  }
  add(k: string, by = 1): void {
    this.m.set(k, (this.m.get(k) ?? 0) + by);
  }
  get(k: string): number {
    return this.m.get(k) ?? 0;
  }
  total(): number {
    let t = 0;
    for (const v of this.m.values()) t += v;
    return t;
  }
  toJSON(): Record<string, number> {
    const o: Record<string, number> = {};
    for (const k of [...this.m.keys()].sort()) o[k] = this.m.get(k)!;
    return o;
  }
}
