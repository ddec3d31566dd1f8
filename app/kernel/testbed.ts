/**
 * Testbed mode (`ioamsim testbed TOPOLOGY`): the simulator's topology (sim/topology.ts) built on
 * Linux network namespaces, with the kernel as the transit and receiving nodes, compared with the
 * simulation packet by packet.
 *
 * 1. **Simulate** the topology as `ioamsim run` does (same seed and duration), recording for every
 *    packet what each device sent and received (`Device.captureTx/captureRx`), where it was
 *    delivered (with the decapsulating node's removed Hop-by-Hop header) or dropped and why.
 * 2. **Build** one namespace per node, one veth pair per link (the topology's interface names),
 *    the node's addresses on `lo` (/128, `nodad`), the simulator's routes as host routes
 *    (`ADDR/128 dev IF`) with permanent neighbour entries (ADDR → the next hop's MAC), forwarding
 *    on, and each node's IOAM configuration (the simulator's validated node config: sysctls,
 *    `ip ioam namespace/schema`).
 * 3. **Replay** each packet, one at a time: the bytes the simulator's *encapsulating* node (or, for
 *    packets without IOAM, the originating node) put on its egress link are injected there through
 *    AF_PACKET (the kernel here cannot encapsulate: no `CONFIG_IPV6_IOAM6_LWTUNNEL`), then read at
 *    every later ingress on the route, at the destination's UDP socket (Hop-by-Hop header after
 *    the destination's own fill, `IPV6_RECVHOPOPTS`), and compared:
 *    every byte equal except timestamps the kernel wrote (must lie in the probe's window) and the
 *    queue depth where the simulator's queue was not empty (the kernel's veth has no queue:
 *    `noqueue` → 0; compared exactly where the simulator's backlog was 0 or the field unavailable);
 *    packets that arrive / are delivered / are dropped at the same node.
 *
 * IPv6-in-IPv6 (`mode: encap`): this kernel has no ip6tnl, so the tunnel endpoint's address is a
 * seg6local End.DX6 route (decapsulate, forward the inner packet); tunneled packets are compared
 * at every ingress of the tunnel, then as inner packets after the endpoint.
 *
 * What cannot be mapped is refused up front ({@link unsupported}): `mode: auto`, inline
 * decapsulation before forwarding, traffic addressed to a tunnel endpoint, the rfc profile,
 * CLT-patched namespaces, schemas ip(8) cannot take, interface names longer than 15 characters.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { release } from 'node:os';
import { ipv6ToBytes, type NodeConfig } from '../../src/config';
import { Network, type SimPacket, type SimNode } from '../../sim/network';
import { DataplanePool } from '../../sim/pool';
import { loadTopology, type LoadedTopology } from '../../sim/topology';
import { Traffic } from '../../sim/traffic';
import { configureNetns, ipBatch, listNetns, macStr, schemaText, uniquePrefix } from './chain';
import { comparePackets, remLens, wrapHbh } from './compare';
import { netio, type CapturedFrame, type PacketSocket, type UdpSocket } from './native';
import { ethFrame, hex, ipv6OfFrame, udpPacket, volatileFields } from './packet';

const LOCAL = -1;
const MTU = 9000;
/** Drops the kernel cannot reproduce (no queues or loss on the veths): compared up to the drop. */
const SIM_ONLY_DROPS = new Set(['queue-full', 'link-loss']);

// ---------------------------------------------------------------------------------------------
// 1. Simulation with per-packet records

interface Hop {
  node: string;
  dev: string;
  bytes: Uint8Array;
  tNs: number;
  /** tx: the packet carries an IOAM domain's option when sent. */
  ioam?: boolean;
}

/** What the simulator did with one packet. */
export interface SimRecord {
  id: number;
  flow: string;
  kind: string;
  seq: number;
  origin: string;
  dst: string;
  tx: Hop[];
  rx: Hop[];
  delivered?: { node: string; bytes: Uint8Array };
  /** Hop-by-Hop header removed by the decapsulating node (after its own fill). */
  trace?: Uint8Array;
  drop?: { node: string; reason: string };
}

export interface SimulatedRun {
  topo: LoadedTopology;
  net: Network;
  records: SimRecord[];
  seed: bigint;
  durationNs: number;
}

