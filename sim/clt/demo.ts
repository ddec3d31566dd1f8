/**
 * The CLT demo (the README's main command, `npm start` → `ioamsim demo`): frontend → api → database
 * over a six-router-hop network where one link (r2→r3, on the api → db path) is congested by cross
 * traffic for part of the run. Requests are traced with OpenTelemetry; every packet carries its
 * span's IDs in IOAM; the collector joins every hop to the spans; the report names the slowest
 * contributor. Outputs (in `out`): report.html, report.txt, spans.otlp.jsonl, capture.pcapng,
 * summary.json.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { encodePcapng, type WriterPacket } from '../../src/capture';
import { exportOtlpHttp, toOtlpJsonLines, type OtlpHttpResult } from '../../src/otlp';
import { Network } from '../network';
import { substream } from '../rng';
import { parseTopology } from '../topology';
import { analyse, type Analysis } from './analysis';
import { App, Tracing, type IdMode, type ServiceSpec } from './app';
import { attachToApplication, CltCollector, emitNetworkSpans, type NetSpan } from './collector';
import { CLT_SCHEMA_ID, CLT_TRACE_TYPE, idCostOctets, nodeLenOf, TT_BIT22, type CltEncoding } from './ioam';
import { buildCltNetwork, poissonTimes } from './transport';
import { htmlReport, textReport, type ReportModel } from './report';

/** Options of a demo run. */
export interface DemoOptions {
  seed?: bigint;
  encoding?: CltEncoding;
  idMode?: IdMode;
  /** Requests per second at the frontend (Poisson) and how long they arrive. */
  rate?: number;
  durationMs?: number;
  /** Cross traffic on r2→r3 as a multiple of the link's capacity (0 = none). */
  congestion?: number;
  /** Output directory; nothing is written when undefined. */
  out?: string;
  /** OTLP/HTTP endpoint to POST the spans to. */
  otlpEndpoint?: string;
  /** Wall-clock time of simulated time 0, ms since the POSIX epoch (default {@link DEFAULT_EPOCH_MS}). */
  epochMs?: number;
}

/** Default epoch of the demo: 2026-01-01T00:00:00Z (fixed, so that outputs are reproducible). */
export const DEFAULT_EPOCH_MS = Date.parse('2026-01-01T00:00:00Z');

/** Everything a demo run produced. */
export interface DemoResult {
  analysis: Analysis;
  appSpans: ReadableSpan[];
  netSpans: NetSpan[];
  allSpans: ReadableSpan[];
  jsonl: string;
  html: string;
  text: string;
  conclusion: string;
  pcapng: Uint8Array;
  files: string[];
  collector: { untagged: number; malformed: number };
  /** Result of the OTLP/HTTP export, when an endpoint was given. */
  otlp?: OtlpHttpResult;
}

export const DEMO_NS = 123;

/** Nodes of the demo: name, address, ioam6_id (undefined: no IOAM), role in the domain. */
const DEMO_NODES: { name: string; addr: string; id?: number; role?: 'host' | 'router' }[] = [
  { name: 'fe', addr: '2001:db8:1::10', id: 10, role: 'host' },
  { name: 'api', addr: '2001:db8:2::20', id: 20, role: 'host' },
  { name: 'db', addr: '2001:db8:3::30', id: 30, role: 'host' },
  { name: 'r1', addr: '2001:db8:ff::1', id: 1, role: 'router' },
  { name: 'r2', addr: '2001:db8:ff::2', id: 2, role: 'router' },
  { name: 'r3', addr: '2001:db8:ff::3', id: 3, role: 'router' },
  { name: 'bulk', addr: '2001:db8:4::40' },
  { name: 'sink', addr: '2001:db8:5::50' },
];
const DEMO_LINKS: [string, string, string][] = [
  ['fe', 'r1', ''], ['r1', 'r2', ''], ['api', 'r2', ''], ['r2', 'r3', ', bandwidth: 100Mbps, delay: 200us'], ['r3', 'db', ''], ['bulk', 'r2', ''], ['r3', 'sink', ''],
];

