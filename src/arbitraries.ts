/**
 * fast-check arbitraries for IPv6 IOAM packets (`ioamsim/arbitraries`).
 *
 * Two families:
 * - **Well-formed packets** ({@link packetArb}): an IPv6 header, a Hop-by-Hop and/or a Destination
 *   Options header carrying IOAM options of every type (Pre-allocated and Incremental traces with
 *   any Trace-Type bits incl. undefined bits 12-21, the Opaque State Snapshot (bit 22) and the
 *   reserved bit 23; POT, E2E, DEX, the CLT legacy trace/span ID block), other options and
 *   padding, then an upper layer. Each sample carries its {@link PacketSpec} (what was generated,
 *   field by field) and a {@link PacketLayout} (where every header, option, trace header, node
 *   and snapshot starts), so a parser's output can be compared with the truth.
 * - **Mutations** ({@link mutatedPacketArb}): a well-formed packet broken the ways parsers get
 *   wrong — truncation at every boundary, lengths that lie, misaligned IOAM options, NodeLen or
 *   RemainingLen inconsistent with the Trace-Type / the option, the Overflow flag, undefined
 *   bits, oversized snapshots, options running beyond the Hop-by-Hop header, random bytes.
 *
 * The bytes are built here in plain TypeScript ({@link buildPacket}), independently of the Rust
 * encoder, from the RFCs: RFC 8200 §4 (extension headers, TLV options, padding), RFC 9486 §3
 * (IOAM option carrier, 4n alignment), RFC 9197 §4.4-4.6 (trace, node data, OSS, POT, E2E),
 * RFC 9322 §4 (Loopback/Active flags), RFC 9326 §3 (DEX) and the CLT kernel patch (legacy block).
 *
 * ```ts
 * import fc from 'fast-check';
 * import { packetArb, mutatedPacketArb } from 'ioamsim/arbitraries';
 *
 * fc.assert(fc.property(packetArb(), (g) => myParser(g.bytes).ioam.length === g.layout.ioam.length));
 * fc.assert(fc.property(mutatedPacketArb(), (m) => { try { myParser(m.bytes); } catch (e) { return e instanceof MyParseError; } return true; }));
 * ```
 * See `docs/ROBUSTNESS.md` and `examples/fuzz-third-party.ts`.
 * @module
 */
import fc from 'fast-check';
import { TRACE_BIT, TRACE_OSS_BIT, TRACE_RESERVED_BIT, nodeLenForType } from './tracetype';

// ---------------------------------------------------------------------------------------------
// Constants and Trace-Type arithmetic
// ---------------------------------------------------------------------------------------------

/** IPv6 option type of IOAM (RFC 9486 §3; act=00, chg=1). */
export const OPT_IOAM = 0x31;
/** Pad1 / PadN option types (RFC 8200 §4.2). */
export const OPT_PAD1 = 0;
export const OPT_PADN = 1;
/** Next Header values. */
export const NH_HOP_BY_HOP = 0;
export const NH_DEST_OPTS = 60;
export const NH_UDP = 17;
export const NH_ICMPV6 = 58;
export const NH_NONE = 59;
/** IOAM Option-Types (RFC 9197 §4.1, RFC 9326). */
export const IOAM_PREALLOCATED = 0;
export const IOAM_INCREMENTAL = 1;
export const IOAM_POT = 2;
export const IOAM_E2E = 3;
export const IOAM_DEX = 4;
export { TRACE_BIT, TRACE_UNDEFINED_BITS, TRACE_OSS_BIT, TRACE_RESERVED_BIT, nodeLenForType } from './tracetype';
/** Size of the CLT legacy block (trace ID 16 + span ID 8) after the trace header. */
export const CLT_BLOCK_LEN = 24;

// ---------------------------------------------------------------------------------------------
// Specs: what was generated
// ---------------------------------------------------------------------------------------------

/** Opaque State Snapshot (RFC 9197 §4.4.2.13): `length` words of data after a 4-octet header. */
export interface OssSpec {
  length: number;
  schemaId: number;
  data: Uint8Array;
}

/** One node's data; a field is present exactly when its Trace-Type bit is set. Names match the
 * ioamsim decoder's JSON; 64-bit fields are `bigint`. */
export interface NodeSpec {
  hopLimit?: number;
  nodeId?: number;
  ingressIfId?: number;
  egressIfId?: number;
  timestampSecs?: number;
  timestampFrac?: number;
  transitDelay?: number;
  namespaceData?: number;
  queueDepth?: number;
  checksumComplement?: number;
  hopLimitWide?: number;
  nodeIdWide?: bigint;
  ingressIfIdWide?: number;
  egressIfIdWide?: number;
  namespaceDataWide?: bigint;
  bufferOccupancy?: number;
  /** Bits 12-21, one word per set bit. */
  undefined?: number[];
  oss?: OssSpec;
}

export interface TraceFlagsSpec {
  overflow: boolean;
  loopback: boolean;
  active: boolean;
  bit3: boolean;
}

/** A Pre-allocated or Incremental trace (RFC 9197 §4.4). */
export interface TraceSpec {
  type: 'preallocated-trace' | 'incremental-trace';
  namespaceId: number;
  nodeLen: number;
  flags: TraceFlagsSpec;
  remainingLen: number;
  traceType: number;
  reserved: number;
  /** CLT legacy block (Pre-allocated only; decode with the legacy layout). */
  clt?: { traceId: Uint8Array; spanId: Uint8Array };
  /** Pre-allocated: RemainingLen × 4 octets. Incremental: empty. */
  freeSpace: Uint8Array;
  /** Newest first (wire order). */
  nodes: NodeSpec[];
}

/** Proof of Transit (RFC 9197 §4.5). Type 0 carries Random and Cumulative. */
export interface PotSpec {
  type: 'pot';
  namespaceId: number;
  potType: number;
  flags: number;
  random?: bigint;
  cumulative?: bigint;
  data: Uint8Array;
}

