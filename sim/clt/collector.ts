/**
 * CLT collector: turns IOAM traces that carry a trace ID and span ID into network spans joined to
 * the application's spans. Runs at decapsulating nodes (fed with delivered packets) or offline on a
 * capture (any packet with an IOAM trace).
 *
 * Span rules (docs/CLT.md §4, the same in the simulator, `run --otlp` and `decode --otlp`):
 * - One **network span** per message direction: packets are grouped by (trace ID, span ID, source,
 *   destination, ports) — the span that sent them and the flow — not one span per packet. It covers
 *   the packets' time in the network: from when the first packet left the sending host's stack
 *   (the encapsulating node's send time, which the simulator knows even though Linux writes the
 *   all-ones "unavailable" timestamp for locally generated packets) to the last packet's delivery.
 *   Offline (a capture) the send time is unknown: the first timed IOAM element bounds it, and the
 *   span says so (`ioam.network.start` = `first_timed_hop`).
 * - One **hop span** per link between two consecutive timed IOAM elements, in path order, from the
 *   earlier element's time to the later one's (hop 0 starts at the send time). Hop spans nest in
 *   the network span (clamped to it: IOAM timestamps are truncated to µs) and start in path order.
 *   No span has zero length (OTLP backends read that as a missing end): at least 1 ns.
 * - Names: `network <src>→<dst>` and `hop <from>→<to>` (node names from the topology, else
 *   `node <IOAM node id>`, else the address).
 * - Parent: the span whose IDs the packets carried, or — when that span had already ended before
 *   the packets were delivered (a response: the server span ends when it hands the response to its
 *   stack) — its closest ancestor that encloses the network span ({@link attachToApplication}); the
 *   carried span stays in `ioam.sender.span_id` and as a span link.
 * @module
 */
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Attributes, type HrTime, type Link, type Tracer } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { NodeData } from '../../src/decode';
import { decodeTrace, hex, type DecodedTrace, type HopRecord, type TraceLayout } from './ioam';

/** Names for node ids (from the topology); absent names fall back to `node <id>`. */
export interface CollectorNames {
  nodeName?: (nodeId: number) => string | undefined;
  /** Name of the node owning an IPv6 address (text form), for network span names. */
  addressName?: (address: string) => string | undefined;
}

/** One packet of a group. */
export interface PacketObs {
  rxNs: bigint;
  /** When the encapsulating node sent it (simulator), or null (capture). */
  sendNs: bigint | null;
  decoded: DecodedTrace;
  bytes: number;
}

/** Packets of one message direction (same IDs and flow). */
export interface Group {
  traceId: string;
  spanId: string;
  src: string;
  dst: string;
  transport: number;
  sport: number;
  dport: number;
  /** Where the IDs came from: the packets' IOAM data, or the simulator (packets without CLT IDs). */
  idsSource: 'packet' | 'simulator';
  /** No parent: the span ID is the network span's own trace root (a packet of no application). */
  root: boolean;
  packets: PacketObs[];
}

/** A timed point of one packet's path: an IOAM element (index in path order) and its time. */
interface TimedPoint {
  k: number;
  hop: HopRecord;
  tNs: bigint;
}

/** A finished hop span (one link between two consecutive timed IOAM elements). */
export interface NetHop {
  /** `r2→r3` (the span is named `hop r2→r3`). */
  name: string;
  from: string;
  to: string;
  fromNodeId: number | null;
  toNodeId: number | null;
  egressIf: number | null;
  ingressIf: number | null;
  startNs: bigint;
  endNs: bigint;
  /** Delay of this hop for the packet that completed the message (ns). */
  lastDelayNs: number;
  maxDelayNs: number;
  meanDelayNs: number;
  maxQueueDepth: number | null;
  /** The hop starts at the encapsulating node's send time (not an IOAM timestamp). */
  fromSendTime: boolean;
  /** IOAM fields of the two elements, from the packet that completed the message. */
  fromData: NodeData;
  toData: NodeData;
}

/** How the start of a network span was found. */
export type NetStart = 'encapsulator_send_time' | 'first_timed_hop' | 'delivery';

