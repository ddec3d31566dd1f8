/**
 * Flat trace records: the IOAM trace options of removed Hop-by-Hop headers (what a decapsulating
 * node hands back) decoded by the core (`crates/ioam-core/src/wire/flat.rs`) into u32 words, for
 * a whole decap step in one native call. The record layout is the core's (`TRACE_REC_WORD`,
 * `TRACE_OPT_WORD`, `TRACE_HOP_WORD` of src/generated/abi.ts):
 *
 * record: `[words, options]`, then per option `TRACE_OPT_WORDS` words (`optionType` 0
 * Pre-allocated / 1 Incremental, `ns`, `nodeLen`, `flags` (`TRACE_FLAG_*`), `remainingLen`,
 * `traceType`, `hops`, `error` (0 or 1 + index into `TRACE_ERRORS`), `errorOffset` (from the
 * header's first octet), `errorNeeded`, `errorGot`) followed by `hops` × `TRACE_HOP_WORDS` words,
 * newest hop first as on the wire. A hop has a word for every field a Trace-Type can have (0 when
 * its bit is clear); 64-bit fields as hi/lo words; OSS data as an offset/length in the header.
 *
 * It says what {@link decode} says of the header behind a minimal IPv6 header (test/traceflat.test.ts,
 * crates/ioam-core/tests/wire_flat.rs).
 * @module
 */
import { IoamError, normalizeNativeError, requireBytes } from './errors';
import type { CltLayout } from './decode';
import { native } from './native';
import { TRACE_LAYOUT_LEGACY, TRACE_LAYOUT_STANDARD, TRACE_REC_MAX_WORDS } from './generated/abi';

export {
  TRACE_ERRORS, TRACE_FLAG_ACTIVE, TRACE_FLAG_BIT3, TRACE_FLAG_LOOPBACK, TRACE_FLAG_OVERFLOW, TRACE_HOP_WORD, TRACE_HOP_WORDS,
  TRACE_LAYOUT_LEGACY, TRACE_LAYOUT_STANDARD, TRACE_OPT_WORD, TRACE_OPT_WORDS, TRACE_REC_WORD, TRACE_REC_WORDS,
} from './generated/abi';

/** A packet's `layouts` byte: decode as standard / legacy, or skip it. */
export const TRACE_SKIP = 255;

// Module-local copies (called per decapsulated packet: under tsx an export binding is a getter).
const LAYOUT_LEGACY = TRACE_LAYOUT_LEGACY, LAYOUT_STANDARD = TRACE_LAYOUT_STANDARD;

/** The batch layout code of a {@link CltLayout}. */
export function layoutCode(layout: CltLayout): number {
  return layout === 'legacy' ? LAYOUT_LEGACY : LAYOUT_STANDARD;
}

type Batch = (arena: Uint8Array, desc: Uint32Array, layouts: Uint8Array, count: number, out: Uint32Array, index: Uint32Array) => number;

let batchFn: Batch | undefined;
function batch(): Batch {
  if (batchFn) return batchFn;
  const b = native();
  if (typeof b.decodeTraceBatch !== 'function') {
    throw new IoamError('ERR_IOAM_NOT_FOUND', 'native', 0, 'decodeTraceBatch is not in this native build: run `npm run build:native`');
  }
  const f = b.decodeTraceBatch.bind(b);
  return (batchFn = f);
}

/**
 * Reusable buffers for the flat records of one decap step at a time: after {@link decode},
 * packet j's record starts at `out[index[j]]` (`0xFFFFFFFF` for a skipped packet). The arrays
 * are overwritten by the next call (and may be replaced when they grow).
 */
export class FlatTraces {
  out = new Uint32Array(1 << 14);
  index = new Uint32Array(256);
  /** Per packet: `TRACE_LAYOUT_*` or {@link TRACE_SKIP}; fill `layouts[0..count]` before {@link decode}. */
  layouts = new Uint8Array(256);

  /** Makes `layouts` (and `index`) hold at least `n` packets. */
  reserve(n: number): void {
    if (this.layouts.length < n) {
      this.layouts = new Uint8Array(Math.max(n, 2 * this.layouts.length));
      this.index = new Uint32Array(this.layouts.length);
    }
  }

  /**
   * Decodes packets `0..count` of a decap step: header j is `arena[desc[2j] .. + desc[2j+1]]`
   * (the decap `traceDesc` table), layout `layouts[j]`. One native call (more only when `out`
   * must grow).
   */
  decode(arena: Uint8Array, desc: Uint32Array, count: number): void {
    this.reserve(count);
    const f = batch();
    for (;;) {
      let done: number;
      // try/catch here rather than callNative(() => ...): no closure per call (the simulator's hot path).
      try {
        done = f(arena, desc, this.layouts, count, this.out, this.index);
      } catch (e) {
        throw normalizeNativeError(e);
      }
      if (done >= count) return;
      this.out = new Uint32Array(Math.max(2 * this.out.length, this.out.length + TRACE_REC_MAX_WORDS));
    }
  }
}

let one: FlatTraces | undefined;
const oneDesc = new Uint32Array(2);

/** The flat record of one Hop-by-Hop header (a copy: `words` long). */
export function decodeTraceFlat(hbh: Uint8Array, layout: CltLayout = 'standard'): Uint32Array {
  requireBytes(hbh, 'ext-header', 'decodeTraceFlat: hbh');
  one ??= new FlatTraces();
  oneDesc[0] = 0;
  oneDesc[1] = hbh.length;
  one.layouts[0] = layoutCode(layout);
  one.decode(hbh, oneDesc, 1);
  const at = one.index[0]!;
  return one.out.slice(at, at + one.out[at]!);
}