/** Edge-to-Edge (RFC 9197 §4.6); `e2eType` bit 0 = 0x8000, only bits 0-3 generated. */
export interface E2eSpec {
  type: 'e2e';
  namespaceId: number;
  e2eType: number;
  seqNum64?: bigint;
  seqNum32?: number;
  timestampSecs?: number;
  timestampFrac?: number;
  data: Uint8Array;
}

/** Direct Export (RFC 9326 §3); Extension-Flag bit 0 (0x80) Flow ID, bit 1 Sequence Number. */
export interface DexSpec {
  type: 'dex';
  namespaceId: number;
  flags: number;
  extensionFlags: number;
  traceType: number;
  reserved: number;
  flowId?: number;
  sequenceNumber?: number;
  /** Fields of the set Extension-Flags 2-7, in bit order. */
  otherFields: number[];
}

export type IoamSpec = TraceSpec | PotSpec | E2eSpec | DexSpec;

/** A TLV option of a Hop-by-Hop / Destination Options header. */
export type OptionSpec =
  | { kind: 'pad1' }
  | { kind: 'padn'; len: number }
  | { kind: 'ioam'; reserved: number; ioam: IoamSpec }
  | { kind: 'unknown'; optionType: number; data: Uint8Array };

export interface HeaderSpec {
  kind: 'hop-by-hop' | 'destination-options';
  /** Options in wire order, padding included. */
  options: OptionSpec[];
}

/** A whole packet as generated. */
export interface PacketSpec {
  trafficClass: number;
  flowLabel: number;
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
  headers: HeaderSpec[];
  protocol: number;
  payload: Uint8Array;
  /** The trace layout the packet was built with (`legacy`: CLT block in every Pre-allocated trace). */
  clt: 'standard' | 'legacy';
}

/** Where an IOAM option and its parts are, octets from the IPv6 header. */
export interface IoamLayout {
  header: number;
  /** Index of the header in `PacketSpec.headers` / option index in it. */
  headerIndex: number;
  optionIndex: number;
  /** Option Type octet. */
  offset: number;
  /** Option total length (2 + Opt Data Len). */
  length: number;
  spec: IoamSpec;
  /** Traces: Namespace-ID octet; node elements and snapshots. */
  traceHeader?: number;
  nodes?: number[];
  oss?: number[];
}

/** Byte positions of a built packet. */
export interface PacketLayout {
  headers: { offset: number; length: number; kind: HeaderSpec['kind']; options: number[] }[];
  ioam: IoamLayout[];
  upperLayer: number;
  /** Every field boundary worth truncating at (sorted, unique). */
  boundaries: number[];
}

/** A generated packet: its bytes, what they mean and where everything is. */
export interface GeneratedPacket {
  spec: PacketSpec;
  bytes: Uint8Array;
  layout: PacketLayout;
}

// ---------------------------------------------------------------------------------------------
// Byte builders (pure TypeScript, independent of the Rust encoder)
// ---------------------------------------------------------------------------------------------

class Bytes {
  a: number[] = [];
  u8(v: number): this {
    this.a.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }
  u24(v: number): this {
    return this.u8(v >>> 16).u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  u64(v: bigint): this {
    return this.u32(Number((v >> 32n) & 0xffffffffn)).u32(Number(v & 0xffffffffn));
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.a.push(b[i]! & 0xff);
    return this;
  }
  get length(): number {
    return this.a.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.a);
  }
}

/** Octets of one node element for `traceType` (fields in bit order, then the OSS). Missing
 * fields are written as all-ones ("unavailable", RFC 9197 §4.4.2). */
export function encodeNode(traceType: number, n: NodeSpec): Uint8Array {
  const w = new Bytes();
  const has = (b: number) => (traceType & TRACE_BIT(b)) !== 0;
  const ones = 0xffffffff;
  if (has(0)) w.u8(n.hopLimit ?? 0xff).u24(n.nodeId ?? 0xffffff);
  if (has(1)) w.u16(n.ingressIfId ?? 0xffff).u16(n.egressIfId ?? 0xffff);
  if (has(2)) w.u32(n.timestampSecs ?? ones);
  if (has(3)) w.u32(n.timestampFrac ?? ones);
  if (has(4)) w.u32(n.transitDelay ?? ones);
  if (has(5)) w.u32(n.namespaceData ?? ones);
  if (has(6)) w.u32(n.queueDepth ?? ones);
  if (has(7)) w.u32(n.checksumComplement ?? ones);
  if (has(8)) w.u8(n.hopLimitWide ?? 0xff).raw(u56Bytes(n.nodeIdWide ?? 0xffffffffffffffn));
  if (has(9)) w.u32(n.ingressIfIdWide ?? ones).u32(n.egressIfIdWide ?? ones);
  if (has(10)) w.u64(n.namespaceDataWide ?? 0xffffffffffffffffn);
  if (has(11)) w.u32(n.bufferOccupancy ?? ones);
  let k = 0;
  for (let b = 12; b <= 21; b++) if (has(b)) w.u32(n.undefined?.[k++] ?? ones);
  if (has(22)) {
    const o = n.oss ?? { length: 0, schemaId: 0xffffff, data: new Uint8Array(0) };
    w.u8(o.length).u24(o.schemaId).raw(o.data);
  }
  return w.bytes();
}

