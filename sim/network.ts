/**
 * The simulated network: nodes (each with its IOAM dataplane), devices with finite FIFO egress
 * queues, point-to-point links, routing, and the per-instant dataplane flush.
 *
 * Roles (ns-3's split, `point-to-point-channel.cc`): a node knows its devices; a device owns its
 * egress queue (tail drop, in packets or bytes) and serializes at the link's bandwidth; the link's
 * far end receives after the propagation delay (+ jitter), unless the packet is lost.
 *
 * Per instant, every node that received or generated packets runs one dataplane step
 * ({@link processNode}) on all of them together; the IOAM inputs of each packet come from the
 * simulation: receive time (epoch + simulated clock), the routed egress interface, that device's
 * queue backlog in bytes (L2 overhead included, like a qdisc backlog), the predicted wait before
 * transmission (transit delay, rfc profile) and the node's total backlog (buffer occupancy, rfc
 * profile). All packets of one node at one instant see the queues as they were at the start of
 * the step (their own enqueues come after), which is what makes batch size and worker count
 * irrelevant to the results.
 * @module
 */
import { IF_NONE, PacketBatch, UNAVAILABLE } from '../src/batch';
import { nodeConfigSchema, configErrorFromZod, ipv6ToBytes, type NodeConfig } from '../src/config';
import { Simulator } from './engine';
import { R_DECAPSULATED, R_ENCAPSULATED, R_OVERFLOW_SET, reasonName } from './dataplane';
import { F_CLT, F_DECAP, F_ENCAP, F_HOPLIMIT, F_TRANSIT, S_ALIVE, S_DROP_ENCAP, S_DROP_HOPLIMIT, S_DROP_INPUT, sideTables } from './nodeproc';
import { addrKey, innerHeaderOffset } from './packet';
import type { DataplanePool } from './pool';
import { substream, type Rng } from './rng';
import { Counter, Dist } from './stats';
import { ROUTE_LOCAL, ROUTE_NONE } from './routing/fib';
import { RoutingState, routingInput } from './routing/setup';
import { formatIpv6, parseAddrLenText, topologyError, type LoadedTopology } from './topology';
import { decodeHopByHop, type TraceOption } from './trace';

const LOCAL = -1;
const HEADROOM = 384;
const TAILROOM = 128;
const TRACE_SLOT = 2048;

/** What a packet belongs to (a flow, a request/response exchange, or an application). */
export interface FlowRef {
  index: number;
  name: string;
  kind: 'flow' | 'request' | 'response' | 'app';
}

/**
 * A packet in flight. `bytes` start at the IPv6 header and change as the dataplane acts (a new
 * view after every step; views share 256 KiB slabs, so a layer keeping many packets' bytes for
 * long should copy them with `.slice()`).
 */
export interface SimPacket {
  id: number;
  bytes: Uint8Array;
  flow: FlowRef;
  seq: number;
  createdNs: number;
  /** Namespace of the IOAM domain whose option the packet carries (set on `encapsulated`). */
  domainNs?: number;
  /** The encapsulation added an outer IPv6 header (IPv6-in-IPv6). */
  tunneled: boolean;
  /** Arrival time at the node it is at (hop delay). */
  arrivedNs: number;
  /** Enqueue time on the current device (queueing delay). */
  enqueuedNs: number;
  /** Device that sent it last. */
  lastDevice?: Device;
  /** Opaque application data (requests, the CLT layer). */
  app?: unknown;
}

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
  /** Decapsulating node: the removed Hop-by-Hop bytes and their decoding. */
  onTrace?(rec: TraceRecord, hbh: Uint8Array, packet: SimPacket): void;
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
}

/** Per-device statistics. */
export interface DeviceStats {
  txPackets: number;
  txBytes: number;
  queueDelayNs: Dist;
  backlogAtEnqueueBytes: Dist;
  maxBacklogBytes: number;
  hopDelayNs: Dist;
  drops: Counter;
}

