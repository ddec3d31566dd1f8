/**
 * pcap / pcapng readers: files built byte by byte in both byte orders, every link type, every
 * truncation point of small files, corrupt lengths, chunk-boundary independence, real captures.
 */
import { capturesDir } from '../src/shared';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  CaptureError, CaptureParser, readCaptureSync, parseCapture, type CaptureRecord,
  LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2,
} from '../src/capture';

const CAPTURES = capturesDir();

/** Byte-by-byte builder in a chosen byte order. */
class B {
  private out: number[] = [];
  constructor(readonly be: boolean) {}
  u8(v: number) { this.out.push(v & 0xff); return this; }
  u16(v: number) { return this.be ? this.u8(v >> 8).u8(v) : this.u8(v).u8(v >> 8); }
  u32(v: number) {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    for (const x of this.be ? b : b.reverse()) this.u8(x);
    return this;
  }
  u64(v: bigint) {
    const hi = Number((v >> 32n) & 0xffffffffn), lo = Number(v & 0xffffffffn);
    return this.be ? this.u32(hi).u32(lo) : this.u32(lo).u32(hi);
  }
  bytes(b: ArrayLike<number>) { for (let i = 0; i < b.length; i++) this.u8(b[i]!); return this; }
  pad4() { while (this.out.length % 4) this.u8(0); return this; }
  get length() { return this.out.length; }
  build() { return Uint8Array.from(this.out); }
}

/** A pcapng block: type, length, body (padded), length. */
function pngBlock(be: boolean, type: number, body: (b: B) => void): Uint8Array {
  const inner = new B(be);
  body(inner);
  inner.pad4();
  const len = inner.length + 12;
  return new B(be).u32(type).u32(len).bytes(inner.build()).u32(len).build();
}

function opt(b: B, code: number, value: ArrayLike<number>) {
  b.u16(code).u16(value.length).bytes(value).pad4();
}
const txt = (s: string) => new TextEncoder().encode(s);
const endOpts = (b: B) => b.u16(0).u16(0);

function shb(be: boolean, withOpts = true): Uint8Array {
  return pngBlock(be, 0x0a0d0d0a, (b) => {
    b.u32(0x1a2b3c4d).u16(1).u16(0).u64(0xffffffffffffffffn);
    if (withOpts) { opt(b, 4, txt('test-builder')); endOpts(b); }
  });
}

function idb(be: boolean, linktype: number, opts: { name?: string; tsresol?: number; tsoffset?: bigint; snaplen?: number } = {}) {
  return pngBlock(be, 1, (b) => {
    b.u16(linktype).u16(0).u32(opts.snaplen ?? 0);
    if (opts.name !== undefined) opt(b, 2, txt(opts.name));
    if (opts.tsresol !== undefined) opt(b, 9, [opts.tsresol]);
    if (opts.tsoffset !== undefined) { b.u16(14).u16(8).u64(opts.tsoffset); }
    if (opts.name !== undefined || opts.tsresol !== undefined || opts.tsoffset !== undefined) endOpts(b);
  });
}

function epb(be: boolean, iface: number, units: bigint, data: Uint8Array, comments: string[] = [], origlen?: number) {
  return pngBlock(be, 6, (b) => {
    b.u32(iface).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn)).u32(data.length).u32(origlen ?? data.length);
    b.bytes(data).pad4();
    for (const c of comments) opt(b, 1, txt(c));
    if (comments.length) endOpts(b);
  });
}

function opb(be: boolean, iface: number, units: bigint, data: Uint8Array) {
  return pngBlock(be, 2, (b) => {
    b.u16(iface).u16(0).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn)).u32(data.length).u32(data.length);
    b.bytes(data).pad4();
  });
}

