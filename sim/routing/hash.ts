/**
 * ECMP flow hash with the inputs of Linux's `net.ipv6.fib_multipath_hash_policy`
 * (net/ipv6/route.c `rt6_multipath_hash`, `ip6_multipath_l3_keys`):
 *
 * - policy 0 (L3, Linux's default): source and destination address, flow label and the IPv6
 *   header's Next Header, read from the packet as the node receives it (so a packet carrying a
 *   Hop-by-Hop header hashes Next Header 0, as Linux does: `keys->basic.ip_proto =
 *   key_iph->nexthdr`). For an ICMPv6 error (type < 128) the addresses, flow label and Next
 *   Header of the offending packet inside it are used instead.
 * - policy 1 (L4): source and destination address, source and destination port and the
 *   upper-layer protocol found by walking the extension headers (Hop-by-Hop, Routing,
 *   Destination Options are skipped, as the flow dissector does); an IPv6-in-IPv6 packet stops
 *   at the encapsulation (FLOW_DISSECTOR_F_STOP_AT_ENCAP): protocol 41, ports 0. No flow label.
 *
 * The hash function is Bob Jenkins' lookup3 `hashlittle` (Linux's `jhash`) over a 40-byte key,
 * seeded per node; Linux hashes its `struct flow_keys` with siphash and a boot-time random key,
 * so the values differ from a kernel's (the inputs do not). The next hop is then chosen like
 * Linux's `fib6_select_path`: hash >> 1 (31 bits) against each next hop's upper bound
 * (hash-threshold, RFC 2992), bounds from the cumulative weights as in `rt6_upper_bound_set`.
 * @module
 */

export type HashPolicy = 0 | 1;

/** Key layout: src 0..16, dst 16..32, policy 0: flow label (u32 BE) 32..36 | policy 1: sport, dport 32..36; protocol (u32 BE) 36..40. */
export const KEY_LEN = 40;

