/**
 * One node's dataplane step for one flush (all packets at that node at one instant), as a pure
 * function of the node's dataplane state and the task buffers. Runs inline (workers = 0) or inside
 * a pool worker (sim/worker.ts); both run exactly this code, so results never depend on where.
 *
 * Order per packet, as Linux: Hop-by-Hop processing on input (`transit`, or `decap` at the
 * domain's decapsulating node, which fills and then removes) → forwarding hop-limit check and
 * decrement (`ip6_forward`: HL ≤ 1 → drop, else HL − 1; after the IOAM fill) → output
 * encapsulation (`ioam6_output`, k-of-n counted in packet order).
 *
 * The packets and their input-step meta travel in one `PacketBatch` (SharedArrayBuffer when a
 * worker runs the step); flags, encap meta, CLT IDs and results in a small side buffer. A step
 * whose packets all take the same operation runs on the batch itself (no copy); otherwise each
 * operation gets a sub-batch of its packets, and results are written back into the main slots.
 * @module
 */
import { CLT_STRIDE as CLT, DESC_STRIDE as DESC, META_STRIDE as META, OUT_STRIDE as OUT, PacketBatch } from '../src/batch';
import type { DataplaneNode } from './dataplane';

/** Per-packet plan flags. */
export const F_TRANSIT = 1;
export const F_DECAP = 2;
export const F_HOPLIMIT = 4;
export const F_ENCAP = 8;
export const F_CLT = 16;

/** Per-packet status after the step. */
export const S_ALIVE = 0;
export const S_DROP_INPUT = 1;
export const S_DROP_HOPLIMIT = 2;
export const S_DROP_ENCAP = 3;


/** Side tables of a step (over one buffer). */
export interface SideTables {
  flags: Uint32Array;
  /** Meta of the encap step, 8 words per packet. */
  meta2: Uint32Array;
  /** Outcomes `[verdict, reason, offset, aux]` of the input step and of the encap step. */
  out1: Uint32Array;
  out2: Uint32Array;
  clt: Uint8Array;
  status: Uint8Array;
}

/** What crosses to a worker: buffers only (a `PacketBatch` re-attaches on the other side). */
export interface NodeTask {
  node: number;
  batch: ArrayBuffer | SharedArrayBuffer;
  side: ArrayBuffer | SharedArrayBuffer;
  /** Capacity the side tables were laid out for (≥ the batch's length). */
  cap: number;
}

