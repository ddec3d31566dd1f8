/**
 * Traffic: flows (constant rate, Poisson, on/off) and request/response exchanges, UDP or TCP-like
 * segments, packet sizes fixed or drawn. Each flow draws from its own substream of the run's seed
 * (`flow:<name>`, `request:<name>`), so adding a flow never changes another flow's packets.
 *
 * {@link Traffic.send} and {@link Traffic.call} are the API the application layer (sim/clt/) builds
 * on: `send` originates one packet; `call` sends a request and has the server answer it, invoking
 * `onResponse` at the client.
 * @module
 */
import type { FlowInput, RequestInput, SizeSpec } from './topology';
import * as packet from './packet';
import type { PacketSpec } from './packet';
import type { FlowRef, Network, SimPacket } from './network';
import { substream, type Rng } from './rng';
import { Dist } from './stats';

// Module-local copies of imported functions and constants: hot paths then call a local, not an
// export binding (under tsx every export binding is read through a getter).
const { packetSize, writePacket, minSize } = packet;

/** Options of one packet sent through {@link Traffic.send}. */
export interface SendOptions {
  from: number;
  to: number;
  flow: FlowRef;
  proto?: 'udp' | 'tcp';
  sport?: number;
  dport?: number;
  size: number;
  hopLimit?: number;
  trafficClass?: number;
  seq?: number;
  app?: unknown;
}

/** A request in flight (carried in `SimPacket.app`). */
export interface RequestApp {
  requestId: number;
  exchange: string;
  response: boolean;
  sentNs: number;
  /** Whatever the caller attached (e.g. the CLT layer's span). */
  user?: unknown;
}

interface CallOptions {
  client: number;
  server: number;
  exchange: FlowRef;
  proto: 'udp' | 'tcp';
  sport: number;
  dport: number;
  requestSize: number;
  responseSize: () => number;
  hopLimit: number;
  user?: unknown;
  onResponse?: (rtt: number, resp: SimPacket) => void;
}

/** Per request/response exchange statistics. */
export interface ExchangeStats {
  requests: number;
  responses: number;
  rttNs: Dist;
}

/** Draws a size from its spec. */
function drawSize(spec: SizeSpec | undefined, rng: Rng, dflt: number): number {
  if (spec === undefined) return dflt;
  if (typeof spec === 'number') return spec;
  if ('uniform' in spec) return rng.int(Math.min(...spec.uniform), Math.max(...spec.uniform));
  return spec.choice[rng.int(0, spec.choice.length - 1)]!;
}

/** Time to the next packet of a pattern, or undefined to stop. */
function nextGap(p: { pattern?: string; rate_pps: number; on?: number; off?: number }, rng: Rng, tNs: number, startNs: number): number {
  const mean = 1e9 / p.rate_pps;
  if (p.pattern === 'poisson') return Math.max(1, Math.round(rng.exp(mean)));
  const gap = Math.max(1, Math.round(mean));
  if (p.pattern === 'onoff') {
    const on = p.on ?? 1_000_000;
    const off = p.off ?? 1_000_000;
    const next = tNs + gap;
    const phase = (next - startNs) % (on + off);
    return phase < on ? gap : gap + (on + off - phase);
  }
  return gap;
}

/** Flows and exchanges of a run. */
export class Traffic {
  readonly exchanges = new Map<string, ExchangeStats>();
  /** Per client node: requests it sent so far (request ids, see {@link call}). */
  private readonly requestsSent: Float64Array;
  /** The client's calls waiting for their response, by request id (client side only). */
  private readonly pendingCalls = new Map<number, { o: CallOptions; sentNs: number }>();
  /** The server side of the topology's exchanges, by the request flow's index in the packet store. */
  private readonly serverOf: (CallOptions | undefined)[] = [];
  /** Flow index of the responses of a request flow. */
  private readonly responseFlowOf: number[] = [];
  /** Which nodes this run originates traffic at (a partition's own nodes, sim/partition.ts); all when undefined. */
  owned: Uint8Array | undefined;
  /** Next TCP sequence number per connection (`from > to : sport > dport`). */
  private readonly tcpSeq = new Map<number | string, number>();

  private readonly spec: PacketSpec = { src: new Uint8Array(16), dst: new Uint8Array(16), proto: 'udp', sport: 0, dport: 0, size: 0, hopLimit: 64, trafficClass: 0, flowLabel: 0, tcpSeq: 0, tag: 0 };

