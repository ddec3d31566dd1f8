/**
 * Routing as the engine sees it: where a node sends a packet, behind one function,
 * {@link Routes.nextDev} `(node, slab, destination offset, packet offset, packet end) → interface
 * index | LOCAL | NO_ROUTE`. This module adapts the routing library (sim/routing/*,
 * docs/ROUTING.md: per-prefix shortest paths with longest-prefix match, ECMP on the flow hash
 * with Linux's hash policies, static and default routes, link and node failures with the tables
 * recomputed after the convergence delay) to the engine's constants and packet slab; a lookup
 * allocates nothing (the tables are typed arrays, the hash reads the packet in place).
 *
 * It also maps address text to nodes (flow endpoints given as addresses).
 * @module
 */
import { addrKey } from './packet';
import * as fib from './routing/fib';
import { RoutingState, routingInput, type DevLike } from './routing/setup';
import { parseAddrLenText, topologyError, type LoadedTopology } from './topology';

// Module-local copies of imported functions and constants: hot paths then call a local, not an
// export binding (under tsx every export binding is read through a getter).
const { ROUTE_LOCAL } = fib;

/** {@link Routes.nextDev}: deliver locally. */
export const LOCAL = -1;
/** {@link Routes.nextDev}: no route (the packet is dropped, reason `no-route`). */
export const NO_ROUTE = -2;

/** The engine's code of a routing-library result. */
function code(r: number): number {
  return r >= 0 ? r : r === ROUTE_LOCAL ? LOCAL : NO_ROUTE;
}

/** Routes of a network (see module doc). */
export class Routes {
  /** Tables in force, their history, link and node state (set by {@link compute}). */
  state!: RoutingState;
  private readonly byText = new Map<string, number>();
  /** A 40-byte IPv6 header (destination set per call) for {@link toNode}. */
  private readonly hdr = new Uint8Array(40);

  constructor(private readonly topo: LoadedTopology, private readonly nodes: { name: string; addresses: Uint8Array[] }[]) {
    nodes.forEach((node, i) => {
      node.addresses.forEach((a, k) => {
        const key = addrKey(a, 0);
        if (this.byText.has(key)) throw topologyError(topo, ['nodes', i, 'addresses', k], `address ${topo.input.nodes[i]!.addresses[k]} is also on ${nodes[this.byText.get(key)!]!.name}`);
        this.byText.set(key, i);
      });
    });
  }

  /**
   * Computes the tables once the devices exist (`linkEnds[li]` = link li's two ends); with
   * `ownedNodes` (1 = owned) only those nodes get tables: the others route nothing (an engine
   * part that runs only its own nodes needs no other table).
   */
  compute(linkEnds: [DevLike, DevLike][], ownedNodes?: Uint8Array): void {
    this.state = new RoutingState(routingInput(this.topo, linkEnds), ownedNodes);
  }

  /**
   * Interface of `node` toward the 16-byte destination at `b[dstOff..]`, the flow hash (multipath
   * routes only) over the IPv6 packet at `b[off..end]`.
   */
  nextDev(node: number, b: Uint8Array, dstOff: number, off: number, end: number): number {
    return code(this.state.fib.nextDevTo(node, b, dstOff, b, off, end));
  }

  /** Like {@link nextDev} toward the address `dst[0..16]` (a tunnel endpoint). */
  nextDevToAddr(node: number, dst: Uint8Array, b: Uint8Array, off: number, end: number): number {
    return code(this.state.fib.nextDevTo(node, dst, 0, b, off, end));
  }

  /**
   * Interface from `node` toward node `dst`'s first address (a multipath route's first next hop
   * for a header with only that destination set), LOCAL or NO_ROUTE: the host routes the kernel
   * testbed installs.
   */
  toNode(node: number, dst: number): number {
    this.hdr.set(this.nodes[dst]!.addresses[0]!, 24);
    return code(this.state.fib.nextDev(node, this.hdr, 0));
  }

  /** Node owning an address given as text (`addr` or `addr/len`), or -1. */
  ownerOfText(text: string): number {
    const a = parseAddrLenText(text);
    return a ? this.byText.get(addrKey(a.addr, 0)) ?? -1 : -1;
  }

  /** Whether link `li` carries packets (it and both its nodes up). */
  linkUp(li: number): boolean {
    return this.state.linkUp(li);
  }

  nodeUp(n: number): boolean {
    return this.state.nodeUp(n);
  }
}
