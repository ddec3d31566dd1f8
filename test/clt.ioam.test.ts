/**
 * CLT ID encodings through the Rust core (src/node.ts): the legacy layout of the CLT kernel patch
 * (encap `clt_legacy`, 24-byte block after the trace header) and the signalled Opaque State
 * Snapshot encoding (encap `clt_oss_schema`), what each costs, and what happens to a legacy packet
 * at an unmodified Linux transit node. Decoding is the core's (`decodeTrace` over src/decode.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nodeConfigSchema } from '../src/config';
import { Node } from '../src/node';
import { CLT_SCHEMA_ID, CLT_TRACE_TYPE, decodeTrace, hex, idCostOctets, nodeLenOf, TT_BIT22, unhex, type CltIds } from '../sim/clt/ioam';

const IDS: CltIds = { traceId: unhex('0af7651916cd43dd8448eb211c80319c'), spanId: unhex('b7ad6b7169203331') };
const cltBytes = (ids: CltIds) => new Uint8Array([...ids.traceId, ...ids.spanId]);

/** An IPv6 TCP packet (20-byte header + 100 bytes of payload) from ::1 to ::2. */
function packet(): Uint8Array {
  const p = new Uint8Array(160);
  p[0] = 0x60;
  p[5] = 120;
  p[6] = 6;
  p[7] = 64;
  p[23] = 1;
  p[39] = 2;
  p[40] = 0x9c;
  p[41] = 0x40;
  p[43] = 80;
  return p;
}

type Enc = 'none' | 'legacy' | 'oss';

function node(id: number, o: { legacyNs?: boolean; encap?: { enc: Enc; size: number } } = {}): Node {
  const tt = o.encap?.enc === 'oss' ? CLT_TRACE_TYPE | TT_BIT22 : CLT_TRACE_TYPE;
  return new Node(nodeConfigSchema.parse({
    name: `n${id}`,
    ioam6_id: id,
    interfaces: [{ name: 'in', ioam6_enabled: true, ioam6_id: id * 100 }, { name: 'out', ioam6_enabled: true, ioam6_id: id * 100 + 1 }],
    namespaces: [{ id: 123, clt_legacy: o.legacyNs ?? false }],
    ...(o.encap ? {
      encap: {
        mode: 'inline', trace: { type: tt, ns: 123, size: o.encap.size }, clt_legacy: o.encap.enc === 'legacy',
        ...(o.encap.enc === 'oss' ? { clt_oss_schema: CLT_SCHEMA_ID } : {}),
      },
    } : {}),
  }));
}

const T0 = 1_767_225_600;
/** Encap at node 10, then transit at `routers` (each: ingress 0, egress 1, time +1 ms, queue id×100). */
function path(enc: Enc, size: number, routers: Node[], ids: CltIds | null = IDS): { pkt: Uint8Array; inserted: number } {
  const e = node(10, { legacyNs: enc === 'legacy', encap: { enc, size } });
  const r = e.encapPacket(packet(), { egressIf: 1, tsSec: T0, queueDepth: 0 }, ids ? cltBytes(ids) : undefined);
  assert.equal(r.reasonName, 'Encapsulated');
  let pkt = r.packet;
  routers.forEach((n, k) => {
    const t = n.transitPacket(pkt, { ingressIf: 0, egressIf: 1, tsSec: T0, tsNsec: (k + 1) * 1_000_000, queueDepth: (k + 1) * 100 });
    assert.equal(t.verdict, 0);
    pkt = t.packet;
  });
  return { pkt, inserted: r.aux };
}

test('NodeLen of the CLT trace type (bits 0,1,2,3,6) is 5 words; bit 22 adds nothing to it', () => {
  assert.equal(CLT_TRACE_TYPE, 0xf20000);
  assert.equal(nodeLenOf(CLT_TRACE_TYPE), 5);
  assert.equal(nodeLenOf(CLT_TRACE_TYPE | TT_BIT22), 5);
  assert.equal(nodeLenOf(0xfff002), 15);
});

test('oss: the core encapsulator writes [6][0x00C17D][trace ID][span ID]; unmodified Linux transit nodes write 00 FF FF FF', () => {
  const { pkt } = path('oss', 4 * 24 + 24, [node(1), node(2), node(3)]);
  const d = decodeTrace(pkt, 'rfc')!;
  assert.deepEqual(d.problems, []);
  assert.equal(d.hops.length, 4);
  assert.deepEqual(d.hops.map((h) => h.nodeId), [10, 1, 2, 3]);
  assert.equal(d.hops[0]!.oss!.schemaId, CLT_SCHEMA_ID);
  assert.equal(hex(d.ids!.traceId), '0af7651916cd43dd8448eb211c80319c');
  assert.equal(hex(d.ids!.spanId), 'b7ad6b7169203331');
  for (const h of d.hops.slice(1)) assert.equal(h.oss, null, 'no-schema snapshot 00 FF FF FF');
  assert.equal(d.remainingLen, 0);
  // Timestamps and queue depth as written by the core (µs, Linux), in path order.
  assert.deepEqual(d.hops.slice(1).map((h) => h.timeNs), [1, 2, 3].map((k) => BigInt(T0) * 1_000_000_000n + BigInt(k) * 1_000_000n));
  assert.deepEqual(d.hops.slice(1).map((h) => h.queueDepth), [100, 200, 300]);
  // The bytes: the encapsulator's snapshot header right after its 5 words.
  const i = Buffer.from(pkt).indexOf(Buffer.from([6, 0x00, 0xc1, 0x7d]));
  assert.ok(i > 0);
  assert.equal(hex(pkt.subarray(i + 4, i + 28)), hex(cltBytes(IDS)));
  // Read with the legacy layout, the same packet gives garbage IDs, not these.
  const wrong = decodeTrace(pkt, 'clt-legacy')!;
  assert.notEqual(wrong.ids && hex(wrong.ids.traceId), hex(IDS.traceId));
});