/** A finished network span (one message direction). */
export interface NetSpan {
  traceId: string;
  /** The span whose IDs the packets carried. */
  senderSpanId: string;
  /** The span it hangs under: the sender, or its enclosing ancestor ({@link attachToApplication}). */
  parentSpanId: string;
  spanId: string;
  /** `api→db` (the span is named `network api→db`). */
  name: string;
  src: string;
  dst: string;
  transport: 'tcp' | 'udp' | string;
  sport: number;
  dport: number;
  startNs: bigint;
  endNs: bigint;
  start: NetStart;
  idsSource: 'packet' | 'simulator';
  packets: number;
  bytes: number;
  ns: number;
  traceType: number;
  hops: NetHop[];
  problems: string[];
}

function ipv6Text(b: Uint8Array, off: number): string {
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!).toString(16));
  return g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function hr(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

/** Upper-layer protocol and its offset after the IPv6 header and extension headers. */
function l4Offset(pkt: Uint8Array): { nh: number; off: number } {
  let nh = pkt[6]!;
  let off = 40;
  while ((nh === 0 || nh === 43 || nh === 60) && off + 2 <= pkt.length) {
    nh = pkt[off]!;
    off += (pkt[off + 1]! + 1) * 8;
  }
  return { nh, off };
}

const minB = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const maxB = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/**
 * The timed points of one packet's path: the encapsulating element at the send time when known,
 * then every element with an IOAM timestamp, in path order.
 */
function timedPoints(p: PacketObs): TimedPoint[] {
  const hops = p.decoded.hops;
  const pts: TimedPoint[] = [];
  hops.forEach((h, k) => {
    if (k === 0 && p.sendNs !== null) pts.push({ k, hop: h, tNs: p.sendNs });
    else if (h.timeNs !== null) pts.push({ k, hop: h, tNs: h.timeNs });
  });
  return pts;
}

/**
 * Builds the network span of one group of packets (see the module doc for the rules). Pure: the
 * nesting rules are tested on it directly.
 */
export function buildNetSpan(g: Group, nodeName: (id: number | null) => string, addrName: (a: string) => string | undefined): NetSpan {
  const problems = new Set<string>();
  let start: bigint | null = null;
  let startKind: NetStart = 'delivery';
  let end: bigint | null = null;
  let bytes = 0;
  let last: PacketObs | null = null;
  const perHop = new Map<string, { i: number; a: TimedPoint; b: TimedPoint; obs: { s: bigint; e: bigint; q: number | null }[] }>();
  for (const p of g.packets) {
    bytes += p.bytes;
    for (const pr of p.decoded.problems) problems.add(pr);
    if (p.decoded.overflow) problems.add('IOAM trace overflowed (O flag): some hops missing');
    const pts = timedPoints(p);
    const t0 = pts[0]?.tNs ?? p.rxNs;
    const kind: NetStart = p.sendNs !== null && pts[0]?.k === 0 ? 'encapsulator_send_time' : pts.length > 0 ? 'first_timed_hop' : 'delivery';
    if (start === null || t0 < start) {
      start = t0;
      startKind = kind;
    }
    end = end === null ? p.rxNs : maxB(end, p.rxNs);
    if (!last || p.rxNs >= last.rxNs) last = p;
    for (let i = 0; i + 1 < pts.length; i++) {
      const a = pts[i]!;
      const b = pts[i + 1]!;
      const key = `${i}/${a.hop.nodeId}/${b.hop.nodeId}`;
      let h = perHop.get(key);
      if (!h) perHop.set(key, (h = { i, a, b, obs: [] }));
      h.obs.push({ s: a.tNs, e: b.tNs, q: a.hop.queueDepth });
    }
  }
  const netStart = start ?? 0n;
  // No span has zero length (OTLP backends read it as a missing end): at least 1 ns.
  const netEnd = maxB(end ?? netStart, netStart + 1n);
  const lastPts = last ? timedPoints(last) : [];
  const hops: NetHop[] = [];
  let prevStart = netStart;
  for (const h of [...perHop.values()].sort((x, y) => x.i - y.i)) {
    // The fields shown are those of the packet that completed the message (else the first seen).
    const la = lastPts[h.i];
    const lb = lastPts[h.i + 1];
    const same = la && lb && la.hop.nodeId === h.a.hop.nodeId && lb.hop.nodeId === h.b.hop.nodeId;
    const a = same ? la : h.a;
    const b = same ? lb : h.b;
    const from = nodeName(a.hop.nodeId);
    const to = nodeName(b.hop.nodeId);
    const delays = h.obs.map((o) => Number(o.e - o.s));
    const qs = h.obs.map((o) => o.q).filter((q): q is number => q !== null);
    let s = h.obs.reduce((m, o) => minB(m, o.s), h.obs[0]!.s);
    let e = h.obs.reduce((m, o) => maxB(m, o.e), h.obs[0]!.e);
    // Inside the network span, in path order (µs-truncated IOAM times can fall just outside).
    // A hop shorter than the timestamps' µs resolution lasts 1 ns (not 0: see netEnd above).
    s = minB(maxB(s, prevStart), netEnd - 1n);
    e = minB(maxB(e, s + 1n), netEnd);
    prevStart = s;
    hops.push({
      name: `${from}→${to}`, from, to, fromNodeId: a.hop.nodeId, toNodeId: b.hop.nodeId,
      egressIf: a.hop.egressIf, ingressIf: b.hop.ingressIf, startNs: s, endNs: e,
      lastDelayNs: Number(b.tNs - a.tNs), maxDelayNs: Math.max(...delays),
      meanDelayNs: Math.round(delays.reduce((x, d) => x + d, 0) / delays.length),
      maxQueueDepth: qs.length > 0 ? Math.max(...qs) : null,
      fromSendTime: h.i === 0 && last !== null && last.sendNs !== null && lastPts[0]?.k === 0,
      fromData: a.hop.raw, toData: b.hop.raw,
    });
  }
  const d0 = g.packets[0]?.decoded;
  const hopsOfLast = last?.decoded.hops ?? [];
  const srcName = addrName(g.src) ?? (hopsOfLast[0]?.nodeId != null ? nodeName(hopsOfLast[0].nodeId) : g.src);
  const dstName = addrName(g.dst) ?? (hopsOfLast.length > 0 && hopsOfLast[hopsOfLast.length - 1]!.nodeId != null ? nodeName(hopsOfLast[hopsOfLast.length - 1]!.nodeId) : g.dst);
  return {
    traceId: g.traceId, senderSpanId: g.root ? '' : g.spanId, parentSpanId: g.root ? '' : g.spanId, spanId: '', name: `${srcName}→${dstName}`, idsSource: g.idsSource,
    src: g.src, dst: g.dst, transport: g.transport === 6 ? 'tcp' : g.transport === 17 ? 'udp' : String(g.transport),
    sport: g.sport, dport: g.dport, startNs: netStart, endNs: netEnd, start: startKind,
    packets: g.packets.length, bytes, ns: d0?.ns ?? 0, traceType: d0?.traceType ?? 0, hops, problems: [...problems],
  };
}

/**
 * IDs for a packet whose trace carries none, from the simulator (which knows the packet's
 * application): its span, or with `root` a fresh trace whose root is the network span.
 */
export interface FallbackIds {
  traceId: Uint8Array;
  spanId: Uint8Array;
  root: boolean;
}

/** Collects IOAM traces with CLT IDs and builds network spans. */
export class CltCollector {
  private groups = new Map<string, Group>();
  /** Packets read that carry an IOAM Pre-allocated trace. */
  traced = 0;
  /** Packets with an IOAM trace but no usable IDs. */
  untagged = 0;
  /** Packets whose trace had decoding problems. */
  malformed = 0;
  readonly results: NetSpan[] = [];

  constructor(
    private readonly layout: TraceLayout,
    private readonly names: CollectorNames = {},
  ) {}

  /**
   * Feeds one received IPv6 packet (with its Hop-by-Hop header) delivered at `rxNs`; `sendNs` is
   * when the encapsulating node sent it, when known (the simulator).
   */
  ingest(pkt: Uint8Array, rxNs: bigint, sendNs: bigint | null = null, fallback?: FallbackIds): void {
    const d = decodeTrace(pkt, this.layout);
    if (!d) return;
    this.traced++;
    if (d.problems.length > 0) this.malformed++;
    let ids: { traceId: Uint8Array; spanId: Uint8Array } | null = d.ids;
    let root = false;
    let idsSource: 'packet' | 'simulator' = 'packet';
    if (!ids || ids.traceId.every((x) => x === 0) || ids.spanId.every((x) => x === 0)) {
      this.untagged++;
      if (!fallback) return;
      ids = fallback;
      root = fallback.root;
      idsSource = 'simulator';
    }
    const { nh, off } = l4Offset(pkt);
    const sport = off + 4 <= pkt.length ? (pkt[off]! << 8) | pkt[off + 1]! : 0;
    const dport = off + 4 <= pkt.length ? (pkt[off + 2]! << 8) | pkt[off + 3]! : 0;
    const src = ipv6Text(pkt, 8);
    const dst = ipv6Text(pkt, 24);
    const traceId = hex(ids.traceId);
    const spanId = hex(ids.spanId);
    const key = `${traceId}/${spanId}/${src}/${dst}/${nh}/${sport}/${dport}`;
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { traceId, spanId, src, dst, transport: nh, sport, dport, idsSource, root, packets: [] }));
    g.packets.push({ rxNs, sendNs, decoded: d, bytes: pkt.length });
  }

  /**
   * Feeds the Hop-by-Hop header a decapsulating node removed (the simulator's `onTrace` hook /
   * `PacketBatch.trace(i)`), with the flow it belonged to. The header is wrapped in a minimal IPv6
   * packet so that both paths decode the same bytes.
   */
  ingestHopByHop(hbh: Uint8Array, rxNs: bigint, flow: { src: Uint8Array; dst: Uint8Array; sport: number; dport: number }, sendNs: bigint | null = null, fallback?: FallbackIds): void {
    if (hbh.length < 8) return;
    const p = new Uint8Array(40 + hbh.length + 4);
    p[0] = 0x60;
    const plen = p.length - 40;
    p[4] = plen >> 8;
    p[5] = plen & 0xff;
    p[6] = 0;
    p[7] = 64;
    p.set(flow.src.subarray(0, 16), 8);
    p.set(flow.dst.subarray(0, 16), 24);
    p.set(hbh, 40);
    // HbH length from its own header byte: the L4 ports follow it.
    const l4 = 40 + (hbh[1]! + 1) * 8;
    if (l4 + 4 <= p.length) {
      p[l4] = flow.sport >> 8;
      p[l4 + 1] = flow.sport & 0xff;
      p[l4 + 2] = flow.dport >> 8;
      p[l4 + 3] = flow.dport & 0xff;
    }
    this.ingest(p, rxNs, sendNs, fallback);
  }

  private nodeName(id: number | null): string {
    if (id === null) return 'unknown';
    return this.names.nodeName?.(id) ?? `node ${id}`;
  }

  /** Builds the network spans of everything ingested so far (and forgets the packets). */
  finish(): NetSpan[] {
    const out: NetSpan[] = [];
    for (const g of this.groups.values()) out.push(buildNetSpan(g, (id) => this.nodeName(id), (a) => this.names.addressName?.(a)));
    this.groups.clear();
    this.results.push(...out);
    return out;
  }
}