function spb(be: boolean, data: Uint8Array, origlen?: number) {
  return pngBlock(be, 3, (b) => { b.u32(origlen ?? data.length).bytes(data).pad4(); });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** A minimal IPv6 packet (40-byte header + 8-byte UDP) whose last byte is `tag`. */
function ipv6(tag: number): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = 0x60; p[5] = 8; p[6] = 17; p[7] = 64; p[47] = tag;
  return p;
}
function ipv4(tag: number): Uint8Array {
  const p = new Uint8Array(28);
  p[0] = 0x45; p[3] = 28; p[27] = tag;
  return p;
}
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

function pcapFile(be: boolean, ns: boolean, linktype: number, recs: Array<{ sec: number; frac: number; data: Uint8Array; origlen?: number }>) {
  const b = new B(be).u32(ns ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(linktype);
  for (const r of recs) b.u32(r.sec).u32(r.frac).u32(r.data.length).u32(r.origlen ?? r.data.length).bytes(r.data);
  return b.build();
}

function all(buf: Uint8Array): CaptureRecord[] {
  const r = readCaptureSync(buf);
  assert.equal(r.error, null, r.error?.message);
  return r.records;
}

describe('pcap reader', () => {
  for (const be of [false, true]) {
    for (const ns of [false, true]) {
      test(`${be ? 'big' : 'little'}-endian, ${ns ? 'nanosecond' : 'microsecond'} magic`, () => {
        const file = pcapFile(be, ns, LINKTYPE_RAW, [
          { sec: 1795721275, frac: ns ? 589874123 : 589874, data: ipv6(1) },
          { sec: 0xfffffffe, frac: 1, data: ipv6(2), origlen: 1500 },
        ]);
        const r = readCaptureSync(file);
        assert.equal(r.error, null);
        assert.equal(r.info.format, 'pcap');
        assert.equal(r.info.byteOrder, be ? 'be' : 'le');
        assert.equal(r.records.length, 2);
        const [a, b] = r.records as [CaptureRecord, CaptureRecord];
        assert.equal(a.timestampNs, ns ? 1795721275589874123n : 1795721275589874000n);
        assert.equal(b.timestampNs, 0xfffffffen * 1_000_000_000n + (ns ? 1n : 1000n));
        assert.equal(a.frame, 1);
        assert.equal(b.frame, 2);
        assert.equal(a.fileOffset, 24);
        assert.equal(b.fileOffset, 24 + 16 + 48);
        assert.equal(b.origlen, 1500);
        assert.equal(b.caplen, 48);
        assert.equal(a.linktype, LINKTYPE_RAW);
        assert.equal(a.ethertype, 0x86dd);
        assert.deepEqual(a.network, ipv6(1));
        assert.deepEqual(a.comments, []);
      });
    }
  }

  test('header-only file has zero packets; empty file is an error', () => {
    assert.equal(all(pcapFile(false, false, 1, [])).length, 0);
    const r = readCaptureSync(new Uint8Array(0), { file: 'x.pcap' });
    assert.ok(r.error instanceof CaptureError);
    assert.equal(r.error.code, 'ERR_CAPTURE_EMPTY');
    assert.match(r.error.message, /^x\.pcap: byte 0: empty file/);
  });

  test('bad magic names the file, offset 0 and the magic', () => {
    const r = readCaptureSync(txt('GIF89a this is not a capture'), { file: 'pic.gif' });
    assert.equal(r.error?.code, 'ERR_CAPTURE_MAGIC');
    assert.equal(r.error?.offset, 0);
    assert.match(r.error!.message, /pic\.gif: byte 0: not a pcap or pcapng file \(magic 0x38464947\)/);
  });

  test('absurd caplen is corrupt, prior packets kept', () => {
    const good = pcapFile(false, false, LINKTYPE_RAW, [{ sec: 1, frac: 2, data: ipv6(1) }]);
    const bad = new B(false).u32(1).u32(2).u32(0x7fffffff).u32(48).build();
    const r = readCaptureSync(concat(good, bad));
    assert.equal(r.records.length, 1);
    assert.equal(r.error?.code, 'ERR_CAPTURE_CORRUPT');
    assert.equal(r.error?.offset, good.length + 8);
    assert.equal(r.error?.packetsBefore, 1);
  });
});

/** A two-section pcapng: section 0 in `be0` order, section 1 in the other. */
function richPcapng(be0: boolean): Uint8Array {
  const be1 = !be0;
  return concat(
    shb(be0),
    idb(be0, LINKTYPE_RAW, { name: 'r1-r2', tsresol: 9 }),
    idb(be0, LINKTYPE_ETHERNET, { name: 'eth0' }), // default µs
    epb(be0, 0, 1795721275123456789n, ipv6(1), ['first', 'ünïcode ✓']),
    pngBlock(be0, 4, (b) => b.u16(0).u16(0)), // NRB, skipped
    epb(be0, 1, 1795721275123456n, concat(hex('020000000102020000000101'), hex('86dd'), ipv6(2))),
    pngBlock(be0, 0x999, (b) => b.u32(7)), // unknown block, skipped
    spb(be0, ipv6(3)),
    opb(be0, 0, 42n, ipv6(4)),
    pngBlock(be0, 5, (b) => b.u32(0).u32(0).u32(0)), // ISB, skipped
    shb(be1, false),
    idb(be1, LINKTYPE_IPV6, { tsresol: 0x80 | 20, tsoffset: 1000n }), // 2^-20 s, +1000 s
    epb(be1, 0, 3n << 20n, ipv6(5)),
  );
}

describe('pcapng reader', () => {
  for (const be of [false, true]) {
    test(`sections in ${be ? 'big' : 'little'}- then ${be ? 'little' : 'big'}-endian, all packet block types`, () => {
      const r = readCaptureSync(richPcapng(be));
      assert.equal(r.error, null, r.error?.message);
      assert.equal(r.info.format, 'pcapng');
      assert.equal(r.info.sections, 2);
      assert.equal(r.info.skippedBlocks, 3);
      assert.equal(r.info.interfaces.length, 3);
      assert.equal(r.info.byteOrder, be ? 'le' : 'be'); // the last section's
      const recs = r.records;
      assert.equal(recs.length, 5);
      const [a, b, c, d, e] = recs as [CaptureRecord, CaptureRecord, CaptureRecord, CaptureRecord, CaptureRecord];
      assert.deepEqual(recs.map((x) => x.frame), [1, 2, 3, 4, 5]);
      assert.equal(a.timestampNs, 1795721275123456789n);
      assert.equal(a.interfaceName, 'r1-r2');
      assert.deepEqual(a.comments, ['first', 'ünïcode ✓']);
      assert.deepEqual(a.network, ipv6(1));
      assert.equal(b.interface, 1);
      assert.equal(b.interfaceName, 'eth0');
      assert.equal(b.linktype, LINKTYPE_ETHERNET);
      assert.equal(b.timestampNs, 1795721275123456000n);
      assert.equal(b.networkOffset, 14);
      assert.deepEqual(b.network, ipv6(2));
      assert.equal(c.timestampNs, null, 'SPB has no timestamp');
      assert.deepEqual(c.network, ipv6(3));
      assert.equal(d.timestampNs, 42n, 'OPB on the ns interface');
      assert.deepEqual(d.network, ipv6(4));
      assert.equal(e.section, 1);
      assert.equal(e.interface, 0);
      assert.equal(e.linktype, LINKTYPE_IPV6);
      assert.equal(e.timestampNs, 1003n * 1_000_000_000n, '3·2^20 units of 2^-20 s + 1000 s offset');
    });
  }

  test('EPB caplen smaller than origlen, odd lengths padded', () => {
    const data = ipv6(9).subarray(0, 45);
    const recs = all(concat(shb(false), idb(false, LINKTYPE_RAW), epb(false, 0, 5n, data, [], 9000)));
    assert.equal(recs[0]!.caplen, 45);
    assert.equal(recs[0]!.origlen, 9000);
    assert.deepEqual(recs[0]!.bytes, data);
    assert.equal(recs[0]!.timestampNs, 5000n);
  });

  test('corrupt blocks: bad length, trailer mismatch, unknown interface, caplen beyond block', () => {
    const head = concat(shb(false), idb(false, LINKTYPE_RAW));
    const ok = epb(false, 0, 1n, ipv6(1));
    const cases: Array<[string, Uint8Array, number, RegExp]> = [
      ['length not 4n', new B(false).u32(6).u32(30).u32(0).build(), 4, /bad block length 30/],
      ['trailer', (() => { const x = epb(false, 0, 1n, ipv6(2)); x[x.length - 4] ^= 4; return x; })(), ok.length - 4, /trailing length/],
      ['interface', epb(false, 3, 1n, ipv6(2)), 8, /refers to interface 3, but section 0 describes 1/],
      ['caplen', (() => { const x = epb(false, 0, 1n, ipv6(2)); new DataView(x.buffer).setUint32(20, 200, true); return x; })(), 20, /captured length 200 exceeds the block/],
      ['bom', pngBlock(false, 0x0a0d0d0a, (b) => b.u32(0x12345678).u16(1).u16(0).u64(0n)), 8, /byte-order magic/],
    ];
    for (const [what, bad, rel, re] of cases) {
      const r = readCaptureSync(concat(head, ok, bad), { file: 'c.pcapng' });
      assert.equal(r.records.length, 1, what);
      assert.ok(r.error, what);
      assert.equal(r.error.code, 'ERR_CAPTURE_CORRUPT', what);
      assert.equal(r.error.offset, head.length + ok.length + rel, what);
      assert.match(r.error.message, re, what);
      assert.match(r.error.message, /^c\.pcapng: byte \d+: /, what);
    }
    const first = readCaptureSync(concat(idb(false, 1), shb(false)));
    assert.equal(first.error?.code, 'ERR_CAPTURE_MAGIC', 'a pcapng file must start with a section header');
  });

  test('pcapng major version 2 is unsupported', () => {
    const bad = pngBlock(false, 0x0a0d0d0a, (b) => b.u32(0x1a2b3c4d).u16(2).u16(0).u64(0n));
    assert.equal(readCaptureSync(bad).error?.code, 'ERR_CAPTURE_UNSUPPORTED');
  });
});

describe('link types', () => {
  const p6 = ipv6(7);
  const cases: Array<[string, number, Uint8Array, number, number]> = [
    ['ethernet', LINKTYPE_ETHERNET, concat(hex('020000000102020000000101'), hex('86dd'), p6), 14, 0x86dd],
    ['ethernet + 802.1ad + 802.1Q', LINKTYPE_ETHERNET, concat(hex('020000000102020000000101'), hex('88a80064'), hex('810000c8'), hex('86dd'), p6), 22, 0x86dd],
    ['raw (IPv6)', LINKTYPE_RAW, p6, 0, 0x86dd],
    ['raw (IPv4)', LINKTYPE_RAW, ipv4(1), 0, 0x0800],
    ['ipv4', LINKTYPE_IPV4, ipv4(1), 0, 0x0800],
    ['ipv6', LINKTYPE_IPV6, p6, 0, 0x86dd],
    ['linux sll', LINKTYPE_LINUX_SLL, concat(hex('0000000100060200000001010000'), hex('86dd'), p6), 16, 0x86dd],
    ['linux sll2', LINKTYPE_LINUX_SLL2, concat(hex('86dd0000'), hex('00000003'), hex('0001'), hex('00'), hex('06'), hex('0200000001010000'), p6), 20, 0x86dd],
  ];
  for (const [name, lt, frame, off, et] of cases) {
    for (const fmt of ['pcap', 'pcapng'] as const) {
      test(`${name} in ${fmt}`, () => {
        const file = fmt === 'pcap'
          ? pcapFile(true, true, lt, [{ sec: 1, frac: 1, data: frame }])
          : concat(shb(true), idb(true, lt, { tsresol: 9 }), epb(true, 0, 1_000_000_001n, frame));
        const [r] = all(file) as [CaptureRecord];
        assert.equal(r.linktype, lt);
        assert.equal(r.networkOffset, off);
        assert.equal(r.ethertype, et);
        assert.deepEqual(r.network, frame.subarray(off));
        assert.equal(r.timestampNs, 1_000_000_001n);
      });
    }
  }

  test('frames too short for their link header have no network layer (no throw)', () => {
    for (const lt of [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, 147]) {
      const [r] = all(pcapFile(false, false, lt, [{ sec: 0, frac: 0, data: hex('0000') }])) as [CaptureRecord];
      assert.equal(r.network, null, `linktype ${lt}`);
      assert.equal(r.networkOffset, null);
    }
  });
});

describe('truncation at every byte', () => {
  const pcapParts = (be: boolean, ns: boolean, recs: Array<{ sec: number; frac: number; data: Uint8Array }>) => {
    const whole = pcapFile(be, ns, LINKTYPE_RAW, recs);
    const parts = [whole.subarray(0, 24)];
    let o = 24;
    for (const r of recs) { parts.push(whole.subarray(o, o + 16 + r.data.length)); o += 16 + r.data.length; }
    return parts;
  };
  // Each file as its units (header/SHB, IDB, packets): a cut exactly between units is a valid file.
  const files: Array<[string, Uint8Array[]]> = [
    ['pcap', pcapParts(false, true, [1, 2, 3].map((t) => ({ sec: t, frac: t, data: ipv6(t).subarray(0, 41 + t) })))],
    ['pcap-be', pcapParts(true, false, [1, 2].map((t) => ({ sec: t, frac: t, data: ipv6(t) })))],
    ['pcapng', [shb(false), idb(false, LINKTYPE_RAW, { name: 'x', tsresol: 9 }), epb(false, 0, 1n, ipv6(1), ['c']), spb(false, ipv6(2)), epb(false, 0, 3n, ipv6(3).subarray(0, 43))]],
    ['pcapng-be', [shb(true), idb(true, LINKTYPE_RAW), epb(true, 0, 1n, ipv6(1)), epb(true, 0, 2n, ipv6(2))]],
  ];
  for (const [name, parts] of files) {
    test(name, () => {
      const file = concat(...parts);
      const full = all(file);
      const starts: number[] = [];
      let o = 0;
      for (const p of parts) { starts.push(o); o += p.length; }
      const packetEnds = full.map((r) => r.fileOffset + parts[starts.indexOf(r.fileOffset)]!.length);
      for (let cut = 0; cut < file.length; cut++) {
        const r = readCaptureSync(file.subarray(0, cut), { file: `${name}.cut` });
        const complete = packetEnds.filter((e) => e <= cut).length;
        assert.equal(r.records.length, complete, `cut ${cut}: packets before the cut are kept`);
        for (let i = 0; i < complete; i++) assert.deepEqual(r.records[i]!.bytes, full[i]!.bytes);
        if (cut > 0 && starts.includes(cut)) {
          assert.equal(r.error, null, `cut ${cut} is between units: a valid, shorter file`);
          continue;
        }
        assert.ok(r.error, `cut ${cut}: must report an error`);
        assert.equal(r.error.code, cut === 0 ? 'ERR_CAPTURE_EMPTY' : 'ERR_CAPTURE_TRUNCATED', `cut ${cut}`);
        assert.equal(r.error.packetsBefore, complete);
        // The offset is the start of the unit the cut falls in.
        const unitStart = Math.max(...starts.filter((s) => s <= cut));
        assert.equal(r.error.offset, unitStart, `cut ${cut}`);
        assert.match(r.error.message, new RegExp(`^${name}\\.cut: byte ${unitStart}: `));
      }
    });
  }

  test('iterator form throws after yielding the packets before the cut', () => {
    const file = pcapFile(false, false, LINKTYPE_RAW, [1, 2].map((t) => ({ sec: t, frac: 0, data: ipv6(t) })));
    const seen: number[] = [];
    assert.throws(() => {
      for (const r of parseCapture(file.subarray(0, file.length - 3))) seen.push(r.frame);
    }, (e: unknown) => e instanceof CaptureError && e.code === 'ERR_CAPTURE_TRUNCATED' && e.offset === 24 + 64);
    assert.deepEqual(seen, [1]);
  });
});

test('chunk boundaries never change the result (property)', () => {
  const file = richPcapng(false);
  const whole = all(file).map((r) => ({ ...r, bytes: Array.from(r.bytes), network: null }));
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: file.length }), { maxLength: 12 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const p = new CaptureParser();
      const got: CaptureRecord[] = [];
      let prev = 0;
      for (const c of [...points, file.length]) {
        for (const r of p.push(file.slice(prev, c))) got.push(r);
        prev = c;
      }
      p.finish();
      assert.deepEqual(got.map((r) => ({ ...r, bytes: Array.from(r.bytes), network: null })), whole);
    }),
    { numRuns: 200 },
  );
});

