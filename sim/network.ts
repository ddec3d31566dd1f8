/**
 * The simulated network: nodes (each with its IOAM dataplane), devices with finite FIFO egress
 * queues, point-to-point links, routing, and the per-instant dataplane flush. This module builds
 * the network from a topology and ties the parts together; each part has its own module:
 * - sim/engine.ts: the event queue (typed-array heap on (time, seq), integer-coded events);
 * - sim/packets.ts: packets in flight (handles into typed arrays, bytes in one slab);
 * - sim/routing.ts: next hops behind one function (`Routes.nextDev`), over the routing library
 *   (sim/routing/*: prefixes, ECMP, static routes, failures; docs/ROUTING.md);
 * - sim/device.ts: devices, queues and links;
 * - sim/stepper.ts: the per-instant dataplane step of every node with packets;
 * - sim/outputs.ts: the files of a run.
 *
 * Per instant, every node that received or generated packets runs one dataplane step on all of
 * them together; the IOAM inputs of each packet come from the simulation: receive time (epoch +
 * simulated clock), the routed egress interface, that device's queue backlog in bytes (L2
 * overhead included, like a qdisc backlog), the predicted wait before transmission (transit
 * delay, rfc profile) and the node's total backlog (buffer occupancy, rfc profile). All packets of
 * one node at one instant see the queues as they were at the start of the step (their own
 * enqueues come after), which is what makes batch size and worker count irrelevant to the results.
 * @module
 */
import { IF_NONE } from '../src/batch';
import { nodeConfigSchema, configErrorFromZod, type NodeConfig } from '../src/config';
import { Device, Links, type DeviceStats } from './device';
import { Simulator } from './engine';
import { PacketStore, type FlowRef } from './packets';
import type { DataplanePool } from './pool';
import { LOCAL, NO_ROUTE, Routes } from './routing';
import type { RoutingState } from './routing/setup';
import { substream } from './rng';
import { Counter, Dist } from './stats';
import { Stepper } from './stepper';
import { TickQueue } from './tickqueue';
import { formatIpv6, parseAddrLenText, topologyError, type LoadedTopology } from './topology';
import type { SimTrace, TraceOption } from './trace';

export type { FlowRef } from './packets';
export type { DeviceStats } from './device';

/**
 * A packet in flight, as the layers above see it (hooks, captures, the CLT layer, the testbed): a
 * view of a packet handle, made only when one of them asks. Valid during the call that hands it
 * out (the handle is reused once the packet is delivered or dropped); `bytes` is a view into the
 * packet slab: copy it (`.slice()`) to keep it.
 */
export interface SimPacket {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly flow: FlowRef;
  readonly seq: number;
  readonly createdNs: number;
  /** Namespace of the IOAM domain whose option the packet carries (set on `encapsulated`). */
  readonly domainNs?: number;
  /** The encapsulation added an outer IPv6 header (IPv6-in-IPv6). */
  readonly tunneled: boolean;
  /** Arrival time at the node it is at (hop delay). */
  readonly arrivedNs: number;
  /** Enqueue time on the current device (queueing delay). */
  readonly enqueuedNs: number;
  /** Device that sent it last. */
  readonly lastDevice?: SimDevice;
  /** Opaque application data (requests, the CLT layer). */
  app?: unknown;
}

/** The {@link SimPacket} view of handle `h`. */
class PacketView implements SimPacket {
  constructor(private readonly net: Network, readonly h: number) {}
  get id(): number { return this.net.store.id[this.h]!; }
  get bytes(): Uint8Array { return this.net.store.bytes(this.h); }
  get flow(): FlowRef { return this.net.store.flows[this.net.store.flow[this.h]!]!; }
  get seq(): number { return this.net.store.seq[this.h]!; }
  get createdNs(): number { return this.net.store.createdNs[this.h]!; }
  get domainNs(): number | undefined { const d = this.net.store.domainNs[this.h]!; return d < 0 ? undefined : d; }
  get tunneled(): boolean { return this.net.store.tunneled[this.h] === 1; }
  get arrivedNs(): number { return this.net.store.arrivedNs[this.h]!; }
  get enqueuedNs(): number { return this.net.store.enqueuedNs[this.h]!; }
  get lastDevice(): SimDevice | undefined { const d = this.net.store.lastDev[this.h]!; return d < 0 ? undefined : this.net.devices[d]; }
  get app(): unknown { return this.net.store.app[this.h]; }
  set app(v: unknown) { this.net.store.app[this.h] = v; }
}