/** Lays out the side tables for `n` packets over `buffer` (or a new one). */
export function sideTables(n: number, shared: boolean, buffer?: ArrayBuffer | SharedArrayBuffer): { buffer: ArrayBuffer | SharedArrayBuffer; t: SideTables } {
  const words = n * (1 + META + 2 * OUT);
  const bytes = words * 4 + n * CLT + n;
  const ab = buffer ?? (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  let o = 0;
  const u32 = (len: number) => { const a = new Uint32Array(ab, o, len); o += len * 4; return a; };
  const u8 = (len: number) => { const a = new Uint8Array(ab, o, len); o += len; return a; };
  const t: SideTables = { flags: u32(n), meta2: u32(n * META), out1: u32(n * OUT), out2: u32(n * OUT), clt: u8(n * CLT), status: u8(n) };
  return { buffer: ab, t };
}

/**
 * A reusable sub-batch with `main`'s geometry and room for `m` packets, one per main batch (steps
 * run synchronously, and a stage's sub-batch is dead once its results are copied back).
 */
const scratch = new WeakMap<PacketBatch, PacketBatch>();
function scratchBatch(m: number, main: PacketBatch): PacketBatch {
  let s = scratch.get(main);
  if (s === undefined || s.capacity < m) {
    s = new PacketBatch({ capacity: Math.max(m, main.capacity), slotSize: main.slotSize, headroom: main.headroom, traceSlotSize: main.traceSlotSize });
    scratch.set(main, s);
  } else {
    s.reset();
  }
  return s;
}

/** Runs `op` on packets `idx` of `main` with meta rows from `meta` (null = the batch's own), outcomes into `out`. */
function stage(
  main: PacketBatch,
  idx: number[],
  meta: Uint32Array | null,
  out: Uint32Array,
  clt: Uint8Array | undefined,
  op: (b: PacketBatch, clt: Uint8Array | undefined) => void,
): void {
  const m = idx.length;
  if (m === 0) return;
  const n = main.length;
  const mt = main.tables();
  if (m === n) {
    if (meta) mt.meta.set(meta.subarray(0, n * META));
    op(main, clt);
    out.set(mt.out.subarray(0, n * OUT));
    return;
  }
  const sub = scratchBatch(m, main);
  const srcMeta = meta ?? mt.meta;
  for (let j = 0; j < m; j++) {
    const p = idx[j]!;
    sub.push(main.packet(p));
    for (let w = 0; w < META; w++) sub.meta[j * META + w] = srcMeta[p * META + w]!;
  }
  let subClt: Uint8Array | undefined;
  if (clt) {
    subClt = sub.clt.subarray(0, m * CLT);
    for (let j = 0; j < m; j++) {
      const p = idx[j]!;
      subClt.set(clt.subarray(p * CLT, (p + 1) * CLT), j * CLT);
    }
  }
  op(sub, subClt);
  for (let j = 0; j < m; j++) {
    const p = idx[j]!;
    const bytes = sub.packet(j);
    const d = p * DESC;
    const slotStart = mt.desc[d]!;
    const off = slotStart + main.headroom;
    // Slots are sized so a grown packet still fits after the headroom (see Network.flush).
    main.buf.set(bytes, off);
    mt.desc[d + 2] = off;
    mt.desc[d + 3] = bytes.length;
    for (let w = 0; w < OUT; w++) out[p * OUT + w] = sub.out[j * OUT + w]!;
    const tr = sub.traceDesc[2 * j + 1] ? sub.trace(j) : undefined;
    const at = p * main.traceSlotSize;
    if (tr && tr.length <= main.traceSlotSize) {
      main.traceArena.set(tr, at);
      mt.traceDesc[2 * p] = at;
      mt.traceDesc[2 * p + 1] = tr.length;
    } else {
      mt.traceDesc[2 * p + 1] = 0;
    }
  }
}

/** The node step (see module doc). Mutates the batch and the side tables' outputs. */
export function processNode(dp: DataplaneNode, main: PacketBatch, s: SideTables): void {
  const n = main.length;
  const transitIdx: number[] = [];
  const decapIdx: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = s.flags[i]!;
    if (f & F_DECAP) decapIdx.push(i);
    else if (f & F_TRANSIT) transitIdx.push(i);
  }
  s.status.fill(S_ALIVE);
  s.out1.fill(0);
  s.out2.fill(0);
  stage(main, transitIdx, null, s.out1, undefined, (b) => dp.transit(b));
  stage(main, decapIdx, null, s.out1, undefined, (b) => dp.decap(b));
  const encapIdx: number[] = [];
  let anyClt = false;
  const mt = main.tables();
  for (let i = 0; i < n; i++) {
    const f = s.flags[i]!;
    if (f & (F_TRANSIT | F_DECAP) && s.out1[i * OUT] !== 0) {
      s.status[i] = S_DROP_INPUT;
      continue;
    }
    if (f & F_HOPLIMIT) {
      // ip6_forward: hop_limit <= 1 → ICMPv6 Time Exceeded and drop; else decrement.
      const off = mt.desc[i * DESC + 2]!;
      const hl = main.buf[off + 7]!;
      if (hl <= 1) {
        s.status[i] = S_DROP_HOPLIMIT;
        continue;
      }
      main.buf[off + 7] = hl - 1;
    }
    if (f & F_ENCAP) {
      encapIdx.push(i);
      if (f & F_CLT) anyClt = true;
    }
  }
  stage(main, encapIdx, s.meta2, s.out2, anyClt ? s.clt.subarray(0, n * CLT) : undefined, (b, clt) => dp.encap(b, clt));
  for (const i of encapIdx) if (s.out2[i * OUT] !== 0) s.status[i] = S_DROP_ENCAP;
}