/** A node's network interface with its egress queue. */
export class Device {
  readonly q: SimPacket[] = [];
  private qHead = 0;
  backlogBytes = 0;
  busy = false;
  /** When everything queued so far will have been serialized. */
  busyUntilNs = 0;
  peer!: Device;
  captureTx?: (p: SimPacket, timeNs: number) => void;
  captureRx?: (p: SimPacket, timeNs: number) => void;
  readonly stats: DeviceStats = {
    txPackets: 0, txBytes: 0, queueDelayNs: new Dist(), backlogAtEnqueueBytes: new Dist(), maxBacklogBytes: 0, hopDelayNs: new Dist(), drops: new Counter(),
  };
  constructor(
    readonly node: SimNode,
    readonly ifIndex: number,
    readonly name: string,
    readonly link: { index: number; delayNs: number; bandwidthBps: number; loss: number; jitterNs: number; limitPackets?: number; limitBytes?: number },
    readonly rng: Rng,
  ) {}
  get queued(): number {
    return this.q.length - this.qHead;
  }
  push(p: SimPacket): void {
    this.q.push(p);
  }
  shift(): SimPacket | undefined {
    if (this.qHead >= this.q.length) return undefined;
    const p = this.q[this.qHead]!;
    this.q[this.qHead++] = undefined as unknown as SimPacket;
    if (this.qHead > 1024 && this.qHead * 2 > this.q.length) {
      this.q.splice(0, this.qHead);
      this.qHead = 0;
    }
    return p;
  }
}

/** Per-node statistics. */
export interface NodeStats {
  input: Counter;
  encap: Counter;
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
  devices: (Device | undefined)[];
  /**
   * nextHop[dstNode] = interface index toward the node's first address (the first next hop of a
   * multipath route), LOCAL for itself, undefined if unreachable: a summary of the routes at the
   * start of the run for the kernel testbed. Packets are routed by {@link Network.routing}.
   */
  nextHop: (number | undefined)[];
  encapDomain?: Domain;
  /** Interfaces toward a node with a role in the encap domain: only packets routed out of one are encapsulated (the ioam6 route covers the domain). */
  encapIfs: Set<number>;
  decapNs: Set<number>;
  pending: { pkt: SimPacket; ingressIf: number }[];
  /** Reused step buffers, one per chunk of a step. */
  buffers: Chunk[];
  stats: NodeStats;
}

/** One packet of a node step and its plan. */
interface Item {
  pkt: SimPacket;
  ingressIf: number;
  flags: number;
  route0: number;
  route1: number;
  /** Where the packet goes after the step: route1, or toward the tunnel endpoint once encapsulated (tunnel mode). */
  out: number | undefined;
  outTunnel: number | undefined;
  clt: Uint8Array | undefined;
}

/** A node step's batch and side tables (reused across steps). */
interface Chunk {
  batch: PacketBatch;
  side: ReturnType<typeof sideTables>;
  cap: number;
  from: number;
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
  readonly nodes: SimNode[] = [];
  readonly devices: Device[] = [];
  readonly domains: Domain[] = [];
  readonly flowStats = new Map<string, FlowStats>();
  readonly drops = new Counter();
  readonly epochSec: number;
  readonly epochNsRem: number;
  readonly l2Overhead: number;
  /** Dataplane tick (see the topology's `dataplane_tick`); 0 = exact instants. */
  readonly tickNs: number;
  private readonly addr = new Map<string, number>();
  /** Forwarding tables (sim/routing, docs/ROUTING.md), link and node state. */
  routing!: RoutingState;
  /** The two devices of each link (links[] order). */
  readonly linkDevices: [Device, Device][] = [];
  /** Nodes with pending packets at this instant (flag per node index, and the list). */
  private dirtyFlag: Uint8Array = new Uint8Array(0);
  private dirtyList: number[] = [];
  private nextPacketId = 0;
  /** Storage of the packets' bytes after each step. */
  private readonly slab = new ByteSlab();
  pool!: DataplanePool;
  /** Packet-node dataplane steps (a packet processed at one node = one packet-hop). */
  packetHops = 0;
  /** Packets being serialized or propagating. */
  onWire = 0;
  generated = 0;
  delivered = 0;
  ioamBytesInserted = 0;
  bytesSentOnLinks = 0;
  encapsulated = 0;
  decapsulated = 0;
  /** Decoded traces, and those with the Overflow flag set. */
  traces = 0;
  tracesWithOverflow = 0;
  traceSink?: (rec: TraceRecord) => void;
  /** Local delivery listeners of the traffic layer. */
  readonly deliverListeners: ((node: SimNode, p: SimPacket) => void)[] = [];

