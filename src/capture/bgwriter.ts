/**
 * Background file writing: output bytes are written by a writer thread, off the caller's thread.
 *
 * The simulator's engine is one synchronous loop that never yields to the event loop, so async fs
 * calls would only complete at the end of a run. Instead one `node:worker_threads` Worker per
 * thread that writes (started on first use, unref'd so it never keeps the process alive) shares a
 * ring of {@link RING_BYTES} with it (a SharedArrayBuffer): the caller copies a stage of bytes into
 * the ring as a record `[stream, fd, length, 0] + bytes` and publishes it (`Atomics.store` +
 * `Atomics.notify`); the writer thread waits (`Atomics.wait`), writes the bytes with `fs.writeSync`
 * (looping over partial writes) and publishes how far it consumed. The caller only blocks when the
 * ring is full, or in {@link FdStream.drain} / {@link FdStream.close}.
 *
 * A write error (ENOSPC, EIO) is recorded by the writer thread with the stream's file offset and
 * raised on the caller's side by the stream's next `write`, `drain` or `close`, as an Error with the
 * errno `code` and message Node gives (`ENOSPC: no space left on device, write`) and the `offset`;
 * the stream's later bytes are dropped. Callers wrap it naming their file, as they do for a
 * synchronous write error.
 *
 * `IOAMSIM_SYNC_WRITES=1` writes synchronously on the caller's thread instead (same bytes, errors
 * raised at once); so does a process where the writer thread cannot start.
 * @module
 */
import { closeSync, writeSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** Bytes of the ring shared with the writer thread (a power of two). */
export const RING_BYTES = 16 << 20;
/** Largest record payload: a longer write is queued in pieces. */
const MAX_RECORD = RING_BYTES >> 2;
/** Record header: stream id, fd, payload length (-1: the stream is closed), padding. */
const HEADER = 16;
/** Control words (Int32) at the start of the shared buffer. */
const PUB = 0; // bytes published by the caller (mod 2^32)
const CONS = 1; // bytes consumed by the writer thread (mod 2^32)
const ERRS = 2; // errors the writer thread posted
const READY = 3; // 1 once the writer thread runs; 2 if it failed
const CTRL_BYTES = 64;

/** How long the caller waits for the writer thread to start before writing synchronously. */
const START_TIMEOUT_MS = 10_000;

/** An output file descriptor's byte stream: {@link fdStream}. */
export interface FdStream {
  /** Queues `bytes` at the end of the file; they are copied, the caller may reuse them at once. Throws an earlier write's error. */
  write(bytes: Uint8Array): void;
  /** Waits until every queued byte is written; throws the first write error. */
  drain(): void;
  /** {@link drain}, then closes the file descriptor (closed even when the drain throws). */
  close(): void;
  /** Waits until the writer thread no longer uses the descriptor, then closes it; never throws. */
  abort(): void;
}

/** A write error: Node's errno error text and code, and the file offset the failed write started at. */
export type WriteError = Error & { code?: string; errno?: number; syscall?: string; offset: number };

function writeError(e: { message: string; code?: string; errno?: number; syscall?: string }, offset: number): WriteError {
  return Object.assign(new Error(e.message), { code: e.code, errno: e.errno, syscall: e.syscall, offset });
}

/** The byte stream of `fd` (open for writing, owned by the stream from now on: {@link FdStream.close} closes it). */
export function fdStream(fd: number): FdStream {
  if (process.env.IOAMSIM_SYNC_WRITES !== '1') {
    const ring = writerRing();
    if (ring) return new RingStream(ring, fd);
  }
  return new SyncStream(fd);
}

/** Where this thread's writes go: `thread` (the writer thread) or `sync` (see the module doc). */
export function writeMode(): 'thread' | 'sync' {
  return process.env.IOAMSIM_SYNC_WRITES !== '1' && writerRing() ? 'thread' : 'sync';
}

/** `fs.writeSync` on the caller's thread: the fallback. */
class SyncStream implements FdStream {
  private offset = 0;
  private fd: number | undefined;
  constructor(fd: number) {
    this.fd = fd;
  }
  write(bytes: Uint8Array): void {
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(this.fd!, bytes, off, bytes.length - off);
    } catch (e) {
      throw writeError(e as Error, this.offset + off);
    } finally {
      this.offset += off;
    }
  }
  drain(): void {}
  close(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }
  abort(): void {
    try {
      this.close();
    } catch {
      /* failing already: the caller removes the file */
    }
  }
}

