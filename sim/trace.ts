/**
 * The JSON Lines shape of the Hop-by-Hop header a decapsulating node hands back, built from the
 * core's flat trace records (src/traceflat.ts: one native call per decap step, numbers in a
 * Uint32Array): the record text is concatenated directly from those numbers in key order, and
 * objects ({@link TraceOption}) are built only for who asks for them (a user's `onTrace` hook).
 * Field order = Trace-Type bit order (RFC 9197 §4.4.2); hops in path order (the encapsulating node
 * first; RFC 9197 stores newest first). Never throws on bad bytes: an undecodable header gives no
 * options, a bad option carries `error` (`what: code at offset N`, N from the IPv6 header in front
 * of the Hop-by-Hop header, as the whole-packet decoder reports it).
 * @module
 */
import type { CltLayout } from '../src/decode';
import type { Network, TraceRecord } from './network';
import {
  decodeTraceFlat, TRACE_ERRORS, TRACE_FLAG_ACTIVE, TRACE_FLAG_LOOPBACK, TRACE_FLAG_OVERFLOW, TRACE_HOP_WORD as HW,
  TRACE_HOP_WORDS, TRACE_OPT_WORD as OW, TRACE_OPT_WORDS, TRACE_REC_WORD as RW, TRACE_REC_WORDS,
} from '../src/traceflat';

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

/**
 * A flat record in place: `w[at..]` (layout: src/traceflat.ts) of the header `bytes[base .. base + len]`
 * (OSS data offsets are relative to `base`).
 */
export interface FlatRecord {
  w: Uint32Array;
  at: number;
  bytes: Uint8Array;
  base: number;
  len: number;
}

// Module-local copies of the layout (a hot loop then reads a constant, not an export binding).
const REC = TRACE_REC_WORDS, OPT = TRACE_OPT_WORDS, HOP = TRACE_HOP_WORDS, R_OPTIONS = RW.options;
const O_TYPE = OW.optionType, O_NS = OW.ns, O_NODE_LEN = OW.nodeLen, O_FLAGS = OW.flags, O_REM = OW.remainingLen;
const O_TT = OW.traceType, O_HOPS = OW.hops, O_ERR = OW.error, O_ERR_OFF = OW.errorOffset;
const F_OVERFLOW = TRACE_FLAG_OVERFLOW, F_LOOPBACK = TRACE_FLAG_LOOPBACK, F_ACTIVE = TRACE_FLAG_ACTIVE;
const H_HL = HW.hopLimit, H_ID = HW.nodeId, H_IN = HW.ingressIf, H_OUT = HW.egressIf, H_TS = HW.tsSec, H_TF = HW.tsFrac;
const H_TD = HW.transitDelay, H_NSD = HW.nsData, H_QD = HW.queueDepth, H_CC = HW.checksumComplement, H_HLW = HW.hopLimitWide;
const H_IDW_HI = HW.nodeIdWideHi, H_IDW_LO = HW.nodeIdWideLo, H_INW = HW.ingressIfWide, H_OUTW = HW.egressIfWide;
const H_NSW_HI = HW.nsDataWideHi, H_NSW_LO = HW.nsDataWideLo, H_BO = HW.bufferOccupancy, H_UC = HW.undefCount, H_U0 = HW.undef0;
const H_OSS_SCHEMA = HW.ossSchema, H_OSS_OFF = HW.ossDataOff, H_OSS_LEN = HW.ossDataLen;
/** The whole-packet decoder reported offsets from an IPv6 header in front of the Hop-by-Hop header. */
const IPV6_HEADER_LEN = 40;

/** Trace-Type bit masks (bit 0 = 0x800000). */
const B0 = 0x800000, B1 = 0x400000, B2 = 0x200000, B3 = 0x100000, B4 = 0x080000, B5 = 0x040000, B6 = 0x020000, B7 = 0x010000;
const B8 = 0x008000, B9 = 0x004000, B10 = 0x002000, B11 = 0x001000, B22 = 0x000002;

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hexBytes = (b: Uint8Array, at: number, n: number): string => {
  let s = '';
  for (let i = at; i < at + n; i++) s += HEX2[b[i]!]!;
  return s;
};
const hex8 = (v: number): string => v.toString(16).padStart(8, '0');

