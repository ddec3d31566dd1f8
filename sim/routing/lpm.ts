/**
 * Longest-prefix match over 128-bit IPv6 keys: one open-addressing hash table per prefix length
 * present, probed from the longest length down (a topology has few distinct lengths: /128 for
 * addresses, the subnets' /64, /0 for a default route), so a lookup costs a few 16-byte hashes
 * and compares, reads the destination straight out of the packet bytes and allocates nothing.
 * (A binary trie needs up to 128 dependent steps per lookup: about three times slower here.)
 *
 * {@link Lpm.lookupIn} (the per-packet, per-hop lookup) goes through a match cache first: a run
 * looks up the same few destinations over and over, so a two-way set-associative table (sized by
 * the prefix count, {@link MATCH_CACHE_MAX} entries at most) keeps, per destination (its 16 bytes
 * as four 32-bit words), the values of every prefix containing it, longest first (up to
 * {@link MATCH_CACHE_VALUES}; a destination inside more prefixes keeps the first ones and a count).
 * A hit is one multiplicative hash and four word compares, then the first listed value the
 * caller's map has a route for. That is exactly what the probes give (each length table holds at
 * most one prefix containing the address, probed longest first), and the list depends only on the
 * prefixes: an entry is used only when all 16 bytes equal the ones it was filled for, and
 * {@link Lpm.insert} empties the cache. Routes (the map) are read on every lookup, so one cache
 * serves every node and every recomputation of the tables.
 *
 * Why not an npm package: the LPM packages on npm (longest-prefix-match, radix-trie-js, netmask)
 * key on strings or IPv4 numbers and allocate per lookup; the simulator looks up every packet at
 * every hop, from its bytes. The table is built once per routing input (shared by all nodes and recomputations) and then only read.
 * @module
 */

/** No route (a lookup that matched nothing). */
export const LPM_NONE = -1;
const NONE = LPM_NONE;

/** Most entries of an Lpm's match cache (see the module doc): 256 KiB. */
export const MATCH_CACHE_MAX = 8192;
/** Values of matching prefixes a match-cache entry lists (a module-local constant: hot code reads no export binding). */
const MC_VALUES = 3;
export const MATCH_CACHE_VALUES = MC_VALUES;
/** Int32 words per match-cache entry: the address's four words, the match count (EMPTY: none cached), three values; two entries (ways) per set: 64 bytes. */
const MC_STRIDE = 8;
const MC_SET = 2 * MC_STRIDE;
const MC_EMPTY = -1;

/** Match-cache entries for `n` prefixes: 4 n (a run looks up about one destination per prefix), a power of two from 64 to MATCH_CACHE_MAX. */
export function matchCacheSize(n: number): number {
  let e = 64;
  while (e < 4 * n && e < MATCH_CACHE_MAX) e *= 2;
  return e;
}

/** Scratch of {@link Lpm.put} (the key is copied into the table). */
const MASKED = new Uint8Array(16);

/** The prefixes of one length: masked keys (16 bytes each) and values, open addressing. */
class LengthTable {
  keys: Uint8Array;
  vals: Int32Array;
  mask: number;
  count = 0;
  constructor(readonly len: number, cap = 8) {
    this.keys = new Uint8Array(cap * 16);
    this.vals = new Int32Array(cap).fill(LPM_NONE);
    this.mask = cap - 1;
  }
}

/** The byte mask of byte i of a /len prefix. */
function byteMask(len: number, i: number): number {
  const keep = len - 8 * i;
  return keep >= 8 ? 0xff : keep <= 0 ? 0 : (0xff00 >> keep) & 0xff;
}

/** FNV-1a over the first ceil(len/8) bytes of the address at b[off..], masked to len bits. */
function hashMasked(b: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5 ^ len;
  const full = len >> 3;
  for (let i = 0; i < full; i++) h = Math.imul(h ^ b[off + i]!, 0x01000193);
  if (len & 7) h = Math.imul(h ^ (b[off + full]! & ((0xff00 >> (len & 7)) & 0xff)), 0x01000193);
  return h >>> 0;
}