const rot = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/** lookup3 `hashlittle(key, length, initval)` (= Linux `jhash`). Returns an unsigned 32-bit value. */
export function jhash(k: Uint8Array, length: number, initval: number, off = 0): number {
  let a = (0xdeadbeef + length + initval) | 0;
  let b = a;
  let c = a;
  let o = off;
  let len = length;
  while (len > 12) {
    a = (a + (k[o]! | (k[o + 1]! << 8) | (k[o + 2]! << 16) | (k[o + 3]! << 24))) | 0;
    b = (b + (k[o + 4]! | (k[o + 5]! << 8) | (k[o + 6]! << 16) | (k[o + 7]! << 24))) | 0;
    c = (c + (k[o + 8]! | (k[o + 9]! << 8) | (k[o + 10]! << 16) | (k[o + 11]! << 24))) | 0;
    // mix(a, b, c)
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
    len -= 12;
    o += 12;
  }
  if (len === 0) return c >>> 0;
  // The tail: 1..12 bytes (lookup3's fall-through switch).
  if (len >= 12) c = (c + (k[o + 11]! << 24)) | 0;
  if (len >= 11) c = (c + (k[o + 10]! << 16)) | 0;
  if (len >= 10) c = (c + (k[o + 9]! << 8)) | 0;
  if (len >= 9) c = (c + k[o + 8]!) | 0;
  if (len >= 8) b = (b + (k[o + 7]! << 24)) | 0;
  if (len >= 7) b = (b + (k[o + 6]! << 16)) | 0;
  if (len >= 6) b = (b + (k[o + 5]! << 8)) | 0;
  if (len >= 5) b = (b + k[o + 4]!) | 0;
  if (len >= 4) a = (a + (k[o + 3]! << 24)) | 0;
  if (len >= 3) a = (a + (k[o + 2]! << 16)) | 0;
  if (len >= 2) a = (a + (k[o + 1]! << 8)) | 0;
  a = (a + k[o]!) | 0;
  // final(a, b, c)
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

const NH_HOP = 0;
const NH_ROUTING = 43;
const NH_DEST = 60;
const NH_IPV6 = 41;
const NH_IPIP = 4;
const NH_ICMPV6 = 58;

function put32(k: Uint8Array, at: number, v: number): void {
  k[at] = v >>> 24;
  k[at + 1] = (v >>> 16) & 0xff;
  k[at + 2] = (v >>> 8) & 0xff;
  k[at + 3] = v & 0xff;
}

/**
 * Writes the hash key of the IPv6 packet at `b[off..]` into `key` (KEY_LEN bytes, see the
 * layout above). Bytes the packet lacks (at or past `end`, default the array's end) read as 0 (a
 * truncated packet still hashes).
 */
export function flowKey(policy: HashPolicy, b: Uint8Array, off: number, key: Uint8Array, end = b.length): void {
  let h = off;
  if (policy === 0 && b[h + 6] === NH_ICMPV6 && h + 48 + 40 <= end && b[h + 40]! < 128) h += 48; // ICMPv6 error: the offending packet
  for (let i = 0; i < 32; i++) key[i] = h + 8 + i < end ? b[h + 8 + i]! : 0;
  if (policy === 0) {
    put32(key, 32, h + 4 <= end ? ((b[h + 1]! & 0x0f) << 16) | (b[h + 2]! << 8) | b[h + 3]! : 0);
    put32(key, 36, h + 7 <= end ? b[h + 6]! : 0);
    return;
  }
  let nh = h + 7 <= end ? b[h + 6]! : 0;
  let p = h + 40;
  while ((nh === NH_HOP || nh === NH_ROUTING || nh === NH_DEST) && p + 2 <= end) {
    const next = b[p]!;
    p += (b[p + 1]! + 1) * 8;
    nh = next;
  }
  const ports = nh !== NH_IPV6 && nh !== NH_IPIP && (nh === 6 || nh === 17 || nh === 132 || nh === 136) && p + 4 <= end;
  key[32] = ports ? b[p]! : 0;
  key[33] = ports ? b[p + 1]! : 0;
  key[34] = ports ? b[p + 2]! : 0;
  key[35] = ports ? b[p + 3]! : 0;
  put32(key, 36, nh);
}

/** The little-endian word of `b[p..p+4]`, bytes at or past `end` read as 0 (as in {@link flowKey}). */
function le32(b: Uint8Array, p: number, end: number): number {
  if (p + 4 <= end) return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
  if (p >= end) return 0;
  return b[p]! | (p + 1 < end ? b[p + 1]! << 8 : 0) | (p + 2 < end ? b[p + 2]! << 16 : 0);
}

/**
 * The 31-bit multipath hash (Linux's `mhash >> 1`) of the packet at `b[off..end]` for a node's seed:
 * `jhash(flowKey(...), KEY_LEN, seed) >>> 1`, computed straight from the packet bytes: the key's
 * ten little-endian words are read where {@link flowKey} would copy them from (addresses) or built
 * from the fields (words 8 and 9), and fed to lookup3's three mixing rounds and 4-byte tail,
 * without writing the key (the per-hop cost of a multipath route and of the path checks'
 * fingerprints).
 */
export function multipathHash(policy: HashPolicy, b: Uint8Array, off: number, seed: number, end = b.length): number {
  let h = off;
  let w8: number;
  let w9: number;
  if (policy === 0) {
    if (b[h + 6] === NH_ICMPV6 && h + 48 + 40 <= end && b[h + 40]! < 128) h += 48; // ICMPv6 error: the offending packet
    // Key bytes 32..36 = flow label (u32 BE), 36..40 = Next Header (u32 BE), as little-endian words.
    w8 = h + 4 <= end ? ((b[h + 1]! & 0x0f) << 8) | (b[h + 2]! << 16) | (b[h + 3]! << 24) : 0;
    w9 = h + 7 <= end ? b[h + 6]! << 24 : 0;
  } else {
    let nh = h + 7 <= end ? b[h + 6]! : 0;
    let p = h + 40;
    while ((nh === NH_HOP || nh === NH_ROUTING || nh === NH_DEST) && p + 2 <= end) {
      const next = b[p]!;
      p += (b[p + 1]! + 1) * 8;
      nh = next;
    }
    const ports = nh !== NH_IPV6 && nh !== NH_IPIP && (nh === 6 || nh === 17 || nh === 132 || nh === 136) && p + 4 <= end;
    w8 = ports ? b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24) : 0;
    w9 = nh << 24;
  }
  const k = h + 8;
  let x = (0xdeadbeef + KEY_LEN + seed) | 0;
  let y = x;
  let z = x;
  // jhash's loop: key bytes 0..12, 12..24, 24..36.
  x = (x + le32(b, k, end)) | 0; y = (y + le32(b, k + 4, end)) | 0; z = (z + le32(b, k + 8, end)) | 0;
  x = (x - z) | 0; x ^= rot(z, 4); z = (z + y) | 0;
  y = (y - x) | 0; y ^= rot(x, 6); x = (x + z) | 0;
  z = (z - y) | 0; z ^= rot(y, 8); y = (y + x) | 0;
  x = (x - z) | 0; x ^= rot(z, 16); z = (z + y) | 0;
  y = (y - x) | 0; y ^= rot(x, 19); x = (x + z) | 0;
  z = (z - y) | 0; z ^= rot(y, 4); y = (y + x) | 0;
  x = (x + le32(b, k + 12, end)) | 0; y = (y + le32(b, k + 16, end)) | 0; z = (z + le32(b, k + 20, end)) | 0;
  x = (x - z) | 0; x ^= rot(z, 4); z = (z + y) | 0;
  y = (y - x) | 0; y ^= rot(x, 6); x = (x + z) | 0;
  z = (z - y) | 0; z ^= rot(y, 8); y = (y + x) | 0;
  x = (x - z) | 0; x ^= rot(z, 16); z = (z + y) | 0;
  y = (y - x) | 0; y ^= rot(x, 19); x = (x + z) | 0;
  z = (z - y) | 0; z ^= rot(y, 4); y = (y + x) | 0;
  x = (x + le32(b, k + 24, end)) | 0; y = (y + le32(b, k + 28, end)) | 0; z = (z + w8) | 0;
  x = (x - z) | 0; x ^= rot(z, 4); z = (z + y) | 0;
  y = (y - x) | 0; y ^= rot(x, 6); x = (x + z) | 0;
  z = (z - y) | 0; z ^= rot(y, 8); y = (y + x) | 0;
  x = (x - z) | 0; x ^= rot(z, 16); z = (z + y) | 0;
  y = (y - x) | 0; y ^= rot(x, 19); x = (x + z) | 0;
  z = (z - y) | 0; z ^= rot(y, 4); y = (y + x) | 0;
  // The 4-byte tail (key bytes 36..40), then final(a, b, c).
  x = (x + w9) | 0;
  z ^= y; z = (z - rot(y, 14)) | 0;
  x ^= z; x = (x - rot(z, 11)) | 0;
  y ^= x; y = (y - rot(x, 25)) | 0;
  z ^= y; z = (z - rot(y, 16)) | 0;
  x ^= z; x = (x - rot(z, 4)) | 0;
  y ^= x; y = (y - rot(x, 14)) | 0;
  z ^= y; z = (z - rot(y, 24)) | 0;
  return (z >>> 0) >>> 1;
}

/**
 * Upper bounds of next hops with these weights (Linux `rt6_upper_bound_set`): next hop i is chosen
 * for hashes <= bound[i] (31-bit), bound = round(cumulative weight * 2^31 / total) - 1.
 */
export function upperBounds(weights: readonly number[]): number[] {
  const total = weights.reduce((s, w) => s + w, 0);
  let acc = 0;
  return weights.map((w) => {
    acc += w;
    return Math.round((acc * 2 ** 31) / total) - 1;
  });
}

const UTF8 = new TextEncoder();

/** A per-node seed from a run seed and the node's name (so nodes do not all split alike). */
export function nodeSeed(seed: number, name: string): number {
  const e = UTF8.encode(name);
  return jhash(e, e.length, seed >>> 0);
}
