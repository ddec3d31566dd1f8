/**
 * Plain-TypeScript baseline of a transit node: Linux `ip6_rcv_core` header checks →
 * `ip6_parse_tlv` → `ipv6_hop_ioam` → `ioam6_fill_trace_data` (net/ipv6/exthdrs.c, ioam6.c),
 * in place on the batch tables, DataView reads and writes. The rfc profile's Incremental trace
 * append (RFC 9197 §4.4.1) grows the Hop-by-Hop header into the headroom as the core does.
 * @module
 */
import { Reason } from '../../src/index';
import { fillElement, scLen } from './fill';
import { nodeLen, TsNamespace, TsNode } from './node';

/** The batch tables, plus a DataView over the slots. */
export interface Tables {
  buf: Uint8Array;
  dv: DataView;
  desc: Uint32Array;
  meta: Uint32Array;
  out: Uint32Array;
}

/** Writes one outcome row and the packet's new position. */
export function setOut(t: Tables, i: number, reason: number, offset: number, aux: number, off: number, len: number): void {
  const o = i * 4;
  t.out[o] = reason >= 32 ? 1 : 0;
  t.out[o + 1] = reason;
  t.out[o + 2] = offset;
  t.out[o + 3] = aux;
  t.desc[i * 4 + 2] = off;
  t.desc[i * 4 + 3] = len;
}

/** Transit over the first `n` packets of the tables. */
export function transitBatch(node: TsNode, t: Tables, n: number): void {
  for (let i = 0; i < n; i++) transitOne(node, t, i);
}

/** The packet being processed: slot start, offset, length, end of its HbH (an Incremental append moves it). */
export const P = { ss: 0, off: 0, len: 0, hbhEnd: 0, loopback: false };

export function transitOne(node: TsNode, t: Tables, i: number): void {
  const { buf, dv, desc } = t;
  const ss = desc[i * 4]!, se = desc[i * 4 + 1]!, off = desc[i * 4 + 2]!, len = desc[i * 4 + 3]!;
  if (ss > se || se > buf.length || off < ss || off + len > se) {
    t.out.set([1, Reason.DropBadDescriptor, 0, 0], i * 4);
    return;
  }
  if (len < 40 || buf[off]! >> 4 !== 6) return setOut(t, i, Reason.DropMalformedIpv6, 0, 0, off, len);
  const plen = dv.getUint16(off + 4);
  const nh = buf[off + 6]!;
  let eff = len;
  if (plen !== 0 || nh !== 0) {
    if (40 + plen > len) return setOut(t, i, Reason.DropMalformedIpv6, 4, 0, off, len);
    eff = 40 + plen;
  }
  if (nh !== 0) return setOut(t, i, Reason.NoIoam, 0, 0, off, eff);
  if (eff < 48) return setOut(t, i, Reason.DropHbhMalformed, 40, 0, off, eff);
  const hbhLen = (buf[off + 41]! + 1) * 8;
  if (40 + hbhLen > eff) return setOut(t, i, Reason.DropHbhMalformed, 41, 0, off, eff);
  P.ss = ss;
  P.off = off;
  P.len = eff;
  P.hbhEnd = 40 + hbhLen;
  P.loopback = false;
  const m = i * 8;
  // ip6_parse_tlv
  let o = 42;
  let padlen = 0;
  let count = 0;
  let nIoam = 0;
  let last = Reason.NoIoam as number;
  let lastAt = 0;
  while (o < P.hbhEnd) {
    const type = buf[P.off + o]!;
    if (type === 0) {
      if (++padlen > 7) return setOut(t, i, Reason.DropHbhMalformed, o, 0, P.off, P.len);
      o++;
      continue;
    }
    const rest = P.hbhEnd - o;
    if (rest < 2) return setOut(t, i, Reason.DropHbhMalformed, o, 0, P.off, P.len);
    let optLen = buf[P.off + o + 1]! + 2;
    if (optLen > rest) return setOut(t, i, Reason.DropHbhMalformed, o, 0, P.off, P.len);
    if (type === 1) {
      padlen += optLen;
      if (padlen > 7) return setOut(t, i, Reason.DropHbhMalformed, o, 0, P.off, P.len);
      for (let k = 2; k < optLen; k++) if (buf[P.off + o + k] !== 0) return setOut(t, i, Reason.DropHbhMalformed, o, 0, P.off, P.len);
    } else {
      if (++count > 8) return setOut(t, i, Reason.DropHbhMalformed, o, 0, P.off, P.len);
      if (type === 0x05) {
        if (buf[P.off + o + 1] !== 2) return setOut(t, i, Reason.DropHbhMalformed, o, 0, P.off, P.len);
      } else if (type === 0x31) {
        nIoam++;
        const r = hopIoam(node, t, o, m);
        if (r >= 32) return setOut(t, i, r, o, 0, P.off, P.len);
        last = r;
        lastAt = o;
        optLen = buf[P.off + o + 1]! + 2; // an Incremental trace may have grown
      } else if (type === 0xc2) {
        // Jumbo Payload (RFC 2675)
        const jl = dv.getUint32(P.off + o + 2);
        if (buf[P.off + o + 1] !== 4 || (o & 3) !== 2 || jl <= 65535 || plen !== 0) return setOut(t, i, Reason.DropHbhMalformed, o, 0, P.off, P.len);
        if (jl > P.len - 40) return setOut(t, i, Reason.DropMalformedIpv6, o, 0, P.off, P.len);
        P.len = jl + 40;
      } else if (type === 0x07) {
        return setOut(t, i, Reason.DropHbhMalformed, o, 0, P.off, P.len); // CALIPSO without a DOI
      } else if (type >> 6 !== 0) {
        return setOut(t, i, Reason.DropUnknownOption, o, 0, P.off, P.len);
      }
      padlen = 0;
    }
    o += optLen;
  }
  setOut(t, i, last, lastAt, (nIoam | (P.loopback ? 0x80000000 : 0)) >>> 0, P.off, P.len);
}

