/**
 * The per-instant dataplane step (see sim/network.ts): every node with pending packets gets one
 * step on all of them, split in chunks of at most `batchSize` packets. Three phases, each over all
 * nodes in node order, so the results do not depend on where or how the steps run:
 * 1. plan: route each packet (sim/routing.ts) once, as received (Linux routes a packet once;
 *    the flow hash of a multipath route is over the packet as the node received it); in tunnel
 *    mode the encapsulating node also routes toward the tunnel endpoint, the egress the outer
 *    packet takes and its IOAM data names; decide transit / decap / hop limit / encap, and write
 *    the IOAM inputs (meta) from the queues as they are now;
 * 2. run: the core on each chunk (sim/nodeproc.ts), inline or on the node's worker (sim/pool.ts);
 *    the packets stay in the packet slab;
 * 3. apply: in packet order, drops, traces (decoded by the core into flat records, one call per chunk: sim/trace.ts), delivery or
 *    enqueue on the device decided in the plan.
 * @module
 */
import * as abi from '../src/batch';
import * as reasons from '../src/reasons';
import * as np from './nodeproc';
import { stepTables, type StepTables } from './nodeproc';
import type { Domain, Network, SimNode } from './network';
import * as packet from './packet';
import * as rt from './routing';
import * as trace from './trace';
import * as traceflat from '../src/traceflat';

// Module-local copies of imported functions and constants: hot paths then call a local, not an
// export binding (under tsx every export binding is read through a getter).
const { Reason, reasonString } = reasons;
const { innerHeaderOffset } = packet;
const { handTrace, newSimTrace } = trace;
const { FlatTraces, layoutCode, TRACE_SKIP } = traceflat;
const { DESC_STRIDE: DESC, META_STRIDE: META, OUT_STRIDE: OUT, TRACE_DESC_STRIDE: TD, IF_NONE, UNAVAILABLE } = abi;
const { F_CLT, F_DECAP, F_ENCAP, F_HOPLIMIT, F_TRANSIT, S_ALIVE, S_DROP_ENCAP, S_DROP_HOPLIMIT, S_DROP_INPUT } = np;
const { LOCAL, NO_ROUTE } = rt;
const R_OVERFLOW_SET = Reason.OverflowSet;
const R_DECAPSULATED = Reason.Decapsulated;
const R_ENCAPSULATED = Reason.Encapsulated;

/** One chunk of a node's step: its tables and packet handles. */
interface Chunk {
  buffer: ArrayBuffer | SharedArrayBuffer;
  t: StepTables;
  hs: Int32Array;
  /** Destination before the step of each encapsulated packet (16 bytes each): did the encap add an outer header? */
  dst: Uint8Array;
  /** Per packet, where it goes after the step: the route as received (of the inner packet once decapsulated). */
  out: Int32Array;
  /** Per packet, toward the tunnel endpoint (tunnel-mode encapsulation), else NO_ROUTE. */
  outTunnel: Int32Array;
  /** Per packet row: 1 while its CLT IDs in `t.clt` are not all zero (cleared only then). */
  cltSet: Uint8Array;
  n: number;
}


/** The dataplane steps (see module doc). */
export class Stepper {
  private dirtyFlag: Uint8Array;
  /** Nodes with pending packets this instant (the first `dirtyN`), and the list not in use. */
  private dirtyList: Int32Array;
  private dirtySpare: Int32Array;
  private dirtyN = 0;
  /** This instant's steps: node index and how many of its chunks (`chunks[node]`) it uses. */
  private jobNode = new Int32Array(16);
  private jobChunks = new Int32Array(16);
  /** Reusable chunks per node. */
  private readonly chunks: Chunk[][];
  private readonly ts: [number, number] = [0, 0];
  /** Flat trace records of the chunk being applied, and the reused trace handed to consumers (sim/trace.ts). */
  private readonly flat = new FlatTraces();
  private readonly trace = newSimTrace();
  /** Per node, the pending list not in use (swapped at each step; its count is kept apart). */
  private readonly spare: number[][];

  constructor(private readonly net: Network) {
    this.dirtyFlag = new Uint8Array(net.nodes.length);
    this.dirtyList = new Int32Array(net.nodes.length);
    this.dirtySpare = new Int32Array(net.nodes.length);
    this.chunks = net.nodes.map(() => []);
    this.spare = net.nodes.map(() => []);
  }

  /** Packet `h` joins `node`'s step of this instant. */
  add(node: SimNode, h: number): void {
    node.pending[node.pendingN++] = h;
    if (this.dirtyFlag[node.index] === 0) {
      this.dirtyFlag[node.index] = 1;
      this.dirtyList[this.dirtyN++] = node.index;
    }
    this.net.sim.markDirty();
  }