/** The writer thread's script (plain JavaScript: runs the same under tsx and compiled). */
const WRITER_SCRIPT = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { sab, port, cap, hooks } = workerData;
const ctrl = new Int32Array(sab, 0, ${CTRL_BYTES / 4});
const data = new Uint8Array(sab, ${CTRL_BYTES}, cap);
const words = new Int32Array(sab, ${CTRL_BYTES}, cap >> 2);
const streams = new Map(); // id -> { off, failed }
let cons = 0;
function put(fd, at, n, s) {
  if (hooks && hooks.failAfter !== undefined && s.off + n > hooks.failAfter) {
    throw Object.assign(new Error(hooks.code + ': test failure, write'), { code: hooks.code, syscall: 'write' });
  }
  let off = 0;
  try {
    while (off < n) off += writeSync(fd, data, at + off, n - off);
  } finally {
    s.off += off;
  }
}
Atomics.store(ctrl, ${READY}, 1);
Atomics.notify(ctrl, ${READY});
for (;;) {
  const pub = Atomics.load(ctrl, ${PUB});
  if ((pub >>> 0) === cons) {
    Atomics.wait(ctrl, ${PUB}, pub);
    continue;
  }
  const at = cons & (cap - 1);
  const id = words[at >> 2], fd = words[(at >> 2) + 1], len = words[(at >> 2) + 2];
  let s = streams.get(id);
  if (s === undefined) streams.set(id, (s = { off: 0, failed: false }));
  if (len < 0) streams.delete(id);
  else if (!s.failed) {
    const start = (at + ${HEADER}) & (cap - 1);
    const first = Math.min(len, cap - start);
    try {
      put(fd, start, first, s);
      if (first < len) put(fd, 0, len - first, s);
    } catch (e) {
      s.failed = true;
      port.postMessage({ id, message: String(e && e.message), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall, offset: s.off });
      Atomics.add(ctrl, ${ERRS}, 1);
    }
  }
  cons = (cons + ${HEADER} + ((Math.max(len, 0) + 15) & ~15)) >>> 0;
  Atomics.store(ctrl, ${CONS}, cons | 0);
  Atomics.notify(ctrl, ${CONS});
}
`;

/** Test hook: the writer thread started next fails every write past `failAfter` bytes of a stream with errno `code`. */
export const writerTestHooks: { failAfter?: number; code?: string } = {};

/** This thread's ring and writer thread. */
class Ring {
  readonly ctrl: Int32Array;
  readonly data: Uint8Array;
  readonly words: Int32Array;
  /** Bytes published (mod 2^32), as the caller knows it. */
  pub = 0;
  private nextId = 0;
  private errsSeen = 0;
  /** Write errors by stream id, as the writer thread reported them. */
  readonly errors = new Map<number, WriteError>();

  constructor(sab: SharedArrayBuffer, private readonly port: MessagePort, readonly worker: Worker) {
    this.ctrl = new Int32Array(sab, 0, CTRL_BYTES / 4);
    this.data = new Uint8Array(sab, CTRL_BYTES, RING_BYTES);
    this.words = new Int32Array(sab, CTRL_BYTES, RING_BYTES >> 2);
  }

  id(): number {
    return this.nextId++;
  }

  /** The write error of stream `id`, once the writer thread reported one. */
  error(id: number): WriteError | undefined {
    if (Atomics.load(this.ctrl, ERRS) !== this.errsSeen) this.collect();
    return this.errors.get(id);
  }

  private collect(): void {
    const posted = Atomics.load(this.ctrl, ERRS);
    // The writer thread posts the message before it counts it: it is in the port's queue (waits
    // a little should it not be yet).
    for (let tries = 0; this.errsSeen !== posted && tries < 1000;) {
      const m = receiveMessageOnPort(this.port);
      if (m === undefined) {
        Atomics.wait(this.ctrl, READY, 1, 1);
        tries++;
        continue;
      }
      const e = m.message as { id: number; message: string; code?: string; errno?: number; syscall?: string; offset: number };
      this.errors.set(e.id, writeError(e, e.offset));
      this.errsSeen++;
    }
  }

  /** Queues a record for stream `id` (`bytes` undefined: the stream's end). */
  put(id: number, fd: number, bytes: Uint8Array | undefined): void {
    const len = bytes?.length ?? 0;
    const size = HEADER + ((len + 15) & ~15);
    this.waitFor((used) => used + size <= RING_BYTES);
    const at = this.pub & (RING_BYTES - 1);
    const w = at >> 2;
    this.words[w] = id;
    this.words[w + 1] = fd;
    this.words[w + 2] = bytes === undefined ? -1 : len;
    if (bytes !== undefined) {
      const start = (at + HEADER) & (RING_BYTES - 1);
      const first = Math.min(len, RING_BYTES - start);
      this.data.set(first === len ? bytes : bytes.subarray(0, first), start);
      if (first < len) this.data.set(bytes.subarray(first), 0);
    }
    this.pub = (this.pub + size) >>> 0;
    Atomics.store(this.ctrl, PUB, this.pub | 0);
    Atomics.notify(this.ctrl, PUB);
  }

  /** Waits until everything published so far is consumed. */
  drain(): void {
    this.waitFor((used) => used === 0);
  }

  /** Blocks until `ok(bytes in the ring)`. */
  private waitFor(ok: (used: number) => boolean): void {
    for (;;) {
      const cons = Atomics.load(this.ctrl, CONS);
      if (ok((this.pub - cons) >>> 0)) return;
      Atomics.wait(this.ctrl, CONS, cons, 1000);
    }
  }
}

class RingStream implements FdStream {
  private readonly id: number;
  private fd: number | undefined;
  constructor(private readonly ring: Ring, fd: number) {
    this.fd = fd;
    this.id = ring.id();
  }

  private check(): void {
    const e = this.ring.error(this.id);
    if (e) throw e;
  }

  write(bytes: Uint8Array): void {
    this.check();
    for (let off = 0; off < bytes.length; off += MAX_RECORD) {
      this.ring.put(this.id, this.fd!, bytes.subarray(off, Math.min(bytes.length, off + MAX_RECORD)));
    }
  }

  drain(): void {
    this.ring.drain();
    this.check();
  }

  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      this.end();
      this.check();
    } finally {
      this.fd = undefined;
      closeSync(fd);
    }
  }

  abort(): void {
    try {
      this.close();
    } catch {
      /* failing already: the caller removes the file */
    }
  }

  /** The stream's end: the writer thread forgets it; returns when it no longer uses the descriptor. */
  private end(): void {
    this.ring.put(this.id, this.fd!, undefined);
    this.ring.drain();
  }
}

/** This thread's ring: started on first use; null when the writer thread cannot start. */
let ring: Ring | null | undefined;

function writerRing(): Ring | null {
  if (ring !== undefined) return ring;
  ring = null;
  let worker: Worker | undefined;
  try {
    const sab = new SharedArrayBuffer(CTRL_BYTES + RING_BYTES);
    const { port1, port2 } = new MessageChannel();
    const hooks = writerTestHooks.failAfter !== undefined ? { ...writerTestHooks } : undefined;
    worker = new Worker(WRITER_SCRIPT, { eval: true, execArgv: [], name: 'ioamsim-writer', workerData: { sab, port: port2, cap: RING_BYTES, hooks }, transferList: [port2] });
    worker.unref();
    port1.unref();
    const r = new Ring(sab, port1, worker);
    // Started without the event loop turning (the caller never yields): wait until it runs.
    if (Atomics.wait(r.ctrl, READY, 0, START_TIMEOUT_MS) === 'timed-out' && Atomics.load(r.ctrl, READY) !== 1) {
      void worker.terminate();
      return ring;
    }
    ring = r;
  } catch {
    if (worker) void worker.terminate();
  }
  return ring;
}

/** Test hook: forgets this thread's writer thread so that the next stream starts a new one (with the current {@link writerTestHooks}). */
export function resetWriterForTests(): void {
  if (ring) void ring.worker.terminate();
  ring = undefined;
}
