/**
 * ECMP hash: lookup3/jhash against Bob Jenkins' published vectors and an independent BigInt
 * implementation; the hash inputs of policy 0 (addresses, flow label, Next Header as received) and
 * policy 1 (addresses, ports, upper-layer protocol past the extension headers) against keys built
 * field by field; hash-threshold selection against Linux's upper-bound formula. The multipath hash
 * (computed straight from the packet bytes) equals jhash over the key flowKey writes, for random
 * packets at random offsets, truncated anywhere.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { flowKey, jhash, KEY_LEN, multipathHash, upperBounds, type HashPolicy } from '../sim/routing/hash';
import { parseIpv6 } from '../sim/topology';

const M = (1n << 32n) - 1n;
const rotB = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
/** lookup3 hashlittle, written from its description with BigInt arithmetic (mod 2^32). */
function refJhash(key: number[], initval: number): number {
  let a = (0xdeadbeefn + BigInt(key.length) + BigInt(initval)) & M;
  let b = a;
  let c = a;
  const word = (i: number) => BigInt((key[i] ?? 0) + (key[i + 1] ?? 0) * 256 + (key[i + 2] ?? 0) * 65536 + (key[i + 3] ?? 0) * 16777216);
  let i = 0;
  let len = key.length;
  const sub = (x: bigint, y: bigint) => (x - y + (1n << 32n)) & M;
  const add = (x: bigint, y: bigint) => (x + y) & M;
  while (len > 12) {
    a = add(a, word(i)); b = add(b, word(i + 4)); c = add(c, word(i + 8));
    a = sub(a, c); a ^= rotB(c, 4n); c = add(c, b);
    b = sub(b, a); b ^= rotB(a, 6n); a = add(a, c);
    c = sub(c, b); c ^= rotB(b, 8n); b = add(b, a);
    a = sub(a, c); a ^= rotB(c, 16n); c = add(c, b);
    b = sub(b, a); b ^= rotB(a, 19n); a = add(a, c);
    c = sub(c, b); c ^= rotB(b, 4n); b = add(b, a);
    i += 12;
    len -= 12;
  }
  if (len === 0) return Number(c);
  const tail = key.slice(i).concat(Array(12 - len).fill(0));
  const w = (j: number) => BigInt(tail[j]! + tail[j + 1]! * 256 + tail[j + 2]! * 65536 + tail[j + 3]! * 16777216);
  a = add(a, w(0)); b = add(b, w(4)); c = add(c, w(8));
  c ^= b; c = sub(c, rotB(b, 14n));
  a ^= c; a = sub(a, rotB(c, 11n));
  b ^= a; b = sub(b, rotB(a, 25n));
  c ^= b; c = sub(c, rotB(b, 16n));
  a ^= c; a = sub(a, rotB(c, 4n));
  b ^= a; b = sub(b, rotB(a, 14n));
  c ^= b; c = sub(c, rotB(b, 24n));
  return Number(c);
}

/** The 40-byte key from fields (layout documented in sim/routing/hash.ts). */
function refKey(f: { src: string; dst: string; a32: number; proto: number }): number[] {
  const be = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return [...parseIpv6(f.src)!, ...parseIpv6(f.dst)!, ...be(f.a32), ...be(f.proto)];
}

/** IPv6 + optional Hop-by-Hop (8 bytes) + UDP/TCP header. */
function packet(o: { src: string; dst: string; flowLabel: number; proto: number; sport: number; dport: number; hbh?: boolean; tc?: number }): Uint8Array {
  const hbhLen = o.hbh ? 8 : 0;
  const b = new Uint8Array(40 + hbhLen + 20);
  const tc = o.tc ?? 0;
  b[0] = 0x60 | (tc >> 4);
  b[1] = ((tc & 0xf) << 4) | ((o.flowLabel >> 16) & 0xf);
  b[2] = (o.flowLabel >> 8) & 0xff;
  b[3] = o.flowLabel & 0xff;
  b[6] = o.hbh ? 0 : o.proto;
  b[7] = 64;
  b.set(parseIpv6(o.src)!, 8);
  b.set(parseIpv6(o.dst)!, 24);
  if (o.hbh) { b[40] = o.proto; b[41] = 0; b[42] = 1; b[43] = 4; } // PadN
  const l4 = 40 + hbhLen;
  b[l4] = o.sport >> 8; b[l4 + 1] = o.sport & 0xff; b[l4 + 2] = o.dport >> 8; b[l4 + 3] = o.dport & 0xff;
  return b;
}

describe('jhash (lookup3 hashlittle)', () => {
  test('published vectors', () => {
    const four = new TextEncoder().encode('Four score and seven years ago');
    assert.equal(jhash(new Uint8Array(0), 0, 0), 0xdeadbeef);
    assert.equal(jhash(four, 30, 0), 0x17770551);
    assert.equal(jhash(four, 30, 1), 0xcd628161);
  });
  test('equals an independent BigInt implementation for every length 0..60 and many seeds', () => {
    let x = 12345;
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    for (let len = 0; len <= 60; len++) {
      for (let k = 0; k < 5; k++) {
        const key = Array.from({ length: len }, () => next() & 0xff);
        const seed = next();
        assert.equal(jhash(Uint8Array.from(key), len, seed), refJhash(key, seed), `len ${len} seed ${seed}`);
      }
    }
  });
});

