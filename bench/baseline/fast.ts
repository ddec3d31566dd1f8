/**
 * The FAST plain-TypeScript baseline: what a performance-minded developer writes for the same
 * Linux checks as the core (net/ipv6/exthdrs.c `ip6_parse_tlv` / `ipv6_hop_ioam`, ioam6.c
 * `ioam6_fill_trace_data`, ioam6_iptunnel.c inline insert), with no native code:
 * - the node compiled once into numbers and typed arrays ({@link FastNode}: no Map, no objects
 *   per interface or namespace);
 * - one monomorphic loop per operation over the batch tables, bytes through the Uint8Array,
 *   big-endian words through one DataView (int32 values throughout), no allocation per packet
 *   (results in module variables, not objects);
 * - the same fast path as the core for the header a Linux encapsulating node builds (PadN 0 +
 *   one Pre-allocated trace at 44 [+ PadN 2]) inline in the transit loop, the full TLV walk
 *   otherwise. (Measured on this box: a `fill` function with all 24 bits compiled to much slower
 *   code than one with the first octet only, so the rest of the bits are a second function.)
 * `bench/selfcheck.ts` checks it leaves the core's bytes, descriptors and outcomes on the corpus.
 * The structured baseline (`transit.ts`, `encap.ts`, `decap.ts`) is the "careful, readable" one.
 * @module
 */
import { Reason } from '../../src/index';
import { nodeLen, TsNode } from './node';
import type { DecapTables } from './decap';
import type { NodeConfigInput } from '../../src/index';

// Reason codes as plain constants (no property load per use).
const { Appended, Decapsulated, DropBadDescriptor, DropHbhMalformed, DropMalformedIpv6, DropMisaligned, DropNoRoom, DropNodeLen, DropOptLenShort, DropRemainingLen, DropTraceTruncated, DropUnknownOption, Encapsulated, ExportRequested, IgnoredDisabled, IgnoredNamespace, IgnoredOptionType, NoIoam, OverflowPreset, OverflowSet, SampledOut, SkippedHbhExists, Written } = Reason;

/** A node compiled for the loops: plain numbers and typed arrays, one shape. */
export class FastNode {
  readonly rfc: boolean;
  readonly id: number;
  /** node id & 0xffffff (the short field's low 24 bits) */
  readonly id24: number;
  readonly idWideHi: number;
  readonly idWideLo: number;
  readonly nIf: number;
  readonly ifEnabled: Uint8Array;
  readonly ifId: Int32Array;
  readonly ifWide: Int32Array;
  readonly nNs: number;
  readonly nsId: Int32Array;
  readonly nsData: Int32Array;
  readonly nsWideHi: Int32Array;
  readonly nsWideLo: Int32Array;
  readonly nsClt: Uint8Array;
  /** rendered Opaque State Snapshot of each namespace in {@link oss}: start, length (0 = none) */
  readonly nsOssStart: Int32Array;
  readonly nsOssLen: Int32Array;
  readonly oss: Uint8Array;
  /** inline encap: the Hop-by-Hop header to insert (length 0: no encap), type, namespace index */
  readonly hbh: Uint8Array;
  readonly encType: number;
  readonly encNs: number;
  readonly encIncremental: boolean;
  readonly freqK: number;
  readonly freqN: number;
  count = 0;

