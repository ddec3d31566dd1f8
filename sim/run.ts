/**
 * A simulation run: topology → network → traffic → events → outputs.
 *
 * Outputs in `outDir` (sim/outputs.ts; all byte-identical for the same topology, seed and
 * duration, whatever the worker count and batch size):
 * - `summary.json`: per-hop delay and queue statistics, drops with reasons, Overflow counts,
 *   IOAM byte overhead, per-flow and per-exchange results.
 * - `traces-<node>.jsonl` / `.parquet`: one decoded trace per record at each decapsulating node.
 * - `<node>-<interface>.pcapng`: the capture points of `captures[]` (LINKTYPE_RAW, ns timestamps).
 * `run-info.json` holds what does vary (workers, wall time, rate) and is not part of that promise.
 * @module
 */
import { Network, type SimHooks } from './network';
import { DEFAULT_OUTPUTS, RunOutputs, rxCaptured, type OutputKind } from './outputs';
import { PathTable } from './paths/table';
import { firstOption, nextOption, optionCount } from './trace';
import { PathTruth } from './paths/truth';
import type { Piscina } from 'piscina';
import { mergeState, partitionPool, planPartitions } from './partition';
import { runPartitions } from './partition-run';
import { DataplanePool } from './pool';
import { loadTopology, parseTopology, type LoadedTopology } from './topology';
import { Traffic } from './traffic';
import { DIST_RELATIVE_ACCURACY } from './stats';
import { reasonString } from '../src/reasons';

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
  /** Which files to write (sim/outputs.ts); default summary, traces (JSON Lines), captures. */
  outputs?: readonly OutputKind[];
  hooks?: SimHooks;
  /** Called with the fraction of simulated time done. */
  onProgress?: (fraction: number) => void;
  /**
   * Checked every ~50 ms of wall time (the run lets the event loop turn then, so a signal handler
   * can set it): true stops the run with SimulationInterrupted (sim/engine.ts), its output files
   * discarded, as for any failure.
   */
  interrupted?: () => boolean;
  /** With workers: steps of fewer packets (and no k-of-n sampled encapsulation) run on the main thread (sim/pool.ts). Default 16. */
  inlineBelow?: number;
  /** Test hook: worker 0 exits after this many tasks. */
  crashAtTask?: number;
  /** Test hook: partition 0 throws after this many windows, or its thread exits when negative (sim/partition.ts). */
  crashAtWindow?: number;
}

export interface RunResult {
  summary: Record<string, unknown>;
  info: { workers: number; batchSize: number; dataplane: string; setupMs: number; wallMs: number; packetHops: number; packetHopsPerSec: number; events: number; stepsOnWorkers: number; stepsInline: number; engine: string; partitions?: Record<string, unknown>; otherFiles?: string[] };
  network: Network;
  traffic: Traffic;
}

/** A run's parts before its events run (shared by the one-queue run and each partition, sim/partition.ts). */
export interface RunSetup {
  net: Network;
  traffic: Traffic;
  paths: PathTable;
  truth: PathTruth;
}

/** Builds the network, the path table and check, and the traffic (not installed yet). */
export function setupRun(topo: LoadedTopology, o: { seed: bigint; durationNs: number; batchSize: number; hooks: SimHooks }): RunSetup {
  const userHooks = o.hooks;
  // The IOAM path table and its check against the routing tables (docs/ROUTING.md) see every trace.
  // (as flat records: no objects unless the caller's own onTrace hook asks for them).
  const paths = new PathTable();
  let truth: PathTruth | undefined;
  const net = new Network(topo, { seed: o.seed, batchSize: o.batchSize, hooks: userHooks });
  truth = new PathTruth(net);
  const store = net.store;
  net.traceCheck = (t, h) => {
    for (let k = optionCount(t.w, t.at), o = firstOption(t.at); k > 0; k--, o = nextOption(t.w, o)) paths.addFlat(t.flow, t.kind, t.t_ns, t.w, o);
    truth!.checkFlat(t, store.buf, store.off(h), store.len(h));
  };
  const traffic = new Traffic(net, o.durationNs);
  return { net, traffic, paths, truth };
}

/** Whether the caller's hooks need every packet in one thread (the CLT layer's objects ride on packets). */
const hasHooks = (h: SimHooks | undefined) => h !== undefined && Object.values(h).some((f) => typeof f === 'function');

