/**
 * The writer thread (src/capture/bgwriter.ts): the same bytes as synchronous writes (a stream
 * through ring wrap-arounds, a pcapng capture, a whole `ioamsim run` with traces and captures);
 * write errors on the writer thread raised on the caller's side naming the file and offset (a
 * real ENOSPC from /dev/full, an EIO past an offset from the test hook); the process exits with
 * the thread still started.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CaptureError, FileSink, fdStream, writeMode, createPcapngFile, splitTimestampNs } from '../src/capture';
import { resetWriterForTests, writerTestHooks } from '../src/capture/bgwriter';
import { run as cliRun } from '../app/cli/main';
import { io } from './io.helpers';

const tmp = mkdtempSync(join(tmpdir(), 'ioamsim-bgwriter-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const ROOT = resolve(__dirname, '..');

/** Runs `f` with writes synchronous (`IOAMSIM_SYNC_WRITES=1`) or on the writer thread. */
function withMode<T>(sync: boolean, f: () => T): T {
  const before = process.env.IOAMSIM_SYNC_WRITES;
  if (sync) process.env.IOAMSIM_SYNC_WRITES = '1';
  else delete process.env.IOAMSIM_SYNC_WRITES;
  try {
    assert.equal(writeMode(), sync ? 'sync' : 'thread');
    return f();
  } finally {
    if (before === undefined) delete process.env.IOAMSIM_SYNC_WRITES;
    else process.env.IOAMSIM_SYNC_WRITES = before;
  }
}

/** Deterministic bytes. */
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** A capture of `n` packets of varied lengths and comments (> one 1 MiB stage, several ring records); aborted if a write fails. */
function writeCapture(file: string, n: number): void {
  const w = createPcapngFile(file, { interfaces: [{ name: 'a:b' }] });
  const ts: [number, number] = [0, 0];
  const buf = bytes(9000, 7);
  const comment = new TextEncoder().encode('tx flow #123456');
  try {
    for (let i = 0; i < n; i++) {
      splitTimestampNs(1_700_000_000, i * 1000, ts);
      w.writeEnhanced(0, ts[0], ts[1], buf, i % 100, 40 + ((i * 37) % 1400), comment, 10 + (i % 6));
    }
    w.finish();
  } catch (e) {
    w.abort();
    throw e;
  }
}

describe('writer thread: the same bytes as synchronous writes', () => {
  test('a stream: commits of odd sizes, writes longer than a stage, more records than the ring holds', () => {
    const stage = 1 << 16;
    const sizes = [1, 7, 15, 16, 17, stage, stage + 3, 5 * stage + 5, 999_983, 12];
    const chunks = sizes.map((n, i) => bytes(n, i + 1));
    const out: Buffer[] = [];
    let total = 0;
    for (const sync of [true, false]) {
      const file = join(tmp, `stream-${sync ? 'sync' : 'thread'}.bin`);
      total = 0;
      withMode(sync, () => {
        const s = fdStream(openSync(file, 'w'), stage);
        // Over and over: more records than the ring's 1024, so they wrap around its end.
        for (let k = 0; k < 100; k++) {
          for (const c of chunks) {
            if (c.length <= stage && k % 2 === 0) {
              s.stage.set(c, 0);
              s.commit(c.length);
            } else s.write(c);
            total += c.length;
          }
        }
        s.close();
      });
      out.push(readFileSync(file));
    }
    assert.equal(out[0]!.length, total);
    assert.ok(out[0]!.equals(out[1]!), 'threaded bytes differ from the synchronous ones');
  });

  test('a pcapng capture', () => {
    const [a, b] = [true, false].map((sync) => {
      const file = join(tmp, `cap-${sync}.pcapng`);
      withMode(sync, () => writeCapture(file, 30_000));
      assert.equal(existsSync(file + '.partial'), false);
      return readFileSync(file);
    });
    assert.ok(a!.length > 2 << 20, `${a!.length} bytes`);
    assert.ok(a!.equals(b!));
  });

  test('ioamsim run: captures, JSON Lines and Parquet traces, summary', async () => {
    const dirs: string[] = [];
    for (const sync of [true, false]) {
      const dir = join(tmp, `run-${sync}`);
      const o = io();
      const code = await withMode(sync, () => cliRun(['run', join(ROOT, 'examples/leaf-spine-heavy.yaml'), '--out', dir, '--duration', '3ms', '--workers', '1',
        '--outputs', 'summary,traces,traces-parquet,captures', '--no-progress'], o));
      assert.equal(code, 0, o.err);
      dirs.push(dir);
    }
    const names = readdirSync(dirs[0]!).filter((f) => f !== 'run-info.json').sort();
    assert.deepEqual(readdirSync(dirs[1]!).filter((f) => f !== 'run-info.json').sort(), names);
    for (const kind of ['.pcapng', '.jsonl', '.parquet', 'summary.json']) assert.ok(names.some((f) => f.endsWith(kind)), `no ${kind} in ${names.join(' ')}`);
    for (const f of names) assert.ok(readFileSync(join(dirs[0]!, f)).equals(readFileSync(join(dirs[1]!, f))), `${f} differs`);
  });
});

