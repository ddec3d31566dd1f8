/**
 * Simulator building blocks: the event engine's (time, sequence) order, cancellation, instant-end
 * batching; the seeded PRNG (reproducible, independent substreams); packet construction.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Simulator } from '../sim/engine';
import { Rng, substream, splitmix64 } from '../sim/rng';
import { buildPacket, innerHeaderOffset } from '../sim/packet';
import { decodeHopByHop } from '../sim/trace';
import { Dist, DIST_RELATIVE_ACCURACY } from '../sim/stats';

describe('Simulator', () => {
  test('runs events in (time, sequence) order whatever the scheduling order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 60 }), async (times) => {
        const sim = new Simulator();
        const ran: [number, number][] = [];
        times.forEach((t, i) => sim.schedule(t, () => ran.push([sim.now(), i])));
        await sim.run();
        const expected = times.map((t, i) => [t, i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        assert.deepEqual(ran, expected);
      }),
    );
  });

  test('cancel, stopAt, and events scheduled at the current instant', async () => {
    const sim = new Simulator();
    const log: string[] = [];
    const id = sim.schedule(5, () => log.push('cancelled'));
    sim.schedule(5, () => {
      log.push(`a@${sim.now()}`);
      sim.schedule(0, () => log.push(`b@${sim.now()}`));
    });
    sim.schedule(100, () => log.push('late'));
    sim.cancel(id);
    sim.stopAt(50);
    await sim.run();
    assert.deepEqual(log, ['a@5', 'b@5']);
    assert.throws(() => sim.schedule(-1, () => undefined), RangeError);
    assert.throws(() => sim.schedule(1.5, () => undefined), RangeError);
  });

  test('instant-end handler runs once per dirty instant, after the instant\'s events, and may add events', async () => {
    const sim = new Simulator();
    const log: string[] = [];
    sim.onInstantEnd(async (t) => {
      log.push(`flush@${t}`);
      if (t === 10 && !log.includes('again')) {
        log.push('again');
        sim.schedule(0, () => {
          log.push(`e3@${sim.now()}`);
          sim.markDirty();
        });
      }
    });
    sim.schedule(10, () => { log.push('e1'); sim.markDirty(); });
    sim.schedule(10, () => { log.push('e2'); sim.markDirty(); });
    sim.schedule(20, () => log.push('e4'));
    await sim.run();
    assert.deepEqual(log, ['e1', 'e2', 'flush@10', 'again', 'e3@10', 'flush@10', 'e4']);
  });

  test('isPast: an unposted event\'s key against the running event and the instant end', async () => {
    const sim = new Simulator();
    const kind = sim.handler(() => {
      // Running (10, hi 3, lo 5): earlier times and smaller keys at 10 are past, the rest not.
      seen.push([sim.isPast(9, 9, 9), sim.isPast(10, 2, 99), sim.isPast(10, 3, 4), sim.isPast(10, 3, 5), sim.isPast(10, 3, 6), sim.isPast(10, 4, 0), sim.isPast(11, 0, 0)]);
      sim.markDirty();
    });
    const seen: boolean[][] = [];
    sim.onInstantEnd(() => {
      // After every event of the instant: anything at 10 is past, later times are not.
      seen.push([sim.isPast(10, 99, 99), sim.isPast(11, 0, 0)]);
    });
    sim.post(10, kind, 0, 0, 3, 5);
    await sim.run();
    assert.deepEqual(seen, [[true, true, true, false, false, false, false], [true, false]]);
  });
});

describe('Rng', () => {
  test('splitmix64 matches the reference sequence for seed 0', () => {
    // Reference values of SplitMix64 (Vigna's splitmix64.c) from state 0.
    let s = 0n;
    const out: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      let o: bigint;
      [s, o] = splitmix64(s);
      out.push(o);
    }
    assert.deepEqual(out, [0xe220a8397b1dcdafn, 0x6e789e6aa1b965f4n, 0x06c45d188009454fn]);
  });

  test('same seed → same numbers; substreams differ and do not depend on each other', () => {
    const a = new Rng(7n);
    const b = new Rng(7n);
    const xs = Array.from({ length: 100 }, () => a.next());
    assert.deepEqual(Array.from({ length: 100 }, () => b.next()), xs);
    const f1 = substream(7n, 'flow:a');
    const f2 = substream(7n, 'flow:b');
    assert.notDeepEqual(Array.from({ length: 10 }, () => f1.next()), Array.from({ length: 10 }, () => f2.next()));
    assert.deepEqual(Array.from({ length: 10 }, () => substream(7n, 'flow:a').next())[0], substream(7n, 'flow:a').next());
  });

  test('xoshiro128** exactly: the same words as a plain Uint32Array implementation of the reference C code', () => {
    // Reference (Blackman & Vigna, xoshiro128starstar.c) on a Uint32Array state seeded as Rng seeds
    // itself: words a, b, c, d = low/high halves of two SplitMix64 outputs.
    const ref = (seed: bigint) => {
      let s0 = BigInt.asUintN(64, seed);
      let o1: bigint;
      let o2: bigint;
      [s0, o1] = splitmix64(s0);
      [s0, o2] = splitmix64(s0);
      const s = Uint32Array.of(Number(o1 & 0xffffffffn), Number(o1 >> 32n), Number(o2 & 0xffffffffn), Number(o2 >> 32n));
      if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
      const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
      return () => {
        const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
        const t = (s[1]! << 9) >>> 0;
        s[2]! ^= s[0]!;
        s[3]! ^= s[1]!;
        s[1]! ^= s[2]!;
        s[0]! ^= s[3]!;
        s[2]! ^= t;
        s[3] = rotl(s[3]!, 11);
        return result;
      };
    };
    for (const seed of [0n, 7n, 42n, 2n ** 63n + 12345n, 2n ** 64n - 1n]) {
      const r = new Rng(seed);
      const want = ref(seed);
      for (let i = 0; i < 2000; i++) assert.equal(r.next(), want(), `seed ${seed} word ${i}`);
    }
  });

  test('float in [0,1), int in range, exp has the right mean', () => {
    const r = new Rng(99n);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const f = r.float();
      assert.ok(f >= 0 && f < 1);
      const k = r.int(3, 5);
      assert.ok(k >= 3 && k <= 5 && Number.isInteger(k));
      sum += r.exp(100);
    }
    const mean = sum / 20000;
    assert.ok(mean > 95 && mean < 105, `exp mean ${mean}`);
  });
});

describe('packets and trace decoding', () => {
  test('UDP and TCP packets: sizes, headers, checksums verify', () => {
    const src = new Uint8Array(16).fill(0x20);
    const dst = new Uint8Array(16).fill(0x30);
    for (const proto of ['udp', 'tcp'] as const) {
      for (const size of [10, 61, 200, 1500]) {
        const p = buildPacket({ src, dst, proto, sport: 1234, dport: 80, size, hopLimit: 64, trafficClass: 0, flowLabel: 0x12345, tcpSeq: 77, tag: 5 });
        const min = proto === 'udp' ? 48 : 60;
        assert.equal(p.length, Math.max(min, size));
        assert.equal(p[0]! >> 4, 6);
        assert.equal((p[4]! << 8) | p[5]!, p.length - 40);
        assert.equal(p[6], proto === 'udp' ? 17 : 6);
        // Checksum over pseudo-header + segment folds to 0xFFFF.
        let sum = 0;
        for (let i = 8; i < 40; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
        sum += p.length - 40 + p[6]!;
        for (let i = 40; i < p.length; i += 2) sum += (p[i]! << 8) | (i + 1 < p.length ? p[i + 1]! : 0);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
        assert.equal(sum, 0xffff);
      }
    }
  });

  test('inner header offset walks HbH to Next Header 41', () => {
    const inner = buildPacket({ src: new Uint8Array(16), dst: new Uint8Array(16).fill(9), proto: 'udp', sport: 1, dport: 2, size: 60, hopLimit: 64, trafficClass: 0, flowLabel: 0, tcpSeq: 0, tag: 0 });
    const outer = new Uint8Array(40 + 8 + inner.length);
    outer[0] = 0x60;
    outer[6] = 0; // HbH
    outer[40] = 41;
    outer[41] = 0; // 8 bytes
    outer.set(inner, 48);
    assert.equal(innerHeaderOffset(outer), 48);
    assert.equal(innerHeaderOffset(inner), -1);
    assert.equal(innerHeaderOffset(outer.subarray(0, 60)), -1);
  });

  test('decodes a pre-allocated trace (Linux layout) through the core and survives any bytes', () => {
    // HbH: nh 17, len 2 (24 B); PadN(0); IOAM opt 0x31 len 18: rsv, type 0, ns 123,
    // NodeLen 1 | RemLen 1, type 0x800000, rsv; 4 free bytes; one node: HL 63, id 2.
    const h = Uint8Array.from([17, 2, 1, 0, 0x31, 18, 0, 0, 0, 123, 0x08, 0x01, 0x80, 0, 0, 0, 0, 0, 0, 0, 63, 0, 0, 2]);
    const [o] = decodeHopByHop(h);
    assert.ok(o);
    assert.equal(o.ns, 123);
    assert.equal(o.node_len, 1);
    assert.equal(o.remaining_len, 1);
    assert.equal(o.trace_type, '0x800000');
    assert.deepEqual(o.hops, [{ hop_limit: 63, node_id: 2 }]);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => void decodeHopByHop(b)));
  });
});

describe('Dist (streaming quantiles)', () => {
  test('count/min/mean/max exact; nearest-rank percentiles within the stated relative accuracy', () => {
    const rng = substream(7n, 'dist-test');
    for (const shape of ['uniform', 'exp', 'zeros'] as const) {
      const d = new Dist();
      const v: number[] = [];
      for (let i = 0; i < 5000; i++) {
        const x = shape === 'uniform' ? rng.int(0, 1_000_000) : shape === 'exp' ? Math.round(rng.exp(20_000)) : i % 3 === 0 ? 0 : rng.int(1, 50);
        d.add(x);
        v.push(x);
      }
      v.sort((a, b) => a - b);
      const j = d.toJSON();
      assert.equal(j['count'], v.length);
      assert.equal(j['min'], v[0]);
      assert.equal(j['max'], v[v.length - 1]);
      assert.equal(j['mean'], Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 1000) / 1000);
      for (const p of [50, 90, 99]) {
        const exact = v[Math.ceil((p / 100) * v.length) - 1]!;
        const got = j[`p${p}`]!;
        assert.ok(Math.abs(got - exact) <= DIST_RELATIVE_ACCURACY * exact + 0.5, `${shape} p${p}: ${got} vs exact ${exact}`);
      }
    }
    assert.deepEqual(new Dist().toJSON(), { count: 0 });
  });
});
