/** The command registry: modules contribute commands; optional absent/broken modules are skipped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMAND_MODULES, loadCommandModules } from '../app/cli/registry';

const tmp = mkdtempSync(join(tmpdir(), 'ioamsim-registry-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

test('registered modules give decode, encap, transit, decap', () => {
  const names = loadCommandModules().flatMap((f) => f({ stdout: process.stdout, stderr: process.stderr, debug: false })).map((c) => c.name());
  for (const n of ['decode', 'encap', 'transit', 'decap']) assert.ok(names.includes(n), `${n} in ${names}`);
  assert.equal(new Set(names).size, names.length, 'no duplicate command names');
  for (const n of ['run', 'demo', 'kernel-check', 'testbed']) assert.ok(names.includes(n), `${n} in ${names}`);
  assert.ok(COMMAND_MODULES.every((m) => !m.optional), 'every module of the package is required');
});

test('a module is a createCommands(ctx) export; optional absent → warning; optional broken → warning; required broken → throws', () => {
  const good = join(tmp, 'good.js');
  writeFileSync(good, `const { Command } = require(${JSON.stringify(require.resolve('commander'))});
    exports.createCommands = (ctx) => [new Command('hello').action(() => ctx.stdout.write('hi'))];`);
  const broken = join(tmp, 'broken.js');
  writeFileSync(broken, `require('./does-not-exist-dep');`);
  const noExport = join(tmp, 'noexport.js');
  writeFileSync(noExport, `exports.other = 1;`);
  const warnings: string[] = [];
  const fs = loadCommandModules([
    { path: good },
    { path: join(tmp, 'absent'), optional: true },
    { path: broken, optional: true },
    { path: noExport, optional: true },
  ], (m) => warnings.push(m));
  assert.equal(fs.length, 1);
  assert.equal(fs[0]!({ stdout: process.stdout, stderr: process.stderr, debug: false })[0]!.name(), 'hello');
  assert.equal(warnings.length, 3);
  assert.match(warnings[0]!, /absent is not installed/);
  assert.match(warnings[1]!, /broken\.js failed to load.*does-not-exist-dep/);
  assert.match(warnings[2]!, /noexport\.js does not export createCommands/);
  assert.throws(() => loadCommandModules([{ path: broken }]), /does-not-exist-dep/);
  assert.throws(() => loadCommandModules([{ path: noExport }]), /does not export createCommands/);
});

test('bin/ioamsim.js refuses a Node older than package.json "engines" with a clear error (exit 4)', async () => {
  const { spawnSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const engines = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  assert.equal(engines, '>=20.19');
  const bin = join(__dirname, '..', 'bin', 'ioamsim.js');
  const run = (v: string) =>
    spawnSync(process.execPath, ['-e', `Object.defineProperty(process.versions, 'node', { value: '${v}' }); process.argv = [process.argv[0], 'ioamsim', '--version']; require(${JSON.stringify(bin)})`], { encoding: 'utf8' });
  const old = run('20.18.3');
  assert.equal(old.status, 4);
  assert.match(old.stderr, /Node 20\.18\.3 is too old: ioamsim needs Node >= 20\.19/);
  const ok = run('20.19.0');
  assert.doesNotMatch(ok.stderr, /too old/);
});
