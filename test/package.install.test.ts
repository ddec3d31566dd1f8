/**
 * The npm package as a user gets it: scripts/pack-test.sh packs ioamsim and its platform package
 * (scripts/pack.sh), installs both tarballs into an empty project with cargo/rustc off the PATH and
 * runs the CLI and the library from there (it exits non-zero on the first failure). This test runs
 * it and checks the tarballs' contents and manifests.
 *
 * Packs native/ as built (scripts/test.sh runs `npm run build:native` first; alone, build it
 * yourself). Rebuilds dist/ (`npm run build:ts`). About 1–2 minutes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

function tarList(tgz: string): string[] {
  return execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).trim().split('\n');
}
function tarJson(tgz: string, member: string): Record<string, unknown> {
  return JSON.parse(execFileSync('tar', ['-xzOf', tgz, member], { encoding: 'utf8' })) as Record<string, unknown>;
}

test('packed tarballs install without Rust and run (scripts/pack-test.sh)', { timeout: 6 * 60_000 }, (t) => {
  const work = mkdtempSync(join(tmpdir(), 'ioamsim-pack-test-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const r = spawnSync('bash', [join(repo, 'scripts', 'pack-test.sh'), work], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, IOAMSIM_SKIP_NATIVE_BUILD: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `scripts/pack-test.sh exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  assert.match(r.stdout, /^pack-test: ok /m);
  assert.match(r.stdout, /^Slowest contributor: network hop r2→r3 /m);
  assert.match(r.stdout, /^decoded node 42 in namespace 123; core .* from .*node_modules\/ioamsim-linux-x64-gnu\/ioamsim\.linux-x64-gnu\.node$/m);
  assert.match(r.stdout, /^read [1-9][0-9]* IPv6 packets with ioamsim\/capture$/m);

  const main = join(work, 'pack', `ioamsim-${version}.tgz`);
  const platform = join(work, 'pack', `ioamsim-linux-x64-gnu-${version}.tgz`);

  const files = tarList(main);
  for (const f of ['package/package.json', 'package/LICENSE', 'package/README.md', 'package/bin/ioamsim.js', 'package/dist/app/cli/main.js',
    'package/dist/src/index.js', 'package/dist/src/index.d.ts', 'package/dist/sim/worker.js', 'package/native/index.cjs',
    'package/native/index.d.ts', 'package/examples/nodes/r1.yaml']) {
    assert.ok(files.includes(f), `${f} missing from ${main}`);
  }
  const stray = files.filter(
    (f) => /\.(node|map)$/.test(f) || /^package\/(src|sim|app|crates|dist\/test|dist\/bench)\//.test(f) ||
      (f.startsWith('package/test/') && !f.startsWith('package/test/fixtures/')),
  );
  assert.deepEqual(stray, [], 'the main tarball holds only the runtime (no addon, sources, tests, source maps)');
  const pkg = tarJson(main, 'package/package.json');
  assert.deepEqual(pkg.optionalDependencies, { 'ioamsim-linux-x64-gnu': version });
  const scripts = (pkg.scripts ?? {}) as Record<string, string>;
  for (const hook of ['preinstall', 'install', 'postinstall']) assert.equal(scripts[hook], undefined, `${hook} would run at install time`);
  assert.equal(scripts.prepublishOnly, undefined, 'the packed manifest can be published (the guard is for the repository folder)');

  assert.deepEqual(tarList(platform).sort(), ['package/README.md', 'package/ioamsim.linux-x64-gnu.node', 'package/package.json']);
  const ppkg = tarJson(platform, 'package/package.json');
  assert.equal(ppkg.name, 'ioamsim-linux-x64-gnu');
  assert.equal(ppkg.version, version);
  assert.deepEqual([ppkg.os, ppkg.cpu, ppkg.libc, ppkg.main], [['linux'], ['x64'], ['glibc'], 'ioamsim.linux-x64-gnu.node']);
});