  constructor(private readonly net: Network, private readonly stopNs: number) {
    net.deliverListeners.push((node, h) => this.onDeliver(node, h));
    this.requestsSent = new Float64Array(net.nodes.length);
  }

  /** Originates one packet at `from` (processed by the node's dataplane at this instant). */
  send(o: SendOptions): SimPacket {
    return this.net.view(this.sendPacket(o, this.net.store.flowId(o.flow)));
  }

  /** {@link send} with the flow's index in the packet store; returns the packet handle (no object per packet). */
  private sendPacket(o: SendOptions, flowId: number): number {
    const net = this.net;
    const src = net.nodes[o.from]!;
    const dst = net.nodes[o.to]!;
    const proto = o.proto ?? 'udp';
    const sport = o.sport ?? 40000 + (o.flow.index % 20000);
    const dport = o.dport ?? 5000;
    const size = Math.max(minSize(proto), o.size);
    let tcpSeq = 1;
    if (proto === 'tcp') {
      // A number for the usual ports and network sizes (no key text per packet), else the text.
      const n = net.nodes.length;
      const seqKey = n <= 1024 && sport >>> 0 === sport && sport < 65536 && dport >>> 0 === dport && dport < 65536
        ? ((o.from * n + o.to) * 65536 + sport) * 65536 + dport
        : `${o.from}>${o.to}:${sport}>${dport}`;
      tcpSeq = this.tcpSeq.get(seqKey) ?? 1;
      this.tcpSeq.set(seqKey, (tcpSeq + size - 60) >>> 0);
    }
    // One spec object and one allocator for every packet (nothing allocated per packet here).
    const spec = this.spec;
    spec.src = src.addresses[0]!;
    spec.dst = dst.addresses[0]!;
    spec.proto = proto;
    spec.sport = sport;
    spec.dport = dport;
    spec.size = size;
    spec.hopLimit = o.hopLimit ?? 64;
    spec.trafficClass = o.trafficClass ?? 0;
    spec.flowLabel = (o.flow.index * 2654435761 + (o.flow.kind === 'response' ? 1 : 0)) & 0xfffff;
    spec.tcpSeq = tcpSeq;
    spec.tag = net.nextId(o.from);
    // Written straight into the packet slab (newPacket's bytes are zeroed).
    const bytes = packetSize(spec);
    const h = net.newPacket(o.from, bytes);
    writePacket(spec, net.store.buf, net.store.off(h), bytes);
    if (o.app !== undefined) net.store.app[h] = o.app;
    net.originate(o.from, h, flowId, o.seq ?? net.store.id[h]!);
    return h;
  }

  /**
   * Sends a request; the server answers with a response of `responseSize()` bytes. Request ids are
   * per client node (its count × node count + its index): the request and its response carry it
   * as their `seq`, so the server answers from the packet alone (it may run in another partition).
   */
  call(o: CallOptions): number {
    const requestId = this.requestsSent[o.client]!++ * this.net.nodes.length + o.client;
    const st = this.exchangeStat(o.exchange.name);
    st.requests++;
    const now = this.net.sim.now();
    this.pendingCalls.set(requestId, { o, sentNs: now });
    const flowId = this.net.store.flowId(o.exchange);
    this.serverOf[flowId] ??= o;
    const app: RequestApp = { requestId, exchange: o.exchange.name, response: false, sentNs: now, user: o.user };
    this.sendPacket({ from: o.client, to: o.server, flow: o.exchange, proto: o.proto, sport: o.sport, dport: o.dport, size: o.requestSize, hopLimit: o.hopLimit, seq: requestId, app }, flowId);
    return requestId;
  }

  /** The response flow of request flow `ref` (its index registered once, see {@link install}). */
  private responseFlow(ref: FlowRef, flowId: number): number {
    let r = this.responseFlowOf[flowId];
    if (r === undefined) r = this.responseFlowOf[flowId] = this.net.store.flowId({ ...ref, kind: 'response' });
    return r;
  }

  /** The statistics of exchange `name` (made on first use). */
  exchangeStat(name: string): ExchangeStats {
    let s = this.exchanges.get(name);
    if (!s) {
      s = { requests: 0, responses: 0, rttNs: new Dist() };
      this.exchanges.set(name, s);
    }
    return s;
  }