/** Runs a topology file (path) or text (`{ text, file }`) or an already loaded topology. */
export async function runSimulation(topology: string | { text: string; file: string } | LoadedTopology, opts: RunOptions = {}): Promise<RunResult> {
  const setupStarted = process.hrtime.bigint();
  const topo = typeof topology === 'string' ? loadTopology(topology) : 'input' in topology ? topology : parseTopology(topology.text, topology.file);
  const workers = opts.workers ?? 0;
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be an integer >= 0, got ${workers}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be an integer >= 1, got ${batchSize}`);
  // A run that may be partitioned starts the partitions' threads now, so that their start and
  // module load overlap this thread's set-up (closed unused when the plan has one partition).
  const pool = workers > 1 && !hasHooks(opts.hooks) && topo.text !== undefined ? partitionPool(workers) : undefined;
  try {
    return await runLoaded(topo, opts, workers, batchSize, setupStarted, pool);
  } finally {
    await pool?.close({ force: true }).catch(() => undefined);
  }
}

async function runLoaded(topo: LoadedTopology, opts: RunOptions, workers: number, batchSize: number, setupStarted: bigint, pool: Piscina | undefined): Promise<RunResult> {
  const t = topo.input;
  const seed = BigInt(opts.seed ?? t.seed ?? 1);
  const durationNs = opts.durationNs ?? t.duration ?? 10_000_000;
  const { net, traffic, paths, truth } = setupRun(topo, { seed, durationNs, batchSize, hooks: opts.hooks ?? {} });
  // Partitioned (sim/partition.ts) unless the caller's hooks need every packet in this thread.
  const kinds = opts.outputs ?? DEFAULT_OUTPUTS;
  const plan = workers > 0 && !hasHooks(opts.hooks) ? planPartitions(net, workers, rxCaptured(net, topo, kinds)) : undefined;
  const partitioned = plan !== undefined && plan.parts > 1 && pool !== undefined;
  if (partitioned) traffic.owned = new Uint8Array(net.nodes.length);
  traffic.install(t.traffic?.flows ?? [], t.traffic?.requests ?? []);
  const files = new RunOutputs(net, topo, opts.outDir, kinds, { dry: partitioned });
  // With hooks, workers run dataplane steps only (sim/pool.ts); a network that cannot be cut (or --workers 1) runs inline.
  const offload = workers > 0 && plan === undefined;
  net.store.setShared(offload);
  net.pool = new DataplanePool({ workers: offload ? workers : 0, configs: net.nodes.map((n) => n.config), nodeNames: net.nodes.map((n) => n.name), crashAtTask: opts.crashAtTask, inlineBelow: opts.inlineBelow });
  net.sim.stopAt(durationNs);
  let started = process.hrtime.bigint();
  let setupMs = Number(started - setupStarted) / 1e6;
  let part: { parts: number; lookaheadNs: number; tickNs?: number; tickCuts: number; cutLinks: number; windows: number; lateArrivals: number; maxOutboxBytes: number; busyMs: number[]; packetHops: number[]; note?: string } | undefined;
  let recomputedAt: number[] | undefined;
  let events = 0;
  let ok = false;
  try {
    if (partitioned) {
      const r = await runPartitions(plan, pool, { file: topo.file, text: topo.text!, input: topo.input, rawIoam: topo.rawIoam }, { seed, durationNs, batchSize, outDir: opts.outDir, outputs: [...kinds], crashAtWindow: opts.crashAtWindow, onProgress: opts.onProgress, interrupted: opts.interrupted });
      const m0 = performance.now();
      const m = mergeState(net, traffic, paths, truth, r.states);
      if (process.env['IOAMSIM_PARTITION_DEBUG'] !== undefined) console.error(`partitions: states handed over ${(performance.timeOrigin + m0 - r.doneAt).toFixed(0)} ms after the last partition's last window, merged in ${(performance.now() - m0).toFixed(0)} ms`);
      recomputedAt = m.recomputedAt;
      events = m.events;
      // Set-up lasts until the last partition is ready to run events: their threads' start and
      // their own network build (in parallel) included; the wall time is the rest.
      const sinceReadyMs = Math.max(0, performance.timeOrigin + performance.now() - r.readyAt);
      started = process.hrtime.bigint() - BigInt(Math.round(sinceReadyMs * 1e6));
      setupMs = Number(started - setupStarted) / 1e6;
      part = {
        parts: plan.parts, lookaheadNs: plan.lookaheadNs, tickNs: plan.tickCuts > 0 ? plan.window.tickNs : undefined, tickCuts: plan.tickCuts, cutLinks: plan.cutLinks, windows: r.states[0]!.windows, lateArrivals: r.states.reduce((a, s) => a + s.lateArrivals, 0), maxOutboxBytes: Math.max(...r.states.map((s) => s.maxOutboxBytes)),
        busyMs: r.states.map((s) => s.busyMs), packetHops: r.states.map((s) => s.packetHops), note: plan.note,
      };
    } else {
      let lastReport = -1;
      await net.sim.run((now) => {
        if (!opts.onProgress) return;
        const f = Math.min(1, now / durationNs);
        if (f - lastReport >= 0.01) {
          lastReport = f;
          opts.onProgress(f);
        }
      }, opts.interrupted);
      events = net.sim.eventsRun;
    }
    ok = true;
  } finally {
    await net.pool.close();
    if (!ok) files.discard();
  }
  opts.onProgress?.(1);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const summary = buildSummary(net, traffic, topo, seed, durationNs, paths, truth, recomputedAt);
  const info = {
    workers, batchSize, dataplane: net.pool.backend, setupMs: Math.round(setupMs), wallMs: Math.round(wallMs), packetHops: net.packetHops,
    packetHopsPerSec: Math.round(net.packetHops / Math.max(wallMs / 1000, 1e-9)), events,
    stepsOnWorkers: net.pool.stepsOnWorkers, stepsInline: net.pool.stepsInline,
    engine: partitioned ? 'partitioned' : offload ? 'dataplane-offload' : 'inline',
    ...(part ? { partitions: part } : workers > 0 ? { partitions: { parts: 1, note: offload ? 'hooks (the CLT layer) need every packet in one thread: workers run dataplane steps only' : `${plan?.note ?? 'one partition'}: runs inline` } } : {}),
    ...(files.others.length ? { otherFiles: files.others } : {}),
  };
  try {
    files.finish(summary, info);
  } catch (e) {
    files.discard();
    throw e;
  }
  return { summary, info, network: net, traffic };
}