function u56Bytes(v: bigint): number[] {
  const out: number[] = [];
  for (let i = 6; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** Octets after the IOAM Option-Type octet (trace header + CLT + free space + nodes, or the
 * POT / E2E / DEX body). */
export function encodeIoamBody(s: IoamSpec): Uint8Array {
  const w = new Bytes();
  switch (s.type) {
    case 'preallocated-trace':
    case 'incremental-trace': {
      const f = s.flags;
      w.u16(s.namespaceId);
      w.u8(((s.nodeLen & 0x1f) << 3) | (f.overflow ? 4 : 0) | (f.loopback ? 2 : 0) | (f.active ? 1 : 0));
      w.u8((f.bit3 ? 0x80 : 0) | (s.remainingLen & 0x7f));
      w.u24(s.traceType).u8(s.reserved);
      if (s.clt) w.raw(s.clt.traceId).raw(s.clt.spanId);
      w.raw(s.freeSpace);
      for (const n of s.nodes) w.raw(encodeNode(s.traceType, n));
      break;
    }
    case 'pot':
      w.u16(s.namespaceId).u8(s.potType).u8(s.flags);
      if (s.potType === 0) w.u64(s.random ?? 0n).u64(s.cumulative ?? 0n);
      w.raw(s.data);
      break;
    case 'e2e':
      w.u16(s.namespaceId).u16(s.e2eType);
      if (s.e2eType & 0x8000) w.u64(s.seqNum64 ?? 0n);
      if (s.e2eType & 0x4000) w.u32(s.seqNum32 ?? 0);
      if (s.e2eType & 0x2000) w.u32(s.timestampSecs ?? 0);
      if (s.e2eType & 0x1000) w.u32(s.timestampFrac ?? 0);
      w.raw(s.data);
      break;
    case 'dex': {
      w.u16(s.namespaceId).u8(s.flags).u8(s.extensionFlags).u24(s.traceType).u8(s.reserved);
      if (s.extensionFlags & 0x80) w.u32(s.flowId ?? 0);
      if (s.extensionFlags & 0x40) w.u32(s.sequenceNumber ?? 0);
      for (const x of s.otherFields) w.u32(x);
      break;
    }
  }
  return w.bytes();
}

const IOAM_TYPE_CODE: Record<IoamSpec['type'], number> = {
  'preallocated-trace': IOAM_PREALLOCATED,
  'incremental-trace': IOAM_INCREMENTAL,
  pot: IOAM_POT,
  e2e: IOAM_E2E,
  dex: IOAM_DEX,
};

/** Octets of one TLV option. Throws RangeError if the data exceeds 255 octets. */
export function encodeOption(o: OptionSpec): Uint8Array {
  switch (o.kind) {
    case 'pad1':
      return Uint8Array.of(0);
    case 'padn':
      return Uint8Array.from([OPT_PADN, o.len, ...new Array<number>(o.len).fill(0)]);
    case 'unknown':
      if (o.data.length > 255) throw new RangeError('option data > 255 octets');
      return Uint8Array.from([o.optionType, o.data.length, ...o.data]);
    case 'ioam': {
      const body = encodeIoamBody(o.ioam);
      if (body.length + 2 > 255) throw new RangeError('IOAM option data > 255 octets');
      return Uint8Array.from([OPT_IOAM, body.length + 2, o.reserved, IOAM_TYPE_CODE[o.ioam.type], ...body]);
    }
  }
}

/** Padding options for `n` octets: Pad1, or one PadN (RFC 8200 §4.2); `twoPad1` writes two Pad1
 * instead of PadN(0). */
export function padding(n: number, twoPad1 = false): OptionSpec[] {
  if (n <= 0) return [];
  if (n === 1) return [{ kind: 'pad1' }];
  if (n === 2 && twoPad1) return [{ kind: 'pad1' }, { kind: 'pad1' }];
  return [{ kind: 'padn', len: n - 2 }];
}

/**
 * Inserts padding so that every IOAM option starts 4n octets from the header (the header itself
 * is 8n from the IPv6 header, so 4n from the IPv6 header too: RFC 9486 §3) and the header is 8n
 * long. `misalign` (1-3) adds that many Pad1 octets right before the first IOAM option after
 * aligning it, producing a misaligned option in an otherwise valid header.
 */
export function padOptions(options: OptionSpec[], twoPad1 = false, misalign = 0): OptionSpec[] {
  const out: OptionSpec[] = [];
  let pos = 2;
  let misaligned = false;
  const push = (o: OptionSpec) => {
    out.push(o);
    pos += encodeOption(o).length;
  };
  for (const o of options) {
    if (o.kind === 'ioam') {
      for (const p of padding((4 - (pos % 4)) % 4, twoPad1)) push(p);
      if (misalign && !misaligned) {
        for (let i = 0; i < misalign; i++) push({ kind: 'pad1' });
        misaligned = true;
      }
    }
    push(o);
  }
  // A pad run > 7 octets is malformed for Linux: one PadN (≤ 5 data octets) covers a tail ≤ 7.
  for (const p of padding((8 - (pos % 8)) % 8, twoPad1)) push(p);
  return out;
}

function ipv6Text(a: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((a[i]! << 8) | a[i + 1]!);
  // RFC 5952: longest run (≥ 2) of zero groups → "::", first one on ties.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number[]) => x.map((v) => v.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** RFC 5952 text of a 16-octet address. */
export { ipv6Text };

/**
 * Builds the packet bytes of a spec and records the layout. Headers are written in order, each
 * padded as given (use {@link padOptions} to pad); Payload Length and every Next Header are
 * computed. Throws RangeError when a header is not 8n long or an option exceeds 255 octets.
 */
export function buildPacket(spec: PacketSpec): GeneratedPacket {
  const w = new Bytes();
  const layout: PacketLayout = { headers: [], ioam: [], upperLayer: 0, boundaries: [] };
  const bounds = new Set<number>([0, 4, 6, 8, 24, 40]);
  const headerBytes: Uint8Array[] = [];
  for (const h of spec.headers) {
    const parts = h.options.map(encodeOption);
    const total = 2 + parts.reduce((s, p) => s + p.length, 0);
    if (total % 8 !== 0 || total > 2048) throw new RangeError(`options header of ${total} octets is not 8n (≤ 2048)`);
    const b = new Bytes().u8(0).u8(total / 8 - 1);
    for (const p of parts) b.raw(p);
    headerBytes.push(b.bytes());
  }
  const payloadLen = headerBytes.reduce((s, h) => s + h.length, 0) + spec.payload.length;
  if (payloadLen > 65535) throw new RangeError('payload > 65535 octets');
  const first = spec.headers.length ? kindCode(spec.headers[0]!.kind) : spec.protocol;
  w.u32((6 << 28) | ((spec.trafficClass & 0xff) << 20) | (spec.flowLabel & 0xfffff));
  w.u16(payloadLen).u8(first).u8(spec.hopLimit).raw(spec.src).raw(spec.dst);
  spec.headers.forEach((h, hi) => {
    const off = w.length;
    const bytes = headerBytes[hi]!;
    bytes[0] = hi + 1 < spec.headers.length ? kindCode(spec.headers[hi + 1]!.kind) : spec.protocol;
    const hl = { offset: off, length: bytes.length, kind: h.kind, options: [] as number[] };
    bounds.add(off).add(off + 1).add(off + 2);
    let pos = off + 2;
    h.options.forEach((o, oi) => {
      hl.options.push(pos);
      const len = encodeOption(o).length;
      bounds.add(pos).add(pos + 1).add(pos + 2);
      if (o.kind === 'ioam') {
        const il: IoamLayout = { header: off, headerIndex: hi, optionIndex: oi, offset: pos, length: len, spec: o.ioam };
        bounds.add(pos + 4);
        const s = o.ioam;
        if (s.type === 'preallocated-trace' || s.type === 'incremental-trace') {
          const th = pos + 4;
          il.traceHeader = th;
          [2, 3, 4, 7, 8].forEach((d) => bounds.add(th + d));
          let q = th + 8 + (s.clt ? CLT_BLOCK_LEN : 0);
          bounds.add(q);
          q += s.freeSpace.length;
          bounds.add(q);
          il.nodes = [];
          il.oss = [];
          for (const n of s.nodes) {
            il.nodes.push(q);
            const nl = encodeNode(s.traceType, n).length;
            if (n.oss) {
              il.oss.push(q + s.nodeLen * 4);
              bounds.add(q + s.nodeLen * 4).add(q + s.nodeLen * 4 + 4);
            }
            q += nl;
            bounds.add(q);
          }
        } else {
          [6, 8, 12, 20].forEach((d) => pos + d < pos + len && bounds.add(pos + d));
        }
        layout.ioam.push(il);
      }
      pos += len;
      bounds.add(pos);
    });
    layout.headers.push(hl);
    w.raw(bytes);
  });
  layout.upperLayer = w.length;
  w.raw(spec.payload);
  bounds.add(w.length);
  const n = w.length;
  layout.boundaries = [...bounds].filter((b) => b <= n).sort((a, b) => a - b);
  return { spec, bytes: w.bytes(), layout };
}

function kindCode(k: HeaderSpec['kind']): number {
  return k === 'hop-by-hop' ? NH_HOP_BY_HOP : NH_DEST_OPTS;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: field values
// ---------------------------------------------------------------------------------------------

const u8 = () => fc.integer({ min: 0, max: 0xff });
const u16 = () => fc.integer({ min: 0, max: 0xffff });
const u24 = () => fc.integer({ min: 0, max: 0xffffff });
const u32 = () => fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0xffffffff, 1));
const u56 = () => fc.bigInt({ min: 0n, max: 0xffffffffffffffn });
const u64 = () => fc.oneof(fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }), fc.constantFrom(0n, 0xffffffffffffffffn));
const bytesN = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

