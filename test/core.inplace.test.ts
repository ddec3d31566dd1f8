// The per-packet in-place API (Node.transitInPlace / encapInPlace / decapInPlace, docs/API.md
// "Per-packet calls"):
// - fast-check: in place and through a one-packet PacketBatch give the same bytes, the same
//   outcome and the same new position, for transit, encap and decap on generated and mutated
//   packets, profiles linux and rfc, encap modes inline/encap/auto;
// - the headroom rule: encap with `encapHeadroom` bytes before the packet works, one byte less is
//   DropNoRoom with the packet untouched; a packet outside `buf` is DropBadDescriptor;
// - no allocation per call: 10^6 calls grow the heap by less than a small bound (after gc);
// - a timing line (ns/call) for the log (the benchmark rows are bench/'s).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { IoamError, Node, PacketBatch, PKT_OUT_WORD, Reason, metaWords, type NodeConfigInput, type PacketMeta } from '../src/index';
import { mutatedPacketArb, packetArb } from '../src/arbitraries';

const RUNS = Number(process.env.IOAMSIM_FC_RUNS ?? 300);
const SEED = process.env.IOAMSIM_FC_SEED === 'random' ? undefined : Number(process.env.IOAMSIM_FC_SEED ?? 20261203);
const fcOpts = { numRuns: RUNS, seed: SEED, includeErrorInReport: true };

const HEADROOM = 512;
const SLOT = 2048;

function cfg(profile: 'linux' | 'rfc', mode: 'inline' | 'encap' | 'auto', incremental: boolean, clt: boolean): NodeConfigInput {
  return {
    name: 'n',
    profile,
    ioam6_id: 0x0a0b0c,
    interfaces: [{ name: 'in', ioam6_enabled: true, ioam6_id: 7 }, { name: 'out' }],
    namespaces: [{ id: 123, data: 0x11223344, schema: 9 }, { id: 0 }, { id: 0x8000, clt_legacy: clt }],
    schemas: [{ id: 9, data: 'schema nine' }],
    encap: {
      mode,
      ...(mode === 'inline' ? {} : { tunsrc: 'fd00::1', tundst: 'fd00::2' }),
      trace: { type: incremental ? 0xf00000 : 0xf00002, ns: clt ? 0x8000 : 123, size: 24, incremental },
      freq: { k: 2, n: 3 },
      clt_legacy: clt,
    },
  };
}

const configArb = fc
  .record({
    profile: fc.constantFrom<'linux' | 'rfc'>('linux', 'rfc'),
    mode: fc.constantFrom<'inline' | 'encap' | 'auto'>('inline', 'encap', 'auto'),
    incremental: fc.boolean(),
    clt: fc.boolean(),
  })
  .map((c) => cfg(c.profile, c.mode, c.incremental && c.profile === 'rfc', c.clt && !(c.incremental && c.profile === 'rfc')));

const metaArb: fc.Arbitrary<Partial<PacketMeta>> = fc.record({
  ingressIf: fc.constantFrom(0, 1, 0xffffffff),
  egressIf: fc.constantFrom(0, 1, 0xffffffff),
  tsSec: fc.nat(),
  tsNsec: fc.integer({ min: 0, max: 999_999_999 }),
  queueDepth: fc.nat(),
});

const bytesArb = fc.oneof(
  packetArb({ namespaces: [123, 0, 0x8000, 5] }).map((g) => g.bytes),
  mutatedPacketArb({ namespaces: [123, 0x8000] }).map((m) => m.bytes),
);

const cltArb = fc.option(fc.uint8Array({ minLength: 24, maxLength: 24 }), { nil: undefined });

type Op = 'transit' | 'encap' | 'decap';

interface Result {
  reason: number;
  offset: number;
  aux: number;
  bytes: number[];
  slot: number[];
  trace: number[];
}

/** In place, in a slot of SLOT bytes with the packet at HEADROOM. */
function inPlace(n: Node, op: Op, pkt: Uint8Array, meta: Partial<PacketMeta>, clt?: Uint8Array): Result {
  const buf = new Uint8Array(SLOT);
  buf.set(pkt, HEADROOM);
  const m = metaWords(meta);
  const out = new Uint32Array(5);
  const trace = new Uint8Array(2048);
  const reason =
    op === 'transit'
      ? n.transitInPlace(buf, HEADROOM, pkt.length, m, out)
      : op === 'encap'
        ? n.encapInPlace(buf, HEADROOM, pkt.length, m, out, clt)
        : n.decapInPlace(buf, HEADROOM, pkt.length, m, out, trace);
  assert.equal(reason, out[PKT_OUT_WORD.reason]);
  const s = out[PKT_OUT_WORD.start]!;
  const l = out[PKT_OUT_WORD.len]!;
  const aux = out[PKT_OUT_WORD.aux]!;
  return {
    reason,
    offset: out[PKT_OUT_WORD.offset]!,
    aux,
    bytes: [...buf.subarray(s, s + l)],
    slot: [...buf],
    trace: op === 'decap' ? [...trace.subarray(0, aux)] : [],
  };
}