/** Runs the simulation (inline dataplane) and records every packet's hops. */
export async function simulate(topo: LoadedTopology, opts: { seed?: bigint | number; durationNs?: number } = {}): Promise<SimulatedRun> {
  const t = topo.input;
  const seed = BigInt(opts.seed ?? t.seed ?? 1);
  const durationNs = opts.durationNs ?? t.duration ?? 10_000_000;
  const recs = new Map<number, SimRecord>();
  const rec = (p: SimPacket, node: string): SimRecord => {
    let r = recs.get(p.id);
    if (!r) {
      r = { id: p.id, flow: p.flow.name, kind: p.flow.kind, seq: p.seq, origin: node, dst: '', tx: [], rx: [] };
      recs.set(p.id, r);
    }
    return r;
  };
  const net = new Network(topo, {
    seed, batchSize: 256,
    hooks: {
      onTrace: (_rec, hbh, p) => {
        rec(p, '?').trace = hbh.slice();
      },
      onDeliver: ({ node, packet }) => {
        rec(packet, node).delivered = { node, bytes: packet.bytes.slice() };
      },
      onDrop: ({ node, packet, reason }) => {
        rec(packet, node).drop = { node, reason };
      },
    },
  });
  for (const d of net.devices) {
    d.captureTx = (p, now) => rec(p, d.node.name).tx.push({ node: d.node.name, dev: d.name, bytes: p.bytes.slice(), tNs: now, ioam: p.domainNs !== undefined });
    d.captureRx = (p, now) => rec(p, '?').rx.push({ node: d.node.name, dev: d.name, bytes: p.bytes.slice(), tNs: now });
  }
  const traffic = new Traffic(net, durationNs);
  traffic.install(t.traffic?.flows ?? [], t.traffic?.requests ?? []);
  net.pool = new DataplanePool({ workers: 0, configs: net.nodes.map((n) => n.config), nodeNames: net.nodes.map((n) => n.name) });
  net.sim.stopAt(durationNs);
  try {
    await net.sim.run(() => {});
  } finally {
    await net.pool.close();
  }
  const records = [...recs.values()].sort((a, b) => a.id - b.id);
  for (const r of records) {
    const b = r.tx[0]?.bytes ?? r.delivered?.bytes;
    if (b && b.length >= 40) r.dst = ownerName(net, b.subarray(24, 40)) ?? '?';
  }
  return { topo, net, records, seed, durationNs };
}

/** Nodes that terminate an encap-mode (IPv6-in-IPv6) domain. */
function tunnelEndpoints(net: Network): Set<number> {
  const out = new Set<number>();
  for (const d of net.domains) if (d.mode === 'encap') for (const k of d.decapNodes) out.add(k);
  return out;
}

function ownerName(net: Network, addr: Uint8Array): string | undefined {
  return net.nodes.find((n) => n.addresses.some((a) => a.every((x, i) => x === addr[i])))?.name;
}

// ---------------------------------------------------------------------------------------------
// 2. What can be mapped

/** Reasons the topology cannot run on this kernel (empty = it can). */
export function unsupported(net: Network, topo: LoadedTopology): string[] {
  const out: string[] = [];
  const t = topo.input;
  const endpoints = tunnelEndpoints(net);
  (t.domains ?? []).forEach((d, i) => {
    if (d.mode === 'auto') {
      out.push(`domains[${i}].mode auto: inline packets of the encapsulating node would be decapsulated (option removed) by the decap node before forwarding, which Linux cannot do; use inline or encap`);
    }
    if (d.incremental) out.push(`domains[${i}].incremental: Linux does not implement Incremental traces`);
  });
  // In encap mode the tunnel endpoint's first address is a seg6local End.DX6 route, not a local address.
  const targets = [...(t.traffic?.flows ?? []).map((f, i) => ({ at: `traffic.flows[${i}]`, ends: [f.to] })), ...(t.traffic?.requests ?? []).map((r, i) => ({ at: `traffic.requests[${i}]`, ends: [r.client, r.server] }))];
  for (const x of targets) {
    for (const e of x.ends) {
      const n = net.nodes.find((m) => m.name === e || m.addresses.some((a) => fmt(a) === fmt(ipv6ToBytes(e.includes(':') ? e : '::'))));
      if (n && endpoints.has(n.index) && (e === n.name || fmt(ipv6ToBytes(e)) === fmt(n.addresses[0]!))) {
        out.push(`${x.at}: traffic to ${e}, the IPv6-in-IPv6 tunnel endpoint (its address is the End.DX6 decapsulation route on the testbed); address another node or a second address of ${n.name}`);
      }
    }
  }
  // The testbed installs one host route per destination (SimNode.nextHop): no multipath, no prefixes, no failures.
  if (net.routing.input.ecmp) out.push('routes.ecmp: the testbed installs single-path host routes (docs/ROUTING.md §7)');
  if ((t.failures ?? []).length) out.push('failures: link/node failures are not replayed on the testbed');
  if (t.nodes.some((n) => n.addresses.some((a) => a.includes('/')))) out.push('nodes[].addresses with a prefix length: the testbed installs host routes only');
  if ((t.routes?.static ?? []).some((r) => Array.isArray(r.via) || (!t.nodes.some((n) => n.name === r.to) && !/^[0-9a-fA-F:]+$/.test(r.to)))) out.push('routes.static to a prefix, default or several next hops: the testbed installs host routes only');
  for (const n of net.nodes) {
    const c = n.config;
    if (c.profile !== 'linux') out.push(`nodes ${n.name}: profile ${c.profile}: the kernel nodes follow the linux profile only`);
    for (const ns of c.namespaces) if (ns.clt_legacy) out.push(`nodes ${n.name}: namespace ${ns.id} clt_legacy: the kernel is not CLT-patched`);
    for (const sc of c.schemas) if (schemaText(sc.data) === null) out.push(`nodes ${n.name}: schema ${sc.id}: ip(8) only takes printable ASCII without " or \\ as schema data`);
    for (const d of n.devices) if (d && d.name.length > 15) out.push(`nodes ${n.name}: interface name ${d.name} is longer than 15 characters (Linux IFNAMSIZ)`);
    const links = n.devices.filter(Boolean).length;
    const inlineDecap = [...n.decapNs].some((ns) => net.domains.find((d) => d.ns === ns)?.mode !== 'encap');
    if (inlineDecap && links > 1) {
      out.push(`nodes ${n.name}: decap role on a node with ${links} links: Linux cannot remove an inline IOAM option before forwarding (only destinations may have the decap role)`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. The namespaces

const liveBeds = new Set<Testbed>();
let hooked = false;
function hookCleanup(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const b of liveBeds) b.destroy();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const b of liveBeds) b.destroy();
      process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const)[sig]);
    });
  }
}