/** A device of the network (captures get {@link SimPacket} views). */
export type SimDevice = Device<SimPacket, SimNode>;
export { Device };

/** A decoded trace handed back by a decapsulating node (one JSON Lines record). */
export interface TraceRecord {
  t_ns: number;
  node: string;
  flow: string;
  kind: FlowRef['kind'];
  seq: number;
  packet: number;
  hbh_len: number;
  options: TraceOption[];
}

/** Extension points for layers above the simulator (the CLT layer in sim/clt/). */
export interface SimHooks {
  /** Encapsulating node, per packet it is about to encapsulate: 24 bytes (trace ID 16 + span ID 8) or undefined. */
  cltIds?(ctx: { node: string; packet: SimPacket; timeNs: number }): Uint8Array | undefined;
  /** Decapsulating node: the removed Hop-by-Hop bytes and their decoding (objects built only for this hook). */
  onTrace?(rec: TraceRecord, hbh: Uint8Array, packet: SimPacket): void;
  /** Decapsulating node: the trace as a flat record in place (sim/trace.ts; valid during the call only). */
  onTraceFlat?(t: SimTrace, packet: SimPacket): void;
  /** A packet reached its destination node. */
  onDeliver?(ctx: { node: string; packet: SimPacket; timeNs: number }): void;
  /** A packet was dropped. */
  onDrop?(ctx: { node: string; packet: SimPacket; reason: string; timeNs: number }): void;
}

/** An IOAM domain and its encap policy. */
export interface Domain {
  ns: number;
  flows: 'all' | Set<string>;
  mode: 'inline' | 'encap' | 'auto';
  decapNodes: number[];
  /** Trace layout of the domain's options: `legacy` with `clt_legacy` (the CLT patch's ID block). */
  layout: 'standard' | 'legacy';
}

/** Per-node statistics. */
export interface NodeStats {
  /** Core reasons of the input (transit/decap) step and of the encap step, counted by reason number. */
  input: Float64Array;
  encap: Float64Array;
  drops: Counter;
  overflowSet: number;
  delivered: number;
  steps: number;
}

/** A topology node. */
export interface SimNode {
  index: number;
  name: string;
  addresses: Uint8Array[];
  config: NodeConfig;
  /** Devices by interface index (undefined for interfaces without a link). */
  devices: (SimDevice | undefined)[];
  encapDomain?: Domain;
  /** Interfaces toward a node with a role in the encap domain: only packets routed out of one are encapsulated (the ioam6 route covers the domain). */
  encapIfs: Set<number>;
  decapNs: Set<number>;
  /** Handles of the packets waiting for this instant's step: the first `pendingN` (sim/stepper.ts). */
  pending: number[];
  pendingN: number;
  /** Packets waiting for the node's next dataplane tick (with a `dataplane_tick`). */
  ticks: TickQueue;
  stats: NodeStats;
}

/** Per-flow statistics. */
export interface FlowStats {
  sent: number;
  delivered: number;
  bytesSent: number;
  delayNs: Dist;
}

/** Settings of a run that are not in the topology. */
export interface NetworkOptions {
  seed: bigint;
  /** Max packets per dataplane call (a node's step is split into calls of at most this many). */
  batchSize: number;
  hooks: SimHooks;
}

