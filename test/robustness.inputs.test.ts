/**
 * Bad input everywhere, through the CLI as a user runs it (`node --import tsx app/cli/main.ts`):
 * a full disk under `transit`, `run` and `demo` (root: a 64 KiB tmpfs); IOAM options at the
 * 255-octet Opt Data Len limit (a 244-byte trace, RemainingLen 61) and one word beyond;
 * malformed topology files; a million-packet capture truncated in its last record.
 * docs/ROBUSTNESS.md "Bad input everywhere". Without root the full-disk tests fail loudly unless
 * IOAMSIM_NO_KERNEL=1.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodePcap, readCaptureSync, LINKTYPE_RAW } from '../src/capture';

const ROOT = resolve(__dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'ioamsim-badinput-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'app/cli/main.ts'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, IOAMSIM_DEBUG: '' }, maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function assertNoStack(stderr: string) {
  assert.doesNotMatch(stderr, /^\s+at .+[:(]/m, `stack trace printed:\n${stderr}`);
  assert.doesNotMatch(stderr, /this is a bug/, `reported as a bug:\n${stderr}`);
}

/** A UDP packet fd00::1 → fd00::2, `payload` octets of payload. */
function udp(payload = 12): Uint8Array {
  const p = new Uint8Array(48 + payload);
  p[0] = 0x60; p[4] = (8 + payload) >> 8; p[5] = (8 + payload) & 0xff; p[6] = 17; p[7] = 64;
  p[8] = 0xfd; p[23] = 1; p[24] = 0xfd; p[39] = 2;
  p[44] = (8 + payload) >> 8; p[45] = (8 + payload) & 0xff;
  return p;
}
function pcapOf(file: string, packets: Uint8Array[]): string {
  const path = join(tmp, file);
  writeFileSync(path, encodePcap(packets.map((bytes, i) => ({ timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1000n, bytes })), { linktype: LINKTYPE_RAW }));
  return path;
}
function yamlFile(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

const R1 = join(ROOT, 'examples/nodes/r1.yaml');
/** An encapsulating node with a Pre-allocated trace of `size` octets (hop limit + node id, interface ids, timestamps). */
const encapNode = (size: number) => yamlFile(`h1-${size}.yaml`, `name: h1
profile: linux
ioam6_id: 1
interfaces:
  - name: h1-r1
namespaces:
  - id: 123
encap:
  mode: inline
  trace: { type: 0xf00000, ns: 123, size: ${size} }
  freq: { k: 1, n: 1 }
`);
const TRANSIT = yamlFile('r.yaml', `name: r1
profile: linux
ioam6_id: 2
interfaces:
  - { name: r1-h1, ioam6_enabled: true, ioam6_id: 201 }
  - { name: r1-r2, ioam6_id: 202 }
namespaces:
  - id: 123
`);

// ---------------------------------------------------------------------------------------------
// Full disk

function isRoot(): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env['IOAMSIM_NO_KERNEL'] === '1') return false;
  assert.fail('the full-disk tests mount a tmpfs and need root (set IOAMSIM_NO_KERNEL=1 to skip them)');
}
/** Runs `f` with a fresh 64 KiB tmpfs mounted on a new directory; always unmounts. */
function withTinyDisk(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ioamsim-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  assert.equal(m.status, 0, `mount tmpfs failed: ${m.stderr}`);
  try {
    f(dir);
  } finally {
    const u = spawnSync('umount', [dir], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(u.status, 0, `umount failed: ${u.stderr}`);
  }
}
/** Every file under `dir` (relative paths). */
function listAll(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? (d as unknown as { path: string }).path, d.name).slice(dir.length + 1)).sort();
}