  constructor(readonly topo: LoadedTopology, readonly opts: NetworkOptions) {
    const t = topo.input;
    const epochMs = t.epoch === undefined ? Date.parse('2026-01-01T00:00:00Z') : typeof t.epoch === 'number' ? t.epoch * 1000 : Date.parse(t.epoch);
    this.epochSec = Math.floor(epochMs / 1000);
    this.epochNsRem = (epochMs % 1000) * 1e6;
    this.epochSecNs = BigInt(this.epochSec) * 1_000_000_000n;
    this.l2Overhead = t.l2_overhead ?? 14;
    this.tickNs = t.dataplane_tick ?? 0;
    this.build();
    this.sim.onInstantEnd((now) => this.flush(now));
  }

  // ---- construction -------------------------------------------------------------------------

  /** Index of a node by name, or a config error at `where`. */
  nodeIndex(name: string, where: (string | number)[]): number {
    const i = this.nodes.findIndex((n) => n.name === name);
    if (i < 0) throw topologyError(this.topo, where, `unknown node ${JSON.stringify(name)}`);
    return i;
  }

  /** Node owning an address given as text, or a node name. */
  resolveTarget(text: string, where: (string | number)[]): number {
    const byName = this.nodes.findIndex((n) => n.name === text);
    if (byName >= 0) return byName;
    if (text.includes(':')) {
      const owner = this.addr.get(addrKey(ipv6ToBytes(text), 0));
      if (owner !== undefined) return owner;
    }
    throw topologyError(this.topo, where, `${JSON.stringify(text)} is neither a node name nor a node address`);
  }

