/**
 * The application layer of a CLT scenario: services on network nodes, endpoints with seeded
 * processing-time distributions and call graphs (frontend → api → db), traced with the real
 * OpenTelemetry JS SDK (sdk-trace-base 2.x) on simulated time with a deterministic ID generator.
 *
 * Every call is a request message and a response message of real packets over the simulated
 * network ({@link CltTransport}: sim/clt/transport.ts, every node's dataplane the Rust core's);
 * each packet carries the IDs of the span that sent it:
 * - `ids: request` (what CLT intends): the client span's IDs on the request, the server span's on
 *   the response, set per request;
 * - `ids: socket` (the original CLT kernel patch: `sk_pkt_id`/`sk_pkt_sid` on the socket, copied to
 *   every skb in `tcp_sendmsg_locked`): the IDs set on a connection when it was opened stay on it,
 *   so later requests on a kept-alive connection carry the first request's IDs.
 * @module
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type HrTime, type Span, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator, type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import type { Simulator } from '../engine';
import { substream, type Rng } from '../rng';
import type { CltTransport } from './transport';
import type { CltIds } from './ioam';
import { unhex } from './ioam';

/** Processing time: log-normal with this median and shape (sigma of the underlying normal). */
export interface Dist {
  median_ms: number;
  sigma?: number;
}

export interface CallSpec {
  service: string;
  endpoint: string;
}

export interface EndpointSpec {
  /** Processing time of this endpoint itself (half before its calls, half after). */
  work: Dist;
  calls?: CallSpec[];
  request_bytes?: number;
  response_bytes?: number;
}

export interface ServiceSpec {
  name: string;
  /** Network node the service runs on. */
  node: string;
  port: number;
  endpoints: Record<string, EndpointSpec>;
}

/** How IDs are attached to packets. */
export type IdMode = 'request' | 'socket';

/** Deterministic OpenTelemetry ID generator drawing from a seeded substream. */
export class SeededIdGenerator implements IdGenerator {
  constructor(private readonly rng: Rng) {}
  private hexWords(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += this.rng.next().toString(16).padStart(8, '0');
    return /^0+$/.test(s) ? '1'.padStart(8 * n, '0') : s;
  }
  generateTraceId(): string {
    return this.hexWords(4);
  }
  generateSpanId(): string {
    return this.hexWords(2);
  }
}

/** The tracing side of a run: one provider per service (its resource), one exporter for all. */
export class Tracing {
  readonly exporter = new InMemorySpanExporter();
  private providers = new Map<string, BasicTracerProvider>();
  private readonly idGen: IdGenerator;

  constructor(seed: bigint, idGenerator?: IdGenerator) {
    this.idGen = idGenerator ?? new SeededIdGenerator(substream(seed, 'clt:otel-ids'));
  }

  /** The tracer of a service (`service.name` resource attribute). */
  tracer(service: string, attrs: Record<string, string> = {}): Tracer {
    let p = this.providers.get(service);
    if (!p) {
      p = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, ...attrs }),
        idGenerator: this.idGen,
        spanProcessors: [new SimpleSpanProcessor(this.exporter)],
      });
      this.providers.set(service, p);
    }
    return p.getTracer('ioamsim-clt', '0.1.0');
  }

  async flush(): Promise<ReadableSpan[]> {
    for (const p of this.providers.values()) await p.forceFlush();
    return this.exporter.getFinishedSpans();
  }
}

