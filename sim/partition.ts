/**
 * Parallel discrete-event simulation: the nodes are split into partitions, each run by one worker
 * thread with its own event loop (traffic generation, dataplane steps on its own native nodes,
 * queues, links), in conservative windows (YAWNS; ns-3's "granted time window"):
 *
 * - **Lookahead** L = the smallest propagation delay of the links cut by the partition. A packet
 *   that starts transmission at t ≥ window start W arrives at t + serialization + delay ≥ W + L, so
 *   every partition may run all its events earlier than W + L without waiting for the others.
 * - **Window loop** (every worker): publish the time of its earliest event (and of the arrivals
 *   it just sent); barrier; W = the smallest of them (stop when past the run's end); read the
 *   packets the others sent in the window before (their arrival events join the queue with the
 *   sender's tie key); run events < W + L; repeat. One barrier per window (the outboxes are double
 *   buffered), on `Atomics.wait/notify` over a SharedArrayBuffer (spinning first), never a
 *   message round trip.
 * - **Packets crossing** go through one SharedArrayBuffer outbox per ordered pair of partitions:
 *   fixed-size records (arrival time, tie key, receiving device, every per-packet field the far
 *   end reads: id, flow, seq, creation time, domain, tunnel flag, last device, arrival time at
 *   the previous node; application objects do not cross) followed by
 *   the packet bytes. An outbox holds what its cut links can carry in one window (bandwidth × L plus
 *   one largest packet per link, and a record per transmission that fits); it never silently drops:
 *   overflow fails the run.
 * - **Determinism**: the engine's tie order depends only on the entity that posted an event
 *   (sim/engine.ts), packet and request ids are per node, and each random stream belongs to one
 *   flow, link direction or server; so a partition runs exactly the events the whole network run in
 *   one queue runs at its nodes, in the same order, and the outputs are byte-identical whatever the
 *   number of partitions (test/sim.partition.test.ts).
 * - **Partitioning**: links with zero delay are never cut (their ends are merged first); the
 *   groups are grown from seeds far apart, each step giving the lightest partition its neighbouring
 *   group with the most links into it, then boundary groups move from the heaviest partition to a
 *   lighter neighbour while that lowers the heaviest load. The load of a node is what its flows'
 *   packets cost it per second (each flow's route walked once for a header like its packets', so
 *   ECMP spreads it): per packet one unit for its step, more where it is generated, delivered,
 *   encapsulated or decapsulated (with the trace decode and path check), plus a cost per dataplane
 *   step (with a tick, per tick in which a packet arrived: a busy switch batches many packets per
 *   step, a host one or two). The costs were measured on an instrumented inline run (see
 *   COST_STEP). Fewer groups than workers → fewer partitions, said in `run-info.json`.
 *
 * - **Measuring**: with IOAMSIM_PARTITION_DEBUG=1 the planner prints the estimated loads and each
 *   partition, at the end, the milliseconds it ran events (busy), read arrivals (receive) and
 *   waited at barriers — with the part of that wait spent on partitions that worked longer in the
 *   same window (the rest is the barrier's own cost: hand-offs, wake-ups, threads waiting for a
 *   core) and how many barriers slept; `run-info.json` has busyMs and packetHops per partition.
 *
 * Each worker builds the whole network (routing for every node: the path check needs it), owns
 * its partition's nodes, and writes its nodes' trace and capture files; the main thread merges the
 * partitions' counters and sketches (exact: see sim/stats.ts) into the summary. A worker that fails
 * or dies aborts every partition; the run fails and leaves no output that looks complete.
 * @module
 */
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import type { Network } from './network';
import type { LoadedTopology } from './topology';
import type { PathTable } from './paths/table';
import type { PathTruth } from './paths/truth';
import type { Traffic } from './traffic';
import type { DistState } from './stats';

/** Words (float64) of an outbox record before the packet bytes. */
const REC_WORDS = 13;
const REC_BYTES = REC_WORDS * 8;
/** Outbox header bytes (the byte count written, int32). */
const HDR = 8;

/**
 * The load model (see module doc, "Partitioning"), in units of one packet through one node's
 * dataplane step (its arrival, step and departure events). Measured, not guessed, with
 * `ioamsim run examples/fat-tree-k8.yaml --duration 100ms --outputs summary --workers 0` (and
 * fat-tree-k4.yaml) on a build instrumented for the purpose (a one-off patch, not kept: it
 * charged the time between successive event handlers, traffic closures and the per-node phases
 * of each dataplane step — preparation, core call, results, trace handling, delivery — to the
 * node they work for), then least squares over the nodes of time = step · steps + packet ·
 * packets + ioam · (encapsulated + decapsulated) (R² 0.96–0.99), and the time per packet of
 * generation, delivery and trace handling. Measured: a packet 1.10–1.23 µs; a step 1.36–1.65 µs;
 * encap or decap 1.0–1.14 µs; generation 1.44–1.50 µs; delivery 0.31–0.45 µs; trace decode and
 * path table/check 2.1 µs per decapsulated packet. Only the balance between partitions depends
 * on them. (Measured before the node step became one native call and transmissions eager, which
 * made steps and packets cheaper alike; rechecked after: fat-tree-k8 with 2 workers keeps the
 * partitions' busy times within 1–10 % of each other, better than with a smaller step cost.)
 */
