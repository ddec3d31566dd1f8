/**
 * The LPM's match cache (sim/routing/lpm.ts) changes no answer: Fib lookups through it equal the
 * longest-prefix match done by scanning the node's displayed table, on random tables (prefixes of
 * many lengths, nested, local, unreachable and multipath routes, nodes without a table) with
 * random destinations, packets at random offsets and destinations in a separate buffer; with a
 * 4-entry cache (2 sets: most lookups evict) as with the largest and the default size; repeated
 * lookups (hits) interleaved with others; a destination inside more prefixes than an entry lists;
 * prefixes inserted after lookups; a buffer shorter than an address; and after a recomputation
 * (same LPM and cache, new tables) the new Fib answers from its own tables while the old one keeps
 * answering from its own.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { computeFib, type RoutingInput } from '../sim/routing/compute';
import { FibBuilder, PrefixSet, ROUTE_LOCAL, ROUTE_NONE, type Fib, type RouteEntry } from '../sim/routing/fib';
import { Lpm, LPM_NONE, MATCH_CACHE_MAX, MATCH_CACHE_VALUES, matchCacheSize } from '../sim/routing/lpm';
import { multipathHash, upperBounds, type HashPolicy } from '../sim/routing/hash';
import { formatPrefix, maskPrefix, parseAddrLen, prefixContains } from '../sim/routing/prefix';
import { RoutingState } from '../sim/routing/setup';
import { rng } from './routing.helpers';


/** The answer without any cache: the longest route of the node's table containing `dst[dOff..]`, then its next hop. */
function uncached(fib: Fib, node: number, dst: Uint8Array, dOff: number, b: Uint8Array, off: number, end: number): number {
  let best: RouteEntry | undefined;
  for (const e of fib.table[node] ?? []) if (prefixContains(e.prefix, dst, dOff) && (!best || e.prefix.len > best.prefix.len)) best = e;
  if (!best || best.target.kind === 'unreachable') return ROUTE_NONE;
  if (best.target.kind === 'local') return ROUTE_LOCAL;
  const hops = best.target.hops;
  if (hops.length === 1) return hops[0]!.dev;
  const h = multipathHash(fib.policy, b, off, fib.seeds[node]!, end);
  const ub = upperBounds(hops.map((x) => x.weight));
  for (let i = 0; i < hops.length - 1; i++) if (h <= ub[i]!) return hops[i]!.dev;
  return hops[hops.length - 1]!.dev;
}

/** Random 16 bytes drawn from a few values per byte (so destinations share prefixes and repeat). */
function addr(r: (n: number) => number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfd;
  for (let i = 1; i < 16; i++) a[i] = i === 15 || i === 7 || i === 3 ? r(4) * 0x41 : r(8) === 0 ? r(256) : 0;
  return a;
}

/** Random tables over random prefixes for `N` nodes (some without a table). */
function randomFib(r: (n: number) => number, N: number, cacheEntries?: number): Fib {
  const ps = new PrefixSet(new Lpm(0, cacheEntries));
  const lens = [0, 8, 16, 31, 48, 64, 65, 96, 127, 128];
  for (let k = 8 + r(30); k > 0; k--) ps.add(maskPrefix(addr(r), lens[r(lens.length)]!));
  const owned = Uint8Array.from({ length: N }, () => (r(5) === 0 ? 0 : 1));
  const fb = new FibBuilder(N, ps, owned);
  for (let node = 0; node < N; node++) {
    for (let pi = 0; pi < ps.list.length; pi++) {
      const k = r(10);
      if (k < 3) continue; // no route for this prefix
      const source = (['connected', 'computed', 'static'] as const)[r(3)];
      if (k === 3) fb.set(node, pi, fb.group({ kind: 'local' }), source);
      else if (k === 4) fb.set(node, pi, fb.group({ kind: 'unreachable' }), source);
      else if (k < 8) fb.set(node, pi, fb.singleGroup(r(4)), source);
      else fb.set(node, pi, fb.group({ kind: 'unicast', hops: Array.from({ length: 2 + r(3) }, (_, i) => ({ dev: i, weight: 1 + r(3) })) }), source);
    }
  }
  return fb.build(r(2) as HashPolicy, Uint32Array.from({ length: N }, () => r(0xffffffff)));
}

