/**
 * `ioamsim transit|encap|decap` spawned on the real kernel captures: r1's node file applied to
 * `<case>.h1.pcap` must reproduce the IOAM bytes of `<case>.r2in.pcap` (timestamps and the hop
 * limit decrement of forwarding aside), drops must match the kernel's, and bad input must give a
 * clear message and exit code.
 */
import { capturesDir } from '../src/shared';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { encodePcap, encodePcapng, readCaptureSync, LINKTYPE_ETHERNET, LINKTYPE_RAW, type CaptureRecord } from '../src/capture';
import { run } from '../app/cli/main';

const ROOT = resolve(__dirname, '..');
const CAPTURES = capturesDir();
const tmp = mkdtempSync(join(tmpdir(), 'ioamsim-cli-dp-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'app/cli/main.ts'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, IOAMSIM_DEBUG: '' }, maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function assertNoStack(stderr: string) {
  assert.doesNotMatch(stderr, /^\s+at .+[:(]/m, `stack trace printed:\n${stderr}`);
}
/** The same CLI in-process (`run()` of app/cli/main.ts): fast for loops over many cases. */
async function cliInProcess(args: string[]) {
  let stdout = '', stderr = '';
  const sink = (f: (s: string) => void) => new Writable({ write(c, _e, cb) { f(String(c)); cb(); } });
  const status = await run(args, { stdout: sink((s) => { stdout += s; }), stderr: sink((s) => { stderr += s; }), env: {} });
  return { status, stdout, stderr };
}
const read = (f: string) => readCaptureSync(readFileSync(f), { file: f });

/** The UDP packet h1 sent for a case (payload = case name), not ICMPv6 errors quoting it. */
function casePacket(recs: CaptureRecord[], name: string): CaptureRecord | undefined {
  const tail = Buffer.from(name);
  return recs.find((r) => r.network !== null && r.network[6] !== 58 && Buffer.from(r.network).subarray(-tail.length).equals(tail)
    && Buffer.from(r.network.subarray(8, 24)).toString('hex') === 'fd0000aa000100000000000000000001');
}

/**
 * Bytes to ignore when comparing our transit output with the kernel's: the timestamp fields of
 * the node data (the kernel's receive clock).
 */
function maskedHex(p: Uint8Array): string {
  const b = Buffer.from(p);
  if (b[6] === 0 && b.length >= 48) {
    const end = Math.min(b.length, 40 + (b[41]! + 1) * 8);
    for (let o = 42; o + 2 <= end;) {
      if (b[o] === 0) { o++; continue; }
      const len = b[o + 1]!;
      if (b[o] === 0x31 && len >= 10 && b[o + 3] === 0 && o + 2 + len <= end) {
        const t = o + 4; // trace header
        const nodeLen = b[t + 2]! >> 3;
        const type = (b[t + 4]! << 16) | (b[t + 5]! << 8) | b[t + 6]!;
        const remLen = b[t + 3]! & 0x7f;
        const dataEnd = o + 2 + len;
        // Every node element after the free space: mask bits 2 and 3 (timestamp s / fraction).
        const before = ((type & 0x800000) ? 1 : 0) + ((type & 0x400000) ? 1 : 0);
        for (let n = t + 8 + remLen * 4; n + nodeLen * 4 <= dataEnd && nodeLen > 0;) {
          let f = n + before * 4;
          if (type & 0x200000) { b.fill(0, f, f + 4); f += 4; }
          if (type & 0x100000) b.fill(0, f, f + 4);
          let oss = 0;
          if (type & 0x000002) oss = 4 + 4 * (b[n + nodeLen * 4] ?? 0);
          n += nodeLen * 4 + oss;
        }
      }
      o += 2 + len;
    }
  }
  return b.toString('hex');
}

describe('ioamsim transit reproduces the kernel (r1 of test/fixtures/linux-6.18/MANIFEST.md)', () => {
  const cases = readdirSync(CAPTURES).filter((f) => f.endsWith('.h1.pcap')).map((f) => f.slice(0, -'.h1.pcap'.length)).sort();
  const r1 = join(ROOT, 'examples/nodes/r1.yaml');
  const r1Disabled = join(tmp, 'r1-disabled.yaml');
  writeFileSync(r1Disabled, readFileSync(r1, 'utf8').replace('ioam6_enabled: true', 'ioam6_enabled: false'));

  test('every case: same IOAM bytes as .r2in.pcap, or dropped where the kernel dropped', async () => {
    assert.ok(cases.length >= 30, `${cases.length} cases`);
    const failures: string[] = [];
    let compared = 0, dropped = 0;
    for (const name of cases) {
      const node = /r1_disabled|ioam_disabled_r1/.test(name) ? r1Disabled : r1;
      const out = join(tmp, `${name}.out.pcapng`);
      const args = ['transit', '--node', node, '--ingress', 'r1-h1', '--egress', 'r1-r2', join(CAPTURES, `${name}.h1.pcap`), out];
      if (name === 'q_queue_depth_tbf') args.push('--queue-depth', '39294'); // the tbf backlog r1 saw (MANIFEST)
      const r = await cliInProcess(args);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      const ours = casePacket(read(out).records, name);
      const kernel = casePacket(read(join(CAPTURES, `${name}.r2in.pcap`)).records, name);
      if (!kernel) {
        dropped++;
        if (ours) failures.push(`${name}: the kernel dropped it at r1, we passed it (${r.stderr.trim().split('\n')[0]})`);
        else if (!/drop-/.test(r.stderr)) failures.push(`${name}: dropped, but no drop reason in the summary: ${r.stderr}`);
        continue;
      }
      compared++;
      if (!ours) { failures.push(`${name}: we dropped it, the kernel forwarded it: ${r.stderr}`); continue; }
      if (maskedHex(ours.network!) !== maskedHex(kernel.network!)) {
        failures.push(`${name}: bytes differ\n  ours   ${maskedHex(ours.network!)}\n  kernel ${maskedHex(kernel.network!)}`);
      }
    }
    assert.ok(compared >= 20 && dropped >= 5, `compared ${compared}, dropped ${dropped}`);
    assert.deepEqual(failures, [], failures.join('\n'));
  });

  test('r1 then r2 (chained through our own pcapng): same bytes as <case>.pcap at h2', async () => {
    const r2 = join(ROOT, 'examples/nodes/r2.yaml');
    const failures: string[] = [];
    let compared = 0, dropped = 0;
    for (const name of cases) {
      const node1 = /r1_disabled|ioam_disabled_r1/.test(name) ? r1Disabled : r1;
      const hop1 = join(tmp, `${name}.r1.pcapng`), hop2 = join(tmp, `${name}.r2.pcapng`);
      const a = await cliInProcess(['transit', '-n', node1, '-i', 'r1-h1', '-e', 'r1-r2', '-q', join(CAPTURES, `${name}.h1.pcap`), hop1]);
      assert.equal(a.status, 0, a.stderr);
      const b = await cliInProcess(['transit', '-n', r2, '-i', 'r2-r1', '-e', 'r2-h2', hop1, hop2]);
      assert.equal(b.status, 0, b.stderr);
      const ours = casePacket(read(hop2).records, name);
      const kernel = casePacket(read(join(CAPTURES, `${name}.pcap`)).records, name);
      if (name === 'q_queue_depth_tbf') continue; // r1's queue depth came from a real tbf backlog
      if (!kernel) {
        dropped++;
        if (ours) failures.push(`${name}: the kernel dropped it before h2, we passed it`);
        continue;
      }
      compared++;
      if (!ours) failures.push(`${name}: we dropped it, the kernel delivered it: ${b.stderr}`);
      else if (maskedHex(ours.network!) !== maskedHex(kernel.network!)) {
        failures.push(`${name}: bytes differ\n  ours   ${maskedHex(ours.network!)}\n  kernel ${maskedHex(kernel.network!)}`);
      }
    }
    assert.ok(compared >= 20 && dropped >= 5, `compared ${compared}, dropped ${dropped}`);
    assert.deepEqual(failures, [], failures.join('\n'));
  });

  test('then h2 (egress local): same Hop-by-Hop header as h2_socket_view.jsonl', async () => {
    const r2 = join(ROOT, 'examples/nodes/r2.yaml'), h2 = join(ROOT, 'examples/nodes/h2.yaml');
    const views = readFileSync(join(CAPTURES, 'h2_socket_view.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { payload: string; hbh_hex?: string });
    const failures: string[] = [];
    let compared = 0;
    for (const v of views) {
      if (!v.hbh_hex || !cases.includes(v.payload) || v.payload === 'q_queue_depth_tbf') continue;
      const name = v.payload;
      const node1 = /r1_disabled|ioam_disabled_r1/.test(name) ? r1Disabled : r1;
      const hops = [1, 2, 3].map((i) => join(tmp, `${name}.h${i}.pcapng`));
      for (const [args, out] of [[['-n', node1, '-i', 'r1-h1', '-e', 'r1-r2', join(CAPTURES, `${name}.h1.pcap`)], hops[0]], [['-n', r2, '-i', 'r2-r1', '-e', 'r2-h2', hops[0]!], hops[1]], [['-n', h2, '-i', 'h2-r2', '-e', 'local', hops[1]!], hops[2]]] as const) {
        const r = await cliInProcess(['transit', '-q', ...args, out!]);
        assert.equal(r.status, 0, r.stderr);
      }
      const ours = casePacket(read(hops[2]!).records, name);
      if (!ours) { failures.push(`${name}: not delivered at h2`); continue; }
      const hbhLen = (ours.network![41]! + 1) * 8;
      const kernel = Buffer.from(ours.network!);
      Buffer.from(v.hbh_hex, 'hex').copy(kernel, 40);
      compared++;
      if (v.hbh_hex.length !== hbhLen * 2 || maskedHex(ours.network!) !== maskedHex(kernel)) {
        failures.push(`${name}: HbH differs\n  ours   ${Buffer.from(ours.network!.subarray(40, 40 + hbhLen)).toString('hex')}\n  kernel ${v.hbh_hex}`);
      }
    }
    assert.ok(compared >= 15, `compared ${compared}`);
    assert.deepEqual(failures, [], failures.join('\n'));
  });

  test('output file: raw IPv6 pcapng, interface <node>:<egress>, input timestamps, outcome comments', () => {
    const input = join(CAPTURES, 'q_queue_depth_tbf.h1.pcap');
    const out = join(tmp, 'q.pcapng');
    const r = cli(['transit', '-n', r1, '-i', 'r1-h1', '-e', '1', input, out]);
    assert.equal(r.status, 0, r.stderr);
    const src = read(input).records;
    const got = read(out);
    assert.equal(got.error, null);
    assert.equal(got.info.format, 'pcapng');
    assert.deepEqual(got.info.interfaces.map((i) => [i.name, i.linktype, i.tsresol.exp]), [['r1:r1-r2', LINKTYPE_RAW, 9]]);
    assert.equal(got.records.length, src.length);
    got.records.forEach((rec, i) => {
      assert.equal(rec.timestampNs, src[i]!.timestampNs);
      assert.equal(rec.comments.length, 1);
      assert.match(rec.comments[0]!, /^transit r1: [a-z-]+$/);
      assert.equal(rec.network![0]! >> 4, 6);
    });
    // The 40 fillers (and the rest without a Hop-by-Hop header) carry no IOAM: untouched but for
    // the forwarding hop-limit decrement.
    const fillers = src.filter((x) => x.network![6] !== 0);
    assert.ok(fillers.length >= 40 && fillers.length < src.length);
    for (const f of fillers) {
      const o = got.records[f.frame - 1]!;
      const expected = Uint8Array.from(f.network!);
      expected[7]!--;
      assert.equal(Buffer.from(o.network!).toString('hex'), Buffer.from(expected).toString('hex'));
      assert.equal(o.comments[0], 'transit r1: no-ioam');
    }
    assert.match(r.stderr, new RegExp(`^ioamsim transit r1 \\(ingress r1-h1, egress r1-r2\\): ${src.length} packets read, ${src.length} written, 0 dropped, 0 skipped\n`));
    assert.match(r.stderr, new RegExp(`^ {2}no-ioam +${fillers.length}$`, 'm'));
    assert.match(r.stderr, /^ {2}written +1$/m, 'r1 writes into the injected packet');
    // --no-comments, --quiet
    const q = cli(['transit', '-n', r1, '-i', '0', '-e', 'r1-r2', '--no-comments', '--quiet', input, out]);
    assert.equal(q.status, 0);
    assert.equal(q.stderr, '');
    assert.ok(read(out).records.every((x) => x.comments.length === 0));
  });

  test('batch size does not change the output', async () => {
    const input = join(CAPTURES, 'q_queue_depth_tbf.h1.pcap');
    const outs: Buffer[] = [];
    for (const n of [1, 7, 256]) {
      const out = join(tmp, `b${n}.pcapng`);
      assert.equal((await cliInProcess(['transit', '-n', r1, '-i', 'r1-h1', '-e', 'r1-r2', '--batch', String(n), input, out])).status, 0);
      outs.push(readFileSync(out));
    }
    assert.ok(outs[0]!.equals(outs[1]!) && outs[1]!.equals(outs[2]!));
  });
});

describe('ioamsim transit forwards like Linux ip6_forward', () => {
  test('hop limit decremented; <= 1 dropped after the fill; --no-forward and egress local keep it', async () => {
    const base = read(join(CAPTURES, 'o_no_ioam_baseline.h1.pcap')).records[0]!.network!;
    const withHl = (hl: number) => { const p = Uint8Array.from(base); p[7] = hl; return p; };
    const input = join(tmp, 'hl.pcap');
    writeFileSync(input, encodePcap([64, 1, 0, 2].map((hl, i) => ({ timestampNs: BigInt(i), bytes: withHl(hl) })), { linktype: LINKTYPE_RAW }));
    const out = join(tmp, 'hl.out.pcapng');
    const r = await cliInProcess(['transit', '-n', 'examples/nodes/r1.yaml', '-i', 'r1-h1', '-e', 'r1-r2', input, out]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(read(out).records.map((x) => x.network![7]), [63, 1]);
    assert.match(r.stderr, /4 packets read, 2 written, 2 dropped/);
    assert.match(r.stderr, /^ {2}drop-hop-limit \(after no-ioam\) +2$/m);
    for (const args of [['-e', 'r1-r2', '--no-forward'], ['-e', 'local']]) {
      const k = await cliInProcess(['transit', '-n', 'examples/nodes/r1.yaml', '-i', 'r1-h1', ...args, input, out]);
      assert.equal(k.status, 0, k.stderr);
      assert.deepEqual(read(out).records.map((x) => x.network![7]), [64, 1, 0, 2], args.join(' '));
    }
  });
});

test('non-IPv6 frames are skipped and counted; pcapng input with several link types', async () => {
  const v6 = read(join(CAPTURES, 'a_full_trace.h1.pcap')).records[0]!;
  const arp = Uint8Array.from(Buffer.from('ffffffffffff0200000001010806' + '00'.repeat(28), 'hex'));
  const input = join(tmp, 'mixed.pcapng');
  writeFileSync(input, encodePcapng([{ name: 'eth', linktype: LINKTYPE_ETHERNET }, { name: 'raw', linktype: LINKTYPE_RAW }], [
    { interface: 0, timestampNs: 1n, bytes: arp },
    { interface: 1, timestampNs: 2n, bytes: v6.network! },
    { interface: 0, timestampNs: 3n, bytes: v6.bytes },
    { interface: 1, timestampNs: 4n, bytes: Uint8Array.of(0x45, 0, 0, 20) },
  ]));
  const out = join(tmp, 'mixed.out.pcapng');
  const r = await cliInProcess(['transit', '-n', 'examples/nodes/r1.yaml', '-i', 'r1-h1', '-e', 'r1-r2', input, out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /4 packets read, 2 written, 0 dropped, 2 skipped/);
  assert.match(r.stderr, /^ {2}skipped-not-ipv6 +2$/m);
  assert.match(r.stderr, /^ {2}written +2$/m);
  const recs = read(out).records;
  assert.deepEqual(recs.map((x) => x.timestampNs), [2n, 3n]);
  assert.deepEqual(Buffer.from(recs[0]!.network!), Buffer.from(recs[1]!.network!), 'same packet from a raw and an Ethernet interface');
});

describe('ioamsim encap / decap', () => {
  test('encap inserts the IOAM option h1-encap.yaml configures (type 0xfff002, ns 123, 236 B)', () => {
    const out = join(tmp, 'encap.pcapng');
    const r = cli(['encap', '--node', 'examples/nodes/h1-encap.yaml', '--egress', 'h1-r1', join(CAPTURES, 'o_no_ioam_baseline.h1.pcap'), out]);
    assert.equal(r.status, 0, r.stderr);
    const [p] = read(out).records as [CaptureRecord];
    assert.equal(p.comments[0], 'encap h1: encapsulated', r.stderr);
    const n = p.network!;
    assert.equal(n[6], 0, 'next header = Hop-by-Hop');
    // Linux's inline HbH: [nh][hdrlen][01 00][31][10+S][00][00] + trace header, RemLen = S/4 = 59.
    assert.equal(Buffer.from(n.subarray(42, 50)).toString('hex'), `0100${'31'}${(10 + 236).toString(16)}0000007b`);
    assert.equal(((n[50]! >> 3) & 0x1f), 15, 'NodeLen of 0xfff002');
    // h1 fills its own element (15 words + a 1-word OSS without schema): RemLen 236/4 - 16.
    assert.equal(n[51]! & 0x7f, 59 - 16);
    assert.equal(Buffer.from(n.subarray(52, 55)).toString('hex'), 'fff002');
  });

  test('encap --clt-ids with a CLT-patched node: decode --clt legacy shows the IDs', async () => {
    const node = join(tmp, 'clt.yaml');
    writeFileSync(node, 'name: h1\ninterfaces:\n  - name: h1-r1\nnamespaces:\n  - id: 123\n    clt_legacy: true\nencap:\n  mode: inline\n  trace: { type: 0xc00000, ns: 123, size: 16 }\n  clt_legacy: true\n');
    const out = join(tmp, 'clt.pcapng');
    const ids = '0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331';
    const r = await cliInProcess(['encap', '-n', node, '-e', 'h1-r1', '--clt-ids', ids, join(CAPTURES, 'o_no_ioam_baseline.h1.pcap'), out]);
    assert.equal(r.status, 0, r.stderr);
    const d = await cliInProcess(['decode', '--clt', 'legacy', out]);
    assert.equal(d.status, 0, d.stderr);
    const pkt = JSON.parse(d.stdout).packet;
    const data = pkt.extHeaders[0].options.find((o: { option: { kind: string } }) => o.option.kind === 'ioam').option.data;
    assert.deepEqual(data.clt, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' });
    const bad = await cliInProcess(['encap', '-n', node, '-e', 'h1-r1', '--clt-ids', 'abc', join(CAPTURES, 'o_no_ioam_baseline.h1.pcap'), out]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--clt-ids must be TRACE_ID:SPAN_ID/);
  });

  test('decap at h2 on the kernel\'s h2 capture: --traces holds the HbH of h2_socket_view.jsonl', async () => {
    const views = readFileSync(join(CAPTURES, 'h2_socket_view.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { payload: string; hbh_hex?: string });
    let compared = 0, decapsulated = 0;
    const failures: string[] = [];
    for (const v of views) {
      if (!v.hbh_hex || !existsSync(join(CAPTURES, `${v.payload}.pcap`))) continue;
      const out = join(tmp, `${v.payload}.decap.pcapng`), tr = join(tmp, `${v.payload}.traces.jsonl`);
      const r = await cliInProcess(['decap', '-q', '-n', 'examples/nodes/h2.yaml', '-i', 'h2-r2', '--traces', tr, join(CAPTURES, `${v.payload}.pcap`), out]);
      assert.equal(r.status, 0, r.stderr);
      const input = casePacket(read(join(CAPTURES, `${v.payload}.pcap`)).records, v.payload);
      const stripped = casePacket(read(out).records, v.payload);
      const lines = readFileSync(tr, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const line = lines.find((l) => l.frame === input?.frame);
      if (!input || !stripped || !line) { failures.push(`${v.payload}: missing packet or trace line`); continue; }
      compared++;
      const hbhLen = (input.network![41]! + 1) * 8;
      const kernel = Buffer.from(input.network!);
      Buffer.from(v.hbh_hex, 'hex').copy(kernel, 40);
      if (line.reason !== 'decapsulated') {
        // Nothing removed (no IOAM for Linux, e.g. option 0x11): the packet keeps the HbH as h2 left it.
        assert.equal(line.hbh, '', v.payload);
        if (maskedHex(stripped.network!) !== maskedHex(kernel)) failures.push(`${v.payload} (${line.reason}): packet differs from the socket view`);
        continue;
      }
      decapsulated++;
      // The stripped packet: no Hop-by-Hop header, same upper layer.
      assert.equal(stripped.network![6], input.network![40], `${v.payload}: next header from the HbH`);
      assert.deepEqual(Buffer.from(stripped.network!.subarray(40)), Buffer.from(input.network!.subarray(40 + hbhLen)));
      const ours = Buffer.from(input.network!);
      Buffer.from(line.hbh, 'hex').copy(ours, 40);
      if (line.hbh.length !== v.hbh_hex.length || maskedHex(ours) !== maskedHex(kernel)) failures.push(`${v.payload}:\n  ours   ${line.hbh}\n  kernel ${v.hbh_hex}`);
    }
    assert.ok(decapsulated >= 10, `decapsulated ${decapsulated}`);
    assert.ok(compared >= 15, `compared ${compared}`);
    assert.deepEqual(failures, [], failures.join('\n'));
  });

  test('encap takes 40 + Payload Length as the packet (Ethernet padding trimmed, a cut packet dropped): decap gives it back', async () => {
    // An IPv6 packet with no payload (next header 59) in a 60-octet Ethernet frame: 6 octets of padding.
    const ip6 = Buffer.alloc(40);
    ip6[0] = 0x60; ip6[6] = 59; ip6[7] = 64;
    Buffer.from('fd0000aa000100000000000000000001fd0000aa000200000000000000000002', 'hex').copy(ip6, 8);
    const frame = Buffer.concat([Buffer.from('02000000000202000000000186dd', 'hex'), ip6, Buffer.alloc(6)]);
    // And the baseline UDP packet cut 4 octets short of its Payload Length.
    const base = read(join(CAPTURES, 'o_no_ioam_baseline.h1.pcap')).records[0]!.network!;
    const input = join(tmp, 'padded.pcapng');
    writeFileSync(input, encodePcapng([{ name: 'eth', linktype: LINKTYPE_ETHERNET }, { name: 'raw', linktype: LINKTYPE_RAW }], [
      { interface: 0, timestampNs: 1n, bytes: frame },
      { interface: 1, timestampNs: 2n, bytes: base.subarray(0, base.length - 4) },
    ]));
    const enc = join(tmp, 'padded.encap.pcapng'), dec = join(tmp, 'padded.decap.pcapng');
    const e = await cliInProcess(['encap', '-n', 'examples/nodes/h1-encap.yaml', '-e', 'h1-r1', input, enc]);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stderr, /1 written, 1 dropped/);
    assert.match(e.stderr, /drop-malformed-ipv6\s+1/);
    const [p] = read(enc).records as [CaptureRecord];
    const n = p.network!;
    assert.equal(n.length, 40 + 256, 'the HbH after 40 octets, no padding');
    assert.equal(Buffer.from(n).readUInt16BE(4), 256, 'Payload Length = the HbH only');
    const d = await cliInProcess(['decap', '-n', 'examples/nodes/h2.yaml', '-i', 'h2-r2', enc, dec]);
    assert.equal(d.status, 0, d.stderr);
    assert.deepEqual(Buffer.from(read(dec).records[0]!.network!), ip6);
  });

  test('decap with local egress runs and reports per-reason counts', () => {
    const out = join(tmp, 'decap.pcapng');
    const r = cli(['decap', '--node', 'examples/nodes/h2.yaml', '--ingress', 'h2-r2', join(CAPTURES, 'o_no_ioam_baseline.pcap'), out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^ioamsim decap h2 \(ingress h2-r2, egress local\): 1 packet read, 1 written/);
    assert.deepEqual(read(out).records[0]!.network, read(join(CAPTURES, 'o_no_ioam_baseline.pcap')).records[0]!.network);
  });
});

describe('ioamsim transit: bad input', () => {
  const input = join(CAPTURES, 'a_full_trace.h1.pcap');

  test('bad node file → exit 1, file:line: path: reason, no output left behind', () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'name: r9\ninterfaces:\n  - name: a\n    ioam6_id: 70000\n');
    const out = join(tmp, 'never.pcapng');
    const r = cli(['transit', '--node', bad, '--ingress', 'a', '--egress', 'a', input, out]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ioamsim transit: error: .*bad\.yaml:4: interfaces\[0\]\.ioam6_id: /m);
    assertNoStack(r.stderr);
    assert.equal(existsSync(out) || existsSync(out + '.partial'), false);
  });

  test('missing node file / missing capture → exit 1, nothing written', () => {
    const out = join(tmp, 'never2.pcapng');
    const a = cli(['transit', '--node', join(tmp, 'none.yaml'), '-i', '0', '-e', '1', input, out]);
    assert.equal(a.status, 1);
    assert.match(a.stderr, /^ioamsim transit: error: \S*none\.yaml: cannot read node file: no such file$/m);
    const b = cli(['transit', '--node', 'examples/nodes/r1.yaml', '-i', '0', '-e', '1', join(tmp, 'none.pcap'), out]);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /none\.pcap: byte 0: cannot read: no such file/);
    for (const r of [a, b]) assertNoStack(r.stderr);
    assert.equal(existsSync(out) || existsSync(out + '.partial'), false);
  });

  test('unknown interface / missing --egress / encap without encap: → usage or input error', async () => {
    const out = join(tmp, 'x.pcapng');
    const u = cli(['transit', '-n', 'examples/nodes/r1.yaml', '-i', 'eth7', '-e', 'r1-r2', input, out]);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /--ingress "eth7": node r1 has no such interface \(it has 0=r1-h1, 1=r1-r2; or use "local"\)/);
    const m = await cliInProcess(['transit', '-n', 'examples/nodes/r1.yaml', '-i', 'r1-h1', input, out]);
    assert.equal(m.status, 2);
    assert.match(m.stderr, /transit needs --egress/);
    const e = await cliInProcess(['encap', '-n', 'examples/nodes/r1.yaml', '-e', 'r1-r2', input, out]);
    assert.equal(e.status, 1);
    assert.match(e.stderr, /node r1 has no encap: section/);
    const n = await cliInProcess(['transit', '-i', 'r1-h1', '-e', 'r1-r2', input, out]);
    assert.equal(n.status, 2);
    assert.match(n.stderr, /required option '-n, --node <file>' not specified/);
    for (const q of ['', '1e3', '-1', '0x10']) {
      const bad = await cliInProcess(['transit', '-n', 'examples/nodes/r1.yaml', '-i', 'r1-h1', '-e', 'r1-r2', '--queue-depth', q, input, out]);
      assert.equal(bad.status, 2, `--queue-depth ${JSON.stringify(q)}: ${bad.stderr}`);
      assert.match(bad.stderr, /--queue-depth must be a byte count or "unavailable"/);
    }
    for (const r of [u, m, e, n]) assertNoStack(r.stderr);
  });

  test('decap --traces and the capture finish together: either failing leaves neither; wrong targets refused', async () => {
    const a = join(CAPTURES, 'a_full_trace.pcap');
    const out = join(tmp, 'both.pcapng'), tr = join(tmp, 'both.jsonl');
    const left = () => [out, out + '.partial', tr, tr + '.partial'].filter((f) => existsSync(f));
    // The traces cannot be written (a full disk): no capture either, though it was complete.
    const t = await cliInProcess(['decap', '-q', '-n', 'examples/nodes/h2.yaml', '-i', '0', '--traces', '/dev/full', a, out]);
    assert.equal(t.status, 4, t.stderr);
    assert.match(t.stderr, /\/dev\/full: byte 0: cannot write \/dev\/full: ENOSPC/);
    assert.deepEqual(left(), []);
    // The capture cannot: no traces.
    const c = await cliInProcess(['decap', '-q', '-n', 'examples/nodes/h2.yaml', '-i', '0', '--traces', tr, a, '/dev/full']);
    assert.equal(c.status, 4, c.stderr);
    assert.deepEqual(left(), []);
    // A directory as either file: refused before anything is written (was: `<dir>.partial` left behind).
    const dir = mkdtempSync(join(tmp, 'dir-'));
    for (const args of [['--traces', dir, a, out], ['--traces', tr, a, dir]]) {
      const d = await cliInProcess(['decap', '-n', 'examples/nodes/h2.yaml', '-i', '0', ...args]);
      assert.equal(d.status, 1, d.stderr);
      assert.match(d.stderr, new RegExp(`cannot write ${dir}: it is a directory`));
      assert.deepEqual(left(), []);
      assert.equal(existsSync(dir + '.partial'), false);
    }
    // The traces on the capture itself, or --traces where nothing is removed: usage errors.
    const same = await cliInProcess(['decap', '-n', 'examples/nodes/h2.yaml', '-i', '0', '--traces', out, a, out]);
    assert.equal(same.status, 2);
    assert.match(same.stderr, /is the output capture too/);
    const tx = await cliInProcess(['transit', '-n', 'examples/nodes/r1.yaml', '-i', '0', '-e', '1', '--traces', tr, a, out]);
    assert.equal(tx.status, 2);
    assert.match(tx.stderr, /--traces only applies to decap/);
    assert.deepEqual(left(), []);
  });

  test('a timestamp before 1970 (negative if_tsoffset) → exit 1 naming file and frame, nothing written; decode prints it', async () => {
    const blk = (type: number, body: Buffer) => {
      const b = Buffer.alloc(12 + body.length);
      b.writeUInt32LE(type, 0); b.writeUInt32LE(b.length, 4); body.copy(b, 8); b.writeUInt32LE(b.length, b.length - 4);
      return b;
    };
    const shb = blk(0x0a0d0d0a, Buffer.from('4d3c2b1a01000000ffffffffffffffff', 'hex'));
    // IDB: raw IPv6, if_tsresol 9 (ns), if_tsoffset -2 s.
    const idbBody = Buffer.alloc(8 + 8 + 12 + 4);
    idbBody.writeUInt16LE(LINKTYPE_RAW, 0);
    idbBody.writeUInt16LE(9, 8); idbBody.writeUInt16LE(1, 10); idbBody[12] = 9;
    idbBody.writeUInt16LE(14, 16); idbBody.writeUInt16LE(8, 18); idbBody.writeBigInt64LE(-2n, 20);
    const pkt = Buffer.from(read(join(CAPTURES, 'a_full_trace.h1.pcap')).records[0]!.network!);
    const epb = Buffer.alloc(20 + ((pkt.length + 3) & ~3));
    epb.writeUInt32LE(0, 0); epb.writeUInt32LE(0, 4); epb.writeUInt32LE(123_000_000, 8); // 0.123 s → -1.877 s
    epb.writeUInt32LE(pkt.length, 12); epb.writeUInt32LE(pkt.length, 16); pkt.copy(epb, 20);
    const input = join(tmp, 'before1970.pcapng');
    writeFileSync(input, Buffer.concat([shb, blk(1, idbBody), blk(6, epb)]));
    const out = join(tmp, 'before1970.out.pcapng');
    const r = await cliInProcess(['transit', '-n', 'examples/nodes/r1.yaml', '-i', '0', '-e', '1', input, out]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /before1970\.pcapng: frame 1: timestamp -1\.877000000 s since 1970 .* is outside what the output pcapng can hold/);
    assert.equal(existsSync(out) || existsSync(out + '.partial'), false);
    const d = await cliInProcess(['decode', input]);
    assert.equal(d.status, 0, d.stderr);
    assert.equal(JSON.parse(d.stdout).time, '1969-12-31T23:59:58.123000000Z');
  });

  test('output into a pipe whose reader stops (| head -c 100): exit 0, no error, like decode | head', () => {
    const pkt = read(join(CAPTURES, 'a_full_trace.h1.pcap')).records[0]!.network!;
    const input = join(tmp, 'many.pcap');
    writeFileSync(input, encodePcap(Array.from({ length: 20000 }, (_, i) => ({ timestampNs: BigInt(i) * 1000n, bytes: pkt })), { linktype: LINKTYPE_RAW }));
    const r = spawnSync('bash', ['-c', `set -o pipefail; node --import tsx app/cli/main.ts transit -n examples/nodes/r1.yaml -i 0 -e 1 ${input} /dev/stdout | head -c 100 | wc -c`], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '100');
    assert.doesNotMatch(r.stderr, /error/);
  });

  test('truncated capture → packets before it processed and written, exit 3', () => {
    const src = readFileSync(join(CAPTURES, 'q_queue_depth_tbf.h1.pcap'));
    const recs = readCaptureSync(src).records;
    const cut = join(tmp, 'cut.pcap');
    writeFileSync(cut, src.subarray(0, recs[5]!.fileOffset + 7));
    const out = join(tmp, 'cut.out.pcapng');
    const r = cli(['transit', '-n', 'examples/nodes/r1.yaml', '-i', 'r1-h1', '-e', 'r1-r2', cut, out]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /5 packets read, 5 written/);
    assert.match(r.stderr, new RegExp(`cut\\.pcap: byte ${recs[5]!.fileOffset}: truncated record header: 7 of 16 bytes \\(after 5 packets\\); the 5 packets before it were processed and written to`));
    assertNoStack(r.stderr);
    assert.equal(read(out).records.length, 5);
    assert.equal(existsSync(out + '.partial'), false);
  });
});