  constructor(cfg: NodeConfigInput) {
    const ts = new TsNode(cfg);
    const raw = cfg as unknown as { namespaces?: { id: number; clt_legacy?: boolean }[]; encap?: { freq_k?: number; freq_n?: number } };
    this.rfc = ts.rfc;
    this.id = ts.id;
    this.id24 = ts.id & 0xffffff;
    this.idWideHi = ts.idWideHi;
    this.idWideLo = ts.idWideLo | 0;
    this.nIf = ts.ifaces.length;
    this.ifEnabled = Uint8Array.from(ts.ifaces, (f) => (f.enabled ? 1 : 0));
    this.ifId = Int32Array.from(ts.ifaces, (f) => f.id);
    this.ifWide = Int32Array.from(ts.ifaces, (f) => f.idWide | 0);
    const ns = [...ts.namespaces.values()];
    this.nNs = ns.length;
    this.nsId = Int32Array.from(ns, (x) => x.id);
    this.nsData = Int32Array.from(ns, (x) => x.data | 0);
    this.nsWideHi = Int32Array.from(ns, (x) => x.wideHi | 0);
    this.nsWideLo = Int32Array.from(ns, (x) => x.wideLo | 0);
    this.nsClt = Uint8Array.from(ns, (x) => (raw.namespaces?.find((r) => r.id === x.id)?.clt_legacy ? 1 : 0));
    this.nsOssStart = new Int32Array(ns.length);
    this.nsOssLen = Int32Array.from(ns, (x) => x.oss.length);
    this.oss = new Uint8Array(ns.reduce((a, x) => a + x.oss.length, 0));
    let at = 0;
    ns.forEach((x, k) => {
      this.nsOssStart[k] = at;
      this.oss.set(x.oss, at);
      at += x.oss.length;
    });
    const e = ts.encap;
    this.hbh = e ? e.hbh : new Uint8Array(0);
    this.encType = e ? e.traceType : 0;
    this.encNs = e ? this.nsIndex(e.ns) : -1;
    this.encIncremental = e ? e.incremental : false;
    this.freqK = raw.encap?.freq_k ?? 1;
    this.freqN = raw.encap?.freq_n ?? 1;
  }

  /** NodeLen of the last Trace-Type seen (a one-entry cache of {@link nodeLen}). */
  private lastType = -1;
  private lastNodeLen = 0;

  /** NodeLen (4-octet units) of a 24-bit Trace-Type. */
  nodeLen(type: number): number {
    if (type !== this.lastType) {
      this.lastType = type;
      this.lastNodeLen = nodeLen(type);
    }
    return this.lastNodeLen;
  }

  /** Index of the namespace with this id, −1 if not configured. */
  nsIndex(id: number): number {
    for (let k = 0; k < this.nNs; k++) if (this.nsId[k] === id) return k;
    return -1;
  }
}

/** The batch tables (as {@link DecapTables}). */
export type FastTables = DecapTables;

// Result of the per-packet functions (module variables: no object per packet).
let rOff = 0;
let rLen = 0;
let rOffset = 0;
let rAux = 0;
/** Slot start of the packet being worked on (headroom limit of an Incremental append). */
let pSs = 0;
let pHbhEnd = 0;
let pLoop = false;

/** Snapshot words (`sclen`) of namespace k for `type`. */
function scLen(c: FastNode, k: number, type: number): number {
  if ((type & 2) === 0) return 0;
  const l = c.nsOssLen[k]!;
  return l === 0 ? 1 : l >> 2;
}

/**
 * `__ioam6_fill_trace_data`: the element at absolute `p`; meta words at `m` (read as int32 through
 * `mi`, a view of the same words, so every value stays a 32-bit integer: all-ones is −1).
 */
function fill(c: FastNode, buf: Uint8Array, dv: DataView, p: number, k: number, type: number, hl: number, mi: Int32Array, m: number): void {
  const iif = mi[m]!; // −1: none (locally generated); beyond the table: an unconfigured device
  const eif = mi[m + 1]!; // −1: local delivery
  const tsOk = iif !== -1 && (mi[m + 7]! & 1) === 0;
  if (type & 0x800000) {
    dv.setInt32(p, (hl << 24) | c.id24);
    p += 4;
  }
  if (type & 0x400000) {
    dv.setInt32(p, ((iif >= 0 && iif < c.nIf ? c.ifId[iif]! : 0xffff) << 16) | (eif >= 0 && eif < c.nIf ? c.ifId[eif]! : 0xffff));
    p += 4;
  }
  if (type & 0x200000) {
    dv.setInt32(p, tsOk ? mi[m + 2]! : -1);
    p += 4;
  }
  if (type & 0x100000) {
    dv.setInt32(p, tsOk ? ((mi[m + 3]! >>> 0) / 1000) | 0 : -1);
    p += 4;
  }
  if ((type & 0x0fffff) !== 0) fillRest(c, buf, dv, p, k, type, hl, mi, m);
}

