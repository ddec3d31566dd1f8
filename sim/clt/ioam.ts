/**
 * IOAM trace reading for Cross-Layer Telemetry: CLT constants, and the decoding of a trace (node
 * data + the CLT trace/span IDs) at a decapsulating node or from a capture, **through the Rust
 * core's wire decoder** (`decode` of src/decode.ts, layout `standard` or `legacy`). Nothing here
 * writes IOAM bytes: the encapsulating, transit and decapsulating nodes are the core's (the
 * simulator's batch API, sim/dataplane.ts).
 *
 * Two ways of carrying the IDs (docs/CLT.md §2):
 * - `legacy`: the CLT kernel patch (Advanced-Observability/cross-layer-telemetry, patches/CLT.patch)
 *   grows `struct ioam6_trace_hdr` by 24 bytes — `pkt_id.high`, `pkt_id.low` (the 128-bit trace
 *   ID, big-endian) and `pkt_sid` (64-bit span ID) — between the 8-byte trace header and the
 *   data space (core: encap `clt_legacy`, decode layout `legacy`).
 * - `oss`: RFC 9197 §4.4.2.13 Opaque State Snapshot written by the encapsulating node in its own
 *   node data with schema {@link CLT_SCHEMA_ID}: Length 6, data = trace ID (16) + span ID (8)
 *   (core: encap `clt_oss_schema`). Transit nodes are unmodified RFC 9197 / Linux nodes.
 * @module
 */
import { decode, type NodeData, type Trace } from '../../src/decode';

/** Trace and span ID of the span that sent a packet. */
export interface CltIds {
  /** 16 bytes. */
  traceId: Uint8Array;
  /** 8 bytes. */
  spanId: Uint8Array;
}

/** How the IDs travel. */
export type CltEncoding = 'legacy' | 'oss';

/** How a node reads the trace header: CLT-patched (legacy 24-byte block) or RFC 9197 / Linux. */
export type TraceLayout = 'rfc' | 'clt-legacy';

/**
 * Opaque State Snapshot schema ID of the CLT encoding (24 bits). RFC 9197 leaves schema IDs to the
 * operator of the IOAM-Namespace; ioamsim uses 0x00C17D ("CLT") in every namespace it configures.
 */
export const CLT_SCHEMA_ID = 0x00c17d;
/** Words of snapshot data of the CLT schema: trace ID (4 words) + span ID (2 words). */
export const CLT_SCHEMA_WORDS = 6;
/** Bytes of the legacy block (pkt_id.high, pkt_id.low, pkt_sid). */
export const LEGACY_BLOCK_OCTETS = 24;
/** IPv6 option type of IOAM (RFC 9486 §3, Linux IPV6_TLV_IOAM). */
export const IPV6_TLV_IOAM = 0x31;
/** Trace-Type bits (bit 0 = 0x800000). */
export const TT_BIT0 = 0x800000;
export const TT_BIT1 = 0x400000;
export const TT_BIT2 = 0x200000;
export const TT_BIT3 = 0x100000;
export const TT_BIT6 = 0x020000;
export const TT_BIT22 = 0x000002;
/** The trace type the demo uses: hop limit + node id, interfaces, timestamps (s, µs), queue depth. */
export const CLT_TRACE_TYPE = TT_BIT0 | TT_BIT1 | TT_BIT2 | TT_BIT3 | TT_BIT6; // 0xF20000

/** NodeLen in 4-octet units for a trace type (src/tracetype.ts). */
import { nodeLenForType as nodeLenOf } from '../../src/tracetype';
export { nodeLenOf };

/** One decoded node element. Values that were written as all-ones are `null`. */
export interface HopRecord {
  hopLimit: number | null;
  nodeId: number | null;
  ingressIf: number | null;
  egressIf: number | null;
  /** Timestamp in ns since the epoch (s + µs), or null. */
  timeNs: bigint | null;
  queueDepth: number | null;
  oss: { schemaId: number; data: Uint8Array } | null;
  /** Every field of the element exactly as written (all-ones values included), from the core's decoder. */
  raw: NodeData;
}

/** A decoded trace. `hops` are in path order (the encapsulating node first). */
export interface DecodedTrace {
  layout: TraceLayout;
  ns: number;
  nodeLen: number;
  overflow: boolean;
  remainingLen: number;
  traceType: number;
  /** The IDs found (legacy block, or the CLT snapshot of the oldest element), or null. */
  ids: CltIds | null;
  hops: HopRecord[];
  /** Problems met while decoding (a wrong layout shows up here). */
  problems: string[];
}