/** Counts by core reason number → `{ reason-string: count }`, names sorted (as a Counter). */
function reasonCounts(counts: Float64Array): Record<string, number> {
  const e: [string, number][] = [];
  counts.forEach((c, r) => { if (c > 0) e.push([reasonString(r), c]); });
  e.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(e);
}

/** The deterministic summary (see module doc). */
function buildSummary(net: Network, traffic: Traffic, topo: LoadedTopology, seed: bigint, durationNs: number, paths: PathTable, truth: PathTruth, recomputedAt?: number[]): Record<string, unknown> {
  const byId = new Map(net.nodes.map((n) => [n.config.ioam6_id, n.name]));
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
      net.nodes.map((n) => [n.name, { steps: n.stats.steps, delivered: n.stats.delivered, input: reasonCounts(n.stats.input), encap: reasonCounts(n.stats.encap), drops: n.stats.drops.toJSON() }]),
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
    routing: {
      ecmp: net.routing.input.ecmp,
      hash_policy: net.routing.input.policy,
      recomputed_at_ns: recomputedAt ?? net.routing.history.slice(1).map((h) => h.fromNs),
    },
    /** IOAM path table: per flow and namespace, the paths traces show (docs/ROUTING.md). */
    paths: paths.toJSON((id) => byId.get(id) ?? String(id)),
    /** Every traced path compared with the routing tables' (must agree exactly). */
    paths_check: truth.toJSON(),
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
  const pt = r.summary['paths'] as Record<string, { paths: unknown[]; changes_total: number }>;
  const pc = r.summary['paths_check'] as { checked: number; mismatches: number; unverifiable: number };
  const flowsPt = Object.values(pt);
  if (flowsPt.length) {
    lines.push(`paths (IOAM): ${flowsPt.length} flow(s), ${flowsPt.filter((f) => f.paths.length > 1).length} on more than one path, ${flowsPt.reduce((a, f) => a + f.changes_total, 0)} change(s); ` +
      `vs routing: ${pc.checked} checked, ${pc.mismatches} mismatch(es)${pc.unverifiable ? `, ${pc.unverifiable} unverifiable` : ''} (summary.json "paths", ioamsim paths)`);
  }
  const pt2 = r.info.partitions as { parts: number; lookaheadNs?: number; tickNs?: number; cutLinks?: number; note?: string } | undefined;
  const where = r.info.engine === 'partitioned'
    ? ` (${pt2!.parts} partitions, lookahead ${pt2!.lookaheadNs} ns${pt2!.tickNs ? ` to the next ${pt2!.tickNs} ns tick` : ''}, ${pt2!.cutLinks} cut link(s)${pt2!.note ? `; ${pt2!.note}` : ''})`
    : r.info.engine === 'dataplane-offload'
      ? ` (dataplane steps: ${r.info.stepsOnWorkers} on workers, ${r.info.stepsInline} inline; ${pt2?.note})`
      : pt2?.note ? ` (${pt2.note})` : '';
  lines.push(`rate: ${r.info.packetHops} packet-hops in ${r.info.wallMs} ms = ${r.info.packetHopsPerSec} packet-hops/s${where}`);
  const others = r.info.otherFiles ?? [];
  if (others.length) {
    lines.push(`note: the output directory also holds ${others.length} file(s) this run did not write (from an earlier run): ${others.slice(0, 6).join(', ')}${others.length > 6 ? ', ...' : ''} (run-info.json "otherFiles")`);
  }
  return lines.join('\n');
}
