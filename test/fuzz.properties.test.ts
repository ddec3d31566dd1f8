/**
 * Property tests of the decoder (TS API → napi → core wire layer) with the arbitraries of
 * `src/arbitraries.ts`, whose bytes are built in TypeScript independently of the Rust encoder:
 * - well-formed packets decode to exactly the fields that were generated (both trace layouts);
 * - `encode(decode(x))` gives back `x`, for well-formed and for mutated packets that decode;
 * - on mutated packets and noise, `decode` returns or throws an `IoamError` with a known code and
 *   an offset inside the input, never anything else;
 * - targeted mutations are detected where they must be (NodeLen, RemainingLen, oversized OSS,
 *   lying Payload Length), and misalignment is reported (offset), not judged.
 * Replay a failure with the printed `seed`/`path` (fast-check) — runs are seeded for determinism.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decode, encode, IoamError, IOAM_ERROR_CODES } from '../src/index';
import type { DecodedPacket, IoamData } from '../src/index';
import { mutatedPacketArb, noisyIpv6Arb, packetArb } from '../src/arbitraries';
import type { GeneratedPacket, MutatedPacket } from '../src/arbitraries';
import { diff, packetJson } from './fuzz.helpers';

const SEED = Number(process.env.IOAMSIM_FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.IOAMSIM_FUZZ_RUNS ?? 400);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** decode, asserting that anything thrown is a well-formed IoamError. */
function decodeOrTyped(bytes: Uint8Array, clt: 'standard' | 'legacy'): DecodedPacket | IoamError {
  try {
    return decode(bytes, { clt });
  } catch (e) {
    assert.ok(e instanceof IoamError, `decode threw a non-IoamError: ${String(e)} for ${hex(bytes)}`);
    assert.ok(IOAM_ERROR_CODES.includes(e.code), `unknown code ${e.code}`);
    assert.ok(e.offset >= 0 && e.offset <= bytes.length, `error offset ${e.offset} outside ${bytes.length} octets`);
    return e;
  }
}

function optionAt(p: DecodedPacket, offset: number) {
  for (const h of p.extHeaders) for (const o of h.options ?? []) if (o.offset === offset) return o;
  return undefined;
}

function checkWellFormed(g: GeneratedPacket): void {
  const layout = g.spec.clt;
  const d = decode(g.bytes, { clt: layout });
  const errs = diff(d, packetJson(g.spec, g.layout, g.bytes));
  assert.deepEqual(errs, [], `decode differs from the generated packet ${hex(g.bytes)}`);
  for (const h of d.extHeaders) {
    assert.equal(h.error, undefined);
    for (const o of h.options ?? []) assert.equal(o.error, undefined, `option at ${o.offset}: ${JSON.stringify(o.error)}`);
  }
  assert.equal(hex(encode(d)), hex(g.bytes), 'encode(decode(x)) != x');
}

test('well-formed packets (standard layout) decode to the generated fields and re-encode', () => {
  fc.assert(fc.property(packetArb(), checkWellFormed), { seed: SEED, numRuns: RUNS });
});

test('well-formed packets with the CLT legacy block decode with the legacy layout', () => {
  fc.assert(fc.property(packetArb({ legacy: true, types: ['preallocated-trace', 'incremental-trace', 'pot'] }), checkWellFormed), {
    seed: SEED + 1,
    numRuns: Math.ceil(RUNS / 2),
  });
});

test('traces with every Trace-Type bit combination, several per HbH, decode exactly', () => {
  const arb = packetArb({ headers: ['hop-by-hop'], types: ['preallocated-trace', 'incremental-trace'], maxIoamPerHeader: 3, otherOptions: false });
  fc.assert(fc.property(arb, checkWellFormed), { seed: SEED + 2, numRuns: RUNS });
});

/**
 * Whatever decodes re-encodes to the same octets (undecodable parts are kept as bytes) — except
 * non-zero PadN data: the decoder reports it (ERR_IOAM_BAD_PADDING) but the PadN repr keeps only
 * the length, so encode writes zeros (documented in docs/ROBUSTNESS.md). Then the round trip
 * must hold with those octets zeroed.
 */
function checkRoundTrip(r: DecodedPacket, bytes: Uint8Array): void {
  const want = Uint8Array.from(bytes.subarray(0, 40 + r.ipv6.payloadLen));
  for (const h of r.extHeaders) {
    for (const o of h.options ?? []) {
      if (o.option.kind === 'padn' && o.error?.code === 'ERR_IOAM_BAD_PADDING') want.fill(0, o.offset! + 2, o.offset! + 2 + o.option.len);
    }
  }
  assert.equal(hex(encode(r)), hex(want), 'encode(decode(x)) != x');
}