/**
 * The demo network as an ioamsim topology (YAML, docs/SIMULATOR.md): hosts encapsulate (inline)
 * and decapsulate in the CLT domain, routers are transit nodes, `bulk → sink` cross traffic
 * (untraced UDP, 1500-byte packets at `congestion` × the r2—r3 capacity) from 25 % to 60 % of the
 * request period. Interface ids = node id × 100 + link position (so hops name their interfaces).
 */
export function demoTopology(encoding: CltEncoding, seed: bigint, o: { durationMs?: number; congestion?: number; epochMs?: number } = {}): string {
  const legacy = encoding === 'legacy';
  const tt = encoding === 'oss' ? CLT_TRACE_TYPE | TT_BIT22 : CLT_TRACE_TYPE;
  const durationMs = o.durationMs ?? 600;
  const congestion = o.congestion ?? 1.08;
  const nodeLine = (n: (typeof DEMO_NODES)[number]): string => {
    if (n.id === undefined) return `  - { name: ${n.name}, addresses: ["${n.addr}"] }`;
    const ifs = DEMO_LINKS.map(([a, b], k) => (a === n.name ? `${a}-${b}` : b === n.name ? `${b}-${a}` : null))
      .map((x, k) => (x ? `{ name: ${x}, ioam6_enabled: true, ioam6_id: ${n.id! * 100 + k} }` : null)).filter((x) => x !== null);
    const roles = n.role === 'host' ? `[{ ns: ${DEMO_NS}, role: encap }, { ns: ${DEMO_NS}, role: decap }]` : `[{ ns: ${DEMO_NS}, role: transit }]`;
    return `  - { name: ${n.name}, addresses: ["${n.addr}"], roles: ${roles},\n      ioam: { ioam6_id: ${n.id}, interfaces: [${ifs.join(', ')}], namespaces: [{ id: ${DEMO_NS}, clt_legacy: ${legacy} }] } }`;
  };
  const cross = congestion > 0
    ? `traffic:
  flows:
    - { name: cross, from: bulk, to: sink, proto: udp, size: 1500, pattern: constant, rate_pps: ${Math.round((100e6 * congestion) / (1514 * 8))},
        start: ${Math.round(durationMs * 0.25 * 1e6)}, stop: ${Math.round(durationMs * 0.6 * 1e6)} }
`
    : '';
  return `name: clt-demo
seed: ${seed}
epoch: "${new Date(o.epochMs ?? DEFAULT_EPOCH_MS).toISOString()}"
defaults:
  link: { delay: 50us, bandwidth: 1Gbps, queue: { bytes: 4000000 } }
nodes:
${DEMO_NODES.map(nodeLine).join('\n')}
links:
${DEMO_LINKS.map(([a, b, extra]) => `  - { a: "${a}:${a}-${b}", b: "${b}:${b}-${a}"${extra} }`).join('\n')}
domains:
  - { ns: ${DEMO_NS}, flows: all, mode: inline, trace_type: 0x${tt.toString(16)}, size: ${demoTraceSize(encoding, 4)}, clt_legacy: ${legacy} }
${cross}`;
}

/** Data space for `nodes` IOAM nodes: NodeLen words each, plus the snapshots in the OSS encoding. */
export function demoTraceSize(encoding: CltEncoding, nodes: number): number {
  const nl = nodeLenOf(CLT_TRACE_TYPE) * 4;
  return encoding === 'oss' ? nodes * (nl + 4) + 24 : nodes * nl;
}

/** The demo's services. */
export const DEMO_SERVICES: ServiceSpec[] = [
  { name: 'frontend', node: 'fe', port: 8080, endpoints: { 'GET /checkout': { work: { median_ms: 2 }, calls: [{ service: 'api', endpoint: 'GET /cart' }], request_bytes: 600, response_bytes: 2400 } } },
  { name: 'api', node: 'api', port: 9000, endpoints: { 'GET /cart': { work: { median_ms: 3 }, calls: [{ service: 'db', endpoint: 'SELECT cart' }], request_bytes: 500, response_bytes: 2400 } } },
  { name: 'db', node: 'db', port: 5432, endpoints: { 'SELECT cart': { work: { median_ms: 4 }, request_bytes: 300, response_bytes: 6000 } } },
];

