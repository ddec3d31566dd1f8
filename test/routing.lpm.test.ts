/**
 * Routing library units: longest-prefix match against a brute-force scan, prefix parsing, route
 * computation (per-prefix shortest paths, ECMP, static and default routes, failures).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Lpm, LPM_NONE } from '../sim/routing/lpm';
import { formatPrefix, maskPrefix, parsePrefix, prefixContains, parseAddrLen } from '../sim/routing/prefix';
import { computeFib, allUp, type RoutingInput } from '../sim/routing/compute';
import { ROUTE_LOCAL, ROUTE_NONE } from '../sim/routing/fib';
import { parseIpv6 } from '../sim/topology';

/** xorshift32: deterministic test data. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

describe('LPM', () => {
  test('matches a brute-force longest-prefix scan on random prefixes and addresses', () => {
    const r = rng(7);
    const lpm = new Lpm();
    const prefixes: { addr: Uint8Array; len: number; v: number }[] = [];
    // Clustered prefixes (shared leading bytes) so nesting is common.
    const base = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (let i = 0; i < 400; i++) {
      const a = base.slice();
      for (let k = 4; k < 16; k++) a[k] = r() % 4 === 0 ? r() & 0xff : 0;
      const len = [0, 16, 32, 48, 56, 64, 96, 120, 127, 128][r() % 10]! + (r() % 3 === 0 ? 0 : 0);
      const p = maskPrefix(a, len);
      const v = i;
      const old = prefixes.findIndex((x) => x.len === len && formatPrefix(x) === formatPrefix(p));
      if (old >= 0) prefixes.splice(old, 1);
      prefixes.push({ addr: p.addr, len, v });
      lpm.insert(p.addr, len, v);
    }
    assert.equal(lpm.size, prefixes.length);
    for (let i = 0; i < 3000; i++) {
      const q = base.slice();
      for (let k = 4; k < 16; k++) q[k] = r() % 3 === 0 ? r() & 0xff : 0;
      let best = LPM_NONE;
      let bestLen = -1;
      for (const p of prefixes) if (p.len > bestLen && prefixContains(p, q)) { best = p.v; bestLen = p.len; }
      const buf = new Uint8Array(40);
      buf.set(q, 24);
      assert.equal(lpm.lookup(buf, 24), best, `query ${Buffer.from(q).toString('hex')}`);
    }
  });

  test('empty trie and default route', () => {
    const lpm = new Lpm();
    const a = parseIpv6('2001:db8::1')!;
    assert.equal(lpm.lookup(a, 0), LPM_NONE);
    lpm.insert(new Uint8Array(16), 0, 5);
    assert.equal(lpm.lookup(a, 0), 5);
    lpm.insert(parsePrefix('2001:db8::/32')!.addr, 32, 6);
    assert.equal(lpm.lookup(a, 0), 6);
    assert.equal(lpm.lookup(parseIpv6('2001:db9::1')!, 0), 5);
  });

  test('prefix parsing', () => {
    assert.equal(formatPrefix(parsePrefix('2001:db8:1::/64')!), '2001:db8:1::/64');
    assert.equal(parsePrefix('2001:db8:1::1/64'), undefined, 'host bits set');
    assert.equal(formatPrefix(parsePrefix('2001:db8:1::1/64', true)!), '2001:db8:1::/64');
    assert.equal(formatPrefix(parsePrefix('default')!), '::/0');
    assert.deepEqual(parseAddrLen('fd00::1')!.len, 128);
    assert.equal(parseAddrLen('fd00::1/129'), undefined);
    assert.equal(formatPrefix(maskPrefix(parseIpv6('ffff:ffff::')!, 13)), 'fff8::/13');
  });
});

/** a - b1 - c, a - b2 - c (two equal paths), c has 2001:db8:c::1/64, a default toward b1 at c. */
function diamond(ecmp: boolean): RoutingInput {
  const A = (s: string) => parseAddrLen(s)!;
  return {
    nodes: [
      { name: 'a', addrs: [A('2001:db8:a::1')] },
      { name: 'b1', addrs: [A('2001:db8:ff::1')] },
      { name: 'b2', addrs: [A('2001:db8:ff::2')] },
      { name: 'c', addrs: [A('2001:db8:c::1/64')] },
    ],
    links: [
      { a: { node: 0, dev: 0 }, b: { node: 1, dev: 0 }, cost: 1 },
      { a: { node: 0, dev: 1 }, b: { node: 2, dev: 0 }, cost: 1 },
      { a: { node: 1, dev: 1 }, b: { node: 3, dev: 0 }, cost: 1 },
      { a: { node: 2, dev: 1 }, b: { node: 3, dev: 1 }, cost: 1 },
    ],
    statics: [{ at: 3, prefix: parsePrefix('default')!, via: [{ dev: 0, weight: 1 }] }],
    ecmp,
    policy: 1,
    seeds: new Uint32Array(4),
  };
}