/** `ipv6_hop_ioam` for the option at packet offset `o`; returns a Reason. */
function hopIoam(node: TsNode, t: Tables, o: number, m: number): number {
  const { buf, dv, meta } = t;
  if (o & 3) return Reason.DropMisaligned;
  if (!node.iface(meta[m]!).enabled) return Reason.IgnoredDisabled;
  const p = P.off;
  const optLen = buf[p + o + 1]!;
  if (optLen < 2) return Reason.DropOptLenShort;
  const tr = p + o + 4; // trace header (Namespace-ID)
  const optType = buf[p + o + 3]!;
  if (optType === 0) {
    if (optLen < 10) return Reason.DropTraceTruncated;
    const remLen = buf[tr + 3]! & 0x7f;
    if (optLen < 10 + remLen * 4) return Reason.DropRemainingLen;
    const type = dv.getUint32(tr + 4) >>> 8;
    if (buf[tr + 2]! >> 3 !== nodeLen(type)) return Reason.DropNodeLen;
    const ns = node.namespaces.get(dv.getUint16(tr));
    if (!ns) return Reason.IgnoredNamespace;
    if (node.rfc && buf[tr + 2]! & 0x02) P.loopback = true;
    return fillPrealloc(node, ns, t, tr, type, (buf[p + 7]! - 1) & 0xff, m);
  }
  if (optType === 1 && node.rfc) {
    if (optLen < 10) return Reason.DropTraceTruncated;
    const type = dv.getUint32(tr + 4) >>> 8;
    if (buf[tr + 2]! >> 3 !== nodeLen(type)) return Reason.DropNodeLen;
    const ns = node.namespaces.get(dv.getUint16(tr));
    if (!ns) return Reason.IgnoredNamespace;
    if (buf[tr + 2]! & 0x02) P.loopback = true;
    return appendIncremental(node, ns, t, o, type, (buf[p + 7]! - 1) & 0xff, m);
  }
  return Reason.IgnoredOptionType;
}