  private build(): void {
    const t = this.topo.input;
    const seenNames = new Set<string>();
    // Nodes and addresses.
    t.nodes.forEach((n, i) => {
      if (seenNames.has(n.name)) throw topologyError(this.topo, ['nodes', i, 'name'], `duplicate node name ${JSON.stringify(n.name)}`);
      seenNames.add(n.name);
      const addrs = n.addresses.map((a) => parseAddrLenText(a)!.addr);
      addrs.forEach((a, k) => {
        const key = addrKey(a, 0);
        if (this.addr.has(key)) throw topologyError(this.topo, ['nodes', i, 'addresses', k], `address ${n.addresses[k]} is also on ${t.nodes[this.addr.get(key)!]!.name}`);
        this.addr.set(key, i);
      });
      this.nodes.push({
        index: i, name: n.name, addresses: addrs, config: undefined as unknown as NodeConfig, devices: [], nextHop: [], encapIfs: new Set(), decapNs: new Set(), pending: [], buffers: [],
        stats: { input: new Counter(), encap: new Counter(), drops: new Counter(), overflowSet: 0, delivered: 0, steps: 0 },
      });
    });
    // Domains.
    (t.domains ?? []).forEach((d, i) => {
      if (this.domains.some((o) => o.ns === d.ns)) throw topologyError(this.topo, ['domains', i, 'ns'], `duplicate domain ns ${d.ns}`);
      this.domains.push({ ns: d.ns, flows: d.flows === undefined || d.flows === 'all' ? 'all' : new Set(d.flows), mode: d.mode ?? 'inline', decapNodes: [] });
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
    const linkEnds: { node: number; ifIndex: number }[][] = [];
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
        if (!e.ifName) {
          let n = 2;
          while (names.includes(name)) name = `${this.nodes[e.node]!.name}-${peer}-${n++}`;
        } else if (linkEnds.some((pair) => pair.some((x) => x.node === e.node && names[x.ifIndex] === name))) {
          throw topologyError(this.topo, ['links', li, e.side], `interface ${name} of ${this.nodes[e.node]!.name} is already used by another link`);
        }
        let ifIndex = names.indexOf(name);
        if (ifIndex < 0) {
          names.push(name);
          ifIndex = names.length - 1;
        }
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
        const dev = new Device(node, e.ifIndex, node.config.interfaces[e.ifIndex]!.name, params, substream(this.opts.seed, `link:${li}:${dir}`));
        node.devices[e.ifIndex] = dev;
        this.devices.push(dev);
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
    this.computeRoutes();
    this.dirtyFlag = new Uint8Array(this.nodes.length);
  }

  /** Routes (sim/routing): shortest paths per prefix, ECMP, static routes; failures scheduled. */
  private computeRoutes(): void {
    this.routing = new RoutingState(routingInput(this.topo, this.linkDevices));
    const fib = this.routing.fib;
    const hdr = new Uint8Array(40);
    for (const n of this.nodes) {
      n.nextHop = this.nodes.map((m) => {
        hdr.set(m.addresses[0]!, 24);
        const r = fib.nextDev(n.index, hdr, 0);
        return r === ROUTE_LOCAL ? LOCAL : r === ROUTE_NONE ? undefined : r;
      });
    }
    this.scheduleFailures();
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
          if (!up) for (const d of this.nodes[ni]!.devices) if (d) this.flushQueue(d, 'node-down');
        };
      } else {
        const [ea, eb] = f.link!.map((e, j) => {
          const [nodeName, ifName] = e.split(':') as [string, string | undefined];
          return { node: this.nodeIndex(nodeName, ['failures', k, 'link', j]), ifName };
        }) as [{ node: number; ifName?: string }, { node: number; ifName?: string }];
        const match = (d: Device, e: { node: number; ifName?: string }) => d.node.index === e.node && (e.ifName === undefined || d.name === e.ifName);
        const li = this.linkDevices.findIndex(([a, b]) => (match(a, ea) && match(b, eb)) || (match(a, eb) && match(b, ea)));
        if (li < 0) throw topologyError(this.topo, ['failures', k, 'link'], `no link joins ${f.link![0]} and ${f.link![1]}`);
        apply = () => {
          this.routing.state.link[li] = up;
          if (!up) for (const d of this.linkDevices[li]!) this.flushQueue(d, 'link-down');
        };
      }
      this.sim.schedule(f.at, () => {
        apply();
        if (convergence === 0) this.routing.recompute(this.sim.now());
        else this.sim.schedule(convergence, () => this.routing.recompute(this.sim.now()));
      });
    });
  }

  /** Drops everything queued on a device whose link or node went down. */
  private flushQueue(dev: Device, reason: string): void {
    for (let p = dev.shift(); p; p = dev.shift()) {
      dev.backlogBytes -= this.wireBytes(p);
      this.drop(dev.node, p, reason, dev);
    }
  }

  // ---- packets in -----------------------------------------------------------------------------

  /** Zeroed bytes for a new packet (carved from the packet slabs). */
  packetBytes(len: number): Uint8Array {
    return this.slab.alloc(len);
  }

  /** A new packet id. */
  newPacketId(): number {
    return this.nextPacketId++;
  }

  /** Hands a locally generated packet to its node (processed at the end of the current instant). */
  originate(nodeIndex: number, pkt: SimPacket): void {
    this.generated++;
    const fs = this.flowStat(pkt.flow.name);
    fs.sent++;
    fs.bytesSent += pkt.bytes.length;
    pkt.arrivedNs = this.sim.now();
    this.enter(this.nodes[nodeIndex]!, pkt, IF_NONE);
  }

  flowStat(name: string): FlowStats {
    let s = this.flowStats.get(name);
    if (!s) {
      s = { sent: 0, delivered: 0, bytesSent: 0, delayNs: new Dist() };
      this.flowStats.set(name, s);
    }
    return s;
  }

  private enter(node: SimNode, pkt: SimPacket, ingressIf: number): void {
    if (!this.routing.nodeUp(node.index)) {
      this.drop(node, pkt, 'node-down');
      return;
    }
    const now = this.sim.now();
    const rem = this.tickNs > 0 ? now % this.tickNs : 0;
    if (rem !== 0) {
      this.sim.schedule(this.tickNs - rem, () => this.enter(node, pkt, ingressIf));
      return;
    }
    node.pending.push({ pkt, ingressIf });
    if (this.dirtyFlag[node.index] === 0) {
      this.dirtyFlag[node.index] = 1;
      this.dirtyList.push(node.index);
    }
    this.sim.markDirty();
  }

  private drop(node: SimNode, pkt: SimPacket, reason: string, dev?: Device): void {
    this.drops.add(reason);
    node.stats.drops.add(reason);
    dev?.stats.drops.add(reason);
    this.opts.hooks.onDrop?.({ node: node.name, packet: pkt, reason, timeNs: this.sim.now() });
  }

  // ---- the per-instant dataplane step ---------------------------------------------------------

  private timestamp(): [number, number] {
    const ns = this.epochNsRem + this.sim.now();
    const sec = this.epochSec + Math.floor(ns / 1e9);
    return [sec >>> 0, ns % 1e9];
  }

  /** The node's next hop for the destination at `b[off..]` (the IPv6 header at off - 24; flow hash over it). */
  private route(node: SimNode, b: Uint8Array, off: number): number | undefined {
    const r = this.routing.fib.nextDevTo(node.index, b, off, b, off - 24);
    return r === ROUTE_LOCAL ? LOCAL : r === ROUTE_NONE ? undefined : r;
  }

  private writeMeta(node: SimNode, words: Uint32Array, at: number, ingressIf: number, route: number, ts: [number, number], occ: number): void {
    const dev = route === LOCAL ? undefined : node.devices[route];
    words[at] = ingressIf;
    words[at + 1] = dev ? route : IF_NONE;
    words[at + 2] = ts[0];
    words[at + 3] = ts[1];
    words[at + 4] = dev ? dev.backlogBytes >>> 0 : UNAVAILABLE;
    // RFC 9197 §4.4.2.5: transit delay in ns, MSB set on overflow.
    const wait = dev ? Math.max(0, dev.busyUntilNs - this.sim.now()) : 0;
    words[at + 5] = dev ? (wait > 0x7fffffff ? 0x80000000 : wait) : UNAVAILABLE;
    words[at + 6] = Math.min(occ, 0xfffffffe);
    words[at + 7] = 0;
  }

  /** A reusable batch + side tables of a node (chunk `k`) with room for `n` packets of `maxLen` bytes. */
  private buffers(node: SimNode, k: number, n: number, maxLen: number, shared: boolean): Chunk {
    const slotSize = HEADROOM + maxLen + TAILROOM + 320;
    let c = node.buffers[k];
    if (!c || c.cap < n || c.batch.slotSize < slotSize) {
      const cap = Math.max(n, c ? c.cap * 2 : 8);
      const slot = Math.max(slotSize, c ? c.batch.slotSize : 2048);
      c = { batch: new PacketBatch({ capacity: cap, slotSize: slot, headroom: HEADROOM, traceSlotSize: TRACE_SLOT, shared }), side: sideTables(cap, shared), cap, from: 0 };
      node.buffers[k] = c;
    }
    c.batch.reset();
    return c;
  }

  /** Runs the dataplane step of every node with pending packets (see module doc). */
  private flush(now: number): Promise<void> | void {
    const order = this.dirtyList;
    this.dirtyList = [];
    order.sort((a, b) => a - b);
    for (const ni of order) this.dirtyFlag[ni] = 0;
    type Job = { node: SimNode; items: Item[]; chunks: Chunk[] };
    const jobs: Job[] = [];
    const shared = this.pool.workers > 0;
    const ts = this.timestamp();
    for (const ni of order) {
      const node = this.nodes[ni]!;
      const pending = node.pending;
      node.pending = [];
      // The node's queues as they are now: every packet of this step sees the same snapshot.
      let occ = 0;
      for (const d of node.devices) if (d) occ += d.backlogBytes;
      const items: Item[] = [];
      for (const e of pending) {
        const b = e.pkt.bytes;
        const route0 = b.length >= 40 ? this.route(node, b, 24) : undefined;
        if (route0 === undefined) {
          this.drop(node, e.pkt, 'no-route');
          continue;
        }
        const fromLink = e.ingressIf !== IF_NONE;
        const decap = e.pkt.domainNs !== undefined && node.decapNs.has(e.pkt.domainNs) && (!e.pkt.tunneled || route0 === LOCAL);
        let route1 = route0;
        let out: number | undefined = route0;
        if (decap && e.pkt.tunneled) {
          const inner = innerHeaderOffset(b);
          out = inner >= 0 ? this.route(node, b, inner + 24) : undefined;
          route1 = out ?? LOCAL;
        }
        const forwarding = route1 !== LOCAL;
        let flags = fromLink ? (decap ? F_DECAP : F_TRANSIT) : 0;
        if (forwarding && (fromLink || decap)) flags |= F_HOPLIMIT;
        const d = node.encapDomain;
        const domainAfter = decap ? undefined : e.pkt.domainNs;
        let clt: Uint8Array | undefined;
        let outTunnel: number | undefined;
        if (d && forwarding && node.encapIfs.has(route1) && domainAfter === undefined && (d.flows === 'all' || d.flows.has(e.pkt.flow.name))) {
          flags |= F_ENCAP;
          if (d.mode !== 'inline') {
            // Tunnel mode: the encapsulated packet goes toward the tunnel endpoint (hash over the packet as received).
            const r = this.routing.fib.nextDevTo(node.index, this.nodes[d.decapNodes[0]!]!.addresses[0]!, 0, b, 0);
            outTunnel = r === ROUTE_LOCAL ? LOCAL : r === ROUTE_NONE ? undefined : r;
          }
          clt = this.opts.hooks.cltIds?.({ node: node.name, packet: e.pkt, timeNs: now });
          if (clt) {
            if (clt.length !== 24) throw new Error(`hooks.cltIds must return 24 bytes (trace ID 16 + span ID 8), got ${clt.length}`);
            flags |= F_CLT;
          }
        }
        items.push({ pkt: e.pkt, ingressIf: e.ingressIf, flags, route0, route1, out, outTunnel, clt });
      }
      if (items.length === 0) continue;
      node.stats.steps++;
      this.packetHops += items.length;
      const chunks: Chunk[] = [];
      for (let from = 0, k = 0; from < items.length; from += this.opts.batchSize, k++) {
        const to = Math.min(items.length, from + this.opts.batchSize);
        let maxLen = 0;
        for (let i = from; i < to; i++) maxLen = Math.max(maxLen, items[i]!.pkt.bytes.length);
        const c = this.buffers(node, k, to - from, maxLen, shared);
        c.from = from;
        const t = c.side.t;
        const meta = c.batch.meta;
        for (let i = from; i < to; i++) {
          const it = items[i]!;
          const j = i - from;
          c.batch.push(it.pkt.bytes);
          this.writeMeta(node, meta, j * 8, it.ingressIf, it.route0, ts, occ);
          this.writeMeta(node, t.meta2, j * 8, it.ingressIf, it.flags & F_ENCAP && it.outTunnel !== undefined ? it.outTunnel : it.route1, ts, occ);
          t.flags[j] = it.flags;
          if (it.clt) t.clt.set(it.clt, j * 24);
          else t.clt.fill(0, j * 24, j * 24 + 24);
        }
        chunks.push(c);
      }
      jobs.push({ node, items, chunks });
    }
    // Fast path: every step of this instant runs on the main thread → synchronously, no promise.
    let allInline = true;
    for (const j of jobs) for (const c of j.chunks) if (!this.pool.runsInline(j.node.index, c.batch.length, c.side.t.flags)) allInline = false;
    if (allInline) {
      for (const j of jobs) for (const c of j.chunks) this.pool.runInline(j.node.index, c.batch, c.side.t);
      for (const j of jobs) for (const c of j.chunks) this.apply(j.node, j.items, c, now);
      return;
    }
    return this.flushOnWorkers(jobs, now);
  }

  /**
   * Steps of different nodes run concurrently (one round trip per worker for all its nodes' steps of
   * this instant); a node's chunks in order; results applied in node order.
   */
  private async flushOnWorkers(jobs: { node: SimNode; items: Item[]; chunks: Chunk[] }[], now: number): Promise<void> {
    const tasks = [];
    for (const j of jobs) for (const c of j.chunks) tasks.push({ node: j.node.index, batch: c.batch.buffer, side: c.side.buffer, cap: c.cap });
    await this.pool.runAll(tasks, now);
    for (const j of jobs) for (const c of j.chunks) this.apply(j.node, j.items, c, now);
  }

  /** Applies one chunk's results in packet order: drops, traces, delivery, enqueue. */
  private apply(node: SimNode, items: Item[], c: Chunk, now: number): void {
    const s = c.side.t;
    for (let j = 0; j < c.batch.length; j++) {
      const it = items[c.from + j]!;
      const pkt = it.pkt;
      const r1 = s.out1[j * 4 + 1]!;
      const r2 = s.out2[j * 4 + 1]!;
      if (it.flags & (F_TRANSIT | F_DECAP)) {
        node.stats.input.add(reasonName(r1));
        if (r1 === R_OVERFLOW_SET) node.stats.overflowSet++;
      }
      if (it.flags & F_ENCAP) node.stats.encap.add(reasonName(r2));
      const st = s.status[j]!;
      if (st !== S_ALIVE) {
        const reason = st === S_DROP_INPUT ? reasonName(r1) : st === S_DROP_HOPLIMIT ? 'hop-limit' : st === S_DROP_ENCAP ? reasonName(r2) : 'unknown';
        this.drop(node, pkt, reason);
        continue;
      }
      const oldBytes = pkt.bytes;
      const desc = c.batch.desc;
      pkt.bytes = this.slab.copy(c.batch.buf, desc[j * 4 + 2]!, desc[j * 4 + 3]!);
      if (it.flags & F_DECAP && r1 === R_DECAPSULATED) {
        this.decapsulated++;
        const tr = c.batch.trace(j);
        const hbh = this.slab.copy(tr, 0, tr.length);
        const rec: TraceRecord = {
          t_ns: now, node: node.name, flow: pkt.flow.name, kind: pkt.flow.kind, seq: pkt.seq, packet: pkt.id, hbh_len: hbh.length, options: decodeHopByHop(hbh),
        };
        this.traces++;
        if (rec.options.some((o) => o.flags.overflow)) this.tracesWithOverflow++;
        pkt.domainNs = undefined;
        pkt.tunneled = false;
        this.traceSink?.(rec);
        this.opts.hooks.onTrace?.(rec, hbh, pkt);
      }
      if (it.flags & F_ENCAP && r2 === R_ENCAPSULATED) {
        this.encapsulated++;
        pkt.domainNs = node.encapDomain!.ns;
        pkt.tunneled = !sameAddr(pkt.bytes, 24, oldBytes, 24);
        this.ioamBytesInserted += s.out2[j * 4 + 3]!;
      }
      // The decision taken before the step (Linux routes a packet once, as received), or toward the tunnel endpoint.
      const route = it.flags & F_ENCAP && r2 === R_ENCAPSULATED && pkt.tunneled ? it.outTunnel : it.out;
      if (route === undefined) {
        this.drop(node, pkt, 'no-route');
      } else if (route === LOCAL) {
        this.deliver(node, pkt);
      } else {
        this.enqueue(node.devices[route]!, pkt);
      }
    }
  }

  private deliver(node: SimNode, pkt: SimPacket): void {
    this.delivered++;
    node.stats.delivered++;
    const fs = this.flowStat(pkt.flow.name);
    fs.delivered++;
    fs.delayNs.add(this.sim.now() - pkt.createdNs);
    for (const l of this.deliverListeners) l(node, pkt);
    this.opts.hooks.onDeliver?.({ node: node.name, packet: pkt, timeNs: this.sim.now() });
  }

  // ---- devices and links ----------------------------------------------------------------------

  private wireBytes(p: SimPacket): number {
    return p.bytes.length + this.l2Overhead;
  }

  private txTimeNs(dev: Device, p: SimPacket): number {
    return Math.ceil((this.wireBytes(p) * 8 * 1e9) / dev.link.bandwidthBps);
  }

  /** Tail-drop enqueue on the device's egress queue. */
  private enqueue(dev: Device, p: SimPacket): void {
    if (!this.routing.linkUp(dev.link.index)) {
      this.drop(dev.node, p, 'link-down', dev);
      return;
    }
    const size = this.wireBytes(p);
    const l = dev.link;
    if ((l.limitPackets !== undefined && dev.queued >= l.limitPackets) || (l.limitBytes !== undefined && dev.backlogBytes + size > l.limitBytes)) {
      this.drop(dev.node, p, 'queue-full', dev);
      return;
    }
    const now = this.sim.now();
    dev.stats.backlogAtEnqueueBytes.add(dev.backlogBytes);
    p.enqueuedNs = now;
    dev.push(p);
    dev.backlogBytes += size;
    if (dev.backlogBytes > dev.stats.maxBacklogBytes) dev.stats.maxBacklogBytes = dev.backlogBytes;
    dev.busyUntilNs = Math.max(dev.busyUntilNs, now) + this.txTimeNs(dev, p);
    if (!dev.busy) this.startTx(dev);
  }

  private startTx(dev: Device): void {
    const p = dev.shift();
    if (!p) {
      dev.busy = false;
      return;
    }
    const now = this.sim.now();
    dev.busy = true;
    dev.backlogBytes -= this.wireBytes(p);
    dev.stats.queueDelayNs.add(now - p.enqueuedNs);
    dev.stats.txPackets++;
    dev.stats.txBytes += p.bytes.length;
    this.bytesSentOnLinks += p.bytes.length;
    dev.captureTx?.(p, now);
    const tx = this.txTimeNs(dev, p);
    // Loss and jitter are drawn when transmission starts, from the device's own substream.
    const lost = dev.link.loss > 0 && dev.rng.float() < dev.link.loss;
    const jitter = dev.link.jitterNs > 0 ? dev.rng.int(0, dev.link.jitterNs) : 0;
    this.sim.schedule(tx, () => this.startTx(dev));
    this.onWire++;
    if (lost) {
      this.sim.schedule(tx, () => {
        this.onWire--;
        this.drop(dev.node, p, 'link-loss', dev);
      });
      return;
    }
    p.lastDevice = dev;
    this.sim.schedule(tx + dev.link.delayNs + jitter, () => this.receive(dev.peer, p));
  }

  private receive(dev: Device, p: SimPacket): void {
    const now = this.sim.now();
    this.onWire--;
    if (!this.routing.linkUp(dev.link.index)) {
      this.drop(dev.peer.node, p, 'link-down', dev.peer);
      return;
    }
    p.lastDevice?.stats.hopDelayNs.add(now - p.arrivedNs);
    p.arrivedNs = now;
    dev.captureRx?.(p, now);
    this.enter(dev.node, p, dev.ifIndex);
  }

  /** Packets still queued or on the wire when the run stopped. */
  inFlight(): number {
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
  static devName(d: Device): string {
    return `${d.node.name}:${d.name}`;
  }
}