/** Options of {@link traceTypeArb}. */
export interface TraceTypeOptions {
  /** Allow undefined bits 12-21 (Linux fills 0xFFFFFFFF each). Default true. */
  undefinedBits?: boolean;
  /** Allow bit 22, the Opaque State Snapshot. Default true. */
  oss?: boolean;
  /** Allow reserved bit 23. Default true. */
  reservedBit?: boolean;
}

/** A 24-bit IOAM-Trace-Type: any combination of bits 0-11, optionally 12-21, 22, 23. */
export function traceTypeArb(o: TraceTypeOptions = {}): fc.Arbitrary<number> {
  const { undefinedBits = true, oss = true, reservedBit = true } = o;
  return fc
    .record({
      defined: fc.oneof(fc.integer({ min: 0, max: 0xfff }), fc.constantFrom(0xfff, 0x800, 0xc00, 0x000)),
      undef: undefinedBits ? fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x3ff }) }) : fc.constant(0),
      oss: oss ? fc.boolean() : fc.constant(false),
      rsv: reservedBit ? fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) : fc.constant(false),
    })
    .map((r) => (r.defined << 12) | (r.undef << 2) | (r.oss ? TRACE_OSS_BIT : 0) | (r.rsv ? TRACE_RESERVED_BIT : 0));
}

/** An Opaque State Snapshot of at most `maxWords` data words. */
export function ossArb(maxWords = 8): fc.Arbitrary<OssSpec> {
  return fc.integer({ min: 0, max: Math.max(0, Math.min(255, maxWords)) }).chain((len) =>
    fc.record({
      length: fc.constant(len),
      schemaId: fc.oneof(u24(), fc.constant(0xffffff)),
      data: len === 0 ? fc.constant(new Uint8Array(0)) : bytesN(len * 4),
    }),
  );
}

/** One node's data for `traceType`: exactly the fields of the set bits. `ossWords` bounds the
 * snapshot (bit 22). */