describe('real kernel captures', () => {
  const files = readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap')).sort();
  const summary = readFileSync(join(CAPTURES, 'decoded-summary.txt'), 'utf8');
  const injected = new Map<string, string>();
  let current = '';
  for (const line of summary.split('\n')) {
    const m = /^#{8,} (\S+)/.exec(line);
    if (m) current = m[1]!;
    const inj = /^injected: ([0-9a-f]+)/.exec(line);
    if (inj && current && !injected.has(current)) injected.set(current, inj[1]!);
  }

  test('every capture reads without error, every frame is Ethernet/IPv6', () => {
    assert.ok(files.length >= 90, `found ${files.length} captures`);
    let packets = 0;
    for (const f of files) {
      const buf = readFileSync(join(CAPTURES, f));
      const r = readCaptureSync(buf, { file: f });
      assert.equal(r.error, null, `${f}: ${r.error?.message}`);
      assert.equal(r.info.format, 'pcap');
      if (buf.length === 24) assert.equal(r.records.length, 0, f);
      else assert.ok(r.records.length >= 1, f);
      for (const rec of r.records) {
        assert.equal(rec.linktype, LINKTYPE_ETHERNET, f);
        assert.equal(rec.ethertype, 0x86dd, f);
        assert.equal(rec.network![0]! >> 4, 6, f);
        assert.ok(rec.timestampNs! > 1_700_000_000_000_000_000n, f);
        const plen = (rec.network![4]! << 8) | rec.network![5]!;
        assert.equal(rec.network!.length, 40 + plen, `${f}: IPv6 payload length matches the captured bytes`);
      }
      packets += r.records.length;
    }
    assert.ok(packets > 100, `${packets} packets`);
  });

  test('each <case>.h1.pcap holds the injected packet of decoded-summary.txt', () => {
    assert.ok(injected.size >= 30, `${injected.size} injected lines`);
    let checked = 0;
    for (const [name, hexBytes] of injected) {
      const f = `${name}.h1.pcap`;
      if (!files.includes(f)) continue;
      const r = readCaptureSync(readFileSync(join(CAPTURES, f)), { file: f });
      const sent = r.records.filter((x) => Buffer.from(x.network!).toString('hex') === hexBytes);
      assert.equal(sent.length, 1, `${f}: exactly one packet equals the injected bytes`);
      checked++;
    }
    assert.ok(checked >= 30, `checked ${checked}`);
  });
});
