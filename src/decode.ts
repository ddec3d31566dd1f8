/**
 * Whole-packet decode / encode through the core's wire layer. The types mirror the JSON schema
 * of `crates/ioam-core/src/wire/SCHEMA.md` (the serde form of the core's `PacketRepr`).
 *
 * Representation choices (the JSON's, kept as is so a decoded packet can be stored, diffed and
 * re-encoded without conversion):
 * - 64-bit values ({@link U64String}: `nodeIdWide`, `namespaceDataWide`, POT `random`/`cumulative`,
 *   E2E `seqNum64`) are **decimal strings**; use `BigInt(s)` (or {@link u64}) for arithmetic.
 * - Byte blobs ({@link HexString}: free space, OSS data, payloads, unknown option data) are
 *   lowercase hex strings.
 * - IPv6 addresses are RFC 5952 text.
 * - All offsets are from the first octet of the IPv6 header.
 *
 * Per-option and per-header problems are data (`error` fields, {@link ErrorInfo}); only a packet
 * whose IPv6 header or extension-header chain cannot be located throws an {@link IoamError}.
 * @module
 */
import { callNative, IoamError, requireBytes } from './errors';
import { native } from './native';

/** Decimal text of an unsigned 64-bit value. */
export type U64String = string;
/** Lowercase hex text of a byte string. */
export type HexString = string;

/** Which trace layout to assume (nothing is inferred from the bytes). */
export type CltLayout = 'standard' | 'legacy';

export interface DecodeOptions {
  /** `standard` (RFC 9197, default) or `legacy`: the CLT kernel patch's 24-octet trace/span ID block
   * between the trace header and the node data. */
  clt?: CltLayout;
}

export interface EncodeOptions {
  /** Pad HbH / DOH option lists as Linux does before encoding (IOAM options 4n-aligned, headers
   * 8n long). Default false: options are written exactly as listed. */
  linuxPadding?: boolean;
}

/** A per-option / per-header problem (the core's `Error` as data). */
export interface ErrorInfo {
  code: string;
  layer: string;
  offset: number;
  needed: number;
  got: number;
  what: string;
}

export interface Ipv6Header {
  trafficClass: number;
  /** 20 bits */
  flowLabel: number;
  /** Ignored by encode (recomputed). */
  payloadLen: number;
  /** Ignored by encode (the chain's first protocol). */
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
}

export type ExtHeaderKind = 'hop-by-hop' | 'routing' | 'fragment' | 'destination-options' | 'ah';

export interface ExtHeader {
  kind: ExtHeaderKind;
  /** Ignored by encode. */
  offset?: number;
  /** Header length in octets; ignored by encode. */
  length?: number;
  /** As on the wire; ignored by encode. */
  nextHeader?: number;
  /** HbH / DOH options in wire order, padding included. */
  options?: OptionEntry[];
  /** HbH / DOH: an option TLV ran past the header; `trailing` holds the rest of the option area. */
  error?: ErrorInfo;
  trailing?: HexString;
  /** Routing / Fragment / AH: the octets after the Next Header octet. */
  data?: HexString;
}

export interface OptionEntry {
  /** Offset of the Option Type octet; ignored by encode. */
  offset?: number;
  option: IpOption;
  /** A problem inside this option (still reported with what could be decoded). */
  error?: ErrorInfo;
}

/** A TLV option of a HbH / DOH header. */
export type IpOption =
  | { kind: 'pad1' }
  | { kind: 'padn'; /** Opt Data Len */ len: number }
  | { kind: 'ioam'; /** RFC 9486 §3: 0 on send */ reserved: number; data: IoamData }
  | { kind: 'unknown'; /** keeps its action and change bits */ optionType: number; data: HexString };

/** The IOAM option body by IOAM Option-Type (RFC 9197 §4.1, RFC 9326). */
export type IoamData =
  | ({ type: 'preallocated-trace' } & Trace)
  | ({ type: 'incremental-trace' } & Trace)
  | ({ type: 'pot' } & Pot)
  | ({ type: 'e2e' } & E2e)
  | ({ type: 'dex' } & Dex)
  | { type: 'unknown'; optionType: number; data: HexString }
  | { type: 'malformed'; optionType: number; data: HexString };

/** Trace flags (RFC 9197 §4.4.1, RFC 9322 §4). */
export interface TraceFlags {
  overflow: boolean;
  loopback: boolean;
  active: boolean;
  /** unassigned flag bit 3 */
  bit3: boolean;
}

/** A Pre-allocated or Incremental trace (RFC 9197 §4.4). */
export interface Trace {
  namespaceId: number;
  /** 4-octet units, excluding OSS */
  nodeLen: number;
  flags: TraceFlags;
  /** 4-octet units */
  remainingLen: number;
  /** 24 bits, bit 0 = 0x800000 */
  traceType: number;
  reserved: number;
  /** CLT legacy trace/span IDs (layout `legacy` only). */
  clt?: { traceId: HexString; spanId: HexString };
  /** Pre-allocated: the free space as on the wire (RemainingLen × 4 octets). Absent for
   * Incremental. On encode, absent = RemainingLen × 4 zero octets. */
  freeSpace?: HexString;
  /** Node data, newest first. */
  nodes: NodeData[];
  /** Node-area octets that are not whole elements (with an option `error`). */
  trailing?: HexString;
}

