/**
 * CLT collector: turns IOAM traces that carry a trace ID and span ID into network spans joined to
 * the application's spans. Runs at decapsulating nodes (fed with delivered packets) or offline on a
 * capture (any packet with an IOAM trace).
 *
 * One network span per request direction: packets are grouped by (trace ID, span ID, source,
 * destination, ports) — the span that sent them and the flow — not one span per packet. The
 * network span is a child of the sending application span; it has one child span per hop (link
 * between two consecutive IOAM nodes), timed from the IOAM timestamps, with the node ids,
 * interfaces, queue depth and hop delay as attributes.
 * @module
 */
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Attributes, type HrTime, type Tracer } from '@opentelemetry/api';
import { decodeTrace, hex, type DecodedTrace, type HopRecord, type TraceLayout } from './ioam';

/** Names for node ids and links (from the topology); absent names fall back to `node <id>`. */
export interface CollectorNames {
  nodeName?: (nodeId: number) => string | undefined;
  linkName?: (egressIf: number, fromNode: string, toNode: string) => string | undefined;
}

/** One packet's view of one hop (between path position k and k+1). */
interface HopObs {
  fromNode: number | null;
  toNode: number | null;
  egressIf: number | null;
  ingressIf: number | null;
  startNs: bigint;
  endNs: bigint;
  queueDepth: number | null;
  hopLimit: number | null;
}

interface Group {
  traceId: string;
  spanId: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  packets: { rxNs: bigint; decoded: DecodedTrace; bytes: number }[];
}

/** A finished network hop, as the report sees it. */
export interface NetHop {
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
}

/** A finished network span (one request direction). */
export interface NetSpan {
  traceId: string;
  parentSpanId: string;
  spanId: string;
  src: string;
  dst: string;
  startNs: bigint;
  endNs: bigint;
  packets: number;
  bytes: number;
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

/** Upper-layer header offset after the IPv6 header and extension headers (HbH only here). */
function l4Offset(pkt: Uint8Array): { nh: number; off: number } {
  let nh = pkt[6]!;
  let off = 40;
  while ((nh === 0 || nh === 43 || nh === 60) && off + 2 <= pkt.length) {
    nh = pkt[off]!;
    off += (pkt[off + 1]! + 1) * 8;
  }
  return { nh, off };
}

/** Collects IOAM traces with CLT IDs and builds network spans. */
export class CltCollector {
  private groups = new Map<string, Group>();
  /** Packets with an IOAM trace but no usable IDs. */
  untagged = 0;
  /** Packets whose trace had decoding problems. */
  malformed = 0;
  readonly results: NetSpan[] = [];

  constructor(
    private readonly layout: TraceLayout,
    private readonly names: CollectorNames = {},
  ) {}