/** Bits 4-22 of the fill (apart: a small `fill` keeps V8's optimized code fast for the common types). */
function fillRest(c: FastNode, buf: Uint8Array, dv: DataView, p: number, k: number, type: number, hl: number, mi: Int32Array, m: number): void {
  const iif = mi[m]!;
  const eif = mi[m + 1]!;
  const hasDev = iif !== -1;
  const local = eif === -1;
  if (type & 0x080000) {
    dv.setInt32(p, c.rfc ? mi[m + 5]! : -1);
    p += 4;
  }
  if (type & 0x040000) {
    dv.setInt32(p, c.nsData[k]!);
    p += 4;
  }
  if (type & 0x020000) {
    dv.setInt32(p, local ? -1 : mi[m + 4]!);
    p += 4;
  }
  if (type & 0x010000) {
    dv.setInt32(p, -1);
    p += 4;
  }
  if (type & 0x008000) {
    dv.setInt32(p, (hl << 24) | c.idWideHi);
    dv.setInt32(p + 4, c.idWideLo);
    p += 8;
  }
  if (type & 0x004000) {
    dv.setInt32(p, hasDev && iif >= 0 && iif < c.nIf ? c.ifWide[iif]! : -1);
    dv.setInt32(p + 4, !local && eif >= 0 && eif < c.nIf ? c.ifWide[eif]! : -1);
    p += 8;
  }
  if (type & 0x002000) {
    dv.setInt32(p, c.nsWideHi[k]!);
    dv.setInt32(p + 4, c.nsWideLo[k]!);
    p += 8;
  }
  if (type & 0x001000) {
    dv.setInt32(p, c.rfc ? mi[m + 6]! : -1);
    p += 4;
  }
  for (let u = type & 0x000ffc; u !== 0; u &= u - 1) {
    dv.setInt32(p, -1);
    p += 4;
  }
  if (type & 0x000002) {
    const l = c.nsOssLen[k]!;
    if (l === 0) dv.setInt32(p, 0x00ffffff);
    else for (let j = 0, a = c.nsOssStart[k]!; j < l; j++) buf[p + j] = c.oss[a + j]!;
  }
}

/** Pre-allocated trace update at absolute trace header `tr` (header `hdr` octets); a Reason. */
function fillPrealloc(c: FastNode, buf: Uint8Array, dv: DataView, tr: number, hdr: number, k: number, hl: number, meta: Int32Array, m: number): number {
  const b2 = buf[tr + 2]!;
  const b3 = buf[tr + 3]!;
  if (b2 & 0x04) return OverflowPreset;
  const type = (buf[tr + 4]! << 16) | (buf[tr + 5]! << 8) | buf[tr + 6]!;
  const need = (b2 >> 3) + scLen(c, k, type);
  const rem = b3 & 0x7f;
  if (rem === 0 || rem < need) {
    buf[tr + 2] = b2 | 0x04;
    return OverflowSet;
  }
  buf[tr + 3] = (b3 & 0x80) | (rem - need);
  fill(c, buf, dv, tr + hdr + (rem - need) * 4, k, type, hl, meta, m);
  return Written;
}

/**
 * Receive processing of the packet at [off, off + len) in slot [ss, se): the Linux checks, each
 * IOAM option processed. Returns a Reason; sets rOff/rLen (new position), rOffset, rAux.
 */
