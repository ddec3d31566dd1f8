/**
 * Route computation against a plain reference: per-prefix Dijkstra over arrays of objects, each
 * node's routes in a map, longest-prefix match by scanning them (the definition in
 * docs/ROUTING.md, written the direct way), on random topologies with anycast subnets, equal and
 * unequal link costs, ECMP on and off, static and default routes (weighted, over dead links), link
 * and node failures, and tables for a subset of the nodes only.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { computeFib, type LinkState, type RoutingInput, type StaticRoute } from '../sim/routing/compute';
import { ROUTE_LOCAL, ROUTE_NONE, type NextHop } from '../sim/routing/fib';
import { multipathHash, upperBounds } from '../sim/routing/hash';
import { formatPrefix, maskPrefix, parseAddrLen, parsePrefix, prefixContains, type Prefix } from '../sim/routing/prefix';
import { parseIpv6 } from '../sim/topology';
import { rng } from './routing.helpers';


type Target = 'local' | 'unreachable' | NextHop[];

/** The reference: what every node routes, by prefix text (see module doc). */
function reference(input: RoutingInput, s: LinkState): Map<string, { prefix: Prefix; target: Target }>[] {
  const N = input.nodes.length;
  const up = (li: number) => {
    const l = input.links[li]!;
    return s.link[li] === 1 && s.node[l.a.node] === 1 && s.node[l.b.node] === 1;
  };
  const adj: { dev: number; peer: number; cost: number }[][] = Array.from({ length: N }, () => []);
  input.links.forEach((l, li) => {
    if (!up(li)) return;
    adj[l.a.node]!.push({ dev: l.a.dev, peer: l.b.node, cost: l.cost });
    adj[l.b.node]!.push({ dev: l.b.dev, peer: l.a.node, cost: l.cost });
  });
  for (const a of adj) a.sort((x, y) => x.dev - y.dev);
  const announced = new Map<string, { prefix: Prefix; origins: Set<number> }>();
  input.nodes.forEach((n, i) => {
    for (const a of n.addrs) {
      for (const p of a.len < 128 ? [maskPrefix(a.addr, 128), maskPrefix(a.addr, a.len)] : [maskPrefix(a.addr, 128)]) {
        const k = formatPrefix(p);
        if (!announced.has(k)) announced.set(k, { prefix: p, origins: new Set() });
        announced.get(k)!.origins.add(i);
      }
    }
  });
  const routes = Array.from({ length: N }, () => new Map<string, { prefix: Prefix; target: Target }>());
  for (const [k, { prefix, origins }] of announced) {
    const dist = new Array<number>(N).fill(Infinity);
    const done = new Array<boolean>(N).fill(false);
    for (const o of origins) if (s.node[o] === 1) dist[o] = 0;
    for (;;) {
      let u = -1;
      for (let v = 0; v < N; v++) if (!done[v] && dist[v]! < Infinity && (u < 0 || dist[v]! < dist[u]!)) u = v;
      if (u < 0) break;
      done[u] = true;
      for (const e of adj[u]!) dist[e.peer] = Math.min(dist[e.peer]!, dist[u]! + e.cost);
    }
    for (let u = 0; u < N; u++) {
      if (s.node[u] !== 1) continue;
      if (origins.has(u)) routes[u]!.set(k, { prefix, target: prefix.len === 128 ? 'local' : 'unreachable' });
      else if (dist[u]! < Infinity) {
        const hops = adj[u]!.filter((e) => dist[e.peer]! + e.cost === dist[u]).map((e) => ({ dev: e.dev, weight: 1 }));
        routes[u]!.set(k, { prefix, target: input.ecmp ? hops : hops.slice(0, 1) });
      }
    }
  }
  for (const r of input.statics) {
    if (s.node[r.at] !== 1) continue;
    const alive = r.via.filter((h) => adj[r.at]!.some((e) => e.dev === h.dev));
    if (alive.length === 0) routes[r.at]!.delete(formatPrefix(r.prefix));
    else routes[r.at]!.set(formatPrefix(r.prefix), { prefix: r.prefix, target: alive });
  }
  return routes;
}

/** The reference's answer for `node` and the packet `pkt` (destination at 24). */
function refNextDev(input: RoutingInput, routes: Map<string, { prefix: Prefix; target: Target }>, node: number, pkt: Uint8Array): number {
  let best: { prefix: Prefix; target: Target } | undefined;
  for (const r of routes.values()) if (prefixContains(r.prefix, pkt, 24) && (!best || r.prefix.len > best.prefix.len)) best = r;
  if (!best || best.target === 'unreachable') return ROUTE_NONE;
  if (best.target === 'local') return ROUTE_LOCAL;
  const hops = best.target;
  if (hops.length === 1) return hops[0]!.dev;
  const h = multipathHash(input.policy, pkt, 0, input.seeds[node]!);
  const ub = upperBounds(hops.map((x) => x.weight));
  for (let i = 0; i < hops.length - 1; i++) if (h <= ub[i]!) return hops[i]!.dev;
  return hops[hops.length - 1]!.dev;
}