  private timestamp(): [number, number] {
    const net = this.net;
    const ns = net.epochNsRem + net.sim.now();
    this.ts[0] = (net.epochSec + Math.floor(ns / 1e9)) >>> 0;
    this.ts[1] = ns % 1e9;
    return this.ts;
  }

  private writeMeta(node: SimNode, words: Uint32Array, at: number, ingressIf: number, route: number, ts: [number, number], occ: number, now: number): void {
    const dev = route === LOCAL ? undefined : node.devices[route];
    words[at] = ingressIf;
    words[at + 1] = dev ? route : IF_NONE;
    words[at + 2] = ts[0];
    words[at + 3] = ts[1];
    words[at + 4] = dev ? dev.backlogBytes >>> 0 : UNAVAILABLE;
    // RFC 9197 §4.4.2.5: transit delay in ns, MSB set on overflow.
    const wait = dev ? Math.max(0, dev.busyUntilNs - now) : 0;
    words[at + 5] = dev ? (wait > 0x7fffffff ? 0x80000000 : wait) : UNAVAILABLE;
    words[at + 6] = Math.min(occ, 0xfffffffe);
    words[at + 7] = 0;
  }

  /** Per domain, per flow index: 1 when the domain's `flows` list selects the flow, 0 when not, -1 not looked up yet. */
  private readonly selectedFlows = new Map<Domain, Int8Array>();

  /** Whether domain `d` (with a `flows` list) encapsulates packets of flow index `flow`. */
  private selected(d: Domain, flow: number): boolean {
    let m = this.selectedFlows.get(d);
    if (m === undefined || flow >= m.length) {
      const grown = new Int8Array(Math.max(16, 2 * (flow + 1))).fill(-1);
      if (m) grown.set(m);
      this.selectedFlows.set(d, (m = grown));
    }
    let v = m[flow]!;
    if (v < 0) m[flow] = v = (d.flows as Set<string>).has(this.net.store.flows[flow]!.name) ? 1 : 0;
    return v === 1;
  }

  /** Chunk `k` of `node` with room for `n` packets. */
  private chunk(node: SimNode, k: number, n: number): Chunk {
    const list = this.chunks[node.index]!;
    let c = list[k];
    if (!c || c.t.cap < n) {
      const cap = Math.max(n, c ? c.t.cap * 2 : 8);
      const { buffer, t } = stepTables(cap, this.net.pool.workers > 0);
      c = { buffer, t, hs: new Int32Array(cap), dst: new Uint8Array(cap * 16), out: new Int32Array(cap), outTunnel: new Int32Array(cap), cltSet: new Uint8Array(cap), n: 0 };
      list[k] = c;
    }
    c.n = 0;
    return c;
  }

