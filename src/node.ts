/**
 * {@link Node}: an IOAM node (encapsulating, transit, decapsulating) over {@link PacketBatch}es
 * (one native call per batch) or one packet at a time, in place (`*InPlace`, no allocation per
 * call; docs/API.md "Per-packet calls").
 * @module
 */
import { PacketBatch, PacketMeta, PacketOutcome, writeMeta } from './batch';
import { NodeConfig, NodeConfigInput, loadNodeFile, toNativeConfig, validateNodeConfig } from './config';
import { IoamError, callNative, normalizeNativeError } from './errors';
import { CLT_STRIDE, META_STRIDE, PKT_OUT_WORDS, SCRATCH_CLT, SCRATCH_CLT_LEN, SCRATCH_META, SCRATCH_OUT } from './generated/abi';
import { native, NativeInPlace, NativeNode } from './native';
import { Reason, ReasonName, Verdict, reasonName, verdictOf } from './reasons';
import type { StepTables } from './step';

/** Result of a copying one-packet call ({@link Node.transitPacketCopy} & co.). */
export interface PacketResult extends PacketOutcome {
  /** The resulting packet (a copy). */
  packet: Uint8Array;
  /** Decap: the removed Hop-by-Hop header (empty if none); undefined for other operations. */
  trace?: Uint8Array;
}

const EMPTY = new Uint8Array(0);
// Plain local copies of the ABI sizes the per-call code uses: a CommonJS build reads imported
// bindings through getters, which would cost a call per loop iteration.
const META_N: number = META_STRIDE;
const OUT_N: number = PKT_OUT_WORDS;
const CLT_N: number = CLT_STRIDE;
/** Headroom the copying calls give the packet (≥ any encap's need, see docs/API.md). */
export const COPY_HEADROOM = 512;
/** Tailroom the copying calls give the packet. */
const COPY_TAILROOM = 64;
/** Largest Hop-by-Hop header (hdrlen 255): the copying decap's trace buffer. */
const MAX_HBH = 2048;

/**
 * An IOAM node built from a validated {@link NodeConfig}: `transit` (receiving node, Linux
 * `ipv6_hop_ioam`), `encap` (encapsulating node, Linux `ioam6_iptunnel.c`, keeps the k-of-n
 * counter) and `decap` (decapsulating node). Per-packet problems are outcomes (the batch's `out`
 * table, or the reason an `*InPlace` call returns); a thrown {@link IoamError} means misuse
 * (e.g. inconsistent tables).
 *
 * ```ts
 * const r1 = Node.fromFile('examples/r1.yaml');
 * const batch = new PacketBatch({ capacity: 64 });
 * batch.push(bytes, { ingressIf: 0, egressIf: 1, tsSec: 1_700_000_000 });
 * r1.transit(batch);
 * // or one packet, in place: buf[start..start+len] is the packet, r1.out the outcome
 * const reason = r1.transitInPlace(buf, start, len);
 * ```
 */
export class Node {
  /** The validated configuration. */
  readonly config: NodeConfig;
  /**
   * The meta words (8, `META_WORD` order) the `*InPlace` calls use when they are not given a
   * `meta` argument: write the fields here once and reuse (no copy per call).
   */
  readonly meta: Uint32Array;
  /** The outcome of the last `*InPlace` call: `[reason, offset, aux, newStart, newLen]` (`PKT_OUT_WORD`). */
  readonly out: Uint32Array;
  private readonly inner: NativeNode;
  private readonly fast: NativeInPlace;
  private readonly cltLen: Uint32Array;
  private readonly cltBytes: Uint8Array;
  private copySlot = EMPTY;
  private copyTrace = EMPTY;

  /** Builds a node from a validated config (see {@link Node.fromConfig} for unvalidated input). */
  constructor(config: NodeConfig) {
    this.config = config;
    const { NativeNode: Ctor } = native();
    this.inner = callNative(() => new Ctor(toNativeConfig(config)));
    this.fast = this.inner.inPlaceFunctions();
    const s = this.fast.scratch;
    this.meta = new Uint32Array(s, SCRATCH_META * 4, META_STRIDE);
    this.out = new Uint32Array(s, SCRATCH_OUT * 4, PKT_OUT_WORDS);
    this.cltLen = new Uint32Array(s, SCRATCH_CLT_LEN * 4, 1);
    this.cltBytes = new Uint8Array(s, SCRATCH_CLT * 4, CLT_STRIDE);
    writeMeta(this.meta, 0);
  }

  /** Validates a config object (numbers, bigints, "0x.." strings) and builds the node. */
  static fromConfig(config: NodeConfigInput, fileName = '<object>'): Node {
    return new Node(validateNodeConfig(config, fileName));
  }

  /** Loads a node file (YAML, docs/DESIGN.md) and builds the node. */
  static fromFile(path: string): Node {
    return new Node(loadNodeFile(path));
  }