/** The network (see module doc). */
export class Network {
  readonly sim = new Simulator();
  readonly store = new PacketStore();
  readonly nodes: SimNode[] = [];
  readonly devices: SimDevice[] = [];
  readonly domains: Domain[] = [];
  /** Trace layout by domain namespace (decoding at the decapsulating node). */
  readonly traceLayout = new Map<number, 'standard' | 'legacy'>();
  readonly flowStats = new Map<string, FlowStats>();
  /** Flow statistics by flow index of the packet store. */
  private readonly flowStatById: FlowStats[] = [];
  readonly drops = new Counter();
  readonly epochSec: number;
  readonly epochNsRem: number;
  readonly l2Overhead: number;
  /** Dataplane tick (see the topology's `dataplane_tick`); 0 = exact instants. */
  readonly tickNs: number;
  routes!: Routes;
  /** The two devices of each link (links[] order). */
  readonly linkDevices: [SimDevice, SimDevice][] = [];
  readonly links: Links<SimPacket, SimNode>;
  private readonly stepper: Stepper;
  private readonly nodeByName = new Map<string, number>();
  /** Per node: packets it originated so far (packet ids, see {@link newPacket}). */
  private readonly originated: Float64Array;
  /** Per node: TICK events it posted (their tie key, sim/engine.ts). */
  private readonly tickPosted: Float64Array;
  /** Whether a packet may join its receiving node's tick queue when its transmission starts (see {@link arrivesAhead}). */
  private readonly ahead: boolean;
  private readonly TICK: number;
  pool!: DataplanePool;
  /** Packet-node dataplane steps (a packet processed at one node = one packet-hop). */
  packetHops = 0;
  /** Packets being serialized or propagating. */
  onWire = 0;
  /** Transmissions may start eagerly (sim/device.ts `Links.enqueue`): no `failures[]`. */
  eagerTx = false;
  generated = 0;
  delivered = 0;
  ioamBytesInserted = 0;
  bytesSentOnLinks = 0;
  encapsulated = 0;
  decapsulated = 0;
  /** Decoded traces, and those with the Overflow flag set. */
  traces = 0;
  tracesWithOverflow = 0;
  traceSink?: (t: SimTrace) => void;
  /** The run's own use of every trace (sim/run.ts: the path table and its routing check), with the delivered packet's handle; before the hooks. */
  traceCheck?: (t: SimTrace, h: number) => void;
  /** Local delivery listeners of the traffic layer: (node index, packet handle). */
  readonly deliverListeners: ((node: number, h: number) => void)[] = [];

  constructor(readonly topo: LoadedTopology, readonly opts: NetworkOptions) {
    const t = topo.input;
    const epochMs = t.epoch === undefined ? Date.parse('2026-01-01T00:00:00Z') : typeof t.epoch === 'number' ? t.epoch * 1000 : Date.parse(t.epoch);
    this.epochSec = Math.floor(epochMs / 1000);
    this.epochNsRem = (epochMs % 1000) * 1e6;
    this.epochSecNs = BigInt(this.epochSec) * 1_000_000_000n;
    this.l2Overhead = t.l2_overhead ?? 14;
    this.tickNs = t.dataplane_tick ?? 0;
    this.build();
    this.originated = new Float64Array(this.nodes.length);
    this.tickPosted = new Float64Array(this.nodes.length);
    this.eagerTx = (t.failures ?? []).length === 0;
    this.ahead = this.tickNs > 0 && this.eagerTx;
    this.links = new Links<SimPacket, SimNode>(this);
    this.stepper = new Stepper(this);
    this.TICK = this.sim.handler((node) => this.tick(node));
    this.sim.onInstantEnd((now) => this.stepper.flush(now));
    this.scheduleFailures();
  }

  /** Forwarding tables (sim/routing, docs/ROUTING.md), their history, link and node state. */
  get routing(): RoutingState {
    return this.routes.state;
  }

  // ---- construction -------------------------------------------------------------------------

