/**
 * Byte-level helpers of the kernel check: building test packets (IPv6 + Hop-by-Hop /
 * Destination Options + UDP, as test/fixtures/linux-6.18/MANIFEST.md describes), Ethernet
 * framing, and locating the node-data fields whose value depends on the moment (timestamps,
 * RFC 9197 §4.4.2.3-4) or the machine (queue depth, §4.4.2.7) in the elements a path wrote.
 * Packets are read with the core's decoder (src/decode.ts); field positions inside an element
 * come from src/tracetype.ts.
 * @module
 */
import { ipv6ToBytes } from '../../src/config';
import { decode, type NodeData, type Trace } from '../../src/decode';
import { elementLayout, TRACE_OSS_BIT } from '../../src/tracetype';

export const ETHERTYPE_IPV6 = 0x86dd;
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_UDP = 17;
export const IPPROTO_DSTOPTS = 60;
/** IPv6 option type of IOAM (RFC 9486 §3; Linux `IPV6_TLV_IOAM`). */
export const OPT_IOAM = 0x31;

/** `02:00:00:00:xx:yy` */
export function mac(xx: number, yy: number): Uint8Array {
  return Uint8Array.of(0x02, 0, 0, 0, xx & 0xff, yy & 0xff);
}

export function ethFrame(dst: Uint8Array, src: Uint8Array, ipv6: Uint8Array): Buffer {
  const f = Buffer.alloc(14 + ipv6.length);
  f.set(dst, 0);
  f.set(src, 6);
  f.writeUInt16BE(ETHERTYPE_IPV6, 12);
  f.set(ipv6, 14);
  return f;
}

/** The IPv6 packet of an Ethernet frame, or null if it is not IPv6. */
export function ipv6OfFrame(frame: Uint8Array): Uint8Array | null {
  if (frame.length < 54 || frame[12] !== 0x86 || frame[13] !== 0xdd) return null;
  const plen = (frame[18]! << 8) | frame[19]!;
  return frame.subarray(14, Math.min(frame.length, 54 + plen));
}

/** Pads a list of option TLVs to a multiple of 8 bytes with the 2-byte header: Pad1 for one byte, PadN otherwise. */
export function extHeader(nextHeader: number, optionBytes: Uint8Array): Uint8Array {
  const raw = 2 + optionBytes.length;
  const total = Math.ceil(raw / 8) * 8;
  const h = new Uint8Array(total);
  h[0] = nextHeader;
  h[1] = total / 8 - 1;
  h.set(optionBytes, 2);
  const pad = total - raw;
  if (pad === 1) h[raw] = 0;
  else if (pad >= 2) {
    h[raw] = 1;
    h[raw + 1] = pad - 2;
  }
  return h;
}

export interface TraceOptionSpec {
  ns: number;
  /** NodeLen as written (5 bits). */
  nodeLen: number;
  /** 4 flag bits: O=8 L=4 A=2 bit3=1 in RFC order → wire masks 0x04/0x02/0x01 on byte 2 and 0x80 on byte 3. */
  flags: number;
  /** RemainingLen as written (7 bits). */
  remLen: number;
  /** 24-bit Trace-Type. */
  type: number;
  /** Bytes of data space after the 8-byte header (zero-filled). */
  dataBytes: number;
  /** IOAM Option-Type (0 = Pre-allocated Trace). */
  ioamType?: number;
  /** Opt Data Len override (malformed lengths); the option is then cut or zero-extended to it. */
  optLen?: number;
  /** Option code (0x31, or 0x11 for the IANA variant Linux does not know). */
  code?: number;
}

/** An IOAM Pre-allocated Trace option TLV: `[code][len][rsv][ioam type][trace header 8][data]`. */
export function traceOption(s: TraceOptionSpec): Uint8Array {
  const natural = 2 + 8 + s.dataBytes;
  const optLen = s.optLen ?? natural;
  const o = new Uint8Array(2 + optLen);
  o[0] = s.code ?? OPT_IOAM;
  o[1] = optLen & 0xff;
  const body = new Uint8Array(Math.max(natural, optLen));
  body[0] = 0;
  body[1] = s.ioamType ?? 0;
  body[2] = (s.ns >> 8) & 0xff;
  body[3] = s.ns & 0xff;
  // RFC 9197 §4.4.1: NodeLen(5) Flags(4) RemainingLen(7); flag bit 0 (O) is the MSB of the 4.
  body[4] = ((s.nodeLen & 0x1f) << 3) | ((s.flags >> 1) & 0x07);
  body[5] = ((s.flags & 1) << 7) | (s.remLen & 0x7f);
  body[6] = (s.type >> 16) & 0xff;
  body[7] = (s.type >> 8) & 0xff;
  body[8] = s.type & 0xff;
  body[9] = 0;
  o.set(body.subarray(0, optLen), 2);
  return o;
}

function sum16(b: Uint8Array, acc: number): number {
  for (let i = 0; i + 1 < b.length; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) acc += b[b.length - 1]! << 8;
  return acc;
}

export interface UdpPacketSpec {
  src: string;
  dst: string;
  hopLimit: number;
  /** Extension headers in order, each with its own next-header byte to be patched. */
  ext?: { proto: number; bytes: Uint8Array }[];
  srcPort?: number;
  dstPort?: number;
  payload: Uint8Array;
}