function pkt(src: string, dst: string, sport: number): Uint8Array {
  const b = new Uint8Array(48);
  b[0] = 0x60;
  b[6] = 17;
  b.set(parseIpv6(src)!, 8);
  b.set(parseIpv6(dst)!, 24);
  b[40] = sport >> 8; b[41] = sport & 0xff; b[42] = 0x13; b[43] = 0x89;
  return b;
}

describe('route computation', () => {
  test('per-prefix shortest paths, ECMP, local, unreachable subnet, default route', () => {
    const fib = computeFib(diamond(true));
    const devs = new Set<number>();
    for (let sp = 1000; sp < 1100; sp++) devs.add(fib.nextDev(0, pkt('2001:db8:a::1', '2001:db8:c::99', sp), 0));
    assert.deepEqual([...devs].sort(), [0, 1], 'both equal-cost next hops used for the /64');
    assert.equal(fib.nextDev(3, pkt('2001:db8:a::1', '2001:db8:c::1', 1), 0), ROUTE_LOCAL);
    assert.equal(fib.nextDev(3, pkt('2001:db8:a::1', '2001:db8:c::99', 1), 0), ROUTE_NONE, 'own subnet, no such address');
    assert.equal(fib.nextDev(3, pkt('2001:db8:a::1', '3fff::1', 1), 0), 0, 'default route at c');
    assert.equal(fib.nextDev(0, pkt('2001:db8:a::1', '3fff::1', 1), 0), ROUTE_NONE, 'no default at a');
    const single = computeFib(diamond(false));
    for (let sp = 1000; sp < 1020; sp++) assert.equal(single.nextDev(0, pkt('2001:db8:a::1', '2001:db8:c::99', sp), 0), 0, 'ECMP off: lowest interface index');
  });

  test('a dead link leaves the multipath route; a dead static next hop withdraws the static route', () => {
    const input = diamond(true);
    const s = allUp(input);
    s.link[0] = 0; // a - b1
    const fib = computeFib(input, s);
    for (let sp = 1000; sp < 1050; sp++) assert.equal(fib.nextDev(0, pkt('2001:db8:a::1', '2001:db8:c::99', sp), 0), 1);
    s.link[0] = 1;
    s.link[2] = 0; // b1 - c: c's default via b1 is withdrawn
    assert.equal(computeFib(input, s).nextDev(3, pkt('2001:db8:a::1', '3fff::1', 1), 0), ROUTE_NONE);
    s.link[2] = 1;
    s.node[1] = 0; // b1 down
    const f2 = computeFib(input, s);
    for (let sp = 1000; sp < 1050; sp++) assert.equal(f2.nextDev(0, pkt('2001:db8:a::1', '2001:db8:c::99', sp), 0), 1);
  });

  test('weighted static multipath splits by its weights', () => {
    const input = diamond(true);
    input.statics.push({ at: 0, prefix: parsePrefix('2001:db8:c::/64')!, via: [{ dev: 0, weight: 1 }, { dev: 1, weight: 3 }] });
    const fib = computeFib(input);
    let on1 = 0;
    const r = rng(3);
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const p = pkt(`2001:db8:a::${(r() & 0xffff).toString(16)}`, '2001:db8:c::99', r() & 0xffff);
      if (fib.nextDev(0, p, 0) === 1) on1++;
    }
    assert.ok(Math.abs(on1 / n - 0.75) < 0.03, `weight 3 of 4 took ${on1 / n}`);
  });
});
