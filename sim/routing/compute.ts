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
 * Cost per recomputation: one shortest-path search per distinct set of announcing nodes (not per
 * prefix: a node's addresses and subnet share one), breadth-first when all links cost the same
 * (metric `hops`), else heap Dijkstra, O(links log nodes); none for a leaf (a node with one link:
 * its routes are its neighbour's); then one Int32 per node and prefix.
 * @module
 */
import { FibBuilder, PrefixSet, type Fib, type NextHop } from './fib';
import type { HashPolicy } from './hash';
import { maskPrefix, type IfAddress, type Prefix } from './prefix';

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

/** The announced prefixes of an input, grouped by who announces them (see {@link announcements}). */
interface Announcements {
  prefixes: PrefixSet;
  /** Per distinct set of announcing nodes (ascending): the prefixes it announces, by index. */
  byOrigins: { origins: number[]; prefixes: number[] }[];
  /** Per static route of the input: its prefix index. */
  statics: Int32Array;
}

const announcementsOf = new WeakMap<RoutingInput, Announcements>();

/** The input's prefixes (they do not depend on what is up: computed once per input, which is not changed afterwards). */
function announcements(input: RoutingInput): Announcements {
  let a = announcementsOf.get(input);
  if (a) return a;
  const prefixes = new PrefixSet();
  const origins: number[][] = [];
  input.nodes.forEach((n, i) => {
    for (const ad of n.addrs) {
      const forms = ad.len < 128 ? [maskPrefix(ad.addr, 128), maskPrefix(ad.addr, ad.len)] : [maskPrefix(ad.addr, 128)];
      for (const p of forms) {
        const pi = prefixes.add(p);
        const o = (origins[pi] ??= []);
        if (o[o.length - 1] !== i) o.push(i);
      }
    }
  });
  const sets = new Map<string, { origins: number[]; prefixes: number[] }>();
  origins.forEach((o, pi) => {
    const k = o.join(',');
    let e = sets.get(k);
    if (!e) sets.set(k, (e = { origins: o, prefixes: [] }));
    e.prefixes.push(pi);
  });
  const statics = Int32Array.from(input.statics, (r) => prefixes.add(r.prefix));
  a = { prefixes, byOrigins: [...sets.values()], statics };
  announcementsOf.set(input, a);
  return a;
}

/** The links that are up as adjacency lists in typed arrays (CSR), each node's by interface index. */
interface Adjacency {
  start: Int32Array;
  dev: Int32Array;
  peer: Int32Array;
  cost: Float64Array;
  /** All links cost the same (shortest paths by breadth-first search). */
  uniform: boolean;
  /**
   * All costs are positive integers (as a topology's are): sums are exact, so routes toward a
   * leaf can be taken from those toward its neighbour (see `leafOf` in {@link computeFib}).
   */
  leafShortcut: boolean;
}

function adjacency(input: RoutingInput, s: LinkState): Adjacency {
  const N = input.nodes.length;
  const start = new Int32Array(N + 1);
  const alive: number[] = [];
  input.links.forEach((l, li) => {
    if (!linkAlive(input, s, li)) return;
    alive.push(li);
    start[l.a.node + 1]!++;
    start[l.b.node + 1]!++;
  });
  for (let n = 0; n < N; n++) start[n + 1]! += start[n]!;
  const E = start[N]!;
  const dev = new Int32Array(E);
  const peer = new Int32Array(E);
  const cost = new Float64Array(E);
  const fill = start.slice(0, N);
  let uniform = true;
  const c0 = alive.length > 0 ? input.links[alive[0]!]!.cost : 0;
  const put = (n: number, d: number, p: number, c: number) => {
    // Insertion into n's list, kept sorted by interface index.
    let k = fill[n]!++;
    while (k > start[n]! && dev[k - 1]! > d) {
      dev[k] = dev[k - 1]!;
      peer[k] = peer[k - 1]!;
      cost[k] = cost[k - 1]!;
      k--;
    }
    dev[k] = d;
    peer[k] = p;
    cost[k] = c;
  };
  let leafShortcut = true;
  for (const li of alive) {
    const l = input.links[li]!;
    if (l.cost !== c0) uniform = false;
    if (!(Number.isSafeInteger(l.cost) && l.cost > 0)) leafShortcut = false;
    put(l.a.node, l.a.dev, l.b.node, l.cost);
    put(l.b.node, l.b.dev, l.a.node, l.cost);
  }
  return { start, dev, peer, cost, uniform, leafShortcut };
}

/**
 * Computes every node's forwarding table for the state `s` (see module doc); with `owned`, only
 * the nodes flagged 1 get a table (the others route nothing), for an engine that runs a part of
 * the network.
 */
export function computeFib(input: RoutingInput, s: LinkState = allUp(input), owned?: Uint8Array): Fib {
  const N = input.nodes.length;
  const adj = adjacency(input, s);
  const { start, dev, peer, cost } = adj;
  const ann = announcements(input);
  const fb = new FibBuilder(N, ann.prefixes, owned);
  const dist = new Float64Array(N);
  const heap = new MinHeap(N);
  const queue = new Int32Array(N);
  /** Per node, multipath groups by the bit mask of its equal-cost neighbours (degree <= 30). */
  const multi: (Map<number, number> | undefined)[] = new Array(N);
  const devs: number[] = [];
  const LOCAL = fb.group({ kind: 'local' });
  const UNREACHABLE = fb.group({ kind: 'unreachable' });

  /**
   * Per node: the group of its computed route toward `origins` (-1 none, -2 an origin), written
   * into `route`.
   */
  const routesFrom = (origins: number[], route: Int32Array): void => {
    // Shortest distances from the origins: multi-source BFS when every link costs the same, else
    // Dijkstra with a binary heap (the distances, hence the routes, are those of any
    // shortest-path algorithm: with equal costs every shortest path sums the same terms).
    dist.fill(Infinity);
    if (adj.uniform) {
      let head = 0;
      let tail = 0;
      for (const o of origins) {
        if (s.node[o] === 1 && dist[o] !== 0) {
          dist[o] = 0;
          queue[tail++] = o;
        }
      }
      while (head < tail) {
        const u = queue[head++]!;
        const du = dist[u]!;
        for (let e = start[u]!; e < start[u + 1]!; e++) {
          const v = peer[e]!;
          if (dist[v] === Infinity) {
            dist[v] = du + cost[e]!;
            queue[tail++] = v;
          }
        }
      }
    } else {
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
        for (let e = start[u]!; e < start[u + 1]!; e++) {
          const c = du + cost[e]!;
          const v = peer[e]!;
          if (c < dist[v]!) {
            dist[v] = c;
            heap.push(v, c);
          }
        }
      }
    }
    route.fill(-1);
    for (const o of origins) route[o] = -2;
    for (let u = 0; u < N; u++) {
      if (route[u] === -2 || s.node[u] !== 1 || !fb.has(u) || dist[u] === Infinity) continue;
      const e0 = start[u]!;
      // One link: the distance came over it (no scan needed).
      if (start[u + 1]! - e0 === 1) {
        route[u] = fb.singleGroup(dev[e0]!);
        continue;
      }
      // Equal-cost next hops in interface order (adjacency sorted); without ECMP the first one.
      let first = -1;
      let mask = 0;
      let n = 0;
      for (let e = e0; e < start[u + 1]!; e++) {
        if (dist[peer[e]!]! + cost[e]! !== dist[u]) continue;
        if (first < 0) first = e;
        n++;
        if (!input.ecmp) break;
        if (e - e0 < 30) mask |= 1 << (e - e0);
      }
      if (first < 0) continue;
      if (n === 1) route[u] = fb.singleGroup(dev[first]!);
      else if (start[u + 1]! - e0 <= 30) {
        const m = (multi[u] ??= new Map());
        let g = m.get(mask);
        if (g === undefined) {
          devs.length = 0;
          for (let e = e0; e < start[u + 1]!; e++) if (mask & (1 << (e - e0))) devs.push(dev[e]!);
          m.set(mask, (g = fb.multiGroup(devs)));
        }
        route[u] = g;
      } else {
        devs.length = 0;
        for (let e = e0; e < start[u + 1]!; e++) if (dist[peer[e]!]! + cost[e]! === dist[u]) devs.push(dev[e]!);
        route[u] = fb.multiGroup(devs);
      }
    }
  };

  /**
   * A leaf origin: a single node h, up, with one link (to e). Every path to h ends with that link,
   * so every other node routes toward h as toward e, and e over the link: one search from e serves
   * all of e's leaves (the hosts of a fat tree: most of its nodes).
   */
  const leafOf = (origins: number[]): number => {
    if (origins.length !== 1) return -1;
    const h = origins[0]!;
    return s.node[h] === 1 && start[h + 1]! - start[h]! === 1 ? start[h]! : -1;
  };
  /** Routes toward single nodes that leaves hang from (searched once each). */
  const fromNode = new Map<number, Int32Array>();
  const route = new Int32Array(N);
  const install = (origins: number[], prefixes: number[]) => {
    for (const pi of prefixes) {
      const host = ann.prefixes.list[pi]!.len === 128;
      for (const o of origins) if (s.node[o] === 1) fb.set(o, pi, host ? LOCAL : UNREACHABLE, 'connected');
      fb.setComputed(pi, route);
    }
  };
  const leaves: { origins: number[]; prefixes: number[]; e: number }[] = [];
  const others: { origins: number[]; prefixes: number[] }[] = [];
  const wanted = new Set<number>();
  for (const a of ann.byOrigins) {
    const e = adj.leafShortcut ? leafOf(a.origins) : -1;
    if (e >= 0) {
      leaves.push({ ...a, e });
      wanted.add(peer[e]!);
    } else others.push(a);
  }
  for (const { origins, prefixes } of others) {
    routesFrom(origins, route);
    if (origins.length === 1 && wanted.has(origins[0]!)) fromNode.set(origins[0]!, route.slice());
    install(origins, prefixes);
  }
  for (const { origins, prefixes, e } of leaves) {
    const h = origins[0]!;
    const via = peer[e]!;
    let base = fromNode.get(via);
    if (!base) {
      routesFrom([via], route);
      fromNode.set(via, (base = route.slice()));
    }
    route.set(base);
    route[h] = -2;
    // `via`'s only next hop toward h: the link (any other neighbour w is further: d(w, h) = d(w, via) + cost > 0).
    let back = -1;
    for (let k = start[via]!; k < start[via + 1]!; k++) if (peer[k] === h) back = k;
    route[via] = fb.has(via) ? fb.singleGroup(dev[back]!) : -1;
    install(origins, prefixes);
  }
  // Static routes.
  input.statics.forEach((r, k) => {
    if (s.node[r.at] !== 1) return;
    const alive = r.via.filter((h) => {
      for (let e = start[r.at]!; e < start[r.at + 1]!; e++) if (dev[e] === h.dev) return true;
      return false;
    });
    const pi = ann.statics[k]!;
    if (alive.length === 0) fb.delete(r.at, pi);
    else fb.set(r.at, pi, fb.group({ kind: 'unicast', hops: alive }), 'static');
  });
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