  /** Index of a node by name, or a config error at `where`. */
  nodeIndex(name: string, where: (string | number)[]): number {
    const i = this.nodeByName.get(name);
    if (i === undefined) throw topologyError(this.topo, where, `unknown node ${JSON.stringify(name)}`);
    return i;
  }

  /** Packets leaving this partition (sim/partition.ts sets it; see {@link setPartition}). */
  sendRemote?: (dev: SimDevice, h: number, timeNs: number, hi: number, lo: number) => void;

  /**
   * This network runs partition `part` of `owner` (sim/partition.ts): devices whose peer belongs to
   * another partition hand their packets to {@link sendRemote} instead of the local queue.
   */
  setPartition(owner: Int32Array, part: number): void {
    for (const d of this.devices) d.crossesPartition = owner[d.node.index] === part && owner[d.peer.node.index] !== part;
  }

  /** Node owning an address given as text, or a node name. */
  resolveTarget(text: string, where: (string | number)[]): number {
    const byName = this.nodeByName.get(text);
    if (byName !== undefined) return byName;
    if (text.includes(':')) {
      const owner = this.routes.ownerOfText(text);
      if (owner >= 0) return owner;
    }
    throw topologyError(this.topo, where, `${JSON.stringify(text)} is neither a node name nor a node address`);
  }

  /** Interface of `from` toward node `to` (host routes), LOCAL (-1), or undefined without a route. */
  nextHop(from: number, to: number): number | undefined {
    const k = this.routes.toNode(from, to);
    return k === NO_ROUTE ? undefined : k;
  }