  /** Runs the dataplane step of every node with pending packets (see module doc). */
  flush(now: number): Promise<void> | void {
    const net = this.net;
    const store = net.store;
    const buf = store.buf;
    // The dirty list and the jobs are reused (swapped and emptied by count: `length = 0` would
    // drop a JS array's storage and grow it again at the next step).
    const order = this.dirtyList;
    const orderN = this.dirtyN;
    this.dirtyList = this.dirtySpare;
    this.dirtySpare = order;
    this.dirtyN = 0;
    order.subarray(0, orderN).sort(); // numeric, in place
    for (let k = 0; k < orderN; k++) this.dirtyFlag[order[k]!] = 0;
    if (this.jobNode.length < orderN) {
      this.jobNode = new Int32Array(orderN * 2);
      this.jobChunks = new Int32Array(orderN * 2);
    }
    const jobNode = this.jobNode;
    const jobChunks = this.jobChunks;
    let jobsN = 0;
    const ts = this.timestamp();
    const batchSize = net.opts.batchSize;
    const hooks = net.opts.hooks;
    const routes = net.routes;
    for (let k = 0; k < orderN; k++) {
      const ni = order[k]!;
      const node = net.nodes[ni]!;
      // Swap the pending list with this node's spare one (no array per step).
      const pending = node.pending;
      const pendingN = node.pendingN;
      node.pending = this.spare[ni]!;
      node.pendingN = 0;
      this.spare[ni] = pending;
      // The node's queues as they are now: every packet of this step sees the same snapshot.
      let occ = 0;
      const devs = node.devices;
      for (let i = 0; i < devs.length; i++) {
        const d = devs[i];
        if (d) {
          if (d.txMode === 2) d.advanceTo(now);
          occ += d.backlogBytes;
        }
      }
      const chunks = this.chunks[ni]!;
      let used = 0;
      let c: Chunk | undefined;
      for (let i = 0; i < pendingN; i++) {
        const h = pending[i]!;
        const off = store.off(h);
        const len = store.len(h);
        const route0 = len >= 40 ? routes.nextDev(ni, buf, off + 24, off, off + len) : NO_ROUTE;
        if (route0 === NO_ROUTE) {
          net.dropAt(ni, h, 'no-route');
          continue;
        }
        const ingressIf = store.ingress[h]!;
        const fromLink = ingressIf !== IF_NONE;
        const dns = store.domainNs[h]!;
        const tunneled = store.tunneled[h] === 1;
        const decap = dns >= 0 && node.decapNs.has(dns) && (!tunneled || route0 === LOCAL);
        let route1 = route0;
        let out = route0;
        if (decap && tunneled) {
          const inner = innerHeaderOffset(store.bytes(h));
          out = inner < 0 ? NO_ROUTE : routes.nextDev(ni, buf, off + inner + 24, off + inner, off + len);
          route1 = out === NO_ROUTE ? LOCAL : out;
        }
        let outTunnel = NO_ROUTE;
        const forwarding = route1 !== LOCAL;
        let flags = fromLink ? (decap ? F_DECAP : F_TRANSIT) : 0;
        if (forwarding && (fromLink || decap)) flags |= F_HOPLIMIT;
        const d = node.encapDomain;
        const domainAfter = decap ? -1 : dns;
        let clt: Uint8Array | undefined;
        if (d && forwarding && node.encapIfs.has(route1) && domainAfter < 0 && (d.flows === 'all' || this.selected(d, store.flow[h]!))) {
          flags |= F_ENCAP;
          // Tunnel mode: the encapsulated packet goes toward the tunnel endpoint (hash over the packet as received).
          if (d.mode !== 'inline') outTunnel = routes.nextDevToAddr(ni, net.nodes[d.decapNodes[0]!]!.addresses[0]!, buf, off, off + len);
          clt = hooks.cltIds?.({ node: node.name, packet: net.view(h), timeNs: now });
          if (clt) {
            if (clt.length !== 24) throw new Error(`hooks.cltIds must return 24 bytes (trace ID 16 + span ID 8), got ${clt.length}`);
            flags |= F_CLT;
          }
        }
        if (c === undefined || c.n === batchSize) {
          c = this.chunk(node, used++, Math.min(batchSize, pendingN - i));
        }
        const j = c.n++;
        const t = c.t;
        c.hs[j] = h;
        c.out[j] = out;
        c.outTunnel[j] = outTunnel;
        for (let w = 0; w < DESC; w++) t.desc[j * DESC + w] = store.desc[h * DESC + w]!;
        // The core reads `meta` for input processing only and `meta2` for encapsulation only.
        if (flags & (F_TRANSIT | F_DECAP)) this.writeMeta(node, t.meta, j * META, ingressIf, route0, ts, occ, now);
        if (flags & F_ENCAP) this.writeMeta(node, t.meta2, j * META, ingressIf, outTunnel !== NO_ROUTE ? outTunnel : route1, ts, occ, now);
        t.flags[j] = flags;
        // Byte loops: cheaper than fill()/subarray() calls for 24 and 16 bytes.
        const cltAt = j * 24;
        if (clt) {
          t.clt.set(clt, cltAt);
          c.cltSet[j] = 1;
        } else if (c.cltSet[j] === 1) {
          for (let k = 0; k < 24; k++) t.clt[cltAt + k] = 0;
          c.cltSet[j] = 0;
        }
        if (flags & F_ENCAP) for (let k = 0; k < 16; k++) c.dst[j * 16 + k] = buf[off + 24 + k]!;
      }
      if (used === 0) continue;
      node.stats.steps++;
      for (let q = 0; q < used; q++) net.packetHops += chunks[q]!.n;
      jobNode[jobsN] = ni;
      jobChunks[jobsN++] = used;
    }
    const pool = net.pool;
    const nodes = net.nodes;
    // Fast path: every step of this instant runs on the main thread → synchronously, no promise.
    let allInline = true;
    for (let k = 0; k < jobsN; k++) {
      const list = this.chunks[jobNode[k]!]!;
      for (let q = 0; q < jobChunks[k]!; q++) if (!pool.runsInline(jobNode[k]!, list[q]!.n, list[q]!.t.flags)) allInline = false;
    }
    if (allInline) {
      for (let k = 0; k < jobsN; k++) {
        const list = this.chunks[jobNode[k]!]!;
        for (let q = 0; q < jobChunks[k]!; q++) pool.runInline(jobNode[k]!, buf, list[q]!.t, list[q]!.n);
      }
      for (let k = 0; k < jobsN; k++) {
        const list = this.chunks[jobNode[k]!]!;
        for (let q = 0; q < jobChunks[k]!; q++) this.apply(nodes[jobNode[k]!]!, list[q]!, now);
      }
      return;
    }
    const jobs: { node: number; chunks: Chunk[] }[] = [];
    for (let k = 0; k < jobsN; k++) jobs.push({ node: jobNode[k]!, chunks: this.chunks[jobNode[k]!]!.slice(0, jobChunks[k]!) });
    return this.flushOnWorkers(jobs, now);
  }

