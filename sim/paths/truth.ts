/**
 * Routing truth for IOAM traces: the path a traced packet must have taken according to the
 * simulator's forwarding tables (sim/routing), compared with the path its trace shows.
 *
 * For each hop of the trace the node's table in force at that hop's timestamp (bits 2-3, a window
 * of one microsecond, Linux's unit; without timestamps anything up to the decapsulation time) is
 * asked for the next hop of the packet as that node received it: the encapsulating node sees the
 * original packet (in tunnel mode its route goes toward the tunnel endpoint), later nodes see it
 * with the Hop-by-Hop header (inline) or inside the outer header (tunnel), rebuilt from the
 * removed header. Nodes that add no data (not in the namespace, or IOAM off on the ingress
 * interface) are walked through. The egress interface id of every hop is compared too (bit 1).
 * @module
 */
import type { Fib } from '../routing/fib';
import * as hash from '../routing/hash';
import { ROUTE_LOCAL, ROUTE_NONE } from '../routing/fib';
import type { Network, SimNode, SimPacket, TraceRecord } from '../network';
import { TRACE_FLAG_OVERFLOW, TRACE_HOP_WORD as HW, TRACE_OPT_WORD as OW } from '../../src/traceflat';
import * as trace from '../trace';
import type { SimTrace, TraceOption } from '../trace';

// Module-local copies of imported functions and constants: hot paths then call a local, not an
// export binding (under tsx every export binding is read through a getter).
const { firstOption, hopAt, nextOption, optionCount, optionObject } = trace;
const { multipathHash } = hash;

/** Seeds of the two fingerprint hashes. */
const FP_SEED0 = 0x9e3779b9, FP_SEED1 = 0x7f4a7c15;

/** Trace-Type bits the check reads: node id (0), interfaces (1), timestamp seconds + fraction (2, 3). */
const TT_NODE_ID = 0x800000, TT_IFS = 0x400000, TT_TS = 0x300000;
// Module-local copies of the layout (a hot loop then reads a constant, not an export binding).
const O_TT = OW.traceType, O_NS = OW.ns, O_FLAGS = OW.flags, O_HOPS = OW.hops, F_OVERFLOW = TRACE_FLAG_OVERFLOW;
const H_TS = HW.tsSec, H_TF = HW.tsFrac, H_ID = HW.nodeId, H_OUT = HW.egressIf;

/** A memoized verdict "agrees" (undefined from the memo means not memoized). */
const AGREES = 0;
type Verdict = string | null | typeof AGREES;
/** A memoized verdict and the whole key it is for (the map is by the key's hash). */
interface MemoEntry { key: Float64Array; why: Verdict }
/** Memo entries kept before the memo starts over. */
const MEMO_MAX = 100_000;

/** Checks traces of one network against its routing; counts what it could and could not check. */
export class PathTruth {
  checked = 0;
  mismatches = 0;
  /** Traces whose hops' node ids name no single node (duplicate or unknown ioam6_id). */
  unverifiable = 0;
  /** The first few mismatches, described. */
  readonly examples: string[] = [];
  private readonly byId = new Map<number, SimNode | null>();
  /**
   * Verdicts by what decides them: the packet's hash inputs (fingerprinted by its policy-0 and
   * policy-1 hashes and its hop limit), the namespace, the removing node, the Overflow flag, the
   * header length, the hops (node id, egress id: -1 when the Trace-Type lacks them), the tables in
   * force at each hop. Packets of one flow on one path share a verdict, so a run pays for the
   * walk once per flow and path. The key is a list of numbers built in {@link key} (no text per
   * trace); the map is by its hash, entries compared in full.
   */
  private readonly memo = new Map<number, MemoEntry[]>();
  private memoSize = 0;
  /** The key being built: `keyLen` numbers. */
  private key = new Float64Array(64);
  private keyLen = 0;
  /** Removing node names as key numbers. */
  private readonly nodeNo = new Map<string, number>();

  constructor(private readonly net: Network) {
    for (const n of net.nodes) this.byId.set(n.config.ioam6_id, this.byId.has(n.config.ioam6_id) ? null : n);
  }

