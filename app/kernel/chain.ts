/**
 * A chain of Linux network namespaces joined by veth pairs, as in the captures' MANIFEST:
 *
 * ```
 * h1 [h1-r1]--[r1-h1] r1 [r1-r2]--[r2-r1] r2 ... rN [rN-h2]--[h2-rN] h2
 *  fd00:aa:1::1  ::2      fd00:aa:12::1  ::2         fd00:aa:2::1  ::2
 * ```
 * (N = 1..4; link "i(i+1)" between routers uses fd00:aa:<i><i+1>::/64; MACs 02:00:00:00:<link>:01/02).
 * `nodad` addresses, static `nud permanent` neighbours, forwarding on the routers, routes via the
 * neighbours, ICMPv6 rate limit off (so every Time Exceeded is seen), veth default qdisc (noqueue).
 *
 * Namespaces are named `<prefix><node>`; every chain registers itself for removal on exit and on
 * SIGINT/SIGTERM/SIGHUP, and {@link Chain.destroy} removes them explicitly.
 * @module
 */
import { execFileSync } from 'node:child_process';
import type { NodeConfig } from '../../src/config';
import { netio, type CapturedFrame, type PacketSocket, type UdpDatagram, type UdpSocket } from './native';
import { ethFrame, ipv6OfFrame, mac, udpPacket } from './packet';

export const H1_ADDR = 'fd00:aa:1::1';
export const H2_ADDR = 'fd00:aa:2::2';

/** One end of a link. */
export interface Port {
  node: string;
  ifname: string;
  addr: string;
  mac: Uint8Array;
}

/** A link between two consecutive nodes of the chain: `a` on the h1 side, `b` on the h2 side. */
export interface Link {
  id: number;
  prefix: string;
  a: Port;
  b: Port;
}

function run(args: string[], input?: string): string {
  try {
    return execFileSync('ip', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
  }
}

/** Runs `ip -n NS -batch -` with the given lines (one `ip` command each, without the `ip`). */
export function ipBatch(netns: string, lines: string[]): void {
  if (lines.length) run(['-n', netns, '-batch', '-'], lines.join('\n') + '\n');
}

const live = new Set<Chain>();
let hooked = false;

function hookCleanup(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) c.destroy();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const c of live) c.destroy();
      process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const)[sig]);
    });
  }
}

/** Network namespaces whose name starts with `prefix` (`ip netns list`). */
export function listNetns(prefix: string): string[] {
  return run(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n && n.startsWith(prefix));
}

/** A unique namespace prefix for this process: `ioamsim-<pid>-<n>-`. */
let seq = 0;
export function uniquePrefix(): string {
  return `ioamsim-${process.pid}-${seq++}-`;
}

/** What one capture point saw of one test: frames in arrival order. */
export interface PointFrames {
  point: string;
  frames: CapturedFrame[];
}

/** What one probe saw. */
export interface ProbeResult {
  /** Wall clock (ns) just before the first frame was sent. */
  sentNs: bigint;
  /** Test frames at each capture point (the ingress of r1..rN and h2), in path order. */
  points: { node: string; ifname: string; frames: CapturedFrame[] }[];
  /** Datagrams with the test payload delivered to h2's UDP socket (port 5000). */
  delivered: UdpDatagram[];
  /** ICMPv6 errors that came back to h1 quoting the test payload. */
  icmp: CapturedFrame[];
}

export interface ProbeOptions {
  /** Frames sent before the test frame (e.g. queue fillers). */
  before?: Uint8Array[];
  /** How long to wait for the sentinel at each point (ms). */
  timeoutMs?: number;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength)) >= 0;
}

function endsWith(hay: Uint8Array, needle: Uint8Array): boolean {
  if (hay.length < needle.length) return false;
  const off = hay.length - needle.length;
  for (let i = 0; i < needle.length; i++) if (hay[off + i] !== needle[i]) return false;
  return true;
}

let sentinelSeq = 0;

export class Chain {
  readonly nodes: string[];
  readonly links: Link[];
  /** Namespace name per node. */
  readonly netns: Map<string, string>;
  private sockets = new Map<string, PacketSocket>();
  private destroyed = false;
  /** The IOAM namespaces / schemas currently configured per node (to undo before reconfiguring). */
  private ioamState = new Map<string, { namespaces: number[]; schemas: number[] }>();