function ip(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(err.stderr?.toString() || err.message).trim()}`);
  }
}

/** The topology on network namespaces `<prefix><node>`. */
export class Testbed {
  readonly prefix = uniquePrefix();
  private readonly macs = new Map<string, Uint8Array>();
  private readonly pkt = new Map<string, PacketSocket>();
  private readonly udp = new Map<string, UdpSocket>();
  private created: string[] = [];
  private destroyed = false;

  private constructor(readonly net: Network, private readonly alter?: (node: string, cfg: NodeConfig) => NodeConfig) {}

  /** Builds the namespaces (needs root). On any failure what was made is removed. */
  static create(net: Network, alter?: (node: string, cfg: NodeConfig) => NodeConfig): Testbed {
    const b = new Testbed(net, alter);
    hookCleanup();
    liveBeds.add(b);
    try {
      b.build();
    } catch (e) {
      b.destroy();
      throw e;
    }
    return b;
  }

  ns(node: string): string {
    return this.prefix + node;
  }

  macOf(node: string, dev: string): Uint8Array {
    const m = this.macs.get(`${node}:${dev}`);
    if (!m) throw new Error(`no device ${node}:${dev}`);
    return m;
  }

  private build(): void {
    const nio = netio();
    const net = this.net;
    for (const n of net.nodes) {
      ip(['netns', 'add', this.ns(n.name)]);
      this.created.push(this.ns(n.name));
      const quiet = ['accept_dad', 'router_solicitations', 'accept_ra'];
      const paths = quiet.flatMap((k) => [`/proc/sys/net/ipv6/conf/default/${k}`, `/proc/sys/net/ipv6/conf/all/${k}`]);
      const values = paths.map(() => '0');
      paths.push('/proc/sys/net/ipv6/icmp/ratelimit', '/proc/sys/net/ipv6/conf/all/forwarding');
      values.push('0', '1');
      nio.netnsWriteFiles(this.ns(n.name), paths, values);
    }
    // Links: one veth pair per topology link (device pairs), MACs 02:00:00:00:<link>:01/02.
    const seen = new Set<unknown>();
    net.devices.forEach((d) => {
      if (seen.has(d)) return;
      seen.add(d);
      seen.add(d.peer);
      const li = d.link.index + 1;
      const ma = Uint8Array.of(0x02, 0, 0, (li >> 8) & 0xff, li & 0xff, 1);
      const mb = Uint8Array.of(0x02, 0, 0, (li >> 8) & 0xff, li & 0xff, 2);
      this.macs.set(`${d.node.name}:${d.name}`, ma);
      this.macs.set(`${d.peer.node.name}:${d.peer.name}`, mb);
      ip(['link', 'add', d.name, 'netns', this.ns(d.node.name), 'address', macStr(ma), 'mtu', String(MTU), 'type', 'veth',
        'peer', 'name', d.peer.name, 'netns', this.ns(d.peer.node.name), 'address', macStr(mb), 'mtu', String(MTU)]);
    });
    const endpoints = tunnelEndpoints(net);
    for (const n of net.nodes) {
      const lines = ['link set lo up'];
      for (const d of n.devices) if (d) lines.push(`link set ${d.name} up`);
      n.addresses.forEach((a, k) => {
        // IPv6-in-IPv6 endpoint (tundst = first address): this kernel has no ip6tnl, but seg6local
        // End.DX6 removes the outer header (HbH included, after ipv6_hop_ioam filled it) and
        // forwards the inner packet (ip6_forward: hop limit − 1), as the simulator's decapsulating
        // node does. The route needs a real device (`dev lo` gives "no route" on input); its
        // egress id in the endpoint's own element differs from local delivery's "unavailable",
        // but that element leaves with the outer header and is not observed.
        if (k === 0 && endpoints.has(n.index)) lines.push(`route add ${fmt(a)}/128 encap seg6local action End.DX6 nh6 :: dev ${n.devices.find(Boolean)!.name}`);
        else lines.push(`addr add ${fmt(a)}/128 dev lo nodad`);
      });
      // The simulator's routes: destination node → interface; host routes with the next hop's MAC.
      for (const m of net.nodes) {
        if (m === n) continue;
        const k = net.nextHop(n.index, m.index);
        if (k === undefined || k === LOCAL) continue;
        const d = n.devices[k]!;
        for (const a of m.addresses) {
          lines.push(`route add ${fmt(a)}/128 dev ${d.name}`);
          lines.push(`neigh replace ${fmt(a)} lladdr ${macStr(this.macOf(d.peer.node.name, d.peer.name))} dev ${d.name} nud permanent`);
        }
      }
      ipBatch(this.ns(n.name), lines);
      // The node's IOAM config as the simulator validated it; `encap` is our user-space encap's.
      let cfg: NodeConfig = { ...n.config, encap: undefined, interfaces: n.config.interfaces.filter((i) => n.devices.some((d) => d?.name === i.name)) } as NodeConfig;
      if (this.alter) cfg = this.alter(n.name, cfg);
      configureNetns(this.ns(n.name), n.name, n.devices.filter(Boolean).map((d) => d!.name), cfg);
    }
  }

  sock(node: string, dev: string): PacketSocket {
    const key = `${node}:${dev}`;
    let s = this.pkt.get(key);
    if (!s) {
      s = netio().PacketSocket.open(this.ns(node), dev);
      this.pkt.set(key, s);
    }
    return s;
  }

  udpSock(node: string, port: number): UdpSocket {
    const key = `${node}:${port}`;
    let s = this.udp.get(key);
    if (!s) {
      s = netio().UdpSocket.open(this.ns(node), port);
      this.udp.set(key, s);
    }
    return s;
  }

  /** `Ip6InDelivers` of a node (/proc/net/snmp6 read from inside its namespace). */
  inDelivers(node: string): number {
    const m = /^Ip6InDelivers\s+(\d+)/m.exec(netio().netnsReadFile(this.ns(node), '/proc/thread-self/net/snmp6'));
    if (!m) throw new Error(`no Ip6InDelivers in ${node}'s /proc/net/snmp6`);
    return Number(m[1]);
  }

  /** Closes the sockets and deletes the namespaces (idempotent, never throws). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const s of [...this.pkt.values(), ...this.udp.values()]) {
      try {
        s.close();
      } catch {
        /* closed */
      }
    }
    for (const n of this.created) {
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
    liveBeds.delete(this);
  }
}