function receive(c: FastNode, buf: Uint8Array, dv: DataView, meta: Int32Array, m: number, ss: number, off: number, len: number): number {
  rOff = off;
  rLen = len;
  rOffset = 0;
  rAux = 0;
  if (len < 40 || buf[off]! >> 4 !== 6) return DropMalformedIpv6;
  const plen = (buf[off + 4]! << 8) | buf[off + 5]!;
  const nh = buf[off + 6]!;
  let eff = len;
  if (plen !== 0 || nh !== 0) {
    if (40 + plen > len) {
      rOffset = 4;
      return DropMalformedIpv6;
    }
    eff = 40 + plen;
  }
  rLen = eff;
  if (nh !== 0) return NoIoam;
  if (eff < 48) {
    rOffset = 40;
    return DropHbhMalformed;
  }
  const hbhEnd = 40 + (buf[off + 41]! + 1) * 8;
  if (hbhEnd > eff) {
    rOffset = 41;
    return DropHbhMalformed;
  }
  const hl = (buf[off + 7]! - 1) & 0xff;
  // Fast path: the Linux-built layout (PadN 0, Pre-allocated option at 44 to the end [+ PadN 2]).
  if (plen !== 0 && buf[off + 42] === 1 && buf[off + 43] === 0 && buf[off + 44] === 0x31 && buf[off + 47] === 0) {
    const optLen = buf[off + 45]!;
    const optEnd = 46 + optLen;
    if (optEnd === hbhEnd || (optEnd + 4 === hbhEnd && buf[off + optEnd] === 1 && buf[off + optEnd + 1] === 2 && buf[off + optEnd + 2] === 0 && buf[off + optEnd + 3] === 0)) {
      const r = hopIoam(c, buf, dv, meta, m, ss, off, 44, optLen + 2, hl);
      rOffset = 44;
      rAux = r >= 32 ? 0 : pLoop ? (1 | 0x80000000) >>> 0 : 1;
      return r;
    }
  }
  pSs = ss;
  pHbhEnd = hbhEnd;
  let o = 42;
  let padlen = 0;
  let count = 0;
  let nIoam = 0;
  let last: number = NoIoam;
  let lastAt = 0;
  let loop = false;
  let p = off;
  while (o < pHbhEnd) {
    const t = buf[p + o]!;
    if (t === 0) {
      if (++padlen > 7) return drop(DropHbhMalformed, o);
      o++;
      continue;
    }
    const rest = pHbhEnd - o;
    if (rest < 2) return drop(DropHbhMalformed, o);
    let optLen = buf[p + o + 1]! + 2;
    if (optLen > rest) return drop(DropHbhMalformed, o);
    if (t === 1) {
      padlen += optLen;
      if (padlen > 7) return drop(DropHbhMalformed, o);
      for (let q = p + o + 2; q < p + o + optLen; q++) if (buf[q] !== 0) return drop(DropHbhMalformed, o);
    } else {
      if (++count > 8) return drop(DropHbhMalformed, o);
      if (t === 0x31) {
        nIoam++;
        const r = hopIoam(c, buf, dv, meta, m, ss, p, o, optLen, hl);
        if (r >= 32) return drop(r, o);
        last = r;
        lastAt = o;
        loop ||= pLoop;
        p = rOff; // an Incremental append moves the packet
        optLen = buf[p + o + 1]! + 2;
      } else if (t === 0x05) {
        if (buf[p + o + 1] !== 2) return drop(DropHbhMalformed, o);
      } else if (t === 0xc2) {
        const jl = dv.getUint32(p + o + 2);
        if (buf[p + o + 1] !== 4 || (o & 3) !== 2 || jl <= 65535 || plen !== 0) return drop(DropHbhMalformed, o);
        if (jl > rLen - 40) return drop(DropMalformedIpv6, o);
        rLen = jl + 40;
      } else if (t === 0x07) {
        return drop(DropHbhMalformed, o);
      } else if (t >> 6 !== 0) {
        return drop(DropUnknownOption, o);
      }
      padlen = 0;
    }
    o += optLen;
  }
  rOffset = lastAt;
  rAux = (nIoam | (loop ? 0x80000000 : 0)) >>> 0;
  return last;
}

function drop(r: number, o: number): number {
  rOffset = o;
  rAux = 0;
  return r;
}

/** `ipv6_hop_ioam` for the option at packet offset o of the packet at p (rOff/rLen current). */
function hopIoam(c: FastNode, buf: Uint8Array, dv: DataView, meta: Int32Array, m: number, ss: number, p: number, o: number, optLen: number, hl: number): number {
  pLoop = false;
  if (o & 3) return DropMisaligned;
  const iif = meta[m]!;
  if (iif < 0 || iif >= c.nIf || c.ifEnabled[iif] === 0) return IgnoredDisabled;
  const dl = optLen - 2; // Opt Data Len
  if (dl < 2) return DropOptLenShort;
  const a = p + o;
  const ioamType = buf[a + 3]!;
  if (ioamType === 0) {
    if (dl < 10) return DropTraceTruncated;
    const tr = a + 4;
    const k = c.nsIndex((buf[tr]! << 8) | buf[tr + 1]!);
    const hdr = k >= 0 && c.nsClt[k] === 1 ? 32 : 8;
    if (dl < 2 + hdr) return DropTraceTruncated;
    if (dl < 2 + hdr + (buf[tr + 3]! & 0x7f) * 4) return DropRemainingLen;
    const type = (buf[tr + 4]! << 16) | (buf[tr + 5]! << 8) | buf[tr + 6]!;
    if (buf[tr + 2]! >> 3 !== c.nodeLen(type)) return DropNodeLen;
    if (k < 0) return IgnoredNamespace;
    pLoop = c.rfc && (buf[tr + 2]! & 0x02) !== 0;
    return fillPrealloc(c, buf, dv, tr, hdr, k, hl, meta, m);
  }
  return hopIoamOther(c, buf, dv, meta, m, ss, p, o, dl, hl, ioamType);
}

