/**
 * A forwarding table for every node of a network: one LPM over the network's prefixes (sim/routing/
 * lpm.ts) and per node a row of route groups by prefix; a group is local delivery, unreachable, or
 * one or more next hops (devices, i.e. the node's interface indexes) with hash-threshold bounds.
 * A node's longest match is the longest prefix containing the destination that the node has a
 * route for. All in typed arrays: a lookup allocates nothing (and a destination seen before is
 * answered from the LPM's match cache, sim/routing/lpm.ts).
 *
 * This is the interface an engine calls per packet: {@link Fib.nextDev}.
 * @module
 */
import * as hash from './hash';
import type { HashPolicy } from './hash';
import * as lpm from './lpm';
import type { Prefix } from './prefix';

// Module-local copies of imported functions and constants: hot paths then call a local, not an
// export binding (under tsx every export binding is read through a getter).
const { multipathHash, upperBounds } = hash;
const { Lpm, LPM_NONE } = lpm;

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

/** Route sources, as stored per node and prefix (0 = no route). */
const SOURCES = [undefined, 'connected', 'computed', 'static'] as const;
const SOURCE_CODE = { connected: 1, computed: 2, static: 3 } as const;

/** A binary key of a prefix (its length and 16 bytes) for maps. */
function prefixKey(p: Prefix): string {
  return String.fromCharCode(p.len, ...p.addr);
}

/**
 * The prefixes of a network's tables (announced and static), each with an index, and one LPM
 * over all of them from prefix to index: every node's table is a row of group numbers indexed by
 * prefix, so a network with P prefixes and N nodes has one LPM, not N.
 */
export class PrefixSet {
  readonly list: Prefix[] = [];
  private readonly index = new Map<string, number>();
  /** `lpm`: an empty LPM to fill (tests pass one with a tiny match cache). */
  constructor(readonly lpm = new Lpm()) {}
  /** Index of `p`, added when new. */
  add(p: Prefix): number {
    const k = prefixKey(p);
    let i = this.index.get(k);
    if (i === undefined) {
      i = this.list.push(p) - 1;
      this.index.set(k, i);
      this.lpm.insert(p.addr, p.len, i);
    }
    return i;
  }
}

/**
 * Collects routes, per node and prefix index of a {@link PrefixSet}, then freezes them into a
 * {@link Fib}. Targets are interned into groups (one per distinct next-hop list, shared by all
 * nodes); a node's table is one Int32Array row (group per prefix, -1 = none). Only the nodes of
 * `owned` (default all) get a row: the others have no routes.
 */
export class FibBuilder {
  readonly prefixCount: number;
  /** Row offset of each node in {@link groups}, -1 for a node without a table. */
  readonly rowOf: Int32Array;
  readonly groups: Int32Array;
  readonly sources: Uint8Array;
  readonly targets: RouteTarget[] = [];
  readonly gCount: number[] = [];
  readonly gStart: number[] = [];
  readonly nhDev: number[] = [];
  readonly nhUpper: number[] = [];
  private readonly byKey = new Map<string, number>();
  /** Group of a single next hop of weight 1, by device (most routes): no key string. */
  private readonly single: number[] = [];

  constructor(readonly nodeCount: number, readonly prefixes: PrefixSet, owned?: Uint8Array) {
    this.prefixCount = prefixes.list.length;
    this.rowOf = new Int32Array(nodeCount).fill(-1);
    let rows = 0;
    for (let n = 0; n < nodeCount; n++) if (!owned || owned[n] === 1) this.rowOf[n] = rows++ * this.prefixCount;
    this.groups = new Int32Array(rows * this.prefixCount).fill(-1);
    this.sources = new Uint8Array(rows * this.prefixCount);
  }

  /** Whether `node` has a table (is owned). */
  has(node: number): boolean {
    return this.rowOf[node]! >= 0;
  }

  /** The group of a target (interned). */
  group(t: RouteTarget): number {
    if (t.kind === 'unicast' && t.hops.length === 1 && t.hops[0]!.weight === 1) return this.singleGroup(t.hops[0]!.dev);
    return this.intern(t.kind === 'unicast' ? t.hops.map((h) => `${h.dev}*${h.weight}`).join(',') : t.kind, () => t);
  }

  /** The group of a single next hop of weight 1 over `dev`. */
  singleGroup(dev: number): number {
    return (this.single[dev] ??= this.intern(`${dev}*1`, () => ({ kind: 'unicast', hops: [{ dev, weight: 1 }] })));
  }