/** Runs the demo. Deterministic: same options → byte-identical outputs. */
export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const seed = o.seed ?? 7n;
  const encoding = o.encoding ?? 'oss';
  const idMode = o.idMode ?? 'request';
  const rate = o.rate ?? 80;
  const durationMs = o.durationMs ?? 600;
  const congestion = o.congestion ?? 1.08;
  const epochMs = o.epochMs ?? DEFAULT_EPOCH_MS;
  if (!Number.isInteger(epochMs) || epochMs < 0 || epochMs >= 2 ** 32 * 1000) throw new RangeError(`epoch must be a whole number of ms between 1970 and 2106, got ${epochMs}`);
  const topo = parseTopology(demoTopology(encoding, seed, { durationMs, congestion, epochMs }), 'clt-demo.yaml');
  const epochNs = BigInt(epochMs) * 1_000_000n;
  const tracing = new Tracing(seed);
  const idNames = new Map(DEMO_NODES.filter((n) => n.id !== undefined).map((n) => [n.id!, n.name]));
  const addrNames = new Map(DEMO_NODES.map((n) => [n.addr, n.name]));
  const collector = new CltCollector(encoding === 'legacy' ? 'clt-legacy' : 'rfc', { nodeName: (id) => idNames.get(id), addressName: (a) => addrNames.get(a) });
  // Requests arrive for durationMs; the run lasts until they have all finished (+ margin).
  const runNs = durationMs * 1e6 + 500e6;
  const cn = buildCltNetwork(topo, {
    seed, durationNs: runNs, cltOssSchema: encoding === 'oss' ? CLT_SCHEMA_ID : undefined,
    onTrace: (e) => {
      // The packet after decap: IPv6 header (addresses) + TCP header (ports).
      const p = e.packet;
      const l4 = 40;
      collector.ingestHopByHop(e.hbh, epochNs + BigInt(e.rxNs), {
        src: p.subarray(8, 24), dst: p.subarray(24, 40),
        sport: (p[l4]! << 8) | p[l4 + 1]!, dport: (p[l4 + 2]! << 8) | p[l4 + 3]!,
      }, epochNs + BigInt(e.sentNs));
    },
  });
  const sim = cn.net.sim;
  // Capture: CLT packets as the last router sends them to the destination host (every router's
  // IOAM data, before the host's own fill and decapsulation).
  const captured: WriterPacket[] = [];
  const capNames: string[] = [];
  for (const d of cn.net.devices) {
    const hostPeer = DEMO_NODES.find((n) => n.name === d.peer.node.name)?.role === 'host';
    if (!hostPeer || DEMO_NODES.find((n) => n.name === d.node.name)?.role !== 'router') continue;
    const ifIndex = capNames.push(Network.devName(d)) - 1;
    d.captureTx = (p, now) => {
      if (p.flow.name === 'clt') captured.push({ interface: ifIndex, timestampNs: cn.net.absNs(now), bytes: p.bytes.slice() });
    };
  }
  const app = new App({ sim, net: cn.transport, tracing, epochNs, seed, services: DEMO_SERVICES, idMode });
  // Requests at the frontend.
  for (const t of poissonTimes(substream(seed, 'clt:arrivals'), rate, 0, durationMs * 1e6)) {
    sim.scheduleAt(t, () => app.request('frontend', 'GET /checkout'));
  }
  await cn.run(runNs);
  if (app.finished !== app.started) throw new Error(`demo: ${app.started - app.finished} of ${app.started} requests did not finish within the run (${[...cn.transport.drops].map(([k, v]) => `${v} segments dropped: ${k}`).join(', ') || 'no drops'})`);

  const appSpans = [...(await tracing.flush())];
  const netSpans = collector.finish();
  attachToApplication(netSpans, appSpans);
  emitNetworkSpans(tracing.tracer('ioam-collector'), netSpans, { 'ioam.encoding': encoding });
  const allSpans = [...(await tracing.flush())];
  const analysis = analyse(appSpans, netSpans);
  const jsonl = toOtlpJsonLines(allSpans);

  // Per-link IOAM observations for the plots.
  const linkPts = new Map<string, { tMs: number; delayNs: number; queue: number | null }[]>();
  for (const n of netSpans) {
    for (const h of n.hops) {
      let l = linkPts.get(h.name);
      if (!l) linkPts.set(h.name, (l = []));
      l.push({ tMs: Number(h.startNs - epochNs) / 1e6, delayNs: h.lastDelayNs, queue: h.maxQueueDepth });
    }
  }
  const writing = 4;
  const model: ReportModel = {
    title: 'ioamsim CLT demo: frontend → api → db',
    seed: String(seed),
    encoding,
    idMode,
    analysis,
    appSpans,
    netSpans,
    links: [...linkPts.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, points]) => ({ name, points })),
    costs: [
      { encoding: 'legacy (CLT kernel patch layout)', bytes: `${idCostOctets('legacy', writing)} bytes per packet (fixed block after the trace header)` },
      { encoding: 'oss (Opaque State Snapshot, schema 0xC17D)', bytes: `${idCostOctets('oss', writing)} bytes per packet over ${writing} IOAM nodes (28 at the encapsulating node + 4 per other node)` },
    ],
    startNs: epochNs,
  };
  const text = textReport(model);
  const html = htmlReport(model);
  const ifaces = capNames.map((n) => ({ name: `${n}:tx`, description: `CLT packets sent by ${n.split(':')[0]} to the destination host` }));
  const pcapng = encodePcapng(ifaces, captured, { userAppl: 'ioamsim clt demo' });
  const files: string[] = [];
  if (o.out) {
    fs.mkdirSync(o.out, { recursive: true });
    // Each file goes to <name>.partial and is renamed when whole: a full disk leaves no
    // complete-looking file (the error names the path, errno code kept for the CLI's exit code).
    const w = (name: string, data: string | Uint8Array): void => {
      const p = path.join(o.out!, name);
      try {
        fs.writeFileSync(p + '.partial', data);
        fs.renameSync(p + '.partial', p);
      } catch (e) {
        fs.rmSync(p + '.partial', { force: true });
        const err = e as NodeJS.ErrnoException;
        throw Object.assign(new Error(`cannot write ${p}: ${err.message}`, { cause: e }), { code: err.code });
      }
      files.push(p);
    };
    w('report.html', html);
    w('report.txt', text);
    w('spans.otlp.jsonl', jsonl);
    w('capture.pcapng', pcapng);
    w('summary.json', JSON.stringify({
      seed: String(seed), encoding, idMode, requests: analysis.requests.length, networkSpans: netSpans.length,
      conclusion: analysis.verdict?.text ?? null, culprit: analysis.verdict?.contributor.name ?? null,
      ranking: analysis.ranking, misattributedNetSpans: analysis.misattributedNetSpans, unattributedCalls: analysis.unattributedCalls,
      links: cn.net.devices.filter((d) => d.stats.txPackets > 0).map((d) => ({
        link: `${d.node.name}→${d.peer.node.name}`, tx_packets: d.stats.txPackets, max_backlog_bytes: d.stats.maxBacklogBytes,
        queue_delay_ns: d.stats.queueDelayNs.toJSON(), drops: d.stats.drops.toJSON(),
      })),
      dataplane: cn.net.pool.backend,
    }, null, 2) + '\n');
  }
  const otlp = o.otlpEndpoint ? await exportOtlpHttp(o.otlpEndpoint, allSpans) : undefined;
  return {
    otlp, analysis, appSpans, netSpans, allSpans, jsonl, html, text, pcapng, files,
    conclusion: analysis.verdict?.text ?? 'no request finished',
    collector: { untagged: collector.untagged, malformed: collector.malformed },
  };
}