export function nodeSpecArb(traceType: number, ossWords = 8): fc.Arbitrary<NodeSpec> {
  const has = (b: number) => (traceType & TRACE_BIT(b)) !== 0;
  const nUndef = [...Array(10).keys()].filter((i) => has(12 + i)).length;
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  if (has(0)) Object.assign(rec, { hopLimit: u8(), nodeId: u24() });
  if (has(1)) Object.assign(rec, { ingressIfId: u16(), egressIfId: u16() });
  if (has(2)) rec.timestampSecs = u32();
  if (has(3)) rec.timestampFrac = u32();
  if (has(4)) rec.transitDelay = u32();
  if (has(5)) rec.namespaceData = u32();
  if (has(6)) rec.queueDepth = u32();
  if (has(7)) rec.checksumComplement = u32();
  if (has(8)) Object.assign(rec, { hopLimitWide: u8(), nodeIdWide: u56() });
  if (has(9)) Object.assign(rec, { ingressIfIdWide: u32(), egressIfIdWide: u32() });
  if (has(10)) rec.namespaceDataWide = u64();
  if (has(11)) rec.bufferOccupancy = u32();
  if (nUndef) rec.undefined = fc.array(u32(), { minLength: nUndef, maxLength: nUndef });
  if (has(22)) rec.oss = ossArb(ossWords);
  return fc.record(rec) as fc.Arbitrary<NodeSpec>;
}

/** Options of {@link traceArb}. */
export interface TraceOptions extends TraceTypeOptions {
  kind?: 'preallocated-trace' | 'incremental-trace';
  /** Add the CLT legacy block (Pre-allocated only). */
  clt?: boolean;
  /** Upper bound on the option's data (Opt Data Len ≤ 255). */
  maxOptDataLen?: number;
  /** Namespace-IDs to draw from (default: any, biased to 0, 123, 0x8000). */
  namespaces?: number[];
  /** Allow flags other than Overflow / the reserved octet to be non-zero. Default true. */
  anyFlags?: boolean;
}

/**
 * A well-formed trace: NodeLen equals the Trace-Type's, RemainingLen × 4 octets of free space
 * (Pre-allocated; zeros, as encapsulators write), whole node elements newest first, everything
 * within Opt Data Len ≤ 255.
 */
export function traceArb(o: TraceOptions = {}): fc.Arbitrary<TraceSpec> {
  const maxData = Math.min(255, o.maxOptDataLen ?? 255);
  const kindArb = o.kind ? fc.constant(o.kind) : fc.constantFrom<TraceSpec['type']>('preallocated-trace', 'incremental-trace');
  return fc.tuple(kindArb, traceTypeArb(o)).chain(([kind, traceType]) => {
    const clt = kind === 'preallocated-trace' && !!o.clt;
    const fixed = 2 + 8 + (clt ? CLT_BLOCK_LEN : 0);
    const room = maxData - fixed; // octets left for free space + nodes
    const nodeLen = nodeLenForType(traceType);
    const oss = (traceType & TRACE_OSS_BIT) !== 0;
    const elem = nodeLen * 4 + (oss ? 4 : 0);
    const maxNodes = elem === 0 ? 0 : Math.min(6, Math.floor(room / elem));
    return fc.integer({ min: 0, max: maxNodes }).chain((count) => {
      // Leave part of the room for snapshot data.
      const ossWords = oss && count > 0 ? Math.min(8, Math.floor((room - count * elem) / 4 / count)) : 0;
      return fc.array(nodeSpecArb(traceType, ossWords), { minLength: count, maxLength: count }).chain((nodes) => {
        const used = nodes.reduce((s, n) => s + encodeNode(traceType, n).length, 0);
        const freeMax = kind === 'preallocated-trace' ? Math.min(61, Math.floor((room - used) / 4)) : 0;
        return fc.record({
          type: fc.constant(kind),
          namespaceId: o.namespaces ? fc.constantFrom(...o.namespaces) : fc.oneof(u16(), fc.constantFrom(0, 123, 0x8000)),
          nodeLen: fc.constant(nodeLen),
          flags: fc.record({
            overflow: fc.boolean(),
            loopback: o.anyFlags === false ? fc.constant(false) : fc.boolean(),
            active: o.anyFlags === false ? fc.constant(false) : fc.boolean(),
            bit3: o.anyFlags === false ? fc.constant(false) : fc.boolean(),
          }),
          remainingLen: kind === 'preallocated-trace' ? fc.integer({ min: 0, max: Math.max(0, freeMax) }) : fc.integer({ min: 0, max: 127 }),
          traceType: fc.constant(traceType),
          reserved: o.anyFlags === false ? fc.constant(0) : fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u8() }),
          nodes: fc.constant(nodes),
          clt: clt ? fc.record({ traceId: bytesN(16), spanId: bytesN(8) }) : fc.constant(undefined),
        }).map((t) => {
          const s: TraceSpec = {
            type: t.type,
            namespaceId: t.namespaceId,
            nodeLen: t.nodeLen,
            flags: t.flags,
            remainingLen: t.remainingLen,
            traceType: t.traceType,
            reserved: t.reserved,
            freeSpace: new Uint8Array(t.type === 'preallocated-trace' ? t.remainingLen * 4 : 0),
            nodes: t.nodes,
          };
          if (t.clt) s.clt = t.clt;
          return s;
        });
      });
    });
  });
}

/** Proof of Transit: type 0 (Random, Cumulative) or another type with 0-4 words of data. */
export function potArb(): fc.Arbitrary<PotSpec> {
  return fc.oneof(
    fc.record({ type: fc.constant('pot' as const), namespaceId: u16(), potType: fc.constant(0), flags: u8(), random: u64(), cumulative: u64(), data: fc.constant(new Uint8Array(0)) }),
    fc.record({
      type: fc.constant('pot' as const),
      namespaceId: u16(),
      potType: fc.integer({ min: 1, max: 255 }),
      flags: u8(),
      data: fc.integer({ min: 0, max: 4 }).chain((n) => bytesN(4 * n)),
    }),
  );
}