  private build(): void {
    const t = this.topo.input;
    // Nodes and addresses.
    t.nodes.forEach((n, i) => {
      if (this.nodeByName.has(n.name)) throw topologyError(this.topo, ['nodes', i, 'name'], `duplicate node name ${JSON.stringify(n.name)}`);
      this.nodeByName.set(n.name, i);
      const addrs = n.addresses.map((a) => parseAddrLenText(a)!.addr);
      this.nodes.push({
        index: i, name: n.name, addresses: addrs, config: undefined as unknown as NodeConfig, devices: [], encapIfs: new Set(), decapNs: new Set(), pending: [], pendingN: 0, ticks: new TickQueue(),
        stats: { input: new Float64Array(64), encap: new Float64Array(64), drops: new Counter(), overflowSet: 0, delivered: 0, steps: 0 },
      });
    });
    this.routes = new Routes(this.topo, this.nodes);
    // Domains.
    (t.domains ?? []).forEach((d, i) => {
      if (this.domains.some((o) => o.ns === d.ns)) throw topologyError(this.topo, ['domains', i, 'ns'], `duplicate domain ns ${d.ns}`);
      this.domains.push({ ns: d.ns, flows: d.flows === undefined || d.flows === 'all' ? 'all' : new Set(d.flows), mode: d.mode ?? 'inline', decapNodes: [], layout: d.clt_legacy ? 'legacy' : 'standard' });
      this.traceLayout.set(d.ns, this.domains[this.domains.length - 1]!.layout);
    });
    const trafficNames = new Set([...(t.traffic?.flows ?? []).map((f) => f.name), ...(t.traffic?.requests ?? []).map((r) => r.name)]);
    (t.domains ?? []).forEach((d, i) => {
      if (Array.isArray(d.flows)) {
        d.flows.forEach((f, k) => {
          if (!trafficNames.has(f)) throw topologyError(this.topo, ['domains', i, 'flows', k], `no flow or request named ${JSON.stringify(f)} in traffic`);
        });
      }
    });
    // Interfaces from links: endpoint "node[:ifname]".
    const ifNames: string[][] = this.nodes.map((_, i) => ((this.topo.rawIoam[i]?.['interfaces'] as { name?: unknown }[] | undefined) ?? []).map((x) => String(x?.name)));
    /** Per node: interface index by name (the first of a name), so naming a link's ends scans no list. */
    const ifIndexOf = ifNames.map((names) => {
      const m = new Map<string, number>();
      names.forEach((n, k) => { if (!m.has(n)) m.set(n, k); });
      return m;
    });
    const linkEnds: { node: number; ifIndex: number }[][] = [];
    /** `node NUL interface` of every link end so far (an interface joins one link). */
    const usedIfs = new Set<string>();
    (t.links ?? []).forEach((l, li) => {
      const ends = (['a', 'b'] as const).map((side) => {
        const [nodeName, ifName] = l[side].split(':') as [string, string | undefined];
        return { node: this.nodeIndex(nodeName, ['links', li, side]), ifName, side };
      });
      if (ends[0]!.node === ends[1]!.node) throw topologyError(this.topo, ['links', li], 'a link joins two different nodes');
      linkEnds.push(ends.map((e, k) => {
        const peer = this.nodes[ends[1 - k]!.node]!.name;
        let name = e.ifName ?? `${this.nodes[e.node]!.name}-${peer}`;
        const names = ifNames[e.node]!;
        const index = ifIndexOf[e.node]!;
        if (!e.ifName) {
          let n = 2;
          while (index.has(name)) name = `${this.nodes[e.node]!.name}-${peer}-${n++}`;
        } else if (usedIfs.has(`${e.node}\u0000${name}`)) {
          throw topologyError(this.topo, ['links', li, e.side], `interface ${name} of ${this.nodes[e.node]!.name} is already used by another link`);
        }
        let ifIndex = index.get(name) ?? -1;
        if (ifIndex < 0) {
          ifIndex = names.push(name) - 1;
          index.set(name, ifIndex);
        }
        usedIfs.add(`${e.node}\u0000${name}`);
        return { node: e.node, ifIndex };
      }));
    });
    // Roles.
    t.nodes.forEach((n, i) => {
      const node = this.nodes[i]!;
      (n.roles ?? []).forEach((r, k) => {
        const d = this.domains.find((x) => x.ns === r.ns);
        if (!d) throw topologyError(this.topo, ['nodes', i, 'roles', k, 'ns'], `no domain with ns ${r.ns} in domains[]`);
        if (r.role === 'encap') {
          if (node.encapDomain) throw topologyError(this.topo, ['nodes', i, 'roles', k], 'a node encapsulates for one domain at most (one encap config per node, as one ioam6 route)');
          node.encapDomain = d;
        }
        if (r.role === 'decap') {
          node.decapNs.add(d.ns);
          d.decapNodes.push(i);
        }
      });
    });
    // Node configurations (the node-file schema of src/config.ts).
    t.nodes.forEach((n, i) => {
      const node = this.nodes[i]!;
      const raw = this.topo.rawIoam[i] ?? {};
      const hasRoles = (n.roles ?? []).length > 0;
      const rawIfs = ((raw['interfaces'] as Record<string, unknown>[] | undefined) ?? []).map((x) => ({ ...x }));
      const ifs = ifNames[i]!.map((name, k) => rawIfs[k] ?? { name, ioam6_enabled: hasRoles });
      const rawNs = ((raw['namespaces'] as Record<string, unknown>[] | undefined) ?? []).map((x) => ({ ...x }));
      for (const r of n.roles ?? []) if (!rawNs.some((x) => BigInt(x['id'] as number) === BigInt(r.ns))) rawNs.push({ id: r.ns });
      const cfgIn: Record<string, unknown> = { ...raw, name: n.name, interfaces: ifs, namespaces: rawNs };
      const d = node.encapDomain;
      let di = -1;
      if (d) {
        di = this.domains.indexOf(d);
        const dIn = t.domains![di]!;
        const enc: Record<string, unknown> = {
          mode: d.mode,
          trace: { type: dIn.trace_type, ns: d.ns, size: dIn.size, incremental: dIn.incremental ?? false },
          freq: dIn.freq ?? { k: 1, n: 1 },
          clt_legacy: dIn.clt_legacy ?? false,
        };
        if (d.mode !== 'inline') {
          if (d.decapNodes.length !== 1) {
            throw topologyError(this.topo, ['domains', di, 'mode'], `mode ${d.mode} needs exactly one decap node in the domain (the tunnel endpoint, tundst), found ${d.decapNodes.length}`);
          }
          enc['tunsrc'] = formatIpv6(node.addresses[0]!);
          enc['tundst'] = formatIpv6(this.nodes[d.decapNodes[0]!]!.addresses[0]!);
        }
        cfgIn['encap'] = enc;
      }
      const r = nodeConfigSchema.safeParse(cfgIn);
      if (!r.success) {
        const encIssue = r.error.issues.find((x) => x.path[0] === 'encap');
        if (encIssue && di >= 0) {
          const key = String(encIssue.path[encIssue.path.length - 1] ?? 'mode');
          const map: Record<string, string> = { type: 'trace_type', size: 'size', incremental: 'incremental', k: 'freq', n: 'freq', clt_legacy: 'clt_legacy' };
          throw topologyError(this.topo, ['domains', di, map[key] ?? 'mode'], `${encIssue.message} (encap policy of ${n.name})`);
        }
        throw configErrorFromZod(r.error.issues, this.topo.source, ['nodes', i, 'ioam']);
      }
      node.config = r.data;
    });
    // Devices.
    const defaults = t.defaults?.link ?? {};
    (t.links ?? []).forEach((l, li) => {
      const q = l.queue ?? defaults.queue ?? { packets: 1000 };
      const params = {
        index: li,
        delayNs: l.delay ?? defaults.delay ?? 1000,
        bandwidthBps: l.bandwidth ?? defaults.bandwidth ?? 1e9,
        loss: l.loss ?? defaults.loss ?? 0,
        jitterNs: l.jitter ?? defaults.jitter ?? 0,
        limitPackets: 'packets' in q ? q.packets : undefined,
        limitBytes: 'bytes' in q ? q.bytes : undefined,
      };
      const [ea, eb] = linkEnds[li]!;
      const mk = (e: { node: number; ifIndex: number }, dir: string) => {
        const node = this.nodes[e.node]!;
        const dev: SimDevice = new Device<SimPacket, SimNode>(node, e.ifIndex, node.config.interfaces[e.ifIndex]!.name, params, substream(this.opts.seed, `link:${li}:${dir}`));
        node.devices[e.ifIndex] = dev;
        dev.index = this.devices.push(dev) - 1;
        return dev;
      };
      const da = mk(ea!, 'ab');
      const db = mk(eb!, 'ba');
      da.peer = db;
      db.peer = da;
      this.linkDevices.push([da, db]);
    });
    // Where encapsulation applies: interfaces toward nodes of the domain.
    const rolesOf = (i: number) => new Set((t.nodes[i]!.roles ?? []).map((r) => r.ns));
    for (const n of this.nodes) {
      if (!n.encapDomain) continue;
      n.devices.forEach((d, k) => {
        if (d && rolesOf(d.peer.node.index).has(n.encapDomain!.ns)) n.encapIfs.add(k);
      });
    }
    this.routes.compute(this.linkDevices);
  }

