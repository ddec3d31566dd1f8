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

/** lookup3's state words (a, b, c), shared by {@link jhash} and {@link multipathHash} (one thread, no re-entry). */
const S = new Int32Array(3);

/** lookup3 `mix(a, b, c)` on {@link S}. */
function mix(): void {
  let a = S[0]!;
  let b = S[1]!;
  let c = S[2]!;
  a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
  b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
  c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
  a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
  b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
  c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
  S[0] = a;
  S[1] = b;
  S[2] = c;
}

/** lookup3 `final(a, b, c)` on {@link S}; returns c (unsigned). */
function final(): number {
  let a = S[0]!;
  let b = S[1]!;
  let c = S[2]!;
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

/** lookup3 `hashlittle(key, length, initval)` (= Linux `jhash`). Returns an unsigned 32-bit value. */
export function jhash(k: Uint8Array, length: number, initval: number, off = 0): number {
  S[0] = S[1] = S[2] = (0xdeadbeef + length + initval) | 0;
  let o = off;
  let len = length;
  while (len > 12) {
    S[0] = (S[0]! + (k[o]! | (k[o + 1]! << 8) | (k[o + 2]! << 16) | (k[o + 3]! << 24))) | 0;
    S[1] = (S[1]! + (k[o + 4]! | (k[o + 5]! << 8) | (k[o + 6]! << 16) | (k[o + 7]! << 24))) | 0;
    S[2] = (S[2]! + (k[o + 8]! | (k[o + 9]! << 8) | (k[o + 10]! << 16) | (k[o + 11]! << 24))) | 0;
    mix();
    len -= 12;
    o += 12;
  }
  if (len === 0) return S[2]! >>> 0;
  // The tail: 1..12 bytes (lookup3's fall-through switch), as little-endian words of what is left.
  let a = 0;
  let b = 0;
  let c = 0;
  if (len >= 12) c += k[o + 11]! << 24;
  if (len >= 11) c += k[o + 10]! << 16;
  if (len >= 10) c += k[o + 9]! << 8;
  if (len >= 9) c += k[o + 8]!;
  if (len >= 8) b += k[o + 7]! << 24;
  if (len >= 7) b += k[o + 6]! << 16;
  if (len >= 6) b += k[o + 5]! << 8;
  if (len >= 5) b += k[o + 4]!;
  if (len >= 4) a += k[o + 3]! << 24;
  if (len >= 3) a += k[o + 2]! << 16;
  if (len >= 2) a += k[o + 1]! << 8;
  a += k[o]!;
  S[0] = (S[0]! + a) | 0;
  S[1] = (S[1]! + b) | 0;
  S[2] = (S[2]! + c) | 0;
  return final();
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
  const nh = upperLayer(b, h, end);
  const p = portsAt;
  key[32] = p >= 0 ? b[p]! : 0;
  key[33] = p >= 0 ? b[p + 1]! : 0;
  key[34] = p >= 0 ? b[p + 2]! : 0;
  key[35] = p >= 0 ? b[p + 3]! : 0;
  put32(key, 36, nh);
}

/** Where {@link upperLayer} found the ports (source, destination: 4 bytes), or -1. */
let portsAt = -1;

/**
 * Policy 1's upper-layer protocol of the IPv6 header at `b[h..end]`: Hop-by-Hop, Routing and
 * Destination Options headers skipped, stopping at an encapsulation; sets {@link portsAt}.
 */
function upperLayer(b: Uint8Array, h: number, end: number): number {
  let nh = h + 7 <= end ? b[h + 6]! : 0;
  let p = h + 40;
  while ((nh === NH_HOP || nh === NH_ROUTING || nh === NH_DEST) && p + 2 <= end) {
    const next = b[p]!;
    p += (b[p + 1]! + 1) * 8;
    nh = next;
  }
  const ports = nh !== NH_IPV6 && nh !== NH_IPIP && (nh === 6 || nh === 17 || nh === 132 || nh === 136) && p + 4 <= end;
  portsAt = ports ? p : -1;
  return nh;
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
    const nh = upperLayer(b, h, end);
    const p = portsAt;
    w8 = p >= 0 ? b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24) : 0;
    w9 = nh << 24;
  }
  const k = h + 8;
  S[0] = S[1] = S[2] = (0xdeadbeef + KEY_LEN + seed) | 0;
  // jhash's loop over key bytes 0..36 (words 0..8), then its 4-byte tail (word 9) and final.
  for (let i = 0; i < 3; i++) {
    const q = k + 12 * i;
    S[0] = (S[0]! + le32(b, q, end)) | 0;
    S[1] = (S[1]! + le32(b, q + 4, end)) | 0;
    S[2] = (S[2]! + (i < 2 ? le32(b, q + 8, end) : w8)) | 0;
    mix();
  }
  S[0] = (S[0]! + w9) | 0;
  return final() >>> 1;
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
