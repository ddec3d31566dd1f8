/**
 * Plain-TypeScript baseline of Linux `__ioam6_fill_trace_data` (net/ipv6/ioam6.c): one `if`
 * per Trace-Type bit, big-endian writes through a DataView.
 * @module
 */
import { IF_NONE, TsNamespace, TsNode } from './node';

/** Meta word indices (batch ABI). */
export const M_IIF = 0, M_EIF = 1, M_SEC = 2, M_NSEC = 3, M_QUEUE = 4, M_DELAY = 5, M_BUFOCC = 6, M_FLAGS = 7;
const ALL = 0xffffffff;

/**
 * Writes this node's element for `type` at `p` in `dv`; `meta[m..m+8]` are the packet's inputs.
 * Returns the position after the element.
 */
export function fillElement(dv: DataView, p: number, node: TsNode, ns: TsNamespace, type: number, hopLim: number, meta: Uint32Array, m: number): number {
  const iifIdx = meta[m + M_IIF]!;
  const eifIdx = meta[m + M_EIF]!;
  const hasDev = iifIdx !== IF_NONE;
  const tsOk = hasDev && (meta[m + M_FLAGS]! & 1) === 0;
  const local = eifIdx === IF_NONE;
  const iif = node.iface(iifIdx);
  const eif = node.iface(eifIdx);
  if (type & 0x800000) {
    dv.setUint32(p, ((hopLim << 24) | (node.id & 0xffffff)) >>> 0);
    p += 4;
  }
  if (type & 0x400000) {
    dv.setUint16(p, hasDev ? iif.id : 0xffff);
    dv.setUint16(p + 2, local ? 0xffff : eif.id);
    p += 4;
  }
  if (type & 0x200000) {
    dv.setUint32(p, tsOk ? meta[m + M_SEC]! : ALL);
    p += 4;
  }
  if (type & 0x100000) {
    dv.setUint32(p, tsOk ? Math.floor(meta[m + M_NSEC]! / 1000) : ALL);
    p += 4;
  }
  if (type & 0x080000) {
    dv.setUint32(p, node.rfc ? meta[m + M_DELAY]! : ALL);
    p += 4;
  }
  if (type & 0x040000) {
    dv.setUint32(p, ns.data);
    p += 4;
  }
  if (type & 0x020000) {
    dv.setUint32(p, local ? ALL : meta[m + M_QUEUE]!);
    p += 4;
  }
  if (type & 0x010000) {
    dv.setUint32(p, ALL); // checksum complement: not computed
    p += 4;
  }
  if (type & 0x008000) {
    dv.setUint32(p, ((hopLim << 24) | node.idWideHi) >>> 0);
    dv.setUint32(p + 4, node.idWideLo);
    p += 8;
  }
  if (type & 0x004000) {
    dv.setUint32(p, hasDev ? iif.idWide : ALL);
    dv.setUint32(p + 4, local ? ALL : eif.idWide);
    p += 8;
  }
  if (type & 0x002000) {
    dv.setUint32(p, ns.wideHi);
    dv.setUint32(p + 4, ns.wideLo);
    p += 8;
  }
  if (type & 0x001000) {
    dv.setUint32(p, node.rfc ? meta[m + M_BUFOCC]! : ALL);
    p += 4;
  }
  // bits 12-21: undefined, all-ones
  for (let bit = 0x000800; bit >= 0x000004; bit >>>= 1) {
    if (type & bit) {
      dv.setUint32(p, ALL);
      p += 4;
    }
  }
  if (type & 0x000002) {
    if (ns.oss.length === 0) {
      dv.setUint32(p, 0x00ffffff); // no schema: length 0, schema id 0xFFFFFF
      p += 4;
    } else {
      new Uint8Array(dv.buffer, dv.byteOffset + p, ns.oss.length).set(ns.oss);
      p += ns.oss.length;
    }
  }
  return p;
}

/** Snapshot words (`sclen`) this namespace adds for `type`. */
export function scLen(ns: TsNamespace, type: number): number {
  if ((type & 0x000002) === 0) return 0;
  return ns.oss.length === 0 ? 1 : ns.oss.length / 4;
}