describe('writer thread: write errors surface on the caller side', () => {
  afterEach(() => {
    delete writerTestHooks.failAfter;
    delete writerTestHooks.code;
    delete writerTestHooks.crash;
    resetWriterForTests();
  });

  test('a capture on a full device (/dev/full): ERR_CAPTURE_IO naming the file, ENOSPC, nothing left', () => {
    assert.ok(existsSync('/dev/full'), 'this test needs /dev/full');
    const file = join(tmp, 'full.pcapng');
    symlinkSync('/dev/full', file + '.partial');
    assert.equal(writeMode(), 'thread');
    assert.throws(() => writeCapture(file, 20_000), (e: unknown) =>
      e instanceof CaptureError && e.code === 'ERR_CAPTURE_IO' && e.offset === 0 &&
      e.message.startsWith(`${file}: byte 0: cannot write ${file}.partial: ENOSPC: no space left on device`));
    assert.equal(existsSync(file), false);
    assert.throws(() => lstatSync(file + '.partial'), /ENOENT/);
  });

  test('EIO past 1 MiB (test hook): the error names the file and the offset of the failed write', () => {
    writerTestHooks.failAfter = 1 << 20;
    writerTestHooks.code = 'EIO';
    resetWriterForTests();
    const file = join(tmp, 'eio.pcapng');
    const sink = new FileSink(file);
    sink.write(bytes(1 << 20, 1)); // one full stage: written
    sink.write(bytes(1000, 2)); // the next stage fails on the thread
    assert.throws(() => sink.finish(), (e: unknown) =>
      e instanceof CaptureError && e.code === 'ERR_CAPTURE_IO' && e.offset === 1 << 20 &&
      e.message === `${file}: byte ${1 << 20}: cannot write ${file}.partial: EIO: test failure, write`);
    assert.equal(existsSync(file), false);
    assert.equal(existsSync(file + '.partial'), false);
  });

  test('a later write raises the thread\'s error (not only finish)', () => {
    writerTestHooks.failAfter = 0;
    writerTestHooks.code = 'ENOSPC';
    resetWriterForTests();
    const s = fdStream(openSync(join(tmp, 'later.bin'), 'w'));
    s.write(bytes(100, 1));
    assert.throws(() => s.drain(), (e: Error & { code?: string; offset?: number }) => e.code === 'ENOSPC' && e.offset === 0);
    assert.throws(() => s.write(bytes(10, 2)), /ENOSPC: test failure/);
    s.abort();
  });

  test('a writer thread that dies: the next wait raises a clear error, not a hang', () => {
    writerTestHooks.crash = true;
    resetWriterForTests();
    const s = fdStream(openSync(join(tmp, 'crash.bin'), 'w'), 1024);
    s.write(bytes(1024, 1)); // stage 0 queued: the thread dies on it
    assert.throws(() => s.write(bytes(2048, 2)), /^Error: the output writer thread failed: Error: test crash[^]*IOAMSIM_SYNC_WRITES=1/);
    s.abort();
  });

  test('ioamsim run: traces on a full device → exit 4, "cannot write <file>: ENOSPC", no output left', async () => {
    assert.ok(existsSync('/dev/full'), 'this test needs /dev/full');
    const dir = join(tmp, 'run-full');
    mkdirSync(dir);
    symlinkSync('/dev/full', join(dir, 'traces-l1.jsonl.partial'));
    const o = io();
    const code = await cliRun(['run', join(ROOT, 'examples/leaf-spine-heavy.yaml'), '--out', dir, '--duration', '3ms', '--workers', '1', '--no-progress'], o);
    assert.equal(code, 4, o.err);
    assert.match(o.err, new RegExp(`cannot write ${dir}/traces-l1\\.jsonl: ENOSPC: no space left on device`));
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('writer thread: the process exits', () => {
  test('a script that wrote through the thread (and one that did not close its stream) exits at once', () => {
    const script = `
      const fs = require('node:fs');
      const { fdStream, writeMode } = require(${JSON.stringify(join(ROOT, 'src/capture/bgwriter.ts'))});
      const s = fdStream(fs.openSync(process.argv[1], 'w'));
      s.write(new Uint8Array(3 << 20).fill(65));
      if (process.argv[2] === 'close') s.close();
      console.log(writeMode());`;
    for (const how of ['close', 'open']) {
      const file = join(tmp, `exit-${how}.bin`);
      const t0 = Date.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script, file, how], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'thread');
      assert.ok(Date.now() - t0 < 30_000, 'slow exit');
      if (how === 'close') assert.equal(readFileSync(file).length, 3 << 20);
    }
  });
});