/** `ipv6_hop_ioam` for IOAM Option-Types other than Pre-allocated (rfc: Incremental, DEX). */
function hopIoamOther(c: FastNode, buf: Uint8Array, dv: DataView, meta: Int32Array, m: number, ss: number, p: number, o: number, dl: number, hl: number, ioamType: number): number {
  const a = p + o;
  if (ioamType === 1 && c.rfc) {
    if (dl < 10) return DropTraceTruncated;
    const tr = a + 4;
    const type = (buf[tr + 4]! << 16) | (buf[tr + 5]! << 8) | buf[tr + 6]!;
    if (buf[tr + 2]! >> 3 !== c.nodeLen(type)) return DropNodeLen;
    const k = c.nsIndex((buf[tr]! << 8) | buf[tr + 1]!);
    if (k < 0) return IgnoredNamespace;
    pLoop = (buf[tr + 2]! & 0x02) !== 0;
    pSs = ss;
    return appendIncremental(c, buf, dv, p, o, k, type, hl, meta, m);
  }
  if (ioamType === 4 && c.rfc) {
    const ext = buf[a + 7]!;
    if (dl < 10 + 4 * (((ext >> 7) & 1) + ((ext >> 6) & 1))) return DropTraceTruncated;
    if (c.nsIndex((buf[a + 4]! << 8) | buf[a + 5]!) < 0) return IgnoredNamespace;
    return ExportRequested;
  }
  return IgnoredOptionType;
}

/** RFC 9197 §4.4.1 append after the trace header at packet offset o + 4; the packet at p may move (rOff). */
function appendIncremental(c: FastNode, buf: Uint8Array, dv: DataView, p: number, o: number, k: number, type: number, hl: number, meta: Int32Array, m: number): number {
  const tr = p + o + 4;
  const b2 = buf[tr + 2]!;
  const b3 = buf[tr + 3]!;
  if (b2 & 0x04) return OverflowPreset;
  const need = (b2 >> 3) + scLen(c, k, type);
  const rem = b3 & 0x7f;
  const g = need * 4;
  if (rem < need || buf[p + o + 1]! + g > 255) {
    buf[tr + 2] = b2 | 0x04;
    return OverflowSet;
  }
  if (g === 0) return Appended;
  const grown = growHbh(buf, dv, p, o + 12, g);
  if (grown < 0) return DropNoRoom;
  if (grown === 0) {
    buf[tr + 2] = b2 | 0x04;
    return OverflowSet;
  }
  const q = rOff;
  fill(c, buf, dv, q + o + 12, k, type, hl, meta, m);
  buf[q + o + 1] = (buf[q + o + 1]! + g) & 0xff;
  buf[q + o + 7] = (b3 & 0x80) | (rem - need);
  return Appended;
}

/** Inserts g octets at packet offset ins of the HbH (packet at p, header end pHbhEnd); 1 done, 0 a length cannot hold it, −1 no headroom. */
function growHbh(buf: Uint8Array, dv: DataView, p: number, ins: number, g: number): number {
  const end = pHbhEnd;
  let q = 42;
  let lastEnd = 42;
  let clean = true;
  while (q < end) {
    const ty = buf[p + q]!;
    if (ty === 0) {
      q++;
      continue;
    }
    const l = buf[p + q + 1]! + 2;
    if (q + 1 >= end || q + l > end) {
      clean = false;
      break;
    }
    if (ty !== 1) lastEnd = q + l;
    q += l;
  }
  if (!clean || lastEnd < ins) lastEnd = end;
  const pad = end - lastEnd;
  const pad2 = (g & 7) === 0 ? pad : pad >= 4 ? pad - 4 : pad + 4;
  const s = g + pad2 - pad;
  const newHbh = end - 40 + s;
  const plen = (buf[p + 4]! << 8) | buf[p + 5]!;
  if (newHbh > 2048 || plen === 0 || plen + s > 65535) return 0;
  if (p - s < pSs) return -1;
  const nb = p - s;
  buf.copyWithin(nb, p, p + ins);
  buf.copyWithin(nb + ins + g, p + ins, p + lastEnd);
  buf.fill(0, nb + ins, nb + ins + g);
  const padAt = p + end - pad2;
  buf.fill(0, padAt, p + end);
  if (pad2 >= 2) {
    buf[padAt] = 1;
    buf[padAt + 1] = pad2 - 2;
  }
  rOff = nb;
  rLen += s;
  pHbhEnd += s;
  buf[nb + 41] = newHbh / 8 - 1;
  dv.setUint16(nb + 4, plen + s);
  return 1;
}