function fmt(a: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((a[i]! << 8) | a[i + 1]!).toString(16));
  return g.join(':');
}

// ---------------------------------------------------------------------------------------------
// 4. Replay and comparison

export interface PacketDisagreement {
  id: number;
  flow: string;
  seq: number;
  where: string;
  problems: string[];
  injected: string;
  expected: string;
  actual: string;
}

export interface TestbedReport {
  topology: string;
  kernel: string;
  seed: string;
  durationNs: number;
  /** Packets the simulation generated, and those replayed on the kernel. */
  simulated: number;
  replayed: number;
  /** Replayed packets whose every comparison agreed. */
  agree: number;
  comparisons: number;
  comparisonsAgree: number;
  /** Packets that never left their node in the simulation (nothing to inject). */
  notInjected: number;
  /** Packets carrying IOAM when injected. */
  withIoam: number;
  /** Simulated outcome per packet (delivered, or the drop reason). */
  outcomes: Record<string, number>;
  /** Kernel-written timestamps checked against the probe window. */
  timestampsChecked: number;
  /** Queue-depth fields the simulator filled from a non-empty queue (kernel veth: 0), not compared. */
  queueDepthNotComparable: number;
  queueDepthCompared: number;
  /** Destinations of TCP packets: the destination's own fill has no socket view (wire compared up to its
   * ingress; delivery itself is compared through Ip6InDelivers). */
  destinationNotObservable: number;
  /** Packets injected in an IPv6-in-IPv6 outer header (encap mode). */
  tunneled: number;
  /** Tunneled packets: the endpoint's own fill is discarded with the outer header by End.DX6 (not observable). */
  endpointNotObservable: number;
  /** Packets the simulation dropped for queue-full / link-loss or left in flight at the end: compared up to there only. */
  simOnlyDrops: number;
  disagreements: PacketDisagreement[];
  leftoverNetns: string[];
  unsupported: string[];
  ok: boolean;
}