/** Word index of the first option of the record at `at`. */
export const firstOption = (at: number): number => at + REC;
/** Number of trace options of the record at `at`. */
export const optionCount = (w: Uint32Array, at: number): number => w[at + R_OPTIONS]!;
/** Word index of the option after the one at `o`. */
export const nextOption = (w: Uint32Array, o: number): number => o + OPT + w[o + O_HOPS]! * HOP;
/** Word index of hop `i` in path order (0 = the encapsulating node) of the option at `o`. */
export const hopAt = (w: Uint32Array, o: number, i: number): number => o + OPT + (w[o + O_HOPS]! - 1 - i) * HOP;

/** Whether a trace option of the record has the Overflow flag set. */
export function recordOverflow(w: Uint32Array, at: number): boolean {
  let o = at + REC;
  for (let k = w[at + R_OPTIONS]!; k > 0; k--) {
    if (w[o + O_FLAGS]! & F_OVERFLOW) return true;
    o = nextOption(w, o);
  }
  return false;
}

/** The `error` text of the option at `o`, or undefined. */
function errorText(w: Uint32Array, o: number): string | undefined {
  const e = w[o + O_ERR]!;
  if (e === 0) return undefined;
  const d = TRACE_ERRORS[e - 1];
  const off = w[o + O_ERR_OFF]! + IPV6_HEADER_LEN;
  return d ? `${d.what}: ${d.code} at offset ${off}` : `unknown trace error ${e} at offset ${off}`;
}

/** One hop's JSON text (keys in Trace-Type bit order; bit 8's Hop_Lim is `hop_limit`). */
function hopJson(w: Uint32Array, p: number, type: number, r: FlatRecord): string {
  let s = '';
  if (type & B0) s += ',"hop_limit":' + (type & B8 ? w[p + H_HLW] : w[p + H_HL]) + ',"node_id":' + w[p + H_ID];
  if (type & B1) s += ',"ingress_if":' + w[p + H_IN] + ',"egress_if":' + w[p + H_OUT];
  if (type & B2) s += ',"ts_sec":' + w[p + H_TS];
  if (type & B3) s += ',"ts_frac":' + w[p + H_TF];
  if (type & B4) s += ',"transit_delay":' + w[p + H_TD];
  if (type & B5) s += ',"ns_data":' + w[p + H_NSD];
  if (type & B6) s += ',"queue_depth":' + w[p + H_QD];
  if (type & B7) s += ',"checksum_complement":' + w[p + H_CC];
  if (type & B8) {
    if (!(type & B0)) s += ',"hop_limit":' + w[p + H_HLW];
    s += ',"node_id_wide":"0x' + w[p + H_IDW_HI]!.toString(16).padStart(6, '0') + hex8(w[p + H_IDW_LO]!) + '"';
  }
  if (type & B9) s += ',"ingress_if_wide":' + w[p + H_INW] + ',"egress_if_wide":' + w[p + H_OUTW];
  if (type & B10) s += ',"ns_data_wide":"0x' + hex8(w[p + H_NSW_HI]!) + hex8(w[p + H_NSW_LO]!) + '"';
  if (type & B11) s += ',"buffer_occupancy":' + w[p + H_BO];
  const uc = w[p + H_UC]!;
  if (uc > 0) {
    s += ',"undefined_fields":[' + w[p + H_U0];
    for (let i = 1; i < uc; i++) s += ',' + w[p + H_U0 + i];
    s += ']';
  }
  if (type & B22) s += ',"oss":{"schema_id":' + w[p + H_OSS_SCHEMA] + ',"data_hex":"' + hexBytes(r.bytes, r.base + w[p + H_OSS_OFF]!, w[p + H_OSS_LEN]!) + '"}';
  return s === '' ? '{}' : '{' + s.slice(1) + '}';
}

let lastType = -1;
let lastTypeText = '';
/** `0x` + a Trace-Type as 6 hex digits (the last one remembered: a run has one or a few). */
function traceTypeText(type: number): string {
  if (type !== lastType) {
    lastType = type;
    lastTypeText = '0x' + type.toString(16).padStart(6, '0');
  }
  return lastTypeText;
}

