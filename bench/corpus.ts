/**
 * The benchmark corpus (mirrors `crates/ioam-bench/src/lib.rs`, so the Rust floor, the callgrind
 * counts and these suites measure the same work):
 * - nodes `h1` (encapsulating, inline, namespace 123), `r1` (transit), `h2` (decapsulating);
 * - one IPv6/UDP packet (64 octets of UDP) that `h1` encapsulates with the trace type and size
 *   under test — what `r1` and `h2` receive;
 * - batches of slots of {@link SLOT} octets with {@link HEADROOM} octets of headroom.
 *
 * Operations change packets in place, so each round first puts back the bytes the operation
 * changes ({@link Workload.reset}); the reset is timed on its own and subtracted.
 * @module
 */
import { Node, PacketBatch, IF_NONE, UNAVAILABLE, Reason, type NodeConfigInput, type PacketMeta } from '../src/index';

export const SLOT = 768;
export const HEADROOM = 320;
export const UDP_LEN = 64;
export const NS = 123;
export const TS_SEC = 1_700_000_000;
export const TS_NSEC = 123_456_789;

/** Trace types: 1 field, 4 fields, all fields Linux encapsulates (bits 0-11 + Opaque State Snapshot). */
export const TRACE_TYPES = { '1': 0x800000, '4': 0xf00000, all: 0xfff002 } as const;
export type TypeName = keyof typeof TRACE_TYPES;

export type Op = 'encap' | 'transit-prealloc' | 'transit-incremental' | 'decap';
export const OPS: readonly Op[] = ['encap', 'transit-prealloc', 'transit-incremental', 'decap'];

const iface = (name: string, id: number, wide: number) => ({ name, ioam6_enabled: true, ioam6_id: id, ioam6_id_wide: wide });

export function encapNodeConfig(traceType: number, size: number, incremental: boolean): NodeConfigInput {
  return {
    name: 'h1',
    profile: incremental ? 'rfc' : 'linux',
    ioam6_id: 1,
    ioam6_id_wide: 0x1111111111,
    interfaces: [iface('h1-r1', 101, 101101)],
    namespaces: [{ id: NS, data: 0xdeadbeef, wide: 0xcafec0caf00dc0den }],
    encap: { mode: 'inline', trace: { type: traceType, ns: NS, size, incremental } },
  } as NodeConfigInput;
}

export function transitNodeConfig(rfc: boolean): NodeConfigInput {
  return {
    name: 'r1',
    profile: rfc ? 'rfc' : 'linux',
    ioam6_id: 2,
    ioam6_id_wide: 0x2222222222,
    interfaces: [iface('r1-h1', 201, 201201), iface('r1-r2', 202, 202202)],
    namespaces: [{ id: NS, data: 0x12345678, wide: 0x1122334455667788n }],
  } as NodeConfigInput;
}

export function decapNodeConfig(): NodeConfigInput {
  return {
    name: 'h2',
    ioam6_id: 4,
    ioam6_id_wide: 0x4444444444,
    interfaces: [iface('h2-r2', 401, 401401)],
    namespaces: [{ id: NS }],
  } as NodeConfigInput;
}

export function nodeConfigFor(op: Op, traceType: number, size: number): NodeConfigInput {
  switch (op) {
    case 'encap':
      return encapNodeConfig(traceType, size, false);
    case 'transit-prealloc':
      return transitNodeConfig(false);
    case 'transit-incremental':
      return transitNodeConfig(true);
    case 'decap':
      return decapNodeConfig();
  }
}

/** IPv6/UDP 2001:db8:1::1 → 2001:db8:2::2, hop limit 64, 64 octets of UDP. */
export function basePacket(): Uint8Array {
  const p = new Uint8Array(40 + UDP_LEN);
  const v = new DataView(p.buffer);
  p[0] = 0x60;
  v.setUint16(4, UDP_LEN);
  p[6] = 17;
  p[7] = 64;
  p.set([0x20, 0x01, 0x0d, 0xb8], 8);
  p[13] = 1;
  p[23] = 1;
  p.set([0x20, 0x01, 0x0d, 0xb8], 24);
  p[29] = 2;
  p[39] = 2;
  v.setUint16(40, 4242);
  v.setUint16(42, 4243);
  v.setUint16(44, UDP_LEN);
  for (let i = 48; i < p.length; i++) p[i] = (i - 48) & 0xff;
  return p;
}