describe('full disk (64 KiB tmpfs): a clear ENOSPC error, exit 4, nothing that looks complete', () => {
  const root = isRoot();

  test('transit: 3000 packets do not fit → no OUT and no OUT.partial left', { skip: !root && 'IOAMSIM_NO_KERNEL=1' }, () => {
    const input = pcapOf('3k.pcap', Array.from({ length: 3000 }, () => udp()));
    withTinyDisk((disk) => {
      const out = join(disk, 'out.pcapng');
      const r = cli(['transit', '--node', R1, '--ingress', 'r1-h1', '--egress', 'r1-r2', input, out]);
      assert.equal(r.status, 4, r.stderr);
      assert.match(r.stderr, new RegExp(`^ioamsim transit: error: ${out.replace(/\./g, '\\.')}: byte \\d+: cannot write ${out.replace(/\./g, '\\.')}\\.partial: ENOSPC: no space left on device`, 'm'));
      assertNoStack(r.stderr);
      assert.deepEqual(listAll(disk), [], 'nothing may be left on the full disk');
    });
  });

  test('run: the outputs do not fit → ENOSPC, no summary.json, no .partial', { skip: !root && 'IOAMSIM_NO_KERNEL=1' }, () => {
    withTinyDisk((disk) => {
      const out = join(disk, 'run');
      const r = cli(['run', join(ROOT, 'examples/linear.yaml'), '--out', out, '--no-progress']);
      assert.equal(r.status, 4, r.stderr);
      assert.match(r.stderr, new RegExp(`^ioamsim run: error: (cannot write output: cannot write )?${out}/[\\w.-]+: .*ENOSPC: no space left on device`, 'm'));
      assertNoStack(r.stderr);
      const files = existsSync(out) ? listAll(out) : [];
      assert.ok(!files.includes('summary.json'), `summary.json left behind: ${files.join(', ')}`);
      assert.ok(!files.includes('run-info.json'), `run-info.json left behind: ${files.join(', ')}`);
      // A failed run removes all its outputs: a capture or traces file cut short by the full disk
      // (fs.writeSync writes part of a string and returns) would otherwise look like a short run.
      assert.deepEqual(files, [], `outputs left behind: ${files.join(', ')}`);
    });
  });

  test('demo: the report does not fit → ENOSPC naming the file, no summary.json, no .partial', { skip: !root && 'IOAMSIM_NO_KERNEL=1' }, () => {
    withTinyDisk((disk) => {
      const out = join(disk, 'demo');
      const r = cli(['demo', '--out', out]);
      assert.equal(r.status, 4, r.stderr);
      assert.match(r.stderr, new RegExp(`^ioamsim demo: error: cannot write output: cannot write ${out}/[\\w.]+: ENOSPC: no space left on device`, 'm'));
      assertNoStack(r.stderr);
      const files = listAll(out);
      assert.ok(!files.includes('summary.json'), `summary.json left behind: ${files.join(', ')}`);
      assert.deepEqual(files.filter((f) => f.endsWith('.partial')), []);
      // What was written before the disk filled up is whole (renamed only when complete).
      for (const f of files) assert.ok(statSync(join(out, f)).size > 0, `${f} is empty`);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Option length at the limit

/** IPv6 + HbH(PadN 2, IOAM option of Opt Data Len `optLen`, PadN to 8n) + UDP. Trace header given, data zero. */
function hbhTrace(optLen: number, remLen: number, nodeLen = 4, traceType = 0xf00000): Uint8Array {
  const opt = new Uint8Array(2 + optLen);
  opt[0] = 0x31; opt[1] = optLen; opt[2] = 0; opt[3] = 0; // Reserved, Pre-allocated Trace
  opt[4] = 0; opt[5] = 123; opt[6] = nodeLen << 3; opt[7] = remLen;
  opt[8] = traceType >> 16; opt[9] = (traceType >> 8) & 0xff; opt[10] = traceType & 0xff;
  const body = 2 + 2 + opt.length;
  const pad = (8 - (body % 8)) % 8;
  const hbh = new Uint8Array(body + pad);
  hbh[0] = 17; hbh[1] = hbh.length / 8 - 1; hbh[2] = 1; hbh[3] = 0; // PadN 2 → option at 4n+2 +2 = 4n
  hbh.set(opt, 4);
  if (pad === 1) hbh[4 + opt.length] = 0;
  else if (pad > 1) { hbh[4 + opt.length] = 1; hbh[5 + opt.length] = pad - 2; }
  const u = udp();
  const p = new Uint8Array(u.length + hbh.length);
  p.set(u.subarray(0, 40)); p.set(hbh, 40); p.set(u.subarray(40), 40 + hbh.length);
  p[6] = 0; const pl = p.length - 40; p[4] = pl >> 8; p[5] = pl & 0xff;
  return p;
}
interface Decoded { packet: { extHeaders: { options: { offset: number; option: { kind: string; data?: Record<string, unknown> } }[] }[] } | null; error?: { code: string; offset: number } }
function decodeFile(file: string): Decoded[] {
  const r = cli(['decode', file]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Decoded);
}
const ioamOf = (d: Decoded) => d.packet!.extHeaders[0]!.options.find((o) => o.option.kind === 'ioam')!;

describe('IOAM option at the Opt Data Len limit (244-byte trace)', () => {
  test('encap size 244 → Opt Data Len 254, 61 words of trace data; transit fills it; decode reads it', () => {
    const input = pcapOf('two.pcap', [udp(), udp(100)]);
    const enc = join(tmp, 'e244.pcapng');
    const e = cli(['encap', '--node', encapNode(244), '--egress', 'h1-r1', input, enc]);
    assert.equal(e.status, 0, e.stderr);
    const tr = join(tmp, 't244.pcapng');
    const t = cli(['transit', '--node', TRANSIT, '--ingress', 'r1-h1', '--egress', 'r1-r2', enc, tr]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /2 packets read, 2 written, 0 dropped/);
    assert.match(t.stderr, /written {2}2/);
    for (const [file, filled] of [[enc, 1], [tr, 2]] as const) {
      const recs = readCaptureSync(readFileSync(file), { file }).records;
      assert.equal(recs.length, 2);
      for (const rec of recs) {
        const b = rec.network!;
        assert.equal(b[6], 0);
        assert.equal(b[44], 0x31, 'IOAM option after a PadN 2');
        assert.equal(b[45], 254, 'Opt Data Len: 2 + 8 + 244, the largest 4n-aligned value ≤ 255');
        assert.equal(b[51]! & 0x7f, 61 - 4 * filled, 'RemainingLen');
      }
      for (const d of decodeFile(file)) {
        assert.equal(d.error, undefined);
        const o = ioamOf(d).option.data!;
        assert.equal(o['remainingLen'], 61 - 4 * filled);
        assert.equal((o['nodes'] as unknown[]).length, filled);
        assert.equal((o['freeSpace'] as string).length, 2 * 4 * (61 - 4 * filled));
      }
    }
  });

  test('tshark dissects the 244-byte trace the same: Opt Data Len 254, RemainingLen 53, both nodes', (t) => {
    if (spawnSync('tshark', ['--version']).status !== 0) {
      if (process.env['IOAMSIM_NO_TSHARK'] === '1') return t.skip('IOAMSIM_NO_TSHARK=1');
      assert.fail('tshark not found (set IOAMSIM_NO_TSHARK=1 to skip)');
    }
    const file = join(tmp, 't244.pcapng');
    assert.ok(existsSync(file), 'written by the test above');
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ipv6.opt.length', '-e', 'ipv6.opt.ioam.trace.remlen',
      '-e', 'ipv6.opt.ioam.trace.node.id', '-e', 'ipv6.opt.ioam.trace.node.iif', '-e', 'ipv6.opt.ioam.trace.node.eif'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    // PadN (length 0), IOAM (254), PadN (2); r1 (id 2, 201 → 202) above h1 (id 1, local → local).
    for (const l of lines) assert.equal(l, '0,254,2\t53\t0x000002,0x000001\t0x00c9,0xffff\t0x00ca,0xffff');
  });

  test('hand-built Opt Data Len 254 / RemainingLen 61 (empty 244-byte trace) decodes and transits', () => {
    const p = hbhTrace(254, 61);
    const file = pcapOf('rl61.pcap', [p]);
    const [d] = decodeFile(file);
    assert.equal(d!.error, undefined);
    assert.equal(ioamOf(d!).option.data!['remainingLen'], 61);
    const out = join(tmp, 'rl61.out.pcapng');
    const t = cli(['transit', '--node', TRANSIT, '--ingress', 'r1-h1', '--egress', 'r1-r2', file, out]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /written {2}1/);
    const [rec] = readCaptureSync(readFileSync(out), { file: out }).records;
    assert.equal(rec!.network![51]! & 0x7f, 57);
  });

  test('Opt Data Len 255 (one octet past the 244-byte trace) is read without crashing and judged consistently', () => {
    // 2 + 8 + 245 octets: the trace data is not a whole number of words.
    const file = pcapOf('len255.pcap', [hbhTrace(255, 61)]);
    const [d] = decodeFile(file);
    assert.equal(d!.packet!.extHeaders[0]!.options.find((o) => o.option.kind === 'ioam')?.offset, 44);
    const out = join(tmp, 'len255.out.pcapng');
    const t = cli(['transit', '--node', TRANSIT, '--ingress', 'r1-h1', '--egress', 'r1-r2', file, out]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /1 packet read, (0 written, 1 dropped|1 written, 0 dropped)/);
  });

  test('one word beyond: RemainingLen 62 in a 244-byte trace → ERR_IOAM_BAD_REMAININGLEN, dropped by transit', () => {
    const file = pcapOf('rl62.pcap', [hbhTrace(254, 62)]);
    const [d] = decodeFile(file);
    const errs = JSON.stringify(d);
    assert.match(errs, /ERR_IOAM_BAD_REMAININGLEN/);
    const out = join(tmp, 'rl62.out.pcapng');
    const t = cli(['transit', '--node', TRANSIT, '--ingress', 'r1-h1', '--egress', 'r1-r2', file, out]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /1 packet read, 0 written, 1 dropped/);
  });

  test('one word beyond: a node file with size 248 → exit 1 naming file:line: encap.trace.size', () => {
    const node = encapNode(248);
    const r = cli(['encap', '--node', node, '--egress', 'h1-r1', pcapOf('one.pcap', [udp()]), join(tmp, 'never.pcapng')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /h1-248\.yaml:10: encap\.trace\.size: .*244/);
    assertNoStack(r.stderr);
    assert.ok(!existsSync(join(tmp, 'never.pcapng')) && !existsSync(join(tmp, 'never.pcapng.partial')));
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed topology files

describe('malformed topology files → exit 1, file:line: path: reason, no output directory', () => {
  const linear = readFileSync(join(ROOT, 'examples/linear.yaml'), 'utf8');
  const cases: [string, string, RegExp][] = [
    ['syntax', linear.replace('name: linear', 'name: [linear'), /syntax\.yaml:\d+: <yaml>: .*\]/],
    ['types', linear.replace(/ioam6_id: 2$/m, 'ioam6_id: "two"'), /types\.yaml:21: nodes\[1\]\.ioam\.ioam6_id: expected an integer/],
    ['unknown-node', linear.replace('b: "r2:r2-r1"', 'b: "r9:r2-r1"'), /unknown-node\.yaml:42: links\[1\]\.b: unknown node "r9"/],
    ['duplicate', linear.replace('- name: r2', '- name: r1'), /duplicate\.yaml:26: nodes\[2\]\.name: duplicate node name "r1"/],
    ['units', linear.replace('bandwidth: 1Gbps', 'bandwidth: 1Gbpz'), /units\.yaml:8: defaults\.link\.bandwidth: expected a rate/],
  ];
  for (const [name, text, want] of cases) {
    test(name, () => {
      assert.notEqual(text, linear, 'the mutation applied');
      const out = join(tmp, `topo-${name}`);
      const r = cli(['run', yamlFile(`${name}.yaml`, text), '--out', out, '--no-progress']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^ioamsim run: error: .*${want.source}`, 'm'));
      assertNoStack(r.stderr);
      assert.ok(!existsSync(out), 'no output directory for a rejected topology');
    });
  }
});

// ---------------------------------------------------------------------------------------------
// A million packets, truncated in the last record

test('a pcap of a million packets cut inside its last record: exit 3, byte offset, 999,999 packets written', () => {
  const n = 1_000_000;
  const pkt = udp(12); // 60 octets
  const rec = 16 + pkt.length;
  const buf = Buffer.alloc(24 + n * rec);
  buf.writeUInt32LE(0xa1b2c3d4, 0); buf.writeUInt16LE(2, 4); buf.writeUInt16LE(4, 6);
  buf.writeUInt32LE(65535, 16); buf.writeUInt32LE(LINKTYPE_RAW, 20);
  for (let i = 0, o = 24; i < n; i++, o += rec) {
    buf.writeUInt32LE(1_700_000_000 + Math.floor(i / 1_000_000), o);
    buf.writeUInt32LE(i % 1_000_000, o + 4);
    buf.writeUInt32LE(pkt.length, o + 8); buf.writeUInt32LE(pkt.length, o + 12);
    buf.set(pkt, o + 16);
  }
  const dir = join(tmp, 'million');
  mkdirSync(dir);
  const input = join(dir, 'million.pcap');
  writeFileSync(input, buf.subarray(0, buf.length - 10));
  const out = join(dir, 'out.pcapng');
  const r = cli(['transit', '--node', R1, '--ingress', 'r1-h1', '--egress', 'r1-r2', '--no-comments', input, out]);
  assert.equal(r.status, 3, r.stderr);
  const lastRecord = 24 + (n - 1) * rec;
  assert.match(r.stderr, new RegExp(`million\\.pcap: byte ${lastRecord}: truncated packet data: record needs ${rec} bytes, ${rec - 10} present \\(after ${n - 1} packets\\); the ${n - 1} packets before it were processed and written to`));
  assert.match(r.stderr, new RegExp(`${n - 1} packets read, ${n - 1} written, 0 dropped`));
  assertNoStack(r.stderr);
  assert.deepEqual(readdirSync(dir).sort(), ['million.pcap', 'out.pcapng']);
  // SHB + IDB, then one Enhanced Packet Block of 32 + 60 octets per packet (no comments).
  const size = statSync(out).size;
  assert.equal((size - (n - 1) * 92) > 0 && (size - (n - 1) * 92) < 256, true, `output size ${size}`);
  const head = readCaptureSync(readFileSync(out), { file: out });
  assert.equal(head.records.length, n - 1);
});
