/**
 * An output directory reused by runs with other outputs: the files an earlier run left and this
 * one does not write are named (run-info.json "otherFiles", a note in the run's summary lines),
 * never removed; files that are not simulator outputs are not listed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSummary, runSimulation } from '../sim/run';

const ROOT = join(__dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'ioamsim-outdir-'));
process.on('exit', () => rmSync(out, { recursive: true, force: true }));
const info = () => JSON.parse(readFileSync(join(out, 'run-info.json'), 'utf8')) as { otherFiles?: string[] };

test('files of an earlier run that this run does not write are reported, not removed', async () => {
  const topo = join(ROOT, 'examples', 'linear.yaml');
  let r = await runSimulation(topo, { outDir: out });
  assert.equal(r.info.otherFiles, undefined);
  assert.equal(info().otherFiles, undefined);
  writeFileSync(join(out, 'notes.txt'), 'mine');
  writeFileSync(join(out, 'old.pcapng.partial'), '');

  r = await runSimulation(topo, { outDir: out, outputs: ['summary'], seed: 9n });
  assert.deepEqual(r.info.otherFiles, ['old.pcapng.partial', 'r1-r1-r2.pcapng', 'traces-h2.jsonl']);
  assert.deepEqual(info().otherFiles, r.info.otherFiles);
  assert.match(formatSummary(r), /note: the output directory also holds 3 file\(s\) this run did not write \(from an earlier run\): old\.pcapng\.partial, r1-r1-r2\.pcapng, traces-h2\.jsonl/);
  for (const f of ['r1-r1-r2.pcapng', 'traces-h2.jsonl', 'notes.txt']) assert.ok(existsSync(join(out, f)), `${f} kept`);

  // Partitioned: the same list (the main thread knows every file of the run).
  r = await runSimulation(topo, { outDir: out, workers: 2 });
  assert.deepEqual(r.info.otherFiles, ['old.pcapng.partial']);
  assert.doesNotMatch(formatSummary(r), /r1-r1-r2\.pcapng/);
});
