/**
 * `ioamsim sweep SWEEP.yaml --out DIR`: parameter sweeps over the simulator, run locally (parallel
 * child processes) or as a Slurm job array; results as CSV, Parquet and an HTML chart page.
 * `ioamsim sweep-point DIR INDEX` (hidden) runs one point: what each Slurm array task executes.
 * Heavy modules load inside the actions so `--help` stays cheap.
 * @module
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT, InputError, PartialError, UsageError } from '../errors';
import { intOption } from '../util';

const SWEEP_HELP = `
A sweep file names a base topology and the values to vary (docs/SCALE.md):
  base: linear.yaml                 # topology file, relative to the sweep file (a list varies it)
  set: { duration: 1ms }            # fixed changes for every point
  seeds: 1..3                       # each point runs with every seed
  grid:                             # full cartesian product
    domains[0].size: [48, 64]
    traffic.flows[ping].rate_pps: [10000, 40000]   # [name] selects by name, [*] every element
  points:                           # and/or a list of points (crossed with the grid)
    - links[*].bandwidth: 1Gbps     # (block style: in { } a key with [ ] needs quotes)
    - links[*].bandwidth: 10Gbps

Every point is written to DIR/points/NNNN/topology.yaml and validated before anything runs. Each
point runs as \`ioamsim run\`; a rerun skips completed points (Ctrl-C keeps them too). Results:
DIR/results.csv, DIR/results.parquet and DIR/results.html (chart of any metric against any
parameter, mean and spread over seeds); DIR/executions.jsonl gets a line per execution (executor,
points run, wall time, points per minute).

Examples:
  $ ioamsim sweep examples/sweep.yaml --out out/sweep
  $ ioamsim sweep examples/sweep.yaml --out out/sweep --jobs 2
  $ ioamsim sweep examples/sweep.yaml --out ~/sweeps/s1 --executor slurm --dry-run
  $ ioamsim sweep examples/sweep.yaml --out ~/sweeps/s1 --executor slurm --jobs 50 --no-wait
  $ ioamsim sweep examples/sweep.yaml --out ~/sweeps/s1 --aggregate-only

Exit codes: 0 every point succeeded, 1 bad sweep file or point (file:line: path: point: reason),
2 usage, 3 partial (a point failed, or interrupted: rerun to complete), 4 environment (no sbatch).`;

/** A path relative to the working directory when below it, else absolute. */
const shown = (f: string): string => {
  const r = path.relative(process.cwd(), f);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : f;
};

/**
 * Appends one line to DIR/executions.jsonl: how many points an executor ran and how fast (the
 * figures of docs/SCALE.md come from these lines).
 */
function recordExecution(dir: string, e: { executor: string; jobs: number | null; points_run: number; ok: number; failed: number; interrupted: boolean; wall_s: number }): void {
  const line = { date: new Date().toISOString(), host: os.hostname(), cores: os.availableParallelism(), ...e, points_per_min: e.wall_s > 0 ? Math.round((e.ok / e.wall_s) * 60 * 10) / 10 : null };
  fs.appendFileSync(path.join(dir, 'executions.jsonl'), JSON.stringify(line) + '\n');
}

interface SweepOpts {
  out: string;
  jobs?: number;
  executor: 'local' | 'slurm';
  wait: boolean;
  dryRun?: boolean;
  aggregateOnly?: boolean;
  cpusPerTask: number;
  mem: string;
  time: string;
  partition?: string;
  progress: boolean;
}

