/**
 * `ioamsim run TOPOLOGY --out DIR`: the network simulator's command (registered in
 * app/cli/registry.ts). Heavy modules load inside the
 * actions so `--help` stays cheap.
 * @module
 */
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT, UsageError, type ExitCode } from '../errors';
import { checkEndpoint, exportFailure, exportReport, isUrl, parseEpoch } from '../otlp';
import type { RunSpans } from '../../../sim/clt/runspans';

/** Writes the run's spans to a file (OTLP JSON Lines) or exports them to an OTLP/HTTP URL. */
async function writeSpans(ctx: CliContext, spans: RunSpans, dest: string): Promise<void> {
  const r = await spans.finish();
  const what = `${r.spans.length} spans (${r.netSpans.length} network spans of ${r.tracedPackets} traced packets, ${r.appSpans.length} application spans of ${r.exchanges} exchanges)`;
  if (isUrl(dest)) {
    const { exportOtlpHttp } = await import('../../../src/otlp');
    const res = await exportOtlpHttp(dest, r.spans).catch((e: unknown) => {
      throw exportFailure(e);
    });
    ctx.stderr.write(`${what}\n${exportReport(res)}`);
    return;
  }
  const fs = await import('node:fs');
  const { toOtlpJsonLines } = await import('../../../src/otlp');
  const { writesInPlace } = await import('../../../src/capture');
  // Through <dest>.partial renamed when whole, except to a device or FIFO (--otlp /dev/stdout).
  const staged = writesInPlace(dest) ? dest : dest + '.partial';
  try {
    fs.writeFileSync(staged, toOtlpJsonLines(r.spans));
    if (staged !== dest) fs.renameSync(staged, dest);
  } catch (e) {
    if (staged !== dest) fs.rmSync(staged, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot write ${dest}: ${err.message}`, { cause: e }), { code: err.code });
  }
  ctx.stderr.write(`${what} written to ${dest}\n`);
}

/** Exit status of a run stopped by a signal (128 + its number, as a shell reports it). */
const EXIT_SIGNAL: Record<string, ExitCode> = { SIGINT: EXIT.INTERRUPTED, SIGTERM: EXIT.TERMINATED };

const RUN_HELP = `
Runs a topology (YAML, docs/SIMULATOR.md) with the IOAM dataplane on every node and writes to DIR:
  summary.json           per-hop delay and queue statistics, drops with reasons, Overflow counts,
                         IOAM byte overhead, per-flow results (identical for the same seed, whatever
                         --workers and --batch-size)
  traces-<node>.jsonl    one decoded IOAM trace per line at each decapsulating node
  traces-<node>.parquet  the same records as Apache Parquet (with --outputs ...,traces-parquet)
  <node>-<if>.pcapng     the capture points listed under captures:
  run-info.json          workers, wall time and the simulation rate (packet-hops per second)
--outputs picks the files (default summary,traces,captures; run-info.json is always written).

--workers K (K >= 2) splits the nodes into K partitions, each run by a worker thread with its own
event loop in conservative windows (lookahead = the smallest delay of a cut link, stretched to the
next dataplane_tick when the far end only queues packets for its tick; docs/SIMULATOR.md §3);
outputs are byte-identical to --workers 0. Links of zero delay are never cut: fewer partitions
then, and the rate line says so. Workers pay off on long runs of big topologies (each thread first
compiles its code); with --otlp they run only the dataplane steps (slower than 0).

With --otlp FILE|URL: OpenTelemetry spans of the run (docs/CLT.md "CLT with ioamsim run"): a
network span per traced packet (message direction) with a hop span per link, from the sending
host's send time to the delivery, and for request exchanges (traffic.requests) a CLIENT and a
SERVER span; in a CLT domain (clt_legacy: true) the packets carry those spans' IDs. FILE gets OTLP
JSON Lines (one ExportTraceServiceRequest per trace); an http(s) URL gets them by OTLP/HTTP JSON.
--epoch sets the wall-clock time of simulated time 0 (default: the topology's epoch).

Ctrl-C (or SIGTERM) stops a run within ~50 ms and removes the files it had started (exit 130/143);
every file is written as NAME.partial and renamed only when the run completes.

Examples:
  $ ioamsim run examples/linear.yaml --out out/linear
  $ ioamsim run examples/leaf-spine.yaml --out out/fabric --seed 7 --duration 20ms --workers 2
  $ ioamsim run examples/clt.yaml --out out/clt --otlp out/clt/spans.otlp.jsonl
  $ ioamsim run examples/clt.yaml --out out/clt --otlp http://127.0.0.1:4318 --epoch now
  $ ioamsim run examples/leaf-spine-heavy.yaml --out out/long --duration 2s --outputs summary
  $ ioamsim run examples/leaf-spine.yaml --out out/pq --outputs summary,traces-parquet

Exit codes: 0 ok, 1 bad topology (file:line: path: reason) or bad --otlp URL, 2 usage, 4 a
dataplane worker failed or the OTLP receiver could not be reached / refused the spans.`;

function parseSeed(v: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) throw new UsageError(`--seed must be a non-negative integer, got ${JSON.stringify(v)}`);
  return BigInt(v);
}

function parseInt0(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

interface Bar {
  start(total: number, value: number): void;
  update(value: number): void;
  stop(): void;
}

interface RunOpts {
  out: string;
  seed?: string;
  duration?: string;
  workers: string;
  batchSize: string;
  inlineBelow: string;
  outputs: string;
  progress: boolean;
  otlp?: string;
  epoch?: string;
}

export function createCommands(ctx: CliContext): Command[] {
  const run = new Command('run')
    .summary('simulate a topology (IOAM domains, queued links, traffic)')
    .description('simulate a topology: IOAM domains, links with queues, traffic; write traces, captures and a summary')
    .argument('<topology>', 'topology file (YAML)')
    .requiredOption('-o, --out <dir>', 'output directory (created if needed)')
    .option('--seed <n>', 'seed of all randomness (default: the topology\'s seed, else 1)')
    .option('--duration <t>', 'simulated time, e.g. 10ms, 1s, or ns (default: the topology\'s)')
    .addOption(new Option('--workers <k>', 'partitions run by worker threads (parallel simulation); 0 or 1 = inline').default('0'))
    .addOption(new Option('--batch-size <n>', 'max packets per dataplane call').default('256'))
    .addOption(new Option('--inline-below <n>', 'with workers and --otlp (dataplane-only workers): steps of fewer packets (and no k-of-n sampled encapsulation) run on the main thread').default('16'))
    .addOption(new Option('--outputs <list>', 'files to write: comma-separated summary, traces (JSON Lines), traces-parquet, captures').default('summary,traces,captures'))
    .option('--no-progress', 'no progress bar (it only shows on a TTY anyway)')
    .option('--otlp <file|url>', 'also write OpenTelemetry spans: OTLP JSON Lines to FILE, or OTLP/HTTP to an http(s) URL')
    .option('--epoch <time>', 'wall-clock time of simulated time 0: ISO time or now (default: the topology\'s epoch)')
    .addHelpText('after', RUN_HELP)
    .action(async (topology: string, o: RunOpts) => {
      const { parseDurationNs } = await import('../../../sim/topology');
      const seed = o.seed === undefined ? undefined : parseSeed(o.seed);
      const durationNs = o.duration === undefined ? undefined : parseDurationNs(o.duration);
      if (o.duration !== undefined && durationNs === undefined) throw new UsageError(`--duration must look like 10ms, 1.5s or an integer of ns, got ${JSON.stringify(o.duration)}`);
      const workers = parseInt0('--workers', o.workers, 0);
      const batchSize = parseInt0('--batch-size', o.batchSize, 1);
      const inlineBelow = parseInt0('--inline-below', o.inlineBelow, 0);
      const epochMs = o.epoch === undefined ? undefined : parseEpoch(o.epoch);
      if (o.otlp !== undefined && isUrl(o.otlp)) await checkEndpoint(o.otlp);
      const { parseOutputs } = await import('../../../sim/outputs');
      let outputs;
      try {
        outputs = parseOutputs(o.outputs);
      } catch (e) {
        throw new UsageError(`--outputs: ${(e as Error).message}`);
      }
      const { runSimulation, formatSummary } = await import('../../../sim/run');
      const { loadTopology } = await import('../../../sim/topology');
      const topo = loadTopology(topology);
      if (epochMs !== undefined) topo.input.epoch = new Date(epochMs).toISOString();
      const { RunSpans, hasCltApplications } = await import('../../../sim/clt/runspans');
      // CLT applications get their spans' IDs in their packets whether or not spans are written.
      const spans = o.otlp !== undefined || hasCltApplications(topo) ? new RunSpans(topo, seed ?? BigInt(topo.input.seed ?? 1)) : undefined;
      const { WorkerFailure } = await import('../../../sim/pool');
      const tty = o.progress && (ctx.stderr as NodeJS.WriteStream).isTTY === true;
      let bar: Bar | undefined;
      if (tty) {
        // cli-progress ships no type declarations.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const cp = require('cli-progress') as { SingleBar: new (o: object, preset: object) => Bar; Presets: { shades_classic: object } };
        const b = new cp.SingleBar({ stream: ctx.stderr, format: 'simulating [{bar}] {percentage}% | ETA {eta}s', hideCursor: true }, cp.Presets.shades_classic);
        b.start(100, 0);
        bar = b;
      }
      // Ctrl-C (or SIGTERM) stops the run at its next check (~50 ms) and removes its partial
      // files; a second one exits at once.
      const { SimulationInterrupted } = await import('../../../sim/engine');
      let signal: NodeJS.Signals | undefined;
      const onSignal = (sig: NodeJS.Signals) => {
        if (signal !== undefined) process.exit(EXIT_SIGNAL[sig]);
        signal = sig;
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const r = await runSimulation(topo, { seed, durationNs, workers, batchSize, inlineBelow, outputs, outDir: o.out, hooks: spans?.hooks, onProgress: (f) => bar?.update(Math.round(f * 100)), interrupted: () => signal !== undefined });
        bar?.stop();
        ctx.stderr.write(formatSummary(r) + '\n');
        if (spans && o.otlp !== undefined) await writeSpans(ctx, spans, o.otlp);
      } catch (e) {
        bar?.stop();
        if (e instanceof SimulationInterrupted) {
          throw new CliError(`${signal ?? 'signal'}: run stopped at t=${e.atNs} ns of simulated time; nothing written (its partial files removed)`, EXIT_SIGNAL[signal ?? 'SIGINT'], { cause: e });
        }
        if (e instanceof WorkerFailure) throw new CliError(e.message, EXIT.INTERNAL, { cause: e });
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  return [run];
}
