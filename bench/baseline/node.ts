/**
 * Plain-TypeScript baseline: a node's IOAM configuration as a careful developer would hold it
 * (no native code). Built from the same node-config objects as the native {@link Node}.
 * Used only by the benchmarks, as the "what would plain TS cost" comparison.
 * @module
 */
import type { NodeConfigInput } from '../../src/index';

export const IF_NONE = 0xffffffff;

export interface TsIface {
  enabled: boolean;
  id: number;
  idWide: number;
}

export interface TsNamespace {
  id: number;
  data: number;
  /** wide data as two u32 halves */
  wideHi: number;
  wideLo: number;
  /** rendered Opaque State Snapshot (schema header + padded data), empty when no schema */
  oss: Uint8Array;
}

export interface TsEncap {
  traceType: number;
  ns: number;
  size: number;
  incremental: boolean;
  /** the Hop-by-Hop header to insert, rendered once (Linux `ioam6_build_state`) */
  hbh: Uint8Array;
}

export class TsNode {
  readonly rfc: boolean;
  readonly id: number;
  readonly idWideHi: number;
  readonly idWideLo: number;
  readonly ifaces: TsIface[];
  readonly namespaces = new Map<number, TsNamespace>();
  readonly encap: TsEncap | undefined;
  /** k-of-n counter (always 1-of-1 in the bench corpus, kept for honesty) */
  count = 0;

  constructor(c: NodeConfigInput) {
    const cfg = c as unknown as {
      profile?: string; ioam6_id?: number; ioam6_id_wide?: number | bigint;
      interfaces?: { ioam6_enabled?: boolean; ioam6_id?: number; ioam6_id_wide?: number }[];
      namespaces?: { id: number; data?: number; wide?: number | bigint; schema?: number }[];
      schemas?: { id: number; data: string | { hex: string } }[];
      encap?: { trace: { type: number; ns: number; size: number; incremental?: boolean } };
    };
    this.rfc = cfg.profile === 'rfc';
    this.id = cfg.ioam6_id ?? 0xffffff;
    const wide = BigInt(cfg.ioam6_id_wide ?? 0xffffffffffffffn);
    this.idWideHi = Number((wide >> 32n) & 0xffffffn);
    this.idWideLo = Number(wide & 0xffffffffn);
    this.ifaces = (cfg.interfaces ?? []).map((i) => ({ enabled: i.ioam6_enabled ?? false, id: i.ioam6_id ?? 0xffff, idWide: i.ioam6_id_wide ?? 0xffffffff }));
    for (const n of cfg.namespaces ?? []) {
      const w = n.wide === undefined ? 0xffffffffffffffffn : BigInt(n.wide);
      let oss = new Uint8Array(0);
      const sc = n.schema === undefined ? undefined : cfg.schemas?.find((s) => s.id === n.schema);
      if (sc) {
        const data = typeof sc.data === 'string' ? Buffer.from(sc.data, 'utf8') : Buffer.from(sc.data.hex, 'hex');
        const aligned = (data.length + 3) & ~3;
        oss = new Uint8Array(4 + aligned);
        new DataView(oss.buffer).setUint32(0, ((sc.id | ((aligned / 4) << 24)) >>> 0));
        oss.set(data, 4);
      }
      this.namespaces.set(n.id, { id: n.id, data: n.data ?? 0xffffffff, wideHi: Number(w >> 32n), wideLo: Number(w & 0xffffffffn), oss });
    }
    if (cfg.encap) {
      const t = cfg.encap.trace;
      const incremental = t.incremental ?? false;
      const space = incremental ? 0 : t.size;
      const aligned = (space + 7) & ~7;
      const h = new Uint8Array(16 + aligned);
      h[1] = h.length / 8 - 1;
      h[2] = 1; // PadN of 2 octets: the IOAM option starts 4n-aligned
      h[4] = 0x31;
      h[5] = 10 + space;
      h[7] = incremental ? 1 : 0;
      h[8] = t.ns >> 8;
      h[9] = t.ns & 0xff;
      h[10] = nodeLen(t.type) << 3;
      h[11] = (t.size / 4) & 0x7f;
      h[12] = (t.type >> 16) & 0xff;
      h[13] = (t.type >> 8) & 0xff;
      h[14] = t.type & 0xff;
      if (aligned !== space) {
        h[16 + space] = 1;
        h[17 + space] = 2;
      }
      this.encap = { traceType: t.type, ns: t.ns, size: t.size, incremental, hbh: h };
    }
  }

  iface(i: number): TsIface {
    return this.ifaces[i] ?? DEFAULT_IFACE;
  }
}

const DEFAULT_IFACE: TsIface = { enabled: false, id: 0xffff, idWide: 0xffffffff };

/** Bits set in a u32 (Linux `hweight32`). */
export function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** NodeLen (4-octet units) of a 24-bit Trace-Type (Linux `ioam6_trace_compute_nodelen`). */
export function nodeLen(type: number): number {
  return popcount(type & 0xff1ffc) + 2 * popcount(type & 0x00e000);
}