  /** The topology's `failures[]`: state changes, dead queues emptied, routes recomputed after `routes.convergence`. */
  private scheduleFailures(): void {
    const t = this.topo.input;
    const convergence = t.routes?.convergence ?? 0;
    (t.failures ?? []).forEach((f, k) => {
      let apply: () => void;
      const up = f.state === 'up' ? 1 : 0;
      if (f.node !== undefined) {
        const ni = this.nodeIndex(f.node, ['failures', k, 'node']);
        apply = () => {
          this.routing.state.node[ni] = up;
          if (!up) for (const d of this.nodes[ni]!.devices) if (d) this.links.flush(d, 'node-down');
        };
      } else {
        const [ea, eb] = f.link!.map((e, j) => {
          const [nodeName, ifName] = e.split(':') as [string, string | undefined];
          return { node: this.nodeIndex(nodeName, ['failures', k, 'link', j]), ifName };
        }) as [{ node: number; ifName?: string }, { node: number; ifName?: string }];
        const match = (d: SimDevice, e: { node: number; ifName?: string }) => d.node.index === e.node && (e.ifName === undefined || d.name === e.ifName);
        const li = this.linkDevices.findIndex(([a, b]) => (match(a, ea) && match(b, eb)) || (match(a, eb) && match(b, ea)));
        if (li < 0) throw topologyError(this.topo, ['failures', k, 'link'], `no link joins ${f.link![0]} and ${f.link![1]}`);
        apply = () => {
          this.routing.state.link[li] = up;
          if (!up) for (const d of this.linkDevices[li]!) this.links.flush(d, 'link-down');
        };
      }
      this.sim.schedule(f.at, () => {
        apply();
        if (convergence === 0) this.routing.recompute(this.sim.now());
        else this.sim.schedule(convergence, () => this.routing.recompute(this.sim.now()));
      });
    });
  }

