/**
 * The IOAM path table: from the traces decapsulating nodes remove (or traces seen in a capture),
 * per flow and IOAM namespace the paths packets took (node ids, with ingress/egress interface ids
 * when the Trace-Type has them), packets per path, first and last time seen, and the path
 * changes over time. Same input order → same table (deterministic).
 * @module
 */
import { TRACE_HOP_WORD as HW, TRACE_OPT_WORD as OW } from '../../src/traceflat';
import * as trace from '../trace';
import type { HopData } from '../trace';

// Module-local copies of imported functions and constants: hot paths then call a local, not an
// export binding (under tsx every export binding is read through a getter).
const { hopAt } = trace;

export interface PathJson {
  /** `l1 > s2 > l3` (node names when known, else ids). */
  path: string;
  node_ids: number[];
  /** [ingress_if, egress_if] per hop (null when the Trace-Type lacks bit 1). */
  interfaces: ([number, number] | null)[];
  packets: number;
  first_ns: number;
  last_ns: number;
}

export interface FlowPathsJson {
  packets: number;
  paths: PathJson[];
  /** Each time a packet took another path than the flow's previous packet (at most MAX_CHANGES listed). */
  changes: { t_ns: number; from: number; to: number }[];
  changes_total: number;
}

const MAX_CHANGES = 1000;

/**
 * The path table's flow of a trace record (`flow`, `kind` as in traces-<node>.jsonl): the responses
 * of a request exchange travel the other way, so they are a flow of their own (`NAME (response)`);
 * otherwise every request/response alternation would count as a path change.
 */
export function traceFlow(flow: string, kind: unknown): string {
  return kind === 'response' ? `${flow} (response)` : flow;
}

interface PathEntry { nodeIds: number[]; ifs: ([number, number] | null)[]; packets: number; first: number; last: number }
interface FlowEntry { packets: number; paths: PathEntry[]; byHash: Map<number, number[]>; last: number; changes: { t_ns: number; from: number; to: number }[]; changesTotal: number }

/** A hop's interfaces when its Trace-Type has none (stands for `null`). */
const NO_IF = -1;
const TT_NODE_ID = 0x800000, TT_IFS = 0x400000, TT_NODE_ID_WIDE = 0x008000, TT_IFS_WIDE = 0x004000;
// Module-local copies of the layout (a hot loop then reads a constant, not an export binding).
const O_TT = OW.traceType, O_HOPS = OW.hops, O_NS = OW.ns;
const H_ID = HW.nodeId, H_IDW_HI = HW.nodeIdWideHi, H_IDW_LO = HW.nodeIdWideLo;
const H_IN = HW.ingressIf, H_OUT = HW.egressIf, H_INW = HW.ingressIfWide, H_OUTW = HW.egressIfWide;

export class PathTable {
  private readonly flows = new Map<string, FlowEntry>();
  /** `flow` → `kind is response` → namespace → entry (no key text per packet). */
  private readonly byFlow = new Map<string, Map<number, FlowEntry>>();
  // The path of the packet being added (reused: nothing is allocated for a path seen before).
  private ids: number[] = [];
  private ins: number[] = [];
  private outs: number[] = [];

  /** One packet of `flow` in namespace `ns` seen at `tNs` with these hops (path order). */
  add(flow: string, ns: number, tNs: number, hops: readonly HopData[]): void {
    hops.forEach((h, i) => {
      this.ids[i] = h.node_id ?? (h.node_id_wide !== undefined ? Number.parseInt(h.node_id_wide, 16) : -1);
      const wide = h.ingress_if === undefined && h.ingress_if_wide !== undefined;
      this.ins[i] = h.ingress_if ?? h.ingress_if_wide ?? NO_IF;
      this.outs[i] = (wide ? h.egress_if_wide : h.egress_if) ?? NO_IF;
    });
    this.commit(this.entry(flow, ns), tNs, hops.length);
  }