/** Whether the 16 bytes at `a[ao..]` and `b[bo..]` are the same address. */
function sameAddr(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  if (ao + 16 > a.length || bo + 16 > b.length) return false;
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/**
 * Copies of packet bytes carved out of large shared slabs: one small view per packet-hop instead
 * of one `ArrayBuffer` (an off-heap allocation) each. Views never overlap, so a packet's bytes stay
 * its own; a slab is freed by the GC once no packet refers to it.
 */
class ByteSlab {
  private static readonly SIZE = 1 << 18;
  private slab = new Uint8Array(0);
  private pos = 0;
  /** A new zeroed view of `len` bytes (slabs are only ever written through the views handed out). */
  alloc(len: number): Uint8Array {
    if (len > ByteSlab.SIZE >> 3) return new Uint8Array(len);
    if (this.pos + len > this.slab.length) {
      this.slab = new Uint8Array(ByteSlab.SIZE);
      this.pos = 0;
    }
    const at = this.pos;
    this.pos = (at + len + 7) & ~7;
    return this.slab.subarray(at, at + len);
  }

  /** A new view holding a copy of `src[off..off+len]`. */
  copy(src: Uint8Array, off: number, len: number): Uint8Array {
    if (len > ByteSlab.SIZE >> 3) {
      const own = new Uint8Array(len);
      own.set(src.subarray(off, off + len));
      return own;
    }
    if (this.pos + len > this.slab.length) {
      this.slab = new Uint8Array(ByteSlab.SIZE);
      this.pos = 0;
    }
    const at = this.pos;
    this.slab.set(src.subarray(off, off + len), at);
    this.pos = (at + len + 7) & ~7;
    return this.slab.subarray(at, at + len);
  }
}
