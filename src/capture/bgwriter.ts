/**
 * Background file writing: output bytes are written by a writer thread, off the caller's thread.
 *
 * The simulator's engine is one synchronous loop that never yields to the event loop, so async fs
 * calls would only complete at the end of a run. Instead one `node:worker_threads` Worker per
 * thread that writes (started on first use, unref'd so it never keeps the process alive) writes
 * the files. The caller fills a stage buffer of ordinary memory; {@link FdStream.commit} copies
 * it in one piece into the next free one of the stream's {@link STAGES} buffers of shared memory
 * (SharedArrayBuffer) and queues that on a ring of `[stream, fd, stage, length]` records shared
 * with the writer thread (`Atomics.store` + `Atomics.notify`); the writer thread waits
 * (`Atomics.wait`), writes the stage with `fs.writeSync` (looping over partial writes) and marks it
 * free. The caller blocks only when both shared stages are still being written, when the ring is
 * full, or in {@link FdStream.drain} / {@link FdStream.close}. Why the one copy: the caller writes
 * its stage a few hundred bytes at a time at any alignment (pcapng blocks), which costs about five
 * times more into shared memory than into ordinary memory, while one aligned copy of a whole stage
 * costs ~60 µs per MiB.
 *
 * A write error (ENOSPC, EIO) is recorded by the writer thread with the stream's file offset and
 * raised on the caller's side by the stream's next `commit`, `write`, `drain` or `close`, as an
 * Error with the errno `code` and message Node gives (`ENOSPC: no space left on device, write`) and
 * the `offset`; the stream's later bytes are dropped. Callers wrap it naming their file, as they do
 * for a synchronous write error.
 *
 * `IOAMSIM_SYNC_WRITES=1` writes synchronously on the caller's thread instead (same bytes, errors
 * raised at once); so does a thread where the Worker cannot be created.
 * @module
 */
