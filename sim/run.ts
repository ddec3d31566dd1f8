/**
 * A simulation run: topology → network → traffic → events → outputs.
 *
 * Outputs in `outDir` (all byte-identical for the same topology, seed and duration, whatever the
 * worker count and batch size):
 * - `summary.json`: per-hop delay and queue statistics, drops with reasons, Overflow counts,
 *   IOAM byte overhead, per-flow and per-exchange results.
 * - `traces-<node>.jsonl`: one decoded trace per line at each decapsulating node.
 * - `<node>-<interface>.pcapng`: the capture points of `captures[]` (LINKTYPE_RAW, ns timestamps).
 * `run-info.json` holds what does vary (workers, wall time, rate) and is not part of that promise.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPcapngFile, type PcapngWriter } from '../src/capture';
import { Network, type SimHooks, type TraceRecord } from './network';
import { DataplanePool } from './pool';
import { loadTopology, parseTopology, topologyError, type LoadedTopology } from './topology';
import { Traffic } from './traffic';
import { DIST_RELATIVE_ACCURACY } from './stats';

export interface RunOptions {
  /** Overrides the topology's seed. */
  seed?: bigint | number;
  /** Overrides the topology's duration (ns). */
  durationNs?: number;
  /** Worker threads for the dataplane; 0 = inline on the main thread. Default 0. */
  workers?: number;
  /** Max packets per dataplane call. Default 256. */
  batchSize?: number;
  /** Output directory; none = no files (results only). */
  outDir?: string;
  hooks?: SimHooks;
  /** Called with the fraction of simulated time done. */
  onProgress?: (fraction: number) => void;
  /** With workers: steps of fewer packets (and no k-of-n sampled encapsulation) run on the main thread (sim/pool.ts). Default 16. */
  inlineBelow?: number;
  /** Test hook: worker 0 exits after this many tasks. */
  crashAtTask?: number;
}

export interface RunResult {
  summary: Record<string, unknown>;
  info: { workers: number; batchSize: number; dataplane: string; wallMs: number; packetHops: number; packetHopsPerSec: number; events: number; stepsOnWorkers: number; stepsInline: number };
  network: Network;
  traffic: Traffic;
}