test('oss without IDs (untraced packet): no CLT snapshot, nothing to join', () => {
  const { pkt } = path('oss', 120, [node(1)], null);
  const d = decodeTrace(pkt, 'rfc')!;
  assert.equal(d.ids, null);
  assert.equal(d.hops.length, 2);
});

test('byte costs through the core: legacy 24 fixed, oss 28 + 4 per other node (40 over 4 nodes)', () => {
  const nodes = 4;
  const plain = path('none', nodes * 20, []).inserted;
  const legacy = path('legacy', nodes * 20, []).inserted;
  const oss = path('oss', nodes * 24 + 24, []).inserted;
  assert.equal(plain, 8 + 8 + 80);
  assert.equal(legacy - plain, idCostOctets('legacy', nodes));
  assert.equal(oss - plain, idCostOctets('oss', nodes));
  assert.deepEqual([idCostOctets('legacy', nodes), idCostOctets('oss', nodes)], [24, 40]);
});

test('legacy: CLT-patched nodes fill after the block and the IDs decode', () => {
  const { pkt } = path('legacy', 80, [node(1, { legacyNs: true }), node(2, { legacyNs: true })]);
  const d = decodeTrace(pkt, 'clt-legacy')!;
  assert.deepEqual(d.problems, []);
  assert.deepEqual(d.hops.map((h) => h.nodeId), [10, 1, 2]);
  assert.equal(hex(d.ids!.traceId), hex(IDS.traceId));
  assert.equal(hex(d.ids!.spanId), hex(IDS.spanId));
});

test('legacy packet at an unmodified Linux node (core linux transit): hop lost, RFC view broken, IDs overwritten', () => {
  // r1 patched, r2 unmodified: r2 writes 24 bytes too early (into what CLT decoders take as free space).
  const { pkt } = path('legacy', 80, [node(1, { legacyNs: true }), node(2)]);
  const clt = decodeTrace(pkt, 'clt-legacy')!;
  assert.equal(hex(clt.ids!.traceId), hex(IDS.traceId), 'IDs still intact after one unaware hop');
  assert.ok(!clt.hops.some((h) => h.nodeId === 2), 'a CLT decoder never sees the unaware node');
  // An RFC decoder reads the block as data space and the node data as 24 bytes too long.
  const rfc = decodeTrace(pkt, 'rfc')!;
  assert.ok(rfc.problems.length > 0, 'RFC decoding of a legacy packet reports a problem');
  assert.equal(rfc.ids, null);
  // 60 bytes of space, three unaware nodes: the third writes over the span ID and trace ID.
  const { pkt: p3 } = path('legacy', 60, [node(1), node(2), node(3)]);
  const c3 = decodeTrace(p3, 'clt-legacy')!;
  assert.notEqual(hex(c3.ids!.spanId), hex(IDS.spanId), 'span ID overwritten');
  assert.notEqual(hex(c3.ids!.traceId), hex(IDS.traceId), 'trace ID overwritten');
  // The same path in the oss encoding keeps the IDs (every node is RFC 9197-correct).
  const { pkt: o3 } = path('oss', 3 * 24 + 24 + 24, [node(1), node(2), node(3)]);
  assert.equal(hex(decodeTrace(o3, 'rfc')!.ids!.spanId), hex(IDS.spanId));
});

test('decodeTrace never throws on arbitrary bytes after a valid IPv6 header', () => {
  const base = path('oss', 120, [node(1)]).pkt;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(base.length), (junk, cut) => {
      const p = new Uint8Array([...base.subarray(0, Math.max(40, cut)), ...junk]);
      for (const layout of ['rfc', 'clt-legacy'] as const) decodeTrace(p, layout);
    }),
    { numRuns: 200, seed: 7 },
  );
});

test('node file: encap.clt_oss_schema is a 24-bit Schema ID; the core refuses it with clt_legacy', () => {
  const base = {
    name: 'e', namespaces: [{ id: 123 }],
    encap: { trace: { type: CLT_TRACE_TYPE | TT_BIT22, ns: 123, size: 120 }, clt_oss_schema: CLT_SCHEMA_ID },
  };
  assert.equal(nodeConfigSchema.parse(base).encap!.clt_oss_schema, CLT_SCHEMA_ID);
  assert.equal(nodeConfigSchema.safeParse({ ...base, encap: { ...base.encap, clt_oss_schema: 0x1000000 } }).success, false);
  assert.throws(() => new Node(nodeConfigSchema.parse({ ...base, encap: { ...base.encap, clt_legacy: true } })), /clt_oss_schema excludes clt_legacy/);
  // Absent: the encapsulator writes the namespace's snapshot (no schema: 00 FF FF FF), no IDs.
  const plain = new Node(nodeConfigSchema.parse({ ...base, encap: { trace: base.encap.trace } }));
  const r = plain.encapPacket(packet(), { egressIf: 1 }, cltBytes(IDS));
  assert.equal(decodeTrace(r.packet, 'rfc')!.ids, null);
});