export function createCommands(ctx: CliContext): Command[] {
  const sweep = new Command('sweep')
    .summary('run a parameter sweep (local processes or a Slurm job array)')
    .description('run a topology over a grid or list of parameter values and seeds; aggregate every point into one table and a chart page')
    .argument('<sweep>', 'sweep file (YAML)')
    .requiredOption('-o, --out <dir>', 'output directory (on a shared filesystem for Slurm); rerunning with it resumes')
    .option('-j, --jobs <n>', 'points at once: local processes (default: the cores), or the Slurm array limit %M (default: none)', intOption('--jobs', 1, 100_000))
    .addOption(new Option('--executor <kind>', 'where points run').choices(['local', 'slurm']).default('local'))
    .option('--no-wait', 'slurm: submit and return (then rerun or use --aggregate-only to aggregate)')
    .option('--dry-run', 'slurm: print the batch script, submit nothing')
    .option('--aggregate-only', 'run nothing: aggregate the points complete so far')
    .addOption(new Option('--cpus-per-task <n>', 'slurm: CPUs per point').argParser(intOption('--cpus-per-task', 1, 1024)).default(1))
    .addOption(new Option('--mem <size>', 'slurm: memory per point (sbatch --mem)').default('1G'))
    .addOption(new Option('--time <limit>', 'slurm: time limit per point (sbatch --time)').default('00:30:00'))
    .option('--partition <name>', 'slurm: partition (default: the cluster\'s default)')
    .option('--no-progress', 'no progress bar or per-point lines')
    .addHelpText('after', SWEEP_HELP)
    .action(async (file: string, o: SweepOpts) => {
      if (!/^[0-9]+[KMGT]?$/i.test(o.mem)) throw new UsageError(`--mem must look like 500M or 2G, got ${JSON.stringify(o.mem)}`);
      if (!/^[0-9:-]+$/.test(o.time)) throw new UsageError(`--time must look like 30, 00:30:00 or 1-00:00:00, got ${JSON.stringify(o.time)}`);
      if (o.partition !== undefined && !/^[A-Za-z0-9_.,-]+$/.test(o.partition)) throw new UsageError(`--partition must be a partition name, got ${JSON.stringify(o.partition)}`);
      if (o.executor === 'local' && (o.dryRun || !o.wait)) throw new UsageError(`${o.dryRun ? '--dry-run' : '--no-wait'} is for --executor slurm`);
      const { loadSweep } = await import('../../sweep/spec');
      const { materialize } = await import('../../sweep/points');
      const { Progress } = await import('../../sweep/progress');
      const { buildTable, writeResults } = await import('../../sweep/results');
      const dir = path.resolve(o.out);
      const spec = loadSweep(file);
      const m = materialize(spec, dir);
      const total = m.points.length;
      let interrupted = false;

      if (!o.aggregateOnly && o.executor === 'local') {
        const { runLocal } = await import('../../sweep/local');
        const { isComplete } = await import('../../sweep/points');
        const todo = m.points.filter((p) => !isComplete(path.join(dir, p.dir))).length;
        if (todo < total) ctx.stderr.write(`sweep: ${total - todo} of ${total} points already complete, running ${todo}\n`);
        const progress = new Progress(ctx.stderr, todo, o.progress);
        const jobs = o.jobs ?? os.availableParallelism();
        const t0 = Date.now();
        const r = await runLocal(dir, m, jobs, progress);
        progress.stop();
        interrupted = r.interrupted;
        if (r.ran > 0) recordExecution(dir, { executor: 'local', jobs, points_run: r.ran, ok: r.ok, failed: r.failed.length, interrupted, wall_s: (Date.now() - t0) / 1000 });
      } else if (!o.aggregateOnly) {
        const slurm = await import('../../sweep/slurm');
        const { isComplete } = await import('../../sweep/points');
        const todo = m.points.filter((p) => !isComplete(path.join(dir, p.dir))).map((p) => p.index);
        const scripts = slurm.batchScripts(dir, todo, {
          cpusPerTask: o.cpusPerTask, mem: o.mem, time: o.time, partition: o.partition, throttle: o.jobs,
          maxArraySize: o.dryRun ? 1001 : slurm.maxArraySize(),
        });
        if (o.dryRun) {
          for (const s of scripts) ctx.stdout.write(s.script);
          if (scripts.length === 0) ctx.stderr.write(`sweep: all ${total} points are complete, nothing to submit\n`);
          return;
        }
        if (todo.length) {
          let ids: string[];
          try {
            ids = slurm.submit(dir, scripts);
          } catch (e) {
            throw new CliError(`${(e as Error).message}\n(is Slurm running and sbatch on PATH? scripts/slurm-local.sh start gives a one-node Slurm)`, EXIT.INTERNAL, { cause: e });
          }
          ctx.stderr.write(`sweep: submitted ${todo.length} point(s) as Slurm job array ${ids.join(', ')}\n`);
          if (!o.wait) {
            ctx.stderr.write(`sweep: not waiting; follow with squeue -j ${ids.join(',')}, then aggregate with: ioamsim sweep ${file} --out ${o.out} --aggregate-only\n`);
            return;
          }
          const progress = new Progress(ctx.stderr, todo.length, o.progress);
          const t0 = Date.now();
          let lastLine = 0;
          const done = await slurm.follow(dir, m, ids, todo, (d, f) => {
            // Plain lines at most every 10 s (the bar redraws itself).
            if (Date.now() - lastLine > 10_000 || d + f === todo.length) {
              progress.set(d, f);
              lastLine = Date.now();
            }
          });
          progress.stop();
          interrupted = !done;
          const ok = todo.filter((i) => isComplete(path.join(dir, m.points[i]!.dir))).length;
          recordExecution(dir, { executor: `slurm:${ids.join(',')}`, jobs: o.jobs ?? null, points_run: todo.length, ok, failed: todo.length - ok, interrupted, wall_s: (Date.now() - t0) / 1000 });
          ctx.stderr.write(`sweep: Slurm array ${done ? 'finished' : 'cancelled'} after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        }
      }

      const table = buildTable(dir, m);
      const files = await writeResults(dir, table, `ioamsim sweep ${path.basename(file)}`);
      const status = table.columns.indexOf('status');
      const bad = table.rows.filter((r) => r[status] !== 'ok');
      ctx.stderr.write(`sweep: ${total - bad.length} of ${total} points complete; results: ${files.map(shown).join(', ')}\n`);
      if (bad.length === 0) return;
      const lines = bad.slice(0, 20).map((r) => {
        const pdir = path.join(dir, m.points[Number(r[0])]!.dir);
        if (r[status] === 'failed') return `point ${path.basename(pdir)} failed, log: ${path.join(pdir, 'log.txt')}`;
        // A Slurm task that never reached the point (node missing on the compute node, time limit) leaves only its output file.
        return fs.existsSync(path.join(dir, 'slurm')) ? `point ${path.basename(pdir)} has not run (Slurm task output: ${path.join(dir, 'slurm', `*_${r[0]}.out`)})` : `point ${path.basename(pdir)} has not run`;
      });
      if (bad.length > 20) lines.push(`... and ${bad.length - 20} more`);
      const head = interrupted ? `interrupted: ${total - bad.length} of ${total} points complete; rerun the same command to run the rest` : `${bad.length} of ${total} points did not complete; rerun the same command to retry them`;
      throw new PartialError([head, ...lines].join('\n'));
    });

  const point = new Command('sweep-point')
    .description('run one point of a sweep directory (what each Slurm array task runs)')
    .argument('<dir>', 'the sweep output directory')
    .argument('<index>', 'point index')
    .action(async (dir: string, indexText: string) => {
      const { readManifest, pointDir } = await import('../../sweep/points');
      const { runPoint } = await import('../../sweep/runner');
      const m = readManifest(dir);
      if (!m) throw new InputError(`${path.join(dir, 'sweep.json')}: not a sweep directory (run ioamsim sweep first)`);
      const index = Number(indexText);
      if (!/^[0-9]+$/.test(indexText) || index >= m.points.length) throw new UsageError(`index must be an integer in 0..${m.points.length - 1}, got ${JSON.stringify(indexText)}`);
      const r = await runPoint(pointDir(dir, m, index), { executor: process.env.SLURM_JOB_ID ? `slurm:${process.env.SLURM_ARRAY_JOB_ID ?? process.env.SLURM_JOB_ID}` : 'sweep-point' });
      if (r.status === 'failed') throw new CliError(`point ${index} failed (${r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`}), log: ${r.log}`, EXIT.PARTIAL);
      if (r.status === 'interrupted') throw new CliError(`point ${index} interrupted`, EXIT.PARTIAL);
      ctx.stderr.write(`point ${index}: ${r.status}\n`);
    });
  // Internal: not listed in `ioamsim --help` (commander sets this through addCommand's `hidden`).
  (point as unknown as { _hidden: boolean })._hidden = true;
  return [sweep, point];
}
