/**
 * Route computation: every node announces its addresses (a `/128`, delivered locally) and the
 * subnets of addresses given with a prefix length (`2001:db8:1::1/64` announces
 * `2001:db8:1::/64`); every other node gets a route per announced prefix along the shortest
 * paths (multi-source Dijkstra from the announcing nodes: a prefix announced by several nodes is
 * anycast). With ECMP on, all equal-cost next hops form one multipath route (weight 1 each);
 * off, the lowest interface index wins (the simulator's behaviour before ECMP). Static routes
 * then replace the computed route for their prefix at their node. Links that are down (or whose
 * node is down) carry no route; a static next hop over a dead link is left out, and a static
 * route left with none is withdrawn (the node falls back to a shorter prefix).
 *
 * Cost: O(prefixes x links x log nodes) per recomputation (heap Dijkstra per prefix), then one
 * table entry per node and prefix.
 * @module
 */
import { FibBuilder, type Fib, type NextHop, type RouteTarget } from './fib';
import type { HashPolicy } from './hash';
import { formatPrefix, maskPrefix, type IfAddress, type Prefix } from './prefix';

export interface RoutingLink {
  a: { node: number; dev: number };
  b: { node: number; dev: number };
  /** Cost of the link (either direction). */
  cost: number;
}

export interface StaticRoute {
  at: number;
  prefix: Prefix;
  via: NextHop[];
}

export interface RoutingInput {
  nodes: { name: string; addrs: IfAddress[] }[];
  links: RoutingLink[];
  statics: StaticRoute[];
  ecmp: boolean;
  policy: HashPolicy;
  /** Per-node hash seed. */
  seeds: Uint32Array;
}

/** What is up: one flag per link and per node (1 = up). */
export interface LinkState {
  link: Uint8Array;
  node: Uint8Array;
}

export function allUp(input: RoutingInput): LinkState {
  return { link: new Uint8Array(input.links.length).fill(1), node: new Uint8Array(input.nodes.length).fill(1) };
}

/** Whether link `li` carries traffic in state `s`. */
export function linkAlive(input: RoutingInput, s: LinkState, li: number): boolean {
  const l = input.links[li]!;
  return s.link[li] === 1 && s.node[l.a.node] === 1 && s.node[l.b.node] === 1;
}

/** Computes every node's forwarding table for the state `s` (see module doc). */
export function computeFib(input: RoutingInput, s: LinkState = allUp(input)): Fib {
  const N = input.nodes.length;
  const adj: { dev: number; peer: number; cost: number }[][] = Array.from({ length: N }, () => []);
  input.links.forEach((l, li) => {
    if (!linkAlive(input, s, li)) return;
    adj[l.a.node]!.push({ dev: l.a.dev, peer: l.b.node, cost: l.cost });
    adj[l.b.node]!.push({ dev: l.b.dev, peer: l.a.node, cost: l.cost });
  });
  for (const a of adj) a.sort((x, y) => x.dev - y.dev);
  const fb = new FibBuilder(N);
  // Announced prefixes and who announces them.
  const announced = new Map<string, { key: string; prefix: Prefix; origins: number[]; host: boolean }>();
  input.nodes.forEach((n, i) => {
    for (const a of n.addrs) {
      const forms = a.len < 128 ? [maskPrefix(a.addr, 128), maskPrefix(a.addr, a.len)] : [maskPrefix(a.addr, 128)];
      for (const p of forms) {
        const k = formatPrefix(p);
        let e = announced.get(k);
        if (!e) announced.set(k, (e = { key: k, prefix: p, origins: [], host: p.len === 128 }));
        if (!e.origins.includes(i)) e.origins.push(i);
      }
    }
  });
  const dist = new Float64Array(N);
  const heap = new MinHeap(N);
  // Targets are immutable: one object per single next hop (by interface index), local, unreachable.
  const LOCAL: RouteTarget = { kind: 'local' };
  const UNREACHABLE: RouteTarget = { kind: 'unreachable' };
  const single: RouteTarget[] = [];
  const singleTo = (dev: number) => (single[dev] ??= { kind: 'unicast', hops: [{ dev, weight: 1 }] });
  for (const { key, prefix, origins, host } of announced.values()) {
    // Multi-source Dijkstra with a binary heap, O(E log N) per prefix (the distances, hence the
    // routes, are those of any shortest-path algorithm).
    dist.fill(Infinity);
    for (const o of origins) {
      if (s.node[o] === 1) {
        dist[o] = 0;
        heap.push(o, 0);
      }
    }
    while (heap.size > 0) {
      const du = heap.topKey();
      const u = heap.pop();
      if (du > dist[u]!) continue;
      for (const e of adj[u]!) {
        const c = du + e.cost;
        if (c < dist[e.peer]!) {
          dist[e.peer] = c;
          heap.push(e.peer, c);
        }
      }
    }
    for (let u = 0; u < N; u++) {
      if (s.node[u] !== 1) continue;
      if (origins.includes(u)) {
        fb.add(u, { prefix, target: host ? LOCAL : UNREACHABLE, source: 'connected' }, key);
        continue;
      }
      if (dist[u] === Infinity) continue;
      // Equal-cost next hops in interface order (adj is sorted); without ECMP the first one.
      let first = -1;
      let hops: NextHop[] | undefined;
      for (const e of adj[u]!) {
        if (dist[e.peer]! + e.cost !== dist[u]) continue;
        if (first < 0) first = e.dev;
        else if (input.ecmp) (hops ??= [{ dev: first, weight: 1 }]).push({ dev: e.dev, weight: 1 });
      }
      if (first < 0) continue;
      fb.add(u, { prefix, target: hops ? { kind: 'unicast', hops } : singleTo(first), source: 'computed' }, key);
    }
  }
  // Static routes.
  for (const r of input.statics) {
    if (s.node[r.at] !== 1) continue;
    const alive = r.via.filter((h) => adj[r.at]!.some((e) => e.dev === h.dev));
    if (alive.length === 0) fb.delete(r.at, r.prefix);
    else fb.set(r.at, { prefix: r.prefix, target: { kind: 'unicast', hops: alive }, source: 'static' });
  }
  return fb.build(input.policy, input.seeds);
}

/** Binary min-heap of (node, distance) pairs (duplicates allowed; stale entries skipped by the caller). */
class MinHeap {
  private node: Int32Array;
  private key: Float64Array;
  size = 0;
  constructor(cap: number) {
    this.node = new Int32Array(Math.max(cap, 16));
    this.key = new Float64Array(Math.max(cap, 16));
  }
  push(n: number, k: number): void {
    if (this.size === this.node.length) {
      const nn = new Int32Array(this.size * 2);
      nn.set(this.node);
      const kk = new Float64Array(this.size * 2);
      kk.set(this.key);
      this.node = nn;
      this.key = kk;
    }
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.key[p]! <= k) break;
      this.node[i] = this.node[p]!;
      this.key[i] = this.key[p]!;
      i = p;
    }
    this.node[i] = n;
    this.key[i] = k;
  }
  topKey(): number {
    return this.key[0]!;
  }
  /** Removes the smallest entry; returns its node. */
  pop(): number {
    const top = this.node[0]!;
    const n = --this.size;
    const ln = this.node[n]!;
    const lk = this.key[n]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && this.key[r]! < this.key[l]! ? r : l;
      if (this.key[m]! >= lk) break;
      this.node[i] = this.node[m]!;
      this.key[i] = this.key[m]!;
      i = m;
    }
    this.node[i] = ln;
    this.key[i] = lk;
    return top;
  }
}