/** Per dataplane step of a node (one per tick with packets to step). */
const COST_STEP = 1.3;
/** Generating a packet (traffic pattern, packet build), at its origin. */
const COST_ORIGIN = 1.3;
/** Delivering it (flow statistics), at its destination. */
const COST_DELIVER = 0.35;
/** Encapsulating or decapsulating it in the dataplane step. */
const COST_IOAM = 0.9;
/** Decoding the trace it carried, the path table and check, where it is decapsulated. */
const COST_TRACE = 1.8;

/** How the nodes are split. */
export interface PartitionPlan {
  parts: number;
  /** Partition of each node. */
  owner: Int32Array;
  /** Smallest delay of a cut link (ns); Infinity with one partition. */
  lookaheadNs: number;
  /** How far each window reaches (see {@link windowEnd}). */
  window: WindowRule;
  /** Per device: 1 when packets from another partition may reach it late (its node queues them for its next tick). */
  lateOk: Uint8Array;
  /** Cut links whose receiving ends take late arrivals (both directions of a link count). */
  tickCuts: number;
  cutLinks: number;
  /** Outbox bytes per ordered pair `from * parts + to` (0 when no link joins them). */
  outboxBytes: number[];
  /** Why there are fewer partitions than asked, if so. */
  note?: string;
}

/**
 * The reach of a window (see module doc, "Tick lookahead"): a window starting at W ends at the
 * earliest of W + `plainNs` (links whose far end must see each arrival at its instant) and the
 * first tick at or after W + `tickLookaheadNs` (links whose far end only queues packets for its
 * next tick, every `tickNs`).
 */
export interface WindowRule {
  plainNs: number;
  tickNs: number;
  tickLookaheadNs: number;
}

/** First multiple of `tickNs` at or after `t` (integers). */
export function nextTick(t: number, tickNs: number): number {
  const r = t % tickNs;
  return r === 0 ? t : t - r + tickNs;
}

/** End (exclusive) of the window that starts at `start`. */
export function windowEnd(w: WindowRule, start: number): number {
  const plain = start + w.plainNs;
  return w.tickLookaheadNs === Infinity ? plain : Math.min(plain, nextTick(start + w.tickLookaheadNs, w.tickNs));
}

/**
 * Splits `net`'s nodes into at most `k` partitions (see module doc). `rxCaptured` (per device, 1
 * when the run captures what it receives) rules out late arrivals on those devices.
 */