/** Writes packet i's outcome row and its new position. */
function setOut(t: FastTables, i: number, r: number): void {
  const o = i << 2;
  t.out[o] = r >= 32 ? 1 : 0;
  t.out[o + 1] = r;
  t.out[o + 2] = rOffset;
  t.out[o + 3] = r >= 32 ? 0 : rAux;
  t.desc[o + 2] = rOff;
  t.desc[o + 3] = rLen;
}

function badDesc(t: FastTables, i: number): void {
  const o = i << 2;
  t.out[o] = 1;
  t.out[o + 1] = DropBadDescriptor;
  t.out[o + 2] = 0;
  t.out[o + 3] = 0;
}

/** Transit over the first n packets of the tables. */
export function fastTransit(c: FastNode, t: FastTables, n: number): void {
  const { buf, dv, desc, out } = t;
  const meta = int32View(t.meta);
  const bl = buf.length;
  for (let i = 0; i < n; i++) {
    const d = i << 2;
    const ss = desc[d]!, se = desc[d + 1]!, off = desc[d + 2]!, len = desc[d + 3]!;
    if (ss > se || se > bl || off < ss || off + len > se) {
      badDesc(t, i);
      continue;
    }
    // The Linux-built layout, inline (as the core's fast path): PadN 0, a Pre-allocated option
    // at 44 to the end of the header [+ PadN 2], an enabled ingress, a configured non-CLT
    // namespace, room for the element. Anything else: the general walk (`receive`).
    const m = i << 3;
    if (len >= 56 && buf[off]! >> 4 === 6 && buf[off + 6] === 0 && buf[off + 42] === 1 && buf[off + 43] === 0 && buf[off + 44] === 0x31 && buf[off + 47] === 0) {
      const plen = (buf[off + 4]! << 8) | buf[off + 5]!;
      const eff = 40 + plen;
      const hbhEnd = 40 + (buf[off + 41]! + 1) * 8;
      const dl = buf[off + 45]!;
      const optEnd = 46 + dl;
      const iif = meta[m]!;
      if (
        plen !== 0 && eff <= len && hbhEnd <= eff && dl >= 10 &&
        (optEnd === hbhEnd || (optEnd + 4 === hbhEnd && dv.getInt32(off + optEnd) === 0x01020000)) &&
        iif >= 0 && iif < c.nIf && c.ifEnabled[iif] === 1
      ) {
        const tr = off + 48;
        const id = (buf[tr]! << 8) | buf[tr + 1]!;
        let k = -1;
        for (let j = 0; j < c.nNs; j++) {
          if (c.nsId[j] === id) {
            k = j;
            break;
          }
        }
        const b2 = buf[tr + 2]!;
        const b3 = buf[tr + 3]!;
        const rem = b3 & 0x7f;
        const nl = b2 >> 3;
        const type = (buf[tr + 4]! << 16) | (buf[tr + 5]! << 8) | buf[tr + 6]!;
        if (k >= 0 && c.nsClt[k] === 0 && (b2 & 0x04) === 0 && dl >= 10 + rem * 4 && nl === c.nodeLen(type)) {
          const need = nl + ((type & 2) === 0 ? 0 : c.nsOssLen[k] === 0 ? 1 : c.nsOssLen[k]! >> 2);
          if (rem !== 0 && rem >= need) {
            fill(c, buf, dv, tr + 8 + (rem - need) * 4, k, type, (buf[off + 7]! - 1) & 0xff, meta, m);
            buf[tr + 3] = (b3 & 0x80) | (rem - need);
            out[d] = 0;
            out[d + 1] = Written;
            out[d + 2] = 44;
            out[d + 3] = c.rfc && (b2 & 0x02) !== 0 ? 0x80000001 : 1;
            desc[d + 3] = eff;
            continue;
          }
        }
      }
    }
    setOut(t, i, receive(c, buf, dv, meta, m, ss, off, len));
  }
}

