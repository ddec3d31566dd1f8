/**
 * Node step tables: everything one {@link Node.step} call works on besides the packet buffer, in
 * one buffer (a SharedArrayBuffer when another thread runs the step). The layout is the core's
 * (`ioam_core::abi::STEP_U32_REGIONS` / `STEP_U8_REGIONS`, rendered into ./generated/abi.ts):
 * per packet a `desc` row (batch ABI: slot start/end, offset, length into the packet buffer),
 * the `meta` rows of the input processing and of the encapsulation (`meta`, `meta2`), their
 * outcomes (`out1`, `out2`), the plan `flags` ({@link STEP_F}), the removed Hop-by-Hop header's
 * place in `traceArena` (`traceDesc`), the CLT IDs (`clt`, 24 bytes) and the `status` after the
 * step ({@link STEP_S}).
 * @module
 */
import { STEP_F, STEP_S, STEP_U32_REGIONS, STEP_U8_REGIONS } from './generated/abi';

export { STEP_F, STEP_S };

/** The tables of one step of up to `cap` packets (see module doc). */
export interface StepTables {
  cap: number;
  /** The whole buffer, as bytes (what the native call takes). */
  bytes: Uint8Array;
  desc: Uint32Array;
  meta: Uint32Array;
  meta2: Uint32Array;
  out1: Uint32Array;
  out2: Uint32Array;
  flags: Uint32Array;
  traceDesc: Uint32Array;
  clt: Uint8Array;
  status: Uint8Array;
  traceArena: Uint8Array;
}

type Region = (typeof STEP_U32_REGIONS)[number][0] | (typeof STEP_U8_REGIONS)[number][0];

/** Bytes of the step tables for `cap` packets. */
export function stepTableBytes(cap: number): number {
  let words = 0;
  let bytes = 0;
  for (const [, k] of STEP_U32_REGIONS) words += k;
  for (const [, k] of STEP_U8_REGIONS) bytes += k;
  return cap * (words * 4 + bytes);
}

/** Lays out the step tables for `cap` packets over `buffer` (or a new one, shared or not). */
export function stepTables(cap: number, shared: boolean, buffer?: ArrayBuffer | SharedArrayBuffer): { buffer: ArrayBuffer | SharedArrayBuffer; t: StepTables } {
  const size = stepTableBytes(cap);
  const ab = buffer ?? (shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  if (ab.byteLength < size) throw new RangeError(`step tables for ${cap} packets need ${size} bytes, the buffer has ${ab.byteLength}`);
  const views = {} as Record<Region, Uint32Array | Uint8Array>;
  let o = 0;
  for (const [name, k] of STEP_U32_REGIONS) {
    views[name] = new Uint32Array(ab, o, cap * k);
    o += cap * k * 4;
  }
  for (const [name, k] of STEP_U8_REGIONS) {
    views[name] = new Uint8Array(ab, o, cap * k);
    o += cap * k;
  }
  const v = views as Record<string, never>;
  const t: StepTables = {
    cap, bytes: new Uint8Array(ab, 0, size),
    desc: v['desc'], meta: v['meta'], meta2: v['meta2'], out1: v['out1'], out2: v['out2'], flags: v['flags'], traceDesc: v['traceDesc'],
    clt: v['clt'], status: v['status'], traceArena: v['traceArena'],
  };
  return { buffer: ab, t };
}