/** The route's ingress points from `from` toward node `to` (devices of the next nodes). */
function routePoints(net: Network, from: SimNode, to: SimNode): { node: string; dev: string }[] {
  const out: { node: string; dev: string }[] = [];
  let n = from;
  for (let guard = 0; guard < net.nodes.length + 1 && n !== to; guard++) {
    const k = net.nextHop(n.index, to.index);
    if (k === undefined || k === LOCAL) break;
    const d = n.devices[k]!;
    out.push({ node: d.peer.node.name, dev: d.peer.name });
    n = d.peer.node;
  }
  return out;
}

function udpInfo(p: Uint8Array): { dport: number; payload: Uint8Array } | null {
  let nh = p[6]!;
  let off = 40;
  while ((nh === 0 || nh === 60 || nh === 43) && off + 2 <= p.length) {
    nh = p[off]!;
    off += (p[off + 1]! + 1) * 8;
  }
  if (nh !== 17 || off + 8 > p.length) return null;
  return { dport: (p[off + 2]! << 8) | p[off + 3]!, payload: p.subarray(off + 8) };
}

/** The inner IPv6 packet of an IPv6-in-IPv6 packet (after the outer header and its HbH), or null. */
function innerOf(p: Uint8Array): Uint8Array | null {
  let nh = p[6]!;
  let off = 40;
  while ((nh === 0 || nh === 60) && off + 2 <= p.length) {
    nh = p[off]!;
    off += (p[off + 1]! + 1) * 8;
  }
  return nh === 41 && off + 40 <= p.length ? p.subarray(off) : null;
}

/** `inner` in a plain outer header copied from `outer` (next header 41, no options). */
function tunnel(outer: Uint8Array, inner: Uint8Array): Uint8Array {
  const p = new Uint8Array(40 + inner.length);
  p.set(outer.subarray(0, 40));
  p[4] = (inner.length >> 8) & 0xff;
  p[5] = inner.length & 0xff;
  p[6] = 41;
  p[7] = 64;
  p.set(inner, 40);
  return p;
}

function hbhOf(p: Uint8Array): Uint8Array | null {
  return p.length >= 48 && p[6] === 0 ? p.slice(40, 40 + (p[41]! + 1) * 8) : null;
}

let sentinelSeq = 0;

