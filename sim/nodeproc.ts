/**
 * One node's dataplane step for one flush (all packets at that node at one instant), as a pure
 * function of the node's dataplane state and the step tables. Runs inline (workers = 0) or inside
 * a pool worker (sim/worker.ts); both run exactly this code, so results never depend on where.
 *
 * Order per packet, as Linux: Hop-by-Hop processing on input (`transit`, or `decap` at the
 * domain's decapsulating node, which fills and then removes) → forwarding hop-limit check and
 * decrement (`ip6_forward`: HL ≤ 1 → drop, else HL − 1; after the IOAM fill) → output
 * encapsulation (`ioam6_output`, k-of-n counted in packet order).
 *
 * Zero copy: the packets stay in the packet slab (sim/packets.ts); the step's `desc` rows point
 * into it (batch ABI, src/batch.ts). A stage that applies to some of the step's packets gets its
 * own `desc`/`meta`/`out` rows for those packets (scratch tables), and the moved offsets and
 * lengths are copied back; the bytes never move. All tables but the slab live in one buffer
 * ({@link stepTables}), a SharedArrayBuffer when a worker runs the step.
 * @module
 */
import * as abi from '../src/batch';
import type { CoreTables, DataplaneNode } from './dataplane';

// Module-local copies of the batch ABI strides (a hot loop then reads a constant, not an export binding).
const { CLT_STRIDE: CLT, DESC_STRIDE: DESC, META_STRIDE: META, OUT_STRIDE: OUT, TRACE_DESC_STRIDE: TD } = abi;

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

/** Bytes of decap trace arena per packet (a Hop-by-Hop header is at most 2048 bytes). */
export const TRACE_BYTES = 2048;

/** The tables of one step (over one buffer, plus the packet slab). */
export interface StepTables {
  cap: number;
  desc: Uint32Array;
  /** Meta of the input step and of the encap step, 8 words per packet. */
  meta: Uint32Array;
  meta2: Uint32Array;
  /** Outcomes `[verdict, reason, offset, aux]` of the input step and of the encap step. */
  out1: Uint32Array;
  out2: Uint32Array;
  flags: Uint32Array;
  traceDesc: Uint32Array;
  clt: Uint8Array;
  status: Uint8Array;
  traceArena: Uint8Array;
  // Scratch rows of a stage over part of the packets.
  sDesc: Uint32Array;
  sMeta: Uint32Array;
  sOut: Uint32Array;
  sTraceDesc: Uint32Array;
  sClt: Uint8Array;
  /** Table views of one core call, by (stage kind, packets, CLT): made once, reused by later steps. */
  views: Map<number, CoreTables>;
}