/** One node's data; a field is present when its Trace-Type bit is set (RFC 9197 §4.4.2). */
export interface NodeData {
  /** bit 0 */
  hopLimit?: number;
  nodeId?: number;
  /** bit 1 */
  ingressIfId?: number;
  egressIfId?: number;
  /** bit 2 */
  timestampSecs?: number;
  /** bit 3 (Linux: microseconds) */
  timestampFrac?: number;
  /** bit 4 (ns, MSB = overflow) */
  transitDelay?: number;
  /** bit 5 */
  namespaceData?: number;
  /** bit 6 */
  queueDepth?: number;
  /** bit 7 */
  checksumComplement?: number;
  /** bit 8 */
  hopLimitWide?: number;
  nodeIdWide?: U64String;
  /** bit 9 */
  ingressIfIdWide?: number;
  egressIfIdWide?: number;
  /** bit 10 */
  namespaceDataWide?: U64String;
  /** bit 11 */
  bufferOccupancy?: number;
  /** bits 12-21, one word each */
  undefined?: number[];
  /** bit 22: Opaque State Snapshot */
  oss?: { length: number; schemaId: number; data: HexString };
}

/** Proof of Transit (RFC 9197 §4.5). */
export interface Pot {
  namespaceId: number;
  potType: number;
  flags: number;
  random?: U64String;
  cumulative?: U64String;
  data?: HexString;
}

/** Edge-to-Edge (RFC 9197 §4.6). */
export interface E2e {
  namespaceId: number;
  /** 16-bit bitmap, bit 0 = 0x8000 */
  e2eType: number;
  seqNum64?: U64String;
  seqNum32?: number;
  timestampSecs?: number;
  timestampFrac?: number;
  data?: HexString;
}

/** Direct Export (RFC 9326 §3). */
export interface Dex {
  namespaceId: number;
  flags: number;
  extensionFlags: number;
  traceType: number;
  reserved: number;
  flowId?: number;
  sequenceNumber?: number;
  otherFields?: number[];
  data?: HexString;
}

export interface UpperLayer {
  /** 17 UDP, 58 ICMPv6, 59 No Next Header, 41 IPv6, ... */
  protocol: number;
  /** Ignored by encode. */
  offset?: number;
  payload: HexString;
}

/** A whole decoded packet. */
export interface DecodedPacket {
  ipv6: Ipv6Header;
  extHeaders: ExtHeader[];
  upperLayer: UpperLayer;
}

/** `BigInt` of a {@link U64String} (`undefined` stays `undefined`); anything but 0..2^64-1 in decimal digits is an IoamError (ERR_IOAM_BAD_VALUE). */
export function u64(s: U64String): bigint;
export function u64(s: U64String | undefined): bigint | undefined;
export function u64(s: U64String | undefined): bigint | undefined {
  if (s === undefined) return undefined;
  const v = typeof s === 'string' && /^\d{1,20}$/.test(s) ? BigInt(s) : -1n;
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new IoamError('ERR_IOAM_BAD_VALUE', 'ioam', 0, `u64: ${JSON.stringify(s)} is not a 64-bit unsigned decimal`);
  return v;
}

/** Every IOAM option of a decoded packet (HbH and DOH), with its header kind and offset. */
export function ioamOptions(p: DecodedPacket): { header: ExtHeaderKind; offset: number; data: IoamData; error?: ErrorInfo }[] {
  const out: { header: ExtHeaderKind; offset: number; data: IoamData; error?: ErrorInfo }[] = [];
  for (const h of p.extHeaders) {
    for (const o of h.options ?? []) {
      if (o.option.kind === 'ioam') {
        const e: { header: ExtHeaderKind; offset: number; data: IoamData; error?: ErrorInfo } = { header: h.kind, offset: o.offset ?? 0, data: o.option.data };
        if (o.error) e.error = o.error;
        out.push(e);
      }
    }
  }
  return out;
}

function binding() {
  const b = native();
  if (typeof b.decodePacket !== 'function' || typeof b.encodePacket !== 'function') {
    throw new IoamError('ERR_IOAM_NOT_FOUND', 'native', 0, 'decodePacket/encodePacket are not in this native build (wire layer not merged?): run `npm run build:native`');
  }
  return b as typeof b & Required<Pick<typeof b, 'decodePacket' | 'encodePacket'>>;
}

/** The core's JSON text for a packet (SCHEMA.md). Throws {@link IoamError}. */
export function decodeJson(bytes: Uint8Array, opts: DecodeOptions | null = {}): string {
  requireBytes(bytes, 'ipv6', 'decode: bytes');
  const b = binding();
  return callNative(() => b.decodePacket(bytes, opts?.clt ?? 'standard'));
}

/**
 * Decodes a packet (IPv6 header first) into a {@link DecodedPacket}. Throws {@link IoamError}
 * only when the IPv6 header or the extension-header chain cannot be located.
 */
export function decode(bytes: Uint8Array, opts: DecodeOptions | null = {}): DecodedPacket {
  return JSON.parse(decodeJson(bytes, opts)) as DecodedPacket;
}

/**
 * Encodes a {@link DecodedPacket} (offsets, lengths, next headers and Payload Length are
 * recomputed). For a well-formed packet `decode(encode(p))` equals `p`. Throws {@link IoamError}.
 */
export function encode(pkt: DecodedPacket, opts: EncodeOptions = {}): Uint8Array {
  const b = binding();
  const buf = callNative(() => b.encodePacket(JSON.stringify(pkt), opts.linuxPadding ?? false));
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