export function planPartitions(net: Network, k: number, rxCaptured?: Uint8Array): PartitionPlan {
  const n = net.nodes.length;
  // Groups: nodes joined by zero-delay links stay together.
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  for (const [a, b] of net.linkDevices) if (a.link.delayNs <= 0) parent[find(a.node.index)] = find(b.node.index);
  const groupOf = new Int32Array(n);
  const groups: number[][] = [];
  const gid = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    let g = gid.get(r);
    if (g === undefined) gid.set(r, (g = groups.push([]) - 1));
    groups[g]!.push(i);
    groupOf[i] = g;
  }
  const parts = Math.max(1, Math.min(k, groups.length));
  const owner = new Int32Array(n);
  const one = (note?: string): PartitionPlan => ({
    parts: 1, owner, lookaheadNs: Infinity, window: { plainNs: Infinity, tickNs: 0, tickLookaheadNs: Infinity }, lateOk: new Uint8Array(net.devices.length), tickCuts: 0, cutLinks: 0, outboxBytes: [0], note,
  });
  if (parts <= 1) return one(k > 1 ? (groups.length <= 1 ? 'every link has zero delay (nothing to cut): one partition' : 'one partition') : undefined);

  // Load per node: what its flows' packets cost it per second, each flow walked once along its
  // route for a header like its packets' (addresses, flow label, protocol, ports: the ECMP hash
  // inputs), so multipath spreads the load as it will in the run; then its dataplane steps.
  const load = new Float64Array(n).fill(1);
  const pps = new Float64Array(n);
  const hdr = new Uint8Array(48);
  const walk = (from: number, to: number, rate: number, flow: string, proto: 'udp' | 'tcp', sport: number, dport: number, flowLabel: number) => {
    hdr.fill(0);
    hdr[0] = 0x60;
    hdr[1] = (flowLabel >> 16) & 0xf;
    hdr[2] = (flowLabel >> 8) & 0xff;
    hdr[3] = flowLabel & 0xff;
    hdr[5] = 8;
    hdr[6] = proto === 'tcp' ? 6 : 17;
    hdr[7] = 64;
    hdr.set(net.nodes[from]!.addresses[0]!, 8);
    hdr.set(net.nodes[to]!.addresses[0]!, 24);
    hdr[40] = sport >> 8;
    hdr[41] = sport & 0xff;
    hdr[42] = dport >> 8;
    hdr[43] = dport & 0xff;
    let at = from;
    /** IOAM namespace of the option the packet carries, -1 none (as sim/stepper.ts decides). */
    let ns = -1;
    for (let hops = 0; hops <= n; hops++) {
      const nd = net.nodes[at]!;
      let cost = 1;
      if (at === from) cost += COST_ORIGIN;
      if (ns >= 0 && nd.decapNs.has(ns)) {
        cost += COST_IOAM + COST_TRACE;
        ns = -1;
      }
      const ifi = at === to ? -1 : net.routes.nextDev(at, hdr, 24, 0, 48);
      const dom = nd.encapDomain;
      if (ifi >= 0 && ns < 0 && dom && nd.encapIfs.has(ifi) && (dom.flows === 'all' || dom.flows.has(flow))) {
        cost += COST_IOAM;
        ns = dom.ns;
      }
      if (at === to) cost += COST_DELIVER;
      load[at]! += rate * cost;
      pps[at]! += rate;
      if (ifi < 0) return;
      const d = nd.devices[ifi];
      if (!d) return;
      at = d.peer.node.index;
    }
  };
  // The traffic layer's defaults (sim/traffic.ts): ports and flow labels.
  const label = (index: number, response: boolean) => (index * 2654435761 + (response ? 1 : 0)) & 0xfffff;
  const tr = net.topo.input.traffic;
  const idx = (t: string): number | undefined => {
    try {
      return net.resolveTarget(t, []);
    } catch {
      return undefined; // reported by the traffic set-up
    }
  };
  (tr?.flows ?? []).forEach((f, i) => {
    const a = idx(f.from);
    const b = idx(f.to);
    if (a !== undefined && b !== undefined) walk(a, b, f.rate_pps, f.name, f.proto ?? 'udp', f.sport ?? 40000 + (i % 20000), f.dport ?? 5000, label(i, false));
  });
  (tr?.requests ?? []).forEach((r, i) => {
    const a = idx(r.client);
    const b = idx(r.server);
    if (a === undefined || b === undefined) return;
    const sport = r.sport ?? 41000 + i;
    const dport = r.dport ?? 8080;
    walk(a, b, r.rate_pps, r.name, r.proto ?? 'udp', sport, dport, label(1000 + i, false));
    walk(b, a, r.rate_pps, r.name, r.proto ?? 'udp', dport, sport, label(1000 + i, true));
  });
  // Dataplane steps: with a tick, one per tick in which a packet arrived (Poisson arrivals at the
  // node's rate: 1 - e^(-rate·tick) of the ticks); without one, about one per packet.
  const tickS = net.tickNs / 1e9;
  for (let i = 0; i < n; i++) load[i]! += COST_STEP * (tickS > 0 ? -Math.expm1(-pps[i]! * tickS) / tickS : pps[i]!);
  const gLoad = groups.map((g) => g.reduce((s, i) => s + load[i]!, 0));
  // Group adjacency (link counts).
  const adj: Map<number, number>[] = groups.map(() => new Map());
  for (const [a, b] of net.linkDevices) {
    const ga = groupOf[a.node.index]!;
    const gb = groupOf[b.node.index]!;
    if (ga === gb) continue;
    adj[ga]!.set(gb, (adj[ga]!.get(gb) ?? 0) + 1);
    adj[gb]!.set(ga, (adj[gb]!.get(ga) ?? 0) + 1);
  }
  // Seeds far apart (farthest-point sampling over hop distance between groups).
  const bfs = (srcs: number[]): Int32Array => {
    const dist = new Int32Array(groups.length).fill(-1);
    const q: number[] = [];
    for (const s of srcs) {
      dist[s] = 0;
      q.push(s);
    }
    for (let i = 0; i < q.length; i++) for (const v of adj[q[i]!]!.keys()) if (dist[v]! < 0) { dist[v] = dist[q[i]!]! + 1; q.push(v); }
    return dist;
  };
  const farthest = (dist: Int32Array) => {
    let best = 0;
    for (let g = 1; g < dist.length; g++) if (dist[g]! > dist[best]! || (dist[best]! < 0 && dist[g]! >= 0)) best = g;
    return best;
  };
  const seeds = [farthest(bfs([0]))];
  while (seeds.length < parts) seeds.push(farthest(bfs(seeds)));
  // Grow: the lightest partition takes its neighbouring group with the most links into it.
  const part = new Int32Array(groups.length).fill(-1);
  const pLoad = new Float64Array(parts);
  const frontier: Map<number, number>[] = seeds.map(() => new Map());
  const take = (p: number, g: number) => {
    part[g] = p;
    pLoad[p]! += gLoad[g]!;
    for (const f of frontier) f.delete(g);
    for (const [v, c] of adj[g]!) if (part[v]! < 0) frontier[p]!.set(v, (frontier[p]!.get(v) ?? 0) + c);
  };
  seeds.forEach((g, p) => { if (part[g]! < 0) take(p, g); });
  let left = groups.length - seeds.length;
  while (left > 0) {
    let p = -1;
    for (let q = 0; q < parts; q++) if (frontier[q]!.size > 0 && (p < 0 || pLoad[q]! < pLoad[p]!)) p = q;
    let g = -1;
    if (p < 0) {
      // Disconnected rest: the lightest partition takes the first free group.
      p = 0;
      for (let q = 1; q < parts; q++) if (pLoad[q]! < pLoad[p]!) p = q;
      g = part.indexOf(-1);
    } else {
      let best = -1;
      for (const [v, c] of frontier[p]!) if (c > best || (c === best && v < g)) { best = c; g = v; }
    }
    take(p, g);
    left--;
  }
  // Balance: move boundary groups from the heaviest partition to a lighter neighbour while that
  // lowers the heavier load, choosing the move that cuts the fewest new links.
  for (let iter = 0; iter < groups.length; iter++) {
    let heavy = 0;
    for (let q = 1; q < parts; q++) if (pLoad[q]! > pLoad[heavy]!) heavy = q;
    let best = -1;
    let bestTo = -1;
    let bestDelta = Infinity;
    for (let g = 0; g < groups.length; g++) {
      if (part[g] !== heavy) continue;
      let inside = 0;
      const toward = new Map<number, number>();
      for (const [v, c] of adj[g]!) {
        if (part[v] === heavy) inside += c;
        else toward.set(part[v]!, (toward.get(part[v]!) ?? 0) + c);
      }
      for (const [q, c] of toward) {
        // The move must leave both sides below the heavy side's load now.
        if (pLoad[q]! + gLoad[g]! >= pLoad[heavy]!) continue;
        const delta = inside - c;
        if (delta < bestDelta || (delta === bestDelta && g < best)) { best = g; bestTo = q; bestDelta = delta; }
      }
    }
    if (best < 0) break;
    pLoad[heavy]! -= gLoad[best]!;
    pLoad[bestTo]! += gLoad[best]!;
    part[best] = bestTo;
  }
  for (let i = 0; i < n; i++) owner[i] = part[groupOf[i]!]!;
  if (process.env['IOAMSIM_PARTITION_DEBUG']) console.error(`partition loads (estimated): ${[...pLoad].map((x) => Math.round(x)).join(', ')}`);
  // Lookahead, cut links, late arrivals, outbox sizes.
  let lookaheadNs = Infinity;
  let cutLinks = 0;
  for (const [a] of net.linkDevices) if (owner[a.node.index] !== owner[a.peer.node.index]) { cutLinks++; lookaheadNs = Math.min(lookaheadNs, a.link.delayNs); }
  // A receiving device takes late arrivals when its node only queues them for a tick: a dataplane
  // tick, no failures (link and node state would have to be known as of the arrival) and no
  // capture of what it receives (its records are written in event order).
  const tickNs = net.tickNs;
  const lateOk = new Uint8Array(net.devices.length);
  const window: WindowRule = { plainNs: Infinity, tickNs, tickLookaheadNs: Infinity };
  let tickCuts = 0;
  for (const d of net.devices) {
    if (owner[d.node.index] === owner[d.peer.node.index]) continue;
    const late = tickNs > 0 && (net.topo.input.failures ?? []).length === 0 && !rxCaptured?.[d.peer.index];
    if (late) {
      lateOk[d.peer.index] = 1;
      tickCuts++;
      window.tickLookaheadNs = Math.min(window.tickLookaheadNs, d.link.delayNs);
    } else window.plainNs = Math.min(window.plainNs, d.link.delayNs);
  }
  // The longest window: what a cut link can carry in it sizes the outboxes.
  const spanNs = Math.min(window.plainNs, window.tickLookaheadNs + tickNs);
  const outboxBytes = new Array<number>(parts * parts).fill(0);
  for (const d of net.devices) {
    const from = owner[d.node.index]!;
    const to = owner[d.peer.node.index]!;
    if (from === to) continue;
    const l2 = net.l2Overhead;
    const minTx = Math.max(1, Math.ceil(((40 + l2) * 8 * 1e9) / d.link.bandwidthBps));
    const starts = Math.floor(spanNs / minTx) + 2;
    outboxBytes[from * parts + to]! += starts * (REC_BYTES + 8) + Math.ceil((spanNs * d.link.bandwidthBps) / 8e9) + 65_600;
  }
  return { parts, owner, lookaheadNs, window, lateOk, tickCuts, cutLinks, outboxBytes, note: parts < k ? `${groups.length} group(s) of nodes joined by zero-delay links: ${parts} partition(s)` : undefined };
}