  private constructor(readonly prefix: string, readonly routers: number) {
    this.nodes = ['h1', ...Array.from({ length: routers }, (_, i) => `r${i + 1}`), 'h2'];
    this.netns = new Map(this.nodes.map((n) => [n, prefix + n]));
    this.links = [];
    for (let i = 0; i + 1 < this.nodes.length; i++) {
      const left = this.nodes[i]!;
      const right = this.nodes[i + 1]!;
      const id = i === 0 ? 0x01 : i + 1 === this.nodes.length - 1 ? 0x02 : Number.parseInt(`${i}${i + 1}`, 16);
      const pfx = i === 0 ? 'fd00:aa:1' : i + 1 === this.nodes.length - 1 ? 'fd00:aa:2' : `fd00:aa:${i}${i + 1}`;
      this.links.push({
        id,
        prefix: `${pfx}::/64`,
        a: { node: left, ifname: `${left}-${right}`, addr: `${pfx}::1`, mac: mac(id, 1) },
        b: { node: right, ifname: `${right}-${left}`, addr: `${pfx}::2`, mac: mac(id, 2) },
      });
    }
  }

  /** Builds the chain (needs root). On any failure the namespaces made so far are removed. */
  static create(routers: number, prefix = uniquePrefix()): Chain {
    if (!Number.isInteger(routers) || routers < 1 || routers > 4) throw new Error(`routers must be 1..4, got ${routers}`);
    const c = new Chain(prefix, routers);
    hookCleanup();
    live.add(c);
    try {
      c.build();
    } catch (e) {
      c.destroy();
      throw e;
    }
    return c;
  }

  ns(node: string): string {
    const n = this.netns.get(node);
    if (!n) throw new Error(`no node ${node} in the chain`);
    return n;
  }

  /** Interfaces of a node in dataplane order: toward h1 first, then toward h2. */
  interfacesOf(node: string): string[] {
    const out: string[] = [];
    for (const l of this.links) {
      if (l.b.node === node) out.push(l.b.ifname);
    }
    for (const l of this.links) {
      if (l.a.node === node) out.push(l.a.ifname);
    }
    return out;
  }

  private build(): void {
    const nio = netio();
    for (const n of this.nodes) run(['netns', 'add', this.ns(n)]);
    const quiet = ['accept_dad', 'router_solicitations', 'accept_ra'];
    for (const n of this.nodes) {
      const router = n.startsWith('r');
      const paths = quiet.flatMap((k) => [`/proc/sys/net/ipv6/conf/default/${k}`, `/proc/sys/net/ipv6/conf/all/${k}`]);
      const values = paths.map(() => '0');
      paths.push('/proc/sys/net/ipv6/icmp/ratelimit', '/proc/sys/net/ipv6/conf/all/forwarding');
      values.push('0', router ? '1' : '0');
      nio.netnsWriteFiles(this.ns(n), paths, values);
    }
    for (const l of this.links) {
      run(['link', 'add', l.a.ifname, 'netns', this.ns(l.a.node), 'address', macStr(l.a.mac), 'type', 'veth',
        'peer', 'name', l.b.ifname, 'netns', this.ns(l.b.node), 'address', macStr(l.b.mac)]);
    }
    for (const n of this.nodes) {
      const lines = ['link set lo up'];
      for (const l of this.links) {
        for (const [me, peer] of [[l.a, l.b], [l.b, l.a]] as const) {
          if (me.node !== n) continue;
          lines.push(`link set ${me.ifname} up`);
          lines.push(`addr add ${me.addr}/64 dev ${me.ifname} nodad`);
          lines.push(`neigh replace ${peer.addr} lladdr ${macStr(peer.mac)} dev ${me.ifname} nud permanent`);
        }
      }
      const i = this.nodes.indexOf(n);
      // Routes: every non-connected /64 via the neighbour on its side.
      this.links.forEach((l, k) => {
        if (l.a.node === n || l.b.node === n) return;
        const towardH2 = k >= i;
        const via = towardH2 ? this.links[i]! : this.links[i - 1]!;
        const gw = towardH2 ? via.b : via.a;
        const dev = towardH2 ? via.a.ifname : via.b.ifname;
        lines.push(`route add ${l.prefix} via ${gw.addr} dev ${dev}`);
      });
      ipBatch(this.ns(n), lines);
    }
  }

  /**
   * Applies a node configuration to a node of the chain: `net.ipv6.ioam6_id/_wide`, per interface
   * `conf.<if>.ioam6_enabled/_id/_id_wide` (interfaces not named in the config get Linux's
   * defaults back), and the IOAM namespaces and schemas (`ip ioam namespace add ID data D wide W`,
   * `ip ioam schema add ID DATA`, `ip ioam namespace set ID schema S`) after removing the previous
   * ones. Schema data must be printable ASCII without spaces or quotes (it goes through `ip`).
   */
  configure(node: string, cfg: NodeConfig): void {
    const prev = this.ioamState.get(node);
    this.ioamState.set(node, { namespaces: [], schemas: [] });
    this.ioamState.set(node, configureNetns(this.ns(node), node, this.interfacesOf(node), cfg, prev));
  }

