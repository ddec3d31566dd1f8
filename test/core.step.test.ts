// The node step (Node.step over src/step.ts tables: one native call per node and instant, the
// simulator's dataplane door, sim/nodeproc.ts):
// - fast-check: a step over a mix of transit / decap / encap packets (no CLT: each packet's own
//   op) gives, per packet, the bytes, reason and position the per-packet in-place calls give
//   when run one after the other (encap k-of-n counted in packet order on both sides);
// - the hop-limit rule (HL 1 → dropped, else decremented; after the input processing);
// - misuse is a typed error, not a crash: tables too short for `cap`, n > cap, a buffer sharing
//   memory with the tables.
// The stage-by-stage equivalence with the batch calls (and CLT) is the core's own unit test
// (crates/ioam-core/src/dataplane/batch.rs `node_step_matches_the_separate_calls`).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IoamError, Node, PKT_OUT_WORD, metaWords, type NodeConfigInput } from '../src/index';
import { STEP_F, STEP_S, stepTables } from '../src/step';
import { mutatedPacketArb, packetArb } from '../src/arbitraries';

const RUNS = Number(process.env.IOAMSIM_FC_RUNS ?? 200);
const SEED = process.env.IOAMSIM_FC_SEED === 'random' ? undefined : Number(process.env.IOAMSIM_FC_SEED ?? 20261203);
const HEADROOM = 512;
const SLOT = 2048;

const cfg = (mode: 'inline' | 'encap'): NodeConfigInput => ({
  name: 'n',
  ioam6_id: 0x0a0b0c,
  interfaces: [{ name: 'in', ioam6_enabled: true, ioam6_id: 7 }, { name: 'out' }],
  namespaces: [{ id: 123, data: 0x11223344 }],
  encap: { mode, ...(mode === 'inline' ? {} : { tunsrc: 'fd00::1', tundst: 'fd00::2' }), trace: { type: 0xf00000, ns: 123, size: 24 }, freq: { k: 2, n: 3 } },
});

const OPS = ['transit', 'decap', 'encap'] as const;
const FLAG = { transit: STEP_F.transit, decap: STEP_F.decap, encap: STEP_F.encap } as const;

describe('Node.step', () => {
  it('= the in-place calls one packet after the other (fast-check)', () => {
    const pkt = fc.oneof(packetArb({ namespaces: [123, 5] }).map((g) => g.bytes), mutatedPacketArb({ namespaces: [123] }).map((m) => m.bytes));
    fc.assert(
      fc.property(fc.constantFrom<'inline' | 'encap'>('inline', 'encap'), fc.array(fc.tuple(pkt, fc.constantFrom(...OPS)), { minLength: 1, maxLength: 12 }), (mode, list) => {
        const a = Node.fromConfig(cfg(mode));
        const b = Node.fromConfig(cfg(mode));
        const n = list.length;
        const buf = new Uint8Array(n * SLOT);
        const { t } = stepTables(n, false);
        const meta = metaWords({ ingressIf: 0, egressIf: 1, tsSec: 5, tsNsec: 6 });
        list.forEach(([p, op], i) => {
          buf.set(p, i * SLOT + HEADROOM);
          t.desc.set([i * SLOT, (i + 1) * SLOT, i * SLOT + HEADROOM, p.length], i * 4);
          t.meta.set(meta, i * 8);
          t.meta2.set(meta, i * 8);
          t.flags[i] = FLAG[op];
        });
        assert.equal(a.step(buf, t, n), n);
        const ref = new Uint8Array(SLOT);
        const out = new Uint32Array(5);
        const trace = new Uint8Array(2048);
        list.forEach(([p, op], i) => {
          ref.fill(0);
          ref.set(p, HEADROOM);
          const reason =
            op === 'transit' ? b.transitInPlace(ref, HEADROOM, p.length, meta, out) : op === 'encap' ? b.encapInPlace(ref, HEADROOM, p.length, meta, out) : b.decapInPlace(ref, HEADROOM, p.length, meta, out, trace);
          const o = op === 'encap' ? t.out2 : t.out1;
          assert.equal(o[i * 4 + 1], reason, `packet ${i} (${op}): reason`);
          const start = t.desc[i * 4 + 2]! - i * SLOT;
          const len = t.desc[i * 4 + 3]!;
          assert.equal(start, out[PKT_OUT_WORD.start], `packet ${i} (${op}): start`);
          assert.equal(len, out[PKT_OUT_WORD.len], `packet ${i} (${op}): length`);
          assert.deepEqual(buf.subarray(i * SLOT, (i + 1) * SLOT), ref, `packet ${i} (${op}): slot bytes`);
          const dropped = t.status[i] !== STEP_S.alive;
          assert.equal(dropped, (o[i * 4] ?? 0) !== 0, `packet ${i} (${op}): status follows the verdict`);
          if (op === 'decap' && reason === out[PKT_OUT_WORD.reason] && t.traceDesc[i * 2 + 1]! > 0) {
            const at = t.traceDesc[i * 2]!;
            assert.deepEqual(t.traceArena.subarray(at, at + t.traceDesc[i * 2 + 1]!), trace.subarray(0, out[PKT_OUT_WORD.aux]!), `packet ${i}: removed header`);
          }
        });
      }),
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
  });

  it('hop limit: 1 is dropped, 64 becomes 63 (after the input processing)', () => {
    const node = Node.fromConfig(cfg('inline'));
    const buf = new Uint8Array(2 * SLOT);
    const { t } = stepTables(2, false);
    for (const [i, hl] of [[0, 1], [1, 64]] as const) {
      const p = new Uint8Array(48);
      p[0] = 0x60;
      p[5] = 8;
      p[6] = 17;
      p[7] = hl;
      buf.set(p, i * SLOT + HEADROOM);
      t.desc.set([i * SLOT, (i + 1) * SLOT, i * SLOT + HEADROOM, 48], i * 4);
      t.flags[i] = STEP_F.transit | STEP_F.hopLimit;
    }
    node.step(buf, t, 2);
    assert.deepEqual([...t.status.subarray(0, 2)], [STEP_S.dropHopLimit, STEP_S.alive]);
    assert.equal(buf[SLOT + HEADROOM + 7], 63);
    assert.equal(buf[HEADROOM + 7], 1, 'a dropped packet keeps its hop limit');
  });

  it('misuse is a typed error (short tables, n > cap, overlapping memory)', () => {
    const node = Node.fromConfig(cfg('inline'));
    const { t } = stepTables(4, false);
    const buf = new Uint8Array(SLOT);
    const bad = (f: () => unknown, what: RegExp) => assert.throws(f, (e: unknown) => e instanceof IoamError && e.code === 'ERR_IOAM_BAD_DESCRIPTOR' && what.test(e.message));
    bad(() => node.step(buf, { ...t, cap: 8 }, 1), /too short|n > cap/);
    bad(() => node.step(buf, t, 5), /n > cap/);
    bad(() => node.step(t.bytes.subarray(0, 64), t, 1), /overlap/);
    assert.equal(node.step(buf, t, 0), 0);
  });
});
