/**
 * {@link PacketBatch}: packets in fixed-size slots of one buffer plus the `desc`/`meta`/`out`
 * tables of the batch ABI (docs/DESIGN.md "Batch ABI"), ready for one native call per batch.
 *
 * Everything lives in a single `ArrayBuffer` or `SharedArrayBuffer`, laid out as
 * `[header | desc | meta | out | traceDesc | slots | clt | traceArena]`, so a batch can be handed
 * to a worker as one buffer ({@link PacketBatch.attach}). The header holds the layout and the
 * packet count. Bytes are copied once, by {@link PacketBatch.push} (or written in place into the
 * view {@link PacketBatch.reserve} returns); operations then work in place.
 * @module
 */
import { IoamError } from './errors';
import * as abi from './generated/abi';
import { Reason, ReasonName, Verdict, reasonName } from './reasons';

// The batch ABI's sizes and word orders (src/generated/abi.ts, rendered from
// crates/ioam-core/src/abi.rs), as plain module constants: a CommonJS build reads imported
// bindings through getters, which the per-packet loops below should not pay for.
/** u32 words per packet in `desc`: `[slot_start, slot_end, off, len]`. */
export const DESC_STRIDE = abi.DESC_STRIDE;
/** u32 words per packet in `meta`. */
export const META_STRIDE = abi.META_STRIDE;
/** u32 words per packet in `out`: `[verdict, reason, offset, aux]`. */
export const OUT_STRIDE = abi.OUT_STRIDE;
/** u32 words per packet in `traceDesc`: `[arena offset, length]`. */
export const TRACE_DESC_STRIDE = abi.TRACE_DESC_STRIDE;
/** Bytes per packet in `clt`: trace ID (16) + span ID (8). */
export const CLT_STRIDE = abi.CLT_STRIDE;
/** Interface index "none" (ingress: locally generated; egress: local delivery). */
export const IF_NONE = abi.IF_NONE;
/** The all-ones "unavailable" value of the u32 meta fields. */
export const UNAVAILABLE = abi.UNAVAILABLE;
/** Meta flag: no RX timestamp (timestamps are written as all-ones). */
export const META_F_NO_TSTAMP = abi.META_F_NO_TSTAMP;
const META_WORD = abi.META_WORD;
const DESC_WORD = abi.DESC_WORD;
const OUT_WORD = abi.OUT_WORD;

/** Per-packet inputs (the `meta` table). Interfaces are indices into the node's `interfaces`. */
export interface PacketMeta {
  /** Interface the packet arrived on; {@link IF_NONE} (default) = locally generated. */
  ingressIf: number;
  /** Routed output interface; {@link IF_NONE} (default) = local delivery. */
  egressIf: number;
  /** Receive time: POSIX seconds (u32) and nanoseconds. Default 0. */
  tsSec: number;
  tsNsec: number;
  /** Egress queue backlog in bytes; default unavailable (0xFFFFFFFF). */
  queueDepth: number;
  /** Transit delay in ns (rfc profile); default unavailable. */
  transitDelayNs: number;
  /** Buffer occupancy (rfc profile); default unavailable. */
  bufferOccupancy: number;
  /** `META_F_*` flags. Default 0. */
  flags: number;
}

/** Core `Meta::default()`. */
export const DEFAULT_META: Readonly<PacketMeta> = Object.freeze({
  ingressIf: IF_NONE,
  egressIf: IF_NONE,
  tsSec: 0,
  tsNsec: 0,
  queueDepth: UNAVAILABLE,
  transitDelayNs: UNAVAILABLE,
  bufferOccupancy: UNAVAILABLE,
  flags: 0,
});

/** The "no fields given" meta argument (shared: defaults are written without building an object). */
const NO_META: Readonly<Partial<PacketMeta>> = Object.freeze({});

const META_KEYS = ['ingressIf', 'egressIf', 'tsSec', 'tsNsec', 'queueDepth', 'transitDelayNs', 'bufferOccupancy', 'flags'] as const satisfies readonly (keyof PacketMeta)[];