/** The JSON text of a record's `options` array (what `JSON.stringify` gives of {@link recordOptions}). */
export function optionsJson(r: FlatRecord): string {
  const w = r.w;
  let s = '[';
  let o = r.at + REC;
  for (let k = 0, n = w[r.at + R_OPTIONS]!; k < n; k++) {
    const type = w[o + O_TT]!;
    const f = w[o + O_FLAGS]!;
    if (k > 0) s += ',';
    s += '{"option_type":' + w[o + O_TYPE] + ',"ns":' + w[o + O_NS] + ',"node_len":' + w[o + O_NODE_LEN] +
      ',"flags":{"overflow":' + ((f & F_OVERFLOW) !== 0) + ',"loopback":' + ((f & F_LOOPBACK) !== 0) + ',"active":' + ((f & F_ACTIVE) !== 0) +
      '},"remaining_len":' + w[o + O_REM] + ',"trace_type":"' + traceTypeText(type) + '","hops":[';
    for (let i = w[o + O_HOPS]! - 1; i >= 0; i--) {
      s += hopJson(w, o + OPT + i * HOP, type, r);
      if (i > 0) s += ',';
    }
    s += ']';
    const e = errorText(w, o);
    if (e !== undefined) s += ',"error":' + JSON.stringify(e);
    s += '}';
    o = nextOption(w, o);
  }
  return s + ']';
}

/** One hop as an object (same keys and order as its JSON text). */
function hopObject(w: Uint32Array, p: number, type: number, r: FlatRecord): HopData {
  const h: HopData = {};
  if (type & B0) { h.hop_limit = w[p + H_HL]!; h.node_id = w[p + H_ID]!; }
  if (type & B1) { h.ingress_if = w[p + H_IN]!; h.egress_if = w[p + H_OUT]!; }
  if (type & B2) h.ts_sec = w[p + H_TS]!;
  if (type & B3) h.ts_frac = w[p + H_TF]!;
  if (type & B4) h.transit_delay = w[p + H_TD]!;
  if (type & B5) h.ns_data = w[p + H_NSD]!;
  if (type & B6) h.queue_depth = w[p + H_QD]!;
  if (type & B7) h.checksum_complement = w[p + H_CC]!;
  if (type & B8) { h.hop_limit = w[p + H_HLW]!; h.node_id_wide = '0x' + w[p + H_IDW_HI]!.toString(16).padStart(6, '0') + hex8(w[p + H_IDW_LO]!); }
  if (type & B9) { h.ingress_if_wide = w[p + H_INW]!; h.egress_if_wide = w[p + H_OUTW]!; }
  if (type & B10) h.ns_data_wide = '0x' + hex8(w[p + H_NSW_HI]!) + hex8(w[p + H_NSW_LO]!);
  if (type & B11) h.buffer_occupancy = w[p + H_BO]!;
  const uc = w[p + H_UC]!;
  if (uc > 0) h.undefined_fields = Array.from(w.subarray(p + H_U0, p + H_U0 + uc));
  if (type & B22) h.oss = { schema_id: w[p + H_OSS_SCHEMA]!, data_hex: hexBytes(r.bytes, r.base + w[p + H_OSS_OFF]!, w[p + H_OSS_LEN]!) };
  return h;
}

/** The trace option at word `o` as an object. */
export function optionObject(r: FlatRecord, o: number): TraceOption {
  const w = r.w;
  const type = w[o + O_TT]!;
  const f = w[o + O_FLAGS]!;
  const hops: HopData[] = [];
  for (let i = w[o + O_HOPS]! - 1; i >= 0; i--) hops.push(hopObject(w, o + OPT + i * HOP, type, r));
  const opt: TraceOption = {
    option_type: w[o + O_TYPE]!,
    ns: w[o + O_NS]!,
    node_len: w[o + O_NODE_LEN]!,
    flags: { overflow: (f & F_OVERFLOW) !== 0, loopback: (f & F_LOOPBACK) !== 0, active: (f & F_ACTIVE) !== 0 },
    remaining_len: w[o + O_REM]!,
    trace_type: '0x' + type.toString(16).padStart(6, '0'),
    hops,
  };
  const e = errorText(w, o);
  if (e !== undefined) opt.error = e;
  return opt;
}

