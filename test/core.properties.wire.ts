// Arbitraries of well-formed packets in the wire JSON model (src/decode.ts types) and the
// encode → decode round-trip properties, for every IOAM Option-Type. Shared with core.tshark.
import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import fc from 'fast-check';
import { DecodedPacket, IoamData, NodeData, Trace, decode, encode, native } from '../src/index';

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u24 = fc.integer({ min: 0, max: 0xffffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u56s = fc.bigInt({ min: 0n, max: (1n << 56n) - 1n }).map(String);
const u64s = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(String);
const bytesHex = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map(hexOf);

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

/** NodeLen implied by a 24-bit Trace-Type (src/tracetype.ts). */
import { nodeLenForType as nodeLenOf } from '../src/tracetype';
export { nodeLenOf };

/** One node's data for `type` (fields in RFC 9197 §4.4.2 bit order), OSS of `ossWords` data words. */
export function nodeArb(type: number, ossWords: number): fc.Arbitrary<NodeData> {
  const f: Record<string, fc.Arbitrary<unknown>> = {};
  if (type & 0x800000) Object.assign(f, { hopLimit: u8, nodeId: u24 });
  if (type & 0x400000) Object.assign(f, { ingressIfId: u16, egressIfId: u16 });
  if (type & 0x200000) f.timestampSecs = u32;
  if (type & 0x100000) f.timestampFrac = u32;
  if (type & 0x080000) f.transitDelay = u32;
  if (type & 0x040000) f.namespaceData = u32;
  if (type & 0x020000) f.queueDepth = u32;
  if (type & 0x010000) f.checksumComplement = u32;
  if (type & 0x008000) Object.assign(f, { hopLimitWide: u8, nodeIdWide: u56s });
  if (type & 0x004000) Object.assign(f, { ingressIfIdWide: u32, egressIfIdWide: u32 });
  if (type & 0x002000) f.namespaceDataWide = u64s;
  if (type & 0x001000) f.bufferOccupancy = u32;
  const undef = popcount(type & 0x000ffc);
  if (undef) f.undefined = fc.array(u32, { minLength: undef, maxLength: undef });
  if (type & 0x000002) f.oss = fc.record({ length: fc.constant(ossWords), schemaId: u24, data: bytesHex(ossWords * 4, ossWords * 4) });
  return fc.record(f) as fc.Arbitrary<NodeData>;
}

const flagsArb = fc.record({ overflow: fc.boolean(), loopback: fc.boolean(), active: fc.boolean(), bit3: fc.boolean() });

/** A well-formed Pre-allocated (or Incremental) trace whose option fits (Opt Data Len ≤ 255). */
export function traceArb(opts: { incremental?: boolean; clt?: boolean; maxNodes?: number } = {}): fc.Arbitrary<Trace> {
  const cltBytes = opts.clt ? 24 : 0;
  return fc
    .record({ type: fc.integer({ min: 1, max: 0xffffff }), ossWords: fc.integer({ min: 0, max: 4 }), ns: u16, flags: flagsArb, reserved: u8 })
    .chain(({ type, ossWords, ns, flags, reserved }) => {
      const elemBytes = 4 * (nodeLenOf(type) + (type & 0x000002 ? 1 + ossWords : 0));
      const room = 245 - 8 - cltBytes; // option data after Reserved + Option-Type
      const maxNodes = elemBytes === 0 ? 0 : Math.min(opts.maxNodes ?? 4, Math.floor(room / elemBytes));
      return fc.record({ nodes: fc.array(nodeArb(type, ossWords), { maxLength: maxNodes }), freeFrac: fc.double({ min: 0, max: 1, noNaN: true }) }).map(({ nodes, freeFrac }) => {
        const used = nodes.length * elemBytes;
        const maxFreeWords = Math.min(127, Math.floor((room - used) / 4));
        const free = opts.incremental ? 0 : Math.floor(freeFrac * maxFreeWords);
        const t: Trace = {
          namespaceId: ns,
          nodeLen: nodeLenOf(type),
          flags,
          remainingLen: opts.incremental ? Math.floor(freeFrac * 127) : free,
          traceType: type,
          reserved,
          nodes,
        };
        if (!opts.incremental) t.freeSpace = '00'.repeat(free * 4); // Incremental: no free space (SCHEMA.md)
        if (opts.clt) t.clt = { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8) };
        return t;
      });
    });
}

/** Every IOAM Option-Type (RFC 9197 §4.1, RFC 9326) with well-formed bodies. */
export const ioamDataArb: fc.Arbitrary<IoamData> = fc.oneof(
  traceArb().map((t) => ({ type: 'preallocated-trace' as const, ...t })),
  traceArb({ incremental: true }).map((t) => ({ type: 'incremental-trace' as const, ...t })),
  fc
    .record({ namespaceId: u16, flags: u8, random: u64s, cumulative: u64s })
    .map((p) => ({ type: 'pot' as const, potType: 0, ...p })),
  fc
    .record({ namespaceId: u16, bits: fc.integer({ min: 0, max: 15 }), seq64: u64s, seq32: u32, s: u32, f: u32 })
    .map(({ namespaceId, bits, seq64, seq32, s, f }) => {
      const d: IoamData = { type: 'e2e', namespaceId, e2eType: bits << 12 };
      if (bits & 8) d.seqNum64 = seq64;
      if (bits & 4) d.seqNum32 = seq32;
      if (bits & 2) d.timestampSecs = s;
      if (bits & 1) d.timestampFrac = f;
      return d;
    }),
  fc
    .record({ namespaceId: u16, flags: u8, ext: fc.integer({ min: 0, max: 3 }), traceType: u24, reserved: u8, flowId: u32, seq: u32 })
    .map(({ namespaceId, flags, ext, traceType, reserved, flowId, seq }) => {
      const d: IoamData = { type: 'dex', namespaceId, flags, extensionFlags: ext << 6, traceType, reserved };
      if (ext & 2) d.flowId = flowId;
      if (ext & 1) d.sequenceNumber = seq;
      return d;
    }),
  fc.record({ optionType: fc.integer({ min: 5, max: 63 }), data: bytesHex(0, 40) }).map((u) => ({ type: 'unknown' as const, ...u })),
);

/** An IPv6 packet carrying `data` in a HbH header (padding left to `encode({linuxPadding})`). */
export function packetWith(data: IoamData, hopLimit = 64, payload = '0fa01388000c0000aabbccdd'): DecodedPacket {
  return {
    ipv6: { trafficClass: 0, flowLabel: 0, payloadLen: 0, nextHeader: 0, hopLimit, src: 'fd00:aa:1::1', dst: 'fd00:aa:2::2' },
    extHeaders: [{ kind: 'hop-by-hop', options: [{ option: { kind: 'ioam', reserved: 0, data } }] }],
    upperLayer: { protocol: 17, payload },
  };
}

/** The IOAM option data of the first IOAM option of a decoded packet. */
export function firstIoam(p: DecodedPacket): { data: IoamData; offset: number; error?: unknown } {
  for (const h of p.extHeaders) for (const o of h.options ?? []) if (o.option.kind === 'ioam') return { data: o.option.data, offset: o.offset!, error: o.error };
  throw new Error('no IOAM option');
}

/** A JSON-plain copy (fast-check records have null prototypes). */
export function plain<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

export function roundTripProperties(fcOpts: { numRuns: number; seed?: number }): void {
  it('the binding has the wire layer', () => {
    assert.equal(typeof native().decodePacket, 'function', 'decodePacket missing: build the addon with the wire layer');
  });

  it('encode → decode gives back every field, for every IOAM Option-Type', () => {
    fc.assert(
      fc.property(ioamDataArb, u8, (data, hl) => {
        const bytes = encode(packetWith(data, hl), { linuxPadding: true });
        const d = decode(bytes);
        const io = firstIoam(d);
        assert.equal(io.error, undefined, JSON.stringify(io.error));
        assert.deepEqual(io.data, plain(data));
        assert.equal(io.offset % 4, 0, 'Linux padding puts IOAM at 4n');
        assert.equal(d.ipv6.hopLimit, hl);
        // and bytes → decode → encode → the same bytes
        assert.deepEqual(encode(d), bytes);
      }),
      fcOpts,
    );
  });

  it('CLT legacy layout round-trips with layout "legacy"', () => {
    fc.assert(
      fc.property(traceArb({ clt: true }), (t) => {
        const bytes = encode(packetWith({ type: 'preallocated-trace', ...t }), { linuxPadding: true });
        const io = firstIoam(decode(bytes, { clt: 'legacy' }));
        assert.deepEqual(io.data, plain({ type: 'preallocated-trace', ...t }));
      }),
      { ...fcOpts, numRuns: Math.ceil(fcOpts.numRuns / 3) },
    );
  });
}
