/**
 * `ioamsim decode` and the CLI's error behaviour, spawned as a user would run it
 * (`node --import tsx app/cli/main.ts ...`) on the real kernel captures.
 */
import { capturesDir } from '../src/shared';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodePcap, readCaptureSync, LINKTYPE_ETHERNET } from '../src/capture';
import { frameHeader, renderTable } from '../app/cli/commands/decode';
import { run } from '../app/cli/main';
import { Writable } from 'node:stream';

const ROOT = resolve(__dirname, '..');
const CAPTURES = capturesDir();
const tmp = mkdtempSync(join(tmpdir(), 'ioamsim-cli-decode-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'app/cli/main.ts'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, IOAMSIM_DEBUG: '', ...env }, maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same CLI in-process (`run()` of app/cli/main.ts), for loops: spawning costs seconds here. */
async function cliIn(args: string[]) {
  let stdout = '', stderr = '';
  const sink = (f: (s: string) => void) => new Writable({ write(c, _e, cb) { f(String(c)); cb(); } });
  const status = await run(args, { stdout: sink((s) => { stdout += s; }), stderr: sink((s) => { stderr += s; }), env: {} });
  return { status, stdout, stderr };
}

/** No stack trace in user-facing error output. */
function assertNoStack(stderr: string) {
  assert.doesNotMatch(stderr, /^\s+at .+[:(]/m, `stack trace printed:\n${stderr}`);
}

/** Values of every key matching `re`, at any depth. */
function valuesOf(v: unknown, re: RegExp, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) v.forEach((x) => valuesOf(x, re, out));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (re.test(k)) out.push(x);
      valuesOf(x, re, out);
    }
  }
  return out;
}
const num = (x: unknown) => (typeof x === 'string' && /^(0x)?[0-9a-f]+$/i.test(x) ? Number(x) : x);

