/**
 * Wireshark's view of the two CLT encodings (tshark on the demo's capture): the Opaque State
 * Snapshot encoding dissects cleanly with the IDs in the encapsulator's snapshot; the legacy layout
 * is misread by an RFC 9197 dissector (trace ID bytes taken for node data, invalid length).
 * Needs tshark; fails loudly without it unless IOAMSIM_NO_TSHARK=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runDemo } from '../sim/clt/demo';
import { CLT_SCHEMA_ID } from '../sim/clt/ioam';

function tshark(file: string, fields: string[]): string[][] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=\t', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => l.split('\t'));
}

test('tshark: OSS encoding dissects cleanly; legacy layout is misread by an RFC 9197 dissector', { timeout: 120_000 }, async (t) => {
  if (spawnSync('tshark', ['--version']).status !== 0) {
    if (process.env.IOAMSIM_NO_TSHARK === '1') {
      t.diagnostic('tshark missing: skipped because IOAMSIM_NO_TSHARK=1');
      return;
    }
    assert.fail('tshark is not installed (apt-get install -y tshark); set IOAMSIM_NO_TSHARK=1 to opt out');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-tshark-'));
  try {
    const oss = await runDemo({ rate: 20, durationMs: 100 });
    const f1 = path.join(dir, 'oss.pcapng');
    fs.writeFileSync(f1, oss.pcapng);
    const rows = tshark(f1, ['ipv6.opt.ioam.trace.node.oss.scid', 'ipv6.opt.ioam.trace.node.oss.data', 'ipv6.opt.ioam.trace.remlen', '_ws.expert.message']);
    assert.ok(rows.length > 0);
    const ids = new Set(oss.netSpans.map((n) => n.traceId + n.senderSpanId));
    for (const [scid, data, remlen, expert] of rows) {
      const scids = scid!.split(',');
      // Node 1 = newest; the last element is the encapsulating node's, with the CLT schema.
      assert.equal(Number(scids.at(-1)), CLT_SCHEMA_ID);
      assert.ok(scids.slice(0, -1).every((s) => Number(s) === 0xffffff));
      assert.ok(ids.has(data!.replace(/:/g, '')), `IDs ${data} belong to a network span`);
      // Captured as the last router sends it: the destination host's 24 bytes (6 words) are still free.
      assert.equal(remlen, '6');
      assert.doesNotMatch(expert ?? '', /IOAM|Invalid|Malformed/i);
    }
    const legacy = await runDemo({ rate: 20, durationMs: 100, encoding: 'legacy' });
    const f2 = path.join(dir, 'legacy.pcapng');
    fs.writeFileSync(f2, legacy.pcapng);
    const lrows = tshark(f2, ['ipv6.opt.ioam.trace.node.id', 'ipv6.opt.ioam.trace.remlen', '_ws.expert.message']);
    const blocks = legacy.netSpans.map((n) => n.traceId + n.senderSpanId);
    for (const [ids2, remlen, expert] of lrows) {
      assert.match(expert ?? '', /Invalid length/);
      // Wireshark takes the 24-byte ID block for the start of the data space and skips RemainingLen×4
      // bytes of it: the first "node id" it shows is 3 bytes of the trace/span ID block.
      const at = Number(remlen) * 4 + 1;
      assert.ok(at + 3 <= 24, `RemainingLen ${remlen} points inside the block`);
      const first = ids2!.split(',')[0]!.replace(/^0x/, '').padStart(6, '0');
      assert.ok(blocks.some((b) => b.slice(at * 2, (at + 3) * 2) === first), `node id ${first} is ID-block bytes ${at}..${at + 2}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
