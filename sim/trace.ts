/**
 * The JSON Lines shape of the Hop-by-Hop header a decapsulating node hands back
 * (`PacketBatch.trace(i)`), as a thin adapter over the core's decoder (src/decode.ts): the header
 * is wrapped in a minimal IPv6 header, decoded by the core, and its IOAM trace options (RFC 9197
 * §4.4, Option-Types 0 and 1) are renamed to the record's keys. Field order = Trace-Type bit order
 * (§4.4.2); hops in path order (the encapsulating node first; RFC 9197 stores newest first).
 * Never throws on bad bytes: an undecodable header gives no options, a bad option carries `error`.
 * @module
 */
import { decodeJson, ioamOptions, type CltLayout, type DecodedPacket, type NodeData, type Trace } from '../src/decode';

/** One node's data, fields present per the Trace-Type. 64-bit values as hex strings. */
export interface HopData {
  hop_limit?: number;
  node_id?: number;
  ingress_if?: number;
  egress_if?: number;
  ts_sec?: number;
  ts_frac?: number;
  transit_delay?: number;
  ns_data?: number;
  queue_depth?: number;
  checksum_complement?: number;
  node_id_wide?: string;
  ingress_if_wide?: number;
  egress_if_wide?: number;
  ns_data_wide?: string;
  buffer_occupancy?: number;
  undefined_fields?: number[];
  oss?: { schema_id: number; data_hex: string };
}

/** One IOAM trace option. */
export interface TraceOption {
  option_type: number;
  ns: number;
  node_len: number;
  flags: { overflow: boolean; loopback: boolean; active: boolean };
  remaining_len: number;
  trace_type: string;
  /** Node data in path order: the encapsulating node first. */
  hops: HopData[];
  error?: string;
}

/** `0x` + `bytes` bytes of hex of a decimal u64 string, keeping the low `bytes` bytes. */
const hexOf = (dec: string, bytes: number) => '0x' + (BigInt(dec) & ((1n << BigInt(bytes * 8)) - 1n)).toString(16).padStart(bytes * 2, '0');

/** One element, keys in Trace-Type bit order (as the record format always had them). */
function hop(n: NodeData, type: number): HopData {
  const h: HopData = {};
  const bit = (b: number) => (type & (0x800000 >>> b)) !== 0;
  if (bit(0)) { h.hop_limit = n.hopLimit!; h.node_id = n.nodeId!; }
  if (bit(1)) { h.ingress_if = n.ingressIfId!; h.egress_if = n.egressIfId!; }
  if (bit(2)) h.ts_sec = n.timestampSecs!;
  if (bit(3)) h.ts_frac = n.timestampFrac!;
  if (bit(4)) h.transit_delay = n.transitDelay!;
  if (bit(5)) h.ns_data = n.namespaceData!;
  if (bit(6)) h.queue_depth = n.queueDepth!;
  if (bit(7)) h.checksum_complement = n.checksumComplement!;
  if (bit(8)) { h.hop_limit = n.hopLimitWide!; h.node_id_wide = hexOf(n.nodeIdWide!, 7); }
  if (bit(9)) { h.ingress_if_wide = n.ingressIfIdWide!; h.egress_if_wide = n.egressIfIdWide!; }
  if (bit(10)) h.ns_data_wide = hexOf(n.namespaceDataWide!, 8);
  if (bit(11)) h.buffer_occupancy = n.bufferOccupancy!;
  if (n.undefined && n.undefined.length) h.undefined_fields = n.undefined;
  if (bit(22) && n.oss) h.oss = { schema_id: n.oss.schemaId, data_hex: n.oss.data };
  return h;
}

/** Reused wrapper buffer (the core copies nothing out of it: its answer is JSON text). */
let scratch = new Uint8Array(2048);

/** The core's JSON text of a Hop-by-Hop header wrapped in a minimal IPv6 header, or undefined. */
function coreJson(hbh: Uint8Array, layout: CltLayout): string | undefined {
  if (hbh.length < 8 || hbh.length > 0xffff) return undefined;
  if (scratch.length < 40 + hbh.length) scratch = new Uint8Array(Math.max(2 * scratch.length, 40 + hbh.length));
  const p = scratch.subarray(0, 40 + hbh.length);
  p.fill(0, 0, 40);
  p[0] = 0x60;
  p[4] = hbh.length >> 8;
  p[5] = hbh.length & 0xff;
  p[6] = 0; // Hop-by-Hop
  p[7] = 64;
  p.set(hbh, 40);
  p[40] = 59; // No Next Header after it
  try {
    return decodeJson(p, { clt: layout });
  } catch {
    return undefined;
  }
}

/**
 * Whether a trace option of the header has the Overflow flag set, without building the record
 * (the core's JSON text has an `overflow` key only in IOAM trace flags, src/decode.ts `TraceFlags`).
 */
export function hopByHopOverflow(hbh: Uint8Array, layout: CltLayout = 'standard'): boolean {
  return coreJson(hbh, layout)?.includes('"overflow":true') ?? false;
}

/**
 * Decodes the IOAM trace options of a Hop-by-Hop header with the core (see module doc); layout
 * `legacy` for a domain whose encapsulating nodes write the CLT patch's 24-octet ID block
 * (`clt_legacy`).
 */
export function decodeHopByHop(hbh: Uint8Array, layout: CltLayout = 'standard'): TraceOption[] {
  const json = coreJson(hbh, layout);
  if (json === undefined) return [];
  const opts = ioamOptions(JSON.parse(json) as DecodedPacket);
  const out: TraceOption[] = [];
  for (const o of opts) {
    if (o.header !== 'hop-by-hop' || (o.data.type !== 'preallocated-trace' && o.data.type !== 'incremental-trace')) continue;
    const t = o.data as Trace & { type: string };
    const opt: TraceOption = {
      option_type: t.type === 'preallocated-trace' ? 0 : 1,
      ns: t.namespaceId,
      node_len: t.nodeLen,
      flags: { overflow: t.flags.overflow, loopback: t.flags.loopback, active: t.flags.active },
      remaining_len: t.remainingLen,
      trace_type: '0x' + t.traceType.toString(16).padStart(6, '0'),
      hops: t.nodes.map((n) => hop(n, t.traceType)).reverse(),
    };
    if (o.error) opt.error = `${o.error.what}: ${o.error.code} at offset ${o.error.offset}`;
    out.push(opt);
  }
  return out;
}
