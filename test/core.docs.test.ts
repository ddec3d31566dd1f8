// The runnable examples of docs/API.md run and print what the document says they print.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve(__dirname, '..');
const doc = readFileSync(join(ROOT, 'docs/API.md'), 'utf8');
const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
// What each example must print (from the document's own comments).
const EXPECT: RegExp[] = [
  /^Written \{\n\s+hopLimit: 63,\n\s+nodeId: 1,\n\s+ingressIfId: 101,\n\s+egressIfId: 102,\n\s+timestampSecs: 1762000000,\n\s+timestampFrac: 5,/,
  /^Decapsulated 256 0$/m,
  /^Encapsulated 256 256 308 Written true 44$/m,
  /^44 preallocated-trace 6\ntrue\n14627340617589309662n\nERR_IOAM_TRUNCATED in ipv6 at offset 0: IPv6 fixed header \(needed 40 bytes, got 20\)$/m,
  /^r1\.yaml:4: namespaces\[0\]\.data: namespace data must be in 0\.\.=0xFFFFFFFF, got 0x1DEADBEEF 4 namespaces\[0\]\.data$/m,
];

describe('docs/API.md examples', () => {
  it('has the examples this test knows', () => assert.equal(blocks.length, EXPECT.length));
  const dir = mkdtempSync(join(tmpdir(), 'ioamsim-docs-'));
  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs and prints what the document says`, () => {
      const file = join(dir, `example${i}.ts`);
      writeFileSync(file, code.replace(/from '\.\/src\//g, `from '${ROOT}/src/`));
      const out = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8' });
      assert.match(out, EXPECT[i]!);
    });
  });
});
