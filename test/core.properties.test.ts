// Property tests (fast-check) of the core through the public API:
// - transit invariants on well-formed Pre-allocated traces built here byte by byte (RFC 9197
//   §4.4, RFC 9486 §3): RemainingLen falls by exactly the node's words, writes stay inside this
//   node's element, Overflow is set exactly when there is no room, every other byte is unchanged;
// - arbitrary and mutated bytes through transit/encap/decap give outcomes (never a throw, never a
//   write outside the slot) and through decode() give a typed IoamError or a packet;
// - encode → decode round trip for every IOAM option type.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IoamError, Node, PacketBatch, Reason, decode } from '../src/index';
import { nodeLenOf } from './core.properties.wire';
import { roundTripProperties } from './core.properties.wire';

const RUNS = Number(process.env.IOAMSIM_FC_RUNS ?? 300);
// Fixed seed by default (reproducible CI); IOAMSIM_FC_SEED=random for a fresh one each run.
const SEED = process.env.IOAMSIM_FC_SEED === 'random' ? undefined : Number(process.env.IOAMSIM_FC_SEED ?? 20261126);
const fcOpts = { numRuns: RUNS, seed: SEED, includeErrorInReport: true };

/** Trace bits a transit node accepts: 0-21 and 22; bit 23 (0x000001) is ignored. */
const traceType = fc.integer({ min: 1, max: 0xffffff }).map((t) => t & 0xfffffe).filter((t) => t !== 0);

interface TraceCase {
  ns: number;
  type: number;
  /** pre-allocated data space (bytes, 4n, ≤ 244) */
  size: number;
  remLen: number;
  flags: number; // O=4 L=2 A=1 (byte 2 low bits)
  flagBit3: boolean;
  hopLimit: number;
  oldData: Uint8Array;
  payload: Uint8Array;
}

const traceCase: fc.Arbitrary<TraceCase> = fc
  .record({
    ns: fc.constantFrom(123, 999),
    type: traceType,
    words: fc.integer({ min: 1, max: 61 }),
    remFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    flags: fc.constantFrom(0, 0, 0, 1, 2, 3, 4),
    flagBit3: fc.boolean(),
    hopLimit: fc.integer({ min: 0, max: 255 }),
    payload: fc.uint8Array({ minLength: 0, maxLength: 64 }),
    seed: fc.integer(),
  })
  .map((r) => {
    const size = r.words * 4;
    const remLen = Math.min(r.words, Math.floor(r.remFrac * (r.words + 1)));
    const oldData = new Uint8Array(size);
    for (let i = remLen * 4; i < size; i++) oldData[i] = (r.seed >>> (i % 24)) & 0xff ^ i;
    return { ns: r.ns, type: r.type, size, remLen, flags: r.flags, flagBit3: r.flagBit3, hopLimit: r.hopLimit, oldData, payload: r.payload };
  });

/** Offsets of the built packet. */
const OPT = 44; // IOAM option start (IPv6 40 + HbH nh/len 2 + PadN 2): 4n-aligned
const TRACE = OPT + 4; // trace header (Namespace-ID)
const DATA = TRACE + 8; // data space

/** IPv6 + HbH [PadN0, IOAM Pre-allocated trace, pad to 8n] + UDP. */
export function buildTracePacket(c: TraceCase): Uint8Array {
  const optLen = 2 + 8 + c.size;
  const hbhBody = 2 + 2 + 2 + optLen;
  const hbhLen = Math.ceil(hbhBody / 8) * 8;
  const udpLen = 8 + c.payload.length;
  const p = new Uint8Array(40 + hbhLen + udpLen);
  const dv = new DataView(p.buffer);
  p[0] = 0x60;
  dv.setUint16(4, hbhLen + udpLen);
  p[6] = 0; // HbH
  p[7] = c.hopLimit;
  p.set([0xfd, 0, 0, 0xaa, 0, 1], 8);
  p[23] = 1;
  p.set([0xfd, 0, 0, 0xaa, 0, 2], 24);
  p[39] = 2;
  p[40] = 17;
  p[41] = hbhLen / 8 - 1;
  p[42] = 1; // PadN, 0 bytes of padding data
  p[43] = 0;
  p[OPT] = 0x31;
  p[OPT + 1] = optLen;
  p[OPT + 2] = 0; // Reserved
  p[OPT + 3] = 0; // IOAM Option-Type 0: Pre-allocated Trace
  dv.setUint16(TRACE, c.ns);
  p[TRACE + 2] = (nodeLenOf(c.type) << 3) | c.flags;
  p[TRACE + 3] = (c.flagBit3 ? 0x80 : 0) | c.remLen;
  p[TRACE + 4] = c.type >> 16;
  p[TRACE + 5] = (c.type >> 8) & 0xff;
  p[TRACE + 6] = c.type & 0xff;
  p.set(c.oldData, DATA);
  const padAt = DATA + c.size;
  const pad = 40 + hbhLen - padAt;
  if (pad === 1) p[padAt] = 0;
  else if (pad > 1) {
    p[padAt] = 1;
    p[padAt + 1] = pad - 2;
  }
  const udp = 40 + hbhLen;
  dv.setUint16(udp, 4000);
  dv.setUint16(udp + 2, 5000);
  dv.setUint16(udp + 4, udpLen);
  p.set(c.payload, udp + 8);
  return p;
}