  /** Replaces (or with `null` removes) the root qdisc of an interface, e.g. `tbf rate 1mbit ...`. */
  qdisc(netns: string, ifname: string, spec: string | null): void {
    const args = spec === null ? ['-n', netns, 'qdisc', 'del', 'dev', ifname, 'root'] : ['-n', netns, 'qdisc', 'replace', 'dev', ifname, 'root', ...spec.split(' ')];
    try {
      execFileSync('tc', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`tc ${args.join(' ')} failed: ${(err.stderr?.toString() || err.message).trim()}`);
    }
  }

  /** Removes every IOAM setting of a node (sysctls back to Linux's defaults). */
  unconfigure(node: string): void {
    this.configure(node, { name: node, profile: 'linux', ioam6_id: 0xffffff, ioam6_id_wide: 0x00ffffffffffffffn, interfaces: [], namespaces: [], schemas: [] } as NodeConfig);
  }

  /** The socket of a capture point, opened on first use: `<node>:<ifname>`. */
  socket(node: string, ifname: string): PacketSocket {
    const key = `${node}:${ifname}`;
    let s = this.sockets.get(key);
    if (!s) {
      s = netio().PacketSocket.open(this.ns(node), ifname);
      this.sockets.set(key, s);
    }
    return s;
  }

  /** The capture points along the path: each router's and h2's interface toward h1. */
  capturePoints(): { node: string; ifname: string }[] {
    return this.links.map((l) => ({ node: l.b.node, ifname: l.b.ifname }));
  }

  /** h1's port (where frames are injected) and its peer on r1. */
  get first(): Link {
    return this.links[0]!;
  }

  /** h2's UDP sink on port 5000 (what the captures' h2 socket view used). */
  private sink?: UdpSocket;
  udpSink(): UdpSocket {
    if (!this.sink) this.sink = netio().UdpSocket.open(this.ns('h2'), 5000);
    return this.sink;
  }

  /** Opens every socket a probe uses (h1, the capture points, h2's UDP sink). */
  openAll(): void {
    this.socket('h1', this.first.a.ifname);
    for (const p of this.capturePoints()) this.socket(p.node, p.ifname);
    this.udpSink();
  }

  /**
   * Sends `ipv6` (an IPv6 packet) from h1 toward r1 and collects what every capture point, h2's
   * UDP socket and h1 (ICMPv6 errors) saw of it. Test frames are recognised by their UDP payload
   * `payload` (they must come from h1's address and end with it); a sentinel (plain UDP from h1
   * to h2) sent right after marks the end at each point, so drops cost no timeout.
   */
  probe(ipv6: Uint8Array, payload: Uint8Array, opts: ProbeOptions = {}): ProbeResult {
    this.openAll();
    const inj = this.socket('h1', this.first.a.ifname);
    const points = this.capturePoints().map((p) => ({ ...p, sock: this.socket(p.node, p.ifname) }));
    inj.drain();
    for (const p of points) p.sock.drain();
    this.udpSink().recv(0, 4096);
    const sentinelPayload = new Uint8Array(Buffer.from(`ioamsim-sentinel-${process.pid}-${sentinelSeq++}`));
    const sentinel = udpPacket({ src: H1_ADDR, dst: H2_ADDR, hopLimit: 64, payload: sentinelPayload });
    const l = this.first;
    const frame = (p: Uint8Array) => ethFrame(l.b.mac, l.a.mac, p);
    const sentNs = BigInt(Date.now()) * 1_000_000n;
    for (const b of opts.before ?? []) inj.send(frame(b));
    inj.send(frame(ipv6));
    inj.send(frame(sentinel));
    const timeout = opts.timeoutMs ?? 3000;
    const isTest = (f: CapturedFrame, needle: Uint8Array) => {
      if (f.pktType === 4) return false;
      const p = ipv6OfFrame(f.data);
      return p !== null && p.length >= 40 && p.subarray(8, 24).every((b, i) => b === ipv6[8 + i]) && endsWith(p, needle);
    };
    const out: ProbeResult = { sentNs, points: [], delivered: [], icmp: [] };
    for (const p of points) {
      const frames: CapturedFrame[] = [];
      const deadline = Date.now() + timeout;
      let done = false;
      while (!done) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`probe: the sentinel never reached ${p.node}:${p.ifname} within ${timeout} ms (chain broken?)`);
        for (const f of p.sock.recv(left, 4096)) {
          if (isTest(f, sentinelPayload)) done = true;
          else if (!done && isTest(f, payload)) frames.push(f);
        }
      }
      out.points.push({ node: p.node, ifname: p.ifname, frames });
    }
    const deadline = Date.now() + timeout;
    let done = false;
    while (!done) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`probe: the sentinel was never delivered to h2's UDP socket within ${timeout} ms`);
      for (const d of this.udpSink().recv(left, 4096)) {
        if (Buffer.from(d.payload).equals(Buffer.from(sentinelPayload))) done = true;
        else if (Buffer.from(d.payload).equals(Buffer.from(payload))) out.delivered.push(d);
      }
    }
    for (const f of inj.recv(0, 4096)) {
      const p = ipv6OfFrame(f.data);
      if (f.pktType !== 4 && p && p[6] === 58 && p.length > 40 && p[40]! < 128 && contains(p.subarray(48), payload)) out.icmp.push(f);
    }
    return out;
  }

  /** Reads `/proc/net/snmp6` of a node as a map. */
  snmp6(node: string): Map<string, number> {
    const txt = netio().netnsReadFile(this.ns(node), '/proc/thread-self/net/snmp6');
    const m = new Map<string, number>();
    for (const line of txt.split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k && v) m.set(k, Number(v));
    }
    return m;
  }

  /** Closes the sockets and deletes the namespaces (idempotent, never throws). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const s of this.sockets.values()) {
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
    this.sockets.clear();
    try {
      this.sink?.close();
    } catch {
      /* already closed */
    }
    for (const n of this.nodes) {
      try {
        execFileSync('ip', ['netns', 'del', this.ns(n)], { stdio: 'ignore' });
      } catch {
        /* not created */
      }
    }
    live.delete(this);
  }
}