/** Inline encap (+ own element, is_input = false) over the first n packets. */
export function fastEncap(c: FastNode, t: FastTables, n: number): void {
  const { buf, dv, desc } = t;
  const meta = int32View(t.meta);
  const bl = buf.length;
  const hbh = c.hbh;
  const h = hbh.length;
  const k = c.encNs;
  const type = c.encType;
  const extra = c.encIncremental && k >= 0 ? (nodeLen(type) + scLen(c, k, type)) * 4 + 4 : 0;
  for (let i = 0; i < n; i++) {
    const d = i << 2;
    const ss = desc[d]!, se = desc[d + 1]!, off = desc[d + 2]!;
    let len = desc[d + 3]!;
    if (ss > se || se > bl || off < ss || off + len > se) {
      badDesc(t, i);
      continue;
    }
    rOff = off;
    rLen = len;
    rOffset = 0;
    rAux = 0;
    if (h === 0) {
      setOut(t, i, NoIoam);
      continue;
    }
    if (len < 40 || buf[off]! >> 4 !== 6) {
      setOut(t, i, DropMalformedIpv6);
      continue;
    }
    // As ip6_rcv_core leaves it: 40 + Payload Length (past the end: dropped), unless a jumbogram candidate.
    const plen = (buf[off + 4]! << 8) | buf[off + 5]!;
    if (plen !== 0 || buf[off + 6] !== 0) {
      if (40 + plen > len) {
        rOffset = 4;
        setOut(t, i, DropMalformedIpv6);
        continue;
      }
      len = rLen = 40 + plen;
    }
    const cnt = c.count;
    c.count = (cnt + 1) >>> 0;
    if (c.freqN === 0 || cnt % c.freqN >= c.freqK) {
      setOut(t, i, SampledOut);
      continue;
    }
    if (buf[off + 6] === 0) {
      setOut(t, i, SkippedHbhExists);
      continue;
    }
    const newLen = len + h;
    if (off - ss < h + extra || newLen - 40 > 65535) {
      setOut(t, i, DropNoRoom);
      continue;
    }
    const nb = off - h;
    buf.copyWithin(nb, off, off + 40);
    const innerNh = buf[nb + 6]!;
    buf.set(hbh, nb + 40);
    buf[nb + 40] = innerNh;
    buf[nb + 6] = 0;
    buf[nb + 4] = (newLen - 40) >> 8;
    buf[nb + 5] = (newLen - 40) & 0xff;
    rOff = nb;
    rLen = newLen;
    if (k >= 0) {
      const hl = buf[nb + 7]!;
      if (c.encIncremental) {
        pSs = ss;
        pHbhEnd = 40 + h;
        const r = appendIncremental(c, buf, dv, nb, 44, k, type, hl, meta, i << 3);
        if (r >= 32) {
          setOut(t, i, r);
          continue;
        }
      } else {
        fillPrealloc(c, buf, dv, nb + 48, c.nsClt[k] === 1 ? 32 : 8, k, hl, meta, i << 3);
      }
    }
    rAux = rLen - len;
    setOut(t, i, Encapsulated);
  }
}

