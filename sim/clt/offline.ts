/**
 * Offline CLT collection: network spans from any capture (pcap or pcapng) whose packets carry an
 * IOAM trace with CLT IDs — the helper behind `ioamsim decode --otlp`.
 * @module
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { readCaptureSync } from '../../src/capture';
import { toOtlpJsonLines } from '../../src/otlp';
import { Tracing } from './app';
import { CltCollector, emitNetworkSpans, type CollectorNames, type NetSpan } from './collector';
import type { TraceLayout } from './ioam';

/** Result of {@link networkSpansFromCapture}. */
export interface OfflineResult {
  netSpans: NetSpan[];
  spans: ReadableSpan[];
  /** OTLP JSON Lines (one ExportTraceServiceRequest per trace). */
  jsonl: string;
  /** IPv6 packets read. */
  packets: number;
  /** Of those, packets with an IOAM Pre-allocated trace. */
  traced: number;
  untagged: number;
  malformed: number;
  /** Capture problem that stopped reading early, or null. */
  captureError: string | null;
  /** Packets (records) read before that problem (0: the file is not a readable capture at all). */
  captureErrorAfter: number;
}

/**
 * Reads a capture in memory and builds one network span per (trace ID, span ID, flow), with per-hop
 * child spans, exported as OTLP JSON Lines. The send time is unknown in a capture: each network
 * span starts at its first timed IOAM element and says so (`ioam.network.start`). `layout` says how to read the trace header:
 * `clt-legacy` for the CLT kernel patch's layout, `rfc` for the Opaque State Snapshot encoding.
 * Never throws on bad bytes.
 */
export async function networkSpansFromCapture(
  bytes: Uint8Array,
  opts: { layout: TraceLayout; names?: CollectorNames; file?: string; seed?: bigint },
): Promise<OfflineResult> {
  const { records, error } = readCaptureSync(bytes, { file: opts.file });
  const c = new CltCollector(opts.layout, opts.names ?? {});
  let packets = 0;
  for (const r of records) {
    if (!r.network || r.ethertype !== 0x86dd || r.timestampNs === null) continue;
    packets++;
    c.ingest(r.network, r.timestampNs);
  }
  const net = c.finish();
  const tracing = new Tracing(opts.seed ?? 1n);
  emitNetworkSpans(tracing.tracer('ioam-collector'), net, { 'ioam.encoding': opts.layout === 'clt-legacy' ? 'legacy' : 'oss' });
  const spans = await tracing.flush();
  return { netSpans: net, spans, jsonl: toOtlpJsonLines(spans), packets, traced: c.traced, untagged: c.untagged, malformed: c.malformed, captureError: error ? error.message : null, captureErrorAfter: error ? error.packetsBefore : 0 };
}