const toNs = (t: HrTime): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/**
 * Hangs every network span under the application span that was waiting for its packets: the
 * carried (sender) span when it encloses the network span, else its closest enclosing ancestor (a
 * response's server span ends when the response leaves; the client span awaits its delivery).
 * Spans whose sender is unknown, or that no ancestor encloses (IDs stuck to a socket), stay under
 * the sender. Returns how many were moved.
 */
export function attachToApplication(net: NetSpan[], app: readonly ReadableSpan[]): number {
  const byId = new Map<string, ReadableSpan>();
  for (const s of app) byId.set(`${s.spanContext().traceId}/${s.spanContext().spanId}`, s);
  let moved = 0;
  for (const n of net) {
    let s = byId.get(`${n.traceId}/${n.senderSpanId}`);
    while (s) {
      if (toNs(s.startTime) <= n.startNs && toNs(s.endTime) >= n.endNs) break;
      const p = s.parentSpanContext?.spanId;
      s = p ? byId.get(`${n.traceId}/${p}`) : undefined;
    }
    if (s && s.spanContext().spanId !== n.senderSpanId) {
      n.parentSpanId = s.spanContext().spanId;
      moved++;
    }
  }
  return moved;
}

/** An attribute value of a node-data field (64-bit values stay hex strings). */
function nodeAttrs(prefix: string, d: NodeData): Attributes {
  const out: Attributes = {};
  const put = (k: string, v: number | string | undefined) => {
    if (v !== undefined) out[`${prefix}.${k}`] = v;
  };
  put('hop_limit', d.hopLimit);
  put('id', d.nodeId);
  put('interface.ingress.id', d.ingressIfId);
  put('interface.egress.id', d.egressIfId);
  put('timestamp.seconds', d.timestampSecs);
  put('timestamp.fraction', d.timestampFrac);
  put('transit_delay', d.transitDelay);
  put('namespace_data', d.namespaceData);
  put('queue_depth', d.queueDepth);
  put('checksum_complement', d.checksumComplement);
  put('hop_limit_wide', d.hopLimitWide);
  put('id_wide', d.nodeIdWide);
  put('interface.ingress.id_wide', d.ingressIfIdWide);
  put('interface.egress.id_wide', d.egressIfIdWide);
  put('namespace_data_wide', d.namespaceDataWide);
  put('buffer_occupancy', d.bufferOccupancy);
  if (d.undefined && d.undefined.length > 0) out[`${prefix}.undefined_fields`] = d.undefined;
  if (d.oss) {
    put('oss.schema_id', d.oss.schemaId);
    put('oss.data', d.oss.data);
  }
  return out;
}