  /** Steps of different nodes run concurrently (one round trip per worker); results applied in node order. */
  private async flushOnWorkers(jobs: { node: number; chunks: Chunk[] }[], now: number): Promise<void> {
    const tasks = [];
    const slab = this.net.store.buffer;
    // Steps on workers only with a shared slab (sim/run.ts makes it shared for dataplane offload).
    if (!(slab instanceof SharedArrayBuffer)) throw new Error('internal: dataplane workers need the shared packet slab');
    for (const j of jobs) for (const ch of j.chunks) tasks.push({ node: j.node, slab, side: ch.buffer, cap: ch.t.cap, n: ch.n });
    await this.net.pool.runAll(tasks, now);
    for (const j of jobs) for (const ch of j.chunks) this.apply(this.net.nodes[j.node]!, ch, now);
  }

  /** Applies one chunk's results in packet order: drops, traces, delivery, enqueue. */
  private apply(node: SimNode, c: Chunk, now: number): void {
    const net = this.net;
    const store = net.store;
    const t = c.t;
    const stats = node.stats;
    let tracesDecoded = false;
    for (let j = 0; j < c.n; j++) {
      const h = c.hs[j]!;
      const flags = t.flags[j]!;
      const r1 = t.out1[j * OUT + 1]!;
      const r2 = t.out2[j * OUT + 1]!;
      if (flags & (F_TRANSIT | F_DECAP)) {
        stats.input[r1 & 63]!++;
        if (r1 === R_OVERFLOW_SET) stats.overflowSet++;
      }
      if (flags & F_ENCAP) stats.encap[r2 & 63]!++;
      const st = t.status[j]!;
      if (st !== S_ALIVE) {
        const reason = st === S_DROP_INPUT ? reasonString(r1) : st === S_DROP_HOPLIMIT ? 'hop-limit' : st === S_DROP_ENCAP ? reasonString(r2) : 'unknown';
        net.dropAt(node.index, h, reason);
        continue;
      }
      store.desc[h * DESC + 2] = t.desc[j * DESC + 2]!;
      store.desc[h * DESC + 3] = t.desc[j * DESC + 3]!;
      if (flags & F_DECAP && r1 === R_DECAPSULATED) {
        net.decapsulated++;
        net.traces++;
        if (!tracesDecoded) tracesDecoded = this.decodeTraces(c, j);
        const flow = store.flows[store.flow[h]!]!;
        const tr = this.trace;
        tr.w = this.flat.out;
        tr.at = this.flat.index[j]!;
        tr.bytes = t.traceArena;
        tr.base = t.traceDesc[j * TD]!;
        tr.len = tr.hbh_len = t.traceDesc[j * TD + 1]!;
        tr.t_ns = now;
        tr.node = node.name;
        tr.flow = flow.name;
        tr.kind = flow.kind;
        tr.seq = store.seq[h]!;
        tr.packet = store.id[h]!;
        store.domainNs[h] = -1;
        store.tunneled[h] = 0;
        handTrace(net, tr, h);
      }
      let route = c.out[j]!;
      if (flags & F_ENCAP && r2 === R_ENCAPSULATED) {
        net.encapsulated++;
        store.domainNs[h] = node.encapDomain!.ns;
        const off = store.off(h);
        let same = store.len(h) >= 40;
        for (let k = 0; same && k < 16; k++) if (store.buf[off + 24 + k] !== c.dst[j * 16 + k]) same = false;
        store.tunneled[h] = same ? 0 : 1;
        if (!same) route = c.outTunnel[j]!;
        net.ioamBytesInserted += t.out2[j * OUT + 3]!;
      }
      store.recenter(h);
      if (route === NO_ROUTE) net.dropAt(node.index, h, 'no-route');
      else if (route === LOCAL) net.deliver(node, h);
      else net.links.enqueue(node.devices[route]!, h);
    }
  }

  /** The removed headers of a chunk's decapsulated packets from `from` on, as flat records (one native call). */
  private decodeTraces(c: Chunk, from: number): true {
    const net = this.net;
    const t = c.t;
    const f = this.flat;
    f.reserve(c.n);
    for (let k = 0; k < c.n; k++) {
      const decap = k >= from && t.status[k] === S_ALIVE && (t.flags[k]! & F_DECAP) !== 0 && t.out1[k * OUT + 1] === R_DECAPSULATED;
      f.layouts[k] = decap ? layoutCode(net.traceLayout.get(net.store.domainNs[c.hs[k]!]!) ?? 'standard') : TRACE_SKIP;
    }
    f.decode(t.traceArena, t.traceDesc, c.n);
    return true;
  }
}