  /**
   * One packet of a trace record's flow (`flow`, `kind` as in traces-<node>.jsonl; see
   * {@link traceFlow}) seen at `tNs`, from the trace option at word `o` of a flat record `w`
   * (sim/trace.ts): node ids and interfaces read in place.
   */
  addFlat(flow: string, kind: string, tNs: number, w: Uint32Array, o: number): void {
    const type = w[o + O_TT]!;
    const n = w[o + O_HOPS]!;
    for (let i = 0; i < n; i++) {
      const p = hopAt(w, o, i);
      this.ids[i] = type & TT_NODE_ID ? w[p + H_ID]! : type & TT_NODE_ID_WIDE ? w[p + H_IDW_HI]! * 2 ** 32 + w[p + H_IDW_LO]! : -1;
      this.ins[i] = type & TT_IFS ? w[p + H_IN]! : type & TT_IFS_WIDE ? w[p + H_INW]! : NO_IF;
      this.outs[i] = type & TT_IFS ? w[p + H_OUT]! : type & TT_IFS_WIDE ? w[p + H_OUTW]! : NO_IF;
    }
    let byNs = this.byFlow.get(flow);
    if (!byNs) this.byFlow.set(flow, (byNs = new Map()));
    const k = w[o + O_NS]! * 2 + (kind === 'response' ? 1 : 0);
    let f = byNs.get(k);
    if (!f) byNs.set(k, (f = this.entry(traceFlow(flow, kind), w[o + O_NS]!)));
    this.commit(f, tNs, n);
  }

  private entry(flow: string, ns: number): FlowEntry {
    const key = `${flow} ns ${ns}`;
    let f = this.flows.get(key);
    if (!f) this.flows.set(key, (f = { packets: 0, paths: [], byHash: new Map(), last: -1, changes: [], changesTotal: 0 }));
    return f;
  }

  /** Index in `f.paths` of the path in `ids`/`ins`/`outs[0..n]` (added, first seen at `tNs`, if new). */
  private find(f: FlowEntry, tNs: number, n: number): number {
    let hash = n;
    for (let i = 0; i < n; i++) {
      hash = Math.imul(hash ^ this.ids[i]!, 0x9e3779b1) + Math.imul(this.ins[i]! + 1, 0x85ebca6b) + Math.imul(this.outs[i]! + 1, 0xc2b2ae35);
      hash ^= hash >>> 15;
    }
    let bucket = f.byHash.get(hash);
    let pi = -1;
    // An index loop: `for...of` made an iterator object per packet here.
    if (bucket) for (let k = 0; k < bucket.length; k++) if (this.sameAs(f.paths[bucket[k]!]!, n)) { pi = bucket[k]!; break; }
    if (pi < 0) {
      pi = f.paths.length;
      if (!bucket) f.byHash.set(hash, (bucket = []));
      bucket.push(pi);
      const ifs = this.ins.slice(0, n).map((x, i): [number, number] | null => (x === NO_IF ? null : [x, this.outs[i]!]));
      f.paths.push({ nodeIds: this.ids.slice(0, n), ifs, packets: 0, first: tNs, last: tNs });
    }
    return pi;
  }

  /** Counts the path in `ids`/`ins`/`outs[0..n]` for flow entry `f`. */
  private commit(f: FlowEntry, tNs: number, n: number): void {
    const pi = this.find(f, tNs, n);
    const p = f.paths[pi]!;
    p.packets++;
    p.first = Math.min(p.first, tNs);
    p.last = Math.max(p.last, tNs);
    f.packets++;
    if (f.last >= 0 && f.last !== pi) {
      f.changesTotal++;
      if (f.changes.length < MAX_CHANGES) f.changes.push({ t_ns: tNs, from: f.last, to: pi });
    }
    f.last = pi;
  }

  private sameAs(p: PathEntry, n: number): boolean {
    if (p.nodeIds.length !== n) return false;
    for (let i = 0; i < n; i++) {
      const x = p.ifs[i];
      if (p.nodeIds[i] !== this.ids[i] || (x ? x[0] !== this.ins[i] || x[1] !== this.outs[i] : this.ins[i] !== NO_IF)) return false;
    }
    return true;
  }