const nz = (v: number | undefined): number | null => (v === undefined || v === 0xffffffff ? null : v);

/** One node element of the core's decoding as a {@link HopRecord}. */
function hopOf(n: NodeData): HopRecord {
  const sec = nz(n.timestampSecs);
  const usec = nz(n.timestampFrac);
  return {
    hopLimit: n.hopLimit ?? null,
    nodeId: n.nodeId === undefined || n.nodeId === 0xffffff ? null : n.nodeId,
    ingressIf: n.ingressIfId === undefined || n.ingressIfId === 0xffff ? null : n.ingressIfId,
    egressIf: n.egressIfId === undefined || n.egressIfId === 0xffff ? null : n.egressIfId,
    // Linux writes POSIX seconds + microseconds (RFC 9197 §4.4.2.3/4, ioam6.c).
    timeNs: sec !== null && usec !== null ? BigInt(sec) * 1_000_000_000n + BigInt(usec) * 1000n : null,
    queueDepth: nz(n.queueDepth),
    oss: n.oss && !(n.oss.schemaId === 0xffffff && n.oss.length === 0) ? { schemaId: n.oss.schemaId, data: unhex(n.oss.data) } : null,
    raw: n,
  };
}

/**
 * Decodes the first Pre-allocated IOAM trace of an IPv6 packet with the given header layout, with
 * the core's decoder (nothing is inferred from the bytes). Never throws on bad bytes: what cannot
 * be read is reported in `problems`; null when the packet carries no IOAM trace.
 * IDs: `clt-legacy` → the 24-byte block; `rfc` → the CLT snapshot (schema 0x00C17D, Length 6) of
 * the first hop in path order that has one (the encapsulating node's element is the oldest).
 */
export function decodeTrace(pkt: Uint8Array, layout: TraceLayout): DecodedTrace | null {
  let t: Trace | undefined;
  let err: string | undefined;
  try {
    const d = decode(pkt, { clt: layout === 'clt-legacy' ? 'legacy' : 'standard' });
    for (const h of d.extHeaders) {
      for (const o of h.options ?? []) {
        if (o.option.kind === 'ioam' && o.option.data.type === 'preallocated-trace' && !t) {
          t = o.option.data;
          if (o.error) err = `${o.error.code} at offset ${o.error.offset}: ${o.error.what}`;
        }
      }
    }
  } catch (e) {
    return { layout, ns: 0, nodeLen: 0, overflow: false, remainingLen: 0, traceType: 0, ids: null, hops: [], problems: [`not decodable: ${(e as Error).message}`] };
  }
  if (!t) return null;
  const problems: string[] = [];
  if (err) problems.push(err);
  if (t.trailing) problems.push(`${t.trailing.length / 2} bytes of node data are not a whole element`);
  if (t.nodeLen !== nodeLenOf(t.traceType)) problems.push(`NodeLen ${t.nodeLen} does not match trace type 0x${t.traceType.toString(16)}`);
  const hops = t.nodes.map(hopOf).reverse();
  let ids: CltIds | null = null;
  if (layout === 'clt-legacy') {
    if (t.clt) ids = { traceId: unhex(t.clt.traceId), spanId: unhex(t.clt.spanId) };
  } else {
    const h = hops.find((x) => x.oss && x.oss.schemaId === CLT_SCHEMA_ID && x.oss.data.length === CLT_SCHEMA_WORDS * 4);
    if (h) ids = { traceId: h.oss!.data.slice(0, 16), spanId: h.oss!.data.slice(16, 24) };
  }
  return { layout, ns: t.namespaceId, nodeLen: t.nodeLen, overflow: t.flags.overflow, remainingLen: t.remainingLen, traceType: t.traceType, ids, hops, problems };
}

/** Lower-case hex of bytes. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Bytes of hex text (even length). */
export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/**
 * Bytes a packet grows by to carry the IDs, given the number of IOAM nodes that write an element
 * (the encapsulating node included): legacy = the 24-byte block; oss = the encapsulator's snapshot
 * (4 + 24) plus a 4-byte snapshot header from every other node. Alignment padding aside.
 */
export function idCostOctets(encoding: CltEncoding, writingNodes: number): number {
  return encoding === 'legacy' ? LEGACY_BLOCK_OCTETS : 4 + CLT_SCHEMA_WORDS * 4 + 4 * Math.max(0, writingNodes - 1);
}
