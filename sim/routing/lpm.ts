/**
 * Longest-prefix match over 128-bit IPv6 keys: one open-addressing hash table per prefix length
 * present, probed from the longest length down (a topology has few distinct lengths: /128 for
 * addresses, the subnets' /64, /0 for a default route), so a lookup costs a few 16-byte hashes
 * and compares, reads the destination straight out of the packet bytes and allocates nothing.
 * (A binary trie needs up to 128 dependent steps per lookup: about three times slower here.)
 *
 * Why not an npm package: the LPM packages on npm (longest-prefix-match, radix-trie-js, netmask)
 * key on strings or IPv4 numbers and allocate per lookup; the simulator looks up every packet at
 * every hop, from its bytes. The table is built once per routing input (shared by all nodes and recomputations) and then only read.
 * @module
 */

/** No route (a lookup that matched nothing). */
export const LPM_NONE = -1;

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

export class Lpm {
  /** Tables by descending prefix length. */
  private tables: LengthTable[] = [];
  /** Number of prefixes inserted. */
  size = 0;

  /** `capacity`: how many prefixes of one length to make room for up front (no rehashing). */
  constructor(private readonly capacity = 0) {}

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
  }

  /** Value of the longest prefix containing the 16-byte address at `b[off..]`, or LPM_NONE. */
  lookup(b: Uint8Array, off: number): number {
    const tables = this.tables;
    for (let k = 0; k < tables.length; k++) {
      const t = tables[k]!;
      const len = t.len;
      let slot = hashMasked(b, off, len) & t.mask;
      for (;;) {
        const v = t.vals[slot]!;
        if (v === LPM_NONE) break;
        if (sameMasked(t.keys, slot * 16, b, off, len)) return v;
        slot = (slot + 1) & t.mask;
      }
    }
    return LPM_NONE;
  }

  /**
   * `map[base + v]` for the longest prefix containing the address at `b[off..]` (value v) whose
   * entry in `map` is >= 0, or LPM_NONE: the longest match among a subset of the prefixes (one
   * node's routes in a table shared by all nodes, sim/routing/fib.ts).
   */
  lookupIn(b: Uint8Array, off: number, map: Int32Array, base: number): number {
    const tables = this.tables;
    for (let k = 0; k < tables.length; k++) {
      const t = tables[k]!;
      const len = t.len;
      let slot = hashMasked(b, off, len) & t.mask;
      for (;;) {
        const v = t.vals[slot]!;
        if (v === LPM_NONE) break;
        if (sameMasked(t.keys, slot * 16, b, off, len)) {
          const m = map[base + v]!;
          if (m >= 0) return m;
          break;
        }
        slot = (slot + 1) & t.mask;
      }
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