/** Runs `f`; an I/O error is rethrown naming `file` (errno code kept: the CLI's exit code uses it). */
function writing<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot write ${file}: ${err.message}`, { cause: e }), { code: err.code });
  }
}

/** `fs.writeSync` of a string may write only part of it (a nearly full disk): loop until all is written. */
function writeAllSync(fd: number, text: string, file: string): void {
  const b = Buffer.from(text);
  writing(file, () => {
    for (let off = 0; off < b.length;) off += fs.writeSync(fd, b, off, b.length - off);
  });
}

/** Runs a topology file (path) or text (`{ text, file }`) or an already loaded topology. */
export async function runSimulation(topology: string | { text: string; file: string } | LoadedTopology, opts: RunOptions = {}): Promise<RunResult> {
  const topo = typeof topology === 'string' ? loadTopology(topology) : 'input' in topology ? topology : parseTopology(topology.text, topology.file);
  const t = topo.input;
  const seed = BigInt(opts.seed ?? t.seed ?? 1);
  const durationNs = opts.durationNs ?? t.duration ?? 10_000_000;
  const workers = opts.workers ?? 0;
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be an integer >= 0, got ${workers}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be an integer >= 1, got ${batchSize}`);
  const hooks = opts.hooks ?? {};
  const net = new Network(topo, { seed, batchSize, hooks });
  const traffic = new Traffic(net, durationNs);
  traffic.install(t.traffic?.flows ?? [], t.traffic?.requests ?? []);

  // Outputs.
  const writers: PcapngWriter[] = [];
  const traceFiles = new Map<string, number>();
  /** Every output path of this run: removed (with its `.partial`) if the run fails. */
  const outputs: string[] = [];
  if (opts.outDir) fs.mkdirSync(opts.outDir, { recursive: true });
  (t.captures ?? []).forEach((c, ci) => {
    const ni = net.nodeIndex(c.node, ['captures', ci, 'node']);
    const node = net.nodes[ni]!;
    const devs = node.devices.filter((d) => d && (c.interface === undefined || d.name === c.interface));
    if (devs.length === 0) throw topologyError(topo, ['captures', ci, 'interface'], `${c.node} has no linked interface ${c.interface ?? ''}`.trim());
    if (!opts.outDir) return;
    for (const d of devs) {
      const file = path.join(opts.outDir, `${node.name}-${d!.name}.pcapng`);
      outputs.push(file);
      const w = createPcapngFile(file, {
        userAppl: 'ioamsim sim',
        interfaces: [{ name: `${node.name}:${d!.name}`, description: `ioamsim ${c.direction ?? 'both'} capture` }],
      });
      writers.push(w);
      const dir = c.direction ?? 'both';
      if (dir !== 'rx') d!.captureTx = (p, now) => w.write({ timestampNs: net.absNs(now), bytes: p.bytes, comment: `tx ${p.flow.name} #${p.seq}` });
      if (dir !== 'tx') d!.captureRx = (p, now) => w.write({ timestampNs: net.absNs(now), bytes: p.bytes, comment: `rx ${p.flow.name} #${p.seq}` });
    }
  });
  const traceBuf = new Map<string, string[]>();
  if (opts.outDir) {
    net.traceSink = (rec: TraceRecord) => {
      let b = traceBuf.get(rec.node);
      if (!b) traceBuf.set(rec.node, (b = []));
      b.push(JSON.stringify(rec));
      if (b.length >= 1024) flushTraces(rec.node);
    };
    for (const n of net.nodes) if (n.decapNs.size > 0) traceBuf.set(n.name, []);
  }
  const flushTraces = (node: string) => {
    const b = traceBuf.get(node)!;
    let fd = traceFiles.get(node);
    if (fd === undefined) {
      const file = path.join(opts.outDir!, `traces-${node}.jsonl`);
      outputs.push(file);
      fd = writing(file, () => fs.openSync(file + '.partial', 'w'));
      traceFiles.set(node, fd);
    }
    if (b.length) writeAllSync(fd, b.join('\n') + '\n', path.join(opts.outDir!, `traces-${node}.jsonl`));
    b.length = 0;
  };
  /** A failed run (worker crash, full disk) leaves no output that looks complete, not even a stale one. */
  const discardOutputs = () => {
    for (const w of writers) w.abort();
    for (const fd of traceFiles.values()) try { fs.closeSync(fd); } catch { /* closed */ }
    traceFiles.clear();
    for (const f of outputs) {
      fs.rmSync(f, { force: true });
      fs.rmSync(f + '.partial', { force: true });
    }
  };

  net.pool = new DataplanePool({ workers, configs: net.nodes.map((n) => n.config), nodeNames: net.nodes.map((n) => n.name), crashAtTask: opts.crashAtTask, inlineBelow: opts.inlineBelow });
  net.sim.stopAt(durationNs);
  const started = process.hrtime.bigint();
  let ok = false;
  try {
    let lastReport = -1;
    await net.sim.run((now) => {
      if (!opts.onProgress) return;
      const f = Math.min(1, now / durationNs);
      if (f - lastReport >= 0.01) {
        lastReport = f;
        opts.onProgress(f);
      }
    });
    ok = true;
  } finally {
    await net.pool.close();
    if (!ok) discardOutputs();
  }
  opts.onProgress?.(1);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const summary = buildSummary(net, traffic, topo, seed, durationNs);
  const info = {
    workers, batchSize, dataplane: net.pool.backend, wallMs: Math.round(wallMs), packetHops: net.packetHops,
    packetHopsPerSec: Math.round(net.packetHops / Math.max(wallMs / 1000, 1e-9)), events: net.sim.eventsRun,
    stepsOnWorkers: net.pool.stepsOnWorkers, stepsInline: net.pool.stepsInline,
  };
  if (opts.outDir) {
    // Everything via `.partial` + rename; summary.json (the mark of a complete run) last.
    const outDir = opts.outDir;
    outputs.push(path.join(outDir, 'run-info.json'), path.join(outDir, 'summary.json'));
    try {
      for (const n of traceBuf.keys()) flushTraces(n);
      for (const w of writers) w.finish();
      for (const [node, fd] of traceFiles) {
        traceFiles.delete(node);
        const file = path.join(outDir, `traces-${node}.jsonl`);
        writing(file, () => {
          fs.closeSync(fd);
          fs.renameSync(file + '.partial', file);
        });
      }
      for (const [name, value] of [['run-info.json', info], ['summary.json', summary]] as const) {
        const file = path.join(outDir, name);
        writing(file, () => {
          fs.writeFileSync(file + '.partial', JSON.stringify(value, null, 2) + '\n');
          fs.renameSync(file + '.partial', file);
        });
      }
    } catch (e) {
      discardOutputs();
      throw e;
    }
  }
  return { summary, info, network: net, traffic };
}