/** Writes `meta` (defaults for missing fields) as 8 u32 words at `words[at..]`; a field that is not a u32 is an IoamError (ERR_IOAM_BAD_VALUE, layer batch). */
export function writeMeta(words: Uint32Array, at: number, meta: Partial<PacketMeta> = NO_META): void {
  if (meta === NO_META) {
    words[at + META_WORD.ingressIf] = IF_NONE;
    words[at + META_WORD.egressIf] = IF_NONE;
    words[at + META_WORD.tsSec] = 0;
    words[at + META_WORD.tsNsec] = 0;
    words[at + META_WORD.queueDepth] = UNAVAILABLE;
    words[at + META_WORD.transitDelayNs] = UNAVAILABLE;
    words[at + META_WORD.bufferOccupancy] = UNAVAILABLE;
    words[at + META_WORD.flags] = 0;
    return;
  }
  const m = { ...DEFAULT_META, ...meta };
  // Each word is a u32 (IF_NONE and UNAVAILABLE included): -5 or NaN would be stored as some other number.
  for (const k of META_KEYS) {
    const v = m[k];
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new IoamError('ERR_IOAM_BAD_VALUE', 'batch', 0, `packet meta ${k} must be an integer 0..4294967295 (IF_NONE / UNAVAILABLE for none), got ${String(v)}`);
    }
  }
  words[at + META_WORD.ingressIf] = m.ingressIf;
  words[at + META_WORD.egressIf] = m.egressIf;
  words[at + META_WORD.tsSec] = m.tsSec;
  words[at + META_WORD.tsNsec] = m.tsNsec;
  words[at + META_WORD.queueDepth] = m.queueDepth;
  words[at + META_WORD.transitDelayNs] = m.transitDelayNs;
  words[at + META_WORD.bufferOccupancy] = m.bufferOccupancy;
  words[at + META_WORD.flags] = m.flags;
}

/** 8 meta words for a one-packet call. */
export function metaWords(meta: Partial<PacketMeta> = {}): Uint32Array {
  const w = new Uint32Array(META_STRIDE);
  writeMeta(w, 0, meta);
  return w;
}

/** What an operation did to one packet (the `out` table, decoded). */
export interface PacketOutcome {
  /** 0 pass, 1 drop. */
  verdict: Verdict;
  /** Numeric {@link Reason}. */
  reason: Reason;
  /** {@link Reason} name, e.g. `'Written'` (`undefined` for an unknown value). */
  reasonName: ReasonName | undefined;
  /** Byte offset in the packet the reason refers to. */
  offset: number;
  /** Operation-specific: transit = options processed (| 1<<31 loopback); encap = bytes inserted; decap = trace bytes. */
  aux: number;
}

/** The batch tables cut to the current length ({@link PacketBatch.tables}). */
export interface BatchTables {
  buf: Uint8Array;
  desc: Uint32Array;
  meta: Uint32Array;
  out: Uint32Array;
  clt: Uint8Array;
  traceArena: Uint8Array;
  traceDesc: Uint32Array;
}

/** Sizes of a batch. */
export interface PacketBatchOptions {
  /** Maximum number of packets. */
  capacity: number;
  /** Bytes per slot (headroom + packet + tailroom). Default 2048. */
  slotSize?: number;
  /** Bytes before each packet, for headers an encapsulating node inserts. Default 384. */
  headroom?: number;
  /** Decap arena bytes per packet (the arena is `capacity × traceSlotSize`; the core packs the
   * removed Hop-by-Hop headers one after the other and gives a trace that does not fit length 0).
   * Default 512 (a Linux-built IOAM HbH is at most 264 B). */
  traceSlotSize?: number;
  /** Allocate a `SharedArrayBuffer` (for workers) instead of an `ArrayBuffer`. Default false. */
  shared?: boolean;
}

const MAGIC = 0x42414f49; // "IOAB" little-endian
const VERSION = 1;
const HEADER_WORDS = 8;
// header word indices
const H_MAGIC = 0,
  H_VERSION = 1,
  H_CAPACITY = 2,
  H_SLOT = 3,
  H_HEADROOM = 4,
  H_TRACE_SLOT = 5,
  H_LENGTH = 6,
  H_HAS_CLT = 7;

function align8(n: number): number {
  return (n + 7) & ~7;
}

interface Layout {
  capacity: number;
  slotSize: number;
  headroom: number;
  traceSlotSize: number;
  descAt: number;
  metaAt: number;
  outAt: number;
  traceDescAt: number;
  bufAt: number;
  cltAt: number;
  arenaAt: number;
  total: number;
}