  /** Checks every trace option of a record (`pkt` after decapsulation, `hbh` the removed header). */
  check(rec: TraceRecord, hbh: Uint8Array, pkt: SimPacket): void {
    const orig = pkt.bytes;
    const fp0 = multipathHash(0, orig, 0, FP_SEED0), fp1 = multipathHash(1, orig, 0, FP_SEED1);
    for (const opt of rec.options) {
      this.keyStart(fp0, fp1, orig.length >= 40 ? orig[6]! : -1, opt.ns, rec.node, opt.flags.overflow, hbh.length);
      for (const h of opt.hops) this.keyHop(h.node_id ?? -1, h.egress_if ?? -1, h.ts_sec, h.ts_frac, rec.t_ns);
      const e = this.memoEntry();
      this.count(e !== undefined ? e.why : this.remember(this.mismatch(rec.node, rec.t_ns, opt, hbh, orig)), rec.node, rec.t_ns, rec.flow, rec.seq, opt.ns);
    }
  }

  /**
   * {@link check} of a flat record in place (sim/trace.ts; the header is `t.bytes[t.base ..
   * t.base + t.len]`): the verdict's key is read from the words, the option is built as an object
   * only when its verdict is not known yet.
   */
  checkFlat(t: SimTrace, buf: Uint8Array, off: number, len: number): void {
    // The packet as delivered is buf[off .. off + len] (the packet slab): a view of it is made only when a verdict is computed.
    const end = off + len;
    const fp0 = multipathHash(0, buf, off, FP_SEED0, end), fp1 = multipathHash(1, buf, off, FP_SEED1, end);
    const w = t.w;
    let o = firstOption(t.at);
    for (let k = optionCount(w, t.at); k > 0; k--, o = nextOption(w, o)) {
      const type = w[o + O_TT]!;
      const ns = w[o + O_NS]!;
      this.keyStart(fp0, fp1, len >= 40 ? buf[off + 6]! : -1, ns, t.node, (w[o + O_FLAGS]! & F_OVERFLOW) !== 0, t.len);
      const ts = (type & TT_TS) === TT_TS;
      for (let i = 0, n = w[o + O_HOPS]!; i < n; i++) {
        const p = hopAt(w, o, i);
        this.keyHop(type & TT_NODE_ID ? w[p + H_ID]! : -1, type & TT_IFS ? w[p + H_OUT]! : -1, ts ? w[p + H_TS]! : undefined, ts ? w[p + H_TF]! : undefined, t.t_ns);
      }
      const e = this.memoEntry();
      const why = e !== undefined ? e.why : this.remember(this.mismatch(t.node, t.t_ns, optionObject(t, o), t.bytes.subarray(t.base, t.base + t.len), buf.subarray(off, end)));
      this.count(why, t.node, t.t_ns, t.flow, t.seq, ns);
    }
  }

  /** Starts a key: the packet's fingerprint, namespace, removing node, Overflow, header length. */
  private keyStart(fp0: number, fp1: number, nextHeader: number, ns: number, node: string, overflow: boolean, hbhLen: number): void {
    let no = this.nodeNo.get(node);
    if (no === undefined) this.nodeNo.set(node, (no = this.nodeNo.size));
    const k = this.key;
    k[0] = fp0;
    k[1] = fp1;
    k[2] = nextHeader;
    k[3] = ns;
    k[4] = no;
    k[5] = overflow ? 1 : 0;
    k[6] = hbhLen;
    this.keyLen = 7;
  }

  /** Adds a hop to the key: node id, egress id, the tables in force at its time window. */
  private keyHop(nodeId: number, egressIf: number, tsSec: number | undefined, tsFrac: number | undefined, tNs: number): void {
    if (this.keyLen + 4 > this.key.length) {
      const k = new Float64Array(2 * this.key.length);
      k.set(this.key);
      this.key = k;
    }
    const k = this.key;
    const at = this.keyLen;
    k[at] = nodeId;
    k[at + 1] = egressIf;
    if (tsSec === undefined || tsFrac === undefined) {
      k[at + 2] = this.fibIndex(0);
      k[at + 3] = this.fibIndex(tNs);
    } else {
      const lo = this.hopTime(tsSec, tsFrac);
      k[at + 2] = this.fibIndex(lo);
      k[at + 3] = this.fibIndex(lo + 999);
    }
    this.keyLen = at + 4;
  }

