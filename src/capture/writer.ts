/**
 * Capture writers: pcapng (one Section Header Block, one Interface Description Block per capture
 * point with if_tsresol = 9 so timestamps keep their nanoseconds, Enhanced Packet Blocks with
 * optional opt_comment) and classic pcap (nanosecond magic, one link type).
 *
 * Writers are synchronous and buffered (a file sink's bytes are written by a writer thread:
 * ./bgwriter.ts). A file is written as `<path>.partial` and renamed to
 * `<path>` by `finish()`, so a crashed or aborted run never leaves a file that looks complete.
 * Blocks are written little-endian.
 */
import { openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { fdStream, type FdStream, type WriteError } from './bgwriter';
import { CaptureError } from './errors';
import { LINKTYPE_RAW } from './linktype';

/** Where encoded bytes go. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  /** Flush and make the output final. */
  finish(): void;
  /** Give up: remove anything partial. */
  abort(): void;
}

/** Whether this host stores 32-bit words little-endian (pcapng is written little-endian). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Suffix of a file while it is being written. */
export const PARTIAL_SUFFIX = '.partial';

/**
 * Whether output to `path` goes straight to it instead of to `path` + {@link PARTIAL_SUFFIX}
 * renamed when complete: when `path` exists and is not a regular file or a directory (a character
 * device such as /dev/null, /dev/stdout and the pipe or terminal behind it, a FIFO). Renaming
 * over one of those would replace the device node or pipe itself (as root, /dev/null becomes a
 * regular file).
 */