/** Replays one packet; adds to the report. */
function replay(bed: Testbed, run: SimulatedRun, r: SimRecord, rep: TestbedReport, sentinelPort: number): void {
  const net = run.net;
  // Injection: the encapsulating node's transmission if any, else the originating one.
  const txIdx = r.tx.findIndex((h) => h.ioam);
  const inj = txIdx >= 0 ? r.tx[txIdx]! : r.tx[0];
  if (!inj) {
    rep.notInjected++;
    return;
  }
  rep.replayed++;
  if (inj.ioam) rep.withIoam++;
  const outcome = r.delivered ? 'delivered' : r.drop ? `dropped ${r.drop.reason} at ${r.drop.node}` : 'in flight at end';
  rep.outcomes[outcome] = (rep.outcomes[outcome] ?? 0) + 1;
  // Lost in a simulated queue or link, or still in flight when the run stopped: the kernel's
  // veths neither queue nor lose, so the path is compared up to where the simulation got.
  const simOnly = (!!r.drop && SIM_ONLY_DROPS.has(r.drop.reason)) || (!r.drop && !r.delivered);
  if (simOnly) rep.simOnlyDrops++;
  const injNode = net.nodes.find((n) => n.name === inj.node)!;
  const dstNode = net.nodes.find((n) => n.name === r.dst);
  if (!dstNode) {
    rep.notInjected++;
    return;
  }
  // A tunneled packet (outer destination = the tunnel endpoint) goes there first, then inner.
  const outerOwner = net.nodes.find((n) => n.name === ownerName(net, inj.bytes.subarray(24, 40)));
  const tunneled = !!outerOwner && outerOwner !== dstNode;
  const points = tunneled ? [...routePoints(net, injNode, outerOwner!), ...routePoints(net, outerOwner!, dstNode)] : routePoints(net, injNode, dstNode);
  if (tunneled) rep.tunneled++;
  // Expected at each point: the simulator's rx there after the injection.
  const rxAfter = r.rx.filter((h) => h.tNs >= inj.tNs);
  const dis: PacketDisagreement[] = [];
  const base = { id: r.id, flow: r.flow, seq: r.seq, injected: hex(inj.bytes) };
  const ipv6 = inj.bytes;
  const inner = tunneled ? innerOf(ipv6) : ipv6;
  if (!inner) {
    rep.notInjected++;
    return;
  }
  // Frames of the test are recognised by source address (outer or inner) and what they end with.
  const srcs = [ipv6.subarray(8, 24), inner.subarray(8, 24)];
  const sentinelPayload = new Uint8Array(Buffer.from(`ioamsim-testbed-sentinel-${process.pid}-${sentinelSeq++}`));
  let sentinel = udpPacket({ src: fmt(inner.subarray(8, 24)), dst: fmt(inner.subarray(24, 40)), hopLimit: 64, payload: sentinelPayload, dstPort: sentinelPort });
  if (tunneled) sentinel = tunnel(ipv6, sentinel);
  const injSock = bed.sock(inj.node, inj.dev);
  const peer = net.nodes.find((n) => n.name === inj.node)!.devices.find((d) => d?.name === inj.dev)!.peer;
  const frame = (p: Uint8Array) => ethFrame(bed.macOf(peer.node.name, peer.name), bed.macOf(inj.node, inj.dev), p);
  const socks = points.map((p) => ({ ...p, s: bed.sock(p.node, p.dev) }));
  const udp = udpInfo(inner);
  const dstUdp = udp ? bed.udpSock(dstNode.name, udp.dport) : null;
  const sentSock = bed.udpSock(dstNode.name, sentinelPort);
  injSock.drain();
  for (const p of socks) p.s.drain();
  dstUdp?.recv(0, 4096);
  sentSock.recv(0, 4096);
  // Without a socket (TCP), delivery is read from the destination's Ip6InDelivers (the sentinel adds 1).
  const delivers0 = udp ? 0 : bed.inDelivers(dstNode.name);
  const sentNs = BigInt(Date.now()) * 1_000_000n;
  injSock.send(frame(ipv6));
  injSock.send(frame(sentinel));
  const endsWith = (hay: Uint8Array, n: Uint8Array) => hay.length >= n.length && Buffer.from(hay.subarray(hay.length - n.length)).equals(Buffer.from(n));
  const fromSrc = (p: Uint8Array) => p.length >= 40 && srcs.some((src) => p.subarray(8, 24).every((b, i) => b === src[i]));
  const timeout = 3000;
  const rl = remLens(ipv6);
  const qOk = (a: number, e: number): boolean => {
    if (e === 0 || e === 0xffffffff) {
      rep.queueDepthCompared++;
      return a === e;
    }
    rep.queueDepthNotComparable++;
    return a === 0;
  };
  socks.forEach((pt) => {
    const frames: CapturedFrame[] = [];
    const deadline = Date.now() + timeout;
    let done = false;
    while (!done) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`testbed: the sentinel never reached ${pt.node}:${pt.dev} within ${timeout} ms (routes broken?)`);
      for (const f of pt.s.recv(left, 4096)) {
        if (f.pktType === 4) continue;
        const p = ipv6OfFrame(f.data);
        if (!p || !fromSrc(p)) continue;
        if (endsWith(p, sentinelPayload)) done = true;
        else if (!done) frames.push(f);
      }
    }
    const exp = rxAfter.find((h) => h.node === pt.node && h.dev === pt.dev);
    const act = frames.map((f) => f.data.subarray(14));
    const where = `${pt.node}:${pt.dev} ingress`;
    if (!exp && simOnly) return; // the simulator lost it on the way (queue/link): not comparable beyond
    rep.comparisons++;
    if (act.length !== (exp ? 1 : 0)) {
      dis.push({ ...base, where, problems: [`${act.length} packet(s) arrived, the simulation had ${exp ? 1 : 0} (${outcome})`], expected: exp ? hex(exp.bytes) : '', actual: act.map(hex).join(' ') });
      return;
    }
    if (exp) {
      const ts0 = rep.timestampsChecked;
      const cmp = comparePackets(exp.bytes, act[0]!, { injectedRemLen: rl, loNs: sentNs, hiNs: frames[0]!.tsNs, queueDepthOk: qOk });
      rep.timestampsChecked = ts0 + countTs(act[0]!, rl);
      if (!cmp.ok) {
        dis.push({ ...base, where, problems: cmp.problems, expected: hex(exp.bytes), actual: hex(act[0]!) });
        return;
      }
    }
    rep.comparisonsAgree++;
  });
  // Destination: the UDP socket view after its own fill.
  const deadline = Date.now() + timeout;
  let done = false;
  const got: { hopOpts: Uint8Array | null; hopLimit: number; tsNs: bigint }[] = [];
  while (!done) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`testbed: the sentinel was never delivered at ${dstNode.name} within ${timeout} ms`);
    for (const d of sentSock.recv(left, 64)) if (Buffer.from(d.payload).equals(Buffer.from(sentinelPayload))) done = true;
  }
  if (dstUdp && udp) for (const d of dstUdp.recv(0, 4096)) if (Buffer.from(d.payload).equals(Buffer.from(udp.payload))) got.push(d);
  if (tunneled) rep.endpointNotObservable++;
  if (!udp) {
    if (r.delivered) rep.destinationNotObservable++;
    if (!(simOnly && !r.delivered)) {
      rep.comparisons++;
      const n = bed.inDelivers(dstNode.name) - delivers0 - 1;
      if (n !== (r.delivered ? 1 : 0)) {
        dis.push({ ...base, where: `${dstNode.name} delivery`, problems: [`Ip6InDelivers grew by ${n} (besides the sentinel), the simulation ${r.delivered ? 'delivered it' : `did not (${outcome})`}`], expected: '', actual: '' });
      } else rep.comparisonsAgree++;
    }
  } else if (!(simOnly && !r.delivered)) {
    rep.comparisons++;
    const where = `${dstNode.name} socket`;
    const expDelivered = r.delivered ? 1 : 0;
    if (got.length !== expDelivered) {
      dis.push({ ...base, where, problems: [`${got.length} datagram(s) delivered, the simulation ${expDelivered ? 'delivered it' : `did not (${outcome})`}`], expected: '', actual: '' });
    } else if (r.delivered) {
      const g = got[0]!;
      const eh = r.trace && r.trace.length ? r.trace : hbhOf(r.delivered.bytes);
      const problems: string[] = [];
      if (g.hopLimit !== r.delivered.bytes[7]) problems.push(`hop limit ${g.hopLimit}, simulated ${r.delivered.bytes[7]}`);
      if (!!eh !== !!g.hopOpts) problems.push(`Hop-by-Hop header ${g.hopOpts ? 'present' : 'absent'}, simulated ${eh ? 'present' : 'absent'}`);
      else if (eh && g.hopOpts) {
        const cmp = comparePackets(wrapHbh(eh), wrapHbh(g.hopOpts), { injectedRemLen: rl, loNs: sentNs, hiNs: g.tsNs, queueDepthOk: qOk });
        rep.timestampsChecked += countTs(wrapHbh(g.hopOpts), rl);
        problems.push(...cmp.problems);
      }
      if (problems.length) dis.push({ ...base, where, problems, expected: eh ? hex(eh) : '', actual: g.hopOpts ? hex(g.hopOpts) : '' });
      else rep.comparisonsAgree++;
    } else rep.comparisonsAgree++;
  }
  if (dis.length === 0) rep.agree++;
  rep.disagreements.push(...dis);
}