/** Edge-to-Edge with any of the defined bits 0-3 (data in bit order). */
export function e2eArb(): fc.Arbitrary<E2eSpec> {
  return fc.integer({ min: 0, max: 15 }).chain((bits) => {
    const t = bits << 12;
    const rec: Record<string, fc.Arbitrary<unknown>> = {
      type: fc.constant('e2e'),
      namespaceId: u16(),
      e2eType: fc.constant(t),
      data: fc.constant(new Uint8Array(0)),
    };
    if (t & 0x8000) rec.seqNum64 = u64();
    if (t & 0x4000) rec.seqNum32 = u32();
    if (t & 0x2000) rec.timestampSecs = u32();
    if (t & 0x1000) rec.timestampFrac = u32();
    return fc.record(rec) as fc.Arbitrary<E2eSpec>;
  });
}

/** Direct Export with any Extension-Flags (one 4-octet field per set flag). */
export function dexArb(): fc.Arbitrary<DexSpec> {
  return fc.record({ ext: u8(), traceType: traceTypeArb(), ns: u16(), flags: u8(), reserved: fc.oneof(fc.constant(0), u8()) }).chain((r) => {
    const others = [2, 3, 4, 5, 6, 7].filter((b) => r.ext & (0x80 >> b)).length;
    const rec: Record<string, fc.Arbitrary<unknown>> = {
      type: fc.constant('dex'),
      namespaceId: fc.constant(r.ns),
      flags: fc.constant(r.flags),
      extensionFlags: fc.constant(r.ext),
      traceType: fc.constant(r.traceType),
      reserved: fc.constant(r.reserved),
      otherFields: fc.array(u32(), { minLength: others, maxLength: others }),
    };
    if (r.ext & 0x80) rec.flowId = u32();
    if (r.ext & 0x40) rec.sequenceNumber = u32();
    return fc.record(rec) as fc.Arbitrary<DexSpec>;
  });
}

/** Options of {@link ioamArb} / {@link packetArb}. */
export interface IoamOptions extends TraceOptions {
  /** Which IOAM Option-Types to draw. Default all five. */
  types?: IoamSpec['type'][];
}

/** Any IOAM option body of the selected types. */
export function ioamArb(o: IoamOptions = {}): fc.Arbitrary<IoamSpec> {
  const types = o.types ?? ['preallocated-trace', 'incremental-trace', 'pot', 'e2e', 'dex'];
  const arbs: fc.Arbitrary<IoamSpec>[] = [];
  if (types.includes('preallocated-trace')) arbs.push(traceArb({ ...o, kind: 'preallocated-trace' }), traceArb({ ...o, kind: 'preallocated-trace' }));
  if (types.includes('incremental-trace')) arbs.push(traceArb({ ...o, kind: 'incremental-trace', clt: false }));
  if (types.includes('pot')) arbs.push(potArb());
  if (types.includes('e2e')) arbs.push(e2eArb());
  if (types.includes('dex')) arbs.push(dexArb());
  return fc.oneof(...arbs);
}

/** A non-IOAM option with action bits 00 (skip if unknown): experimental 0x1e/0x3e (RFC 4727),
 * IANA's IOAM code 0x11 (unknown to Linux and Wireshark 4.0), Router Alert (0x05). */
export function otherOptionArb(): fc.Arbitrary<OptionSpec> {
  return fc.oneof(
    fc.record({ kind: fc.constant('unknown' as const), optionType: fc.constantFrom(0x1e, 0x3e, 0x11), data: fc.uint8Array({ maxLength: 12 }) }),
    fc.record({ kind: fc.constant('unknown' as const), optionType: fc.constant(0x05), data: bytesN(2) }),
  );
}

/** Options of {@link packetArb}. */
export interface PacketOptions extends IoamOptions {
  /** IOAM options per header, at most. Default 2. */
  maxIoamPerHeader?: number;
  /** Which headers may appear. Default both (HbH and DOH, each optional, at least one). */
  headers?: HeaderSpec['kind'][];
  /** Non-IOAM options besides padding. Default true. */
  otherOptions?: boolean;
  /** Build with the CLT legacy layout (every Pre-allocated trace has the block). Default false. */
  legacy?: boolean;
}

