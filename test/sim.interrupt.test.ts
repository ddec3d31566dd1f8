/**
 * Stopping a run (Ctrl-C / SIGTERM in `ioamsim run`; `interrupted` in runSimulation): the run stops
 * within its next check, every output file it had started is removed (nothing complete-looking or
 * partial is left), and a run that is never interrupted writes exactly what it writes without the
 * check — inline and partitioned.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { runSimulation } from '../sim/run';
import { SimulationInterrupted } from '../sim/engine';

const ROOT = join(__dirname, '..');
const EX = (f: string) => join(ROOT, 'examples', f);
const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), `ioamsim-int-${p}-`));
  dirs.push(d);
  return d;
};
process.on('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('runSimulation({ interrupted })', () => {
  for (const workers of [0, 2]) {
    test(`--workers ${workers}: stops with SimulationInterrupted, no file left; never interrupted = the same outputs`, async () => {
      const out = tmp(`stop-w${workers}`);
      let checks = 0;
      const started = Date.now();
      await assert.rejects(
        runSimulation(EX('leaf-spine-heavy.yaml'), { outDir: out, workers, durationNs: 10_000_000_000, interrupted: () => ++checks >= 30 }),
        (e: unknown) => e instanceof SimulationInterrupted && e.atNs > 0 && e.atNs < 10_000_000_000,
      );
      assert.ok(Date.now() - started < 60_000, 'stopped long before the end of its 10 s of simulated time');
      assert.deepEqual(readdirSync(out), []);

      const a = tmp(`plain-w${workers}`);
      const b = tmp(`checked-w${workers}`);
      await runSimulation(EX('leaf-spine-heavy.yaml'), { outDir: a, workers, durationNs: 20_000_000 });
      let polled = 0;
      await runSimulation(EX('leaf-spine-heavy.yaml'), { outDir: b, workers, durationNs: 20_000_000, interrupted: () => (polled++, false) });
      assert.ok(polled > 0 || workers > 0, 'the inline run checked at least once (it lasts well over 50 ms)');
      const names = readdirSync(a).filter((f) => f !== 'run-info.json').sort();
      assert.deepEqual(readdirSync(b).filter((f) => f !== 'run-info.json').sort(), names);
      for (const f of names) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
    });
  }
});

test('ioamsim run: Ctrl-C stops the run, says so, exits 130 and leaves no file', { timeout: 120_000 }, async () => {
  const out = tmp('cli');
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'app', 'cli', 'main.ts'), 'run', EX('leaf-spine-heavy.yaml'), '--duration', '20s', '--out', out, '--no-progress'], { cwd: ROOT });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  try {
    // Once it simulates (its capture files exist), interrupt it.
    const until = Date.now() + 60_000;
    while (!(existsSync(out) && readdirSync(out).some((f) => f.endsWith('.partial'))) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(readdirSync(out).some((f) => f.endsWith('.partial')), `the run never started writing: ${stderr}`);
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  assert.match(stderr, /ioamsim run: error: SIGINT: run stopped at t=\d+ ns of simulated time; nothing written/);
  assert.deepEqual(readdirSync(out), []);
});