import { closeSync, writeSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** Stage buffers per stream: the caller fills one while the writer thread writes the other. */
export const STAGES = 2;
/** Records of the ring (a power of two). */
const RING_SLOTS = 1024;
/** Int32 words of a record: stream id, fd, stage (-1: the stream is closed), length. */
const SLOT_WORDS = 4;
/** Control words (Int32) before the ring. */
const PUB = 0; // records published by the caller (mod 2^32)
const CONS = 1; // records consumed by the writer thread (mod 2^32)
const ERRS = 2; // errors the writer thread posted
const STATE = 3; // 1 once the writer thread runs; 2 if it failed
const SLEEP = 4; // 1 while the writer thread sleeps until notified (else it polls: no wake-up to pay on each commit)
const CTRL_WORDS = 16;

/** How long the writer thread polls for records before it sleeps until notified. */
const POLL_MS = 50;
/** How long the caller waits for a writer thread that has not started before it gives up. */
const START_TIMEOUT_MS = 30_000;

/** An output file descriptor's byte stream: {@link fdStream}. */
export interface FdStream {
  /** The stage buffer: fill it from offset 0, then {@link commit} (refill it from 0 after each commit). */
  readonly stage: Buffer;
  /** Queues the first `n` bytes of {@link stage} at the end of the file; `stage` may then be refilled. Throws an earlier write's error. */
  commit(n: number): void;
  /** Queues `bytes` (copied through the stages; nothing may be left uncommitted in the stage). */
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

/**
 * The byte stream of `fd` (open for writing, owned by the stream from now on: {@link FdStream.close}
 * closes it), with stages of `stageBytes`.
 */
export function fdStream(fd: number, stageBytes = 1 << 20): FdStream {
  if (process.env.IOAMSIM_SYNC_WRITES !== '1') {
    const ring = writerRing();
    if (ring) return new RingStream(ring, fd, stageBytes);
  }
  return new SyncStream(fd, stageBytes);
}

/** Where this thread's writes go: `thread` (the writer thread) or `sync` (see the module doc). */
export function writeMode(): 'thread' | 'sync' {
  return process.env.IOAMSIM_SYNC_WRITES !== '1' && writerRing() ? 'thread' : 'sync';
}

/** Queues `bytes` through `s`'s stages. */
function writeThrough(s: FdStream, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length;) {
    const n = Math.min(bytes.length - off, s.stage.length);
    s.stage.set(bytes.subarray(off, off + n), 0);
    s.commit(n);
    off += n;
  }
}

/** `fs.writeSync` on the caller's thread: the fallback. */
class SyncStream implements FdStream {
  readonly stage: Buffer;
  private offset = 0;
  private fd: number | undefined;
  constructor(fd: number, stageBytes: number) {
    this.fd = fd;
    this.stage = Buffer.allocUnsafe(stageBytes);
  }
  commit(n: number): void {
    this.write(this.stage.subarray(0, n));
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

/**
 * The writer thread's script (plain JavaScript: runs the same under tsx and compiled). A stream's
 * stages arrive on the port (`{ id, stages, busy }`) before its first record.
 */
const WRITER_SCRIPT = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { sab, port, hooks } = workerData;
const ctrl = new Int32Array(sab, 0, ${CTRL_WORDS});
const ring = new Int32Array(sab, ${CTRL_WORDS * 4}, ${RING_SLOTS * SLOT_WORDS});
const streams = new Map(); // id -> { stages, busy, off, failed }
function stream(id) {
  for (;;) {
    const s = streams.get(id);
    if (s !== undefined) return s;
    const m = receiveMessageOnPort(port);
    if (m === undefined) throw new Error('writer thread: no stages for stream ' + id);
    streams.set(m.message.id, { stages: m.message.stages.map((b) => new Uint8Array(b)), busy: new Int32Array(m.message.busy), off: 0, failed: false });
  }
}
function put(fd, b, n, s) {
  if (hooks && s.off + n > hooks.failAfter) throw Object.assign(new Error(hooks.code + ': test failure, write'), { code: hooks.code, syscall: 'write' });
  let off = 0;
  try {
    while (off < n) off += writeSync(fd, b, off, n - off);
  } finally {
    s.off += off;
  }
}
let cons = 0;
let idle = 0;
try {
  Atomics.store(ctrl, ${STATE}, 1);
  for (;;) {
    const pub = Atomics.load(ctrl, ${PUB});
    if ((pub >>> 0) === cons) {
      // Polls every millisecond while records come (waking a sleeping thread costs the caller
      // tens of microseconds per record); sleeps until notified after ${POLL_MS} ms without any.
      if (idle++ < ${POLL_MS}) {
        Atomics.wait(ctrl, ${PUB}, pub, 1);
        continue;
      }
      Atomics.store(ctrl, ${SLEEP}, 1);
      if ((Atomics.load(ctrl, ${PUB}) >>> 0) === cons) Atomics.wait(ctrl, ${PUB}, pub);
      Atomics.store(ctrl, ${SLEEP}, 0);
      continue;
    }
    idle = 0;
    const r = (cons & ${RING_SLOTS - 1}) * ${SLOT_WORDS};
    const id = ring[r], fd = ring[r + 1], k = ring[r + 2], len = ring[r + 3];
    const s = stream(id);
    if (hooks && hooks.crash) throw new Error('test crash');
    if (k < 0) streams.delete(id);
    else {
      if (!s.failed) {
        try {
          put(fd, s.stages[k], len, s);
        } catch (e) {
          s.failed = true;
          port.postMessage({ id, message: String(e && e.message), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall, offset: s.off });
          Atomics.add(ctrl, ${ERRS}, 1);
        }
      }
      Atomics.store(s.busy, k, 0);
      Atomics.notify(s.busy, k);
    }
    cons = (cons + 1) >>> 0;
    Atomics.store(ctrl, ${CONS}, cons | 0);
    Atomics.notify(ctrl, ${CONS});
  }
} catch (e) {
  port.postMessage({ fatal: String(e && e.stack || e) });
  Atomics.store(ctrl, ${STATE}, 2);
  Atomics.notify(ctrl, ${CONS});
  throw e;
}
`;

/**
 * Test hook: the writer thread started next fails every write past `failAfter` bytes of a stream
 * with errno `code`, or (`crash`) dies at its first write.
 */
export const writerTestHooks: { failAfter?: number; code?: string; crash?: boolean } = {};

/** This thread's ring and writer thread. */
class Ring {
  readonly ctrl: Int32Array;
  private readonly slots: Int32Array;
  /** Records published (mod 2^32), as the caller knows it. */
  private pub = 0;
  private nextId = 0;
  private errsSeen = 0;
  /** Write errors by stream id, as the writer thread reported them. */
  private readonly errors = new Map<number, WriteError>();
  private readonly started = Date.now();
  private fatal: string | undefined;

  constructor(sab: SharedArrayBuffer, private readonly port: MessagePort, readonly worker: Worker) {
    this.ctrl = new Int32Array(sab, 0, CTRL_WORDS);
    this.slots = new Int32Array(sab, CTRL_WORDS * 4, RING_SLOTS * SLOT_WORDS);
  }

  /** A new stream: its id, once the writer thread is sent its stages. */
  register(stages: SharedArrayBuffer[], busy: SharedArrayBuffer): number {
    const id = this.nextId++;
    this.port.postMessage({ id, stages, busy });
    return id;
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
        Atomics.wait(this.ctrl, STATE, 1, 1);
        tries++;
        continue;
      }
      const e = m.message as { id: number; message: string; code?: string; errno?: number; syscall?: string; offset: number; fatal?: string };
      if (e.fatal !== undefined) this.fatal = e.fatal;
      else {
        this.errors.set(e.id, writeError(e, e.offset));
        this.errsSeen++;
      }
    }
  }

  /** Queues stage `k` (`-1`: the stream's end) of stream `id`. */
  put(id: number, fd: number, k: number, len: number): void {
    this.waitUntil(this.ctrl, CONS, () => ((this.pub - Atomics.load(this.ctrl, CONS)) >>> 0) < RING_SLOTS);
    const r = (this.pub & (RING_SLOTS - 1)) * SLOT_WORDS;
    this.slots[r] = id;
    this.slots[r + 1] = fd;
    this.slots[r + 2] = k;
    this.slots[r + 3] = len;
    this.pub = (this.pub + 1) >>> 0;
    Atomics.store(this.ctrl, PUB, this.pub | 0);
    // Sequentially consistent: either the writer thread sees the record before it sleeps, or this sees it asleep.
    if (Atomics.load(this.ctrl, SLEEP) !== 0) Atomics.notify(this.ctrl, PUB);
  }

  /** Blocks on `words[i]` until `ok()`; throws if the writer thread failed or never started. */
  waitUntil(words: Int32Array, i: number, ok: () => boolean): void {
    while (!ok()) {
      const state = Atomics.load(this.ctrl, STATE);
      if (state === 2 || (state === 0 && Date.now() - this.started > START_TIMEOUT_MS)) throw this.failure(state);
      Atomics.wait(words, i, Atomics.load(words, i), 100);
    }
  }

  private failure(state: number): Error {
    if (this.fatal === undefined) {
      for (let m; (m = receiveMessageOnPort(this.port)) !== undefined;) {
        const msg = m.message as { fatal?: string };
        if (msg.fatal !== undefined) this.fatal = msg.fatal;
      }
    }
    const why = state === 0 ? `did not start in ${START_TIMEOUT_MS / 1000} s` : `failed: ${this.fatal ?? 'unknown error'}`;
    return new Error(`the output writer thread ${why} (IOAMSIM_SYNC_WRITES=1 writes without it)`);
  }
}

class RingStream implements FdStream {
  private readonly id: number;
  private fd: number | undefined;
  /** The shared stages the writer thread writes from. */
  private readonly stages: Buffer[];
  /** Per shared stage, 1 while queued or being written. */
  private readonly busy: Int32Array;
  private cur = 0;
  /** The caller's stage (ordinary memory: see the module doc); the same buffer after each commit. */
  readonly stage: Buffer;

  constructor(private readonly ring: Ring, fd: number, stageBytes: number) {
    this.fd = fd;
    const sabs = Array.from({ length: STAGES }, () => new SharedArrayBuffer(stageBytes));
    const busy = new SharedArrayBuffer(4 * STAGES);
    this.stages = sabs.map((s) => Buffer.from(s));
    this.busy = new Int32Array(busy);
    this.stage = Buffer.allocUnsafeSlow(stageBytes);
    this.id = ring.register(sabs, busy);
  }

  private check(): void {
    const e = this.ring.error(this.id);
    if (e) throw e;
  }

  commit(n: number): void {
    this.check();
    if (n === 0) return;
    const k = this.cur;
    this.ring.waitUntil(this.busy, k, () => Atomics.load(this.busy, k) === 0);
    this.stages[k]!.set(n === this.stage.length ? this.stage : this.stage.subarray(0, n), 0);
    Atomics.store(this.busy, k, 1);
    this.ring.put(this.id, this.fd!, k, n);
    this.cur = (k + 1) % STAGES;
  }

  write(bytes: Uint8Array): void {
    writeThrough(this, bytes);
  }

  drain(): void {
    for (let k = 0; k < STAGES; k++) this.ring.waitUntil(this.busy, k, () => Atomics.load(this.busy, k) === 0);
    this.check();
  }

  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      this.drain();
    } finally {
      this.fd = undefined;
      closeSync(fd);
      // The writer thread forgets the stream (it no longer uses the descriptor: every stage is free).
      this.ring.put(this.id, fd, -1, 0);
    }
  }

  abort(): void {
    try {
      this.close();
    } catch {
      /* failing already: the caller removes the file */
    }
  }
}

/** This thread's ring: started on first use; null when the writer thread cannot be created. */
let ring: Ring | null | undefined;

function writerRing(): Ring | null {
  if (ring !== undefined) return ring;
  ring = null;
  try {
    const sab = new SharedArrayBuffer(4 * (CTRL_WORDS + RING_SLOTS * SLOT_WORDS));
    const { port1, port2 } = new MessageChannel();
    const { failAfter, code, crash } = writerTestHooks;
    const hooks = failAfter !== undefined || crash ? { failAfter: failAfter ?? Infinity, code: code ?? 'EIO', crash } : undefined;
    const worker = new Worker(WRITER_SCRIPT, { eval: true, execArgv: [], name: 'ioamsim-writer', workerData: { sab, port: port2, hooks }, transferList: [port2] });
    worker.unref();
    worker.on('error', () => {}); // a failure is raised by the next wait (Ring.waitUntil), not by the event loop
    port1.unref();
    // It starts without the event loop turning (the caller never yields); nothing waits for it until a stage must be reused.
    ring = new Ring(sab, port1, worker);
  } catch {
    /* no worker threads here: synchronous writes */
  }
  return ring;
}

/** Test hook: forgets this thread's writer thread (ends it) so that the next stream starts a new one (with the current {@link writerTestHooks}). */
export function resetWriterForTests(): void {
  if (ring) void ring.worker.terminate();
  ring = undefined;
}
