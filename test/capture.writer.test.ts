/**
 * pcapng / pcap writers: round trips through our reader, atomic file finish, streaming a large
 * file through the async reader with bounded memory.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import {
  CaptureError, MemorySink, PcapngWriter, splitTimestampNs, createPcapFile, createPcapngFile, encodePcap, encodePcapng, readCapture, readCaptureSync,
  LINKTYPE_ETHERNET, LINKTYPE_RAW, writesInPlace, type WriterPacket,
} from '../src/capture';

const tmp = mkdtempSync(join(tmpdir(), 'ioamsim-capture-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function pkt(tag: number, len = 48): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x60;
  p[len - 1] = tag;
  return p;
}

describe('pcapng writer', () => {
  test('round trip: interfaces, ns timestamps, comments, odd lengths', () => {
    const packets: WriterPacket[] = [
      { interface: 0, timestampNs: 1795721275123456789n, bytes: pkt(1, 41), comment: 'hello' },
      { interface: 1, timestampNs: 0n, bytes: pkt(2, 60), comment: ['a', 'ünï ✓', ''] },
      { interface: 0, timestampNs: 0xffff_ffff_ffff_ffffn, bytes: pkt(3, 1), origlen: 1500 },
      { interface: 2, timestampNs: 1n, bytes: new Uint8Array(0) },
    ];
    const file = encodePcapng(
      [{ name: 'r1-r2' }, { name: 'r2:eth', linktype: LINKTYPE_ETHERNET, snaplen: 65535, description: 'tap' }, { name: 'x' }],
      packets,
    );
    assert.equal(file.length % 4, 0);
    const r = readCaptureSync(file);
    assert.equal(r.error, null, r.error?.message);
    assert.equal(r.info.format, 'pcapng');
    assert.deepEqual(r.info.interfaces.map((i) => [i.name, i.linktype, i.tsresol.exp, i.description]), [
      ['r1-r2', LINKTYPE_RAW, 9, null], ['r2:eth', LINKTYPE_ETHERNET, 9, 'tap'], ['x', LINKTYPE_RAW, 9, null],
    ]);
    assert.equal(r.records.length, packets.length);
    r.records.forEach((rec, i) => {
      const p = packets[i]!;
      assert.equal(rec.interface, p.interface);
      assert.equal(rec.timestampNs, p.timestampNs);
      assert.deepEqual(rec.bytes, p.bytes);
      assert.equal(rec.origlen, p.origlen ?? p.bytes.length);
      assert.deepEqual(rec.comments, p.comment === undefined ? [] : ([] as string[]).concat(p.comment));
    });
  });

  test('round trip (property): any packets and timestamps', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({
          ts: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          bytes: fc.uint8Array({ maxLength: 80 }),
          comment: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
          iface: fc.integer({ min: 0, max: 1 }),
        }), { maxLength: 20 }),
        (ps) => {
          const file = encodePcapng([{ name: 'a' }, { name: 'b' }], ps.map((p) => ({ interface: p.iface, timestampNs: p.ts, bytes: p.bytes, comment: p.comment })));
          const r = readCaptureSync(file);
          assert.equal(r.error, null);
          assert.deepEqual(r.records.map((x) => [x.interface, x.timestampNs, Array.from(x.bytes), x.comments]),
            ps.map((p) => [p.iface, p.ts, Array.from(p.bytes), p.comment === undefined ? [] : [p.comment]]));
        },
      ),
      { numRuns: 100 },
    );
  });

  test('misuse is a CaptureError: unknown interface, negative timestamp, write after finish', () => {
    assert.throws(() => encodePcapng([{ name: 'a' }], [{ interface: 1, timestampNs: 0n, bytes: pkt(1) }]), /refers to interface 1/);
    assert.throws(() => encodePcapng([{ name: 'a' }], [{ timestampNs: -1n, bytes: pkt(1) }]), CaptureError);
    const w = createPcapngFile(join(tmp, 'after.pcapng'), { interfaces: [{ name: 'a' }] });
    w.finish();
    assert.throws(() => w.write({ timestampNs: 0n, bytes: pkt(1) }), /write after finish/);
  });

  test('file output is atomic: only X.partial until finish, abort removes it', () => {
    const path = join(tmp, 'atomic.pcapng');
    const w = createPcapngFile(path, { interfaces: [{ name: 'if0' }] });
    for (let i = 0; i < 1000; i++) w.write({ timestampNs: BigInt(i), bytes: pkt(i & 0xff) });
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(path + '.partial'), true);
    w.finish();
    assert.equal(existsSync(path), true);
    assert.equal(existsSync(path + '.partial'), false);
    const r = readCaptureSync(readFileSync(path));
    assert.equal(r.error, null);
    assert.equal(r.records.length, 1000);
    assert.equal(r.records[999]!.timestampNs, 999n);

    const gone = join(tmp, 'aborted.pcapng');
    const a = createPcapngFile(gone, { interfaces: [{ name: 'if0' }] });
    a.write({ timestampNs: 1n, bytes: pkt(1) });
    a.abort();
    assert.equal(existsSync(gone), false);
    assert.equal(existsSync(gone + '.partial'), false);
  });

  test('unwritable path is a CaptureError naming the file', () => {
    assert.throws(() => createPcapngFile(join(tmp, 'no', 'such', 'dir.pcapng')), (e: unknown) =>
      e instanceof CaptureError && e.code === 'ERR_CAPTURE_IO' && /dir\.pcapng/.test(e.message));
  });
});

describe('pcap writer', () => {
  for (const nanosecond of [true, false]) {
    test(`round trip, ${nanosecond ? 'ns' : 'µs'} magic`, () => {
      const file = encodePcap([
        { timestampNs: 1795721275123456789n, bytes: pkt(1) },
        { timestampNs: 5n, bytes: pkt(2, 41), origlen: 99 },
      ], { nanosecond, linktype: LINKTYPE_RAW });
      const r = readCaptureSync(file);
      assert.equal(r.error, null);
      assert.deepEqual(r.records.map((x) => x.timestampNs), nanosecond ? [1795721275123456789n, 5n] : [1795721275123456000n, 0n]);
      assert.deepEqual(r.records[1]!.bytes, pkt(2, 41));
      assert.equal(r.records[1]!.origlen, 99);
      assert.equal(r.records[0]!.ethertype, 0x86dd);
    });
  }

  test('pcap file output is atomic too', () => {
    const path = join(tmp, 'a.pcap');
    const w = createPcapFile(path, { linktype: LINKTYPE_RAW });
    w.write({ timestampNs: 1n, bytes: pkt(1) });
    assert.equal(existsSync(path), false);
    w.finish();
    assert.equal(readCaptureSync(readFileSync(path)).records.length, 1);
  });
});

describe('async streaming reader', () => {
  test('reads a file in small chunks, same records as the sync reader', async () => {
    const packets = Array.from({ length: 300 }, (_, i) => ({ interface: i % 2, timestampNs: BigInt(i) * 1000n + 7n, bytes: pkt(i & 0xff, 40 + (i % 13)), comment: i % 50 === 0 ? `c${i}` : undefined }));
    const path = join(tmp, 'stream.pcapng');
    writeFileSync(path, encodePcapng([{ name: 'a' }, { name: 'b' }], packets));
    const sync = readCaptureSync(readFileSync(path)).records;
    for (const chunkSize of [3, 7, 64, 1 << 20]) {
      const got = [];
      const reader = readCapture(path, { chunkSize });
      for await (const r of reader) got.push(r);
      assert.equal(got.length, 300, `chunk ${chunkSize}`);
      assert.deepEqual(got.map((r) => [r.frame, r.fileOffset, r.timestampNs, Array.from(r.bytes), r.comments]),
        sync.map((r) => [r.frame, r.fileOffset, r.timestampNs, Array.from(r.bytes), r.comments]));
      assert.equal(reader.info.packets, 300);
    }
  });

  test('a truncated file: packets before the cut are yielded, then the error with the offset', async () => {
    const path = join(tmp, 'cut.pcapng');
    const full = encodePcapng([{ name: 'a' }], Array.from({ length: 10 }, (_, i) => ({ timestampNs: BigInt(i), bytes: pkt(i) })));
    writeFileSync(path, full.subarray(0, full.length - 10));
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const r of readCapture(path, { chunkSize: 100 })) seen.push(r.frame);
    }, (e: unknown) => e instanceof CaptureError && e.code === 'ERR_CAPTURE_TRUNCATED' && e.file === path && e.packetsBefore === 9
      && e.offset === full.length - 80 && /truncated block: block length 80/.test(e.message));
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('a missing file is an ERR_CAPTURE_IO naming it', async () => {
    await assert.rejects(async () => {
      for await (const _ of readCapture(join(tmp, 'nope.pcap'))) void _;
    }, (e: unknown) => e instanceof CaptureError && e.code === 'ERR_CAPTURE_IO' && /nope\.pcap: byte 0: cannot read: no such file/.test(e.message));
  });

  test('1,000,000 packets stream with bounded memory', () => {
    // Run in a child with --expose-gc so memory can be measured after collections.
    const path = join(tmp, 'million.pcap');
    const script = join(tmp, 'million.ts');
    const cap = resolve(__dirname, '../src/capture/index.ts');
    writeFileSync(script, `
      import { createPcapFile, readCapture } from ${JSON.stringify(cap)};
      const N = 1_000_000;
      (async () => {
        const w = createPcapFile(${JSON.stringify(path)});
        const p = new Uint8Array(40); p[0] = 0x60;
        for (let i = 0; i < N; i++) { p[39] = i & 0xff; w.write({ timestampNs: BigInt(i) * 1000n, bytes: p }); }
        w.finish();
        (globalThis as any).gc(); 
        const base = process.memoryUsage();
        let n = 0, sum = 0, peakExternal = 0, peakHeap = 0, last = -1n, ordered = true;
        for await (const r of readCapture(${JSON.stringify(path)}, { chunkSize: 1 << 20 })) {
          n++; sum += r.bytes[39]!;
          if (r.timestampNs! <= last) ordered = false;
          last = r.timestampNs!;
          if (n % 100_000 === 0) {
            (globalThis as any).gc();
            const m = process.memoryUsage();
            peakExternal = Math.max(peakExternal, m.arrayBuffers - base.arrayBuffers);
            peakHeap = Math.max(peakHeap, m.heapUsed - base.heapUsed);
          }
        }
        console.log(JSON.stringify({ n, sum, ordered, peakExternal, peakHeap, fileBytes: require('fs').statSync(${JSON.stringify(path)}).size }));
      })();
    `);
    const res = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], { encoding: 'utf8', cwd: resolve(__dirname, '..') });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
    console.log(`# million: ${res.stdout.trim()}`);
    assert.equal(out.n, 1_000_000);
    let sum = 0;
    for (let i = 0; i < 1_000_000; i++) sum += i & 0xff;
    assert.equal(out.sum, sum);
    assert.equal(out.ordered, true);
    assert.equal(out.fileBytes, 24 + 1_000_000 * 56);
    // The file is 56 MB; streaming keeps about one 1 MiB chunk alive, plus the chunks V8's
    // background sweeper has not released yet (measured: up to 16 MiB).
    assert.ok(out.peakExternal < 32 * 1024 * 1024, `array buffers grew by ${out.peakExternal} bytes`);
    assert.ok(out.peakHeap < 8 * 1024 * 1024, `heap grew by ${out.peakHeap} bytes`);
  });
});

describe('PcapngWriter.writeEnhanced (the simulator\'s allocation-free path)', () => {
  test('splitTimestampNs is exact against BigInt arithmetic on random and edge values', () => {
    const rnd = (() => { let x = 12345; return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648); })();
    const cases: [number, number][] = [[0, 0], [0xffffffff, 999_999_999], [1_767_225_600, 0], [1_767_225_600, 2 ** 52]];
    for (let i = 0; i < 2000; i++) cases.push([Math.floor(rnd() * 0xffffffff), Math.floor(rnd() * 2 ** 40)]);
    for (const [sec, ns] of cases) {
      const want = BigInt(sec) * 1_000_000_000n + BigInt(ns);
      const [hi, lo] = splitTimestampNs(sec, ns);
      assert.equal((BigInt(hi) << 32n) | BigInt(lo), want, `${sec} s + ${ns} ns`);
    }
  });

  test('the same bytes as write() for random packets, comments and timestamps', () => {
    const a = new MemorySink();
    const b = new MemorySink();
    const ifs = [{ name: 'r1:r1-r2' }];
    const wa = new PcapngWriter(a, { interfaces: ifs });
    const wb = new PcapngWriter(b, { interfaces: ifs });
    const slab = new Uint8Array(10_000).map((_, i) => (i * 7 + 3) & 0xff);
    for (let i = 0; i < 300; i++) {
      const start = (i * 37) % 5000;
      const len = (i * 13) % 1600;
      const sec = 1_767_225_600 + i;
      const ns = i * 7_777_777;
      const comment = i % 3 === 0 ? undefined : `tx flow-${i} #${i * 11}`;
      wa.write({ timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(ns), bytes: slab.subarray(start, start + len), comment });
      const [hi, lo] = splitTimestampNs(sec, ns);
      const c = comment === undefined ? undefined : new TextEncoder().encode(comment + 'trailing junk');
      wb.writeEnhanced(0, hi, lo, slab, start, len, c, comment === undefined ? 0 : comment.length);
    }
    assert.deepEqual(Buffer.from(b.bytes()), Buffer.from(a.bytes()));
  });

  test('into a file (straight into the file sink\'s buffer, across its flushes): the same file as write()', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ioamsim-epb-'));
    try {
      const ifs = [{ name: 'r1:r1-r2' }];
      const wa = createPcapngFile(join(dir, 'a.pcapng'), { interfaces: ifs });
      const wb = createPcapngFile(join(dir, 'b.pcapng'), { interfaces: ifs });
      const slab = new Uint8Array(70_000).map((_, i) => (i * 5 + 1) & 0xff);
      for (let i = 0; i < 3000; i++) {
        const start = (i * 91) % 4000;
        const len = i === 7 ? 65_000 : (i * 17) % 1500; // one packet bigger than nothing but the stage
        const comment = i % 2 ? `rx f #${i}` : undefined;
        wa.write({ timestampNs: 1_767_225_600_000_000_000n + BigInt(i), bytes: slab.subarray(start, start + len), comment });
        const [hi, lo] = splitTimestampNs(1_767_225_600, i);
        wb.writeEnhanced(0, hi, lo, slab, start, len, comment === undefined ? undefined : new TextEncoder().encode(comment));
      }
      wa.finish();
      wb.finish();
      assert.ok(readFileSync(join(dir, 'b.pcapng')).equals(readFileSync(join(dir, 'a.pcapng'))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('output to a device or a FIFO is written in place (no .partial renamed over it)', () => {
  const packets: WriterPacket[] = [{ timestampNs: 1_000_000_123n, bytes: pkt(1) }, { timestampNs: 2_000_000_456n, bytes: pkt(2, 1200) }];
  const ifaces = [{ name: 'x' }];

  test('a symlink to /dev/null stays a symlink, /dev/null a character device', () => {
    const link = join(tmp, 'null.pcapng');
    symlinkSync('/dev/null', link);
    assert.equal(writesInPlace(link), true);
    const w = createPcapngFile(link, { interfaces: ifaces });
    for (const p of packets) w.write(p);
    w.finish();
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link was replaced by a regular file');
    assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is no longer a device');
    assert.equal(existsSync(link + '.partial'), false);
  });

  test('a FIFO gets the same bytes as a file would, and stays a FIFO', { timeout: 30_000 }, async () => {
    const fifo = join(tmp, 'pipe.pcapng');
    const mk = spawnSync('mkfifo', [fifo]);
    assert.equal(mk.status, 0, `mkfifo: ${mk.stderr}`);
    // The reader first: opening a FIFO for writing waits for one.
    const reader = spawn('cat', [fifo]);
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise<number | null>((res) => reader.on('close', res));
    try {
      const w = createPcapngFile(fifo, { interfaces: ifaces });
      for (const p of packets) w.write(p);
      w.finish();
    } catch (e) {
      reader.kill();
      throw e;
    }
    assert.equal(await done, 0);
    assert.deepEqual(new Uint8Array(Buffer.concat(chunks)), encodePcapng(ifaces, packets));
    assert.ok(lstatSync(fifo).isFIFO());
  });

  test('a regular file still goes through .partial (and an existing one is replaced only when complete)', () => {
    const f = join(tmp, 'plain.pcapng');
    writeFileSync(f, 'old');
    assert.equal(writesInPlace(f), false);
    assert.equal(writesInPlace(join(tmp, 'missing.pcapng')), false);
    const w = createPcapngFile(f, { interfaces: ifaces });
    w.write(packets[0]!);
    assert.equal(readFileSync(f, 'utf8'), 'old');
    assert.ok(existsSync(f + '.partial'));
    w.finish();
    assert.deepEqual(new Uint8Array(readFileSync(f)), encodePcapng(ifaces, packets.slice(0, 1)));
  });
});
