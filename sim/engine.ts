/**
 * Discrete-event engine (ns-3 style, `src/core/model/scheduler.h`): a {@link Simulator} instance
 * is passed around; events are ordered by (time, key) so runs repeat exactly.
 *
 * Tie order (docs/SIMULATOR.md §2): the key of an event is `(hi, lo)`. Closures scheduled with
 * {@link Simulator.schedule} have `hi = 0` and `lo` = their scheduling sequence number (so at one
 * instant they run first, in the order they were scheduled). The simulator's own events carry the
 * key of the entity that posted them: `hi` = 1 + the entity's number (a device, a node), `lo` = the
 * entity's own count of posted events. A key therefore depends only on what its entity did, not on
 * which other events exist in the same queue: a partition of the network run on its own (sim/
 * partition.ts) orders its events exactly as the whole network run in one queue does.
 *
 * Time is an integer number of nanoseconds since the start of the run (a JS safe integer:
 * 2^53 ns ≈ 104 days of simulated time).
 *
 * Data-oriented: the event queue is a binary heap of slot numbers over typed arrays (time,
 * sequence, kind, two integer arguments). The simulator's own events (a device finished sending,
 * a packet arrives, ...) are integer-coded: {@link Simulator.handler} registers a function per
 * kind once, and {@link Simulator.post} schedules `(kind, a, b)` with no object or closure per
 * event. {@link Simulator.schedule} (a closure) stays for the layers above (traffic patterns,
 * applications, tests).
 *
 * Batching: code that wants to process "everything that happened at this instant" together calls
 * {@link Simulator.markDirty}. After all ordinary events of an instant have run, the engine awaits
 * the registered {@link Simulator.onInstantEnd} handler (which may run dataplane batches on worker
 * threads and schedule more events, also at the same instant); it loops until the instant is
 * quiescent and only then advances the clock.
 * @module
 */

/** Handle returned by {@link Simulator.schedule}; pass to {@link Simulator.cancel}. */
export interface EventId {
  readonly timeNs: number;
  readonly seq: number;
}

/** Event kind of a closure scheduled with {@link Simulator.schedule}. */
const K_CLOSURE = 0;

/** How often (wall time) a run that can be interrupted lets the event loop turn. */
const YIELD_MS = 50;

/** A run stopped by its `interrupted` check (Ctrl-C in `ioamsim run`), at simulated time `atNs`. */
export class SimulationInterrupted extends Error {
  constructor(readonly atNs: number) {
    super(`interrupted at ${atNs} ns of simulated time`);
    this.name = 'SimulationInterrupted';
  }
}

/** The simulated clock and event queue. */
export class Simulator {
  // Event slots (struct of arrays) and the heap of slot numbers ordered by (time, seq).
  private time = new Float64Array(1024);
  private keyHi = new Int32Array(1024);
  private keyLo = new Float64Array(1024);
  private kind = new Int32Array(1024);
  private argA = new Int32Array(1024);
  private argB = new Int32Array(1024);
  private heap = new Int32Array(1024);
  private size = 0;
  private freeSlots: number[] = [];
  private nextSlot = 0;
  private readonly fns: ((() => void) | undefined)[] = [];
  private readonly handlers: ((a: number, b: number) => void)[] = [() => undefined];
  private cancelled: Set<number> | undefined;
  private seq = 0;
  private nowNs = 0;
  private stopAtNs = Number.POSITIVE_INFINITY;
  private dirty = false;
  private instantEnd: ((timeNs: number) => Promise<void> | void) | undefined;
  /** Number of ordinary events executed. */
  eventsRun = 0;
  /**
   * Tie key `(hi, lo)` of the event running now (closures: `hi = 0`, `lo` = their sequence). A
   * handler that records the order of what happens at one instant (sim/tickqueue.ts) reads it.
   */
  curHi = 0;
  curLo = 0;
  /** True while the instant-end handler runs (after every event of the instant). */
  private atInstantEnd = false;

  /**
   * Whether an event at `timeNs` with tie key `(hi, lo)` comes before what is running now (an
   * event, or the instant-end handler, which follows every event of its instant): had it been
   * queued, it would have run already. Lets an entity skip posting an event it may not need and
   * still know where it would have run (sim/device.ts: the end of a transmission).
   */
  isPast(timeNs: number, hi: number, lo: number): boolean {
    if (timeNs !== this.nowNs) return timeNs < this.nowNs;
    return this.atInstantEnd || hi < this.curHi || (hi === this.curHi && lo < this.curLo);
  }

