/**
 * Plain-TypeScript baseline of whole-packet decode into the library's {@link DecodedPacket}
 * shape (the wire layer's JSON schema): IPv6 header, extension headers with their options, IOAM
 * Pre-allocated / Incremental traces with per-node data (RFC 9197 §4.4), upper layer as hex.
 * DataView reads; 64-bit values through BigInt to decimal strings as the schema wants.
 * Scope: well-formed packets (a malformed header throws; the native decoder reports it as data).
 * @module
 */
import type { DecodedPacket, ExtHeader, IoamData, NodeData, OptionEntry, Trace } from '../../src/index';

const EXT_KIND: Record<number, ExtHeader['kind']> = { 0: 'hop-by-hop', 43: 'routing', 44: 'fragment', 60: 'destination-options', 51: 'ah' };

function hex(buf: Uint8Array, from: number, to: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString('hex');
}

/** RFC 5952 text of the address at `at`. */
export function ipv6Text(dv: DataView, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(dv.getUint16(at + i * 2));
  // longest run (>= 2) of zero groups, the first one on a tie
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const h = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return h(g);
  return `${h(g.slice(0, best))}::${h(g.slice(best + bestLen))}`;
}

function u64(hi: number, lo: number): string {
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Decodes a packet (IPv6 header first). */
export function decodeTs(p: Uint8Array): DecodedPacket {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (p.length < 40 || p[0]! >> 4 !== 6) throw new Error('not an IPv6 packet');
  const w0 = dv.getUint32(0);
  const ipv6 = {
    trafficClass: (w0 >>> 20) & 0xff,
    flowLabel: w0 & 0xfffff,
    payloadLen: dv.getUint16(4),
    nextHeader: p[6]!,
    hopLimit: p[7]!,
    src: ipv6Text(dv, 8),
    dst: ipv6Text(dv, 24),
  };
  const extHeaders: ExtHeader[] = [];
  let nh = p[6]!;
  let q = 40;
  for (;;) {
    const kind = EXT_KIND[nh];
    if (!kind) break;
    if (q + 8 > p.length) throw new Error(`truncated ${kind} header at ${q}`);
    const len = kind === 'fragment' ? 8 : kind === 'ah' ? (p[q + 1]! + 2) * 4 : (p[q + 1]! + 1) * 8;
    if (q + len > p.length) throw new Error(`truncated ${kind} header at ${q}`);
    const h: ExtHeader = { kind, offset: q, length: len, nextHeader: p[q]! };
    if (kind === 'hop-by-hop' || kind === 'destination-options') h.options = options(p, dv, q + 2, q + len);
    else h.data = hex(p, q + 1, q + len);
    extHeaders.push(h);
    nh = p[q]!;
    q += len;
  }
  return { ipv6, extHeaders, upperLayer: { protocol: nh, offset: q, payload: hex(p, q, p.length) } };
}

function options(p: Uint8Array, dv: DataView, from: number, end: number): OptionEntry[] {
  const out: OptionEntry[] = [];
  let o = from;
  while (o < end) {
    const type = p[o]!;
    if (type === 0) {
      out.push({ offset: o, option: { kind: 'pad1' } });
      o++;
      continue;
    }
    if (o + 2 > end || o + 2 + p[o + 1]! > end) throw new Error(`option at ${o} overruns its header`);
    const len = p[o + 1]!;
    if (type === 1) out.push({ offset: o, option: { kind: 'padn', len } });
    else if (type === 0x31 && len >= 2) out.push({ offset: o, option: { kind: 'ioam', reserved: p[o + 2]!, data: ioam(p, dv, o + 3, o + 2 + len) } });
    else out.push({ offset: o, option: { kind: 'unknown', optionType: type, data: hex(p, o + 2, o + 2 + len) } });
    o += 2 + len;
  }
  return out;
}

/** The IOAM option body from the IOAM Option-Type octet at `at` to `end`. */
function ioam(p: Uint8Array, dv: DataView, at: number, end: number): IoamData {
  const optType = p[at]!;
  const t = at + 1;
  if ((optType === 0 || optType === 1) && end - t >= 8) {
    const b2 = p[t + 2]!;
    const b3 = p[t + 3]!;
    const traceType = dv.getUint32(t + 4) >>> 8;
    const nodeLen = b2 >> 3;
    const remainingLen = b3 & 0x7f;
    const tr: Trace = {
      namespaceId: dv.getUint16(t),
      nodeLen,
      flags: { overflow: (b2 & 4) !== 0, loopback: (b2 & 2) !== 0, active: (b2 & 1) !== 0, bit3: (b3 & 0x80) !== 0 },
      remainingLen,
      traceType,
      reserved: p[t + 7]!,
      freeSpace: '',
      nodes: [],
    };
    let d = t + 8;
    if (optType === 0) {
      if (d + remainingLen * 4 > end) throw new Error('RemainingLen beyond the option');
      tr.freeSpace = hex(p, d, d + remainingLen * 4);
      d += remainingLen * 4;
    } else {
      delete (tr as Partial<Trace>).freeSpace;
    }
    while (d < end) {
      const r = nodeData(p, dv, d, end, traceType);
      if (r.end > end) throw new Error('node data beyond the option');
      tr.nodes.push(r.node);
      d = r.end;
    }
    return { type: optType === 0 ? 'preallocated-trace' : 'incremental-trace', ...tr };
  }
  return { type: 'unknown', optionType: optType, data: hex(p, t, end) };
}

/** One node's element at `d`, fields in Trace-Type bit order. */
function nodeData(p: Uint8Array, dv: DataView, d: number, end: number, type: number): { node: NodeData; end: number } {
  const n: NodeData = {};
  if (d + nodeLenOf(type) * 4 > end) return { node: n, end: end + 1 };
  if (type & 0x800000) {
    n.hopLimit = p[d]!;
    n.nodeId = dv.getUint32(d) & 0xffffff;
    d += 4;
  }
  if (type & 0x400000) {
    n.ingressIfId = dv.getUint16(d);
    n.egressIfId = dv.getUint16(d + 2);
    d += 4;
  }
  if (type & 0x200000) (n.timestampSecs = dv.getUint32(d)), (d += 4);
  if (type & 0x100000) (n.timestampFrac = dv.getUint32(d)), (d += 4);
  if (type & 0x080000) (n.transitDelay = dv.getUint32(d)), (d += 4);
  if (type & 0x040000) (n.namespaceData = dv.getUint32(d)), (d += 4);
  if (type & 0x020000) (n.queueDepth = dv.getUint32(d)), (d += 4);
  if (type & 0x010000) (n.checksumComplement = dv.getUint32(d)), (d += 4);
  if (type & 0x008000) {
    n.hopLimitWide = p[d]!;
    n.nodeIdWide = u64(dv.getUint32(d) & 0xffffff, dv.getUint32(d + 4));
    d += 8;
  }
  if (type & 0x004000) {
    n.ingressIfIdWide = dv.getUint32(d);
    n.egressIfIdWide = dv.getUint32(d + 4);
    d += 8;
  }
  if (type & 0x002000) (n.namespaceDataWide = u64(dv.getUint32(d), dv.getUint32(d + 4))), (d += 8);
  if (type & 0x001000) (n.bufferOccupancy = dv.getUint32(d)), (d += 4);
  if (type & 0x000ffc) {
    n.undefined = [];
    for (let bit = 0x000800; bit >= 0x000004; bit >>>= 1) if (type & bit) n.undefined.push(dv.getUint32(d)), (d += 4);
  }
  if (type & 0x000002) {
    if (d + 4 > end) return { node: n, end: end + 1 };
    const length = p[d]!;
    n.oss = { length, schemaId: dv.getUint32(d) & 0xffffff, data: hex(p, d + 4, Math.min(end, d + 4 + length * 4)) };
    d += 4 + length * 4;
  }
  return { node: n, end: d };
}

function nodeLenOf(type: number): number {
  let n = 0;
  for (let bit = 0; bit < 22; bit++) if (type & (0x800000 >>> bit)) n += bit >= 8 && bit <= 10 ? 2 : 1;
  return n;
}
