/**
 * Routing: where a node sends a packet, behind one function, {@link Routes.nextDev}
 * `(node, address bytes, offset, flowHash) → interface index | LOCAL | NO_ROUTE`. The engine calls
 * nothing else, so another routing model (prefixes, ECMP on the flow hash, failures) replaces this
 * module without touching the engine.
 *
 * This implementation: host routes. Every node address is a /128 owned by its node; next hops are
 * shortest paths (metric `hops`, or `delay` = link delay + 1 per hop), ties → the lowest interface
 * index; then the topology's static overrides (`routes.static`: at, to, via). The flow hash is not
 * used (no ECMP).
 * @module
 */
import { ipv6ToBytes } from '../src/config';
import { addrKey } from './packet';
import { topologyError, type LoadedTopology } from './topology';

/** {@link Routes.nextDev}: deliver locally. */
export const LOCAL = -1;
/** {@link Routes.nextDev}: no route (the packet is dropped, reason `no-route`). */
export const NO_ROUTE = -2;

/** What routing needs to know of the graph: per node, its links (interface → peer node, link delay). */
export interface RoutingGraph {
  /** Node names (for static routes) and addresses. */
  nodes: { name: string; addresses: Uint8Array[] }[];
  /** `links[node]` = `{ ifIndex, peer, delayNs }` for each linked interface. */
  links: { ifIndex: number; peer: number; delayNs: number }[][];
}

/** Host routes (see module doc). */
export class Routes {
  /** `next[node * N + dst]` = interface, LOCAL or NO_ROUTE. */
  private readonly next: Int32Array;
  private readonly n: number;
  /** Address → owner: 32-bit hash of the 16 bytes → candidates (bytes compared; no strings on the hot path). */
  private readonly byHash = new Map<number, { bytes: Uint8Array; owner: number }[]>();
  private readonly byText = new Map<string, number>();

  constructor(private readonly topo: LoadedTopology, private readonly g: RoutingGraph) {
    this.n = g.nodes.length;
    this.next = new Int32Array(this.n * this.n).fill(NO_ROUTE);
    g.nodes.forEach((node, i) => {
      node.addresses.forEach((a, k) => {
        const key = addrKey(a, 0);
        if (this.byText.has(key)) throw topologyError(topo, ['nodes', i, 'addresses', k], `address ${topo.input.nodes[i]!.addresses[k]} is also on ${g.nodes[this.byText.get(key)!]!.name}`);
        this.byText.set(key, i);
        const h = addrHash(a, 0);
        let list = this.byHash.get(h);
        if (!list) this.byHash.set(h, (list = []));
        list.push({ bytes: a, owner: i });
      });
    });
  }

  /** Interface toward the 16-byte address at `b[off..]` from `node` (see module doc). */
  nextDev(node: number, b: Uint8Array, off: number, _flowHash: number): number {
    const owner = this.ownerOf(b, off);
    return owner < 0 ? NO_ROUTE : this.next[node * this.n + owner]!;
  }

  /** Interface from `node` toward node `dst` (host route), LOCAL or NO_ROUTE. */
  toNode(node: number, dst: number): number {
    return this.next[node * this.n + dst]!;
  }

  /** Node owning an address given as text, or -1. */
  ownerOfText(text: string): number {
    return this.byText.get(addrKey(ipv6ToBytes(text), 0)) ?? -1;
  }

  /** Index of the node owning the 16-byte address at `b[off..]`, or -1. */
  ownerOf(b: Uint8Array, off: number): number {
    if (off + 16 > b.length) return -1;
    const list = this.byHash.get(addrHash(b, off));
    if (list === undefined) return -1;
    for (let k = 0; k < list.length; k++) {
      const e = list[k]!;
      if (sameAddr(e.bytes, 0, b, off)) return e.owner;
    }
    return -1;
  }

  /**
   * Shortest paths, then static overrides. `resolve(text, where)` names a node (by name or
   * address) or throws a located topology error.
   */
  compute(resolve: (text: string, where: (string | number)[]) => number, nodeIndex: (name: string, where: (string | number)[]) => number): void {
    const t = this.topo.input;
    const metric = t.routes?.metric ?? 'hops';
    const N = this.n;
    const links = this.g.links;
    const cost = (delayNs: number) => (metric === 'hops' ? 1 : delayNs + 1);
    const dist = new Float64Array(N);
    const heap = new MinHeap(N);
    const queue = new Int32Array(N);
    for (let dst = 0; dst < N; dst++) {
      // Dijkstra from the destination with a binary heap (O(E log N) per destination; the
      // distances, hence the routes, are those of any shortest-path algorithm).
      dist.fill(Infinity);
      dist[dst] = 0;
      if (metric === 'hops') {
        // Unit costs: breadth-first search.
        let qh = 0;
        let qt = 0;
        queue[qt++] = dst;
        while (qh < qt) {
          const u = queue[qh++]!;
          for (const l of links[u]!) {
            if (dist[l.peer] === Infinity) {
              dist[l.peer] = dist[u]! + 1;
              queue[qt++] = l.peer;
            }
          }
        }
      } else heap.push(dst, 0);
      while (heap.size > 0) {
        const du = heap.topKey();
        const u = heap.pop();
        if (du > dist[u]!) continue;
        for (const l of links[u]!) {
          // The cost of reaching u from its neighbour v is v's link toward u: same link, same delay.
          const c = du + cost(l.delayNs);
          if (c < dist[l.peer]!) {
            dist[l.peer] = c;
            heap.push(l.peer, c);
          }
        }
      }
      for (let n = 0; n < N; n++) {
        if (n === dst) {
          this.next[n * N + dst] = LOCAL;
          continue;
        }
        let best = NO_ROUTE;
        let bestCost = Infinity;
        for (const l of links[n]!) {
          const c = cost(l.delayNs) + dist[l.peer]!;
          if (c < bestCost || (c === bestCost && l.ifIndex < best)) {
            bestCost = c;
            best = l.ifIndex;
          }
        }
        this.next[n * N + dst] = best;
      }
    }
    (t.routes?.static ?? []).forEach((r, k) => {
      const at = nodeIndex(r.at, ['routes', 'static', k, 'at']);
      const to = resolve(r.to, ['routes', 'static', k, 'to']);
      const via = nodeIndex(r.via, ['routes', 'static', k, 'via']);
      let ifIndex = -1;
      for (const l of links[at]!) if (l.peer === via && (ifIndex < 0 || l.ifIndex < ifIndex)) ifIndex = l.ifIndex;
      if (ifIndex < 0) throw topologyError(this.topo, ['routes', 'static', k, 'via'], `${r.via} is not a neighbour of ${r.at}`);
      this.next[at * N + to] = ifIndex;
    });
  }
}

/** 32-bit hash of the 16-byte address at `b[off..]` (FNV-1a style over the bytes). */
function addrHash(b: Uint8Array, off: number): number {
  let h = 0x811c9dc5;
  for (let i = off; i < off + 16; i++) h = Math.imul(h ^ (b[i] ?? 0), 0x01000193);
  return h | 0;
}

/** Whether the 16 bytes at `a[ao..]` and `b[bo..]` are the same address. */
function sameAddr(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  if (ao + 16 > a.length || bo + 16 > b.length) return false;
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
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
