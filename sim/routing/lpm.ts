/**
 * Longest-prefix match over 128-bit IPv6 keys: a binary trie kept in two typed arrays (children
 * and values), so a lookup reads the destination straight out of the packet bytes, allocates
 * nothing and takes at most 128 steps of two array reads.
 *
 * Why not an npm package: the LPM packages on npm (longest-prefix-match, radix-trie-js, netmask)
 * key on strings or IPv4 numbers and allocate per lookup; the simulator looks up every packet at
 * every hop, straight from its bytes. The trie is built once per routing recomputation (a new
 * trie, never edited in place while packets use the old one).
 * @module
 */

/** No route (a lookup that matched nothing). */
export const LPM_NONE = -1;

export class Lpm {
  /** child[2n + bit]: index of node n's child (0 = none: the root is never a child). */
  private child: Int32Array;
  /** value[n]: what a prefix ending at node n maps to, or LPM_NONE. */
  private value: Int32Array;
  private n = 1;
  /** Number of prefixes inserted. */
  size = 0;

  constructor(capacity = 64) {
    this.child = new Int32Array(2 * capacity);
    this.value = new Int32Array(capacity).fill(LPM_NONE);
  }

  /** Maps `addr/len` (bits past `len` ignored) to `v` (>= 0); replaces an existing mapping. */
  insert(addr: Uint8Array, len: number, v: number): void {
    if (!(len >= 0 && len <= 128) || !Number.isInteger(len)) throw new RangeError(`prefix length must be 0..128, got ${len}`);
    if (!(v >= 0)) throw new RangeError(`LPM values must be >= 0, got ${v}`);
    let node = 0;
    for (let i = 0; i < len; i++) {
      const bit = (addr[i >> 3]! >> (7 - (i & 7))) & 1;
      let next = this.child[2 * node + bit]!;
      if (next === 0) {
        next = this.alloc();
        this.child[2 * node + bit] = next;
      }
      node = next;
    }
    if (this.value[node] === LPM_NONE) this.size++;
    this.value[node] = v;
  }

  /** Value of the longest prefix containing the 16-byte address at `b[off..]`, or LPM_NONE. */
  lookup(b: Uint8Array, off: number): number {
    const child = this.child;
    const value = this.value;
    let best = value[0]!;
    let node = 0;
    for (let i = 0; i < 128; i++) {
      node = child[2 * node + ((b[off + (i >> 3)]! >> (7 - (i & 7))) & 1)]!;
      if (node === 0) break;
      const v = value[node]!;
      if (v !== LPM_NONE) best = v;
    }
    return best;
  }

  private alloc(): number {
    if (this.n === this.value.length) {
      const child = new Int32Array(this.child.length * 2);
      child.set(this.child);
      const value = new Int32Array(this.value.length * 2).fill(LPM_NONE);
      value.set(this.value);
      this.child = child;
      this.value = value;
    }
    return this.n++;
  }
}
