/**
 * `ioamsim run TOPOLOGY --out DIR`: the network simulator's command (registered in
 * app/cli/registry.ts). Heavy modules load inside the
 * actions so `--help` stays cheap.
 * @module
 */
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT, UsageError } from '../errors';

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

Examples:
  $ ioamsim run examples/linear.yaml --out out/linear
  $ ioamsim run examples/leaf-spine.yaml --out out/fabric --seed 7 --duration 20ms --workers 2
  $ ioamsim run examples/leaf-spine-heavy.yaml --out out/long --duration 2s --outputs summary
  $ ioamsim run examples/leaf-spine.yaml --out out/pq --outputs summary,traces-parquet

Exit codes: 0 ok, 1 bad topology (file:line: path: reason), 2 usage, 4 a dataplane worker failed.`;

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
}

export function createCommands(ctx: CliContext): Command[] {
  const run = new Command('run')
    .summary('simulate a topology (IOAM domains, queued links, traffic)')
    .description('simulate a topology: IOAM domains, links with queues, traffic; write traces, captures and a summary')
    .argument('<topology>', 'topology file (YAML)')
    .requiredOption('-o, --out <dir>', 'output directory (created if needed)')
    .option('--seed <n>', 'seed of all randomness (default: the topology\'s seed, else 1)')
    .option('--duration <t>', 'simulated time, e.g. 10ms, 1s, or ns (default: the topology\'s)')
    .addOption(new Option('--workers <k>', 'dataplane worker threads; 0 = inline').default('0'))
    .addOption(new Option('--batch-size <n>', 'max packets per dataplane call').default('256'))
    .addOption(new Option('--inline-below <n>', 'with workers: steps of fewer packets (and no k-of-n sampled encapsulation) run on the main thread').default('16'))
    .addOption(new Option('--outputs <list>', 'files to write: comma-separated summary, traces (JSON Lines), traces-parquet, captures').default('summary,traces,captures'))
    .option('--no-progress', 'no progress bar (it only shows on a TTY anyway)')
    .addHelpText('after', RUN_HELP)
    .action(async (topology: string, o: RunOpts) => {
      const { parseDurationNs } = await import('../../../sim/topology');
      const seed = o.seed === undefined ? undefined : parseSeed(o.seed);
      const durationNs = o.duration === undefined ? undefined : parseDurationNs(o.duration);
      if (o.duration !== undefined && durationNs === undefined) throw new UsageError(`--duration must look like 10ms, 1.5s or an integer of ns, got ${JSON.stringify(o.duration)}`);
      const workers = parseInt0('--workers', o.workers, 0);
      const batchSize = parseInt0('--batch-size', o.batchSize, 1);
      const inlineBelow = parseInt0('--inline-below', o.inlineBelow, 0);
      const { parseOutputs } = await import('../../../sim/outputs');
      let outputs;
      try {
        outputs = parseOutputs(o.outputs);
      } catch (e) {
        throw new UsageError(`--outputs: ${(e as Error).message}`);
      }
      const { runSimulation, formatSummary } = await import('../../../sim/run');
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
      try {
        const r = await runSimulation(topology, { seed, durationNs, workers, batchSize, inlineBelow, outputs, outDir: o.out, onProgress: (f) => bar?.update(Math.round(f * 100)) });
        bar?.stop();
        ctx.stderr.write(formatSummary(r) + '\n');
      } catch (e) {
        bar?.stop();
        if (e instanceof WorkerFailure) throw new CliError(e.message, EXIT.INTERNAL, { cause: e });
        throw e;
      }
    });
  return [run];
}