  // ---- packets in -----------------------------------------------------------------------------

  /**
   * A new packet of `len` zeroed bytes originated by node `from` (its id assigned); returns the
   * handle. Fill `store.bytes(h)`, then {@link originate}. Ids are per originating node (its
   * count × node count + its index): unique, and the same whichever partition runs the node.
   */
  newPacket(from: number, len: number): number {
    const h = this.store.alloc(len);
    this.store.id[h] = this.nextId(from);
    this.originated[from]!++;
    return h;
  }

  /** The id node `from`'s next packet will get. */
  nextId(from: number): number {
    return this.originated[from]! * this.nodes.length + from;
  }

  /** The {@link SimPacket} view of a handle. */
  view(h: number): SimPacket {
    return new PacketView(this, h);
  }

  /** Hands a locally generated packet to its node (processed at the end of the current instant). */
  originate(nodeIndex: number, h: number, flow: number, seq: number): void {
    const s = this.store;
    const now = this.sim.now();
    s.flow[h] = flow;
    s.seq[h] = seq;
    s.createdNs[h] = now;
    s.arrivedNs[h] = now;
    s.enqueuedNs[h] = now;
    this.generated++;
    const fs = this.flowStatOf(flow);
    fs.sent++;
    fs.bytesSent += s.len(h);
    s.ingress[h] = IF_NONE;
    this.enter(nodeIndex, h, now, this.sim.curHi, this.sim.curLo);
  }

  flowStat(name: string): FlowStats {
    let s = this.flowStats.get(name);
    if (!s) {
      s = { sent: 0, delivered: 0, bytesSent: 0, delayNs: new Dist() };
      this.flowStats.set(name, s);
    }
    return s;
  }

  private flowStatOf(flow: number): FlowStats {
    return (this.flowStatById[flow] ??= this.flowStat(this.store.flows[flow]!.name));
  }

  /**
   * Whether a packet that will arrive on `dev` at `timeNs` may join its node's tick queue now, at
   * the start of its transmission, instead of by an ARRIVE event: with a dataplane tick, the
   * arrival (not on a tick) only queues the packet for the next tick, in (time, tie key) order;
   * without `failures[]` nothing can stop it on the way; before the stop time it arrives within the
   * run. The caller does the arrival's work (statistics) and calls {@link arrive} with the arrival
   * time and the tie key the ARRIVE event would have had: the same queue, the same tick.
   */
  arrivesAhead(timeNs: number): boolean {
    return this.ahead && timeNs % this.tickNs !== 0 && timeNs <= this.sim.stopTime();
  }

  /**
   * A packet arrived on a link (sim/device.ts) at `timeNs`, brought by the event of tie key
   * `(hi, lo)`. `timeNs` differs from now only for a packet that waits for a tick: before now for
   * a late arrival from another partition (sim/partition.ts), after now for one joining ahead of
   * its arrival ({@link arrivesAhead}).
   */
  arrive(dev: SimDevice, h: number, timeNs: number, hi: number, lo: number): void {
    this.store.ingress[h] = dev.ifIndex;
    this.enter(dev.node.index, h, timeNs, hi, lo);
  }

