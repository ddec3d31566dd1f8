/**
 * The benchmark tables of README.md and docs/BENCHMARKS.md are what bench/report.ts renders from
 * the committed bench/results.json (so the prose cannot drift from the file), and the generic
 * table writer works as documented.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { blockNames, DOC_FILES, IMAGES, readBlock, renderAll, renderDoc, renderTable, replaceBlock, sectionTable, TABLES } from '../bench/report';

const ROOT = join(__dirname, '..');
const results = JSON.parse(readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8')) as { command: string; smoke: boolean; dataplane: unknown[] };
const docs = DOC_FILES.map((f) => ({ file: f, text: readFileSync(join(ROOT, f), 'utf8') }));

test('every generated block of README.md and docs/BENCHMARKS.md equals what bench/results.json renders', () => {
  const blocks = renderAll(results);
  for (const { file, text } of docs) {
    const names = blockNames(text);
    assert.ok(names.length > 0, `${file} has no bench:NAME blocks`);
    for (const name of names) {
      assert.equal(readBlock(text, name), blocks.get(name), `${file}: block bench:${name} is not what \`npm run bench:report\` renders from bench/results.json`);
    }
    assert.equal(renderDoc(text, blocks, file), text, `${file}: out of date (run npm run bench:report)`);
  }
});

test('every generated image (docs/img/sim-growth.svg) equals what bench/results.json renders', () => {
  for (const img of IMAGES) {
    assert.equal(readFileSync(join(ROOT, img.path), 'utf8'), img.render(results as unknown as Parameters<typeof img.render>[0]), `${img.path} is not what \`npm run bench:report\` renders from bench/results.json`);
  }
});

test('the committed results come from a full `npm run bench` command, and every table is shown somewhere', () => {
  assert.match(results.command, /^npm run bench( |$)/);
  assert.equal(results.smoke, false, 'bench/results.json is a smoke run');
  assert.ok(results.dataplane.length > 0);
  const shown = new Set(docs.flatMap((d) => blockNames(d.text)));
  for (const t of TABLES) assert.ok(shown.has(t.name), `table ${t.name} is in no doc file`);
  for (const name of ['command', 'targets', 'key-rows']) assert.ok(blockNames(docs[0]!.text).includes(name), `README.md lacks bench:${name}`);
});

test('no benchmark figure in the prose outside the generated blocks', () => {
  const figure = /\d[\d,.]*\s*(ns\b|µs\b|×)|\b\d+(\.\d+)?x\b/;
  for (const { file, text } of docs) {
    let prose = text;
    for (const name of blockNames(text)) prose = replaceBlock(prose, name, '');
    if (file === 'README.md') {
      const a = prose.indexOf('## Benchmarks');
      const b = prose.indexOf('\n## ', a + 1);
      prose = prose.slice(a, b < 0 ? undefined : b);
    }
    const m = figure.exec(prose);
    assert.equal(m, null, `${file}: a figure in prose: "${m ? prose.slice(Math.max(0, m.index - 40), m.index + 20) : ''}"`);
  }
});

test('generic table writer: columns, all keys, sections by path, blocks', () => {
  const rows = [{ a: 1, b: 2.345, c: null }, { a: 10, b: 123.456, c: 'x|y' }];
  assert.equal(renderTable(rows), '| a | b | c |\n|---|---|---|\n| 1 | 2.35 | – |\n| 10 | 123.5 | x\\|y |');
  assert.equal(renderTable(rows, [{ head: 'sum', cell: (r) => r.a + r.b, digits: 0 }]), '| sum |\n|---|\n| 3 |\n| 133 |');
  const r = { sim: { rows: [{ workers: 0, rate: 5 }] } };
  assert.equal(sectionTable(r, 'sim.rows'), '| workers | rate |\n|---|---|\n| 0 | 5 |');
  assert.match(sectionTable(r, 'nope.rows'), /no `nope.rows`/);
  const text = 'x\n<!-- bench:t:begin -->\nold\n<!-- bench:t:end -->\ny\n';
  const t2 = replaceBlock(text, 't', 'new\ntable');
  assert.equal(t2, 'x\n<!-- bench:t:begin -->\nnew\ntable\n<!-- bench:t:end -->\ny\n');
  assert.equal(readBlock(t2, 't'), 'new\ntable');
  assert.throws(() => replaceBlock(text, 'u', ''), /no <!-- bench:u:begin -->/);
  assert.throws(() => renderDoc(text, new Map()), /bench:t is not a known table/);
});

test('the simulator bench runs node with the flags of the ioamsim command (bin/ioamsim.js first line)', async () => {
  const { CLI_NODE_FLAGS } = await import('../bench/sim');
  const first = readFileSync(join(__dirname, '..', 'bin', 'ioamsim.js'), 'utf8').split('\n')[0]!;
  const m = /^#!\/usr\/bin\/env -S node(?: (.*))?$/.exec(first);
  assert.ok(m, `unexpected first line of bin/ioamsim.js: ${first}`);
  assert.deepEqual((m[1] ?? '').split(' ').filter(Boolean), CLI_NODE_FLAGS);
});