/** Meta per operation: encap = locally generated, out on 0; transit = 0 → 1, 1500 B queued; decap = in on 0, local delivery. */
export function metaFor(op: Op): Partial<PacketMeta> {
  const m = { tsSec: TS_SEC, tsNsec: TS_NSEC };
  switch (op) {
    case 'encap':
      return { ...m, ingressIf: IF_NONE, egressIf: 0 };
    case 'transit-prealloc':
    case 'transit-incremental':
      return { ...m, ingressIf: 0, egressIf: 1, queueDepth: 1500 };
    case 'decap':
      return { ...m, ingressIf: 0, egressIf: IF_NONE, queueDepth: UNAVAILABLE };
  }
}

/** The packet the operation's node receives (the base packet as `h1` encapsulated it, for transit/decap). */
export function inputPacket(op: Op, traceType: number, size: number): Uint8Array {
  const base = basePacket();
  if (op === 'encap') return base;
  const h1 = Node.fromConfig(encapNodeConfig(traceType, size, op === 'transit-incremental'));
  const r = h1.encapPacketCopy(base, metaFor('encap'));
  if (r.reason !== Reason.Encapsulated) throw new Error(`bench corpus: h1 did not encapsulate (${r.reasonName})`);
  return r.packet.slice();
}

/** Octets the operation changes, from the packet start (see the Rust `reset_range`). */
export function resetRange(op: Op, pkt: Uint8Array): [number, number] {
  const hbh = ((pkt[41] ?? 0) + 1) * 8;
  switch (op) {
    case 'encap':
      return [0, 40];
    case 'transit-prealloc':
      return [48, 52];
    default:
      return [0, 40 + hbh];
  }
}

/** A filled batch plus what is needed to put it back before each round. */
export interface Workload {
  op: Op;
  typeName: TypeName;
  traceType: number;
  size: number;
  n: number;
  node: Node;
  batch: PacketBatch;
  /** The input packet (for the one-call-per-packet path, which copies). */
  packet: Uint8Array;
  meta: Partial<PacketMeta>;
  /** Puts back the changed bytes and the descriptors (word copies: cheap and the same for every path). */
  reset(): void;
}

export function workload(op: Op, typeName: TypeName, size: number, n: number): Workload {
  const traceType = TRACE_TYPES[typeName];
  const packet = inputPacket(op, traceType, size);
  const meta = metaFor(op);
  const node = Node.fromConfig(nodeConfigFor(op, traceType, size));
  const batch = new PacketBatch({ capacity: n, slotSize: SLOT, headroom: HEADROOM, traceSlotSize: 512 });
  for (let i = 0; i < n; i++) batch.push(packet, meta);
  const [a, b] = resetRange(op, packet);
  // [off+a, off+b) of each packet from a pristine copy: one TypedArray.set (a memcpy) per packet
  // from views made here once; single words (Pre-allocated transit) by a plain store.
  const buf = batch.buf;
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
  const pristine = buf.slice();
  const pWords = new Uint32Array(pristine.buffer);
  const desc = batch.desc;
  const pDesc = desc.slice(0, n * 4);
  const at = Int32Array.from({ length: n }, (_, i) => pDesc[i * 4 + 2]! + a);
  const views = Array.from({ length: n }, (_, i) => pristine.subarray(at[i]!, at[i]! + b - a));
  const oneWord = b - a === 4 && a % 4 === 0;
  const reset = oneWord
    ? (): void => {
        for (let i = 0; i < n; i++) {
          const w = at[i]! >> 2;
          words[w] = pWords[w]!;
          desc[i * 4 + 2] = pDesc[i * 4 + 2]!;
          desc[i * 4 + 3] = pDesc[i * 4 + 3]!;
        }
      }
    : (): void => {
        for (let i = 0; i < n; i++) {
          buf.set(views[i]!, at[i]!);
          desc[i * 4 + 2] = pDesc[i * 4 + 2]!;
          desc[i * 4 + 3] = pDesc[i * 4 + 3]!;
        }
      };
  return { op, typeName, traceType, size, n, node, batch, packet, meta, reset };
}