/** `ioam6_fill_trace_data`: write at data + (RemainingLen − NodeLen − sclen)×4, decrement RemainingLen. */
export function fillPrealloc(node: TsNode, ns: TsNamespace, t: Tables, tr: number, type: number, hopLim: number, m: number): number {
  const { buf, dv } = t;
  const b2 = buf[tr + 2]!;
  const b3 = buf[tr + 3]!;
  if (b2 & 0x04) return Reason.OverflowPreset;
  const remLen = b3 & 0x7f;
  const need = (b2 >> 3) + scLen(ns, type);
  if (remLen === 0 || remLen < need) {
    buf[tr + 2] = b2 | 0x04;
    return Reason.OverflowSet;
  }
  fillElement(dv, tr + 8 + (remLen - need) * 4, node, ns, type, hopLim, t.meta, m);
  buf[tr + 3] = (b3 & 0x80) | ((remLen - need) & 0x7f);
  return Reason.Written;
}

/** RFC 9197 §4.4.1 Incremental: insert the element after the trace header; the option grows. */
export function appendIncremental(node: TsNode, ns: TsNamespace, t: Tables, o: number, type: number, hopLim: number, m: number): number {
  const { buf, dv } = t;
  const tr = o + 4; // packet-relative
  const b2 = buf[P.off + tr + 2]!;
  const b3 = buf[P.off + tr + 3]!;
  if (b2 & 0x04) return Reason.OverflowPreset;
  const need = (b2 >> 3) + scLen(ns, type);
  const remLen = b3 & 0x7f;
  const g = need * 4;
  if (remLen < need || buf[P.off + o + 1]! + g > 255) {
    buf[P.off + tr + 2] = b2 | 0x04;
    return Reason.OverflowSet;
  }
  if (g === 0) return Reason.Appended;
  const grown = growHbh(t, tr + 8, g);
  if (grown === -1) return Reason.DropNoRoom;
  if (grown === 0) {
    buf[P.off + tr + 2] = b2 | 0x04;
    return Reason.OverflowSet;
  }
  fillElement(dv, P.off + tr + 8, node, ns, type, hopLim, t.meta, m);
  buf[P.off + o + 1] = (buf[P.off + o + 1]! + g) & 0xff;
  buf[P.off + tr + 3] = (b3 & 0x80) | ((remLen - need) & 0x7f);
  return Reason.Appended;
}

/**
 * Inserts `g` octets at packet offset `ins` in the Hop-by-Hop header, keeping it 8n long by
 * adjusting the trailing padding; the IPv6 header and the HbH head move down into the headroom.
 * Returns 1 done, 0 a length field cannot hold it, −1 no headroom.
 */
function growHbh(t: Tables, ins: number, g: number): number {
  const { buf, dv } = t;
  const base = P.off;
  const end = P.hbhEnd;
  // the trailing run of padding starts after the last non-pad option
  let q = 42;
  let lastEnd = 42;
  let clean = true;
  while (q < end) {
    const ty = buf[base + q]!;
    if (ty === 0) {
      q++;
      continue;
    }
    const l = buf[base + q + 1]! + 2;
    if (q + 1 >= end || q + l > end) {
      clean = false;
      break;
    }
    if (ty !== 1) lastEnd = q + l;
    q += l;
  }
  if (!clean || lastEnd < ins) lastEnd = end;
  const p = end - lastEnd;
  const p2 = g % 8 === 0 ? p : p >= 4 ? p - 4 : p + 4;
  const s = g + p2 - p;
  const newHbh = end - 40 + s;
  const plen = dv.getUint16(base + 4);
  if (newHbh > 2048 || plen === 0 || plen + s > 65535) return 0;
  if (base - s < P.ss) return -1;
  const nb = base - s;
  buf.copyWithin(nb, base, base + ins);
  buf.copyWithin(nb + ins + g, base + ins, base + lastEnd);
  buf.fill(0, nb + ins, nb + ins + g);
  const padAt = base + end - p2;
  buf.fill(0, padAt, base + end);
  if (p2 >= 2) {
    buf[padAt] = 1;
    buf[padAt + 1] = p2 - 2;
  }
  P.off = nb;
  P.len += s;
  P.hbhEnd += s;
  buf[nb + 41] = newHbh / 8 - 1;
  dv.setUint16(nb + 4, plen + s);
  return 1;
}