/** The same through a one-packet batch with the same slot geometry. */
function viaBatch(n: Node, op: Op, pkt: Uint8Array, meta: Partial<PacketMeta>, clt?: Uint8Array): Result {
  const b = new PacketBatch({ capacity: 1, slotSize: SLOT, headroom: HEADROOM, traceSlotSize: 2048 });
  b.push(pkt, meta, clt);
  if (op === 'transit') n.transit(b);
  else if (op === 'encap') n.encap(b);
  else n.decap(b);
  const o = b.outcome(0);
  return {
    reason: o.reason,
    offset: o.offset,
    aux: o.aux,
    bytes: [...b.packet(0)],
    slot: [...b.buf.subarray(0, SLOT)],
    trace: op === 'decap' ? [...b.trace(0)] : [],
  };
}

describe('per-packet in place = batch', () => {
  for (const op of ['transit', 'encap', 'decap'] as const) {
    it(`${op}: same bytes, outcome and position (fast-check)`, () => {
      fc.assert(
        fc.property(configArb, bytesArb, metaArb, cltArb, fc.nat({ max: 4 }), (c, pkt, meta, clt, warm) => {
          // Two nodes from one config: one per path, their k-of-n counters advanced alike.
          const a = Node.fromConfig(c);
          const b = Node.fromConfig(c);
          for (let i = 0; i < warm; i++) {
            inPlace(a, 'encap', pkt, meta);
            viaBatch(b, 'encap', pkt, meta);
          }
          const x = inPlace(a, op, pkt, meta, clt);
          const y = viaBatch(b, op, pkt, meta, clt);
          assert.deepEqual(x, y);
          assert.equal(a.encapCount, b.encapCount);
        }),
        fcOpts,
      );
    });
  }

  it('the copying calls give what the in-place calls give', () => {
    fc.assert(
      fc.property(configArb, bytesArb, metaArb, (c, pkt, meta) => {
        const a = Node.fromConfig(c);
        const b = Node.fromConfig(c);
        const x = inPlace(a, 'decap', pkt, meta);
        const y = b.decapPacketCopy(pkt, meta);
        assert.deepEqual([y.reason, y.offset, y.aux, [...y.packet], [...y.trace!]], [x.reason, x.offset, x.aux, x.bytes, x.trace]);
      }),
      { ...fcOpts, numRuns: Math.min(RUNS, 100) },
    );
  });
});

