/**
 * Wireshark cross-check: a pcapng we write (the injected IOAM packets of the real-kernel captures)
 * opens in tshark with IOAM dissected, nanosecond timestamps intact, interface names and packet
 * comments shown; and tshark agrees with our reader on real captures.
 * Needs tshark; set IOAMSIM_NO_TSHARK=1 to opt out explicitly.
 */
import { capturesDir } from '../src/shared';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { encodePcapng, readCaptureSync, LINKTYPE_ETHERNET, LINKTYPE_RAW, type WriterPacket } from '../src/capture';

const CAPTURES = capturesDir();
const optOut = process.env.IOAMSIM_NO_TSHARK === '1';
const haveTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

function tshark(args: string[]): string[][] {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `tshark ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0).map((l) => l.split('|'));
}

/** ns of every well-formed (Opt Data Len ≥ 10) IOAM trace option (type 0/1) in the Hop-by-Hop header. */
function hbhTraceNamespaces(p: Uint8Array): number[] {
  if (p.length < 48 || p[6] !== 0) return [];
  const end = Math.min(p.length, 40 + (p[41]! + 1) * 8);
  const out: number[] = [];
  for (let o = 42; o < end;) {
    const t = p[o]!;
    if (t === 0) { o++; continue; }
    if (o + 2 > end) break;
    const len = p[o + 1]!;
    if (t === 0x31 && len >= 10 && o + 2 + len <= end && (p[o + 3] === 0 || p[o + 3] === 1)) out.push((p[o + 4]! << 8) | p[o + 5]!);
    o += 2 + len;
  }
  return out;
}

describe('tshark cross-check', { skip: optOut ? 'IOAMSIM_NO_TSHARK=1' : false }, () => {
  test('tshark is installed (set IOAMSIM_NO_TSHARK=1 to opt out)', () => {
    assert.ok(haveTshark, 'tshark not found on PATH: install it (apt-get install tshark) or set IOAMSIM_NO_TSHARK=1');
  });

  test('a pcapng we write: IOAM dissected, ns timestamps, interface names, comments', { skip: !haveTshark }, () => {
    const summary = readFileSync(join(CAPTURES, 'decoded-summary.txt'), 'utf8');
    const cases: Array<[string, Uint8Array]> = [];
    let current = '';
    for (const line of summary.split('\n')) {
      const m = /^#{8,} (\S+)/.exec(line);
      if (m) current = m[1]!;
      const inj = /^injected: ([0-9a-f]+)/.exec(line);
      if (inj) cases.push([current, Uint8Array.from(Buffer.from(inj[1]!, 'hex'))]);
    }
    assert.ok(cases.length >= 30, `${cases.length} injected packets`);
    const eth = Buffer.from('02000000010202000000010186dd', 'hex');
    const packets: WriterPacket[] = cases.map(([name, bytes], i) => ({
      interface: i % 2,
      timestampNs: 1795721275_123456789n + BigInt(i) * 1_000_000_007n,
      bytes: i % 2 === 0 ? bytes : Uint8Array.from(Buffer.concat([eth, bytes])),
      comment: i % 3 === 0 ? [`case ${name}`, `n=${i} ✓`] : `case ${name}`,
    }));
    const dir = mkdtempSync(join(tmpdir(), 'ioamsim-tshark-'));
    try {
      const file = join(dir, 'injected.pcapng');
      writeFileSync(file, encodePcapng([{ name: 'h1-r1', linktype: LINKTYPE_RAW }, { name: 'r1-h1', linktype: LINKTYPE_ETHERNET }], packets));
      const rows = tshark(['-r', file, '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=;',
        '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'frame.interface_name', '-e', 'frame.comment',
        '-e', 'ipv6.opt.ioam.trace.ns', '-e', 'ipv6.src']);
      assert.equal(rows.length, packets.length);
      let withTrace = 0;
      rows.forEach((row, i) => {
        const [num, epoch, ifname, comment, ns, src] = row as [string, string, string, string, string, string];
        const p = packets[i]!;
        assert.equal(num, String(i + 1));
        const sec = p.timestampNs / 1_000_000_000n, frac = p.timestampNs % 1_000_000_000n;
        assert.equal(epoch, `${sec}.${frac.toString().padStart(9, '0')}`, `frame ${i + 1}: ns timestamp`);
        assert.equal(ifname, i % 2 === 0 ? 'h1-r1' : 'r1-h1');
        assert.equal(comment, ([] as string[]).concat(p.comment!).join(';'), `frame ${i + 1}: comments`);
        assert.equal(src, 'fd00:aa:1::1', `frame ${i + 1}: IPv6 dissected`);
        const expected = hbhTraceNamespaces(cases[i]![1]);
        if (expected.length > 0) {
          withTrace++;
          assert.deepEqual(ns.split(';').map(Number).slice(0, expected.length), expected, `frame ${i + 1} (${cases[i]![0]}): IOAM trace ns`);
        }
      });
      assert.ok(withTrace >= 20, `${withTrace} packets with an IOAM trace dissected`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ioamsim transit output: tshark sees r1\'s node data and the outcome comment', { skip: !haveTshark }, async () => {
    const { run } = await import('../app/cli/main');
    const { Writable } = await import('node:stream');
    const dir = mkdtempSync(join(tmpdir(), 'ioamsim-tshark-'));
    try {
      const out = join(dir, 'r1.pcapng');
      let err = '';
      const sink = new Writable({ write(c, _e, cb) { err += String(c); cb(); } });
      const code = await run(['transit', '-n', 'examples/nodes/r1.yaml', '-i', 'r1-h1', '-e', 'r1-r2', join(CAPTURES, 'a_full_trace.h1.pcap'), out], { stdout: sink, stderr: sink, env: {} });
      assert.equal(code, 0, err);
      const [row] = tshark(['-r', out, '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=;', '-e', 'frame.interface_name', '-e', 'frame.comment',
        '-e', 'ipv6.opt.ioam.trace.node.id', '-e', 'ipv6.opt.ioam.trace.node.iif', '-e', 'ipv6.opt.ioam.trace.node.eif', '-e', 'ipv6.opt.ioam.trace.remlen', '-e', 'ipv6.hlim']);
      assert.deepEqual(row, ['r1:r1-r2', 'transit r1: written', '0x000001', '0x0065', '0x0066', '34', '63']); // tshark prints ids in hex
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tshark and our reader agree on real captures (frames, ns timestamps, lengths)', { skip: !haveTshark }, () => {
    for (const f of ['q_queue_depth_tbf.h1.pcap', 'a_full_trace.pcap', 'l2_hoplimit_2.h1.pcap', 'e_misaligned_no_pad.pcap']) {
      const path = join(CAPTURES, f);
      const ours = readCaptureSync(readFileSync(path), { file: f });
      assert.equal(ours.error, null);
      const rows = tshark(['-r', path, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len']);
      assert.equal(ours.records.length, rows.length, f);
      rows.forEach(([epoch, len, cap], i) => {
        const r = ours.records[i]!;
        const [s, frac] = epoch!.split('.') as [string, string];
        assert.equal(r.timestampNs, BigInt(s) * 1_000_000_000n + BigInt(frac.padEnd(9, '0')), `${f} frame ${i + 1}`);
        assert.equal(r.origlen, Number(len));
        assert.equal(r.caplen, Number(cap));
      });
    }
  });
});