function layout(capacity: number, slotSize: number, headroom: number, traceSlotSize: number): Layout {
  const descAt = HEADER_WORDS * 4;
  const metaAt = descAt + capacity * DESC_STRIDE * 4;
  const outAt = metaAt + capacity * META_STRIDE * 4;
  const traceDescAt = outAt + capacity * OUT_STRIDE * 4;
  const bufAt = align8(traceDescAt + capacity * TRACE_DESC_STRIDE * 4);
  const cltAt = bufAt + capacity * slotSize;
  const arenaAt = align8(cltAt + capacity * CLT_STRIDE);
  const total = align8(arenaAt + capacity * traceSlotSize);
  return { capacity, slotSize, headroom, traceSlotSize, descAt, metaAt, outAt, traceDescAt, bufAt, cltAt, arenaAt, total };
}

function checkSize(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`PacketBatch: ${name} must be an integer in ${min}..=${max}, got ${v}`);
  return v;
}

/**
 * A batch of packets in one buffer. Not thread-safe: hand a shared batch to one thread at a time.
 *
 * ```ts
 * const batch = new PacketBatch({ capacity: 64 });
 * batch.push(packetBytes, { ingressIf: 0, egressIf: 1, tsSec: 1700000000 });
 * node.transit(batch);
 * batch.outcome(0).reasonName; // 'Written'
 * batch.packet(0);             // the packet bytes, in place
 * ```
 */
export class PacketBatch {
  /** The single underlying buffer (pass it to a worker and {@link PacketBatch.attach} there). */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly capacity: number;
  readonly slotSize: number;
  readonly headroom: number;
  readonly traceSlotSize: number;
  /** All slots; `desc` offsets are absolute in it. */
  readonly buf: Uint8Array;
  /** `[slot_start, slot_end, off, len]` per packet (capacity entries). */
  readonly desc: Uint32Array;
  /** 8 words per packet, see {@link PacketMeta}. */
  readonly meta: Uint32Array;
  /** `[verdict, reason, offset, aux]` per packet. */
  readonly out: Uint32Array;
  /** 24 bytes per packet: CLT trace ID + span ID for an encapsulating node. */
  readonly clt: Uint8Array;
  /** Decap: removed Hop-by-Hop headers, packed in packet order. */
  readonly traceArena: Uint8Array;
  /** Decap: `[arena offset, length]` per packet. */
  readonly traceDesc: Uint32Array;
  private readonly header: Uint32Array;

  constructor(opts: PacketBatchOptions);
  /** @internal attach to an existing buffer */
  constructor(opts: PacketBatchOptions, buffer: ArrayBuffer | SharedArrayBuffer);
  constructor(opts: PacketBatchOptions, existing?: ArrayBuffer | SharedArrayBuffer) {
    const capacity = checkSize('capacity', opts.capacity, 1, 1 << 20);
    const slotSize = checkSize('slotSize', opts.slotSize ?? 2048, 48, 1 << 20);
    const headroom = checkSize('headroom', opts.headroom ?? 384, 0, slotSize - 40);
    const traceSlotSize = checkSize('traceSlotSize', opts.traceSlotSize ?? 512, 0, 1 << 16);
    const L = layout(capacity, slotSize, headroom, traceSlotSize);
    if (L.total > 0xffffffff || capacity * slotSize > 0xffffffff) throw new RangeError('PacketBatch: larger than 4 GiB');
    const buffer = existing ?? (opts.shared ? new SharedArrayBuffer(L.total) : new ArrayBuffer(L.total));
    if (buffer.byteLength < L.total) throw new RangeError(`PacketBatch: buffer of ${buffer.byteLength} bytes, layout needs ${L.total}`);
    this.buffer = buffer;
    this.capacity = capacity;
    this.slotSize = slotSize;
    this.headroom = headroom;
    this.traceSlotSize = traceSlotSize;
    this.header = new Uint32Array(buffer, 0, HEADER_WORDS);
    this.desc = new Uint32Array(buffer, L.descAt, capacity * DESC_STRIDE);
    this.meta = new Uint32Array(buffer, L.metaAt, capacity * META_STRIDE);
    this.out = new Uint32Array(buffer, L.outAt, capacity * OUT_STRIDE);
    this.traceDesc = new Uint32Array(buffer, L.traceDescAt, capacity * TRACE_DESC_STRIDE);
    this.buf = new Uint8Array(buffer, L.bufAt, capacity * slotSize);
    this.clt = new Uint8Array(buffer, L.cltAt, capacity * CLT_STRIDE);
    this.traceArena = new Uint8Array(buffer, L.arenaAt, capacity * traceSlotSize);
    if (!existing) {
      const h = this.header;
      h[H_MAGIC] = MAGIC;
      h[H_VERSION] = VERSION;
      h[H_CAPACITY] = capacity;
      h[H_SLOT] = slotSize;
      h[H_HEADROOM] = headroom;
      h[H_TRACE_SLOT] = traceSlotSize;
      h[H_LENGTH] = 0;
      h[H_HAS_CLT] = 0;
    }
  }

