/**
 * The ways each suite runs the same work: the Rust batch path (one napi call per batch), one
 * in-place napi call per packet (`Node.*InPlace`), the fast plain-TypeScript baseline (`bench/baseline/fast.ts`) and the
 * structured one (`bench/baseline/{transit,encap,decap}.ts`) on the same batch tables.
 * (The C reference loop runs in a child process: `bench/cref.ts`.)
 * @module
 */
import { decode, decodeJson } from '../src/index';
import { decapBatch, type DecapTables } from './baseline/decap';
import { decodeTs } from './baseline/decode';
import { FastNode, fastDecap, fastEncap, fastTransit } from './baseline/fast';
import { encapBatch } from './baseline/encap';
import { TsNode } from './baseline/node';
import { transitBatch } from './baseline/transit';
import { nodeConfigFor, type Workload } from './corpus';

export type Way = 'batch' | 'perPacket' | 'fast' | 'ts' | 'reset';

/** What the perPacket way calls. */
export const PER_PACKET_CALL = 'Node.transitInPlace / encapInPlace / decapInPlace (one napi call per packet, in place on the batch buffer, the packet\'s meta words passed; reset subtracted)';

/** The batch tables as the TS baseline sees them. */
export function tsTables(w: Workload): DecapTables {
  const b = w.batch;
  return {
    buf: b.buf,
    dv: new DataView(b.buf.buffer, b.buf.byteOffset, b.buf.byteLength),
    desc: b.desc,
    meta: b.meta,
    out: b.out,
    arena: b.traceArena,
    traceDesc: b.traceDesc,
  };
}

/** One round of `way` over the workload's n packets (batch and ts include the reset). */
export function roundFn(w: Workload, way: Way): () => void {
  const { node, batch, packet, meta, n } = w;
  if (way === 'reset') return () => w.reset();
  if (way === 'batch') {
    switch (w.op) {
      case 'encap':
        return () => {
          w.reset();
          node.encap(batch);
        };
      case 'decap':
        return () => {
          w.reset();
          node.decap(batch);
        };
      default:
        return () => {
          w.reset();
          node.transit(batch);
        };
    }
  }
  if (way === 'perPacket') {
    // One in-place napi call per packet on the same buffer (reset included, as in the batch way).
    const buf = batch.buf;
    const desc = batch.desc;
    const metas = Array.from({ length: n }, (_, i) => batch.meta.subarray(i * 8, i * 8 + 8));
    const trace = new Uint8Array(2048);
    switch (w.op) {
      case 'encap':
        return () => {
          w.reset();
          for (let i = 0; i < n; i++) node.encapInPlace(buf, desc[i * 4 + 2]!, desc[i * 4 + 3]!, metas[i]);
        };
      case 'decap':
        return () => {
          w.reset();
          for (let i = 0; i < n; i++) node.decapInPlace(buf, desc[i * 4 + 2]!, desc[i * 4 + 3]!, metas[i], undefined, trace);
        };
      default:
        return () => {
          w.reset();
          for (let i = 0; i < n; i++) node.transitInPlace(buf, desc[i * 4 + 2]!, desc[i * 4 + 3]!, metas[i]);
        };
    }
  }
  if (way === 'fast') {
    const c = new FastNode(nodeConfigFor(w.op, w.traceType, w.size));
    const t = tsTables(w);
    switch (w.op) {
      case 'encap':
        return () => {
          w.reset();
          fastEncap(c, t, n);
        };
      case 'decap':
        return () => {
          w.reset();
          fastDecap(c, t, n);
        };
      default:
        return () => {
          w.reset();
          fastTransit(c, t, n);
        };
    }
  }
  const ts = new TsNode(nodeConfigFor(w.op, w.traceType, w.size));
  const t = tsTables(w);
  switch (w.op) {
    case 'encap':
      return () => {
        w.reset();
        encapBatch(ts, t, n);
      };
    case 'decap':
      return () => {
        w.reset();
        decapBatch(t, n, ts);
      };
    default:
      return () => {
        w.reset();
        transitBatch(ts, t, n);
      };
  }
}

export type DecodeWay = 'native' | 'nativeJson' | 'ts';

/** Decodes `packet` n times. */
export function decodeFn(packet: Uint8Array, n: number, way: DecodeWay): () => unknown {
  let sink: unknown;
  if (way === 'native') return () => { for (let i = 0; i < n; i++) sink = decode(packet); return sink; };
  if (way === 'nativeJson') return () => { for (let i = 0; i < n; i++) sink = decodeJson(packet); return sink; };
  return () => { for (let i = 0; i < n; i++) sink = decodeTs(packet); return sink; };
}
