/**
 * Decoding of the Hop-by-Hop header a decapsulating node hands back (`PacketBatch.trace(i)`) into
 * the JSON Lines records of a run: RFC 9486 §3 option carrier, RFC 9197 §4.4 trace header and
 * node data (field order = Trace-Type bit order, §4.4.2). Reads only; never throws on bad bytes
 * (a record then carries `error`).
 * @module
 */

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
  /** Node data in path order: the encapsulating node first (RFC 9197 stores newest first). */
  hops: HopData[];
  error?: string;
}

const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const hex = (b: Uint8Array, o: number, n: number) => '0x' + Buffer.from(b.subarray(o, o + n)).toString('hex');

/** Words of node data per element for a Trace-Type (RFC 9197 §4.4.1 NodeLen, OSS excluded). */
export function nodeLenOf(type: number): number {
  let w = 0;
  for (let bit = 0; bit <= 21; bit++) {
    if (!(type & (0x800000 >>> bit))) continue;
    w += bit >= 8 && bit <= 10 ? 2 : 1;
  }
  return w;
}

/** Decodes one element at `o`; returns [data, bytes used] or undefined when it does not fit. */
function decodeHop(b: Uint8Array, o: number, end: number, type: number): [HopData, number] | undefined {
  const h: HopData = {};
  const start = o;
  const need = (n: number) => o + n <= end;
  for (let bit = 0; bit <= 22; bit++) {
    if (!(type & (0x800000 >>> bit))) continue;
    if (bit === 22) {
      if (!need(4)) return undefined;
      const len = b[o]! * 4;
      const schema = (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
      if (!need(4 + len)) return undefined;
      h.oss = { schema_id: schema, data_hex: Buffer.from(b.subarray(o + 4, o + 4 + len)).toString('hex') };
      o += 4 + len;
      continue;
    }
    const wide = bit >= 8 && bit <= 10;
    if (!need(wide ? 8 : 4)) return undefined;
    switch (bit) {
      case 0: h.hop_limit = b[o]!; h.node_id = u32(b, o) & 0xffffff; break;
      case 1: h.ingress_if = (b[o]! << 8) | b[o + 1]!; h.egress_if = (b[o + 2]! << 8) | b[o + 3]!; break;
      case 2: h.ts_sec = u32(b, o); break;
      case 3: h.ts_frac = u32(b, o); break;
      case 4: h.transit_delay = u32(b, o); break;
      case 5: h.ns_data = u32(b, o); break;
      case 6: h.queue_depth = u32(b, o); break;
      case 7: h.checksum_complement = u32(b, o); break;
      case 8: h.hop_limit = b[o]!; h.node_id_wide = hex(b, o + 1, 7); break;
      case 9: h.ingress_if_wide = u32(b, o); h.egress_if_wide = u32(b, o + 4); break;
      case 10: h.ns_data_wide = hex(b, o, 8); break;
      case 11: h.buffer_occupancy = u32(b, o); break;
      default: (h.undefined_fields ??= []).push(u32(b, o));
    }
    o += wide ? 8 : 4;
  }
  return [h, o - start];
}

/** Decodes the IOAM trace options (Option-Type 0 and 1) of a Hop-by-Hop header. */
export function decodeHopByHop(hbh: Uint8Array): TraceOption[] {
  const out: TraceOption[] = [];
  if (hbh.length < 2) return out;
  const end = Math.min(hbh.length, (hbh[1]! + 1) * 8);
  let o = 2;
  while (o < end) {
    const t = hbh[o]!;
    if (t === 0) { o++; continue; } // Pad1
    if (o + 2 > end) break;
    const len = hbh[o + 1]!;
    const dataStart = o + 2;
    const optEnd = dataStart + len;
    if (optEnd > end) break;
    if (t === 0x31 && len >= 2) {
      const ioamType = hbh[dataStart + 1]!;
      const p = dataStart + 2;
      if ((ioamType === 0 || ioamType === 1) && p + 8 <= optEnd) {
        const type = (hbh[p + 4]! << 16) | (hbh[p + 5]! << 8) | hbh[p + 6]!;
        const nodeLen = hbh[p + 2]! >> 3;
        const flags = hbh[p + 2]! & 0x07;
        const rem = hbh[p + 3]! & 0x7f;
        const opt: TraceOption = {
          option_type: ioamType,
          ns: (hbh[p]! << 8) | hbh[p + 1]!,
          node_len: nodeLen,
          flags: { overflow: (flags & 4) !== 0, loopback: (flags & 2) !== 0, active: (flags & 1) !== 0 },
          remaining_len: rem,
          trace_type: '0x' + type.toString(16).padStart(6, '0'),
          hops: [],
        };
        let q = p + 8 + (ioamType === 0 ? rem * 4 : 0);
        if (q > optEnd) opt.error = 'RemainingLen beyond the option';
        while (q < optEnd && !opt.error) {
          const r = decodeHop(hbh, q, optEnd, type);
          if (!r || r[1] === 0) { opt.error = `node data truncated at byte ${q}`; break; }
          opt.hops.push(r[0]);
          q += r[1];
        }
        opt.hops.reverse();
        out.push(opt);
      }
    }
    o = optEnd;
  }
  return out;
}
