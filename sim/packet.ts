/**
 * Packets the simulator's hosts send: IPv6 (RFC 8200 §3) + UDP (RFC 768) or a TCP-like segment
 * (RFC 9293 header, PSH|ACK, no congestion control), with correct upper-layer checksums
 * (RFC 8200 §8.1 pseudo-header). Hop-by-Hop headers are the dataplane's business, not this file's.
 * @module
 */

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export interface PacketSpec {
  src: Uint8Array;
  dst: Uint8Array;
  proto: 'udp' | 'tcp';
  sport: number;
  dport: number;
  /** Total IPv6 packet size in bytes (clamped to the smallest valid size). */
  size: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  /** TCP sequence number (ignored for UDP). */
  tcpSeq: number;
  /** Written at the start of the payload when there is room (8 bytes, big-endian): makes packets distinct. */
  tag: number;
}

/** Minimum packet size for a protocol. */
export const minSize = (proto: 'udp' | 'tcp') => 40 + (proto === 'udp' ? 8 : 20);

/** Bytes of the packet `s` describes (its size clamped to the protocol's minimum and to 65,575). */
export function packetSize(s: PacketSpec): number {
  return Math.max(minSize(s.proto), Math.min(65535 + 40, Math.floor(s.size)));
}

/** Builds the packet bytes, in a new array or in `alloc(size)` (which must return zeroed bytes). */
export function buildPacket(s: PacketSpec, alloc?: (size: number) => Uint8Array): Uint8Array {
  const size = packetSize(s);
  const b = alloc ? alloc(size) : new Uint8Array(size);
  writePacket(s, b, 0, size);
  return b;
}

/**
 * Writes the packet `s` describes (of `size` = {@link packetSize} bytes) at `b[o ..]`, which must
 * be zeroed: the simulator writes straight into its packet slab (no view per packet).
 */
export function writePacket(s: PacketSpec, b: Uint8Array, o: number, size: number): void {
  const plen = size - 40;
  b[o + 0] = 0x60 | (s.trafficClass >> 4);
  b[o + 1] = ((s.trafficClass & 0xf) << 4) | ((s.flowLabel >> 16) & 0xf);
  b[o + 2] = (s.flowLabel >> 8) & 0xff;
  b[o + 3] = s.flowLabel & 0xff;
  b[o + 4] = plen >> 8;
  b[o + 5] = plen & 0xff;
  b[o + 6] = s.proto === 'udp' ? PROTO_UDP : PROTO_TCP;
  b[o + 7] = s.hopLimit;
  b.set(s.src, o + 8);
  b.set(s.dst, o + 24);
  const l4 = 40;
  const hdr = s.proto === 'udp' ? 8 : 20;
  b[o + l4] = s.sport >> 8;
  b[o + l4 + 1] = s.sport & 0xff;
  b[o + l4 + 2] = s.dport >> 8;
  b[o + l4 + 3] = s.dport & 0xff;
  let ck: number;
  if (s.proto === 'udp') {
    b[o + l4 + 4] = plen >> 8;
    b[o + l4 + 5] = plen & 0xff;
    ck = l4 + 6;
  } else {
    const seq = s.tcpSeq >>> 0;
    b[o + l4 + 4] = seq >>> 24;
    b[o + l4 + 5] = (seq >>> 16) & 0xff;
    b[o + l4 + 6] = (seq >>> 8) & 0xff;
    b[o + l4 + 7] = seq & 0xff;
    b[o + l4 + 12] = 5 << 4; // data offset 5 words
    b[o + l4 + 13] = 0x18; // PSH | ACK
    b[o + l4 + 14] = 0xff; // window 65535
    b[o + l4 + 15] = 0xff;
    ck = l4 + 16;
  }
  const pay = l4 + hdr;
  if (size - pay >= 8) {
    let t = s.tag;
    if (Number.isSafeInteger(t) && t >= 0) {
      // Two 32-bit halves (exact below 2^53): shifts, not eight float divisions.
      const hi = Math.floor(t / 4294967296), lo = t >>> 0;
      b[o + pay] = hi >>> 24;
      b[o + pay + 1] = (hi >>> 16) & 0xff;
      b[o + pay + 2] = (hi >>> 8) & 0xff;
      b[o + pay + 3] = hi & 0xff;
      b[o + pay + 4] = lo >>> 24;
      b[o + pay + 5] = (lo >>> 16) & 0xff;
      b[o + pay + 6] = (lo >>> 8) & 0xff;
      b[o + pay + 7] = lo & 0xff;
    } else {
      for (let i = 7; i >= 0; i--) {
        b[o + pay + i] = t % 256;
        t = Math.floor(t / 256);
      }
    }
  }
  let sum = 0;
  for (let i = 8; i < 40; i += 2) sum += (b[o + i]! << 8) | b[o + i + 1]!; // src + dst
  sum += plen + b[o + 6]!;
  // Only the L4 header and the tag are non-zero: the zero payload after them adds nothing to the sum.
  const nonZeroEnd = Math.min(size, pay + 8);
  for (let i = l4; i < nonZeroEnd; i += 2) sum += (b[o + i]! << 8) | (i + 1 < size ? b[o + i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  let c = ~sum & 0xffff;
  if (c === 0 && s.proto === 'udp') c = 0xffff; // RFC 8200 §8.1: UDP checksum 0 is sent as 0xFFFF
  b[o + ck] = c >> 8;
  b[o + ck + 1] = c & 0xff;
}

/** Key of the 16-byte address at `off` (map lookups). */
export function addrKey(b: Uint8Array, off: number): string {
  let s = '';
  for (let i = off; i < off + 16; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

/**
 * The destination after IPv6-in-IPv6 decapsulation: walks the extension header chain from the
 * outer header (HbH, routing, destination options) to Next Header 41 and returns the inner
 * header's offset, or -1.
 */
export function innerHeaderOffset(b: Uint8Array): number {
  if (b.length < 40) return -1;
  let nh = b[6]!;
  let o = 40;
  for (let guard = 0; guard < 8; guard++) {
    if (nh === 41) return o + 40 <= b.length ? o : -1;
    if (nh !== 0 && nh !== 43 && nh !== 60) return -1;
    if (o + 2 > b.length) return -1;
    const next = b[o]!;
    o += (b[o + 1]! + 1) * 8;
    nh = next;
  }
  return -1;
}