/** Span name of a network span. */
export const networkSpanName = (n: NetSpan): string => `network ${n.name}`;
/** Span name of a hop span. */
export const hopSpanName = (h: NetHop): string => `hop ${h.name}`;

/** The OTLP attributes of a network span (semantic-convention names where one exists). */
export function networkAttributes(n: NetSpan): Attributes {
  return {
    'network.type': 'ipv6',
    'network.transport': n.transport,
    'source.address': n.src,
    'source.port': n.sport,
    'destination.address': n.dst,
    'destination.port': n.dport,
    'ioam.namespace.id': n.ns,
    'ioam.trace_type': `0x${n.traceType.toString(16).padStart(6, '0')}`,
    ...(n.senderSpanId ? { 'ioam.sender.span_id': n.senderSpanId } : {}),
    'ioam.ids.source': n.idsSource,
    'ioam.network.start': n.start,
    'ioam.packets': n.packets,
    'ioam.bytes': n.bytes,
    'ioam.hops': n.hops.length,
    ...(n.problems.length > 0 ? { 'ioam.problems': n.problems } : {}),
  };
}

/** The OTLP attributes of a hop span: every IOAM field of both elements, and the hop's delays. */
export function hopAttributes(n: NetSpan, h: NetHop, index: number): Attributes {
  return {
    'ioam.namespace.id': n.ns,
    'ioam.trace_type': `0x${n.traceType.toString(16).padStart(6, '0')}`,
    'ioam.hop.index': index,
    'ioam.hop.start': h.fromSendTime ? 'encapsulator_send_time' : 'ioam_timestamp',
    'ioam.node.name': h.from,
    'ioam.next_node.name': h.to,
    ...nodeAttrs('ioam.node', h.fromData),
    ...nodeAttrs('ioam.next_node', h.toData),
    'ioam.hop.delay.last_ns': h.lastDelayNs,
    'ioam.hop.delay.max_ns': h.maxDelayNs,
    'ioam.hop.delay.mean_ns': h.meanDelayNs,
    ...(h.maxQueueDepth !== null ? { 'ioam.hop.queue_depth.max': h.maxQueueDepth } : {}),
  };
}

