/**
 * OpenTelemetry spans of an `ioamsim run` (`run --otlp FILE|URL`), built from the run's public
 * hooks (`RunOptions.hooks` of sim/run.ts: the Hop-by-Hop header each decapsulating node removed,
 * the packet's send time, deliveries and drops) — nothing inside the engine.
 *
 * - Every traced packet (every decapsulated IOAM trace) gives a network span with its hop spans,
 *   by the collector's rules (sim/clt/collector.ts): from the encapsulating node's send time to
 *   the delivery.
 * - CLT applications: every request/response exchange of `traffic.requests` is traced as an
 *   application: a CLIENT span on the client node (service = node name) from the request's send to
 *   the response's delivery, a SERVER span on the server node from the request's delivery to the
 *   response's send. Where the exchange's packets enter a CLT domain (`domains[].clt_legacy:
 *   true`) the encapsulating node writes the span's IDs into them (the request carries the client
 *   span's, the response the server span's) and the collector reads them back from the packets
 *   (`ioam.ids.source` = `packet`); in other domains the simulator attaches the packet to its
 *   exchange (`simulator`).
 * - Other traced packets (plain flows) are each a trace of their own: a root network span.
 * IDs come from a seeded generator in event order: the same topology and seed give the same spans.
 * @module
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { SimHooks, SimPacket, TraceRecord } from '../network';
import { substream } from '../rng';
import type { LoadedTopology } from '../topology';
import type { RequestApp } from '../traffic';
import { hrTime, SeededIdGenerator, Tracing } from './app';
import { attachToApplication, CltCollector, emitNetworkSpans, type NetSpan } from './collector';
import { unhex } from './ioam';

/** Wall-clock ns of simulated time 0 of a topology (its `epoch`, default 2026-01-01T00:00:00Z), as sim/network.ts computes it. */
export function topologyEpochNs(topo: LoadedTopology): bigint {
  const e = topo.input.epoch;
  const ms = e === undefined ? Date.parse('2026-01-01T00:00:00Z') : typeof e === 'number' ? e * 1000 : Date.parse(e);
  return BigInt(ms) * 1_000_000n;
}

/** Does the topology have CLT applications (request exchanges and a domain that carries CLT IDs)? */
export function hasCltApplications(topo: LoadedTopology): boolean {
  return (topo.input.traffic?.requests ?? []).length > 0 && (topo.input.domains ?? []).some((d) => d.clt_legacy === true);
}

/** One traced exchange (request id). */
interface Exchange {
  name: string;
  traceId: string;
  clientSpanId: string;
  serverSpanId: string;
  clientNode?: string;
  serverNode?: string;
  requestSentNs?: number;
  requestDeliveredNs?: number;
  responseSentNs?: number;
  responseDeliveredNs?: number;
  dropped?: string;
}

/** Result of {@link RunSpans.finish}. */
export interface RunSpansResult {
  spans: ReadableSpan[];
  netSpans: NetSpan[];
  appSpans: ReadableSpan[];
  /** Traced packets (decapsulated IOAM traces), and how many had the IDs in their bytes. */
  tracedPackets: number;
  idsFromPackets: number;
  exchanges: number;
}

const isRequestApp = (a: unknown): a is RequestApp => typeof a === 'object' && a !== null && typeof (a as RequestApp).requestId === 'number' && typeof (a as RequestApp).exchange === 'string';

/** Collects the spans of a run through its hooks (see module doc). */
export class RunSpans {
  private readonly epochNs: bigint;
  private readonly ids: SeededIdGenerator;
  private readonly exchanges = new Map<number, Exchange>();
  private readonly legacyNs = new Set<number>();
  private readonly cltEncapNodes = new Set<string>();
  private readonly collectors: { rfc: CltCollector; legacy: CltCollector };
  private traced = 0;
  private fromPackets = 0;
  private lastNs = 0;

