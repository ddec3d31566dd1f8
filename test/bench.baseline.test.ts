/**
 * The fast plain-TypeScript baseline (bench/baseline/fast.ts) makes the core's decisions, not just
 * on the bench corpus (bench/selfcheck.ts) but on mutated packets and metas: the same bytes,
 * descriptors, outcomes and handed-back traces as the Rust batch path, for every operation.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { FastNode, fastDecap, fastEncap, fastTransit } from '../bench/baseline/fast';
import { nodeConfigFor, OPS, TRACE_TYPES, workload, type TypeName } from '../bench/corpus';
import { tsTables } from '../bench/ways';

test('fast plain-TS baseline = core on mutated corpus packets (every op and trace type)', () => {
  let seed = 0x1234567;
  const rnd = () => {
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed;
  };
  const n = 32;
  const reasons = new Set<number>();
  for (let iter = 0; iter < 12; iter++) {
    for (const op of OPS) {
      for (const tn of Object.keys(TRACE_TYPES) as TypeName[]) {
        const size = [16, 64, 244][rnd() % 3]!;
        const a = workload(op, tn, size, n);
        const b = workload(op, tn, size, n);
        for (let i = 0; i < n; i++) {
          const off = a.batch.desc[i * 4 + 2]!;
          const len = a.batch.desc[i * 4 + 3]!;
          for (let j = 1 + (rnd() % 3); j > 0; j--) {
            const at = off + (rnd() % Math.min(len, 140));
            const v = rnd() & 0xff;
            const mode = rnd() % 3;
            const val = mode === 0 ? v : mode === 1 ? a.batch.buf[at]! ^ (1 << (v & 7)) : [0, 1, 0x31, 0xc2, 5, 7, 2, 4][v & 7]!;
            a.batch.buf[at] = val;
            b.batch.buf[at] = val;
          }
          if (rnd() % 10 === 0) {
            const l = rnd() % (len + 8);
            a.batch.desc[i * 4 + 3] = l;
            b.batch.desc[i * 4 + 3] = l;
          }
          if (rnd() % 5 === 0) {
            const k = i * 8 + (rnd() % 8);
            const v = [0, 1, 5, 0xffffffff][rnd() % 4]!;
            a.batch.meta[k] = v;
            b.batch.meta[k] = v;
          }
        }
        const c = new FastNode(nodeConfigFor(op, TRACE_TYPES[tn], size));
        const t = tsTables(b);
        if (op === 'encap') {
          a.node.encap(a.batch);
          fastEncap(c, t, n);
        } else if (op === 'decap') {
          a.node.decap(a.batch);
          fastDecap(c, t, n);
        } else {
          a.node.transit(a.batch);
          fastTransit(c, t, n);
        }
        const what = `${op} type ${tn} size ${size} iteration ${iter}`;
        assert.deepEqual([...b.batch.out.subarray(0, n * 4)], [...a.batch.out.subarray(0, n * 4)], `${what}: outcomes`);
        assert.deepEqual([...b.batch.desc.subarray(0, n * 4)], [...a.batch.desc.subarray(0, n * 4)], `${what}: descriptors`);
        assert.ok(Buffer.from(a.batch.buf).equals(Buffer.from(b.batch.buf)), `${what}: bytes`);
        if (op === 'decap') assert.deepEqual([...b.batch.traceDesc.subarray(0, n * 2)], [...a.batch.traceDesc.subarray(0, n * 2)], `${what}: trace desc`);
        for (let i = 0; i < n; i++) reasons.add(a.batch.out[i * 4 + 1]!);
      }
    }
  }
  // The mutations reach many decisions, not just the happy path.
  assert.ok(reasons.size >= 12, `only ${reasons.size} distinct reasons: ${[...reasons].join(',')}`);
});