/** Emits network spans through an OpenTelemetry tracer (children of `parentSpanId`). */
export function emitNetworkSpans(tracer: Tracer, spans: NetSpan[], extra: Attributes = {}): void {
  for (const n of spans) {
    // A root network span (no parent) gets a fresh trace ID from the tracer's ID generator.
    const parent = n.parentSpanId
      ? trace.setSpanContext(ROOT_CONTEXT, { traceId: n.traceId, spanId: n.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true })
      : ROOT_CONTEXT;
    const links: Link[] = n.senderSpanId && n.parentSpanId !== n.senderSpanId
      ? [{ context: { traceId: n.traceId, spanId: n.senderSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true }, attributes: { 'ioam.link': 'sender' } }]
      : [];
    const span = tracer.startSpan(networkSpanName(n), {
      kind: SpanKind.INTERNAL,
      startTime: hr(n.startNs),
      attributes: { ...extra, ...networkAttributes(n) },
      links,
    }, parent);
    n.spanId = span.spanContext().spanId;
    if (!n.parentSpanId) n.traceId = span.spanContext().traceId;
    const ctx = trace.setSpan(ROOT_CONTEXT, span);
    n.hops.forEach((h, i) => {
      const hs = tracer.startSpan(hopSpanName(h), { kind: SpanKind.INTERNAL, startTime: hr(h.startNs), attributes: hopAttributes(n, h, i) }, ctx);
      hs.end(hr(h.endNs));
    });
    span.end(hr(n.endNs));
  }
}