  /** A batch over a buffer made by another `PacketBatch` (e.g. received by a worker). */
  static attach(buffer: ArrayBuffer | SharedArrayBuffer): PacketBatch {
    if (buffer.byteLength < HEADER_WORDS * 4) throw new RangeError('PacketBatch.attach: buffer too small');
    const h = new Uint32Array(buffer, 0, HEADER_WORDS);
    if (h[H_MAGIC] !== MAGIC || h[H_VERSION] !== VERSION) throw new RangeError('PacketBatch.attach: not a PacketBatch buffer');
    return new PacketBatch(
      { capacity: h[H_CAPACITY]!, slotSize: h[H_SLOT]!, headroom: h[H_HEADROOM]!, traceSlotSize: h[H_TRACE_SLOT]! },
      buffer,
    );
  }

  /** Number of packets in the batch. */
  get length(): number {
    return this.header[H_LENGTH]!;
  }

  /** Whether CLT IDs were given for any packet (then `clt` is passed to the encapsulating node). */
  get hasClt(): boolean {
    return this.header[H_HAS_CLT] !== 0;
  }

  /** Largest packet a slot takes. */
  get maxPacketBytes(): number {
    return this.slotSize - this.headroom;
  }

  /**
   * Reserves the next slot for a packet of `len` bytes and returns the view to write it into
   * (zero-copy producers). Returns the index via {@link PacketBatch.length} − 1.
   */
  reserve(len: number, meta: Partial<PacketMeta> = NO_META, clt?: Uint8Array): Uint8Array {
    const i = this.reserveSlot(len, meta, clt);
    const off = this.desc[i * DESC_STRIDE + DESC_WORD.off]!;
    return this.buf.subarray(off, off + len);
  }

  /** {@link PacketBatch.reserve} without building the view: returns the packet's index. */
  private reserveSlot(len: number, meta: Partial<PacketMeta>, clt: Uint8Array | undefined): number {
    const i = this.length;
    if (i >= this.capacity) throw new IoamError('ERR_IOAM_NO_ROOM', 'batch', i, `batch is full (${this.capacity} packets)`);
    if (!Number.isInteger(len) || len < 0 || len > this.maxPacketBytes) {
      throw new IoamError('ERR_IOAM_NO_ROOM', 'batch', i, `packet of ${len} bytes does not fit a slot (max ${this.maxPacketBytes})`);
    }
    const slotStart = i * this.slotSize;
    const off = slotStart + this.headroom;
    const d = i * DESC_STRIDE;
    this.desc[d + DESC_WORD.slotStart] = slotStart;
    this.desc[d + DESC_WORD.slotEnd] = slotStart + this.slotSize;
    this.desc[d + DESC_WORD.off] = off;
    this.desc[d + DESC_WORD.len] = len;
    writeMeta(this.meta, i * META_STRIDE, meta);
    const o = i * OUT_STRIDE;
    this.out[o + OUT_WORD.verdict] = 0;
    this.out[o + OUT_WORD.reason] = 0;
    this.out[o + OUT_WORD.offset] = 0;
    this.out[o + OUT_WORD.aux] = 0;
    if (clt) {
      if (clt.length !== CLT_STRIDE) throw new IoamError('ERR_IOAM_BAD_LENGTH', 'clt', 0, 'CLT IDs must be 24 bytes (trace ID 16, span ID 8)');
      this.clt.set(clt, i * CLT_STRIDE);
      this.header[H_HAS_CLT] = 1;
    } else {
      this.clt.fill(0, i * CLT_STRIDE, (i + 1) * CLT_STRIDE);
    }
    this.traceDesc[i * TRACE_DESC_STRIDE] = i * this.traceSlotSize;
    this.traceDesc[i * TRACE_DESC_STRIDE + 1] = 0;
    this.header[H_LENGTH] = i + 1;
    return i;
  }