  /** Hash of the key being built. */
  private keyHash(): number {
    const k = this.key;
    let h = this.keyLen;
    for (let i = 0; i < this.keyLen; i++) {
      h = Math.imul(h ^ (k[i]! | 0), 0x9e3779b1);
      h ^= h >>> 15;
    }
    return h;
  }

  /** The memo entry of the key being built, or undefined. */
  private memoEntry(): MemoEntry | undefined {
    const bucket = this.memo.get(this.keyHash());
    if (bucket === undefined) return undefined;
    const k = this.key;
    const n = this.keyLen;
    for (let b = 0; b < bucket.length; b++) {
      const e = bucket[b]!;
      if (e.key.length !== n) continue;
      let same = true;
      for (let i = 0; same && i < n; i++) if (e.key[i] !== k[i]) same = false;
      if (same) return e;
    }
    return undefined;
  }

  /** Memoizes the verdict of the key being built (undefined = agrees); returns it as stored. */
  private remember(why: string | null | undefined): Verdict {
    const v = why === undefined ? AGREES : why;
    if (this.memoSize > MEMO_MAX) {
      this.memo.clear();
      this.memoSize = 0;
    }
    const h = this.keyHash();
    let bucket = this.memo.get(h);
    if (bucket === undefined) this.memo.set(h, (bucket = []));
    bucket.push({ key: this.key.slice(0, this.keyLen), why: v });
    this.memoSize++;
    return v;
  }

  /** Counts one option's verdict. */
  private count(why: Verdict, node: string, tNs: number, flow: string, seq: number, ns: number): void {
    if (why === AGREES) this.checked++;
    else if (why === null) this.unverifiable++;
    else {
      this.checked++;
      this.mismatches++;
      if (this.examples.length < 10) this.examples.push(`${node} t=${tNs} flow ${flow} #${seq} ns ${ns}: ${why}`);
    }
  }

  toJSON(): Record<string, unknown> {
    return { checked: this.checked, mismatches: this.mismatches, unverifiable: this.unverifiable, examples: this.examples };
  }

  /** undefined = agrees, null = cannot tell, else why not. */
  private mismatch(node: string, tNs: number, opt: TraceOption, hbh: Uint8Array, orig: Uint8Array): string | null | undefined {
    if (opt.error || opt.hops.length === 0) return null;
    const nodes = opt.hops.map((h) => (h.node_id === undefined ? undefined : this.byId.get(h.node_id)));
    if (nodes.some((n) => !n)) return null;
    const domain = this.net.domains.find((d) => d.ns === opt.ns);
    if (!domain || domain.mode === 'auto') return null;
    const tunnel = domain.mode === 'encap';
    const encapNode = nodes[0]!;
    const tundst = tunnel ? this.net.nodes[domain.decapNodes[0]!]!.addresses[0]! : undefined;
    const transit = transitPacket(orig, hbh, tunnel ? encapNode.addresses[0]! : undefined, tundst);
    let cur = encapNode;
    for (let i = 0; i + 1 < nodes.length; i++) {
      const h = opt.hops[i]!;
      const [lo, hi] = this.window(h.ts_sec, h.ts_frac, tNs);
      const fibs = this.fibsIn(lo, hi);
      const want = nodes[i + 1]!;
      const ok = fibs.some((fib) => {
        const dev = i === 0 && tundst ? fib.nextDevTo(cur.index, tundst, 0, orig, 0) : fib.nextDev(cur.index, i === 0 ? orig : transit, 0);
        if (dev === ROUTE_NONE || dev === ROUTE_LOCAL) return false;
        if (h.egress_if !== undefined && cur.config.interfaces[dev]?.ioam6_id !== h.egress_if) return false;
        return this.walk(fib, cur.devices[dev]!.peer, transit, opt.ns) === want;
      });
      if (!ok) {
        const exp = fibs.map((fib) => {
          const dev = i === 0 && tundst ? fib.nextDevTo(cur.index, tundst, 0, orig, 0) : fib.nextDev(cur.index, i === 0 ? orig : transit, 0);
          return dev >= 0 ? `${cur.config.interfaces[dev]?.name} -> ${this.walk(fib, cur.devices[dev]!.peer, transit, opt.ns)?.name ?? '?'}` : String(dev);
        });
        return `hop ${i} at ${cur.name}: trace says next ${want.name} (egress if ${h.egress_if ?? '-'}), routing says ${exp.join(' or ')}`;
      }
      cur = want;
    }
    // With Overflow set the later nodes had no room: the hops present are a prefix of the path.
    return cur.name === node || opt.flags.overflow ? undefined : `trace ends at ${cur.name}, removed at ${node}`;
  }

