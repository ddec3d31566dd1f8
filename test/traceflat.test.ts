/**
 * The trace records built from the core's flat form (sim/trace.ts over src/traceflat.ts) equal,
 * byte for byte as JSON and as objects, what the whole-packet decoder's JSON gives (the decoding
 * sim/trace.ts did before the flat form, kept here as the oracle) on random, generated and
 * mutated Hop-by-Hop headers, both trace layouts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeJson, ioamOptions, u64, type CltLayout, type DecodedPacket, type NodeData, type Trace, type U64String } from '../src/decode';
import { mutatedPacketArb, packetArb } from '../src/arbitraries';
import { FlatTraces, TRACE_SKIP, decodeTraceFlat, layoutCode } from '../src/traceflat';
import { decodeHopByHop, hopByHopOverflow, optionsJson, recordOptions, traceLine, type HopData, type TraceOption } from '../sim/trace';

// ---- the oracle: the JSON-based decoding (sim/trace.ts before the flat form) ----
const hexOf = (dec: string, bytes: number) => '0x' + (BigInt(dec) & ((1n << BigInt(bytes * 8)) - 1n)).toString(16).padStart(bytes * 2, '0');
function hop(n: NodeData, type: number): HopData {
  const h: HopData = {};
  const bit = (b: number) => (type & (0x800000 >>> b)) !== 0;
  if (bit(0)) { h.hop_limit = n.hopLimit!; h.node_id = n.nodeId!; }
  if (bit(1)) { h.ingress_if = n.ingressIfId!; h.egress_if = n.egressIfId!; }
  if (bit(2)) h.ts_sec = n.timestampSecs!;
  if (bit(3)) h.ts_frac = n.timestampFrac!;
  if (bit(4)) h.transit_delay = n.transitDelay!;
  if (bit(5)) h.ns_data = n.namespaceData!;
  if (bit(6)) h.queue_depth = n.queueDepth!;
  if (bit(7)) h.checksum_complement = n.checksumComplement!;
  if (bit(8)) { h.hop_limit = n.hopLimitWide!; h.node_id_wide = hexOf(n.nodeIdWide!, 7); }
  if (bit(9)) { h.ingress_if_wide = n.ingressIfIdWide!; h.egress_if_wide = n.egressIfIdWide!; }
  if (bit(10)) h.ns_data_wide = hexOf(n.namespaceDataWide!, 8);
  if (bit(11)) h.buffer_occupancy = n.bufferOccupancy!;
  if (n.undefined && n.undefined.length) h.undefined_fields = n.undefined;
  if (bit(22) && n.oss) h.oss = { schema_id: n.oss.schemaId, data_hex: n.oss.data };
  return h;
}
function oracle(hbh: Uint8Array, layout: CltLayout): TraceOption[] {
  if (hbh.length < 8 || hbh.length > 0xffff) return [];
  const p = new Uint8Array(40 + hbh.length);
  p[0] = 0x60;
  p[4] = hbh.length >> 8;
  p[5] = hbh.length & 0xff;
  p[7] = 64;
  p.set(hbh, 40);
  p[40] = 59;
  let json: string;
  try {
    json = decodeJson(p, { clt: layout });
  } catch {
    return [];
  }
  const out: TraceOption[] = [];
  for (const o of ioamOptions(JSON.parse(json) as DecodedPacket)) {
    if (o.header !== 'hop-by-hop' || (o.data.type !== 'preallocated-trace' && o.data.type !== 'incremental-trace')) continue;
    const t = o.data as Trace & { type: string };
    const opt: TraceOption = {
      option_type: t.type === 'preallocated-trace' ? 0 : 1,
      ns: t.namespaceId,
      node_len: t.nodeLen,
      flags: { overflow: t.flags.overflow, loopback: t.flags.loopback, active: t.flags.active },
      remaining_len: t.remainingLen,
      trace_type: '0x' + t.traceType.toString(16).padStart(6, '0'),
      hops: t.nodes.map((n) => hop(n, t.traceType)).reverse(),
    };
    if (o.error) opt.error = `${o.error.what}: ${o.error.code} at offset ${o.error.offset}`;
    out.push(opt);
  }
  return out;
}

/** The Hop-by-Hop header of a generated packet (what a decapsulating node removes), or its noise. */
const hbhOf = (b: Uint8Array): Uint8Array => (b.length > 40 && b[6] === 0 ? b.subarray(40) : b);

function same(hbh: Uint8Array, layout: CltLayout): void {
  const want = oracle(hbh, layout);
  const got = decodeHopByHop(hbh, layout);
  assert.deepStrictEqual(got, want);
  assert.equal(JSON.stringify(got), JSON.stringify(want));
  // The JSON text written from the flat record (every field, OSS data, errors).
  assert.equal(optionsJson({ w: decodeTraceFlat(hbh, layout), at: 0, bytes: hbh, base: 0, len: hbh.length }), JSON.stringify(want));
  assert.equal(hopByHopOverflow(hbh, layout), want.some((o) => o.flags.overflow));
}