  /** Copies a packet (IPv6 header first) into the next slot; returns its index. */
  push(packet: Uint8Array, meta: Partial<PacketMeta> = NO_META, clt?: Uint8Array): number {
    const i = this.reserveSlot(packet.length, meta, clt);
    this.buf.set(packet, this.desc[i * DESC_STRIDE + DESC_WORD.off]!);
    return i;
  }

  /** The packet's current bytes (a view into the batch buffer, valid until the next operation or reset). */
  packet(i: number): Uint8Array {
    this.check(i);
    const off = this.desc[i * DESC_STRIDE + DESC_WORD.off]!;
    const len = this.desc[i * DESC_STRIDE + DESC_WORD.len]!;
    return this.buf.subarray(off, off + len);
  }

  /** The packet's meta words, decoded. */
  packetMeta(i: number): PacketMeta {
    this.check(i);
    const m = this.meta.subarray(i * META_STRIDE, (i + 1) * META_STRIDE);
    return {
      ingressIf: m[META_WORD.ingressIf]!,
      egressIf: m[META_WORD.egressIf]!,
      tsSec: m[META_WORD.tsSec]!,
      tsNsec: m[META_WORD.tsNsec]!,
      queueDepth: m[META_WORD.queueDepth]!,
      transitDelayNs: m[META_WORD.transitDelayNs]!,
      bufferOccupancy: m[META_WORD.bufferOccupancy]!,
      flags: m[META_WORD.flags]!,
    };
  }

  /** Replaces packet `i`'s meta (e.g. between a transit and the next hop). */
  setMeta(i: number, meta: Partial<PacketMeta>): void {
    this.check(i);
    writeMeta(this.meta, i * META_STRIDE, meta);
  }

  /** What the last operation did to packet `i`. */
  outcome(i: number): PacketOutcome {
    this.check(i);
    const o = i * OUT_STRIDE;
    const reason = this.out[o + OUT_WORD.reason]! as Reason;
    return {
      verdict: this.out[o + OUT_WORD.verdict]! as Verdict,
      reason,
      reasonName: reasonName(reason),
      offset: this.out[o + OUT_WORD.offset]!,
      aux: this.out[o + OUT_WORD.aux]!,
    };
  }

  /** Decap: the Hop-by-Hop header removed from packet `i` (a view; empty if none). */
  trace(i: number): Uint8Array {
    this.check(i);
    const at = this.traceDesc[i * TRACE_DESC_STRIDE]!;
    const len = this.traceDesc[i * TRACE_DESC_STRIDE + 1]!;
    if (len === 0) return this.traceArena.subarray(0, 0);
    return this.traceArena.subarray(at, Math.min(at + len, this.traceArena.length));
  }

  /** Empties the batch (the buffer is reused). */
  reset(): void {
    this.header[H_LENGTH] = 0;
    this.header[H_HAS_CLT] = 0;
  }

  /**
   * The tables cut to the current length, as the native calls take them. The object is cached
   * while the length and the CLT flag stay the same (views, no copies): treat it as read-only.
   */
  tables(): BatchTables {
    const n = this.length;
    const hasClt = this.hasClt;
    const c = this.cachedTables;
    if (c !== undefined && this.cachedLength === n && this.cachedHasClt === hasClt) return c;
    const t = this.cutTables(n);
    this.cachedTables = t;
    this.cachedLength = n;
    this.cachedHasClt = hasClt;
    return t;
  }

  private cachedTables: BatchTables | undefined;
  private cachedLength = -1;
  private cachedHasClt = false;

  private cutTables(n: number): BatchTables {
    return {
      buf: this.buf,
      desc: this.desc.subarray(0, n * DESC_STRIDE),
      meta: this.meta.subarray(0, n * META_STRIDE),
      out: this.out.subarray(0, n * OUT_STRIDE),
      clt: this.hasClt ? this.clt.subarray(0, n * CLT_STRIDE) : this.clt.subarray(0, 0),
      traceArena: this.traceArena,
      traceDesc: this.traceDesc.subarray(0, n * TRACE_DESC_STRIDE),
    };
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`PacketBatch: no packet ${i} (length ${this.length})`);
  }
}