const SCHEMA = 'ABCDE'; // 5 B → 2 words of OSS data
function transitNode(enabled: boolean): Node {
  return Node.fromConfig({
    name: 'p',
    ioam6_id: 0x0a0b0c,
    ioam6_id_wide: 0x01020304050607n,
    interfaces: [
      { name: 'in', ioam6_enabled: enabled, ioam6_id: 7, ioam6_id_wide: 77 },
      { name: 'out', ioam6_id: 8, ioam6_id_wide: 88 },
    ],
    namespaces: [{ id: 123, data: 0x12345678, wide: 0x1122334455667788n, schema: 5 }],
    schemas: [{ id: 5, data: SCHEMA }],
  });
}
const nodes = { on: transitNode(true), off: transitNode(false) };

function diffIndices(a: Uint8Array, b: Uint8Array): number[] {
  const d: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) d.push(i);
  return d;
}

describe('properties: transit on well-formed Pre-allocated traces', () => {
  it('RemainingLen, Overflow and the written region follow RFC 9197 §4.4.1 (Linux fill)', () => {
    fc.assert(
      fc.property(traceCase, fc.boolean(), fc.integer({ min: 0, max: 0xffffffff }), (c, enabled, ts) => {
        const pkt = buildTracePacket(c);
        const batch = new PacketBatch({ capacity: 1 });
        batch.push(pkt, { ingressIf: 0, egressIf: 1, tsSec: ts, tsNsec: 123456789, queueDepth: 42 });
        nodes[enabled ? 'on' : 'off'].transit(batch);
        const o = batch.outcome(0);
        const out = batch.packet(0);
        const changed = diffIndices(pkt, out);
        assert.equal(out.length, pkt.length, 'Pre-allocated: the packet never grows');

        const nodeLen = nodeLenOf(c.type);
        const sclen = c.type & 0x000002 ? 1 + Math.ceil(SCHEMA.length / 4) : 0;
        const need = nodeLen + sclen;
        if (!enabled) {
          assert.equal(o.reason, Reason.IgnoredDisabled);
          assert.deepEqual(changed, []);
        } else if (c.ns !== 123) {
          assert.equal(o.reason, Reason.IgnoredNamespace);
          assert.deepEqual(changed, []);
        } else if (c.flags & 4) {
          assert.equal(o.reason, Reason.OverflowPreset);
          assert.deepEqual(changed, []);
        } else if (c.remLen === 0 || c.remLen < need) {
          // no room: only the O bit is set (RemainingLen unchanged)
          assert.equal(o.reason, Reason.OverflowSet);
          assert.deepEqual(changed, [TRACE + 2]);
          assert.equal(out[TRACE + 2], pkt[TRACE + 2]! | 4);
        } else {
          assert.equal(o.reason, Reason.Written);
          assert.equal(o.offset, OPT, 'offset = the IOAM option');
          assert.equal(out[TRACE + 3]! & 0x7f, c.remLen - need, 'RemainingLen falls by NodeLen + OSS words');
          assert.equal(out[TRACE + 3]! & 0x80, pkt[TRACE + 3]! & 0x80, 'flag bit 3 preserved');
          assert.equal(out[TRACE + 2], pkt[TRACE + 2], 'NodeLen and flags preserved');
          const lo = DATA + (c.remLen - need) * 4;
          const hi = DATA + c.remLen * 4;
          for (const i of changed) assert.ok(i === TRACE + 3 || (i >= lo && i < hi), `byte ${i} changed outside [${lo},${hi})`);
          const dv = new DataView(out.buffer, out.byteOffset);
          if (c.type & 0x800000) {
            // bit 0: Hop_Lim (HL − 1 on input, u8) + node_id
            assert.equal(dv.getUint32(lo), (((c.hopLimit - 1) & 0xff) << 24 | 0x0a0b0c) >>> 0);
          }
          if (c.type === 0x000002) {
            // OSS only: [len][schema id] + data
            assert.equal(dv.getUint32(lo), (2 << 24) | 5);
          }
        }
        assert.equal(o.verdict, 0, 'well-formed traces are never dropped');
      }),
      fcOpts,
    );
  });
});

