/**
 * `ioamsim sweep` with the local executor, as a user runs it (child processes of the CLI):
 * results as CSV, Parquet (read back with hyparquet) and an HTML page that headless Chromium
 * renders into a uPlot chart; a rerun runs nothing; a failing point is reported with its log while
 * the others complete (exit 3) and a rerun retries only it; Ctrl-C (SIGINT) stops the children,
 * keeps the completed points, and a rerun runs only the missing ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { esmImport } from '../app/sweep/results';

const ROOT = join(__dirname, '..');
const LINEAR = join(ROOT, 'examples', 'linear.yaml');
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'app', 'cli', 'main.ts')] as const;

function sweepCli(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(CLI[0], [...CLI.slice(1), 'sweep', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

function setup(yaml: string): { dir: string; file: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ioamsim-sweep-local-'));
  const file = join(dir, 'sweep.yaml');
  writeFileSync(file, yaml);
  return { dir, file, out: join(dir, 'out') };
}

const attempts = (out: string, name: string): number => {
  const f = join(out, 'points', name, 'attempts.log');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').length : 0;
};

function csvRows(out: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

function chromium(): string | null {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) if (spawnSync('which', [c]).status === 0) return c;
  return null;
}

test('a 4-point sweep: CSV, Parquet and HTML agree with the simulation; a rerun runs nothing', { timeout: 300_000 }, async (t) => {
  const s = setup([`base: ${LINEAR}`, 'set: { duration: 500us }', 'seeds: 1..2', 'grid:', '  domains[0].size: [32, 64]', ''].join('\n'));
  try {
    const r = sweepCli([s.file, '--out', s.out, '--jobs', '2']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /sweep: 4 of 4 points complete/);
    const rows = csvRows(s.out);
    assert.equal(rows.length, 4);
    assert.deepEqual(rows.map((x) => [x['domains[0].size'], x.seed, x.status]), [['32', '1', 'ok'], ['32', '2', 'ok'], ['64', '1', 'ok'], ['64', '2', 'ok']]);
    // Meaning: each row is its point's own summary.json; a 32-byte trace (2 of 4 nodes' 16-byte
    // elements) overflows, a 64-byte one does not; the seeds give different traffic.
    for (const [i, x] of rows.entries()) {
      const sum = JSON.parse(readFileSync(join(s.out, 'points', `000${i}`, 'run', 'summary.json'), 'utf8'));
      assert.equal(Number(x.delivered), sum.packets.delivered);
      assert.equal(Number(x.ioam_overhead_ratio), sum.ioam.overhead_ratio);
      assert.equal(x.seed, sum.seed);
      assert.equal(Number(x.ioam_traces_with_overflow) > 0, x['domains[0].size'] === '32', `overflow in point ${i}`);
    }
    assert.notEqual(rows[0]!.generated + rows[0]!.delay_mean_ns, rows[1]!.generated + rows[1]!.delay_mean_ns, 'seeds 1 and 2 differ');

    // Parquet: the same table.
    const { parquetReadObjects } = (await esmImport(pathToFileURL(require.resolve('hyparquet')).href)) as { parquetReadObjects: (o: { file: ArrayBuffer }) => Promise<Record<string, unknown>[]> };
    const buf = readFileSync(join(s.out, 'results.parquet'));
    const pq = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) });
    assert.equal(pq.length, 4);
    for (const [i, x] of rows.entries()) {
      for (const [k, v] of Object.entries(x)) {
        const p = pq[i]![k];
        assert.equal(p === null || p === undefined ? '' : String(p), v, `parquet row ${i} column ${k}`);
      }
    }

    // Rerun: every point is complete, nothing runs, the table is byte-identical.
    const csv = readFileSync(join(s.out, 'results.csv'));
    const again = sweepCli([s.file, '--out', s.out]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /4 of 4 points already complete, running 0/);
    for (const n of ['0000', '0001', '0002', '0003']) assert.equal(attempts(s.out, n), 1, `point ${n} ran once`);
    assert.deepEqual(readFileSync(join(s.out, 'results.csv')), csv);

    // The page: self-contained, and Chromium draws the chart and its values table.
    const html = readFileSync(join(s.out, 'results.html'), 'utf8');
    assert.doesNotMatch(html, /src="http|href="http|<link /i);
    const bin = chromium();
    if (!bin) {
      if (process.env.IOAMSIM_NO_BROWSER === '1') return t.diagnostic('chromium missing: page not rendered because IOAMSIM_NO_BROWSER=1');
      assert.fail('chromium is not installed (apt-get install -y chromium), set IOAMSIM_NO_BROWSER=1 to opt out');
    }
    const dom = spawnSync(bin, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${join(s.dir, 'profile')}`, '--dump-dom', pathToFileURL(join(s.out, 'results.html')).href], { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 });
    assert.equal(dom.status, 0, dom.stderr);
    assert.match(dom.stdout, /class="uplot/, 'uPlot drew a chart');
    assert.match(dom.stdout, /<canvas/);
    assert.match(dom.stdout, /delivered vs domains\[0\]\.size/);
    // Values table: one series (no other parameter), x = 32 and 64, 2 seeds each.
    const agg = /<table id="agg">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(dom.stdout)![1]!;
    const aggRows = [...agg.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<td>(.*?)<\/td>/g)].map((c) => c[1]));
    assert.deepEqual(aggRows.map((c) => [c[1], c[2]]), [['32', '2'], ['64', '2']]);
    const d32 = rows.filter((x) => x['domains[0].size'] === '32').map((x) => Number(x.delivered));
    assert.equal(Number(aggRows[0]![3]), (d32[0]! + d32[1]!) / 2, 'the chart mean is the mean over seeds');
    assert.equal(Number(aggRows[0]![4]), Math.min(...d32));
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('a failing point is reported with its log while the others complete (exit 3); a rerun retries only it', { timeout: 300_000 }, () => {
  // The flow's destination passes the topology loader but not the simulator's node lookup.
  const s = setup([`base: ${LINEAR}`, 'set: { duration: 200us }', 'points:', '  - traffic.flows[ping].rate_pps: 10000', '  - traffic.flows[ping].to: nosuch', ''].join('\n'));
  try {
    const r = sweepCli([s.file, '--out', s.out, '--jobs', '2']);
    assert.equal(r.status, 3, r.stderr);
    const log = join(s.out, 'points', '0001', 'log.txt');
    assert.ok(r.stderr.includes(`point 0001 failed, log: ${log}`), r.stderr);
    assert.match(readFileSync(log, 'utf8'), /"nosuch" is neither a node name nor a node address/);
    assert.deepEqual(csvRows(s.out).map((x) => x.status), ['ok', 'failed']);
    const again = sweepCli([s.file, '--out', s.out]);
    assert.equal(again.status, 3);
    assert.equal(attempts(s.out, '0000'), 1);
    assert.equal(attempts(s.out, '0001'), 2);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('Ctrl-C: SIGINT stops the children, keeps completed points; the rerun runs only the missing ones', { timeout: 300_000 }, async () => {
  const s = setup([`base: ${LINEAR}`, 'set: { duration: 300us }', 'seeds: 1..4', ''].join('\n'));
  try {
    const child = spawn(CLI[0], [...CLI.slice(1), 'sweep', s.file, '--out', s.out, '--jobs', '1'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    const done = (): string[] => (existsSync(join(s.out, 'points')) ? readdirSync(join(s.out, 'points')).filter((n) => existsSync(join(s.out, 'points', n, 'done.json'))) : []);
    const t0 = Date.now();
    while (done().length === 0) {
      assert.ok(Date.now() - t0 < 240_000, `no point finished: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    assert.equal(await exited, 3, stderr);
    assert.match(stderr, /interrupted: \d of 4 points complete; rerun the same command/);
    const before = done();
    assert.ok(before.length >= 1 && before.length < 4, `some but not all points done: ${before}`);
    // No simulation of this sweep is left running.
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    assert.ok(!ps.split('\n').some((l) => l.includes(s.out) && l.includes(' run ')), 'no child left running');

    const again = sweepCli([s.file, '--out', s.out, '--jobs', '1']);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(again.stderr.includes(`${before.length} of 4 points already complete, running ${4 - before.length}`), again.stderr);
    for (const n of before) assert.equal(attempts(s.out, n), 1, `completed point ${n} did not run again`);
    assert.deepEqual(csvRows(s.out).map((x) => x.status), ['ok', 'ok', 'ok', 'ok']);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});