  constructor(private readonly topo: LoadedTopology, private readonly seed: bigint) {
    this.epochNs = topologyEpochNs(topo);
    this.ids = new SeededIdGenerator(substream(seed, 'clt:run-ids'));
    const t = topo.input;
    for (const d of t.domains ?? []) if (d.clt_legacy) this.legacyNs.add(d.ns);
    t.nodes.forEach((n) => {
      if ((n.roles ?? []).some((r) => r.role === 'encap' && this.legacyNs.has(r.ns))) this.cltEncapNodes.add(n.name);
    });
    const idNames = new Map<number, string>();
    topo.rawIoam.forEach((raw, i) => {
      const id = raw?.['ioam6_id'];
      if (id !== undefined && id !== null) idNames.set(Number(id), t.nodes[i]!.name);
    });
    const addrNames = new Map<string, string>();
    for (const n of t.nodes) for (const a of n.addresses) addrNames.set(canonical(a), n.name);
    const names = { nodeName: (id: number) => idNames.get(id), addressName: (a: string) => addrNames.get(canonical(a)) };
    this.collectors = { rfc: new CltCollector('rfc', names), legacy: new CltCollector('clt-legacy', names) };
  }

  private exchange(app: RequestApp): Exchange {
    let x = this.exchanges.get(app.requestId);
    if (!x) {
      x = { name: app.exchange, traceId: this.ids.generateTraceId(), clientSpanId: this.ids.generateSpanId(), serverSpanId: this.ids.generateSpanId() };
      this.exchanges.set(app.requestId, x);
    }
    return x;
  }

  /** The hooks to pass to `runSimulation` (`RunOptions.hooks`). */
  readonly hooks: SimHooks = {
    cltIds: ({ node, packet }) => {
      if (!this.cltEncapNodes.has(node) || !isRequestApp(packet.app)) return undefined;
      const x = this.exchange(packet.app);
      const b = new Uint8Array(24);
      b.set(unhex(x.traceId), 0);
      b.set(unhex(packet.app.response ? x.serverSpanId : x.clientSpanId), 16);
      return b;
    },
    onTrace: (rec: TraceRecord, hbh: Uint8Array, p: SimPacket) => this.onTrace(rec, hbh, p),
    onDeliver: ({ node, packet, timeNs }) => {
      this.lastNs = Math.max(this.lastNs, timeNs);
      if (!isRequestApp(packet.app)) return;
      const x = this.exchange(packet.app);
      if (packet.app.response) {
        x.responseSentNs = packet.createdNs;
        x.responseDeliveredNs = timeNs;
        x.clientNode = node;
      } else {
        x.requestSentNs = packet.createdNs;
        x.requestDeliveredNs = timeNs;
        x.serverNode = node;
      }
    },
    onDrop: ({ node, packet, reason, timeNs }) => {
      this.lastNs = Math.max(this.lastNs, timeNs);
      if (!isRequestApp(packet.app)) return;
      const x = this.exchange(packet.app);
      x.dropped = `${packet.app.response ? 'response' : 'request'} dropped at ${node}: ${reason}`;
      if (packet.app.response) x.responseSentNs = packet.createdNs;
      else x.requestSentNs = packet.createdNs;
    },
  };

  private onTrace(rec: TraceRecord, hbh: Uint8Array, p: SimPacket): void {
    this.traced++;
    this.lastNs = Math.max(this.lastNs, rec.t_ns);
    const b = p.bytes;
    const nh = b[6];
    const ports = (nh === 6 || nh === 17) && b.length >= 44;
    const flow = { src: b.subarray(8, 24), dst: b.subarray(24, 40), sport: ports ? (b[40]! << 8) | b[41]! : 0, dport: ports ? (b[42]! << 8) | b[43]! : 0 };
    const legacy = rec.options.some((o) => this.legacyNs.has(o.ns));
    const c = legacy ? this.collectors.legacy : this.collectors.rfc;
    let fallback;
    if (isRequestApp(p.app)) {
      const x = this.exchange(p.app);
      fallback = { traceId: unhex(x.traceId), spanId: unhex(p.app.response ? x.serverSpanId : x.clientSpanId), root: false };
    } else {
      fallback = { traceId: unhex(this.ids.generateTraceId()), spanId: unhex(this.ids.generateSpanId()), root: true };
    }
    const before = c.untagged;
    c.ingestHopByHop(hbh, this.epochNs + BigInt(rec.t_ns), flow, this.epochNs + BigInt(p.createdNs), fallback);
    if (c.untagged === before) this.fromPackets++;
  }