/** Timestamp (seconds) fields written since injection, i.e. by the kernel, for the report. */
function countTs(p: Uint8Array, rl: number[]): number {
  return volatileFields(p, rl).filter((f) => f.kind === 'ts_sec').length;
}

export interface TestbedOptions {
  seed?: bigint | number;
  durationNs?: number;
  /** At most this many packets are replayed (in packet-id order); default 5000. */
  maxPackets?: number;
  /** Changes a node's configuration on the kernel side only (negative controls in tests). */
  kernelConfig?: (node: string, cfg: NodeConfig) => NodeConfig;
  onProgress?: (what: string) => void;
}

/** Thrown for a topology the testbed cannot map; `reasons` names each unsupported feature. */
export class TestbedUnsupported extends Error {
  constructor(readonly file: string, readonly reasons: string[]) {
    super(`${file}: cannot run on the kernel testbed:\n  - ${reasons.join('\n  - ')}`);
  }
}

/**
 * Loads and validates the topology and checks it can be mapped (no root needed): throws the
 * topology's `IoamConfigError` or {@link TestbedUnsupported}.
 */
export function checkTopology(topology: string | LoadedTopology): LoadedTopology {
  const topo = typeof topology === 'string' ? loadTopology(topology) : topology;
  const why = unsupported(new Network(topo, { seed: 1n, batchSize: 1, hooks: {} }), topo);
  if (why.length) throw new TestbedUnsupported(topo.file, why);
  return topo;
}