  /** A request reached its server (answered) or a response its client (round-trip time); from the packet's flow and seq alone. */
  private onDeliver(node: number, h: number): void {
    const store = this.net.store;
    const flowId = store.flow[h]!;
    const ref = store.flows[flowId]!;
    if (ref.kind === 'request') {
      const requestId = store.seq[h]!;
      const c = this.pendingCalls.get(requestId)?.o ?? this.serverOf[flowId];
      if (!c || node !== c.server) return;
      const app = store.app[h] as RequestApp | undefined;
      const resp: RequestApp | undefined = app ? { ...app, response: true } : undefined;
      const rf = this.responseFlow(ref, flowId);
      this.sendPacket({ from: c.server, to: c.client, flow: store.flows[rf]!, proto: c.proto, sport: c.dport, dport: c.sport, size: c.responseSize(), hopLimit: c.hopLimit, seq: requestId, app: resp }, rf);
    } else if (ref.kind === 'response') {
      const requestId = store.seq[h]!;
      const p = this.pendingCalls.get(requestId);
      if (!p || node !== p.o.client) return;
      this.pendingCalls.delete(requestId);
      const rtt = this.net.sim.now() - p.sentNs;
      const st = this.exchangeStat(p.o.exchange.name);
      st.responses++;
      st.rttNs.add(rtt);
      p.o.onResponse?.(rtt, this.net.view(h));
    }
  }

  /**
   * Schedules the topology's flows and exchanges (those whose source this run owns, see
   * {@link owned}). Every flow, request and response flow is registered first, in file order, so
   * flow indices are the same in every partition. A server draws its response sizes from its own
   * stream (`response:<name>`), apart from the client's (`request:<name>`).
   */
  install(flows: FlowInput[], requests: RequestInput[]): void {
    const seed = this.net.opts.seed;
    const store = this.net.store;
    const flowIds = flows.map((f, i) => store.flowId({ index: i, name: f.name, kind: 'flow' }));
    requests.forEach((r, i) => {
      const ref: FlowRef = { index: 1000 + i, name: r.name, kind: 'request' };
      this.responseFlow(ref, store.flowId(ref));
    });
    flows.forEach((f, i) => {
      const from = this.net.resolveTarget(f.from, ['traffic', 'flows', i, 'from']);
      const to = this.net.resolveTarget(f.to, ['traffic', 'flows', i, 'to']);
      const ref = store.flows[flowIds[i]!]!;
      const flowId = flowIds[i]!;
      this.net.flowStat(f.name);
      if (this.owned && !this.owned[from]) return;
      const rng = substream(seed, `flow:${f.name}`);
      const o: SendOptions = { from, to, flow: ref, proto: f.proto, sport: f.sport, dport: f.dport, size: 0, hopLimit: f.hop_limit, trafficClass: f.traffic_class, seq: 0 };
      this.pattern(f, rng, (n) => {
        o.size = drawSize(f.size, rng, 1000);
        o.seq = n;
        this.sendPacket(o, flowId);
      });
    });
    requests.forEach((r, i) => {
      const client = this.net.resolveTarget(r.client, ['traffic', 'requests', i, 'client']);
      const server = this.net.resolveTarget(r.server, ['traffic', 'requests', i, 'server']);
      const rng = substream(seed, `request:${r.name}`);
      const responseRng = substream(seed, `response:${r.name}`);
      const ref: FlowRef = { index: 1000 + i, name: r.name, kind: 'request' };
      this.exchangeStat(r.name);
      const base: CallOptions = {
        client, server, exchange: ref, proto: r.proto ?? 'udp', sport: r.sport ?? 41000 + i, dport: r.dport ?? 8080,
        requestSize: 0, responseSize: () => drawSize(r.response_size, responseRng, 1200), hopLimit: r.hop_limit ?? 64,
      };
      this.serverOf[store.flowId(ref)] = base;
      if (this.owned && !this.owned[client]) return;
      this.pattern(r, rng, () => {
        this.call({ ...base, requestSize: drawSize(r.request_size, rng, 200) });
      });
    });
  }

  /** Runs `emit(n)` at the pattern's times from `start` until `stop`/`count`/the run's end. */
  private pattern(p: { pattern?: string; rate_pps: number; on?: number; off?: number; start?: number; stop?: number; count?: number }, rng: Rng, emit: (n: number) => void): void {
    const start = p.start ?? 0;
    const stop = Math.min(p.stop ?? Infinity, this.stopNs);
    let n = 0;
    const tick = () => {
      const now = this.net.sim.now();
      if (now >= stop || (p.count !== undefined && n >= p.count)) return;
      emit(n++);
      this.net.sim.later(nextGap(p, rng, now, start), tick);
    };
    if (start < stop) this.net.sim.scheduleAt(start, tick);
  }
}