  /** Current simulated time in ns. */
  now(): number {
    return this.nowNs;
  }

  /** Registers the function run for events of a new kind; returns the kind for {@link post}. */
  handler(fn: (a: number, b: number) => void): number {
    this.handlers.push(fn);
    return this.handlers.length - 1;
  }

  /**
   * Schedules event `(kind, a, b)` at absolute time `timeNs` (≥ now; integers; hot path,
   * unchecked), with the tie key `(keyHi ≥ 1, keyLo)` of the entity posting it (see module doc).
   */
  post(timeNs: number, kind: number, a: number, b: number, keyHi: number, keyLo: number): void {
    this.push(timeNs, kind, a, b, keyHi, keyLo);
  }

  /** Runs `fn` after `delayNs` (≥ 0, integer) of simulated time. */
  schedule(delayNs: number, fn: () => void): EventId {
    const timeNs = this.afterDelay(delayNs, 'schedule');
    return { timeNs, seq: this.closureAt(timeNs, fn) };
  }

  /** {@link schedule} without a handle to cancel it (no object per call: the traffic patterns' hot path). */
  later(delayNs: number, fn: () => void): void {
    this.closureAt(this.afterDelay(delayNs, 'later'), fn);
  }

  /** Runs `fn` at absolute time `timeNs` (≥ now). */
  scheduleAt(timeNs: number, fn: () => void): EventId {
    if (!Number.isSafeInteger(timeNs) || timeNs < this.nowNs) {
      throw new RangeError(`scheduleAt: time ${timeNs} is not an integer ≥ now (${this.nowNs})`);
    }
    return { timeNs, seq: this.closureAt(timeNs, fn) };
  }

  /** Now + `delayNs`, or a RangeError naming `what` when the delay is not a non-negative integer. */
  private afterDelay(delayNs: number, what: string): number {
    if (!Number.isSafeInteger(delayNs) || delayNs < 0) {
      throw new RangeError(`${what}: delay must be a non-negative integer of ns, got ${delayNs}`);
    }
    return this.nowNs + delayNs;
  }

  /** Queues closure `fn` at `timeNs` (already checked) with the next closure sequence number; returns it. */
  private closureAt(timeNs: number, fn: () => void): number {
    const seq = this.seq++;
    this.fns[this.push(timeNs, K_CLOSURE, 0, 0, 0, seq)] = fn;
    return seq;
  }