/** Shared memory of a partitioned run. */
export interface PartitionShared {
  /** Int32: [0] arrivals at the barrier, [1] barrier generation, [2] abort flag. */
  ctrl: SharedArrayBuffer;
  /**
   * Float64 per window parity and partition: the time of its earliest event (published at the
   * barrier); then, laid out the same, how long (ms) it worked between the last two barriers
   * (receiving and running its window; for the debug output).
   */
  times: SharedArrayBuffer;
  /** Outbox per ordered pair `from * parts + to`, two halves (window parity); null on the diagonal / without cut links. */
  outboxes: (SharedArrayBuffer | null)[];
}

export function partitionShared(plan: PartitionPlan): PartitionShared {
  return {
    ctrl: new SharedArrayBuffer(16),
    times: new SharedArrayBuffer(32 * plan.parts),
    outboxes: plan.outboxBytes.map((b) => (b > 0 ? new SharedArrayBuffer(2 * (HDR + Math.ceil(b / 8) * 8)) : null)),
  };
}

/** Thrown in a partition when another one failed (the run aborts). */
export class PartitionAborted extends Error {}

/**
 * Waits until all `n` partitions arrive; throws when the run aborts. Spins before sleeping in
 * Atomics.wait (a spin hand-off costs far less than waking a sleeping thread, whose cost is of the
 * order of a window's work), but only while spinning pays: a barrier that
 * had to sleep halves the spin budget (the other partitions were not running: more threads than
 * free cores), one released while spinning raises it by an eighth.
 */