export function writesInPlace(path: string): boolean {
  try {
    const st = statSync(path);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Buffers writes to `<path>.partial`; `finish()` renames it to `path`, `abort()` deletes it (a
 * device or FIFO `path` is written in place: {@link writesInPlace}). The
 * stage buffers are the file's stream's (./bgwriter.ts): each full one is written by the writer
 * thread, a write error raised by a later `reserve`/`write`/`finish`, naming the file and the byte
 * offset the failed write started at.
 */
export class FileSink implements ByteSink {
  readonly path: string;
  readonly partialPath: string;
  private out: FdStream | null;
  /** The stream's current stage buffer, and its 32-bit words (little-endian hosts, 4-aligned stage; else undefined). */
  private stage!: Buffer;
  private words: Uint32Array | undefined;
  private used = 0;
  /** Bytes handed to the sink so far. */
  bytesWritten = 0;

  constructor(path: string, bufferBytes = 1 << 20) {
    this.path = path;
    this.partialPath = writesInPlace(path) ? path : path + PARTIAL_SUFFIX;
    if (isDirectory(path)) throw new CaptureError('ERR_CAPTURE_IO', path, 0, `cannot write ${path}: it is a directory (give a file name)`);
    try {
      this.out = fdStream(openSync(this.partialPath, 'w'), bufferBytes);
    } catch (e) {
      throw new CaptureError('ERR_CAPTURE_IO', path, 0, `cannot create ${this.partialPath}: ${(e as Error).message}`);
    }
    this.setStage(this.out.stage);
  }

  private setStage(b: Buffer): void {
    this.stage = b;
    this.words = LITTLE_ENDIAN && b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2) : undefined;
  }

  /**
   * Room for `n` bytes in the stage buffer (flushed first if needed), to be filled by the caller
   * before the next call: the offset in {@link stageBuffer}, or -1 when `n` exceeds the stage buffer.
   */
  reserve(n: number): number {
    if (this.out === null) throw new CaptureError('ERR_CAPTURE_USAGE', this.path, this.bytesWritten, 'write after finish/abort');
    if (n > this.stage.length) return -1;
    if (this.used + n > this.stage.length) this.flush();
    const at = this.used;
    this.used += n;
    this.bytesWritten += n;
    return at;
  }

  /** The buffer {@link reserve} offsets point into. */
  get stageBuffer(): Buffer {
    return this.stage;
  }

  /** {@link stageBuffer} as little-endian 32-bit words (index = offset / 4), when the host and the buffer allow; else undefined. */
  get stageWords(): Uint32Array | undefined {
    return this.words;
  }

  write(bytes: Uint8Array): void {
    if (this.out === null) throw new CaptureError('ERR_CAPTURE_USAGE', this.path, this.bytesWritten, 'write after finish/abort');
    if (this.used + bytes.length > this.stage.length) this.flush();
    if (bytes.length > this.stage.length) {
      this.io(() => this.out!.write(bytes));
      this.setStage(this.out.stage);
    } else {
      this.stage.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.bytesWritten += bytes.length;
  }

  /** Runs a write, flush or close of the stream; its error becomes an ERR_CAPTURE_IO at the failed write's offset. */
  private io(f: () => void): void {
    try {
      f();
    } catch (e) {
      const err = e as WriteError;
      throw new CaptureError('ERR_CAPTURE_IO', this.path, err.offset ?? this.bytesWritten, `cannot write ${this.partialPath}: ${err.message}`);
    }
  }

  private flush(): void {
    if (this.used > 0) this.io(() => this.out!.commit(this.used));
    this.used = 0;
    if (this.stage !== this.out!.stage) this.setStage(this.out!.stage);
  }

  finish(): void {
    if (this.out === null) return;
    try {
      this.flush();
      this.io(() => this.out!.close());
    } catch (e) {
      // e.g. ENOSPC on the last flush: leave nothing behind, like abort().
      this.abort();
      throw e;
    }
    this.out = null;
    if (this.partialPath === this.path) return;
    try {
      renameSync(this.partialPath, this.path);
    } catch (e) {
      this.abort(); // nothing left behind
      throw new CaptureError('ERR_CAPTURE_IO', this.path, this.bytesWritten, `cannot rename ${this.partialPath} to ${this.path}: ${(e as Error).message}`);
    }
  }

  abort(): void {
    // Closed once the writer thread no longer uses it (an error closing: the unlink below is what matters).
    this.out?.abort();
    this.out = null;
    if (this.partialPath === this.path) return;
    try {
      unlinkSync(this.partialPath);
    } catch {
      /* already gone */
    }
  }
}

/** Collects the bytes in memory (tests, small outputs). */
export class MemorySink implements ByteSink {
  private parts: Uint8Array[] = [];
  private total = 0;
  write(bytes: Uint8Array): void {
    // A copy (a Buffer's own slice() is a view: a writer that reuses its buffer would alias it).
    this.parts.push(Uint8Array.prototype.slice.call(bytes));
    this.total += bytes.length;
  }
  finish(): void {}
  abort(): void {
    this.parts = [];
    this.total = 0;
  }
  /** Everything written so far, as one buffer. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** A capture point of a pcapng file. */
export interface WriterInterface {
  /** if_name, e.g. `r1-r2` or `r1:egress`. */
  name: string;
  /** Link type; default 101 (LINKTYPE_RAW: the packet starts with the IPv6 header). */
  linktype?: number;
  /** Snap length; default 0 (no limit). */
  snaplen?: number;
  /** if_description. */
  description?: string;
}

/** One packet to write. */
export interface WriterPacket {
  /** Interface index returned by `addInterface` (default 0). */
  interface?: number;
  /** Time in ns since the epoch. */
  timestampNs: bigint;
  /** The packet as seen on the link (for LINKTYPE_RAW: from the IPv6 header). */
  bytes: Uint8Array;
  /** Original length if the packet was truncated; default `bytes.length`. */
  origlen?: number;
  /** opt_comment(s) shown by Wireshark as packet comments. */
  comment?: string | string[];
}

const enc = new TextEncoder();

/** Option list: code, length, value padded to 4, then opt_endofopt. Empty list → no bytes. */
function encodeOptions(opts: Array<[number, Uint8Array]>): Buffer {
  if (opts.length === 0) return Buffer.alloc(0);
  let len = 4;
  for (const [, v] of opts) len += 4 + pad4(v.length);
  const b = Buffer.alloc(len);
  let o = 0;
  for (const [code, v] of opts) {
    if (v.length > 0xffff) throw new CaptureError('ERR_CAPTURE_USAGE', '<writer>', 0, `option ${code} longer than 65535 bytes`);
    b.writeUInt16LE(code, o);
    b.writeUInt16LE(v.length, o + 2);
    b.set(v, o + 4);
    o += 4 + pad4(v.length);
  }
  return b; // trailing 4 zero bytes = opt_endofopt
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Block = type, total length, body, total length. */
function block(type: number, body: Uint8Array[]): Buffer {
  let bodyLen = 0;
  for (const p of body) bodyLen += p.length;
  const total = 12 + pad4(bodyLen);
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  let o = 8;
  for (const p of body) {
    b.set(p, o);
    o += p.length;
  }
  b.writeUInt32LE(total, total - 4);
  return b;
}

function checkTs(ts: bigint, where: string): void {
  if (typeof ts !== 'bigint' || ts < 0n || ts > 0xffff_ffff_ffff_ffffn) {
    throw new CaptureError('ERR_CAPTURE_USAGE', where, 0, `timestamp ${String(ts)} is not a non-negative 64-bit bigint of ns`);
  }
}

/** pcapng writer (see module doc). */
export class PcapngWriter {
  private readonly sink: ByteSink;
  private readonly ifaces: WriterInterface[] = [];
  private done = false;
  /** Packets written. */
  packets = 0;

  constructor(sink: ByteSink, opts: { userAppl?: string; interfaces?: WriterInterface[] } = {}) {
    this.sink = sink;
    const head = Buffer.alloc(16);
    head.writeUInt32LE(0x1a2b3c4d, 0); // byte-order magic
    head.writeUInt16LE(1, 4); // major
    head.writeUInt16LE(0, 6); // minor
    head.writeBigInt64LE(-1n, 8); // section length: unknown
    const opts4 = encodeOptions([[4, enc.encode(opts.userAppl ?? 'ioamsim')]]); // shb_userappl
    sink.write(block(0x0a0d0d0a, [head, opts4]));
    for (const i of opts.interfaces ?? []) this.addInterface(i);
  }

  /** Describe a capture point; returns its interface index for `write`. */
  addInterface(i: WriterInterface): number {
    if (this.done) throw new CaptureError('ERR_CAPTURE_USAGE', '<writer>', 0, 'addInterface after finish');
    const head = Buffer.alloc(8);
    head.writeUInt16LE(i.linktype ?? LINKTYPE_RAW, 0);
    head.writeUInt32LE(i.snaplen ?? 0, 4);
    const opts: Array<[number, Uint8Array]> = [[2, enc.encode(i.name)]]; // if_name
    if (i.description) opts.push([3, enc.encode(i.description)]); // if_description
    opts.push([9, Uint8Array.of(9)]); // if_tsresol = 10^-9
    this.sink.write(block(1, [head, encodeOptions(opts)]));
    this.ifaces.push(i);
    return this.ifaces.length - 1;
  }

  get interfaces(): readonly WriterInterface[] {
    return this.ifaces;
  }

  /** Append one Enhanced Packet Block. */
  write(p: WriterPacket): void {
    if (this.done) throw new CaptureError('ERR_CAPTURE_USAGE', '<writer>', 0, 'write after finish');
    const id = p.interface ?? 0;
    if (!Number.isInteger(id) || id < 0 || id >= this.ifaces.length) {
      throw new CaptureError('ERR_CAPTURE_USAGE', '<writer>', 0, `packet refers to interface ${id}, ${this.ifaces.length} described`);
    }
    checkTs(p.timestampNs, '<writer>');
    const head = Buffer.alloc(20);
    head.writeUInt32LE(id, 0);
    head.writeUInt32LE(Number(p.timestampNs >> 32n), 4);
    head.writeUInt32LE(Number(p.timestampNs & 0xffff_ffffn), 8);
    head.writeUInt32LE(p.bytes.length, 12);
    head.writeUInt32LE(p.origlen ?? p.bytes.length, 16);
    const data = pad4(p.bytes.length) === p.bytes.length ? p.bytes : padTo4(p.bytes);
    const comments = p.comment === undefined ? [] : Array.isArray(p.comment) ? p.comment : [p.comment];
    const opts = encodeOptions(comments.map((c) => [1, enc.encode(c)] as [number, Uint8Array]));
    this.sink.write(block(6, [head, data, opts]));
    this.packets++;
  }

  private scratch = Buffer.alloc(4096);

  /**
   * {@link write} for hot paths: the same Enhanced Packet Block bytes, from `len` bytes of `src`
   * at `start`, the timestamp as two 32-bit halves ({@link splitTimestampNs}) and an optional
   * opt_comment already encoded (its first `commentLen` bytes), built in a reused buffer (no
   * allocation per packet).
   */
  writeEnhanced(id: number, tsHi: number, tsLo: number, src: Uint8Array, start: number, len: number, comment?: Uint8Array, commentLen = comment?.length ?? 0): void {
    if (this.done) throw new CaptureError('ERR_CAPTURE_USAGE', '<writer>', 0, 'write after finish');
    if (!Number.isInteger(id) || id < 0 || id >= this.ifaces.length) {
      throw new CaptureError('ERR_CAPTURE_USAGE', '<writer>', 0, `packet refers to interface ${id}, ${this.ifaces.length} described`);
    }
    if (commentLen > 0xffff) throw new CaptureError('ERR_CAPTURE_USAGE', '<writer>', 0, 'option 1 longer than 65535 bytes');
    const opts = comment !== undefined ? 4 + pad4(commentLen) + 4 : 0;
    const total = 12 + 20 + pad4(len) + opts;
    // Straight into a file sink's stage buffer when it has room, else through a reused buffer.
    const sink = this.sink;
    let at = sink instanceof FileSink ? sink.reserve(total) : -1;
    const direct = at >= 0;
    let b: Buffer;
    if (direct) b = (sink as FileSink).stageBuffer;
    else {
      at = 0;
      if (this.scratch.length < total) this.scratch = Buffer.alloc(2 * total);
      b = this.scratch;
    }
    const w = direct && (at & 3) === 0 ? (sink as FileSink).stageWords : undefined;
    if (w !== undefined) {
      const k = at >>> 2;
      w[k] = 6;
      w[k + 1] = total;
      w[k + 2] = id;
      w[k + 3] = tsHi;
      w[k + 4] = tsLo;
      w[k + 5] = len;
      w[k + 6] = len;
    } else {
      b.writeUInt32LE(6, at);
      b.writeUInt32LE(total, at + 4);
      b.writeUInt32LE(id, at + 8);
      b.writeUInt32LE(tsHi >>> 0, at + 12);
      b.writeUInt32LE(tsLo >>> 0, at + 16);
      b.writeUInt32LE(len, at + 20);
      b.writeUInt32LE(len, at + 24);
    }
    copyInto(b, at + 28, src, start, len);
    let o = at + 28 + len;
    const dataEnd = at + 28 + pad4(len);
    while (o < dataEnd) b[o++] = 0;
    if (opts) {
      b.writeUInt16LE(1, o);
      b.writeUInt16LE(commentLen, o + 2);
      const end = o + opts;
      o += 4;
      // A byte loop: a comment is a few bytes, cheaper to copy than to make a subarray view of.
      for (let i = 0; i < commentLen; i++) b[o++] = comment![i]!;
      while (o < end) b[o++] = 0;
    }
    if (w !== undefined) w[(at + total - 4) >>> 2] = total;
    else b.writeUInt32LE(total, at + total - 4);
    if (!direct) this.sink.write(b.subarray(0, total));
    this.packets++;
  }

  /** Flush and finalise (rename `.partial` for files). */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.sink.finish();
  }

  /** Stop and remove the partial output. */
  abort(): void {
    this.done = true;
    this.sink.abort();
  }
}

/**
 * `sec × 10^9 + nsec` (ns since the epoch; sec < 2^32, nsec any safe integer ≥ 0) as the high and
 * low 32 bits of the 64-bit pcapng timestamp, exactly, without BigInt.
 */
export function splitTimestampNs(sec: number, nsec: number, out: [number, number] = [0, 0]): [number, number] {
  const s = sec + Math.floor(nsec / 1e9);
  const ns = nsec % 1e9;
  const sh = Math.floor(s / 65536);
  const sl = s % 65536;
  // s·10^9 + ns = sh·10^9·2^16 + (sl·10^9 + ns); every product below stays under 2^53.
  const p1 = sl * 1e9 + ns;
  const p2 = sh * 1e9;
  const low = (p2 % 65536) * 65536 + p1;
  out[1] = low % 4294967296;
  out[0] = Math.floor(p2 / 65536) + Math.floor(low / 4294967296);
  return out;
}

/** Staging for {@link copyInto} (grown on demand). */
let coAligned = new Uint8Array(1 << 16);

/**
 * `dst[at ..] = src[start .. start + len]`. Out of shared memory (the packet slab with dataplane
 * workers; the file stages are ordinary memory, ./bgwriter.ts), set() copies words
 * only when source and destination share their alignment, else byte by byte: then the bytes go
 * through a buffer at the shared side's alignment first (two word copies: about 2× faster for a
 * typical packet).
 */
function copyInto(dst: Uint8Array, at: number, src: Uint8Array, start: number, len: number): void {
  const sa = (src.byteOffset + start) & 7;
  const da = (dst.byteOffset + at) & 7;
  const dstShared = dst.buffer instanceof SharedArrayBuffer;
  if (sa === da || (!dstShared && !(src.buffer instanceof SharedArrayBuffer))) {
    dst.set(src.subarray(start, start + len), at);
    return;
  }
  const a = dstShared ? da : sa;
  if (coAligned.length < a + len) coAligned = new Uint8Array(2 * (a + len));
  coAligned.set(src.subarray(start, start + len), a);
  dst.set(coAligned.subarray(a, a + len), at);
}

function padTo4(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(pad4(b.length));
  out.set(b, 0);
  return out;
}

/** Classic pcap writer: nanosecond magic (0xa1b23c4d), little-endian, one link type. */
export class PcapWriter {
  private readonly sink: ByteSink;
  private done = false;
  packets = 0;
  readonly linktype: number;
  readonly nanosecond: boolean;

  constructor(sink: ByteSink, opts: { linktype?: number; snaplen?: number; nanosecond?: boolean } = {}) {
    this.sink = sink;
    this.linktype = opts.linktype ?? LINKTYPE_RAW;
    this.nanosecond = opts.nanosecond ?? true;
    const h = Buffer.alloc(24);
    h.writeUInt32LE(this.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(opts.snaplen ?? 262144, 16);
    h.writeUInt32LE(this.linktype, 20);
    sink.write(h);
  }

  write(p: WriterPacket): void {
    if (this.done) throw new CaptureError('ERR_CAPTURE_USAGE', '<writer>', 0, 'write after finish');
    checkTs(p.timestampNs, '<writer>');
    const sec = p.timestampNs / 1_000_000_000n;
    if (sec > 0xffff_ffffn) throw new CaptureError('ERR_CAPTURE_USAGE', '<writer>', 0, 'timestamp beyond the 32-bit seconds of pcap');
    const ns = p.timestampNs % 1_000_000_000n;
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Number(sec), 0);
    h.writeUInt32LE(Number(this.nanosecond ? ns : ns / 1000n), 4);
    h.writeUInt32LE(p.bytes.length, 8);
    h.writeUInt32LE(p.origlen ?? p.bytes.length, 12);
    this.sink.write(h);
    this.sink.write(p.bytes);
    this.packets++;
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.sink.finish();
  }

  abort(): void {
    this.done = true;
    this.sink.abort();
  }
}

/** Open `<path>.partial` for a pcapng file; `finish()` renames it to `path`. */
export function createPcapngFile(path: string, opts: { userAppl?: string; interfaces?: WriterInterface[] } = {}): PcapngWriter {
  return new PcapngWriter(new FileSink(path), opts);
}

/** Open `<path>.partial` for a classic pcap file; `finish()` renames it to `path`. */
export function createPcapFile(path: string, opts: { linktype?: number; snaplen?: number; nanosecond?: boolean } = {}): PcapWriter {
  return new PcapWriter(new FileSink(path), opts);
}

/** Encode a whole pcapng file in memory. */
export function encodePcapng(interfaces: WriterInterface[], packets: Iterable<WriterPacket>, opts: { userAppl?: string } = {}): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { ...opts, interfaces });
  for (const p of packets) w.write(p);
  w.finish();
  return sink.bytes();
}

/** Encode a whole classic pcap file in memory. */
export function encodePcap(packets: Iterable<WriterPacket>, opts: { linktype?: number; snaplen?: number; nanosecond?: boolean } = {}): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, opts);
  for (const p of packets) w.write(p);
  w.finish();
  return sink.bytes();
}