/** A well-formed IPv6 packet with IOAM options in HbH and/or DOH and an upper layer. */
export function packetArb(o: PacketOptions = {}): fc.Arbitrary<GeneratedPacket> {
  const kinds = o.headers ?? ['hop-by-hop', 'destination-options'];
  const maxIoam = o.maxIoamPerHeader ?? 2;
  const ioam = ioamArb({ ...o, clt: !!o.legacy });
  const headerArb = (kind: HeaderSpec['kind']) =>
    fc
      .record({
        ioam: fc.array(fc.record({ reserved: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u8() }), ioam }), {
          minLength: 0,
          maxLength: maxIoam,
        }),
        other: o.otherOptions === false ? fc.constant([]) : fc.array(otherOptionArb(), { maxLength: 2 }),
        order: fc.array(fc.nat(), { maxLength: 4 }),
        twoPad1: fc.boolean(),
      })
      .map(({ ioam: io, other, order, twoPad1 }) => {
        const opts: OptionSpec[] = io.map((x) => ({ kind: 'ioam' as const, reserved: x.reserved, ioam: x.ioam }));
        for (const [i, x] of other.entries()) opts.splice((order[i] ?? 0) % (opts.length + 1), 0, x);
        return { kind, options: padOptions(opts, twoPad1) };
      });
  const headersArb = fc
    .subarray(kinds, { minLength: 1 })
    .chain((ks) => fc.tuple(...ks.map((k) => headerArb(k))))
    .map((hs) => hs as HeaderSpec[]);
  const upper = fc.oneof(
    fc.record({ protocol: fc.constant(NH_UDP), payload: fc.uint8Array({ minLength: 8, maxLength: 40 }) }),
    fc.record({ protocol: fc.constant(NH_ICMPV6), payload: fc.uint8Array({ minLength: 4, maxLength: 24 }) }),
    fc.record({ protocol: fc.constant(NH_NONE), payload: fc.constant(new Uint8Array(0)) }),
  );
  return fc
    .record({
      trafficClass: u8(),
      flowLabel: fc.integer({ min: 0, max: 0xfffff }),
      hopLimit: u8(),
      src: fc.oneof(bytesN(16), fc.constant(Uint8Array.from([0xfd, 0, 0, 0xaa, 0, 1, ...Array(9).fill(0), 1]))),
      dst: fc.oneof(bytesN(16), fc.constant(Uint8Array.from([0xfd, 0, 0, 0xaa, 0, 2, ...Array(9).fill(0), 2]))),
      headers: headersArb,
      upper,
    })
    .map((r) => buildPacket({ trafficClass: r.trafficClass, flowLabel: r.flowLabel, hopLimit: r.hopLimit, src: r.src, dst: r.dst, headers: r.headers, protocol: r.upper.protocol, payload: r.upper.payload, clt: o.legacy ? 'legacy' : 'standard' }));
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/** What a mutation did. `offset` is the octet it changed (or the new length for truncations). */
export type Mutation =
  | { kind: 'truncate'; offset: number; fixPayloadLength: boolean }
  | { kind: 'payload-length'; offset: 4; value: number }
  | { kind: 'header-length'; offset: number; value: number }
  | { kind: 'option-length'; offset: number; value: number }
  | { kind: 'misalign'; offset: number; by: number }
  | { kind: 'nodelen'; offset: number; value: number }
  | { kind: 'remaininglen'; offset: number; value: number }
  | { kind: 'overflow'; offset: number }
  | { kind: 'undefined-bits'; offset: number; field: 'trace-type' | 'flag-bit3' | 'reserved' | 'ioam-reserved'; value: number }
  | { kind: 'oss-oversized'; offset: number; value: number }
  | { kind: 'beyond-header'; offset: number; value: number }
  | { kind: 'byte'; offset: number; value: number };

/** A mutated packet: the bytes, the packet they came from and what was done. For `misalign` the
 * base is the re-padded packet (whose layout matches the bytes); with stacked mutations
 * (`rounds` > 1) only the last one is reported and the layout may no longer match. */
export interface MutatedPacket {
  bytes: Uint8Array;
  base: GeneratedPacket;
  mutation: Mutation;
}

function setByte(b: Uint8Array, at: number, v: number): Uint8Array {
  const c = Uint8Array.from(b);
  if (at < c.length) c[at] = v & 0xff;
  return c;
}

function traces(g: GeneratedPacket): IoamLayout[] {
  return g.layout.ioam.filter((l) => l.traceHeader !== undefined);
}

/**
 * Mutations of one generated packet. Each strategy applies only where it makes sense (e.g.
 * NodeLen needs a trace); the fallback is a random byte overwrite.
 */