function barrier(ctrl: Int32Array, n: number, onSpin?: () => void): void {
  const gen = Atomics.load(ctrl, 1);
  if (Atomics.add(ctrl, 0, 1) === n - 1) {
    Atomics.store(ctrl, 0, 0);
    Atomics.add(ctrl, 1, 1);
    Atomics.notify(ctrl, 1);
    return;
  }
  let spins = 0;
  while (Atomics.load(ctrl, 1) === gen) {
    if (Atomics.load(ctrl, 2) !== 0) throw new PartitionAborted('another partition failed');
    // Useful work while the others finish (every 64 spins: reading their outbox headers shares cache lines they write).
    if (onSpin !== undefined && (spins & 63) === 0) onSpin();
    if (++spins > spinLimit) {
      barrierSleeps++;
      Atomics.wait(ctrl, 1, gen, 50);
      // The others were not running (a busy machine): spin less before sleeping next time.
      spinLimit = Math.max(minSpin, spinLimit >> 1);
      return barrierWait(ctrl, gen);
    }
  }
  // Released while spinning: spinning pays, allow a little more.
  if (spinLimit < MAX_SPIN) spinLimit += spinLimit >> 3;
}

/** Spin iterations before sleeping at a barrier, adapted to how long the others take (see {@link barrier}). */
let spinLimit = 20_000;
/** Barriers that slept (IOAMSIM_PARTITION_DEBUG). */
let barrierSleeps = 0;
/**
 * About 60 µs of spinning (2 000 iterations of this loop take 50-70 µs on the 2-vCPU VM it was
 * measured on), twice the usual cost of waking a sleeping thread there (Atomics.wait/notify
 * ping-pong: 24 µs median, 50 µs at the 90th percentile): a wait that sleeps costs at most about
 * twice what it would have. With a floor of 500 (15 µs) a few long waits (a scavenge, a
 * descheduled thread) drove the budget below the usual wait and nearly every barrier slept:
 * fat-tree-k8, 100 ms, --workers 2, three interleaved runs each (load about 2): barriers that
 * slept 1363-3398 -> 75-668 per partition, the barrier's own cost (IOAMSIM_PARTITION_DEBUG)
 * 361-1246 -> 200-233 ms, 333k -> 430k packet-hops/s (medians). With more partitions than cores
 * a spinning thread holds a core another partition needs: the floor stays at 500 there.
 */
const MIN_SPIN = 2_000;
const MIN_SPIN_OVERSUBSCRIBED = 500;
/** The floor of this thread's partition (see {@link MIN_SPIN}). */
let minSpin = MIN_SPIN;
const MAX_SPIN = 2_000_000;

function barrierWait(ctrl: Int32Array, gen: number): void {
  while (Atomics.load(ctrl, 1) === gen) {
    if (Atomics.load(ctrl, 2) !== 0) throw new PartitionAborted('another partition failed');
    Atomics.wait(ctrl, 1, gen, 50);
  }
}

/** Marks the run failed and wakes every partition waiting at a barrier. */
export function abortPartitions(sh: PartitionShared): void {
  const ctrl = new Int32Array(sh.ctrl);
  Atomics.store(ctrl, 2, 1);
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}

/** What one partition hands back: its counters and sketches, to merge (see {@link mergeState}). */
export interface PartitionState {
  counters: Record<string, number>;
  drops: [string, number][];
  nodes: { input: Float64Array; encap: Float64Array; drops: [string, number][]; overflowSet: number; delivered: number; steps: number }[];
  devices: { tx: number; bytes: number; q: DistState; backlog: DistState; maxBacklog: number; hop: DistState; drops: [string, number][]; queued: number }[];
  flows: [string, number, number, number, DistState][];
  exchanges: [string, number, number, DistState][];
  paths: unknown;
  truth: { checked: number; mismatches: number; unverifiable: number; examples: string[] };
  recomputedAt: number[];
  windows: number;
  /** Packets that reached this partition's nodes after the window they arrived in (queued for a tick). */
  lateArrivals: number;
  maxOutboxBytes: number;
  /** Milliseconds spent running events (the rest of the run: waiting at barriers, exchanging packets). */
  busyMs: number;
  packetHops: number;
}

/** A partition's part of the run, to merge on the main thread. */
export function exportState(net: Network, traffic: Traffic, paths: PathTable, truth: PathTruth, run: { windows: number; lateArrivals: number; maxOutboxBytes: number; busyMs: number }): PartitionState {
  net.settleQueues();
  return {
    counters: {
      generated: net.generated, delivered: net.delivered, packetHops: net.packetHops, onWire: net.onWire, ioamBytesInserted: net.ioamBytesInserted,
      bytesSentOnLinks: net.bytesSentOnLinks, encapsulated: net.encapsulated, decapsulated: net.decapsulated, traces: net.traces,
      tracesWithOverflow: net.tracesWithOverflow, events: net.sim.eventsRun,
    },
    drops: net.drops.entries(),
    nodes: net.nodes.map((x) => ({ input: x.stats.input, encap: x.stats.encap, drops: x.stats.drops.entries(), overflowSet: x.stats.overflowSet, delivered: x.stats.delivered, steps: x.stats.steps })),
    devices: net.devices.map((d) => ({
      tx: d.stats.txPackets, bytes: d.stats.txBytes, q: d.stats.queueDelayNs.toState(), backlog: d.stats.backlogAtEnqueueBytes.toState(), maxBacklog: d.stats.maxBacklogBytes,
      hop: d.stats.hopDelayNs.toState(), drops: d.stats.drops.entries(), queued: d.queued,
    })),
    flows: [...net.flowStats.entries()].map(([k, s]) => [k, s.sent, s.delivered, s.bytesSent, s.delayNs.toState()]),
    exchanges: [...traffic.exchanges.entries()].map(([k, s]) => [k, s.requests, s.responses, s.rttNs.toState()]),
    paths: paths.exportState(),
    truth: { checked: truth.checked, mismatches: truth.mismatches, unverifiable: truth.unverifiable, examples: [...truth.examples] },
    recomputedAt: net.routing.history.slice(1).map((h) => h.fromNs),
    ...run,
    busyMs: Math.round(run.busyMs),
    packetHops: net.packetHops,
  };
}