/** The deterministic summary (see module doc). */
function buildSummary(net: Network, traffic: Traffic, topo: LoadedTopology, seed: bigint, durationNs: number): Record<string, unknown> {
  const overflowTraces = { traces: net.traces, traces_with_overflow: net.tracesWithOverflow };
  return {
    topology: topo.input.name ?? topo.file,
    seed: seed.toString(),
    duration_ns: durationNs,
    dataplane: net.pool.backend,
    quantiles: { sketch: 'DDSketch', relative_accuracy: DIST_RELATIVE_ACCURACY, exact: ['count', 'min', 'mean', 'max'] },
    packets: {
      generated: net.generated,
      delivered: net.delivered,
      dropped: net.drops.total(),
      in_flight_at_end: net.inFlight(),
      packet_hops: net.packetHops,
    },
    drops: net.drops.toJSON(),
    ioam: {
      encapsulated: net.encapsulated,
      decapsulated: net.decapsulated,
      bytes_inserted: net.ioamBytesInserted,
      bytes_on_links: net.bytesSentOnLinks,
      overhead_ratio: net.bytesSentOnLinks ? Math.round((net.ioamBytesInserted / net.bytesSentOnLinks) * 1e6) / 1e6 : 0,
      overflow_set_by_node: Object.fromEntries(net.nodes.filter((n) => n.stats.overflowSet > 0).map((n) => [n.name, n.stats.overflowSet])),
      ...overflowTraces,
    },
    nodes: Object.fromEntries(
      net.nodes.map((n) => [n.name, { steps: n.stats.steps, delivered: n.stats.delivered, input: n.stats.input.toJSON(), encap: n.stats.encap.toJSON(), drops: n.stats.drops.toJSON() }]),
    ),
    hops: Object.fromEntries(
      net.devices.map((d) => [
        Network.devName(d),
        {
          peer: Network.devName(d.peer),
          tx_packets: d.stats.txPackets,
          tx_bytes: d.stats.txBytes,
          queue_delay_ns: d.stats.queueDelayNs.toJSON(),
          backlog_at_enqueue_bytes: d.stats.backlogAtEnqueueBytes.toJSON(),
          max_backlog_bytes: d.stats.maxBacklogBytes,
          hop_delay_ns: d.stats.hopDelayNs.toJSON(),
          drops: d.stats.drops.toJSON(),
        },
      ]),
    ),
    flows: Object.fromEntries(
      [...net.flowStats.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, s]) => [k, { sent: s.sent, delivered: s.delivered, bytes_sent: s.bytesSent, delay_ns: s.delayNs.toJSON() }]),
    ),
    exchanges: Object.fromEntries([...traffic.exchanges.entries()].map(([k, s]) => [k, { requests: s.requests, responses: s.responses, rtt_ns: s.rttNs.toJSON() }])),
  };
}

/** The human summary printed after a run. */
export function formatSummary(r: RunResult): string {
  const s = r.summary as {
    topology: string; duration_ns: number; packets: Record<string, number>; drops: Record<string, number>;
    ioam: { encapsulated: number; decapsulated: number; bytes_inserted: number; overhead_ratio: number; overflow_set_by_node: Record<string, number> };
    hops: Record<string, { tx_packets: number; queue_delay_ns: Record<string, number>; max_backlog_bytes: number; drops: Record<string, number> }>;
  };
  const lines: string[] = [];
  lines.push(`${s.topology}: ${s.duration_ns / 1e6} ms simulated, dataplane ${r.info.dataplane}, ${r.info.workers} worker(s)`);
  lines.push(`packets: ${s.packets['generated']} generated, ${s.packets['delivered']} delivered, ${s.packets['dropped']} dropped, ${s.packets['in_flight_at_end']} in flight at end`);
  const drops = Object.entries(s.drops);
  if (drops.length) lines.push(`drops: ${drops.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const ov = Object.entries(s.ioam.overflow_set_by_node);
  lines.push(`ioam: ${s.ioam.encapsulated} encapsulated, ${s.ioam.decapsulated} decapsulated, ${s.ioam.bytes_inserted} bytes inserted (${(s.ioam.overhead_ratio * 100).toFixed(2)}% of link bytes)` +
    (ov.length ? `, Overflow set by ${ov.map(([k, v]) => `${k} ${v}`).join(', ')}` : ''));
  lines.push('hop                              tx   qdelay p50/p99/max (ns)     max backlog B  drops');
  for (const [k, h] of Object.entries(s.hops)) {
    if (h.tx_packets === 0 && Object.keys(h.drops).length === 0) continue;
    const q = h.queue_delay_ns;
    const qd = q['count'] ? `${q['p50']}/${q['p99']}/${q['max']}` : '-';
    lines.push(`${k.padEnd(30)} ${String(h.tx_packets).padStart(6)}   ${qd.padEnd(26)} ${String(h.max_backlog_bytes).padStart(12)}  ${Object.entries(h.drops).map(([a, b]) => `${a} ${b}`).join(', ')}`);
  }
  const where = r.info.workers > 0 ? ` (dataplane steps: ${r.info.stepsOnWorkers} on workers, ${r.info.stepsInline} inline)` : '';
  lines.push(`rate: ${r.info.packetHops} packet-hops in ${r.info.wallMs} ms = ${r.info.packetHopsPerSec} packet-hops/s${where}`);
  return lines.join('\n');
}