/**
 * Applies a node configuration to network namespace `netns` whose interfaces are `own`:
 * `net.ipv6.ioam6_id/_wide`, per interface `conf.<if>.ioam6_enabled/_id/_id_wide` (interfaces not
 * named in the config get Linux's defaults back), and the IOAM namespaces and schemas
 * (`ip ioam namespace add ID data D wide W`, `ip ioam schema add ID DATA`,
 * `ip ioam namespace set ID schema S`) after removing `prev`'s. Schema data must be printable
 * ASCII without `"` or `\\` (it goes through ip(8)). Returns what is now configured.
 */
export function configureNetns(netns: string, node: string, own: string[], cfg: NodeConfig, prev?: { namespaces: number[]; schemas: number[] }): { namespaces: number[]; schemas: number[] } {
  for (const itf of cfg.interfaces) {
    if (!own.includes(itf.name)) throw new Error(`node ${node}: interface ${itf.name} is not in the chain (has ${own.join(', ')})`);
  }
  const paths = ['/proc/sys/net/ipv6/ioam6_id', '/proc/sys/net/ipv6/ioam6_id_wide'];
  const values = [String(cfg.ioam6_id), cfg.ioam6_id_wide.toString()];
  for (const ifname of own) {
    const itf = cfg.interfaces.find((i) => i.name === ifname);
    paths.push(`/proc/sys/net/ipv6/conf/${ifname}/ioam6_enabled`, `/proc/sys/net/ipv6/conf/${ifname}/ioam6_id`, `/proc/sys/net/ipv6/conf/${ifname}/ioam6_id_wide`);
    values.push(itf?.ioam6_enabled ? '1' : '0', String(itf?.ioam6_id ?? 0xffff), String(itf?.ioam6_id_wide ?? 0xffffffff));
  }
  netio().netnsWriteFiles(netns, paths, values);
  const lines: string[] = [];
  for (const id of prev?.namespaces ?? []) lines.push(`ioam namespace del ${id}`);
  for (const id of prev?.schemas ?? []) lines.push(`ioam schema del ${id}`);
  for (const sc of cfg.schemas) {
    const text = schemaText(sc.data);
    if (text === null) throw new Error(`node ${node}: schema ${sc.id} data must be non-empty printable ASCII without " or \\ to go through ip(8)`);
    lines.push(`ioam schema add ${sc.id} "${text}"`);
  }
  for (const n of cfg.namespaces) {
    let l = `ioam namespace add ${n.id}`;
    if (n.data !== undefined) l += ` data 0x${n.data.toString(16)}`;
    if (n.wide !== undefined) l += ` wide 0x${n.wide.toString(16)}`; // ip(8) 6.1 reads wide as hex only
    lines.push(l);
    if (n.schema !== undefined) lines.push(`ioam namespace set ${n.id} schema ${n.schema}`);
  }
  ipBatch(netns, lines);
  return { namespaces: cfg.namespaces.map((n) => n.id), schemas: cfg.schemas.map((s) => s.id) };
}

/** Schema data as ip(8) can take it (printable ASCII without `"` or `\\`), or null. */
export function schemaText(data: Uint8Array): string | null {
  const text = Buffer.from(data).toString('latin1');
  return /^[\x20-\x7e]+$/.test(text) && !/["\\]/.test(text) ? text : null;
}

export function macStr(m: Uint8Array): string {
  return Array.from(m, (b) => b.toString(16).padStart(2, '0')).join(':');
}