/** Well-formed packet, then flip/set/truncate/extend some bytes. */
const mutated = fc
  .tuple(traceCase, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.integer({ min: -16, max: 16 }))
  .map(([c, edits, cut]) => {
    const p = buildTracePacket(c);
    for (const [at, v] of edits) p[at % p.length] = v;
    if (cut < 0) return p.subarray(0, Math.max(0, p.length + cut));
    if (cut > 0) return Uint8Array.from([...p, ...new Array<number>(cut).fill(0)]);
    return p;
  });
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated, mutated.map((p) => { const q = new Uint8Array(p); if (q.length > 6) q[6] = 0; if (q.length) q[0] = 0x60 | (q[0]! & 15); return q; }));

const encapNode = Node.fromConfig({
  name: 'e',
  ioam6_id: 9,
  interfaces: [{ name: 'in', ioam6_enabled: true }, { name: 'out' }],
  namespaces: [{ id: 123 }],
  encap: { mode: 'auto', tundst: 'fd00::2', tunsrc: 'fd00::1', trace: { type: 0xfff002, ns: 123, size: 100 }, freq: { k: 2, n: 3 } },
});

describe('properties: arbitrary and mutated bytes never crash', () => {
  it('transit / encap / decap give known outcomes and never write outside the slot', () => {
    fc.assert(
      fc.property(fc.array(anyBytes, { minLength: 1, maxLength: 8 }), fc.boolean(), (pkts, withClt) => {
        const batch = new PacketBatch({ capacity: pkts.length, slotSize: 1024, headroom: 400 });
        for (const p of pkts) batch.push(p, { ingressIf: 0, egressIf: 1 }, withClt ? new Uint8Array(24).fill(3) : undefined);
        // Shrink every slot by 16 bytes at both ends and fill those with a canary: the core must
        // never write outside [slot_start, slot_end).
        const CANARY = 0xa5;
        for (let i = 0; i < pkts.length; i++) {
          const d = batch.desc.subarray(i * 4, i * 4 + 4);
          batch.buf.fill(CANARY, d[0]!, d[0]! + 16);
          batch.buf.fill(CANARY, d[1]! - 16, d[1]!);
          d[0] = d[0]! + 16;
          d[1] = d[1]! - 16;
        }
        for (const op of ['transit', 'encap', 'transit', 'decap'] as const) {
          const descBefore = new Uint32Array(batch.desc.subarray(0, pkts.length * 4));
          if (op === 'transit') nodes.on.transit(batch);
          else if (op === 'encap') encapNode.encap(batch);
          else encapNode.decap(batch);
          for (let i = 0; i < pkts.length; i++) {
            const o = batch.outcome(i);
            assert.ok(Object.values(Reason).includes(o.reason), `${op}: unknown reason ${o.reason}`);
            assert.equal(o.verdict, o.reason < 32 ? 0 : 1);
            const [ss, se, off, len] = batch.desc.subarray(i * 4, i * 4 + 4);
            assert.equal(ss, descBefore[i * 4], 'slot_start unchanged');
            assert.equal(se, descBefore[i * 4 + 1], 'slot_end unchanged');
            assert.ok(off! >= ss! && off! + len! <= se!, `${op}: packet ${i} left its slot`);
            if (o.verdict === 1) {
              assert.equal(off, descBefore[i * 4 + 2], `${op}: a drop does not move the packet`);
              // (the receive path may trim bytes beyond the IPv6 Payload Length, as ip6_rcv_core does)
              assert.ok(len! <= descBefore[i * 4 + 3]!, `${op}: a drop does not grow the packet`);
            }
            assert.ok(batch.buf.subarray(ss! - 16, ss!).every((x) => x === CANARY), `${op}: wrote before slot ${i}`);
            assert.ok(batch.buf.subarray(se!, se! + 16).every((x) => x === CANARY), `${op}: wrote after slot ${i}`);
          }
        }
      }),
      { ...fcOpts, numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('decode() returns a packet or throws a typed IoamError, nothing else', () => {
    fc.assert(
      fc.property(anyBytes, fc.constantFrom('standard' as const, 'legacy' as const), (p, clt) => {
        try {
          const d = decode(p, { clt });
          assert.equal(typeof d, 'object');
        } catch (e) {
          assert.ok(e instanceof IoamError, `not an IoamError: ${String(e)}`);
          assert.match(e.code, /^ERR_IOAM_[A-Z0-9_]+$/);
          assert.notEqual(e.code, 'ERR_IOAM_INTERNAL', e.message);
          assert.notEqual(e.layer, 'native', e.message);
          assert.ok(e.offset >= 0 && e.offset <= Math.max(p.length, 1) + 8, `offset ${e.offset} for ${p.length} bytes`);
        }
      }),
      fcOpts,
    );
  });
});

describe('properties: encode → decode round trip', () => {
  roundTripProperties(fcOpts);
});