function sameMasked(keys: Uint8Array, ko: number, b: Uint8Array, off: number, len: number): boolean {
  const full = len >> 3;
  for (let i = 0; i < full; i++) if (keys[ko + i] !== b[off + i]) return false;
  if (len & 7) return keys[ko + full] === (b[off + full]! & ((0xff00 >> (len & 7)) & 0xff));
  return true;
}

/** The value of table `t`'s prefix containing the address at `b[off..]`, or LPM_NONE. */
function probe(t: LengthTable, b: Uint8Array, off: number): number {
  const len = t.len;
  let slot = hashMasked(b, off, len) & t.mask;
  for (;;) {
    const v = t.vals[slot]!;
    if (v === LPM_NONE || sameMasked(t.keys, slot * 16, b, off, len)) return v;
    slot = (slot + 1) & t.mask;
  }
}

export class Lpm {
  /** Tables by descending prefix length. */
  private tables: LengthTable[] = [];
  /** Number of prefixes inserted. */
  size = 0;
  /** The match cache (module doc), MC_STRIDE words per entry. */
  private mc: Int32Array;
  /** 32 - log2(sets): a set is the hash's top bits. */
  private mcShift = 0;
  /** Whether an entry was filled since the cache was last emptied. */
  private mcUsed = false;

  /**
   * `capacity`: how many prefixes of one length to make room for up front (no rehashing);
   * `cacheEntries`: a fixed match-cache size (a power of two from 4 to MATCH_CACHE_MAX; tests make
   * it tiny to force evictions), default by the prefix count.
   */
  constructor(private readonly capacity = 0, private readonly cacheEntries?: number) {
    if (cacheEntries !== undefined && !(cacheEntries >= 4 && cacheEntries <= MATCH_CACHE_MAX && (cacheEntries & (cacheEntries - 1)) === 0)) {
      throw new RangeError(`match cache entries must be a power of two in 4..${MATCH_CACHE_MAX}, got ${cacheEntries}`);
    }
    this.mc = new Int32Array(0);
    this.resetCache(cacheEntries ?? matchCacheSize(0));
  }

  /** Maps `addr/len` (bits past `len` ignored) to `v` (>= 0); replaces an existing mapping. */
  insert(addr: Uint8Array, len: number, v: number): void {
    if (!(len >= 0 && len <= 128) || !Number.isInteger(len)) throw new RangeError(`prefix length must be 0..128, got ${len}`);
    if (!(v >= 0)) throw new RangeError(`LPM values must be >= 0, got ${v}`);
    let t = this.tables.find((x) => x.len === len);
    if (!t) {
      t = new LengthTable(len, Math.max(8, 2 ** Math.ceil(Math.log2(2 * this.capacity + 2))));
      this.tables.push(t);
      this.tables.sort((a, b) => b.len - a.len);
    }
    if ((t.count + 1) * 2 > t.vals.length) this.grow(t);
    if (this.put(t, addr, v)) this.size++;
    this.resetCache(this.cacheEntries ?? matchCacheSize(this.size));
  }

  /** Empties the match cache (if anything was cached), `entries` entries from now on. */
  private resetCache(entries: number): void {
    if (this.mc.length !== entries * MC_STRIDE) this.mc = new Int32Array(entries * MC_STRIDE);
    else if (!this.mcUsed) return;
    for (let i = 4; i < this.mc.length; i += MC_STRIDE) this.mc[i] = MC_EMPTY;
    this.mcShift = 32 - Math.log2(entries / 2);
    this.mcUsed = false;
  }

  /** Value of the longest prefix containing the 16-byte address at `b[off..]`, or LPM_NONE. */
  lookup(b: Uint8Array, off: number): number {
    const tables = this.tables;
    for (let k = 0; k < tables.length; k++) {
      const v = probe(tables[k]!, b, off);
      if (v !== LPM_NONE) return v;
    }
    return LPM_NONE;
  }