/** IPv6 + extension headers + UDP with a correct checksum (RFC 8200 §8.1). */
export function udpPacket(s: UdpPacketSpec): Uint8Array {
  const ext = s.ext ?? [];
  const udpLen = 8 + s.payload.length;
  const extLen = ext.reduce((a, e) => a + e.bytes.length, 0);
  const p = new Uint8Array(40 + extLen + udpLen);
  const dv = new DataView(p.buffer);
  dv.setUint32(0, 0x60000000);
  dv.setUint16(4, extLen + udpLen);
  p[6] = ext.length ? ext[0]!.proto : IPPROTO_UDP;
  p[7] = s.hopLimit & 0xff;
  const src = ipv6ToBytes(s.src);
  const dst = ipv6ToBytes(s.dst);
  p.set(src, 8);
  p.set(dst, 24);
  let off = 40;
  ext.forEach((e, i) => {
    p.set(e.bytes, off);
    p[off] = i + 1 < ext.length ? ext[i + 1]!.proto : IPPROTO_UDP;
    off += e.bytes.length;
  });
  dv.setUint16(off, s.srcPort ?? 4000);
  dv.setUint16(off + 2, s.dstPort ?? 5000);
  dv.setUint16(off + 4, udpLen);
  p.set(s.payload, off + 8);
  let acc = sum16(src, 0);
  acc = sum16(dst, acc);
  acc += udpLen + IPPROTO_UDP;
  acc = sum16(p.subarray(off, off + udpLen), acc);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  let c = ~acc & 0xffff;
  if (c === 0) c = 0xffff;
  dv.setUint16(off + 6, c);
  return p;
}

/** A machine- or time-dependent field inside a node-data element. */
export interface VolatileField {
  /** Byte offset in the IPv6 packet. */
  offset: number;
  kind: 'ts_sec' | 'ts_frac' | 'queue_depth';
  value: number;
}

const VOLATILE_KIND: Record<number, VolatileField['kind']> = { 2: 'ts_sec', 3: 'ts_frac', 6: 'queue_depth' };

/** One IOAM Pre-allocated Trace option of a packet's Hop-by-Hop header, as the core decoded it. */
export interface TraceInfo {
  /** Offset of the option (its type byte) in the IPv6 packet. */
  optOffset: number;
  ns: number;
  nodeLen: number;
  overflow: boolean;
  remLen: number;
  type: number;
  /** Offset of the data space (after the 8-byte trace header) in the IPv6 packet. */
  dataOffset: number;
  /** End of the option. */
  end: number;
  /** The elements after the free space, newest first (standard layout). */
  nodes: NodeData[];
}

/**
 * Every Pre-allocated Trace (IOAM Option-Type 0) whose trace header the core could read, in the
 * packet's Hop-by-Hop header (the only place Linux processes IOAM). Options the core reports with
 * an error (e.g. RemainingLen beyond the option) are included with what it decoded.
 */
export function findTraces(p: Uint8Array): TraceInfo[] {
  if (p.length < 48 || p[6] !== IPPROTO_HOPOPTS) return [];
  let hbh;
  try {
    hbh = decode(p).extHeaders[0];
  } catch {
    return [];
  }
  const out: TraceInfo[] = [];
  for (const o of hbh?.kind === 'hop-by-hop' ? (hbh.options ?? []) : []) {
    if (o.option.kind !== 'ioam' || o.option.data.type !== 'preallocated-trace' || o.offset === undefined) continue;
    const t: Trace = o.option.data;
    out.push({
      optOffset: o.offset,
      ns: t.namespaceId,
      nodeLen: t.nodeLen,
      overflow: t.flags.overflow,
      remLen: t.remainingLen,
      type: t.traceType,
      dataOffset: o.offset + 12,
      end: o.offset + 2 + p[o.offset + 1]!,
      nodes: t.nodes,
    });
  }
  return out;
}

/**
 * The timestamp and queue-depth fields of the elements written since the packet left h1:
 * for each trace, the elements between the current RemainingLen and `injectedRemLen[k]` (the
 * k-th trace's RemainingLen at injection), newest first as the core decoded them.
 */
export function volatileFields(p: Uint8Array, injectedRemLen: number[]): VolatileField[] {
  const out: VolatileField[] = [];
  findTraces(p).forEach((t, k) => {
    const oldRem = injectedRemLen[k];
    if (oldRem === undefined || t.remLen >= oldRem) return;
    const layout = elementLayout(t.type);
    let pos = t.dataOffset + t.remLen * 4;
    const stop = Math.min(t.dataOffset + oldRem * 4, t.end);
    for (const node of t.nodes) {
      if (pos + t.nodeLen * 4 > stop) break;
      for (const f of layout) {
        const v = f.bit === 2 ? node.timestampSecs : f.bit === 3 ? node.timestampFrac : f.bit === 6 ? node.queueDepth : undefined;
        if (v !== undefined) out.push({ offset: pos + f.offset, kind: VOLATILE_KIND[f.bit]!, value: v });
      }
      const size = t.nodeLen * 4 + (t.type & TRACE_OSS_BIT && node.oss ? 4 + node.oss.length * 4 : 0);
      if (size === 0) break;
      pos += size;
    }
  });
  return out;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}