describe('per-packet headroom and bounds', () => {
  const udp = (): Uint8Array => {
    const p = new Uint8Array(48);
    p.set([0x60, 0, 0, 0, 0, 8, 17, 64]);
    return p;
  };

  for (const [mode, incremental] of [['inline', false], ['encap', false], ['auto', false], ['encap', true]] as const) {
    it(`encap ${mode}${incremental ? ' incremental' : ''}: encapHeadroom bytes suffice, one less is DropNoRoom (untouched)`, () => {
      const c = cfg(incremental ? 'rfc' : 'linux', mode, incremental, false);
      (c.encap as { freq: unknown }).freq = { k: 1, n: 1 };
      const n = Node.fromConfig(c);
      const need = n.encapHeadroom;
      assert.ok(need > 0 && need <= 512, `headroom ${need}`);
      const meta = metaWords({ ingressIf: 0, egressIf: 1 });
      const buf = new Uint8Array(need + 48 + 8);
      buf.set(udp(), need);
      assert.equal(n.encapInPlace(buf, need, 48, meta), Reason.Encapsulated);
      // Pre-allocated: exactly `need` bytes inserted; Incremental: the check includes 4 octets of
      // padding that the node's element may not use.
      const s = n.out[PKT_OUT_WORD.start]!;
      assert.ok(incremental ? s <= 4 : s === 0, `new start ${s}`);
      assert.equal(n.out[PKT_OUT_WORD.len], 48 + need - s);
      const short = new Uint8Array(need - 1 + 48);
      short.set(udp(), need - 1);
      const before = [...short];
      assert.equal(n.encapInPlace(short, need - 1, 48, meta), Reason.DropNoRoom);
      assert.deepEqual([...short], before, 'untouched');
      assert.deepEqual([n.out[PKT_OUT_WORD.start], n.out[PKT_OUT_WORD.len]], [need - 1, 48]);
    });
  }

  it('a node without encap needs no headroom and leaves the packet alone', () => {
    const n = Node.fromConfig({ name: 't', namespaces: [{ id: 1 }] });
    assert.equal(n.encapHeadroom, 0);
    const buf = new Uint8Array(48);
    buf.set(udp());
    assert.equal(n.encapInPlace(buf, 0, 48), Reason.NoIoam);
  });

  it('a packet outside buf is DropBadDescriptor, for every operation; nothing is written', () => {
    const n = Node.fromConfig(cfg('linux', 'inline', false, false));
    const buf = new Uint8Array(100).fill(7);
    for (const [s, l] of [[60, 48], [0, 101], [0xffffffff, 2], [-1, 10]] as const) {
      assert.equal(n.transitInPlace(buf, s, l), Reason.DropBadDescriptor, `transit ${s}+${l}`);
      assert.equal(n.encapInPlace(buf, s, l), Reason.DropBadDescriptor, `encap ${s}+${l}`);
      assert.equal(n.decapInPlace(buf, s, l), Reason.DropBadDescriptor, `decap ${s}+${l}`);
    }
    assert.ok(buf.every((x) => x === 7));
  });

  it('wrong argument types and overlapping memory throw a typed IoamError', () => {
    const n = Node.fromConfig(cfg('linux', 'inline', false, false));
    const bad = [
      () => n.transitInPlace(new Uint16Array(4) as unknown as Uint8Array, 0, 0),
      () => n.transitInPlace(new Uint8Array(4), '0' as unknown as number, 0),
      () => n.decapInPlace(new Uint8Array(64), 0, 0, undefined, undefined, new Uint32Array(4) as unknown as Uint8Array),
      () => n.transitInPlace(new Uint8Array(n.meta.buffer), 0, 0),
    ];
    for (const f of bad) assert.throws(f, (e: unknown) => e instanceof IoamError && e.layer === 'batch', String(f));
    const shared = new Uint8Array(256);
    assert.throws(
      () => n.decapInPlace(shared.subarray(0, 128), 0, 0, undefined, undefined, shared.subarray(64, 200)),
      (e: IoamError) => e.code === 'ERR_IOAM_BAD_DESCRIPTOR' && /overlap/.test(e.what),
    );
  });
});

/** `gc()` (via --expose-gc set at run time). */
function gcFn(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('per-packet calls allocate nothing', () => {
  it('10^6 transit + encap + decap calls grow the heap by < 256 KiB (after gc); ns/call printed', () => {
    const gc = gcFn();
    const n = Node.fromConfig(cfg('linux', 'inline', false, false));
    const d = Node.fromConfig(cfg('linux', 'inline', false, false));
    const buf = new Uint8Array(SLOT);
    const p = new Uint8Array(48);
    p.set([0x60, 0, 0, 0, 0, 8, 17, 64]);
    buf.set(p, HEADROOM);
    n.meta.set(metaWords({ ingressIf: 0, egressIf: 1 }));
    d.meta.set(n.meta);
    assert.equal(n.encapInPlace(buf, HEADROOM, 48), Reason.Encapsulated);
    const start = n.out[PKT_OUT_WORD.start]!;
    const len = n.out[PKT_OUT_WORD.len]!;
    const enc = buf.slice(start, start + len); // an encapsulated packet with an empty trace
    const slot = new Uint8Array(SLOT);
    const trace = new Uint8Array(2048);
    const N = 1_000_000;
    // Each call gets a fresh packet (a typed-array set of ≤ 128 bytes, included in the times).
    const run = (): number[] => {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) {
        slot.set(enc, start);
        n.transitInPlace(slot, start, len);
      }
      const t1 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) {
        slot.set(p, HEADROOM);
        d.encapInPlace(slot, HEADROOM, 48);
      }
      const t2 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) {
        slot.set(enc, start);
        d.decapInPlace(slot, start, len, undefined, undefined, trace);
      }
      const t3 = process.hrtime.bigint();
      const c = process.cpuUsage(c0);
      assert.equal(d.out[PKT_OUT_WORD.reason], Reason.Decapsulated);
      return [Number(t1 - t0) / N, Number(t2 - t1) / N, Number(t3 - t2) / N, ((c.user + c.system) * 1000) / (3 * N)];
    };
    run(); // warm up (JIT, inline caches)
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    const ns = run();
    gc();
    gc();
    const growth = process.memoryUsage().heapUsed - before;
    console.log(
      `per-packet in place (ns/call incl. a ≤128-byte packet copy, machine-dependent): wall transit ${ns[0]!.toFixed(0)}, encap ${ns[1]!.toFixed(0)}, decap ${ns[2]!.toFixed(0)}; CPU mean ${ns[3]!.toFixed(0)}; heap growth after 3×10^6 calls: ${growth} bytes`,
    );
    assert.ok(growth < 256 * 1024, `heap grew by ${growth} bytes`);
  });
});