/** Adds the partitions' states (in partition order) into the main thread's network, which ran nothing. */
export function mergeState(net: Network, traffic: Traffic, paths: PathTable, truth: PathTruth, states: PartitionState[]): { events: number; recomputedAt: number[] } {
  let events = 0;
  for (const s of states) {
    const c = s.counters;
    net.generated += c['generated']!;
    net.delivered += c['delivered']!;
    net.packetHops += c['packetHops']!;
    net.onWire += c['onWire']!;
    net.ioamBytesInserted += c['ioamBytesInserted']!;
    net.bytesSentOnLinks += c['bytesSentOnLinks']!;
    net.encapsulated += c['encapsulated']!;
    net.decapsulated += c['decapsulated']!;
    net.traces += c['traces']!;
    net.tracesWithOverflow += c['tracesWithOverflow']!;
    events += c['events']!;
    net.drops.merge(s.drops);
    s.nodes.forEach((x, i) => {
      const st = net.nodes[i]!.stats;
      for (let r = 0; r < st.input.length; r++) { st.input[r]! += x.input[r]!; st.encap[r]! += x.encap[r]!; }
      st.drops.merge(x.drops);
      st.overflowSet += x.overflowSet;
      st.delivered += x.delivered;
      st.steps += x.steps;
    });
    s.devices.forEach((x, i) => {
      const st = net.devices[i]!.stats;
      st.txPackets += x.tx;
      st.txBytes += x.bytes;
      st.queueDelayNs.merge(x.q);
      st.backlogAtEnqueueBytes.merge(x.backlog);
      st.maxBacklogBytes = Math.max(st.maxBacklogBytes, x.maxBacklog);
      st.hopDelayNs.merge(x.hop);
      st.drops.merge(x.drops);
      net.onWire += x.queued;
    });
    for (const [k, sent, delivered, bytes, delay] of s.flows) {
      const f = net.flowStat(k);
      f.sent += sent;
      f.delivered += delivered;
      f.bytesSent += bytes;
      f.delayNs.merge(delay);
    }
    for (const [k, req, resp, rtt] of s.exchanges) {
      const x = traffic.exchangeStat(k);
      x.requests += req;
      x.responses += resp;
      x.rttNs.merge(rtt);
    }
    paths.mergeState(s.paths);
    truth.checked += s.truth.checked;
    truth.mismatches += s.truth.mismatches;
    truth.unverifiable += s.truth.unverifiable;
    for (const e of s.truth.examples) if (truth.examples.length < 5) truth.examples.push(e);
  }
  return { events, recomputedAt: states[0]?.recomputedAt ?? [] };
}

/**
 * The topology as the main thread parsed and checked it, without its YAML source map (functions:
 * not structured-clonable; only error messages need it, and the main thread's set-up has already
 * met every error the partitions' could).
 */
export type ShippedTopology = Omit<LoadedTopology, 'source' | 'text'> & { text: string };

/** One partition's task (what crosses to its worker). */
export interface PartitionTask {
  part: number;
  parts: number;
  owner: Int32Array;
  window: WindowRule;
  lateOk: Uint8Array;
  shared: PartitionShared;
  topology: ShippedTopology;
  seed: string;
  durationNs: number;
  batchSize: number;
  outDir?: string;
  outputs: string[];
  /** Test hook: this partition throws after this many windows (its thread exits when negative). */
  crashAtWindow?: number;
}

