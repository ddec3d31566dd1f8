/**
 * Byte-level helpers of the kernel check, independent of the Rust core on purpose (they validate
 * the netns machinery against the real captures on their own): building test packets (IPv6 +
 * Hop-by-Hop / Destination Options + UDP, as the captures' MANIFEST describes), Ethernet framing,
 * and locating the node-data fields whose value depends on the moment (timestamps, RFC 9197
 * §4.4.2.3-4) or the machine (queue depth, §4.4.2.7) in the elements a path wrote.
 * @module
 */
import { ipv6ToBytes } from '../../src/config';

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

/** NodeLen a Trace-Type implies (RFC 9197 §4.4.1; Linux's masks): 1 word per bit 0-7, 11-21, 2 per bit 8-10. */
export function nodeLenOf(type: number): number {
  let n = 0;
  for (let bit = 0; bit < 22; bit++) {
    if (type & (0x800000 >>> bit)) n += bit >= 8 && bit <= 10 ? 2 : 1;
  }
  return n;
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

/** Size in bytes and position of each field of one element, in bit order (RFC 9197 §4.4.2). */
function fieldLayout(type: number): { bit: number; off: number; size: number }[] {
  const out: { bit: number; off: number; size: number }[] = [];
  let off = 0;
  for (let bit = 0; bit < 22; bit++) {
    if (!(type & (0x800000 >>> bit))) continue;
    const size = bit >= 8 && bit <= 10 ? 8 : 4;
    out.push({ bit, off, size });
    off += size;
  }
  return out;
}

/** One IOAM Pre-allocated Trace option found in a Hop-by-Hop header. */
export interface TraceInfo {
  /** Offset of the option (its type byte) in the IPv6 packet. */
  optOffset: number;
  ns: number;
  nodeLen: number;
  /** Byte 2 low 3 bits + byte 3 high bit (raw flag bits). */
  overflow: boolean;
  remLen: number;
  type: number;
  /** Offset of the data space (after the 8-byte trace header) in the IPv6 packet. */
  dataOffset: number;
  /** End of the option. */
  end: number;
}

/** Every 0x31 option with IOAM Option-Type 0 and a whole trace header in the packet's Hop-by-Hop header. */
export function findTraces(p: Uint8Array): TraceInfo[] {
  const out: TraceInfo[] = [];
  if (p.length < 48 || p[6] !== IPPROTO_HOPOPTS) return out;
  const hEnd = Math.min(p.length, 40 + (p[41]! + 1) * 8);
  let i = 42;
  while (i < hEnd) {
    const t = p[i]!;
    if (t === 0) {
      i++;
      continue;
    }
    if (i + 1 >= hEnd) break;
    const len = p[i + 1]!;
    const end = i + 2 + len;
    if (end > hEnd) break;
    if (t === OPT_IOAM && len >= 10 && p[i + 3] === 0) {
      const b2 = p[i + 6]!;
      const b3 = p[i + 7]!;
      out.push({
        optOffset: i,
        ns: (p[i + 4]! << 8) | p[i + 5]!,
        nodeLen: b2 >> 3,
        overflow: (b2 & 0x04) !== 0,
        remLen: b3 & 0x7f,
        type: (p[i + 8]! << 16) | (p[i + 9]! << 8) | p[i + 10]!,
        dataOffset: i + 12,
        end,
      });
    }
    i = end;
  }
  return out;
}

/**
 * The timestamp and queue-depth fields of the elements written since the packet left h1:
 * for each trace, the elements between the current RemainingLen and `injectedRemLen[k]` (the
 * k-th trace's RemainingLen at injection). Elements are walked oldest-last as Linux writes them
 * (each node writes right before the previous one), with the OSS length read from the packet.
 */
export function volatileFields(p: Uint8Array, injectedRemLen: number[]): VolatileField[] {
  const out: VolatileField[] = [];
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  findTraces(p).forEach((t, k) => {
    const oldRem = injectedRemLen[k];
    if (oldRem === undefined || t.remLen >= oldRem) return;
    const layout = fieldLayout(t.type);
    let pos = t.dataOffset + t.remLen * 4;
    const stop = Math.min(t.dataOffset + oldRem * 4, t.end);
    while (pos + t.nodeLen * 4 <= stop) {
      for (const f of layout) {
        const kind = f.bit === 2 ? 'ts_sec' : f.bit === 3 ? 'ts_frac' : f.bit === 6 ? 'queue_depth' : null;
        if (kind) out.push({ offset: pos + f.off, kind, value: dv.getUint32(pos + f.off) });
      }
      let size = t.nodeLen * 4;
      if (t.type & 0x000002) {
        if (pos + size + 4 > stop) break;
        size += 4 + p[pos + size]! * 4;
      }
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