  /** The group of equal-weight next hops over `devs` (ascending). */
  multiGroup(devs: number[]): number {
    if (devs.length === 1) return this.singleGroup(devs[0]!);
    return this.intern(devs.map((d) => `${d}*1`).join(','), () => ({ kind: 'unicast', hops: devs.map((dev) => ({ dev, weight: 1 })) }));
  }

  private intern(key: string, make: () => RouteTarget): number {
    let g = this.byKey.get(key);
    if (g === undefined) {
      const t = make();
      g = this.targets.push(t) - 1;
      this.byKey.set(key, g);
      this.gStart.push(this.nhDev.length);
      if (t.kind === 'unicast') {
        this.gCount.push(t.hops.length);
        const ub = upperBounds(t.hops.map((h) => h.weight));
        t.hops.forEach((h, i) => { this.nhDev.push(h.dev); this.nhUpper.push(ub[i]!); });
      } else {
        this.gCount.push(t.kind === 'local' ? -1 : 0);
      }
    }
    return g;
  }

  /** Sets node's route for prefix index `pi` to group `g` (replacing any). */
  set(node: number, pi: number, g: number, source: RouteEntry['source']): void {
    const r = this.rowOf[node]!;
    if (r < 0) return;
    this.groups[r + pi] = g;
    this.sources[r + pi] = SOURCE_CODE[source];
  }

  /** Sets the computed route for prefix index `pi` of every node `u` with `groupOf[u] >= 0`. */
  setComputed(pi: number, groupOf: Int32Array): void {
    const { rowOf, groups, sources } = this;
    for (let u = 0; u < groupOf.length; u++) {
      const g = groupOf[u]!;
      const r = rowOf[u]!;
      if (g < 0 || r < 0) continue;
      groups[r + pi] = g;
      sources[r + pi] = SOURCE_CODE.computed;
    }
  }

  delete(node: number, pi: number): void {
    const r = this.rowOf[node]!;
    if (r < 0) return;
    this.groups[r + pi] = -1;
    this.sources[r + pi] = 0;
  }

  build(policy: HashPolicy, seeds: Uint32Array): Fib {
    return new Fib(this, policy, seeds);
  }
}

export class Fib {
  private readonly prefixes: PrefixSet;
  private readonly rowOf: Int32Array;
  /** Per node row and prefix: the group, -1 = no route. */
  private readonly groups: Int32Array;
  private readonly sources: Uint8Array;
  private readonly targets: RouteTarget[];
  /** Per group: -1 local, 0 unreachable, n >= 1 next hops starting at gStart. */
  private readonly gCount: Int32Array;
  private readonly gStart: Int32Array;
  private readonly nhDev: Int32Array;
  private readonly nhUpper: Int32Array;
  private sorted?: RouteEntry[][];

  constructor(b: FibBuilder, readonly policy: HashPolicy, readonly seeds: Uint32Array) {
    this.prefixes = b.prefixes;
    this.rowOf = b.rowOf;
    this.groups = b.groups;
    this.sources = b.sources;
    this.targets = b.targets;
    this.gCount = Int32Array.from(b.gCount);
    this.gStart = Int32Array.from(b.gStart);
    this.nhDev = Int32Array.from(b.nhDev);
    this.nhUpper = Int32Array.from(b.nhUpper);
  }

  /** The routes (sorted by prefix length, then address, per node) for display and checks. */
  get table(): RouteEntry[][] {
    if (this.sorted) return this.sorted;
    const P = this.prefixes.list.length;
    const out: RouteEntry[][] = [];
    for (let node = 0; node < this.rowOf.length; node++) {
      const r = this.rowOf[node]!;
      const routes: RouteEntry[] = [];
      for (let pi = 0; r >= 0 && pi < P; pi++) {
        const g = this.groups[r + pi]!;
        if (g >= 0) routes.push({ prefix: this.prefixes.list[pi]!, target: this.targets[g]!, source: SOURCES[this.sources[r + pi]!]! });
      }
      out.push(routes.sort((x, y) => x.prefix.len - y.prefix.len || cmpBytes(x.prefix.addr, y.prefix.addr)));
    }
    return (this.sorted = out);
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
    const r = this.rowOf[node]!;
    if (r < 0) return ROUTE_NONE;
    const g = this.prefixes.lpm.lookupIn(dst, dstOff, this.groups, r);
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
