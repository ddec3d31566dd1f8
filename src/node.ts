/**
 * {@link Node}: an IOAM node (encapsulating, transit, decapsulating) over {@link PacketBatch}es,
 * one native call per batch.
 * @module
 */
import { PacketBatch, PacketMeta, PacketOutcome, metaWords } from './batch';
import { NodeConfig, NodeConfigInput, loadNodeFile, toNativeConfig, validateNodeConfig } from './config';
import { callNative } from './errors';
import { native, NativeNode } from './native';
import { Reason, ReasonName, Verdict, reasonName } from './reasons';

/** Result of a one-packet operation. */
export interface PacketResult extends PacketOutcome {
  /** The resulting packet (a copy). */
  packet: Uint8Array;
  /** Decap: the removed Hop-by-Hop header (empty if none); undefined for other operations. */
  trace?: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * An IOAM node built from a validated {@link NodeConfig}: `transit` (receiving node, Linux
 * `ipv6_hop_ioam`), `encap` (encapsulating node, Linux `ioam6_iptunnel.c`, keeps the k-of-n
 * counter) and `decap` (decapsulating node). Per-packet problems are outcomes in the batch's `out`
 * table; a thrown {@link IoamError} means misuse (e.g. inconsistent tables).
 *
 * ```ts
 * const r1 = Node.fromFile('examples/r1.yaml');
 * const batch = new PacketBatch({ capacity: 64 });
 * batch.push(bytes, { ingressIf: 0, egressIf: 1, tsSec: 1_700_000_000 });
 * r1.transit(batch);
 * ```
 */
export class Node {
  /** The validated configuration. */
  readonly config: NodeConfig;
  private readonly inner: NativeNode;

  /** Builds a node from a validated config (see {@link Node.fromConfig} for unvalidated input). */
  constructor(config: NodeConfig) {
    this.config = config;
    const { NativeNode: Ctor } = native();
    this.inner = callNative(() => new Ctor(toNativeConfig(config)));
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

  /** Resets the k-of-n counter. */
  resetEncapState(): void {
    this.inner.resetEncapState();
  }

  /** Processes every packet of the batch as a transit (receiving) node, in place. Returns the count. */
  transit(batch: PacketBatch): number {
    const t = batch.tables();
    return callNative(() => this.inner.transitBatch(t.buf, t.desc, t.meta, t.out));
  }

  /**
   * Encapsulates the batch's packets (inline, or in an outer IPv6 header), in place, using the
   * batch's CLT IDs when they were pushed (or `clt`: 24 bytes per packet).
   */
  encap(batch: PacketBatch, clt?: Uint8Array): number {
    const t = batch.tables();
    return callNative(() => this.inner.encapBatch(t.buf, t.desc, t.meta, clt ?? t.clt, t.out));
  }

  /** Decapsulates the batch's packets, in place; `batch.trace(i)` gives the removed header. */
  decap(batch: PacketBatch): number {
    const t = batch.tables();
    return callNative(() => this.inner.decapBatch(t.buf, t.desc, t.meta, t.out, t.traceArena, t.traceDesc));
  }

  /** One packet through the transit node (copies; for tools and tests). */
  transitPacket(packet: Uint8Array, meta: Partial<PacketMeta> = {}): PacketResult {
    return result(callNative(() => this.inner.transitPacket(packet, metaWords(meta))));
  }

  /** One packet through the encapsulating node (advances the k-of-n counter). */
  encapPacket(packet: Uint8Array, meta: Partial<PacketMeta> = {}, clt?: Uint8Array): PacketResult {
    return result(callNative(() => this.inner.encapPacket(packet, metaWords(meta), clt ?? EMPTY)));
  }

  /** One packet through the decapsulating node. */
  decapPacket(packet: Uint8Array, meta: Partial<PacketMeta> = {}): PacketResult {
    return result(callNative(() => this.inner.decapPacket(packet, metaWords(meta))));
  }
}

function result(o: { packet: Uint8Array; verdict: number; reason: number; offset: number; aux: number; trace?: Uint8Array }): PacketResult {
  const r: PacketResult = {
    packet: new Uint8Array(o.packet.buffer, o.packet.byteOffset, o.packet.byteLength),
    verdict: o.verdict as Verdict,
    reason: o.reason as Reason,
    reasonName: reasonName(o.reason) as ReasonName | undefined,
    offset: o.offset,
    aux: o.aux,
  };
  if (o.trace !== undefined) r.trace = new Uint8Array(o.trace.buffer, o.trace.byteOffset, o.trace.byteLength);
  return r;
}