  /** The application spans of the exchanges seen. */
  private appSpans(tracing: Tracing, setIds: (traceId: string, spanId: string) => void): void {
    const at = (ns: number) => hrTime(this.epochNs + BigInt(ns));
    for (const x of this.exchanges.values()) {
      if (x.requestSentNs === undefined) continue; // only seen through a stray hook: nothing to show
      const client = x.clientNode ?? this.clientOf(x);
      const server = x.serverNode ?? this.serverOf(x);
      const done = x.responseDeliveredNs !== undefined;
      const clientEnd = x.responseDeliveredNs ?? Math.max(this.lastNs, x.requestSentNs);
      setIds(x.traceId, x.clientSpanId);
      const tc: Tracer = tracing.tracer(client, { 'host.name': client });
      const cs = tc.startSpan(`${x.name} ${server}`, {
        kind: SpanKind.CLIENT, startTime: at(x.requestSentNs),
        attributes: { 'server.address': server, 'peer.service': server, 'ioamsim.exchange': x.name },
      }, ROOT_CONTEXT);
      if (x.requestDeliveredNs !== undefined) {
        setIds(x.traceId, x.serverSpanId);
        const ts = tracing.tracer(server, { 'host.name': server });
        const ss = ts.startSpan(x.name, {
          kind: SpanKind.SERVER, startTime: at(x.requestDeliveredNs),
          attributes: { 'client.address': client, 'ioamsim.exchange': x.name, 'ioamsim.server.processing_ns': Math.max(0, (x.responseSentNs ?? x.requestDeliveredNs) - x.requestDeliveredNs) },
        }, trace.setSpan(ROOT_CONTEXT, cs));
        ss.setStatus({ code: SpanStatusCode.OK });
        // The simulator's server answers in zero time; OTLP backends take a zero duration for a
        // missing end (Jaeger "sanitizes" it with a warning), so such a span lasts 1 ns.
        const sEnd = x.responseSentNs ?? x.requestDeliveredNs;
        ss.end(sEnd > x.requestDeliveredNs ? at(sEnd) : hrTime(this.epochNs + BigInt(x.requestDeliveredNs) + 1n));
      }
      cs.setStatus(done ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: x.dropped ?? 'no response before the end of the run' });
      cs.end(at(clientEnd));
    }
  }

  private clientOf(x: Exchange): string {
    return (this.topo.input.traffic?.requests ?? []).find((r) => r.name === x.name)?.client ?? 'client';
  }

  private serverOf(x: Exchange): string {
    return (this.topo.input.traffic?.requests ?? []).find((r) => r.name === x.name)?.server ?? 'server';
  }

  /** Builds every span (application spans, then network and hop spans). */
  async finish(): Promise<RunSpansResult> {
    // Application spans with the IDs already written into the packets: an ID generator that hands
    // out the queued IDs.
    let next: { traceId: string; spanId: string } = { traceId: '', spanId: '' };
    const queued = {
      generateTraceId: () => next.traceId,
      generateSpanId: () => next.spanId,
    };
    const apps = new Tracing(this.seed, queued);
    this.appSpans(apps, (traceId, spanId) => (next = { traceId, spanId }));
    const appSpans = [...(await apps.flush())];
    const netSpans = [...this.collectors.rfc.finish(), ...this.collectors.legacy.finish()];
    attachToApplication(netSpans, appSpans);
    const coll = new Tracing(this.seed, new SeededIdGenerator(substream(this.seed, 'clt:run-net-ids')));
    emitNetworkSpans(coll.tracer('ioam-collector'), netSpans);
    const spans = [...appSpans, ...(await coll.flush())];
    return { spans, netSpans, appSpans, tracedPackets: this.traced, idsFromPackets: this.fromPackets, exchanges: this.exchanges.size };
  }
}

/** Canonical text of an IPv6 address (the collector's form: no leading zeros, `::` for the first zero run). */
function canonical(a: string): string {
  const [head, tail] = a.toLowerCase().split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