describe('ioamsim decode', () => {
  test('JSON Lines: one object per frame with the documented frame fields', () => {
    const file = join(CAPTURES, 'q_queue_depth_tbf.h1.pcap');
    const ours = readCaptureSync(readFileSync(file)).records;
    const r = cli(['decode', file]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, ours.length);
    lines.forEach((o, i) => {
      const rec = ours[i]!;
      assert.equal(o.frame, i + 1);
      assert.equal(o.timeNs, rec.timestampNs!.toString());
      assert.match(o.time, /^2026-11-26T\d\d:\d\d:\d\d\.\d{9}Z$/);
      assert.equal(o.linktype, LINKTYPE_ETHERNET);
      assert.equal(o.caplen, rec.caplen);
      assert.equal(o.origlen, rec.origlen);
      assert.equal(o.ethertype, '0x86dd');
      assert.equal(o.networkOffset, 14);
      assert.deepEqual(o.comments, []);
      assert.ok('packet' in o);
    });
  });

  test('the core decode result: IOAM trace of r1 (ns 123, HL 63, ids 1/101/102) at r2 ingress', () => {
    const r = cli(['decode', join(CAPTURES, 'a2_basic_bits0_1.r2in.pcap')]);
    assert.equal(r.status, 0, r.stderr);
    const [o] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(o.error, undefined, `decoder error (core not landed?): ${JSON.stringify(o.error)}`);
    assert.ok(o.packet && typeof o.packet === 'object', 'packet is the decode result');
    const nsVals = valuesOf(o.packet, /^(ns|namespace(_?id)?|namespaceId)$/i).map(num);
    assert.ok(nsVals.includes(123), `Namespace-ID 123 in ${JSON.stringify(o.packet)}`);
    const hl = valuesOf(o.packet, /hop_?lim/i).map(num);
    assert.ok(hl.includes(63), `r1's Hop_Lim 63 in ${JSON.stringify(hl)}`);
    const ing = valuesOf(o.packet, /^(ingress(_?if)?(_?id)?|iif)$/i).map(num);
    const eg = valuesOf(o.packet, /^(egress(_?if)?(_?id)?|eif)$/i).map(num);
    assert.ok(ing.includes(101) && eg.includes(102), `r1's interface ids 101/102 in ${JSON.stringify({ ing, eg })}`);
  });

  test('--clt legacy and --format table are accepted; table shows frame and time', () => {
    const file = join(CAPTURES, 'a_full_trace.pcap');
    const legacy = cli(['decode', '--clt', 'legacy', file]);
    assert.equal(legacy.status, 0, legacy.stderr);
    assert.equal(legacy.stdout.trim().split('\n').length, 1);
    const table = cli(['decode', '--format', 'table', file]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^#1 {2}2026-11-26T\d\d:\d\d:\d\d\.\d{9}Z \(1795721\d+\.\d{9}\) {2}330\/330 B {2}ethernet/);
  });

  test('non-IPv6 frames get a note and no packet', () => {
    const arp = Uint8Array.from(Buffer.from('ffffffffffff0200000001010806' + '0001080006040001' + '00'.repeat(20), 'hex'));
    const file = join(tmp, 'arp.pcap');
    writeFileSync(file, encodePcap([{ timestampNs: 5_000_000_123n, bytes: arp }, { timestampNs: 6n, bytes: Uint8Array.of(1, 2) }], { linktype: LINKTYPE_ETHERNET }));
    const r = cli(['decode', file]);
    assert.equal(r.status, 0, r.stderr);
    const [a, b] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(a.packet, null);
    assert.equal(a.note, 'not IPv6 (ethertype 0x0806)');
    assert.equal(a.timeNs, '5000000123');
    assert.equal(b.packet, null);
    assert.match(b.note, /no network layer found/);
  });
});

test('table rendering of a decode result (independent of the core)', () => {
  const [rec] = readCaptureSync(readFileSync(join(CAPTURES, 'a2_basic_bits0_1.r2in.pcap'))).records;
  const fake = { ipv6: { hopLimit: 63, src: 'fd00:aa:1::1' }, options: [{ type: 'ioam-trace', ns: 123, flags: { o: false }, nodes: [{ hopLim: 63, id: 1 }] }] };
  const text = renderTable(rec!, null, null, JSON.stringify(fake));
  assert.equal(text, [
    '#1  2026-11-26T19:27:57.441858000Z (1795721277.441858000)  118/118 B  ethernet',
    '    ipv6:',
    '      hopLimit=63  src=fd00:aa:1::1',
    '    options:',
    '      [0]',
    '        type=ioam-trace  ns=123',
    '        flags:',
    '          o=false',
    '        nodes:',
    '          [0]',
    '            hopLim=63  id=1',
    '', ''].join('\n'));
  const err = renderTable(rec!, null, { code: 'ERR_IOAM_TRUNCATED', layer: 'trace', offset: 52, message: 'x' }, null);
  assert.match(err, /\n {4}ERR_IOAM_TRUNCATED in trace at offset 52: x\n/);
  // The core's own message (which starts with the same words) is printed once, not prefixed again;
  // a frame the snap length cut says so.
  const core = 'ERR_IOAM_TRUNCATED in ipv6 at offset 4: Payload Length beyond the buffer (needed 66 bytes, got 50)';
  const cut = renderTable({ ...rec!, caplen: 64, origlen: 80 }, null, { code: 'ERR_IOAM_TRUNCATED', layer: 'ipv6', offset: 4, message: core }, null);
  assert.ok(cut.includes(`\n    ${core}\n    (the capture holds 64 of the frame's 80 bytes: its snap length cut the packet`), cut);
  assert.deepEqual(Object.keys(frameHeader(rec!)), ['frame', 'timeNs', 'time', 'interface', 'interfaceName', 'linktype', 'caplen', 'origlen', 'ethertype', 'networkOffset', 'comments']);
});

test('a closed stdout pipe (| head) ends quietly with exit 0', () => {
  const arp = Uint8Array.from(Buffer.from('ffffffffffff0200000001010806' + '00'.repeat(28), 'hex'));
  const file = join(tmp, 'many-arp.pcap');
  writeFileSync(file, encodePcap(Array.from({ length: 20000 }, (_, i) => ({ timestampNs: BigInt(i), bytes: arp })), { linktype: LINKTYPE_ETHERNET }));
  const r = spawnSync('bash', ['-c', `set -o pipefail; node --import tsx app/cli/main.ts decode ${file} | head -2`], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 2);
  assert.equal(r.stderr, '');
});

describe('ioamsim errors: clear message, non-zero exit, no stack', () => {
  test('missing file → exit 1 naming the file', () => {
    const r = cli(['decode', join(tmp, 'nope.pcap')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ioamsim decode: error: .*nope\.pcap: byte 0: cannot read: no such file$/m);
    assertNoStack(r.stderr);
    assert.equal(r.stdout, '');
  });

  test('not a capture → exit 1 with the magic', () => {
    const f = join(tmp, 'junk.pcap');
    writeFileSync(f, 'hello world, not a capture');
    const r = cli(['decode', f]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /junk\.pcap: byte 0: not a pcap or pcapng file \(magic 0x6c6c6568\)/);
    assertNoStack(r.stderr);
  });

  test('truncated capture → frames before it printed, exit 3, offset in the message', () => {
    // Non-IPv6 frames: this test does not depend on the core decoder.
    const arp = (i: number) => Uint8Array.from(Buffer.from('ffffffffffff0200000001010806' + '0001080006040001' + i.toString(16).padStart(40, '0'), 'hex'));
    const src = encodePcap(Array.from({ length: 12 }, (_, i) => ({ timestampNs: BigInt(i) * 1000n, bytes: arp(i) })), { linktype: LINKTYPE_ETHERNET });
    const all = readCaptureSync(src).records;
    const cutAt = all[10]!.fileOffset + 20; // inside frame 11's data
    const f = join(tmp, 'cut.pcap');
    writeFileSync(f, src.subarray(0, cutAt));
    const r = cli(['decode', f]);
    assert.equal(r.status, 3, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l).frame), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.match(r.stderr, new RegExp(`cut\\.pcap: byte ${all[10]!.fileOffset}: truncated packet data: record needs 58 bytes, 20 present \\(after 10 packets\\)`));
    assertNoStack(r.stderr);
  });

  test('an output directory that is a file (demo/run --out) → exit 1 naming it, not "internal error"', async () => {
    const f = join(tmp, 'a-file');
    writeFileSync(f, 'x');
    for (const args of [['demo', '--out', f], ['demo', '--out', join(f, 'sub')], ['run', join(ROOT, 'examples', 'linear.yaml'), '--out', f]]) {
      const r = await cliIn(args);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /: not a directory \(a file is in the way\)/);
      assert.doesNotMatch(r.stderr, /internal error|this is a bug/);
      assertNoStack(r.stderr);
    }
  });

  test('usage errors → exit 2 with a hint', async () => {
    const spawned = cli(['decode', '--format', 'xml', 'x.pcap']);
    assert.equal(spawned.status, 2, spawned.stderr);
    assert.match(spawned.stderr, /argument 'xml' is invalid. Allowed choices are jsonl, table/);
    for (const args of [['decode'], ['decode', '--format', 'xml', 'x.pcap'], ['frobnicate'], ['decode', '--bogus', 'x']]) {
      const r = await cliIn(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /error: .*\n\(add --help for usage and an example\)/);
      assertNoStack(r.stderr);
    }
    const none = await cliIn([]);
    assert.equal(none.status, 2);
    assert.match(none.stdout + none.stderr, /Usage: ioamsim/);
  });

  test('--debug adds the stack', () => {
    const r = cli(['--debug', 'decode', join(tmp, 'nope.pcap')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^\s+at /m);
  });

  test('--help of every command teaches with a real example; exit 0', async () => {
    const main = cli(['--help']);
    assert.equal(main.status, 0);
    for (const c of ['decode', 'encap', 'transit', 'decap']) assert.match(main.stdout, new RegExp(`^  ${c} `, 'm'));
    for (const c of ['decode', 'encap', 'transit', 'decap']) {
      const h = await cliIn([c, '--help']);
      assert.equal(h.status, 0, c);
      assert.match(h.stdout, /Examples:\n\s+\$ ioamsim /, c);
      assert.match(h.stdout, /Exit codes:/, c);
      // Every example file it names exists.
      for (const m of h.stdout.matchAll(/(examples\/nodes\/[\w.-]+\.yaml|\/work\/shared\/captures\/[\w.-]+\.pcap)/g)) {
        copyFileSync(resolve(ROOT, m[1]!), join(tmp, 'exists-check'));
      }
    }
    assert.match((await cliIn(['--version'])).stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
