/**
 * The IOAM path table: from the traces decapsulating nodes remove (or traces seen in a capture),
 * per flow and IOAM namespace the paths packets took (node ids, with ingress/egress interface ids
 * when the Trace-Type has them), packets per path, first and last time seen, and the path
 * changes over time. Same input order → same table (deterministic).
 * @module
 */
import type { HopData } from '../trace';

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
interface FlowEntry { packets: number; paths: PathEntry[]; byKey: Map<string, number>; last: number; changes: { t_ns: number; from: number; to: number }[]; changesTotal: number }

export class PathTable {
  private readonly flows = new Map<string, FlowEntry>();

  /** One packet of `flow` in namespace `ns` seen at `tNs` with these hops (path order). */
  add(flow: string, ns: number, tNs: number, hops: readonly HopData[]): void {
    const key = `${flow} ns ${ns}`;
    let f = this.flows.get(key);
    if (!f) this.flows.set(key, (f = { packets: 0, paths: [], byKey: new Map(), last: -1, changes: [], changesTotal: 0 }));
    const nodeIds = hops.map((h) => h.node_id ?? (h.node_id_wide !== undefined ? Number.parseInt(h.node_id_wide, 16) : -1));
    const ifs = hops.map((h): [number, number] | null => (h.ingress_if !== undefined ? [h.ingress_if, h.egress_if!] : h.ingress_if_wide !== undefined ? [h.ingress_if_wide, h.egress_if_wide!] : null));
    const pk = JSON.stringify([nodeIds, ifs]);
    let pi = f.byKey.get(pk);
    if (pi === undefined) {
      pi = f.paths.length;
      f.byKey.set(pk, pi);
      f.paths.push({ nodeIds, ifs, packets: 0, first: tNs, last: tNs });
    }
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

  /** The table as plain data (a partition's part, sim/partition.ts). */
  exportState(): [string, Omit<FlowEntry, 'byKey'>][] {
    return [...this.flows.entries()].map(([k, f]) => [k, { packets: f.packets, paths: f.paths, last: f.last, changes: f.changes, changesTotal: f.changesTotal }]);
  }

  /**
   * Adds a partition's table. A flow seen in one partition only (its traces removed at one node,
   * as in every example) merges exactly; a flow seen in several gets its paths summed and its
   * changes joined in time order, but changes between packets removed in different partitions
   * are not seen (docs/SIMULATOR.md §3).
   */
  mergeState(state: unknown): void {
    for (const [k, f] of state as [string, Omit<FlowEntry, 'byKey'>][]) {
      const mine = this.flows.get(k);
      const byKey = new Map<string, number>();
      if (!mine) {
        f.paths.forEach((p, i) => byKey.set(JSON.stringify([p.nodeIds, p.ifs]), i));
        this.flows.set(k, { ...f, byKey });
        continue;
      }
      for (const p of f.paths) {
        const pk = JSON.stringify([p.nodeIds, p.ifs]);
        const i = mine.byKey.get(pk);
        if (i === undefined) {
          mine.byKey.set(pk, mine.paths.length);
          mine.paths.push({ ...p });
        } else {
          const q = mine.paths[i]!;
          q.packets += p.packets;
          q.first = Math.min(q.first, p.first);
          q.last = Math.max(q.last, p.last);
        }
      }
      const remap = f.paths.map((p) => mine.byKey.get(JSON.stringify([p.nodeIds, p.ifs]))!);
      mine.packets += f.packets;
      mine.changesTotal += f.changesTotal;
      mine.changes = [...mine.changes, ...f.changes.map((c) => ({ t_ns: c.t_ns, from: remap[c.from]!, to: remap[c.to]! }))].sort((a, b) => a.t_ns - b.t_ns).slice(0, MAX_CHANGES);
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
