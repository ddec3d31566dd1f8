/**
 * A node's packets waiting for its next dataplane tick (the topology's `dataplane_tick`,
 * docs/SIMULATOR.md §2): packet handles in the order they reached the node, each with the time
 * and tie key `(hi, lo)` of the event that brought it (sim/engine.ts). The network posts one
 * event per node and tick ({@link Network}'s TICK), not one per packet; the tick hands the
 * packets that arrived before it to the node's step in this order.
 *
 * The order is the one the engine ran those events in: by time, then tie key. That makes the
 * queue mergeable: a partition that learns at a window barrier of packets that reached one of its
 * nodes earlier in the window (sim/partition.ts, "tick lookahead") inserts them where the whole
 * network run in one queue would have had them.
 * @module
 */

/** Packets waiting for a node's next tick (see module doc). */
export class TickQueue {
  private h = new Int32Array(16);
  private t = new Float64Array(16);
  private hi = new Float64Array(16);
  private lo = new Float64Array(16);
  private head = 0;
  private end = 0;

  /**
   * Adds packet `h` that arrived at `t` with tie key `(hi, lo)`, in order among those waiting.
   * Returns whether it is the only one waiting for its tick (the tick at `tickEnd`, of period
   * `tickNs`; `t` is not on a tick): the caller then posts that tick's event. Packets of one tick
   * are contiguous in the queue, so its neighbours tell.
   */
  add(h: number, t: number, hi: number, lo: number, tickEnd: number, tickNs: number): boolean {
    if (this.end === this.h.length) this.grow();
    // Usually the newest: one comparison. A late arrival (sim/partition.ts) moves back to its place.
    let i = this.end;
    while (i > this.head && before(t, hi, lo, this.t[i - 1]!, this.hi[i - 1]!, this.lo[i - 1]!)) {
      this.h[i] = this.h[i - 1]!;
      this.t[i] = this.t[i - 1]!;
      this.hi[i] = this.hi[i - 1]!;
      this.lo[i] = this.lo[i - 1]!;
      i--;
    }
    this.h[i] = h;
    this.t[i] = t;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.end++;
    // Neighbours in the queue's (time) order: before t, or after t and before the tick.
    const from = tickEnd - tickNs;
    return !((i > this.head && this.t[i - 1]! > from) || (i + 1 < this.end && this.t[i + 1]! < tickEnd));
  }

  /** Removes and returns the oldest packet if it arrived before `beforeNs`, else -1. */
  take(beforeNs: number): number {
    if (this.end === this.head || !(this.t[this.head]! < beforeNs)) return -1;
    const h = this.h[this.head++]!;
    if (this.head === this.end) this.head = this.end = 0;
    return h;
  }

  private grow(): void {
    const n = this.end - this.head;
    const cap = Math.max(16, n * 2);
    const h = new Int32Array(cap);
    const t = new Float64Array(cap);
    const hi = new Float64Array(cap);
    const lo = new Float64Array(cap);
    h.set(this.h.subarray(this.head, this.end));
    t.set(this.t.subarray(this.head, this.end));
    hi.set(this.hi.subarray(this.head, this.end));
    lo.set(this.lo.subarray(this.head, this.end));
    this.h = h;
    this.t = t;
    this.hi = hi;
    this.lo = lo;
    this.head = 0;
    this.end = n;
  }
}

/** Whether `(t, hi, lo)` runs before `(t2, hi2, lo2)` in the engine's order. */
function before(t: number, hi: number, lo: number, t2: number, hi2: number, lo2: number): boolean {
  return t < t2 || (t === t2 && (hi < hi2 || (hi === hi2 && lo < lo2)));
}