/** A random connected-ish network of `N` nodes (see module doc). */
function randomInput(r: (n: number) => number, N: number, ecmp: boolean, uniform: boolean): RoutingInput {
  const nodes = Array.from({ length: N }, (_, i) => {
    const addrs = [parseAddrLen(`fd00:${i + 1}::1`)!];
    if (r(3) === 0) addrs.push(parseAddrLen(`fd00:a${r(3)}::${i + 1}/64`)!); // anycast when two nodes pick the same subnet
    if (r(4) === 0) addrs.push(parseAddrLen(`fd00:b${i}::1/48`)!);
    return { name: `n${i}`, addrs };
  });
  const devs = new Array<number>(N).fill(0);
  const links: RoutingInput['links'] = [];
  const add = (a: number, b: number) => links.push({ a: { node: a, dev: devs[a]!++ }, b: { node: b, dev: devs[b]!++ }, cost: uniform ? 1 : 1 + r(3) });
  for (let i = 1; i < N; i++) add(r(i), i);
  for (let k = r(N); k > 0; k--) {
    const a = r(N);
    const b = r(N);
    if (a !== b) add(a, b);
  }
  const statics: StaticRoute[] = [];
  for (let k = r(4); k > 0; k--) {
    const at = r(N);
    const nbr = links.filter((l) => l.a.node === at || l.b.node === at).map((l) => (l.a.node === at ? l.a.dev : l.b.dev));
    const via = nbr.filter(() => r(2) === 0).map((dev) => ({ dev, weight: 1 + r(3) }));
    if (via.length === 0) continue;
    const prefix = [parsePrefix('default')!, maskPrefix(nodes[r(N)]!.addrs[0]!.addr, 128), parsePrefix(`fd00:a${r(3)}::/64`)!, parsePrefix('fd00::/16')!][r(4)]!;
    statics.push({ at, prefix, via });
  }
  return { nodes, links, statics, ecmp, policy: r(2) as 0 | 1, seeds: Uint32Array.from(nodes, () => r(0xffffffff)) };
}

function packet(r: (n: number) => number, dst: Uint8Array): Uint8Array {
  const b = new Uint8Array(48);
  b[0] = 0x60;
  b[1] = r(16);
  b[2] = r(256);
  b[6] = 17;
  b.set(parseIpv6(`fd00:${1 + r(9)}::1`)!, 8);
  b.set(dst, 24);
  b[40] = r(256); b[41] = r(256); b[42] = r(256); b[43] = r(256);
  return b;
}

describe('route computation against the reference', () => {
  test('random networks: every node, every kind of destination, failures, owned subsets', () => {
    const r = rng(20260101);
    let compared = 0;
    let multipath = 0;
    for (let iter = 0; iter < 120; iter++) {
      const N = 3 + r(12);
      const input = randomInput(r, N, r(2) === 0, r(2) === 0);
      const s: LinkState = { link: new Uint8Array(input.links.length).fill(1), node: new Uint8Array(N).fill(1) };
      if (r(2) === 0) for (let k = r(3); k >= 0; k--) s.link[r(input.links.length)] = 0;
      if (r(3) === 0) s.node[r(N)] = 0;
      const owned = r(3) === 0 ? Uint8Array.from({ length: N }, () => r(2)) : undefined;
      const fib = computeFib(input, s, owned);
      const ref = reference(input, s);
      const dsts = [
        ...input.nodes.flatMap((n) => n.addrs.map((a) => a.addr)),
        parseIpv6('fd00:a1::99')!, parseIpv6('fd00:a2::1234')!, parseIpv6('fd00:b3::77')!, parseIpv6('3fff::1')!, parseIpv6('fd00:ffff::1')!,
      ];
      for (let node = 0; node < N; node++) {
        for (const d of dsts) {
          for (let k = 0; k < 3; k++) {
            const pkt = packet(r, d);
            const want = owned && owned[node] !== 1 ? ROUTE_NONE : refNextDev(input, ref[node]!, node, pkt);
            assert.equal(fib.nextDev(node, pkt, 0), want, `iteration ${iter}, node ${node}, destination ${formatPrefix({ addr: d, len: 128 })}`);
            compared++;
          }
        }
        if (!owned || owned[node] === 1) {
          // The displayed table: the reference's routes, sorted.
          const got = fib.table[node]!.map((e) => `${formatPrefix(e.prefix)} ${e.target.kind === 'unicast' ? JSON.stringify(e.target.hops) : e.target.kind}`);
          const exp = [...ref[node]!.values()].map((e) => `${formatPrefix(e.prefix)} ${typeof e.target === 'string' ? e.target : JSON.stringify(e.target)}`);
          assert.deepEqual(new Set(got), new Set(exp), `iteration ${iter}, table of node ${node}`);
          multipath += fib.table[node]!.filter((e) => e.target.kind === 'unicast' && e.target.hops.length > 1).length;
        } else {
          assert.deepEqual(fib.table[node], [], 'an unowned node has no table');
        }
      }
    }
    assert.ok(compared > 10_000, `compared ${compared}`);
    assert.ok(multipath > 50, `multipath routes seen: ${multipath}`);
  });
});
