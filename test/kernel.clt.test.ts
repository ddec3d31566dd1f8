/**
 * Both Cross-Layer Telemetry encodings through real, unmodified Linux transit nodes
 * (app/kernel/clt.ts, docs/FIDELITY.md "CLT"): byte-for-byte agreement with our Linux-profile
 * dataplane, and what each hop leaves of the trace/span IDs. Needs root and IPv6 IOAM; fails
 * without them unless IOAMSIM_NO_KERNEL=1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { CLT_SCHEMA_ID, CLT_TRACE_ID, inspect, legacyPacket, ossPacketEncoded, ossPacketViaEncap } from '../app/kernel/clt';
import { findTraces } from '../app/kernel/packet';

const optOut = process.env.IOAMSIM_NO_KERNEL === '1';

describe('CLT packets (no root needed)', () => {
  const payload = new Uint8Array(Buffer.from('x'));
  it('legacy: the 24-byte ID block sits right after the trace header, RemainingLen counts the space after it', () => {
    const p = legacyPacket(0xf00000, 64, payload);
    const t = findTraces(p)[0]!;
    assert.equal(p[t.optOffset + 1], 2 + 8 + 24 + 64, 'Opt Data Len = 2 + 8 + 24 + size');
    assert.deepEqual(p.subarray(t.dataOffset, t.dataOffset + 16), CLT_TRACE_ID);
    assert.equal(t.remLen, 16 - 4, 'h1 wrote its own 16-byte element');
    const h = inspect('x', p, 'legacy');
    assert.equal(h.traceIdIntact, true);
    assert.equal(h.spanIdIntact, true);
    assert.match(h.rfcDecoder!, /error/, 'an RFC decoder is confused by the block');
  });
  it('oss: encode() and our encap with schema 0xC17D bound give the same bytes; the snapshot holds the IDs', () => {
    const a = ossPacketEncoded(0xf00002, 160, payload);
    const b = ossPacketViaEncap(0xf00002, 160, payload);
    assert.deepEqual(Buffer.from(a), Buffer.from(b));
    const t = findTraces(a)[0]!;
    const end = t.end;
    // h1's element is the last 16 + 4 + 24 bytes: the OSS header is Length 6 | 0x00C17D.
    assert.equal(new DataView(a.buffer, a.byteOffset).getUint32(end - 28), (6 << 24) | CLT_SCHEMA_ID);
    const h = inspect('x', a, 'oss');
    assert.equal(h.traceIdIntact && h.spanIdIntact, true);
    assert.equal(h.rfcDecoder, '1 element(s)');
  });
});

describe('CLT encodings through the live kernel', { timeout: 60_000 }, () => {
  it('has root and a kernel with IPv6 IOAM (or IOAMSIM_NO_KERNEL=1)', async () => {
    const { kernelCheckUnavailable } = await import('../app/kernel/check');
    const why = kernelCheckUnavailable();
    if (why && optOut) return;
    assert.equal(why, null, `${why}\nSet IOAMSIM_NO_KERNEL=1 to skip the live kernel check explicitly.`);
  });

  it('kernel == our dataplane byte for byte; legacy loses the IDs at r2/r3, oss keeps them', { skip: optOut && 'IOAMSIM_NO_KERNEL=1' }, async () => {
    const { runClt } = await import('../app/kernel/clt');
    const r = runClt();
    assert.deepEqual(r.results.filter((c) => !c.ok).map((c) => `${c.name}: ${c.problems.join('; ')}`), []);
    assert.equal(r.agree, 3);
    const leg = r.results.find((c) => c.name === 'clt_legacy_unpatched')!;
    assert.deepEqual(leg.reasons, ['r1:Written', 'r2:Written', 'r3:Written', 'r4:OverflowSet', 'h2:OverflowPreset']);
    const at = (p: string) => leg.hops.find((h) => h.point === p)!;
    // after r1: both intact; r2 writes over the span ID; r3 over the trace ID
    assert.deepEqual([at('r2 ingress').traceIdIntact, at('r2 ingress').spanIdIntact], [true, true]);
    assert.deepEqual([at('r3 ingress').traceIdIntact, at('r3 ingress').spanIdIntact], [true, false]);
    assert.deepEqual([at('r4 ingress').traceIdIntact, at('r4 ingress').spanIdIntact], [false, false]);
    assert.ok((leg.patchedDiffers ?? 0) >= 3, 'a CLT-patched prediction must differ from the unpatched kernel');
    for (const name of ['clt_oss', 'clt_oss_overflow']) {
      const c = r.results.find((x) => x.name === name)!;
      assert.equal(c.buildersAgree, true);
      assert.ok(c.hops.length === 5 && c.hops.every((h) => h.present && h.traceIdIntact && h.spanIdIntact), `${name}: IDs intact at every point`);
    }
    const ov = r.results.find((c) => c.name === 'clt_oss_overflow')!;
    assert.equal(ov.reasons[2], 'r3:OverflowSet');
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(`ioamsim-${process.pid}-`));
    assert.deepEqual(left, [], 'namespaces removed');
  });
});
