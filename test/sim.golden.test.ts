/**
 * Golden outputs: `ioamsim run` on every example (test/golden/sim/commands.json) reproduces the
 * recorded summary.json, traces and captures byte for byte, inline and with 2 dataplane workers,
 * batch size 3 and every step on the workers (determinism across workers and batch sizes). A difference is either a bug or a
 * deliberate model change, which docs/SIMULATOR.md lists and which re-records the files
 * (`IOAMSIM_RECORD_GOLDEN=1 node --import tsx --test test/sim.golden.test.ts`).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { run as cliRun } from '../app/cli/main';

const ROOT = join(__dirname, '..');
const GOLDEN = join(__dirname, 'golden', 'sim');
const RECORD = process.env['IOAMSIM_RECORD_GOLDEN'] === '1';
const spec = JSON.parse(readFileSync(join(GOLDEN, 'commands.json'), 'utf8')) as { runs: { dir: string; args: string[] }[] };

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
/** Files of a run directory except run-info.json (wall time, workers: not deterministic by design). */
const files = (dir: string) => readdirSync(dir).filter((f) => f !== 'run-info.json').sort();

describe('golden outputs of every example', () => {
  const variants = RECORD ? [[]] : [[], ['--workers', '2', '--batch-size', '3', '--inline-below', '0']];
  for (const r of spec.runs) for (const extra of variants) {
    test(`ioamsim run ${[...r.args, ...extra].join(' ')}`, async () => {
      const out = mkdtempSync(join(tmpdir(), `ioamsim-golden-${r.dir}-`));
      const args = [...r.args, ...extra].map((a) => (a.startsWith('examples/') ? join(ROOT, a) : a));
      let err = '';
      const stderr = new Writable({ write: (c, _e, cb) => { err += String(c); cb(); } });
      const code = await cliRun(['run', ...args, '--out', out, '--no-progress'], { stdout: sink(), stderr });
      assert.equal(code, 0, err);
      const want = join(GOLDEN, r.dir);
      if (RECORD) {
        rmSync(want, { recursive: true, force: true });
        mkdirSync(want, { recursive: true });
        for (const f of files(out)) copyFileSync(join(out, f), join(want, f));
      }
      assert.deepEqual(files(out), files(want), 'output file names');
      for (const f of files(want)) {
        const a = readFileSync(join(out, f));
        const b = readFileSync(join(want, f));
        assert.ok(a.equals(b), `${r.dir}/${f} differs from the golden file (${a.length} vs ${b.length} bytes)`);
      }
      rmSync(out, { recursive: true, force: true });
    });
  }
});