/** What a targeted mutation must produce (beyond "no crash"). */
function checkMutation(m: MutatedPacket): void {
  const clt = m.base.spec.clt;
  const r = decodeOrTyped(m.bytes, clt);
  const mu = m.mutation;
  if (mu.kind === 'truncate' && !mu.fixPayloadLength && mu.offset < m.base.bytes.length) {
    assert.ok(r instanceof IoamError, `truncated to ${mu.offset} with a lying Payload Length must fail`);
    assert.equal(r.code, 'ERR_IOAM_TRUNCATED');
  }
  if (mu.kind === 'payload-length' && mu.value + 40 > m.bytes.length) {
    assert.ok(r instanceof IoamError && r.code === 'ERR_IOAM_TRUNCATED' && r.offset === 4, `Payload Length ${mu.value} beyond ${m.bytes.length}`);
  }
  if (r instanceof IoamError) return;
  checkRoundTrip(r, m.bytes);
  if (!['nodelen', 'remaininglen', 'oss-oversized', 'overflow', 'misalign'].includes(mu.kind)) return;
  const io = m.base.layout.ioam.find((l) => l.traceHeader !== undefined && mu.offset >= l.traceHeader && mu.offset < l.offset + l.length);
  const spec = io?.spec;
  if (!io || !spec || (spec.type !== 'preallocated-trace' && spec.type !== 'incremental-trace')) {
    if (mu.kind === 'misalign') {
      const o = optionAt(r, mu.offset);
      assert.ok(o && o.option.kind === 'ioam' && o.offset! % 4 !== 0, 'misaligned option reported at its offset');
      assert.equal(o.error, undefined, 'misalignment is not a decode error (the dataplane drops)');
    }
    return;
  }
  const opt = optionAt(r, io.offset);
  assert.ok(opt && opt.option.kind === 'ioam', `IOAM option at ${io.offset} still decoded`);
  const data = opt.option.data as IoamData & { type: string; nodeLen?: number; flags?: { overflow: boolean } };
  const bodyAfterHeader = io.length - 4 - 8 - (spec.clt ? 24 : 0);
  if (mu.kind === 'nodelen' && mu.value !== spec.nodeLen && !(spec.type === 'preallocated-trace' && spec.remainingLen * 4 > bodyAfterHeader)) {
    assert.equal(opt.error?.code, 'ERR_IOAM_BAD_NODELEN', `NodeLen ${mu.value} ≠ ${spec.nodeLen}: ${JSON.stringify(opt.error)}`);
    assert.equal(opt.error?.offset, io.traceHeader! + 2);
  }
  if (mu.kind === 'remaininglen' && spec.type === 'preallocated-trace' && mu.value * 4 > bodyAfterHeader) {
    assert.equal(opt.error?.code, 'ERR_IOAM_BAD_REMAININGLEN', `RemainingLen ${mu.value}: ${JSON.stringify(opt.error)}`);
  }
  if (mu.kind === 'oss-oversized' && io.oss?.at(-1) === mu.offset && io.nodes!.length === io.oss.length) {
    // The oldest element's snapshot now claims more octets than the option has.
    assert.ok(opt.error, `oversized OSS at ${mu.offset} not reported`);
    assert.equal(opt.error.code, 'ERR_IOAM_TRUNCATED');
  }
  if (mu.kind === 'overflow') {
    assert.equal(opt.error, undefined);
    assert.equal(data.flags?.overflow, true);
  }
}

test('mutated packets: decode returns or throws a typed IoamError; targeted mutations are detected', () => {
  fc.assert(fc.property(mutatedPacketArb(), checkMutation), { seed: SEED + 3, numRuns: RUNS * 3 });
});

test('mutated CLT legacy packets and stacked mutations never crash the decoder', () => {
  fc.assert(fc.property(mutatedPacketArb({ legacy: true, rounds: 3 }), checkMutation), { seed: SEED + 4, numRuns: RUNS });
});

test('noise that looks like IPv6 + HbH never crashes the decoder (both layouts)', () => {
  fc.assert(
    fc.property(noisyIpv6Arb(300), fc.boolean(), (b, legacy) => {
      const r = decodeOrTyped(b, legacy ? 'legacy' : 'standard');
      if (!(r instanceof IoamError)) checkRoundTrip(r, b);
    }),
    { seed: SEED + 5, numRuns: RUNS * 2 },
  );
});
