/**
 * The repository stands alone: a clone (or the installed package) needs nothing beside it. No
 * tracked file names a machine path or a folder outside the repository, or cites notes that are not
 * part of it; the recorded kernel cases are found inside the package.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { relative, isAbsolute, join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { capturesDir, repoRoot } from '../src/shared';

const ROOT = repoRoot();
const SELF = 'test/standalone.test.ts';

/** Tracked text files containing `needle` (fixed string), as `file:line: text`. */
function trackedFilesWith(needle: string): string[] {
  const r = spawnSync('git', ['grep', '-n', '-I', '-F', '-e', needle, '--', '.', `:(exclude)${SELF}`], { cwd: ROOT, encoding: 'utf8' });
  if (r.error) assert.fail(`git is needed for this test: ${r.error.message}`);
  if (r.status === 1) return []; // no match
  assert.equal(r.status, 0, `git grep failed in ${ROOT}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

describe('the repository stands alone', () => {
  // Spelled in pieces so that a plain `git grep` for these strings finds nothing, this file included.
  const needles = [['/wo', 'rk/'], ['..', '/shared'], ['ioam', '-notes'], ['ecosystem', '-notes']].map((p) => p.join(''));
  for (const needle of needles) {
    it(`no tracked file mentions ${needle}`, () => {
      assert.deepEqual(trackedFilesWith(needle), []);
    });
  }

  it('the recorded kernel cases are inside the package, 32 of them', () => {
    const saved = process.env.IOAMSIM_CAPTURES;
    delete process.env.IOAMSIM_CAPTURES;
    try {
      const dir = capturesDir();
      const rel = relative(ROOT, dir);
      assert.ok(!rel.startsWith('..') && !isAbsolute(rel), `${dir} is outside ${ROOT}`);
      assert.equal(rel.split(/[\\/]/).join('/'), 'test/fixtures/linux-6.18');
      for (const f of ['MANIFEST.md', 'decoded-summary.txt', 'h2_socket_view.jsonl']) assert.ok(existsSync(`${dir}/${f}`), f);
      const pcaps = readdirSync(dir).filter((f) => f.endsWith('.pcap'));
      const cases = new Set(pcaps.map((f) => f.replace(/\.(h1|r2in)\.pcap$|\.pcap$/, '')));
      assert.equal(cases.size, 32);
      assert.equal(pcaps.length, 96, 'three captures per case');
    } finally {
      if (saved !== undefined) process.env.IOAMSIM_CAPTURES = saved;
    }
  });
});

describe('layers point one way: core ← binding ← src ← sim ← app', () => {
  /** Relative import specifiers of every .ts file under `dir`, as `file: spec`. */
  function importsUnder(dir: string): { file: string; target: string }[] {
    const out: { file: string; target: string }[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(join(ROOT, d), { withFileTypes: true })) {
        const p = `${d}/${e.name}`;
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          const text = readFileSync(join(ROOT, p), 'utf8');
          for (const m of text.matchAll(/(?:from\s+|import\s+|import\(\s*|require\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
            out.push({ file: p, target: posix.normalize(posix.join(posix.dirname(p), m[1]!)) });
          }
        }
      }
    };
    walk(dir);
    return out;
  }
  it('src/ imports neither sim/ nor app/', () => {
    const bad = importsUnder('src').filter((i) => /^(sim|app)\//.test(i.target));
    assert.ok(importsUnder('src').length > 20, 'the scan sees src/ imports');
    assert.deepEqual(bad, []);
  });
  it('sim/ does not import app/', () => {
    assert.ok(importsUnder('sim').length > 20, 'the scan sees sim/ imports');
    assert.deepEqual(importsUnder('sim').filter((i) => /^app\//.test(i.target)), []);
  });
});
