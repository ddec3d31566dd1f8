/**
 * The Parquet trace files as a user reads them: with DuckDB (Python), the consumer the issue names.
 * Every column of every row equals the JSON Lines record of the same trace, `options` is a JSON
 * column DuckDB can query (`options->0->>'ns'`), not a string holding JSON text.
 *
 * Needs python3 with duckdb (`.ci/run` installs duckdb 1.5.6 with pip); fails loudly without it
 * unless IOAMSIM_NO_DUCKDB=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '../sim/run';

const ROOT = join(__dirname, '..');
const optOut = process.env['IOAMSIM_NO_DUCKDB'] === '1';
const out = mkdtempSync(join(tmpdir(), 'ioamsim-parquet-'));
process.on('exit', () => rmSync(out, { recursive: true, force: true }));

// Each row as JSON (BIGINTs as strings would lose nothing either way: these fit a double), plus
// the namespace of the first option read through DuckDB's JSON operators.
const QUERY = `
import duckdb, json, sys
con = duckdb.connect()
f = sys.argv[1]
types = {r[0]: r[1] for r in con.execute(f"describe select * from read_parquet('{f}')").fetchall()}
rows = con.execute(f"select t_ns, node, flow, kind, seq, packet, hbh_len, options::VARCHAR, options->0->>'ns' from read_parquet('{f}')").fetchall()
print(json.dumps({"types": types, "rows": [[r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8]] for r in rows]}))
`;

test('traces-parquet read by DuckDB = the JSON Lines, options a queryable JSON column', { skip: optOut ? 'IOAMSIM_NO_DUCKDB=1' : false }, async () => {
  const probe = spawnSync('python3', ['-c', 'import duckdb; print(duckdb.__version__)'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `python3 with duckdb is needed (pip install duckdb==1.5.6), or set IOAMSIM_NO_DUCKDB=1: ${probe.stderr}`);
  await runSimulation(join(ROOT, 'examples', 'leaf-spine.yaml'), { outDir: out, durationNs: 1_000_000, outputs: ['traces', 'traces-parquet'] });
  const files = readdirSync(out).filter((f) => f.endsWith('.parquet')).sort();
  assert.ok(files.length >= 2, `parquet files: ${files}`);
  let total = 0;
  for (const f of files) {
    const r = spawnSync('python3', ['-c', QUERY, join(out, f)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { types: Record<string, string>; rows: unknown[][] };
    assert.deepEqual(got.types, { t_ns: 'BIGINT', node: 'VARCHAR', flow: 'VARCHAR', kind: 'VARCHAR', seq: 'BIGINT', packet: 'BIGINT', hbh_len: 'INTEGER', options: 'JSON' });
    const lines = readFileSync(join(out, f.replace(/\.parquet$/, '.jsonl')), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(got.rows.length, lines.length, f);
    got.rows.forEach((row, i) => {
      const j = lines[i]!;
      assert.deepEqual(row.slice(0, 8), [j['t_ns'], j['node'], j['flow'], j['kind'], j['seq'], j['packet'], j['hbh_len'], j['options']], `${f} row ${i}`);
      assert.equal(row[8], String((j['options'] as { ns: number }[])[0]!.ns), `${f} row ${i}: options->0->>'ns'`);
    });
    total += lines.length;
  }
  assert.ok(total > 100, `${total} traces`);
});