describe('LPM match cache', () => {
  for (const slots of [4, 16, MATCH_CACHE_MAX, undefined]) {
    test(`${slots ?? 'default'} entries: every lookup equals the uncached longest-prefix match`, () => {
      const r = rng(0xcace + (slots ?? 1));
      let compared = 0;
      const seen = new Set<number>();
      for (let iter = 0; iter < 40; iter++) {
        const N = 1 + r(12);
        const fib = randomFib(r, N, slots);
        const prefixes = fib.table.flat().map((e) => e.prefix);
        // Destinations: random, and inside the tables' prefixes (host bits random).
        const dsts = Array.from({ length: 40 }, () => {
          const a = addr(r);
          if (prefixes.length > 0 && r(2) === 0) {
            const p = prefixes[r(prefixes.length)]!;
            for (let i = 0; i < 16; i++) {
              const keep = Math.max(0, Math.min(8, p.len - 8 * i));
              a[i] = (p.addr[i]! & (0xff00 >> keep)) | (a[i]! & (0xff >> keep));
            }
          }
          return a;
        });
        const slab = new Uint8Array(4096);
        for (let k = 0; k < 600; k++) {
          // A packet at a random offset of the slab; the same (node, destination) comes back often.
          const node = r(N);
          const dst = dsts[r(k % 3 === 0 ? 4 : dsts.length)]!;
          const off = r(4096 - 80);
          const len = 40 + r(40);
          for (let i = 0; i < len; i++) slab[off + i] = r(256);
          slab[off] = 0x60;
          if (r(2) === 0) {
            slab.set(dst, off + 24);
            const want = uncached(fib, node, slab, off + 24, slab, off, off + len);
            assert.equal(fib.nextDevTo(node, slab, off + 24, slab, off, off + len), want, `iteration ${iter}, lookup ${k}, node ${node}, ${formatPrefix({ addr: dst, len: 128 })}`);
            // Again: now a hit (unless evicted in between, which nothing did).
            assert.equal(fib.nextDevTo(node, slab, off + 24, slab, off, off + len), want);
            seen.add(want);
          } else {
            // A destination in its own buffer (a tunnel endpoint), at an offset.
            const dbuf = new Uint8Array(16 + 5);
            const dOff = r(6);
            dbuf.set(dst, dOff);
            const want = uncached(fib, node, dbuf, dOff, slab, off, off + len);
            assert.equal(fib.nextDevTo(node, dbuf, dOff, slab, off, off + len), want, `iteration ${iter}, lookup ${k}, node ${node}`);
            seen.add(want);
          }
          compared++;
        }
      }
      assert.ok(compared >= 20_000, `compared ${compared}`);
      for (const v of [ROUTE_NONE, ROUTE_LOCAL, 0, 1, 2]) assert.ok(seen.has(v), `answers seen: ${[...seen].join(' ')}`);
    });
  }

  test('the default size follows the prefix count: 64 to MATCH_CACHE_MAX entries', () => {
    assert.equal(matchCacheSize(1), 64);
    assert.equal(matchCacheSize(100), 512);
    assert.equal(matchCacheSize(5000), MATCH_CACHE_MAX);
    assert.throws(() => new Lpm(0, 3), /power of two/);
    assert.throws(() => new Lpm(0, 2 * MATCH_CACHE_MAX), /power of two/);
  });

  test('colliding destinations at one node and one destination at many nodes alternate without mixing up', () => {
    const ps = new PrefixSet(new Lpm(0, 4)); // 2 sets of 2 entries
    const a = parseAddrLen('fd00:1::1')!.addr;
    const b = parseAddrLen('fd00:1::2')!.addr;
    const pa = ps.add(maskPrefix(a, 128));
    const pb = ps.add(maskPrefix(b, 128));
    const fb = new FibBuilder(3, ps);
    for (let n = 0; n < 3; n++) {
      fb.set(n, pa, fb.singleGroup(n), 'computed');
      fb.set(n, pb, fb.singleGroup(10 + n), 'computed');
    }
    const fib = fb.build(0, new Uint32Array(3));
    const pkt = (d: Uint8Array) => { const p = new Uint8Array(40); p[0] = 0x60; p.set(d, 24); return p; };
    for (let round = 0; round < 5; round++) {
      for (let n = 0; n < 3; n++) {
        assert.equal(fib.nextDev(n, pkt(a), 0), n);
        assert.equal(fib.nextDev(n, pkt(b), 0), 10 + n);
        assert.equal(fib.nextDev(n, pkt(b), 0), 10 + n);
        assert.equal(fib.nextDev(n, pkt(a), 0), n);
      }
    }
  });

  test('a destination inside more prefixes than an entry lists, and prefixes inserted after lookups', () => {
    for (const entries of [4, undefined]) {
      const lpm = new Lpm(0, entries);
      const d = parseAddrLen('fd00:1:2:3::9')!.addr;
      const lens = [0, 16, 32, 48, 64, 128];
      assert.ok(lens.length > MATCH_CACHE_VALUES);
      lens.forEach((len, v) => lpm.insert(maskPrefix(d, len).addr, len, v));
      // map: per row (6 cells) the route group per prefix value; row k has routes for the first k+1 prefixes only (/0 .. ).
      const map = new Int32Array(6 * 6).fill(-1);
      for (let k = 0; k < 6; k++) for (let v = 0; v <= k; v++) map[6 * k + v] = 100 + v;
      const other = parseAddrLen('fd00:1:2:4::9')!.addr; // inside /0 .. /48 only
      for (let round = 0; round < 3; round++) {
        for (let k = 0; k < 6; k++) {
          assert.equal(lpm.lookupIn(d, 0, map, 6 * k), 100 + k, `row ${k}`);
          assert.equal(lpm.lookupIn(other, 0, map, 6 * k), 100 + Math.min(k, 3), `row ${k}, other`);
        }
      }
      const none = new Int32Array(6).fill(-1);
      assert.equal(lpm.lookupIn(d, 0, none, 0), LPM_NONE);
      // A longer prefix inserted now is seen at once (the cache was emptied).
      lpm.insert(maskPrefix(other, 128).addr, 128, 5);
      assert.equal(lpm.lookupIn(other, 0, map, 6 * 5), 105);
      assert.equal(lpm.lookupIn(other, 0, map, 6 * 4), 103);
      // A prefix's value replaced: the new value.
      lpm.insert(maskPrefix(d, 64).addr, 64, 0);
      assert.equal(lpm.lookupIn(d, 0, map, 6 * 4), 100, 'the /64 now has value 0');
      assert.equal(lpm.lookup(d, 0), 5);
    }
  });

  test('a buffer shorter than an address does not fill an entry a whole address would hit', () => {
    const lpm = new Lpm();
    lpm.insert(new Uint8Array(16), 0, 0);
    lpm.insert(new Uint8Array(16), 128, 1); // ::/128
    const map = Int32Array.of(10, 11);
    assert.equal(lpm.lookupIn(new Uint8Array(8), 0, map, 0), 10, 'missing bytes match no /128');
    assert.equal(lpm.lookupIn(new Uint8Array(16), 0, map, 0), 11);
    assert.equal(lpm.lookupIn(new Uint8Array(8), 0, map, 0), 10);
  });

  test('after a recomputation the new Fib answers from its own tables, the old one still from its own', () => {
    // A square a-b-c-d-a: a reaches c over b (lowest interface) until a-b fails, then over d.
    const name = ['a', 'b', 'c', 'd'];
    const nodes = name.map((n, i) => ({ name: n, addrs: [parseAddrLen(`fd00:${i + 1}::1`)!] }));
    const link = (x: number, dx: number, y: number, dy: number) => ({ a: { node: x, dev: dx }, b: { node: y, dev: dy }, cost: 1 });
    const input: RoutingInput = {
      nodes,
      links: [link(0, 0, 1, 0), link(1, 1, 2, 0), link(2, 1, 3, 0), link(3, 1, 0, 1)],
      statics: [],
      ecmp: false,
      policy: 0,
      seeds: new Uint32Array(4),
    };
    const st = new RoutingState(input);
    const pkt = new Uint8Array(40);
    pkt[0] = 0x60;
    pkt.set(nodes[2]!.addrs[0]!.addr, 24);
    const old = st.fib;
    // Fill the old cache with every node's answer toward every node.
    const before = nodes.map((_, n) => nodes.map((d) => { pkt.set(d.addrs[0]!.addr, 24); return old.nextDev(n, pkt, 0); }));
    pkt.set(nodes[2]!.addrs[0]!.addr, 24);
    assert.equal(old.nextDev(0, pkt, 0), 0, 'a -> c over b');
    st.state.link[0] = 0;
    st.recompute(1000);
    assert.notEqual(st.fib, old);
    assert.equal(st.fib.nextDev(0, pkt, 0), 1, 'a -> c over d after a-b failed');
    for (let n = 0; n < 4; n++) {
      for (const d of nodes) {
        pkt.set(d.addrs[0]!.addr, 24);
        assert.equal(st.fib.nextDev(n, pkt, 0), uncached(st.fib, n, pkt, 24, pkt, 0, 40), `new Fib, node ${name[n]} to ${formatPrefix({ addr: d.addrs[0]!.addr, len: 128 })}`);
        assert.equal(old.nextDev(n, pkt, 0), before[n]![nodes.indexOf(d)], 'the old Fib keeps its answers');
      }
    }
    assert.equal(st.at(0), old);
    // computeFib on the same input gives equal answers (fresh cache) to the recomputed one.
    const fresh = computeFib(input, st.state);
    for (let n = 0; n < 4; n++) for (const d of nodes) { pkt.set(d.addrs[0]!.addr, 24); assert.equal(fresh.nextDev(n, pkt, 0), st.fib.nextDev(n, pkt, 0)); }
  });
});