  /**
   * `map[base + v]` for the longest prefix containing the address at `b[off..]` (value v) whose
   * entry in `map` is >= 0, or LPM_NONE: the longest match among a subset of the prefixes (one
   * node's routes in a table shared by all nodes, sim/routing/fib.ts). Through the match cache
   * (module doc).
   */
  lookupIn(b: Uint8Array, off: number, map: Int32Array, base: number): number {
    if (off + 16 > b.length) return this.probeIn(b, off, map, base); // a short buffer: its missing bytes are not zeros
    // Big-endian words: the bytes that tell addresses apart (the last ones) land in the low bits,
    // which a multiplication spreads over the high bits the set is taken from.
    const w0 = (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
    const w1 = (b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!;
    const w2 = (b[off + 8]! << 24) | (b[off + 9]! << 16) | (b[off + 10]! << 8) | b[off + 11]!;
    const w3 = (b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!;
    const h = (Math.imul(w0, 0x9e3779b1) + Math.imul(w1, 0x85ebca77) + Math.imul(w2, 0xc2b2ae3d) + Math.imul(w3, 0x27d4eb2f)) | 0;
    const mc = this.mc;
    let e = (h >>> this.mcShift) * MC_SET;
    if (!(mc[e] === w0 && mc[e + 1] === w1 && mc[e + 2] === w2 && mc[e + 3] === w3 && mc[e + 4] !== MC_EMPTY)) {
      e += MC_STRIDE;
      if (!(mc[e] === w0 && mc[e + 1] === w1 && mc[e + 2] === w2 && mc[e + 3] === w3 && mc[e + 4] !== MC_EMPTY)) e = this.fill(b, off, e - MC_STRIDE, w0, w1, w2, w3);
    }
    const n = mc[e + 4]!;
    for (let i = 0; i < n && i < MC_VALUES; i++) {
      const m = map[base + mc[e + 5 + i]!]!;
      if (m >= 0) return m;
    }
    return n <= MC_VALUES ? NONE : this.probeIn(b, off, map, base);
  }

  /**
   * Fills way 0 of the match-cache set at `e` with the matches of the address at `b[off..]`
   * (words `w0..w3`), moving the entry there to way 1; returns `e`.
   */
  private fill(b: Uint8Array, off: number, e: number, w0: number, w1: number, w2: number, w3: number): number {
    const mc = this.mc;
    this.mcUsed = true;
    mc.copyWithin(e + MC_STRIDE, e, e + MC_STRIDE);
    const tables = this.tables;
    let n = 0;
    for (let k = 0; k < tables.length; k++) {
      const v = probe(tables[k]!, b, off);
      if (v === LPM_NONE) continue;
      if (n < MC_VALUES) mc[e + 5 + n] = v;
      n++;
    }
    mc[e] = w0;
    mc[e + 1] = w1;
    mc[e + 2] = w2;
    mc[e + 3] = w3;
    mc[e + 4] = n;
    return e;
  }

  /** {@link lookupIn} by probing every length table (no cache). */
  private probeIn(b: Uint8Array, off: number, map: Int32Array, base: number): number {
    const tables = this.tables;
    for (let k = 0; k < tables.length; k++) {
      const v = probe(tables[k]!, b, off);
      if (v === LPM_NONE) continue;
      const m = map[base + v]!;
      if (m >= 0) return m;
    }
    return LPM_NONE;
  }

  /** Stores addr/len → v; true if the prefix is new. */
  private put(t: LengthTable, addr: Uint8Array, v: number): boolean {
    const masked = MASKED;
    for (let i = 0; i < 16; i++) masked[i] = addr[i]! & byteMask(t.len, i);
    let slot = hashMasked(masked, 0, t.len) & t.mask;
    for (;;) {
      if (t.vals[slot] === LPM_NONE) {
        t.keys.set(masked, slot * 16);
        t.vals[slot] = v;
        t.count++;
        return true;
      }
      if (sameMasked(t.keys, slot * 16, masked, 0, t.len)) {
        t.vals[slot] = v;
        return false;
      }
      slot = (slot + 1) & t.mask;
    }
  }

  private grow(t: LengthTable): void {
    const old = { keys: t.keys, vals: t.vals };
    const cap = t.vals.length * 2;
    t.keys = new Uint8Array(cap * 16);
    t.vals = new Int32Array(cap).fill(LPM_NONE);
    t.mask = cap - 1;
    t.count = 0;
    for (let s = 0; s < old.vals.length; s++) if (old.vals[s] !== LPM_NONE) this.put(t, old.keys.subarray(s * 16, s * 16 + 16), old.vals[s]!);
  }
}