  get name(): string {
    return this.config.name;
  }

  /** Packets the encapsulating node has counted for k-of-n sampling. */
  get encapCount(): number {
    return this.inner.encapCount;
  }

  /** Headroom (bytes before `start`) {@link Node.encapInPlace} needs for this node (0 without `encap`). */
  get encapHeadroom(): number {
    return this.inner.encapHeadroom;
  }

  /** Resets the k-of-n counter. */
  resetEncapState(): void {
    this.inner.resetEncapState();
  }

  /** Processes every packet of the batch as a transit (receiving) node, in place. Returns the count. */
  transit(batch: PacketBatch): number {
    const t = batch.tables();
    // try/catch here rather than callNative(() => ...): no closure per batch call (the simulator's hot path).
    try {
      return this.inner.transitBatch(t.buf, t.desc, t.meta, t.out);
    } catch (e) {
      throw normalizeNativeError(e);
    }
  }

  /**
   * Encapsulates the batch's packets (inline, or in an outer IPv6 header), in place, using the
   * batch's CLT IDs when they were pushed (or `clt`: 24 bytes per packet).
   */
  encap(batch: PacketBatch, clt?: Uint8Array): number {
    const t = batch.tables();
    try {
      return this.inner.encapBatch(t.buf, t.desc, t.meta, clt ?? t.clt, t.out);
    } catch (e) {
      throw normalizeNativeError(e);
    }
  }

  /**
   * The node's whole step over the first `n` packets of step tables `t` (src/step.ts), in one
   * native call: per packet, input processing (decap or transit, as its plan flags say), the
   * forwarding hop-limit check and decrement, then encapsulation (k-of-n in packet order);
   * outcomes in `t.out1`/`t.out2`, the result in `t.status`, removed headers in `t.traceArena`.
   * The packets are in `buf` (the `desc` rows point into it). Returns `n`.
   */
  step(buf: Uint8Array, t: StepTables, n: number): number {
    try {
      return this.fast.step(buf, t.bytes, t.cap, n);
    } catch (e) {
      throw normalizeNativeError(e);
    }
  }

