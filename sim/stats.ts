/**
 * Counters and distributions for the run summary. Everything here depends only on simulated
 * events, so summaries are byte-identical across worker counts and batch sizes.
 * @module
 */

/** A distribution of non-negative samples (ns or bytes). */
export class Dist {
  private v: number[] = [];
  add(x: number): void {
    this.v.push(x);
  }
  get count(): number {
    return this.v.length;
  }
  /** `{count, min, mean, p50, p90, p99, max}` (nearest-rank percentiles), or `{count: 0}`. */
  toJSON(): Record<string, number> {
    const n = this.v.length;
    if (n === 0) return { count: 0 };
    const s = Float64Array.from(this.v).sort();
    const rank = (p: number) => s[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
    let sum = 0;
    for (const x of s) sum += x;
    return { count: n, min: s[0]!, mean: Math.round((sum / n) * 1000) / 1000, p50: rank(50), p90: rank(90), p99: rank(99), max: s[n - 1]! };
  }
}

/** String-keyed counters with sorted JSON output. */
export class Counter {
  private m = new Map<string, number>();
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
