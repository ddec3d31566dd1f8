/**
 * The IOAM-Trace-Type (RFC 9197 §4.4.1-4.4.2): which fields a node element holds, their size and
 * order, and the NodeLen they imply. The one TypeScript copy of this table: the library, the
 * simulator, the commands and the tests use it; decoding packets is the core's job
 * (`decode` in src/decode.ts). Linux: docs/LINUX-IOAM.md#trace-type-bits.
 * @module
 */

/** Mask of Trace-Type bit `n` on the 24-bit value (bit 0 = 0x800000). */
export const TRACE_BIT = (n: number): number => 0x800000 >>> n;
/** Bits 12-21: not defined, one all-ones word each at a Linux node. */
export const TRACE_UNDEFINED_BITS = 0x000ffc;
/** Bit 22: Opaque State Snapshot (variable size, not counted in NodeLen). */
export const TRACE_OSS_BIT = 0x000002;
/** Bit 23: reserved, no data. */
export const TRACE_RESERVED_BIT = 0x000001;

/** 4-octet words each Trace-Type bit adds to a node element (bits 8-10 wide; 22 and 23 none). */
const FIELD_WORDS: readonly number[] = [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];

/**
 * NodeLen (4-octet words, OSS excluded) implied by a Trace-Type: what Linux's receive path
 * compares NodeLen with (`ioam6_trace_compute_nodelen`).
 */
export function nodeLenForType(traceType: number): number {
  let n = 0;
  for (let b = 0; b < 24; b++) if (traceType & TRACE_BIT(b)) n += FIELD_WORDS[b]!;
  return n;
}

/** One fixed-size field of a node element: its Trace-Type bit, byte offset in the element, size. */
export interface ElementField {
  bit: number;
  offset: number;
  size: 4 | 8;
}

/** The fixed-size fields of a node element for a Trace-Type, in wire order (the OSS follows them). */
export function elementLayout(traceType: number): ElementField[] {
  const out: ElementField[] = [];
  let offset = 0;
  for (let bit = 0; bit < 22; bit++) {
    if (!(traceType & TRACE_BIT(bit))) continue;
    const size = FIELD_WORDS[bit] === 2 ? 8 : 4;
    out.push({ bit, offset, size });
    offset += size;
  }
  return out;
}