/** ns since the epoch → OpenTelemetry HrTime. */
export function hrTime(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

function idsOf(span: Span): CltIds {
  const c = span.spanContext();
  return { traceId: unhex(c.traceId), spanId: unhex(c.spanId) };
}

/** A kept-alive connection between two services (one per caller→callee pair). */
interface Connection {
  sport: number;
  /** IDs stuck to each side's socket (socket mode): set by the first request. */
  clientIds: CltIds | null;
  serverIds: CltIds | null;
}

/** Options of the application run. */
export interface AppOptions {
  sim: Simulator;
  net: CltTransport;
  tracing: Tracing;
  epochNs: bigint;
  seed: bigint;
  services: ServiceSpec[];
  idMode: IdMode;
}

/** Runs requests through the services. */
export class App {
  private readonly svc = new Map<string, ServiceSpec>();
  private readonly conns = new Map<string, Connection>();
  private readonly rng: Rng;
  private nextPort = 40000;
  /** Root requests started / finished. */
  started = 0;
  finished = 0;

  constructor(private readonly o: AppOptions) {
    for (const s of o.services) this.svc.set(s.name, s);
    this.rng = substream(o.seed, 'clt:app');
  }

  private now(): bigint {
    return this.o.epochNs + BigInt(this.o.sim.now());
  }

  /** Log-normal sample in ns (Box–Muller on the seeded stream). */
  private sample(d: Dist): number {
    const u1 = 1 - this.rng.float();
    const u2 = this.rng.float();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return Math.max(1000, Math.round(d.median_ms * 1e6 * Math.exp((d.sigma ?? 0.25) * z)));
  }

  /** Starts a root request to `service endpoint` now (the entry span is the service's SERVER span). */
  request(service: string, endpoint: string): void {
    this.started++;
    this.handle(service, endpoint, ROOT_CONTEXT, () => {
      this.finished++;
    });
  }

  private handle(service: string, endpoint: string, parent: Context, done: (server: Span) => void): void {
    const s = this.svc.get(service);
    const ep = s?.endpoints[endpoint];
    if (!s || !ep) throw new Error(`unknown endpoint ${service} ${endpoint}`);
    const tracer = this.o.tracing.tracer(s.name, { 'host.name': s.node });
    const span = tracer.startSpan(endpoint, {
      kind: SpanKind.SERVER,
      startTime: hrTime(this.now()),
      attributes: { 'ioamsim.node': s.node, 'server.port': s.port },
    }, parent);
    const work = this.sample(ep.work);
    const before = Math.floor(work / 2);
    const after = work - before;
    const calls = ep.calls ?? [];
    const ctx = trace.setSpan(ROOT_CONTEXT, span);
    const next = (i: number): void => {
      if (i >= calls.length) {
        this.o.sim.schedule(after, () => {
          span.setStatus({ code: SpanStatusCode.OK });
          span.end(hrTime(this.now()));
          done(span);
        });
        return;
      }
      this.call(s, calls[i]!, ctx, () => next(i + 1));
    };
    this.o.sim.schedule(before, () => next(0));
  }

  private connection(from: ServiceSpec, to: ServiceSpec): Connection {
    const key = `${from.name}->${to.name}`;
    let c = this.conns.get(key);
    if (!c) this.conns.set(key, (c = { sport: this.nextPort++, clientIds: null, serverIds: null }));
    return c;
  }

  private call(from: ServiceSpec, c: CallSpec, ctx: Context, done: () => void): void {
    const to = this.svc.get(c.service);
    const ep = to?.endpoints[c.endpoint];
    if (!to || !ep) throw new Error(`${from.name}: call to unknown endpoint ${c.service} ${c.endpoint}`);
    const tracer = this.o.tracing.tracer(from.name, { 'host.name': from.node });
    const client = tracer.startSpan(`${c.endpoint} ${to.name}`, {
      kind: SpanKind.CLIENT,
      startTime: hrTime(this.now()),
      attributes: { 'server.address': to.node, 'server.port': to.port, 'peer.service': to.name },
    }, ctx);
    const conn = this.connection(from, to);
    const reqIds = this.o.idMode === 'request' ? idsOf(client) : (conn.clientIds ??= idsOf(client));
    this.o.net.send({ from: from.node, to: to.node, bytes: ep.request_bytes ?? 400, ids: reqIds, sport: conn.sport, dport: to.port }, () => {
      this.handle(to.name, c.endpoint, trace.setSpan(ROOT_CONTEXT, client), (server) => {
        const respIds = this.o.idMode === 'request' ? idsOf(server) : (conn.serverIds ??= idsOf(server));
        this.o.net.send({ from: to.node, to: from.node, bytes: ep.response_bytes ?? 1200, ids: respIds, sport: to.port, dport: conn.sport }, () => {
          client.setStatus({ code: SpanStatusCode.OK });
          client.end(hrTime(this.now()));
          done();
        });
      });
    });
  }
}