/** Lays out the tables of a step of up to `cap` packets over `buffer` (or a new one). */
export function stepTables(cap: number, shared: boolean, buffer?: ArrayBuffer | SharedArrayBuffer): { buffer: ArrayBuffer | SharedArrayBuffer; t: StepTables } {
  const words = cap * (2 * DESC + 3 * META + 3 * OUT + 1 + 2 * TD);
  const bytes = words * 4 + cap * (2 * CLT + 1 + TRACE_BYTES);
  const ab = buffer ?? (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  let o = 0;
  const u32 = (len: number) => { const a = new Uint32Array(ab, o, len); o += len * 4; return a; };
  const u8 = (len: number) => { const a = new Uint8Array(ab, o, len); o += len; return a; };
  const t: StepTables = {
    cap,
    desc: u32(cap * DESC), meta: u32(cap * META), meta2: u32(cap * META), out1: u32(cap * OUT), out2: u32(cap * OUT), flags: u32(cap), traceDesc: u32(cap * TD),
    sDesc: u32(cap * DESC), sMeta: u32(cap * META), sOut: u32(cap * OUT), sTraceDesc: u32(cap * TD),
    clt: u8(cap * CLT), sClt: u8(cap * CLT), status: u8(cap), traceArena: u8(cap * TRACE_BYTES), views: new Map(),
  };
  return { buffer: ab, t };
}

type Op = 'transit' | 'decap' | 'encap';

/**
 * The core tables of a call over `n` packets: the step's own rows (meta or meta2, out1 or out2)
 * or the scratch rows; cached on the step tables (a typed-array view costs more than a small step).
 */
function views(t: StepTables, buf: Uint8Array, meta2: number, out2: number, scratch: boolean, n: number, withClt: boolean): CoreTables {
  const key = ((n * 2 + (withClt ? 1 : 0)) * 2 + (scratch ? 1 : 0)) * 4 + meta2 * 2 + out2;
  let v = t.views.get(key);
  if (v === undefined || v.buf !== buf) {
    const clt = scratch ? t.sClt : t.clt;
    v = scratch
      ? { buf, desc: t.sDesc.subarray(0, n * DESC), meta: t.sMeta.subarray(0, n * META), out: t.sOut.subarray(0, n * OUT), clt: clt.subarray(0, withClt ? n * CLT : 0), traceArena: t.traceArena, traceDesc: t.sTraceDesc.subarray(0, n * TD) }
      : { buf, desc: t.desc.subarray(0, n * DESC), meta: (meta2 ? t.meta2 : t.meta).subarray(0, n * META), out: (out2 ? t.out2 : t.out1).subarray(0, n * OUT), clt: clt.subarray(0, withClt ? n * CLT : 0), traceArena: t.traceArena, traceDesc: t.traceDesc.subarray(0, n * TD) };
    t.views.set(key, v);
  }
  return v;
}

/** Runs `op` on packets `idx[0..m)` of the step with meta rows from `meta`, outcomes into `out`. */
function stage(dp: DataplaneNode, buf: Uint8Array, t: StepTables, n: number, idx: Int32Array, m: number, meta: Uint32Array, out: Uint32Array, op: Op, withClt: boolean): void {
  if (m === 0) return;
  if (m === n) {
    dp[op](views(t, buf, meta === t.meta2 ? 1 : 0, out === t.out2 ? 1 : 0, false, n, withClt));
    return;
  }
  for (let j = 0; j < m; j++) {
    const p = idx[j]!;
    for (let w = 0; w < DESC; w++) t.sDesc[j * DESC + w] = t.desc[p * DESC + w]!;
    for (let w = 0; w < META; w++) t.sMeta[j * META + w] = meta[p * META + w]!;
    if (withClt) t.sClt.set(t.clt.subarray(p * CLT, (p + 1) * CLT), j * CLT);
  }
  dp[op](views(t, buf, 0, 0, true, m, withClt));
  for (let j = 0; j < m; j++) {
    const p = idx[j]!;
    t.desc[p * DESC + 2] = t.sDesc[j * DESC + 2]!;
    t.desc[p * DESC + 3] = t.sDesc[j * DESC + 3]!;
    for (let w = 0; w < OUT; w++) out[p * OUT + w] = t.sOut[j * OUT + w]!;
    if (op === 'decap') {
      t.traceDesc[p * TD] = t.sTraceDesc[j * TD]!;
      t.traceDesc[p * TD + 1] = t.sTraceDesc[j * TD + 1]!;
    }
  }
}

const idxA = { a: new Int32Array(64) };
function indexBuffer(n: number): Int32Array {
  if (idxA.a.length < n) idxA.a = new Int32Array(Math.max(n, idxA.a.length * 2));
  return idxA.a;
}

/** The node step (see module doc): `n` packets. Mutates the desc rows, the slab and the outputs. */
export function processNode(dp: DataplaneNode, buf: Uint8Array, t: StepTables, n: number): void {
  const idx = indexBuffer(n);
  t.status.fill(S_ALIVE, 0, n);
  t.out1.fill(0, 0, n * OUT);
  t.out2.fill(0, 0, n * OUT);
  t.traceDesc.fill(0, 0, n * TD);
  let m = 0;
  for (let i = 0; i < n; i++) if (!(t.flags[i]! & F_DECAP) && t.flags[i]! & F_TRANSIT) idx[m++] = i;
  stage(dp, buf, t, n, idx, m, t.meta, t.out1, 'transit', false);
  m = 0;
  for (let i = 0; i < n; i++) if (t.flags[i]! & F_DECAP) idx[m++] = i;
  stage(dp, buf, t, n, idx, m, t.meta, t.out1, 'decap', false);
  m = 0;
  let anyClt = false;
  for (let i = 0; i < n; i++) {
    const f = t.flags[i]!;
    if (f & (F_TRANSIT | F_DECAP) && t.out1[i * OUT] !== 0) {
      t.status[i] = S_DROP_INPUT;
      continue;
    }
    if (f & F_HOPLIMIT) {
      // ip6_forward: hop_limit <= 1 → ICMPv6 Time Exceeded and drop; else decrement.
      const off = t.desc[i * DESC + 2]!;
      const hl = buf[off + 7]!;
      if (hl <= 1) {
        t.status[i] = S_DROP_HOPLIMIT;
        continue;
      }
      buf[off + 7] = hl - 1;
    }
    if (f & F_ENCAP) {
      idx[m++] = i;
      if (f & F_CLT) anyClt = true;
    }
  }
  stage(dp, buf, t, n, idx, m, t.meta2, t.out2, 'encap', anyClt);
  for (let j = 0; j < m; j++) {
    const i = idx[j]!;
    if (t.out2[i * OUT] !== 0) t.status[i] = S_DROP_ENCAP;
  }
}