const RUNS = Number(process.env['IOAMSIM_PROP_RUNS'] ?? 400);

describe('flat trace records = the whole-packet decoder', () => {
  test('generated headers (every field, OSS, Incremental), both layouts', () => {
    for (const legacy of [false, true]) {
      const layout: CltLayout = legacy ? 'legacy' : 'standard';
      fc.assert(fc.property(packetArb({ headers: ['hop-by-hop'], legacy }), (g) => same(hbhOf(g.bytes), layout)), { numRuns: RUNS });
    }
  });

  test('mutated headers (lengths, NodeLen, RemainingLen, OSS, truncation, bytes), both layouts', () => {
    for (const legacy of [false, true]) {
      fc.assert(
        fc.property(mutatedPacketArb({ headers: ['hop-by-hop'], legacy, rounds: 2 }), (m) => {
          same(hbhOf(m.bytes), legacy ? 'legacy' : 'standard');
          same(hbhOf(m.bytes), legacy ? 'standard' : 'legacy');
        }),
        { numRuns: RUNS },
      );
    }
  });

  test('random bytes never throw and agree', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (b, l) => same(b, l ? 'legacy' : 'standard')), { numRuns: RUNS });
  });

  test('a batch of one step: one call, records in place, JSON text = JSON.stringify of the objects, skipped packets', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(packetArb({ headers: ['hop-by-hop'] }), fc.boolean()), { minLength: 1, maxLength: 12 }), (gs) => {
        const parts = gs.map(([g]) => hbhOf(g.bytes));
        const arena = new Uint8Array(parts.reduce((s, p) => s + p.length, 7) + 7);
        const desc = new Uint32Array(2 * parts.length);
        let at = 7;
        parts.forEach((p, j) => {
          arena.set(p, at);
          desc[2 * j] = at;
          desc[2 * j + 1] = p.length;
          at += p.length;
        });
        const f = new FlatTraces();
        f.out = new Uint32Array(8); // grows
        f.reserve(parts.length);
        gs.forEach(([, skip], j) => (f.layouts[j] = skip ? TRACE_SKIP : layoutCode('standard')));
        f.decode(arena, desc, parts.length);
        gs.forEach(([, skip], j) => {
          if (skip) return assert.equal(f.index[j], 0xffffffff);
          const r = { w: f.out, at: f.index[j]!, bytes: arena, base: desc[2 * j]!, len: desc[2 * j + 1]! };
          const want = oracle(parts[j]!, 'standard');
          assert.deepStrictEqual(recordOptions(r), want);
          assert.equal(optionsJson(r), JSON.stringify(want));
          const head = { t_ns: 12.5 * j, node: 'n"1', flow: 'f\\x', kind: 'flow', seq: j, packet: 1000 + j, hbh_len: parts[j]!.length };
          assert.equal(traceLine(head, optionsJson(r)), JSON.stringify({ ...head, options: want }));
        });
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });
});

test('decode / decodeJson / decodeTraceFlat given something that is not bytes: a typed IoamError (ERR_IOAM_BAD_VALUE), not the binding\'s untyped error', () => {
  const notBytes: [unknown, RegExp][] = [
    [new ArrayBuffer(48), /got an ArrayBuffer \(wrap it: new Uint8Array\(buf\)\)/],
    [new Uint16Array(24), /got Uint16Array/],
    [new DataView(new ArrayBuffer(48)), /got DataView/],
    ['60000000', /got string/],
    [null, /got null/],
  ];
  for (const [v, why] of notBytes) {
    for (const [name, f] of [['decodeJson', () => decodeJson(v as Uint8Array)], ['decodeTraceFlat', () => decodeTraceFlat(v as Uint8Array)]] as const) {
      assert.throws(f, (e: unknown) => {
        const x = e as { name: string; code: string; offset: number; message: string };
        assert.equal(x.name, 'IoamError', `${name}: ${x.message}`);
        assert.equal(x.code, 'ERR_IOAM_BAD_VALUE');
        assert.equal(x.offset, 0);
        assert.match(x.message, why);
        return true;
      });
    }
  }
  // null options are the defaults.
  const ip = new Uint8Array(40);
  ip[0] = 0x60;
  ip[6] = 59;
  assert.equal(JSON.parse(decodeJson(ip, null)).ipv6.nextHeader, 59);
});

test('u64: decimal strings of 0..2^64-1 to bigint; anything else an IoamError, not a wrong number', () => {
  assert.equal(u64('18446744073709551615'), 0xffff_ffff_ffff_ffffn);
  assert.equal(u64('0'), 0n);
  assert.equal(u64(undefined), undefined);
  for (const bad of ['-1', '18446744073709551616', '0x10', '', '1e3', ' 1']) {
    assert.throws(() => u64(bad as U64String), (e: unknown) => (e as { code?: string }).code === 'ERR_IOAM_BAD_VALUE', bad);
  }
});