/** Receive, then remove the IOAM options / Hop-by-Hop header (inline) or the outer header, handing the HbH back. */
export function fastDecap(c: FastNode, t: FastTables, n: number): void {
  const { buf, dv, desc, arena, traceDesc } = t;
  const meta = int32View(t.meta);
  const bl = buf.length;
  const al = arena.length;
  const adv = arenaView(arena);
  let cursor = 0;
  traceDesc.fill(0, 0, n * 2);
  for (let i = 0; i < n; i++) {
    const d = i << 2;
    const ss = desc[d]!, se = desc[d + 1]!, off0 = desc[d + 2]!, len0 = desc[d + 3]!;
    if (ss > se || se > bl || off0 < ss || off0 + len0 > se) {
      badDesc(t, i);
      continue;
    }
    let r = receive(c, buf, dv, meta, i << 3, ss, off0, len0);
    const off = rOff;
    const len = rLen;
    if (r < 32 && len >= 48 && buf[off + 6] === 0 && (rAux & 0x7fffffff) !== 0) {
      const hbhLen = (buf[off + 41]! + 1) * 8;
      const end = 40 + hbhLen;
      if (end <= len) {
        let aux = 0;
        if (cursor + hbhLen <= al) {
          for (let j = 0; j < hbhLen; j += 4) adv.setUint32(cursor + j, dv.getUint32(off + 40 + j));
          aux = hbhLen;
        }
        rAux = aux;
        rOffset = 0;
        r = decapRemove(buf, dv, off, len, end, hbhLen);
      }
    }
    setOut(t, i, r);
    const a = r >= 32 ? 0 : t.out[(i << 2) + 3]!;
    traceDesc[i * 2] = cursor;
    traceDesc[i * 2 + 1] = a;
    cursor += a;
  }
}

let metaI: Int32Array | undefined;
/** The meta words as int32 (a view made once per table). */
function int32View(a: Uint32Array): Int32Array {
  if (!metaI || metaI.buffer !== a.buffer || metaI.byteOffset !== a.byteOffset || metaI.length !== a.length) metaI = new Int32Array(a.buffer, a.byteOffset, a.length);
  return metaI;
}

let arenaDv: DataView | undefined;
/** A DataView over the trace arena, made once per arena. */
function arenaView(a: Uint8Array): DataView {
  if (!arenaDv || arenaDv.buffer !== a.buffer || arenaDv.byteOffset !== a.byteOffset || arenaDv.byteLength !== a.byteLength) arenaDv = new DataView(a.buffer, a.byteOffset, a.byteLength);
  return arenaDv;
}

/** The removal part of decap for the HbH ending at `end`; sets rOff/rLen; a Reason. */
function decapRemove(buf: Uint8Array, dv: DataView, off: number, len: number, end: number, hbhLen: number): number {
  let nh = buf[off + 40]!;
  let q = end;
  for (;;) {
    if (nh === 41) {
      if (q + 40 > len || buf[off + q]! >> 4 !== 6) {
        rOffset = q;
        return DropMalformedIpv6;
      }
      rOff = off + q;
      rLen = len - q;
      return Decapsulated;
    }
    if ((nh === 60 || nh === 43 || nh === 135 || nh === 139 || nh === 140 || nh === 51) && q + 8 <= len) {
      const l = nh === 51 ? (buf[off + q + 1]! + 2) * 4 : (buf[off + q + 1]! + 1) * 8;
      nh = buf[off + q]!;
      q += l;
      continue;
    }
    break;
  }
  // inline: compact the HbH without its IOAM options
  let s = 42;
  let w = 42;
  let kept = 0;
  while (s < end) {
    const ty = buf[off + s]!;
    if (ty === 0) {
      s++;
      continue;
    }
    const l = buf[off + s + 1]! + 2;
    if (s + l > end) break;
    if (ty !== 1 && ty !== 0x31) {
      const p = (s - w) % 8;
      padAt(buf, off + w, p);
      w += p;
      buf.copyWithin(off + w, off + s, off + s + l);
      w += l;
      kept++;
    }
    s += l;
  }
  let newLen = 0;
  if (kept !== 0) {
    const p = (8 - ((w - 40) % 8)) % 8;
    padAt(buf, off + w, p);
    newLen = w + p - 40;
  }
  const dd = hbhLen - newLen;
  const plen = (buf[off + 4]! << 8) | buf[off + 5]!;
  if (newLen === 0) buf[off + 6] = buf[off + 40]!;
  else buf[off + 41] = newLen / 8 - 1;
  dv.setUint16(off + 4, plen === 0 ? 0 : Math.max(0, plen - dd));
  buf.copyWithin(off + dd, off, off + 40 + newLen);
  rOff = off + dd;
  rLen = len - dd;
  return Decapsulated;
}

function padAt(buf: Uint8Array, at: number, p: number): void {
  buf.fill(0, at, at + p);
  if (p >= 2) {
    buf[at] = 1;
    buf[at + 1] = p - 2;
  }
}