  /** The table as plain data (a partition's part, sim/partition.ts). */
  exportState(): [string, Omit<FlowEntry, 'byHash'>][] {
    return [...this.flows.entries()].map(([k, f]) => [k, { packets: f.packets, paths: f.paths, last: f.last, changes: f.changes, changesTotal: f.changesTotal }]);
  }

  /**
   * Adds a partition's table. A flow seen in one partition only (its traces removed at one node,
   * as in every example) merges exactly; a flow seen in several gets its paths summed and its
   * changes joined in time order, but changes between packets removed in different partitions
   * are not seen (docs/SIMULATOR.md §3).
   */
  mergeState(state: unknown): void {
    for (const [k, f] of state as [string, Omit<FlowEntry, 'byHash'>][]) {
      let mine = this.flows.get(k);
      if (!mine) this.flows.set(k, (mine = { packets: 0, paths: [], byHash: new Map(), last: -1, changes: [], changesTotal: 0 }));
      const remap = f.paths.map((p) => {
        const n = p.nodeIds.length;
        for (let i = 0; i < n; i++) {
          const x = p.ifs[i];
          this.ids[i] = p.nodeIds[i]!;
          this.ins[i] = x ? x[0] : NO_IF;
          this.outs[i] = x ? x[1] : NO_IF;
        }
        const pi = this.find(mine, p.first, n);
        const q = mine.paths[pi]!;
        q.packets += p.packets;
        q.first = Math.min(q.first, p.first);
        q.last = Math.max(q.last, p.last);
        return pi;
      });
      mine.packets += f.packets;
      mine.changesTotal += f.changesTotal;
      mine.changes = [...mine.changes, ...f.changes.map((c) => ({ t_ns: c.t_ns, from: remap[c.from]!, to: remap[c.to]! }))].sort((a, b) => a.t_ns - b.t_ns).slice(0, MAX_CHANGES);
      if (f.last >= 0) mine.last = remap[f.last]!;
    }
  }

  /** Number of flows (flow × namespace). */
  get size(): number {
    return this.flows.size;
  }

  /** The table, flows sorted by name; `nameOf` turns node ids into names (default: the id). */
  toJSON(nameOf: (id: number) => string = String): Record<string, FlowPathsJson> {
    const out: Record<string, FlowPathsJson> = {};
    for (const k of [...this.flows.keys()].sort()) {
      const f = this.flows.get(k)!;
      out[k] = {
        packets: f.packets,
        paths: f.paths.map((p) => ({ path: p.nodeIds.map(nameOf).join(' > '), node_ids: p.nodeIds, interfaces: p.ifs, packets: p.packets, first_ns: p.first, last_ns: p.last })),
        changes: f.changes,
        changes_total: f.changesTotal,
      };
    }
    return out;
  }
}

/** A human table of {@link PathTable.toJSON}'s result. */
export function formatPathTable(t: Record<string, FlowPathsJson>, timeText: (ns: number) => string = (ns) => `${(ns / 1e6).toFixed(6)} ms`): string {
  const lines: string[] = [];
  for (const [flow, f] of Object.entries(t)) {
    lines.push(`${flow}: ${f.packets} packet(s), ${f.paths.length} path(s), ${f.changes_total} change(s)`);
    f.paths.forEach((p, i) => {
      lines.push(`  [${i}] ${p.path}  ${p.packets} pkt  ${timeText(p.first_ns)} .. ${timeText(p.last_ns)}`);
      if (p.interfaces.some((x) => x !== null)) lines.push(`      interfaces (in>out): ${p.interfaces.map((x) => (x ? `${x[0]}>${x[1]}` : '-')).join('  ')}`);
    });
    for (const c of f.changes.slice(0, 20)) lines.push(`  change at ${timeText(c.t_ns)}: [${c.from}] -> [${c.to}]`);
    if (f.changes_total > 20) lines.push(`  ... ${f.changes_total - 20} more change(s)`);
  }
  return lines.join('\n');
}