export function mutationsOf(g: GeneratedPacket): fc.Arbitrary<MutatedPacket> {
  const b = g.bytes;
  const L = g.layout;
  const tr = traces(g);
  const ossAt = tr.flatMap((t) => t.oss ?? []);
  const hbh = L.headers.filter((h) => h.kind === 'hop-by-hop');
  const mk = (bytes: Uint8Array, mutation: Mutation): MutatedPacket => ({ bytes, base: g, mutation });
  const strategies: fc.Arbitrary<MutatedPacket>[] = [];
  // Truncation at every boundary (±1), with the Payload Length left lying or fixed up.
  strategies.push(
    fc.tuple(fc.constantFrom(...L.boundaries), fc.integer({ min: -1, max: 1 }), fc.boolean()).map(([at, d, fix]) => {
      const n = Math.max(0, Math.min(b.length, at + d));
      const c = b.slice(0, n);
      if (fix && n >= 40) {
        c[4] = ((n - 40) >> 8) & 0xff;
        c[5] = (n - 40) & 0xff;
      }
      return mk(c, { kind: 'truncate', offset: n, fixPayloadLength: fix });
    }),
  );
  strategies.push(
    fc.oneof(u16(), fc.integer({ min: -16, max: 16 }).map((d) => Math.max(0, b.length - 40 + d))).map((v) => {
      const c = Uint8Array.from(b);
      c[4] = v >> 8;
      c[5] = v & 0xff;
      return mk(c, { kind: 'payload-length', offset: 4, value: v });
    }),
  );
  if (L.headers.length) {
    strategies.push(
      fc.tuple(fc.constantFrom(...L.headers), fc.oneof(u8(), fc.integer({ min: -2, max: 2 }))).map(([h, v]) => {
        const value = v < 0 || v <= 2 ? Math.max(0, Math.min(255, b[h.offset + 1]! + v)) : v;
        return mk(setByte(b, h.offset + 1, value), { kind: 'header-length', offset: h.offset + 1, value });
      }),
    );
    const opts = L.headers.flatMap((h) => h.options).filter((o) => b[o] !== OPT_PAD1);
    if (opts.length) {
      strategies.push(
        fc.tuple(fc.constantFrom(...opts), fc.oneof(u8(), fc.constantFrom(0, 1, 2, 9, 255), fc.integer({ min: -4, max: 4 }))).map(([o, v]) => {
          const value = v >= -4 && v <= 4 && v !== 0 && v !== 1 && v !== 2 ? Math.max(0, Math.min(255, b[o + 1]! + v)) : v;
          return mk(setByte(b, o + 1, value), { kind: 'option-length', offset: o + 1, value });
        }),
      );
    }
  }
  // Misalignment: rebuild with 1-3 Pad1 before the first IOAM option of a header.
  const ioamHeaders = [...new Set(L.ioam.map((i) => i.headerIndex))];
  if (ioamHeaders.length) {
    strategies.push(
      fc.tuple(fc.constantFrom(...ioamHeaders), fc.integer({ min: 1, max: 3 })).map(([hi, by]) => {
        const spec: PacketSpec = { ...g.spec, headers: g.spec.headers.map((h) => ({ ...h, options: h.options.filter((o) => o.kind !== 'pad1' && o.kind !== 'padn') })) };
        spec.headers = spec.headers.map((h, i) => ({ ...h, options: padOptions(h.options, false, i === hi ? by : 0) }));
        const m = buildPacket(spec);
        const first = m.layout.ioam.find((x) => x.headerIndex === hi)!;
        // The base is the rebuilt packet, so that its layout describes these bytes.
        return { bytes: m.bytes, base: m, mutation: { kind: 'misalign', offset: first.offset, by } };
      }),
    );
  }
  if (tr.length) {
    strategies.push(
      fc.tuple(fc.constantFrom(...tr), fc.integer({ min: 0, max: 31 })).map(([t, v]) => {
        const at = t.traceHeader! + 2;
        return mk(setByte(b, at, (v << 3) | (b[at]! & 7)), { kind: 'nodelen', offset: at, value: v });
      }),
      fc.tuple(fc.constantFrom(...tr), fc.integer({ min: 0, max: 127 })).map(([t, v]) => {
        const at = t.traceHeader! + 3;
        return mk(setByte(b, at, (b[at]! & 0x80) | v), { kind: 'remaininglen', offset: at, value: v });
      }),
      fc.constantFrom(...tr).map((t) => {
        const at = t.traceHeader! + 2;
        return mk(setByte(b, at, b[at]! | 4), { kind: 'overflow', offset: at });
      }),
      fc.tuple(fc.constantFrom(...tr), fc.constantFrom('trace-type', 'flag-bit3', 'reserved', 'ioam-reserved' as const), fc.integer({ min: 1, max: 0x3ff })).map(([t, field, v]) => {
        const th = t.traceHeader!;
        if (field === 'trace-type') {
          // Undefined bits 12-21 (low 2 bits of octet 5, octet 6 high 6 bits) or reserved bit 23.
          const bits = (v << 2) | (v & 1 ? 1 : 0);
          const c = Uint8Array.from(b);
          c[th + 5] = c[th + 5]! | ((bits >> 8) & 0xff);
          c[th + 6] = c[th + 6]! | (bits & 0xff);
          return mk(c, { kind: 'undefined-bits', offset: th + 4, field, value: bits });
        }
        if (field === 'flag-bit3') return mk(setByte(b, th + 3, b[th + 3]! | 0x80), { kind: 'undefined-bits', offset: th + 3, field, value: 0x80 });
        if (field === 'reserved') return mk(setByte(b, th + 7, v), { kind: 'undefined-bits', offset: th + 7, field, value: v & 0xff });
        return mk(setByte(b, t.offset + 2, v), { kind: 'undefined-bits', offset: t.offset + 2, field, value: v & 0xff });
      }),
    );
  }
  if (ossAt.length) {
    strategies.push(
      fc.tuple(fc.constantFrom(...ossAt), fc.integer({ min: 1, max: 255 })).map(([o, v]) => {
        const value = Math.min(255, b[o]! + v);
        return mk(setByte(b, o, value), { kind: 'oss-oversized', offset: o, value });
      }),
    );
  }
  if (hbh.length) {
    // The HbH claims fewer octets than its options use: the last option runs past it.
    strategies.push(
      fc.constantFrom(...hbh.filter((h) => h.length > 8).concat(hbh)).chain((h) =>
        fc.integer({ min: 0, max: Math.max(0, h.length / 8 - 2) }).map((v) => mk(setByte(b, h.offset + 1, v), { kind: 'beyond-header', offset: h.offset + 1, value: v })),
      ),
    );
  }
  strategies.push(
    fc.tuple(fc.integer({ min: 0, max: Math.max(0, b.length - 1) }), u8()).map(([at, v]) => mk(setByte(b, at, v), { kind: 'byte', offset: at, value: v })),
  );
  return fc.oneof(...strategies);
}

/** A well-formed packet ({@link packetArb}) then one mutation ({@link mutationsOf}); with
 * `rounds` > 1 mutations are stacked (the last one is reported). */
export function mutatedPacketArb(o: PacketOptions & { rounds?: number } = {}): fc.Arbitrary<MutatedPacket> {
  const rounds = Math.max(1, o.rounds ?? 1);
  let arb = packetArb(o).chain(mutationsOf);
  for (let i = 1; i < rounds; i++) {
    arb = arb.chain((m) =>
      fc.tuple(fc.integer({ min: 0, max: Math.max(0, m.bytes.length - 1) }), u8()).map(([at, v]) => ({ ...m, bytes: setByte(m.bytes, at, v), mutation: { kind: 'byte' as const, offset: at, value: v } })),
    );
  }
  return arb;
}

/** Arbitrary bytes that start like an IPv6 packet with a Hop-by-Hop header (version 6, Next
 * Header 0, a plausible Payload Length): pure noise where parsers first look. */
export function noisyIpv6Arb(maxLength = 256): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: 0, maxLength }).map((r) => {
    const c = Uint8Array.from(r);
    if (c.length > 0) c[0] = 0x60 | (c[0]! & 0x0f);
    if (c.length > 6) {
      const p = Math.max(0, c.length - 40);
      c[4] = p >> 8;
      c[5] = p & 0xff;
      c[6] = c[6]! & 1 ? NH_HOP_BY_HOP : c[6]!;
    }
    return c;
  });
}