  /** From the device a packet arrives on, through nodes adding no data, to the next node that does. */
  private walk(fib: Fib, dev: { node: SimNode; ifIndex: number }, transit: Uint8Array, ns: number): SimNode | undefined {
    let d = dev;
    for (let guard = 0; guard <= this.net.nodes.length; guard++) {
      const n = d.node;
      if (addsData(n, d.ifIndex, ns)) return n;
      const out = fib.nextDev(n.index, transit, 0);
      if (out < 0 || !n.devices[out]) return undefined;
      d = n.devices[out]!.peer;
    }
    return undefined;
  }

  /** Simulated time window of a hop: its timestamp (µs resolution), else [0, decapsulation time]. */
  private window(tsSec: number | undefined, tsFrac: number | undefined, tNs: number): [number, number] {
    if (tsSec === undefined || tsFrac === undefined) return [0, tNs];
    const t = this.hopTime(tsSec, tsFrac);
    return [t, t + 999];
  }

  /** Simulated time of a hop's timestamp (its window's start). */
  private hopTime(tsSec: number, tsFrac: number): number {
    return (tsSec - this.net.epochSec) * 1e9 + tsFrac * 1000 - this.net.epochNsRem;
  }

  /** Index of the table in force at `t` in the routing history. */
  private fibIndex(t: number): number {
    const hist = this.net.routing.history;
    let i = 0;
    while (i + 1 < hist.length && hist[i + 1]!.fromNs <= t) i++;
    return i;
  }

  private fibsIn(lo: number, hi: number): Fib[] {
    const hist = this.net.routing.history;
    const out: Fib[] = [];
    for (let i = 0; i < hist.length; i++) {
      const from = hist[i]!.fromNs;
      const to = i + 1 < hist.length ? hist[i + 1]!.fromNs : Infinity;
      if (from <= hi && to > lo) out.push(hist[i]!.fib);
    }
    return out;
  }
}

/** Whether node `n` adds IOAM data to a packet of namespace `ns` arriving on interface `ifIndex`. */
function addsData(n: SimNode, ifIndex: number, ns: number): boolean {
  return n.config.interfaces[ifIndex]?.ioam6_enabled === true && n.config.namespaces.some((x) => x.id === ns);
}

/**
 * The packet as nodes after the encapsulating one see it: the original with the Hop-by-Hop header
 * inserted (inline), or an outer header tunsrc → tundst (the inner's first 8 bytes copied, as
 * ioam6_do_encap does) + Hop-by-Hop + the original (tunnel).
 */
export function transitPacket(orig: Uint8Array, hbh: Uint8Array, tunsrc?: Uint8Array, tundst?: Uint8Array): Uint8Array {
  if (orig.length < 40) return orig;
  if (tundst) {
    const p = new Uint8Array(40 + hbh.length + orig.length);
    p.set(orig.subarray(0, 8));
    p[6] = 0;
    p.set(tunsrc!, 8);
    p.set(tundst, 24);
    p.set(hbh, 40);
    p[40] = 41;
    p.set(orig, 40 + hbh.length);
    return p;
  }
  const p = new Uint8Array(orig.length + hbh.length);
  p.set(orig.subarray(0, 40));
  p[6] = 0;
  p.set(hbh, 40);
  p[40] = orig[6]!;
  p.set(orig.subarray(40), 40 + hbh.length);
  return p;
}