describe('multipath hash inputs (Linux fib_multipath_hash_policy)', () => {
  const base = { src: '2001:db8:1::11', dst: '2001:db8:3::31', flowLabel: 0x12345, proto: 17, sport: 40001, dport: 5001 };
  const mh = (p: HashPolicy, b: Uint8Array, seed = 99) => multipathHash(p, b, 0, seed);

  test('policy 0 hashes src, dst, flow label and the Next Header as received', () => {
    assert.equal(mh(0, packet(base)), refJhash(refKey({ src: base.src, dst: base.dst, a32: 0x12345, proto: 17 }), 99) >>> 1);
    // With a Hop-by-Hop header (IOAM) Linux hashes Next Header 0.
    assert.equal(mh(0, packet({ ...base, hbh: true })), refJhash(refKey({ src: base.src, dst: base.dst, a32: 0x12345, proto: 0 }), 99) >>> 1);
    // Ports and traffic class are not inputs; the flow label is.
    assert.equal(mh(0, packet({ ...base, sport: 1, dport: 2, tc: 0xb8 })), mh(0, packet(base)));
    assert.notEqual(mh(0, packet({ ...base, flowLabel: 0x12346 })), mh(0, packet(base)));
  });

  test('policy 1 hashes src, dst, ports and the upper-layer protocol past Hop-by-Hop', () => {
    const want = refJhash(refKey({ src: base.src, dst: base.dst, a32: (40001 << 16) | 5001, proto: 17 }), 99) >>> 1;
    assert.equal(mh(1, packet(base)), want);
    assert.equal(mh(1, packet({ ...base, hbh: true })), want, 'the Hop-by-Hop header is skipped');
    assert.equal(mh(1, packet({ ...base, flowLabel: 7 })), want, 'no flow label in policy 1');
    assert.notEqual(mh(1, packet({ ...base, sport: 40002 })), want);
    assert.equal(mh(1, packet({ ...base, proto: 6 })), refJhash(refKey({ src: base.src, dst: base.dst, a32: (40001 << 16) | 5001, proto: 6 }), 99) >>> 1);
  });

  test('policy 1 stops at an IPv6-in-IPv6 encapsulation (protocol 41, no ports)', () => {
    const outer = packet({ ...base, proto: 41, hbh: true });
    assert.equal(mh(1, outer), refJhash(refKey({ src: base.src, dst: base.dst, a32: 0, proto: 41 }), 99) >>> 1);
  });

  test('policy 0 uses the offending packet of an ICMPv6 error', () => {
    const inner = packet(base);
    const b = new Uint8Array(48 + inner.length);
    b[0] = 0x60; b[6] = 58; b.set(parseIpv6('2001:db8:ff::1')!, 8); b.set(parseIpv6(base.src)!, 24);
    b[40] = 1; // Destination Unreachable
    b.set(inner, 48);
    assert.equal(mh(0, b), mh(0, inner));
    b[40] = 128; // Echo Request: not an error, its own header
    assert.equal(mh(0, b), refJhash(refKey({ src: '2001:db8:ff::1', dst: base.src, a32: 0, proto: 58 }), 99) >>> 1);
  });

  test('the seed changes the hash; the same flow always hashes alike', () => {
    assert.notEqual(mh(1, packet(base), 1), mh(1, packet(base), 2));
    assert.equal(mh(1, packet(base), 1), mh(1, packet(base), 1));
  });

  test('upper bounds as Linux rt6_upper_bound_set', () => {
    assert.deepEqual(upperBounds([1, 1]), [2 ** 30 - 1, 2 ** 31 - 1]);
    assert.deepEqual(upperBounds([1, 3]), [2 ** 29 - 1, 2 ** 31 - 1]);
    assert.deepEqual(upperBounds([1, 1, 1]), [Math.round(2 ** 31 / 3) - 1, Math.round(2 ** 32 / 3) - 1, 2 ** 31 - 1]);
  });
});

describe('multipathHash reads the packet in place', () => {
  /** A packet-like buffer: random bytes with the fields the key reads often set to the interesting values. */
  const packetBytes = fc
    .record({
      bytes: fc.uint8Array({ minLength: 0, maxLength: 160 }),
      nh: fc.constantFrom(0, 6, 17, 41, 43, 58, 60, 4, 132, 136, 255),
      inner: fc.constantFrom(0, 6, 17, 41, 43, 58, 60, 4, 132),
      icmpType: fc.constantFrom(1, 3, 127, 128, 200),
      extLen: fc.nat({ max: 3 }),
      pre: fc.nat({ max: 13 }),
      post: fc.nat({ max: 13 }),
      cut: fc.nat({ max: 170 }),
    })
    .map(({ bytes, nh, inner, icmpType, extLen, pre, post, cut }) => {
      const b = new Uint8Array(pre + bytes.length + post);
      b.set(bytes, pre);
      const at = (i: number, v: number) => { if (pre + i < pre + bytes.length) b[pre + i] = v; };
      at(6, nh);
      at(40, nh === 58 ? icmpType : inner);
      at(41, extLen);
      at(48 + 6, inner); // the offending packet's Next Header (ICMPv6 error)
      return { b, off: pre, end: pre + Math.min(cut, bytes.length) };
    });

  test('equals jhash over flowKey for both policies, any truncation, any seed', () => {
    const key = new Uint8Array(KEY_LEN);
    fc.assert(
      fc.property(packetBytes, fc.constantFrom<HashPolicy>(0, 1), fc.nat({ max: 0xffffffff }), ({ b, off, end }, policy, seed) => {
        flowKey(policy, b, off, key, end);
        assert.equal(multipathHash(policy, b, off, seed, end), jhash(key, KEY_LEN, seed) >>> 1);
        // The default end: the array's end.
        flowKey(policy, b, off, key);
        assert.equal(multipathHash(policy, b, off, seed), jhash(key, KEY_LEN, seed) >>> 1);
      }),
      { numRuns: 20000 },
    );
  });
});