  /** Feeds one received IPv6 packet (with its Hop-by-Hop header). */
  ingest(pkt: Uint8Array, rxNs: bigint): void {
    const d = decodeTrace(pkt, this.layout);
    if (!d) return;
    if (d.problems.length > 0) this.malformed++;
    const ids = d.ids;
    if (!ids || ids.traceId.every((x) => x === 0) || ids.spanId.every((x) => x === 0)) {
      this.untagged++;
      return;
    }
    const { off } = l4Offset(pkt);
    const sport = off + 4 <= pkt.length ? (pkt[off]! << 8) | pkt[off + 1]! : 0;
    const dport = off + 4 <= pkt.length ? (pkt[off + 2]! << 8) | pkt[off + 3]! : 0;
    const src = ipv6Text(pkt, 8);
    const dst = ipv6Text(pkt, 24);
    const traceId = hex(ids.traceId);
    const spanId = hex(ids.spanId);
    const key = `${traceId}/${spanId}/${src}/${dst}/${sport}/${dport}`;
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { traceId, spanId, src, dst, sport, dport, packets: [] }));
    g.packets.push({ rxNs, decoded: d, bytes: pkt.length });
  }

  /**
   * Feeds the Hop-by-Hop header a decapsulating node removed (the simulator's `onTrace` hook /
   * `PacketBatch.trace(i)`), with the flow it belonged to. The header is wrapped in a minimal IPv6
   * packet so that both paths decode the same bytes.
   */
  ingestHopByHop(hbh: Uint8Array, rxNs: bigint, flow: { src: Uint8Array; dst: Uint8Array; sport: number; dport: number }): void {
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
    this.ingest(p, rxNs);
  }

  private nodeName(id: number | null): string {
    if (id === null) return 'unknown';
    return this.names.nodeName?.(id) ?? `node ${id}`;
  }

  /** Builds the network spans of everything ingested so far (and forgets the packets). */
  finish(): NetSpan[] {
    const out: NetSpan[] = [];
    for (const g of this.groups.values()) out.push(this.build(g));
    this.groups.clear();
    this.results.push(...out);
    return out;
  }

  private build(g: Group): NetSpan {
    const problems = new Set<string>();
    const perHop = new Map<number, HopObs[]>();
    let start: bigint | null = null;
    let end: bigint | null = null;
    let last: { rxNs: bigint; hops: HopRecord[] } | null = null;
    let bytes = 0;
    for (const p of g.packets) {
      bytes += p.bytes;
      for (const pr of p.decoded.problems) problems.add(pr);
      if (p.decoded.overflow) problems.add('IOAM trace overflowed (O flag): some hops missing');
      const hops = p.decoded.hops;
      const t0 = hops[0]?.timeNs ?? p.rxNs;
      if (start === null || t0 < start) start = t0;
      if (end === null || p.rxNs > end) end = p.rxNs;
      if (!last || p.rxNs >= last.rxNs) last = { rxNs: p.rxNs, hops };
      for (let k = 0; k + 1 < hops.length; k++) {
        const a = hops[k]!;
        const b = hops[k + 1]!;
        if (a.timeNs === null || b.timeNs === null) continue;
        let l = perHop.get(k);
        if (!l) perHop.set(k, (l = []));
        l.push({
          fromNode: a.nodeId, toNode: b.nodeId, egressIf: a.egressIf, ingressIf: b.ingressIf,
          startNs: a.timeNs, endNs: b.timeNs, queueDepth: a.queueDepth, hopLimit: b.hopLimit,
        });
      }
    }
    const hops: NetHop[] = [];
    for (const k of [...perHop.keys()].sort((x, y) => x - y)) {
      const obs = perHop.get(k)!;
      const o0 = obs[0]!;
      const from = this.nodeName(o0.fromNode);
      const to = this.nodeName(o0.toNode);
      const name = (o0.egressIf !== null ? this.names.linkName?.(o0.egressIf, from, to) : undefined) ?? `${from}→${to}`;
      const delays = obs.map((o) => Number(o.endNs - o.startNs));
      const lh = last?.hops;
      const lastDelay = lh && lh[k]?.timeNs != null && lh[k + 1]?.timeNs != null ? Number(lh[k + 1]!.timeNs! - lh[k]!.timeNs!) : Math.max(...delays);
      const qs = obs.map((o) => o.queueDepth).filter((q): q is number => q !== null);
      hops.push({
        name, from, to, fromNodeId: o0.fromNode, toNodeId: o0.toNode, egressIf: o0.egressIf, ingressIf: o0.ingressIf,
        startNs: obs.reduce((m, o) => (o.startNs < m ? o.startNs : m), o0.startNs),
        endNs: obs.reduce((m, o) => (o.endNs > m ? o.endNs : m), o0.endNs),
        lastDelayNs: lastDelay,
        maxDelayNs: Math.max(...delays),
        meanDelayNs: Math.round(delays.reduce((s, d) => s + d, 0) / delays.length),
        maxQueueDepth: qs.length > 0 ? Math.max(...qs) : null,
      });
    }
    return {
      traceId: g.traceId, parentSpanId: g.spanId, spanId: '', src: g.src, dst: g.dst,
      startNs: start ?? 0n, endNs: end ?? 0n, packets: g.packets.length, bytes, hops, problems: [...problems],
    };
  }
}

/** Emits network spans through an OpenTelemetry tracer (children of the sending span). */
export function emitNetworkSpans(tracer: Tracer, spans: NetSpan[], extra: Attributes = {}): void {
  for (const n of spans) {
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: n.traceId, spanId: n.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true,
    });
    const span = tracer.startSpan(`net ${n.src} → ${n.dst}`, {
      kind: SpanKind.INTERNAL,
      startTime: hr(n.startNs),
      attributes: {
        ...extra,
        'network.type': 'ipv6',
        'network.transport': 'tcp',
        'network.io.direction': 'transmit',
        'source.address': n.src,
        'destination.address': n.dst,
        'ioam.packets': n.packets,
        'ioam.bytes': n.bytes,
        'ioam.hops': n.hops.length,
        ...(n.problems.length > 0 ? { 'ioam.problems': n.problems } : {}),
      },
    }, parent);
    n.spanId = span.spanContext().spanId;
    const ctx = trace.setSpan(ROOT_CONTEXT, span);
    for (const h of n.hops) {
      const hs = tracer.startSpan(`hop ${h.name}`, {
        kind: SpanKind.INTERNAL,
        startTime: hr(h.startNs),
        attributes: {
          'ioam.link': h.name,
          'ioam.node.id': h.fromNodeId ?? -1,
          'ioam.node.name': h.from,
          'ioam.next_node.id': h.toNodeId ?? -1,
          'ioam.next_node.name': h.to,
          'ioam.interface.egress_id': h.egressIf ?? -1,
          'ioam.interface.ingress_id': h.ingressIf ?? -1,
          'ioam.queue_depth.max_bytes': h.maxQueueDepth ?? -1,
          'ioam.hop_delay.last_ns': h.lastDelayNs,
          'ioam.hop_delay.max_ns': h.maxDelayNs,
          'ioam.hop_delay.mean_ns': h.meanDelayNs,
        },
      }, ctx);
      hs.end(hr(h.endNs));
    }
    span.end(hr(n.endNs));
  }
}