  /**
   * The packet joins its node's step: now, or with a dataplane tick at the next tick boundary
   * (the node's {@link TickQueue}, in arrival order; one TICK event per node and tick).
   */
  private enter(node: number, h: number, timeNs: number, hi: number, lo: number): void {
    // (Without failures[] every node is up.)
    if (!this.eagerTx && !this.routes.nodeUp(node)) {
      this.dropAt(node, h, 'node-down');
      return;
    }
    const rem = this.tickNs > 0 ? timeNs % this.tickNs : 0;
    if (rem !== 0) {
      // One TICK per node and tick: posted with the first packet waiting for it (packets may
      // join ahead of their arrival, see arrivesAhead, so not always in time order).
      const at = timeNs + this.tickNs - rem;
      if (this.nodes[node]!.ticks.add(h, timeNs, hi, lo, at, this.tickNs)) this.sim.post(at, this.TICK, node, 0, 1 + this.devices.length + node, this.tickPosted[node]!++);
      return;
    }
    if (timeNs !== this.sim.now()) throw new Error(`internal: a packet entered node ${this.nodes[node]!.name} at ${timeNs} ns, on a tick, at ${this.sim.now()} ns`);
    this.stepper.add(this.nodes[node]!, h);
  }

  /** The node's tick: the packets that arrived since the previous one join its step, in order. */
  private tick(node: number): void {
    const q = this.nodes[node]!.ticks;
    const now = this.sim.now();
    for (let h = q.take(now); h >= 0; h = q.take(now)) {
      if (!this.routes.nodeUp(node)) this.dropAt(node, h, 'node-down');
      else this.stepper.add(this.nodes[node]!, h);
    }
  }

  /** A packet is dropped at `node` (hooks, counters; frees it). */
  dropAt(node: number, h: number, reason: string, dev?: SimDevice): void {
    const n = this.nodes[node]!;
    this.drops.add(reason);
    n.stats.drops.add(reason);
    dev?.stats.drops.add(reason);
    this.opts.hooks.onDrop?.({ node: n.name, packet: this.view(h), reason, timeNs: this.sim.now() });
    this.store.free(h);
  }

  /** A packet reached its destination node (listeners, hooks, counters; frees it). */
  deliver(node: SimNode, h: number): void {
    const now = this.sim.now();
    this.delivered++;
    node.stats.delivered++;
    const fs = this.flowStatOf(this.store.flow[h]!);
    fs.delivered++;
    fs.delayNs.add(now - this.store.createdNs[h]!);
    for (const l of this.deliverListeners) l(node.index, h);
    this.opts.hooks.onDeliver?.({ node: node.name, packet: this.view(h), timeNs: now });
    this.store.free(h);
  }

  /** Whether link `li` carries packets now (sim/device.ts). */
  linkUp(li: number): boolean {
    return this.routes.linkUp(li);
  }

  /** The devices' queues as of the end of the run (eager transmissions, sim/device.ts). */
  settleQueues(): void {
    this.links.settle(this.sim.stopTime());
  }

  /** Packets still queued or on the wire when the run stopped. */
  inFlight(): number {
    this.settleQueues();
    let q = this.onWire;
    for (const d of this.devices) q += d.queued;
    return q;
  }

  /** Absolute capture timestamp (ns since the POSIX epoch). */
  absNs(timeNs: number): bigint {
    return this.epochSecNs + BigInt(this.epochNsRem + timeNs);
  }
  private readonly epochSecNs: bigint;

  /** `node:interface` of a device. */
  static devName(d: { node: { name: string }; name: string }): string {
    return `${d.node.name}:${d.name}`;
  }
}

export { LOCAL };