/** Simulates the topology, builds it on namespaces, replays every packet and compares. */
export async function runTestbed(topology: string | LoadedTopology, o: TestbedOptions = {}): Promise<TestbedReport> {
  const topo = checkTopology(topology);
  o.onProgress?.('simulating');
  const run = await simulate(topo, o);
  const rep: TestbedReport = {
    topology: topo.input.name ?? topo.file, kernel: release(), seed: run.seed.toString(), durationNs: run.durationNs,
    simulated: run.records.length, replayed: 0, agree: 0, comparisons: 0, comparisonsAgree: 0, notInjected: 0, withIoam: 0, outcomes: {},
    timestampsChecked: 0, queueDepthNotComparable: 0, queueDepthCompared: 0, destinationNotObservable: 0, simOnlyDrops: 0, tunneled: 0, endpointNotObservable: 0,
    disagreements: [], leftoverNetns: [], unsupported: [], ok: false,
  };
  const usedPorts = new Set(run.records.map((r) => (r.tx[0] ? udpInfo(r.tx[0].bytes)?.dport : undefined)).filter((x) => x !== undefined));
  let sentinelPort = 65001;
  while (usedPorts.has(sentinelPort)) sentinelPort--;
  o.onProgress?.('building namespaces');
  const bed = Testbed.create(run.net, o.kernelConfig);
  const max = o.maxPackets ?? 5000;
  try {
    let i = 0;
    for (const r of run.records) {
      if (i++ >= max) break;
      if (i % 100 === 0) o.onProgress?.(`packet ${i}/${Math.min(max, run.records.length)}`);
      replay(bed, run, r, rep, sentinelPort);
    }
  } finally {
    bed.destroy();
  }
  rep.leftoverNetns = listNetns(bed.prefix);
  rep.ok = rep.replayed > 0 && rep.agree === rep.replayed && rep.leftoverNetns.length === 0;
  return rep;
}

/** The human summary. */
export function formatTestbed(r: TestbedReport): string {
  const lines = [
    `testbed ${r.topology} (seed ${r.seed}, ${r.durationNs / 1e6} ms simulated) on kernel ${r.kernel}`,
    `packets: ${r.simulated} simulated, ${r.replayed} replayed on the kernel (${r.withIoam} with IOAM), ${r.notInjected} never left their node`,
    `agreement: ${r.agree}/${r.replayed} packets, ${r.comparisonsAgree}/${r.comparisons} comparisons (ingress of every later hop, destination socket view)`,
    `simulated outcomes: ${Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `timestamps written by the kernel checked against the probe window: ${r.timestampsChecked}; queue depth compared ${r.queueDepthCompared}, not comparable (simulated queue non-empty, veth noqueue) ${r.queueDepthNotComparable}`,
  ];
  if (r.tunneled) lines.push(`IPv6-in-IPv6: ${r.tunneled} packets tunneled to the endpoint (seg6local End.DX6 there; its own fill leaves with the outer header, not observable; the inner packet is compared after it)`);
  if (r.destinationNotObservable) lines.push(`TCP packets delivered: ${r.destinationNotObservable} (delivery compared through Ip6InDelivers; the destination's own fill is not observable without a socket, wire compared up to its ingress)`);
  if (r.simOnlyDrops) lines.push(`simulation-only outcomes (queue-full, link-loss, in flight at end): ${r.simOnlyDrops}, compared up to where the simulation got`);
  for (const d of r.disagreements.slice(0, 20)) {
    lines.push(`  DISAGREE packet ${d.id} (${d.flow} #${d.seq}) at ${d.where}: ${d.problems.join('; ')}`);
    const cut = (h: string) => (h.length > 240 ? `${h.slice(0, 240)}... (${h.length / 2} bytes; --json has all)` : h);
    lines.push(`    injected  ${cut(d.injected)}`, `    simulated ${cut(d.expected)}`, `    kernel    ${cut(d.actual)}`);
  }
  if (r.disagreements.length > 20) lines.push(`  ... ${r.disagreements.length - 20} more`);
  if (r.leftoverNetns.length) lines.push(`LEFTOVER network namespaces: ${r.leftoverNetns.join(' ')}`);
  lines.push(r.ok ? 'testbed: the kernel agrees with the simulation' : 'testbed: DISAGREEMENT');
  return lines.join('\n');
}

