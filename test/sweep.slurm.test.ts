/**
 * The Slurm executor against a real Slurm (scripts/slurm-local.sh: a one-node cluster from
 * Debian's slurm-wlm and munge): examples/sweep.yaml's 8 points through the local executor and
 * through a Slurm job array give identical result tables (wall-clock columns aside); each point
 * ran as an array task; `--no-wait` returns at once and `--aggregate-only` collects the results
 * once the array is done. Fails loudly when Slurm cannot start, unless IOAMSIM_NO_SLURM=1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WALL_COLUMNS } from '../app/sweep/results';

const ROOT = join(__dirname, '..');
const SCRIPT = join(ROOT, 'scripts', 'slurm-local.sh');
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'app', 'cli', 'main.ts')] as const;
const optOut = process.env.IOAMSIM_NO_SLURM === '1';

let env: NodeJS.ProcessEnv = process.env;
let startedHere = false;
let available = false;
let work = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ioamsim-sweep-slurm-'));
  const wasUp = spawnSync('bash', [SCRIPT, 'status'], { encoding: 'utf8' }).status === 0;
  const r = spawnSync('bash', [SCRIPT, 'start'], { encoding: 'utf8', timeout: 600_000 });
  const conf = /export SLURM_CONF=(\S+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !conf) {
    if (optOut) return;
    assert.fail(`Slurm did not start (scripts/slurm-local.sh start exit ${r.status}): ${r.stderr}\nset IOAMSIM_NO_SLURM=1 to opt out`);
  }
  startedHere = !wasUp;
  available = true;
  env = { ...process.env, SLURM_CONF: conf[1] };
});

after(() => {
  if (startedHere) spawnSync('bash', [SCRIPT, 'stop'], { encoding: 'utf8' });
  if (work) rmSync(work, { recursive: true, force: true });
});

function sweep(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(CLI[0], [...CLI.slice(1), 'sweep', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 600_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** results.csv without the wall-clock columns. */
function table(out: string): string[][] {
  const rows = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const keep = rows[0]!.map((c, i) => (WALL_COLUMNS.includes(c) ? -1 : i)).filter((i) => i >= 0);
  return rows.map((r) => keep.map((i) => r[i]!));
}

test('examples/sweep.yaml: the local executor and a Slurm job array give identical tables', { timeout: 900_000 }, (t) => {
  if (!available) return t.diagnostic('Slurm unavailable: skipped because IOAMSIM_NO_SLURM=1');
  const local = join(work, 'local');
  const slurm = join(work, 'slurm');
  const a = sweep(['examples/sweep.yaml', '--out', local, '--jobs', '2']);
  assert.equal(a.status, 0, a.stderr);
  const b = sweep(['examples/sweep.yaml', '--out', slurm, '--executor', 'slurm', '--jobs', '2']);
  assert.equal(b.status, 0, b.stderr);
  const job = /submitted 8 point\(s\) as Slurm job array (\d+)/.exec(b.stderr);
  assert.ok(job, b.stderr);
  assert.match(b.stderr, /Slurm array finished/);
  const ta = table(local);
  assert.equal(ta.length, 9);
  assert.ok(ta.slice(1).every((r) => r[ta[0]!.indexOf('status')] === 'ok'));
  assert.deepEqual(table(slurm), ta);
  // Each point ran once, as a task of that array (its output file is Slurm's, per task).
  for (let i = 0; i < 8; i++) {
    const log = readFileSync(join(slurm, 'points', `000${i}`, 'attempts.log'), 'utf8').trim().split('\n');
    assert.equal(log.length, 1);
    assert.match(log[0]!, new RegExp(`executor=slurm:${job[1]} `));
  }
  const outs = readdirSync(join(slurm, 'slurm')).filter((f) => f.endsWith('.out'));
  assert.deepEqual(outs.sort(), Array.from({ length: 8 }, (_, i) => `${job[1]}_${i}.out`).sort());
  const script = readFileSync(join(slurm, 'slurm', 'array-offset0.sbatch'), 'utf8');
  assert.match(script, /^#SBATCH --array=0-7%2$/m);
});

test('--no-wait returns after sbatch; --aggregate-only collects the points once the array is done', { timeout: 600_000 }, async (t) => {
  if (!available) return t.diagnostic('Slurm unavailable: skipped because IOAMSIM_NO_SLURM=1');
  const file = join(work, 'nowait.yaml');
  writeFileSync(file, [`base: ${join(ROOT, 'examples', 'linear.yaml')}`, 'set: { duration: 200us }', 'seeds: 5..6', ''].join('\n'));
  const out = join(work, 'nowait');
  const dry = sweep([file, '--out', out, '--executor', 'slurm', '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /^#SBATCH --array=0-1$/m);
  const r = sweep([file, '--out', out, '--executor', 'slurm', '--no-wait']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /not waiting; follow with squeue -j \d+/);
  const t0 = Date.now();
  for (;;) {
    const agg = sweep([file, '--out', out, '--aggregate-only']);
    if (agg.status === 0) break;
    assert.equal(agg.status, 3, agg.stderr);
    assert.ok(Date.now() - t0 < 300_000, `the array did not finish: ${agg.stderr}`);
    await new Promise((res) => setTimeout(res, 2000));
  }
  const rows = table(out);
  assert.deepEqual(rows.slice(1).map((x) => [x[rows[0]!.indexOf('seed')], x[rows[0]!.indexOf('status')]]), [['5', 'ok'], ['6', 'ok']]);
});