/** Every trace option of a flat record as objects. */
export function recordOptions(r: FlatRecord): TraceOption[] {
  const out: TraceOption[] = [];
  let o = r.at + REC;
  for (let k = r.w[r.at + R_OPTIONS]!; k > 0; k--) {
    out.push(optionObject(r, o));
    o = nextOption(r.w, o);
  }
  return out;
}

/** The flat record of one header (one native call; for single headers, not a simulation's steps). */
function single(hbh: Uint8Array, layout: CltLayout): FlatRecord {
  return { w: decodeTraceFlat(hbh, layout), at: 0, bytes: hbh, base: 0, len: hbh.length };
}

/** Whether a trace option of the header has the Overflow flag set, without building the record. */
export function hopByHopOverflow(hbh: Uint8Array, layout: CltLayout = 'standard'): boolean {
  const r = single(hbh, layout);
  return recordOverflow(r.w, 0);
}

/**
 * Decodes the IOAM trace options of a Hop-by-Hop header with the core (see module doc); layout
 * `legacy` for a domain whose encapsulating nodes write the CLT patch's 24-octet ID block
 * (`clt_legacy`).
 */
export function decodeHopByHop(hbh: Uint8Array, layout: CltLayout = 'standard'): TraceOption[] {
  return recordOptions(single(hbh, layout));
}

/** A trace record's fields other than its options, as written in traces-<node>.jsonl. */
export interface TraceRowHead {
  t_ns: number;
  node: string;
  flow: string;
  kind: string;
  seq: number;
  packet: number;
  hbh_len: number;
}

/**
 * A decapsulated packet's trace as the simulator hands it to its consumers (trace files, path
 * table, routing check): the record's fields and its flat record in place. One object, reused:
 * valid only during the call it is passed to.
 */
export interface SimTrace extends TraceRowHead, FlatRecord {}

/** A reusable {@link SimTrace}. */
export function newSimTrace(): SimTrace {
  return { t_ns: 0, node: '', flow: '', kind: '', seq: 0, packet: 0, hbh_len: 0, w: new Uint32Array(0), at: 0, bytes: new Uint8Array(0), base: 0, len: 0 };
}

const quoted = new Map<string, string>();
const q = (s: string): string => {
  let t = quoted.get(s);
  if (t === undefined) {
    t = JSON.stringify(s);
    if (quoted.size < 10_000) quoted.set(s, t);
  }
  return t;
};

/** The JSON Lines text of a record (`JSON.stringify` of it: keys in record order), `options` being the array's JSON text. */
export function traceLine(r: TraceRowHead, options: string): string {
  return '{"t_ns":' + r.t_ns + ',"node":' + q(r.node) + ',"flow":' + q(r.flow) + ',"kind":' + q(r.kind) + ',"seq":' + r.seq +
    ',"packet":' + r.packet + ',"hbh_len":' + r.hbh_len + ',"options":' + options + '}';
}

/**
 * Hands a decapsulated packet's trace (packet handle `h`) to whoever reads traces: the Overflow
 * count, the trace files (`net.traceSink`), the flat hook, and a user's `onTrace` hook (the only
 * one that gets objects, built here for it).
 */
export function handTrace(net: Network, t: SimTrace, h: number): void {
  if (recordOverflow(t.w, t.at)) net.tracesWithOverflow++;
  net.traceSink?.(t);
  net.traceCheck?.(t, h);
  const hooks = net.opts.hooks;
  if (!hooks.onTraceFlat && !hooks.onTrace) return;
  const p = net.view(h);
  hooks.onTraceFlat?.(t, p);
  if (hooks.onTrace) {
    const rec: TraceRecord = { t_ns: t.t_ns, node: t.node, flow: t.flow, kind: t.kind as TraceRecord['kind'], seq: t.seq, packet: t.packet, hbh_len: t.hbh_len, options: recordOptions(t) };
    hooks.onTrace(rec, t.bytes.slice(t.base, t.base + t.len), p);
  }
}
