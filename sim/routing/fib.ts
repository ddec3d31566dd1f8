/**
 * A forwarding table for every node of a network: per node an LPM trie from prefixes to route
 * groups; a group is local delivery, unreachable, or one or more next hops (devices, i.e. the
 * node's interface indexes) with hash-threshold bounds. All in typed arrays: a lookup allocates
 * nothing.
 *
 * This is the interface an engine calls per packet: {@link Fib.nextDev}.
 * @module
 */
import { multipathHash, upperBounds, type HashPolicy } from './hash';
import { Lpm, LPM_NONE } from './lpm';
import { formatPrefix, type Prefix } from './prefix';

/** No route: drop the packet (`no-route`). */
export const ROUTE_NONE = -1;
/** The packet is for this node. */
export const ROUTE_LOCAL = -2;

export interface NextHop {
  /** The node's interface (device) index. */
  dev: number;
  weight: number;
}

export type RouteTarget = { kind: 'local' } | { kind: 'unreachable' } | { kind: 'unicast'; hops: NextHop[] };

export interface RouteEntry {
  prefix: Prefix;
  target: RouteTarget;
  /** `connected` (own address), `computed` (shortest paths) or `static`. */
  source: 'connected' | 'computed' | 'static';
}

/**
 * Collects routes per node, then freezes them into a {@link Fib}. Routes known to be new at their
 * node ({@link add}: one computed route per prefix) go into plain lists; a node gets a map by
 * prefix text only once one of its routes is replaced or deleted (static routes), so a large
 * network's tables cost no string-keyed map per node.
 */
export class FibBuilder {
  private readonly lists: RouteEntry[][];
  private readonly keys: string[][];
  private readonly maps: (Map<string, RouteEntry> | undefined)[];
  constructor(readonly nodeCount: number) {
    this.lists = Array.from({ length: nodeCount }, () => []);
    this.keys = Array.from({ length: nodeCount }, () => []);
    this.maps = new Array(nodeCount).fill(undefined);
  }
  /** Adds a route for a prefix the node has no route for yet (`key` = the prefix's text). */
  add(node: number, e: RouteEntry, key: string): void {
    const m = this.maps[node];
    if (m) m.set(key, e);
    else {
      this.lists[node]!.push(e);
      this.keys[node]!.push(key);
    }
  }
  /** Sets node's route for a prefix (replacing one for the same prefix). */
  set(node: number, e: RouteEntry, key = formatPrefix(e.prefix)): void {
    this.map(node).set(key, e);
  }
  delete(node: number, prefix: Prefix): void {
    this.map(node).delete(formatPrefix(prefix));
  }
  /** The node's routes. */
  entries(node: number): RouteEntry[] {
    const m = this.maps[node];
    return m ? [...m.values()] : this.lists[node]!;
  }
  private map(node: number): Map<string, RouteEntry> {
    let m = this.maps[node];
    if (!m) {
      m = new Map();
      const keys = this.keys[node]!;
      this.lists[node]!.forEach((e, i) => m!.set(keys[i]!, e));
      this.maps[node] = m;
    }
    return m;
  }
  build(policy: HashPolicy, seeds: Uint32Array): Fib {
    return new Fib(this, policy, seeds);
  }
}

export class Fib {
  private readonly lpm: Lpm[] = [];
  /** Per group: -1 local, 0 unreachable, n >= 1 next hops starting at gStart. */
  private readonly gCount: Int32Array;
  private readonly gStart: Int32Array;
  private readonly nhDev: Int32Array;
  private readonly nhUpper: Int32Array;
  private readonly routes: RouteEntry[][];
  private sorted?: RouteEntry[][];

  constructor(b: FibBuilder, readonly policy: HashPolicy, readonly seeds: Uint32Array) {
    const groups = new Map<string, number>();
    /** Group of a single next hop of weight 1, by device (most routes): no key string. */
    const single: number[] = [];
    const gCount: number[] = [];
    const gStart: number[] = [];
    const nhDev: number[] = [];
    const nhUpper: number[] = [];
    const groupOf = (t: RouteTarget): number => {
      if (t.kind === 'unicast' && t.hops.length === 1 && t.hops[0]!.weight === 1 && single[t.hops[0]!.dev] !== undefined) return single[t.hops[0]!.dev]!;
      const key = t.kind === 'unicast' ? t.hops.map((h) => `${h.dev}*${h.weight}`).join(',') : t.kind;
      let g = groups.get(key);
      if (g === undefined) {
        g = gCount.length;
        groups.set(key, g);
        gStart.push(nhDev.length);
        if (t.kind === 'unicast') {
          gCount.push(t.hops.length);
          const ub = upperBounds(t.hops.map((h) => h.weight));
          t.hops.forEach((h, i) => { nhDev.push(h.dev); nhUpper.push(ub[i]!); });
          if (t.hops.length === 1 && t.hops[0]!.weight === 1) single[t.hops[0]!.dev] = g;
        } else {
          gCount.push(t.kind === 'local' ? -1 : 0);
        }
      }
      return g;
    };
    this.routes = [];
    for (let node = 0; node < b.nodeCount; node++) {
      const entries = b.entries(node);
      this.routes.push(entries);
      const lpm = new Lpm(entries.length);
      for (const e of entries) lpm.insert(e.prefix.addr, e.prefix.len, groupOf(e.target));
      this.lpm[node] = lpm;
    }
    this.gCount = Int32Array.from(gCount);
    this.gStart = Int32Array.from(gStart);
    this.nhDev = Int32Array.from(nhDev);
    this.nhUpper = Int32Array.from(nhUpper);
  }

  /** The routes (sorted by prefix length, then address, per node) for display and checks. */
  get table(): RouteEntry[][] {
    return (this.sorted ??= this.routes.map((m) => [...m].sort((x, y) => x.prefix.len - y.prefix.len || cmpBytes(x.prefix.addr, y.prefix.addr))));
  }

  /**
   * The device (interface index) `node` sends the IPv6 packet at `b[off..]` out of, or
   * ROUTE_LOCAL / ROUTE_NONE. The flow hash is computed only for a multipath route.
   */
  nextDev(node: number, b: Uint8Array, off: number): number {
    return this.nextDevTo(node, b, off + 24, b, off);
  }

  /**
   * Like {@link nextDev} for destination `dst[dstOff..]` with the hash taken over the packet at
   * `b[off..end]` (`end` defaults to the array's end; a packet in a larger buffer gives its own).
   */
  nextDevTo(node: number, dst: Uint8Array, dstOff: number, b: Uint8Array, off: number, end = b.length): number {
    if (dstOff + 16 > dst.length) return ROUTE_NONE;
    const g = this.lpm[node]!.lookup(dst, dstOff);
    if (g === LPM_NONE) return ROUTE_NONE;
    const n = this.gCount[g]!;
    if (n <= 0) return n === 0 ? ROUTE_NONE : ROUTE_LOCAL;
    const s = this.gStart[g]!;
    if (n === 1) return this.nhDev[s]!;
    const h = multipathHash(this.policy, b, off, this.seeds[node]!, end);
    for (let i = 0; i < n - 1; i++) if (h <= this.nhUpper[s + i]!) return this.nhDev[s + i]!;
    return this.nhDev[s + n - 1]!;
  }
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
