/**
 * From a topology file to the routing library's input, and the routing state over a run (link and
 * node failures, recomputation after the convergence delay, the history of tables for checks).
 * Takes the engine's nodes and devices through a small structural interface.
 * @module
 */
import { topologyError, parseAddrLenText, type LoadedTopology } from '../topology';
import { computeFib, allUp, linkAlive, type LinkState, type RoutingInput, type StaticRoute } from './compute';
import type { Fib, NextHop } from './fib';
import { nodeSeed, type HashPolicy } from './hash';
import { maskPrefix, parsePrefix, type Prefix } from './prefix';

/** What the setup needs of an engine's device. */
export interface DevLike {
  ifIndex: number;
  node: { index: number };
  peer: { ifIndex: number; node: { index: number } };
  link: { index: number; delayNs: number };
}

/** Builds the routing input of a topology whose devices the engine has created (`devs[li]` = link li's two ends). */
export function routingInput(topo: LoadedTopology, linkEnds: [DevLike, DevLike][]): RoutingInput {
  const t = topo.input;
  const metric = t.routes?.metric ?? 'hops';
  const ecmpIn = t.routes?.ecmp;
  const ecmp = ecmpIn !== undefined && ecmpIn !== false;
  const cfg = typeof ecmpIn === 'object' ? ecmpIn : {};
  const policy: HashPolicy = cfg.policy ?? 0;
  const seed = cfg.seed ?? 0;
  const names = t.nodes.map((n) => n.name);
  const byName = new Map<string, number>();
  names.forEach((n, i) => { if (!byName.has(n)) byName.set(n, i); });
  const seeds = Uint32Array.from(names.map((n) => cfg.seeds?.[n] ?? nodeSeed(seed, n)));
  for (const k of Object.keys(cfg.seeds ?? {})) {
    if (!byName.has(k)) throw topologyError(topo, ['routes', 'ecmp', 'seeds', k], `unknown node ${JSON.stringify(k)}`);
  }
  const nodes = t.nodes.map((n) => ({ name: n.name, addrs: n.addresses.map((a) => parseAddrLenText(a)!) }));
  const links = linkEnds.map(([a, b]) => ({
    a: { node: a.node.index, dev: a.ifIndex },
    b: { node: b.node.index, dev: b.ifIndex },
    cost: metric === 'hops' ? 1 : a.link.delayNs + 1,
  }));
  const nodeIdx = (name: string, where: (string | number)[]) => {
    const i = byName.get(name);
    if (i === undefined) throw topologyError(topo, where, `unknown node ${JSON.stringify(name)}`);
    return i;
  };
  /** The first link end at node `at` toward node `via` (links[] order), by `at NUL via`; built for static routes only. */
  let toward: Map<string, DevLike> | undefined;
  const endToward = (at: number, via: number): DevLike | undefined => {
    if (!toward) {
      toward = new Map();
      for (const ends of linkEnds) {
        for (const d of ends) {
          const k = `${d.node.index}\u0000${d.peer.node.index}`;
          if (!toward.has(k)) toward.set(k, d);
        }
      }
    }
    return toward.get(`${at}\u0000${via}`);
  };
  const statics: StaticRoute[] = [];
  (t.routes?.static ?? []).forEach((r, k) => {
    const where = ['routes', 'static', k];
    const at = nodeIdx(r.at, [...where, 'at']);
    // Destination: a node (its addresses as /128), an address (/128) or a prefix.
    let prefixes: Prefix[];
    const toNode = byName.get(r.to);
    if (toNode !== undefined) prefixes = nodes[toNode]!.addrs.map((a) => maskPrefix(a.addr, 128));
    else {
      const p = parsePrefix(r.to);
      if (!p) throw topologyError(topo, [...where, 'to'], `${JSON.stringify(r.to)} is neither a node name, an address, a prefix with zero host bits nor "default"`);
      prefixes = [p];
    }
    const vias = Array.isArray(r.via) ? r.via : [r.via];
    if (r.weights && r.weights.length !== vias.length) throw topologyError(topo, [...where, 'weights'], `expected ${vias.length} weights (one per via), got ${r.weights.length}`);
    const via: NextHop[] = vias.map((v, j) => {
      const vi = nodeIdx(v, [...where, 'via']);
      const end = endToward(at, vi);
      if (!end) throw topologyError(topo, [...where, 'via'], `${v} is not a neighbour of ${r.at}`);
      return { dev: end.ifIndex, weight: r.weights?.[j] ?? 1 };
    });
    for (const prefix of prefixes) statics.push({ at, prefix, via });
  });
  return { nodes, links, statics, ecmp, policy, seeds };
}

/** The routing of a run: the tables in force and those before them (for path checks). */
export class RoutingState {
  readonly state: LinkState;
  fib: Fib;
  /** Tables by the time they took effect (ascending). */
  readonly history: { fromNs: number; fib: Fib }[];
  /** `owned`: the nodes that get tables (1 = yes; default all), see {@link computeFib}. */
  constructor(readonly input: RoutingInput, readonly owned?: Uint8Array) {
    this.state = allUp(input);
    this.fib = computeFib(input, this.state, owned);
    this.history = [{ fromNs: 0, fib: this.fib }];
  }
  /** Recomputes the tables from the current link state; they apply from `nowNs`. */
  recompute(nowNs: number): void {
    this.fib = computeFib(this.input, this.state, this.owned);
    this.history.push({ fromNs: nowNs, fib: this.fib });
  }
  /** The table in force at `tNs`. */
  at(tNs: number): Fib {
    let f = this.history[0]!.fib;
    for (const h of this.history) if (h.fromNs <= tNs) f = h.fib;
    return f;
  }
  /** Whether link `li` carries packets now (its state and both its nodes up). */
  linkUp(li: number): boolean {
    return linkAlive(this.input, this.state, li);
  }
  nodeUp(n: number): boolean {
    return this.state.node[n] === 1;
  }
}