  /** Cancels an event that has not run yet (no-op otherwise). */
  cancel(id: EventId): void {
    (this.cancelled ??= new Set()).add(id.seq);
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

  /** The stop time ({@link stopAt}; Infinity if none). */
  stopTime(): number {
    return this.stopAtNs;
  }

  /** Pending (not yet run) event count, cancelled ones included. */
  pending(): number {
    return this.size;
  }

  /** Time of the earliest pending event, or Infinity. */
  nextTime(): number {
    return this.size > 0 ? this.time[this.heap[0]!]! : Number.POSITIVE_INFINITY;
  }

  /**
   * Runs events until the queue is empty or the stop time is passed. `onProgress` is called
   * after each instant with the current time; `interrupted`, when given, every ~50 ms of wall time
   * (true: throws {@link SimulationInterrupted}).
   */
  async run(onProgress?: (nowNs: number) => void, interrupted?: () => boolean): Promise<void> {
    const time = () => this.time;
    // With `interrupted`, the loop lets the event loop turn every YIELD_MS of wall time (a signal
    // handler can then run) and stops with SimulationInterrupted when it says so. Nothing the
    // simulation does depends on it: the same events run in the same order.
    let n = 0;
    let lastYield = interrupted ? performance.now() : 0;
    for (;;) {
      if (interrupted !== undefined && (++n & 1023) === 0 && performance.now() - lastYield >= YIELD_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
        if (interrupted()) throw new SimulationInterrupted(this.nowNs);
      }
      if (this.size === 0 && !this.dirty) return;
      if (this.size > 0 && !this.dirty) {
        const t = time()[this.heap[0]!]!;
        if (t > this.stopAtNs) return;
        this.nowNs = t;
      }
      this.runInstant();
      if (this.dirty) {
        this.dirty = false;
        if (this.instantEnd) {
          this.atInstantEnd = true;
          try {
            const done = this.instantEnd(this.nowNs);
            if (done) await done;
          } finally {
            this.atInstantEnd = false;
          }
        }
      }
      onProgress?.(this.nowNs);
    }
  }

  /**
   * Runs, synchronously, every event earlier than `endNs` (and not after the stop time), the
   * instant-end handler included (it must not return a promise here): one window of a partition
   * (sim/partition.ts). Returns the time of the earliest event left.
   */
  runWindow(endNs: number): number {
    for (;;) {
      if (this.size === 0 && !this.dirty) return Number.POSITIVE_INFINITY;
      if (!this.dirty) {
        const t = this.time[this.heap[0]!]!;
        if (t >= endNs || t > this.stopAtNs) return t;
        this.nowNs = t;
      }
      this.runInstant();
      if (this.dirty) {
        this.dirty = false;
        if (this.instantEnd) {
          this.atInstantEnd = true;
          const p = this.instantEnd(this.nowNs);
          this.atInstantEnd = false;
          if (p) throw new Error('runWindow: the instant-end handler returned a promise (a partition runs its steps inline)');
        }
      }
    }
  }

  /** Runs every ordinary event of the current instant (including ones they schedule at the same time). */
  private runInstant(): void {
    while (this.size > 0 && this.time[this.heap[0]!] === this.nowNs) {
      const slot = this.pop();
      const k = this.kind[slot]!;
      const a = this.argA[slot]!;
      const b = this.argB[slot]!;
      const seq = this.keyLo[slot]!;
      let fn: (() => void) | undefined;
      if (k === K_CLOSURE) {
        fn = this.fns[slot];
        this.fns[slot] = undefined;
      }
      this.freeSlots.push(slot);
      if (k === K_CLOSURE && this.cancelled !== undefined && this.cancelled.delete(seq)) continue;
      this.eventsRun++;
      this.curHi = this.keyHi[slot]!;
      this.curLo = seq;
      if (k === K_CLOSURE) fn!();
      else this.handlers[k]!(a, b);
    }
  }

  // ---- the heap ---------------------------------------------------------------------------------

  private push(timeNs: number, kind: number, a: number, b: number, hi: number, lo: number): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.nextSlot++;
      if (slot >= this.time.length) this.growSlots();
    }
    this.time[slot] = timeNs;
    this.keyHi[slot] = hi;
    this.keyLo[slot] = lo;
    this.kind[slot] = kind;
    this.argA[slot] = a;
    this.argB[slot] = b;
    if (this.size >= this.heap.length) {
      const h = new Int32Array(this.heap.length * 2);
      h.set(this.heap);
      this.heap = h;
    }
    // Sift up with a hole.
    const heap = this.heap;
    const time = this.time;
    const his = this.keyHi;
    const los = this.keyLo;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ps = heap[p]!;
      const pt = time[ps]!;
      if (pt < timeNs || (pt === timeNs && (his[ps]! < hi || (his[ps] === hi && los[ps]! < lo)))) break;
      heap[i] = ps;
      i = p;
    }
    heap[i] = slot;
    return slot;
  }

  private pop(): number {
    const heap = this.heap;
    const time = this.time;
    const his = this.keyHi;
    const los = this.keyLo;
    const top = heap[0]!;
    const n = --this.size;
    if (n > 0) {
      const last = heap[n]!;
      const lt = time[last]!;
      const lh = his[last]!;
      const ll = los[last]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let m = l;
        let ms = heap[l]!;
        const r = l + 1;
        if (r < n) {
          const rs = heap[r]!;
          if (time[rs]! < time[ms]! || (time[rs] === time[ms] && (his[rs]! < his[ms]! || (his[rs] === his[ms] && los[rs]! < los[ms]!)))) {
            m = r;
            ms = rs;
          }
        }
        const mt = time[ms]!;
        if (mt > lt || (mt === lt && (his[ms]! > lh || (his[ms] === lh && los[ms]! > ll)))) break;
        heap[i] = ms;
        i = m;
      }
      heap[i] = last;
    }
    return top;
  }

  private growSlots(): void {
    const n = this.time.length * 2;
    const f64 = (a: Float64Array) => { const x = new Float64Array(n); x.set(a); return x; };
    const i32 = (a: Int32Array) => { const x = new Int32Array(n); x.set(a); return x; };
    this.time = f64(this.time);
    this.keyHi = i32(this.keyHi);
    this.keyLo = f64(this.keyLo);
    this.kind = i32(this.kind);
    this.argA = i32(this.argA);
    this.argB = i32(this.argB);
  }
}
