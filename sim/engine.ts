/**
 * Discrete-event engine (ns-3 style, `src/core/model/scheduler.h`): a {@link Simulator} instance
 * is passed around; events are ordered by (time, sequence number) so ties run in the order they
 * were scheduled and runs repeat exactly.
 *
 * Time is an integer number of nanoseconds since the start of the run (a JS safe integer:
 * 2^53 ns ≈ 104 days of simulated time).
 *
 * Batching: code that wants to process "everything that happened at this instant" together calls
 * {@link Simulator.markDirty}. After all ordinary events of an instant have run, the engine awaits
 * the registered {@link Simulator.onInstantEnd} handler (which may run dataplane batches on worker
 * threads and schedule more events, also at the same instant); it loops until the instant is
 * quiescent and only then advances the clock.
 * @module
 */

/** A scheduled event. */
interface Ev {
  timeNs: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Handle returned by {@link Simulator.schedule}; pass to {@link Simulator.cancel}. */
export interface EventId {
  readonly timeNs: number;
  readonly seq: number;
}

/** Binary min-heap on (timeNs, seq). */
class EventHeap {
  private items: Ev[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Ev | undefined {
    return this.items[0];
  }
  push(e: Ev): void {
    const a = this.items;
    // Sift up with a hole (no swaps, no temporary arrays).
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = a[p]!;
      if (!less(e, pe)) break;
      a[i] = pe;
      i = p;
    }
    a[i] = e;
  }
  pop(): Ev | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      // Sift `last` down from the root with a hole.
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        let me = a[l]!;
        if (r < n && less(a[r]!, me)) {
          m = r;
          me = a[r]!;
        }
        if (!less(me, last)) break;
        a[i] = me;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}

function less(x: Ev, y: Ev): boolean {
  return x.timeNs < y.timeNs || (x.timeNs === y.timeNs && x.seq < y.seq);
}

/** The simulated clock and event queue. */
export class Simulator {
  private heap = new EventHeap();
  private seq = 0;
  private nowNs = 0;
  private stopAtNs = Number.POSITIVE_INFINITY;
  private dirty = false;
  private instantEnd: ((timeNs: number) => Promise<void> | void) | undefined;
  /** Number of ordinary events executed. */
  eventsRun = 0;

  /** Current simulated time in ns. */
  now(): number {
    return this.nowNs;
  }

  /** Runs `fn` after `delayNs` (≥ 0, integer) of simulated time. */
  schedule(delayNs: number, fn: () => void): EventId {
    if (!Number.isSafeInteger(delayNs) || delayNs < 0) {
      throw new RangeError(`schedule: delay must be a non-negative integer of ns, got ${delayNs}`);
    }
    return this.scheduleAt(this.nowNs + delayNs, fn);
  }

  /** Runs `fn` at absolute time `timeNs` (≥ now). */
  scheduleAt(timeNs: number, fn: () => void): EventId {
    if (!Number.isSafeInteger(timeNs) || timeNs < this.nowNs) {
      throw new RangeError(`scheduleAt: time ${timeNs} is not an integer ≥ now (${this.nowNs})`);
    }
    const ev: Ev = { timeNs, seq: this.seq++, fn, cancelled: false };
    this.heap.push(ev);
    return ev;
  }

  /** Cancels an event that has not run yet (no-op otherwise). */
  cancel(id: EventId): void {
    (id as Ev).cancelled = true;
  }

  /** Asks for the instant-end handler to run before the clock advances. */
  markDirty(): void {
    this.dirty = true;
  }

  /**
   * Registers the handler run at the end of every instant marked dirty. It may return a promise
   * (awaited before the clock moves) or nothing (no microtask round trip: the fast inline path).
   */
  onInstantEnd(handler: (timeNs: number) => Promise<void> | void): void {
    this.instantEnd = handler;
  }

  /** Stops the run at `timeNs`: events scheduled later are not executed. */
  stopAt(timeNs: number): void {
    this.stopAtNs = timeNs;
  }

  /** Pending (not yet run) event count, cancelled ones included. */
  pending(): number {
    return this.heap.size;
  }

  /**
   * Runs events until the queue is empty or the stop time is passed. `onProgress` is called
   * after each instant with the current time.
   */
  async run(onProgress?: (nowNs: number) => void): Promise<void> {
    for (;;) {
      const next = this.heap.peek();
      if (!next && !this.dirty) return;
      if (next && !this.dirty) {
        if (next.timeNs > this.stopAtNs) return;
        this.nowNs = next.timeNs;
      }
      // All ordinary events of this instant (including ones they schedule at the same time).
      for (;;) {
        const e = this.heap.peek();
        if (!e || e.timeNs !== this.nowNs) break;
        this.heap.pop();
        if (e.cancelled) continue;
        this.eventsRun++;
        e.fn();
      }
      if (this.dirty) {
        this.dirty = false;
        if (this.instantEnd) {
          const done = this.instantEnd(this.nowNs);
          if (done) await done;
        }
      }
      onProgress?.(this.nowNs);
    }
  }
}