  /** Decapsulates the batch's packets, in place; `batch.trace(i)` gives the removed header. */
  decap(batch: PacketBatch): number {
    const t = batch.tables();
    try {
      return this.inner.decapBatch(t.buf, t.desc, t.meta, t.out, t.traceArena, t.traceDesc);
    } catch (e) {
      throw normalizeNativeError(e);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Per-packet, in place (docs/API.md "Per-packet calls")

  /**
   * One packet through the transit node, in place: the packet is `buf[start..start + len]`
   * (IPv6 header first); an rfc Incremental trace grows into the headroom before `start`.
   * `meta`: 8 words (default {@link Node.meta}); `out` (≥ 5 words, default {@link Node.out})
   * receives `[reason, offset, aux, newStart, newLen]`. Returns the reason (`Reason`; ≥ 32 =
   * drop). A packet outside `buf` is `DropBadDescriptor`. Allocates nothing.
   */
  transitInPlace(buf: Uint8Array, start: number, len: number, meta?: Uint32Array, out?: Uint32Array): number {
    if (meta !== undefined && meta !== this.meta) this.loadMeta(meta);
    if (out !== undefined && out.length < OUT_N) throw shortOut();
    let r: number;
    try {
      r = this.fast.transit(buf, start, len);
    } catch (e) {
      throw normalizeNativeError(e);
    }
    if (out !== undefined && out !== this.out) this.storeOut(out);
    return r;
  }

  /**
   * One packet through the encapsulating node, in place (advances the k-of-n counter). The
   * option (and outer header) go into the headroom: `start` must be ≥ {@link Node.encapHeadroom},
   * otherwise the outcome is `DropNoRoom` and the packet is untouched. `clt`: the packet's CLT
   * IDs (24 bytes: trace ID, span ID) or none. Otherwise as {@link Node.transitInPlace}.
   */
  encapInPlace(buf: Uint8Array, start: number, len: number, meta?: Uint32Array, out?: Uint32Array, clt?: Uint8Array): number {
    if (meta !== undefined && meta !== this.meta) this.loadMeta(meta);
    if (out !== undefined && out.length < OUT_N) throw shortOut();
    if (clt === undefined || clt.length === 0) {
      this.cltLen[0] = 0;
    } else {
      if (clt.length !== CLT_N) throw new IoamError('ERR_IOAM_BAD_LENGTH', 'clt', 0, 'clt must be empty or 24 bytes (trace ID 16, span ID 8)');
      this.cltBytes.set(clt);
      this.cltLen[0] = CLT_N;
    }
    let r: number;
    try {
      r = this.fast.encap(buf, start, len);
    } catch (e) {
      throw normalizeNativeError(e);
    }
    if (out !== undefined && out !== this.out) this.storeOut(out);
    return r;
  }

  /**
   * One packet through the decapsulating node, in place (the packet only shrinks: no headroom
   * needed). The removed Hop-by-Hop header is copied to `trace[0..aux]` when it fits (a Hop-by-Hop
   * header is at most 2048 bytes); aux = 0 when there was none or it did not fit (no `trace`).
   * Otherwise as {@link Node.transitInPlace}.
   */
  decapInPlace(buf: Uint8Array, start: number, len: number, meta?: Uint32Array, out?: Uint32Array, trace: Uint8Array = EMPTY): number {
    if (meta !== undefined && meta !== this.meta) this.loadMeta(meta);
    if (out !== undefined && out.length < OUT_N) throw shortOut();
    let r: number;
    try {
      r = this.fast.decap(buf, start, len, trace);
    } catch (e) {
      throw normalizeNativeError(e);
    }
    if (out !== undefined && out !== this.out) this.storeOut(out);
    return r;
  }

  private loadMeta(meta: Uint32Array): void {
    if (meta.length < META_N) throw new IoamError('ERR_IOAM_BAD_DESCRIPTOR', 'batch', 0, 'meta needs 8 u32 words');
    const m = this.meta;
    for (let i = 0; i < META_N; i++) m[i] = meta[i]!;
  }

  private storeOut(out: Uint32Array): void {
    const o = this.out;
    for (let i = 0; i < OUT_N; i++) out[i] = o[i]!;
  }

  // -------------------------------------------------------------------------------------------
  // Per-packet, copying (for tools and tests: allocate the result)

  /** One packet through the transit node; the packet is copied in and the result out (512 B headroom). */
  transitPacketCopy(packet: Uint8Array, meta: Partial<PacketMeta> = {}): PacketResult {
    const start = this.copyIn(packet, meta);
    this.transitInPlace(this.copySlot, start, packet.length);
    return this.copyOut();
  }

  /** One packet through the encapsulating node (advances the k-of-n counter); copies as {@link Node.transitPacketCopy}. */
  encapPacketCopy(packet: Uint8Array, meta: Partial<PacketMeta> = {}, clt?: Uint8Array): PacketResult {
    const start = this.copyIn(packet, meta);
    this.encapInPlace(this.copySlot, start, packet.length, undefined, undefined, clt);
    return this.copyOut();
  }

  /** One packet through the decapsulating node; `trace` is a copy of the removed Hop-by-Hop header. */
  decapPacketCopy(packet: Uint8Array, meta: Partial<PacketMeta> = {}): PacketResult {
    const start = this.copyIn(packet, meta);
    if (this.copyTrace.length === 0) this.copyTrace = new Uint8Array(MAX_HBH);
    this.decapInPlace(this.copySlot, start, packet.length, undefined, undefined, this.copyTrace);
    const r = this.copyOut();
    r.trace = this.copyTrace.slice(0, r.aux);
    return r;
  }

  /** @deprecated Use {@link Node.transitPacketCopy} (same behaviour) or {@link Node.transitInPlace}. */
  transitPacket(packet: Uint8Array, meta: Partial<PacketMeta> = {}): PacketResult {
    return this.transitPacketCopy(packet, meta);
  }

  /** @deprecated Use {@link Node.encapPacketCopy} (same behaviour) or {@link Node.encapInPlace}. */
  encapPacket(packet: Uint8Array, meta: Partial<PacketMeta> = {}, clt?: Uint8Array): PacketResult {
    return this.encapPacketCopy(packet, meta, clt);
  }

  /** @deprecated Use {@link Node.decapPacketCopy} (same behaviour) or {@link Node.decapInPlace}. */
  decapPacket(packet: Uint8Array, meta: Partial<PacketMeta> = {}): PacketResult {
    return this.decapPacketCopy(packet, meta);
  }

  /** Puts `packet` after {@link COPY_HEADROOM} bytes of the reused copy slot and `meta` in the scratch. */
  private copyIn(packet: Uint8Array, meta: Partial<PacketMeta>): number {
    const need = COPY_HEADROOM + packet.length + COPY_TAILROOM;
    if (this.copySlot.length < need) this.copySlot = new Uint8Array(Math.max(need, 2048));
    this.copySlot.fill(0);
    this.copySlot.set(packet, COPY_HEADROOM);
    writeMeta(this.meta, 0, meta);
    return COPY_HEADROOM;
  }

  private copyOut(): PacketResult {
    const [reason, offset, aux, start, len] = this.out as unknown as [number, number, number, number, number];
    const name = reasonName(reason) as ReasonName | undefined;
    return {
      packet: this.copySlot.slice(start, start + len),
      verdict: verdictOf(reason) as Verdict,
      reason: reason as Reason,
      reasonName: name,
      offset,
      aux,
    };
  }
}

function shortOut(): IoamError {
  return new IoamError('ERR_IOAM_BAD_DESCRIPTOR', 'batch', 0, 'out needs 5 u32 words');
}