/** The window loop of one partition (see module doc), on an already built network. */
export function runWindows(task: PartitionTask, net: Network): { windows: number; lateArrivals: number; maxOutboxBytes: number; busyMs: number } {
  const { part, parts, shared } = task;
  const ctrl = new Int32Array(shared.ctrl);
  const times = new Float64Array(shared.times);
  const rule = task.window;
  const stop = task.durationNs;
  const lateOk = task.lateOk;
  const store = net.store;
  const devices = net.devices;
  const owner = task.owner;
  // Two buffers per outbox (window parity): the sender fills one in a window; its receivers read
  // it while waiting at that window's barrier and after it (drain), while the sender fills the other.
  const box = (b: SharedArrayBuffer, half: number) => {
    const bytes = b.byteLength / 2;
    return { f64: new Float64Array(b, half * bytes, bytes / 8), u8: new Uint8Array(b, half * bytes, bytes), i32: new Int32Array(b, half * bytes, bytes / 4), pos: HDR, cap: bytes };
  };
  type Box = ReturnType<typeof box>;
  const outTo: (Box[] | undefined)[] = [];
  const inboxes: Box[][] = [];
  shared.outboxes.forEach((b, i) => {
    if (!b) return;
    if (Math.floor(i / parts) === part) outTo[i % parts] = [box(b, 0), box(b, 1)];
    if (i % parts === part) inboxes.push([box(b, 0), box(b, 1)]);
  });
  let parity = 0;
  let maxOutboxBytes = 0;
  /** Earliest event the packets sent in this window make at their receivers (part of the published next time). */
  let minSent = Infinity;
  /** End of the window being run (or, between windows, of the one just run). */
  let end = -Infinity;
  // A DataView over the packet slab (renewed when the slab grows): packet bytes move between the
  // slab and the outboxes word by word, with no view object per packet (see copyToBox).
  let slabView = new DataView(store.buffer);
  const slab = () => (slabView.buffer === store.buffer ? slabView : (slabView = new DataView(store.buffer)));
  net.sendRemote = (dev, h, timeNs, hi, lo) => {
    const to = owner[dev.node.index]!;
    const ob = outTo[to]![parity]!;
    const len = store.len(h);
    const need = REC_BYTES + ((len + 7) & ~7);
    if (ob.pos + need > ob.cap) {
      throw new Error(`partition ${part}: the outbox to partition ${to} is full (${ob.cap} bytes) at t=${net.sim.now()} ns; the outbox bound (docs/SIMULATOR.md §3) is wrong for this topology: run with fewer workers`);
    }
    const w = ob.pos / 8;
    const f = ob.f64;
    f[w] = timeNs;
    f[w + 1] = hi;
    f[w + 2] = lo;
    f[w + 3] = dev.index;
    f[w + 4] = store.id[h]!;
    f[w + 5] = store.flow[h]!;
    f[w + 6] = store.seq[h]!;
    f[w + 7] = store.createdNs[h]!;
    f[w + 8] = store.domainNs[h]!;
    f[w + 9] = store.tunneled[h]!;
    f[w + 10] = store.lastDev[h]!;
    f[w + 11] = len;
    f[w + 12] = store.arrivedNs[h]!;
    copyToBox(ob.i32, ob.u8, ob.pos + REC_BYTES, slab(), store.buf, store.off(h), len);
    ob.pos += need;
    // Published record by record: a receiver waiting at the barrier reads it already (drain).
    Atomics.store(ob.i32, 0, ob.pos);
    // A late arrival (before this window's end) becomes its node's tick event, at the next tick.
    const at = timeNs < end && timeNs <= stop ? nextTick(timeNs, rule.tickNs) : timeNs;
    if (at < minSent) minSent = at;
    store.free(h);
  };
  /**
   * Posts the arrivals the other partitions sent in window number `win` (parity `win & 1`) that
   * are not read yet: those published so far while they may still be running it (called while
   * waiting at the barrier), or all of them once they are past it. An outbox half's header holds
   * the bytes published (word 0) and the window they belong to (word 1, set after word 0 is reset
   * when its sender starts that window): a half still holding an older window's records is
   * skipped. The order arrivals are read in does not matter: each becomes an event or a tick-queue
   * entry keyed by its time and its sender's tie key.
   */
  const drain = (win: number): void => {
    const par = win & 1;
    for (let i = 0; i < inboxes.length; i++) {
      const ib = inboxes[i]![par]!;
      if (Atomics.load(ib.i32, 1) !== win) continue;
      const used = Atomics.load(ib.i32, 0);
      let pos = readPos[i * 2 + par]!;
      if (pos < HDR) pos = HDR;
      while (pos < used) {
        const w = pos / 8;
        const f = ib.f64;
        const len = f[w + 11]!;
        const h = store.alloc(len);
        store.id[h] = f[w + 4]!;
        store.flow[h] = f[w + 5]!;
        store.seq[h] = f[w + 6]!;
        store.createdNs[h] = f[w + 7]!;
        store.domainNs[h] = f[w + 8]!;
        store.tunneled[h] = f[w + 9]!;
        store.lastDev[h] = f[w + 10]!;
        store.arrivedNs[h] = f[w + 12]!;
        copyFromBox(ib.i32, ib.u8, pos + REC_BYTES, slab(), store.buf, store.off(h), len);
        const dev = f[w + 3]!;
        // Past the run's end it would never arrive: an ordinary event that never runs (in flight at the end).
        const late = f[w]! < end && f[w]! <= stop;
        if (late) lateArrivals++;
        if (late && !lateOk[dev]) throw new Error(`internal: partition ${part} got a packet for ${net.devices[dev]!.node.name} at ${f[w]} ns, before the end of the window it ran (${end} ns)`);
        net.links.arriveFromRemote(devices[dev]!, h, f[w]!, f[w + 1]!, f[w + 2]!, late);
        pos += REC_BYTES + ((len + 7) & ~7);
      }
      readPos[i * 2 + par] = pos;
    }
  };
  /** Per inbox and parity: bytes read so far of the window it holds (reset when a window starts). */
  const readPos = new Int32Array(2 * inboxes.length);
  // One barrier per window. Before it, each partition publishes (in the slot of this window's
  // parity) the earliest of its next event and the arrivals it just sent; after it, everyone
  // computes the same next window start from those, and reads what was sent to it.
  let windows = 0;
  let lateArrivals = 0;
  let busyMs = 0;
  let recvMs = 0;
  let waitMs = 0;
  /** Time waiting at barriers for partitions that worked longer (the rest of the barrier time is the barrier's own cost). */
  let behindMs = 0;
  const debug = process.env['IOAMSIM_PARTITION_DEBUG'] !== undefined;
  minSpin = parts > availableParallelism() ? MIN_SPIN_OVERSUBSCRIBED : MIN_SPIN;
  /** drain() of the window just run (windows was counted past it), for the barrier's wait. */
  const drainJust = (): void => drain(windows - 1);
  times[part] = net.sim.nextTime();
  barrier(ctrl, parts);
  for (;;) {
    let gt = Infinity;
    for (let q = 0; q < parts; q++) gt = Math.min(gt, times[parity * parts + q]!);
    if (debug && windows > 0) {
      let longest = 0;
      for (let q = 0; q < parts; q++) longest = Math.max(longest, times[(2 + parity) * parts + q]!);
      behindMs += longest - times[(2 + parity) * parts + part]!;
    }
    const r0 = performance.now();
    // The rest of what the others sent in the window just run (all of it once they are past the barrier).
    if (windows > 0) drain(windows - 1);
    recvMs += performance.now() - r0;
    if (!(gt <= stop)) break;
    if (task.crashAtWindow !== undefined && windows >= Math.abs(task.crashAtWindow)) {
      if (task.crashAtWindow < 0) process.exit(70); // test hook: the thread dies
      throw new Error(`partition ${part}: test crash after ${windows} windows`);
    }
    // This window's buffers were read completely (after the previous barrier) by their receivers:
    // reuse them, emptied before they are marked as this window's.
    for (const ob of outTo) {
      if (!ob) continue;
      const b = ob[parity]!;
      b.pos = HDR;
      Atomics.store(b.i32, 0, HDR);
      Atomics.store(b.i32, 1, windows);
    }
    for (let i = 0; i < inboxes.length; i++) readPos[i * 2 + parity] = HDR;
    minSent = Infinity;
    const w0 = performance.now();
    end = windowEnd(rule, gt);
    const next = net.sim.runWindow(end);
    busyMs += performance.now() - w0;
    windows++;
    for (const ob of outTo) {
      if (!ob) continue;
      const b = ob[parity]!;
      if (b.pos > maxOutboxBytes) maxOutboxBytes = b.pos;
    }
    parity = 1 - parity;
    times[parity * parts + part] = Math.min(next, minSent);
    times[(2 + parity) * parts + part] = performance.now() - r0;
    const b0 = performance.now();
    // While waiting, read what the others have sent in this window so far.
    barrier(ctrl, parts, drainJust);
    waitMs += performance.now() - b0;
  }
  if (debug) console.error(`partition ${part}: busy ${busyMs.toFixed(0)} ms, receive ${recvMs.toFixed(0)} ms, barrier ${waitMs.toFixed(0)} ms (of which for others' longer work ${behindMs.toFixed(0)} ms; slept at ${barrierSleeps}), windows ${windows}`);
  // Everyone is past the end: a last barrier so no partition completes its files before all finished simulating.
  barrier(ctrl, parts);
  return { windows, lateArrivals, maxOutboxBytes, busyMs };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Copies `len` packet bytes from the slab (`view`/`bytes`, any offset) into an outbox at byte `at`
 * (a multiple of 4), four bytes at a time. `box.set(slab.subarray(...))` allocated a view per
 * packet, and the two per crossing packet (here and in {@link copyFromBox}) were most of what a
 * partition allocated (a heap sampling profile of fat-tree-k8: 78 of 123 MB), which cost a
 * scavenge every few windows — during which the other partitions wait at the barrier.
 */
function copyToBox(box: Int32Array, boxBytes: Uint8Array, at: number, view: DataView, bytes: Uint8Array, from: number, len: number): void {
  const words = len >> 2;
  const w = at >> 2;
  for (let k = 0; k < words; k++) box[w + k] = view.getInt32(from + 4 * k, LITTLE_ENDIAN);
  for (let k = words * 4; k < len; k++) boxBytes[at + k] = bytes[from + k]!;
}

/** The other way ({@link copyToBox}): `len` bytes at outbox byte `at` (a multiple of 4) into the slab at `to`. */
function copyFromBox(box: Int32Array, boxBytes: Uint8Array, at: number, view: DataView, bytes: Uint8Array, to: number, len: number): void {
  const words = len >> 2;
  const w = at >> 2;
  for (let k = 0; k < words; k++) view.setInt32(to + 4 * k, box[w + k]!, LITTLE_ENDIAN);
  for (let k = words * 4; k < len; k++) bytes[to + k] = boxBytes[at + k]!;
}

/**
 * The piscina hosting the partitions (one thread each, at most `parts` partitions). Its threads
 * start and load their modules at once: a run starts it before its own set-up, when it may be
 * partitioned (sim/run.ts).
 */
export function partitionPool(parts: number): Piscina {
  const ext = path.extname(__filename);
  const filename = path.join(__dirname, `partition-worker${ext === '.ts' ? '.ts' : '.js'}`);
  const execArgv = ext === '.ts' ? ['--import', 'tsx'] : [];
  return new Piscina({ filename, execArgv, minThreads: parts, maxThreads: parts, concurrentTasksPerWorker: 1, idleTimeout: Number.POSITIVE_INFINITY });
}
