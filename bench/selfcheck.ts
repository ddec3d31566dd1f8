/**
 * Honesty check before any timing: on the bench corpus (every operation × trace type × sizes
 * 16/64/244, three rounds each) both plain-TS baselines (fast and structured) must leave exactly
 * the bytes, descriptors, outcomes (and for decap the handed-back traces) the Rust batch path
 * leaves; the C reference loop and the one-call-per-packet path must give the same packets; the
 * TS decoder must give the native decoder's object.
 * @module
 */
import { deepStrictEqual } from 'node:assert/strict';
import { decode, Node } from '../src/index';
import { decodeTs } from './baseline/decode';
import { OPS, TRACE_TYPES, workload, inputPacket, metaFor, transitNodeConfig, type TypeName } from './corpus';
import { CREF_OPS, crefCheck } from './cref';
import { roundFn } from './ways';

function eqBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${what}: first difference at byte ${i} (${a[i]} vs ${b[i]})`);
}

/** Throws on the first mismatch; returns the number of cases checked. */
export function selfCheck(sizes: number[] = [16, 64, 244]): number {
  let cases = 0;
  const n = 4;
  for (const op of OPS) {
    for (const tn of Object.keys(TRACE_TYPES) as TypeName[]) {
      for (const size of sizes) {
        const what = `${op} type ${tn} size ${size}`;
        const a = workload(op, tn, size, n);
        const runA = roundFn(a, 'batch');
        const others = (['ts', 'fast'] as const).map((way) => {
          const w = workload(op, tn, size, n);
          return { way, w, run: roundFn(w, way) };
        });
        for (let round = 0; round < 3; round++) {
          runA();
          for (const { way, w: b, run } of others) {
            run();
            const wh = `${what} (${way === 'ts' ? 'plain TS, structured' : 'plain TS, fast'})`;
            eqBytes(a.batch.buf, b.batch.buf, `${wh}: buffer`);
            eqBytes(new Uint8Array(a.batch.desc.buffer, a.batch.desc.byteOffset, n * 16), new Uint8Array(b.batch.desc.buffer, b.batch.desc.byteOffset, n * 16), `${wh}: desc`);
            deepStrictEqual([...b.batch.out.subarray(0, n * 4)], [...a.batch.out.subarray(0, n * 4)], `${wh}: outcomes`);
            if (op === 'decap') {
              deepStrictEqual([...b.batch.traceDesc.subarray(0, n * 2)], [...a.batch.traceDesc.subarray(0, n * 2)], `${wh}: trace desc`);
              eqBytes(a.batch.traceArena, b.batch.traceArena, `${wh}: trace arena`);
            }
          }
        }
        // one in-place call per packet: same bytes as the batch path, same outcome words
        {
          const c = workload(op, tn, size, n);
          const run = roundFn(c, 'perPacket');
          for (let round = 0; round < 3; round++) {
            runA();
            run();
            eqBytes(c.batch.buf, a.batch.buf, `${what} (in-place per packet): buffer`);
            const i = n - 1;
            const want = [a.batch.out[i * 4 + 1], a.batch.out[i * 4 + 2], a.batch.out[i * 4 + 3], a.batch.desc[i * 4 + 2], a.batch.desc[i * 4 + 3]];
            deepStrictEqual([...c.node.out.subarray(0, 5)], want, `${what} (in-place per packet): outcome of the last packet`);
          }
        }
        // the C reference loop: the same packet
        if (CREF_OPS[op]) eqBytes(crefCheck(op, tn, size), a.batch.packet(0), `${what}: C loop (bench/c/ref.c) vs batch`);
        // decode: the input, and the packet after the operation
        for (const p of [a.packet, a.batch.packet(0)]) deepStrictEqual(decodeTs(p), decode(p), `${what}: decode`);
        cases++;
      }
    }
  }
  return cases;
}

/** The decode corpus: h1's packet after r1's transit (two node elements). */
export function decodePacket(tn: TypeName, size: number): Uint8Array {
  const p = inputPacket('transit-prealloc', TRACE_TYPES[tn], size);
  return Node.fromConfig(transitNodeConfig(false)).transitPacketCopy(p, metaFor('transit-prealloc')).packet.slice();
}
