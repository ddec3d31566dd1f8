/**
 * Capture readers: classic pcap (both byte orders, microsecond and nanosecond magic) and pcapng
 * (draft-ietf-opsawg-pcapng: SHB in both byte orders, IDB with if_tsresol/if_tsoffset, EPB, SPB,
 * OPB, every other block skipped, several sections and interfaces).
 *
 * One incremental parser ({@link CaptureParser}) does all the work on bytes pushed in chunks; it
 * keeps only the unfinished tail of the last chunk, so memory stays bounded by the largest block.
 * On top of it: {@link readCapture} (async iteration over a file read in chunks) and
 * {@link readCaptureSync} / {@link parseCapture} (small in-memory buffers).
 *
 * Errors: a truncated or corrupt file raises a {@link CaptureError} (file, byte offset, reason).
 * Iterators throw it *after* yielding every packet that precedes the problem; `readCaptureSync`
 * returns those packets together with the error instead of throwing.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { CaptureError, type CaptureErrorCode } from './errors';
import { networkLayer } from './linktype';

export type CaptureFormat = 'pcap' | 'pcapng';

/** One captured packet. `bytes` is a view (no copy) into the chunk it was read from. */
export interface CaptureRecord {
  /** 1-based packet number over the whole file (Wireshark's frame.number). */
  frame: number;
  /** Byte offset in the file of the record header (pcap) or block (pcapng). */
  fileOffset: number;
  /** pcapng section index (0-based); 0 for pcap. */
  section: number;
  /** Interface ID within the section (pcapng); 0 for pcap. */
  interface: number;
  /** pcapng if_name of the interface, or null. */
  interfaceName: string | null;
  linktype: number;
  /** Time in ns since the epoch (if_tsresol and if_tsoffset applied); null for Simple Packet Blocks. */
  timestampNs: bigint | null;
  caplen: number;
  origlen: number;
  /** The captured bytes (caplen of them), starting with the link-layer header. */
  bytes: Uint8Array;
  /** Where the network layer (e.g. the IPv6 header) starts in `bytes`; null if unknown. */
  networkOffset: number | null;
  /** EtherType of the network layer (0x86dd IPv6, 0x0800 IPv4, ...), null if unknown. */
  ethertype: number | null;
  /** `bytes` from the network layer on (a view), or null. For IPv6, the IPv6 packet. */
  network: Uint8Array | null;
  /** pcapng opt_comment values of this packet (empty for pcap). */
  comments: string[];
}

/** An interface as described by a pcapng IDB (or the pcap file header). */
export interface CaptureInterface {
  section: number;
  id: number;
  linktype: number;
  snaplen: number;
  name: string | null;
  description: string | null;
  /** if_tsresol: 10^-exp (base 10) or 2^-exp (base 2) seconds per unit. */
  tsresol: { base: 10 | 2; exp: number };
  /** if_tsoffset in seconds, added to every timestamp. */
  tsoffsetSec: bigint;
}

/** What the parser learnt about the file so far. */
export interface CaptureInfo {
  format: CaptureFormat | null;
  /** 'le' or 'be' of the pcap header or of the latest pcapng section. */
  byteOrder: 'le' | 'be' | null;
  /** All interfaces seen, over all sections. */
  interfaces: CaptureInterface[];
  sections: number;
  packets: number;
  /** pcapng blocks skipped because we do not use them (NRB, ISB, DSB, custom, unknown). */
  skippedBlocks: number;
  /** Bytes consumed so far. */
  bytesRead: number;
}

/** Upper bound for a packet or block, to refuse absurd lengths before buffering them. */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BT_IDB = 1;
const BT_OPB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

const utf8 = new TextDecoder('utf-8', { fatal: false });

interface Option {
  code: number;
  value: Uint8Array;
}

/**
 * Incremental parser. Feed chunks with {@link push} (a generator: iterate it to get the packets
 * completed by that chunk), then call {@link finish} at end of input. Any problem is thrown as a
 * CaptureError from the generator after the packets before it were yielded; after that the parser
 * is dead and further pushes throw the same error.
 */
export class CaptureParser {
  readonly file: string;
  private pending: Uint8Array = new Uint8Array(0);
  /** File offset of pending[0]. */
  private base = 0;
  private failed: CaptureError | null = null;
  private _format: CaptureFormat | null = null;
  private le = true;
  // pcap
  private pcapLinktype = 0;
  private pcapSnaplen = 0;
  private pcapFracNs = 1000n;
  // pcapng
  private section = -1;
  private sectionIfaces: CaptureInterface[] = [];
  private allIfaces: CaptureInterface[] = [];
  private packets = 0;
  private skipped = 0;

  constructor(file = '<buffer>') {
    this.file = file;
  }

  get info(): CaptureInfo {
    return {
      format: this._format,
      byteOrder: this._format === null ? null : this.le ? 'le' : 'be',
      interfaces: this.allIfaces.slice(),
      sections: this._format === 'pcapng' ? this.section + 1 : this._format === 'pcap' ? 1 : 0,
      packets: this.packets,
      skippedBlocks: this.skipped,
      bytesRead: this.base,
    };
  }

  private fail(code: CaptureErrorCode, offset: number, reason: string): never {
    this.failed = new CaptureError(code, this.file, offset, reason, this.packets);
    throw this.failed;
  }

  /** Add a chunk; yields every packet it completes. */
  *push(chunk: Uint8Array): Generator<CaptureRecord, void, undefined> {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    let pos = 0;
    try {
      for (;;) {
        const r = this.step(buf, pos);
        if (r === null) break;
        pos = r.next;
        if (r.record) {
          this.packets++;
          r.record.frame = this.packets;
          yield r.record;
        }
      }
    } finally {
      this.base += pos;
      // Copy the tail so the caller's chunk is not kept alive by a few bytes.
      this.pending = pos === buf.length ? new Uint8Array(0) : buf.slice(pos);
    }
  }

  /** End of input: throws if bytes of an unfinished header, record or block remain. */
  finish(): CaptureInfo {
    if (this.failed) throw this.failed;
    if (this._format === null) {
      if (this.base === 0 && this.pending.length === 0) this.fail('ERR_CAPTURE_EMPTY', 0, 'empty file: not a pcap or pcapng capture');
      this.fail('ERR_CAPTURE_TRUNCATED', 0, `file too short for a capture header (${this.pending.length} bytes)`);
    }
    if (this.pending.length > 0) {
      this.fail('ERR_CAPTURE_TRUNCATED', this.base, this.truncationReason());
    }
    return this.info;
  }

  private truncationReason(): string {
    const p = this.pending;
    const n = p.length;
    if (this._format === 'pcap') {
      if (n < 16) return `truncated record header: ${n} of 16 bytes`;
      const caplen = this.u32(p, 8);
      return `truncated packet data: record needs ${16 + caplen} bytes, ${n} present`;
    }
    if (n < 12) return `truncated block header: ${n} of 12 bytes`;
    const len = this.blockLength(p, 0);
    return `truncated block: block length ${len}, ${n} bytes present`;
  }

  private u16(b: Uint8Array, o: number): number {
    return this.le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
  }

  private u32(b: Uint8Array, o: number): number {
    return this.le
      ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
      : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  private blockLength(b: Uint8Array, pos: number): number {
    if (leU32(b, pos) === PCAPNG_SHB) {
      const bom = leU32(b, pos + 8);
      const le = bom === PCAPNG_BOM ? true : bom === swap32(PCAPNG_BOM) ? false : this.le;
      return le ? leU32(b, pos + 4) : beU32(b, pos + 4);
    }
    return this.u32(b, pos + 4);
  }

  /** Parse one unit at `pos`; null when more bytes are needed. */
  private step(b: Uint8Array, pos: number): { next: number; record: CaptureRecord | null } | null {
    const avail = b.length - pos;
    const at = this.base + pos;
    if (this._format === null) {
      if (avail < 4) return null;
      const m = leU32(b, pos);
      if (m === PCAPNG_SHB) {
        this._format = 'pcapng';
        return { next: pos, record: null };
      }
      if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS || m === swap32(PCAP_MAGIC_US) || m === swap32(PCAP_MAGIC_NS)) {
        if (avail < 24) return null;
        this._format = 'pcap';
        this.le = m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS;
        this.pcapFracNs = m === PCAP_MAGIC_NS || m === swap32(PCAP_MAGIC_NS) ? 1n : 1000n;
        const major = this.u16(b, pos + 4);
        if (major !== 2) this.fail('ERR_CAPTURE_UNSUPPORTED', at + 4, `pcap major version ${major}, expected 2`);
        this.pcapSnaplen = this.u32(b, pos + 16);
        this.pcapLinktype = this.u32(b, pos + 20) & 0xffff;
        this.allIfaces.push({
          section: 0, id: 0, linktype: this.pcapLinktype, snaplen: this.pcapSnaplen, name: null, description: null,
          tsresol: { base: 10, exp: this.pcapFracNs === 1n ? 9 : 6 }, tsoffsetSec: 0n,
        });
        return { next: pos + 24, record: null };
      }
      this.fail('ERR_CAPTURE_MAGIC', at, `not a pcap or pcapng file (magic 0x${m.toString(16).padStart(8, '0')})`);
    }
    return this._format === 'pcap' ? this.stepPcap(b, pos, avail, at) : this.stepPcapng(b, pos, avail, at);
  }

  private stepPcap(b: Uint8Array, pos: number, avail: number, at: number) {
    if (avail < 16) return null;
    const sec = this.u32(b, pos);
    const frac = this.u32(b, pos + 4);
    const caplen = this.u32(b, pos + 8);
    const origlen = this.u32(b, pos + 12);
    if (caplen > MAX_BLOCK_BYTES) this.fail('ERR_CAPTURE_CORRUPT', at + 8, `record caplen ${caplen} exceeds the ${MAX_BLOCK_BYTES}-byte limit`);
    if (avail < 16 + caplen) return null;
    const bytes = b.subarray(pos + 16, pos + 16 + caplen);
    const ts = BigInt(sec) * 1_000_000_000n + BigInt(frac) * this.pcapFracNs;
    const rec = makeRecord(at, 0, 0, null, this.pcapLinktype, ts, caplen, origlen, bytes, []);
    return { next: pos + 16 + caplen, record: rec };
  }

  private stepPcapng(b: Uint8Array, pos: number, avail: number, at: number) {
    if (avail < 12) return null;
    const isShb = leU32(b, pos) === PCAPNG_SHB;
    if (isShb) {
      const bom = leU32(b, pos + 8);
      if (bom === PCAPNG_BOM) this.le = true;
      else if (bom === swap32(PCAPNG_BOM)) this.le = false;
      else this.fail('ERR_CAPTURE_CORRUPT', at + 8, `section header byte-order magic 0x${bom.toString(16)} is not 0x1a2b3c4d`);
    } // (format 'pcapng' is only set on seeing a section header, so section >= 0 below)
    const type = this.u32(b, pos);
    const len = this.u32(b, pos + 4);
    const min = isShb ? 28 : 12;
    if (len < min || len % 4 !== 0) this.fail('ERR_CAPTURE_CORRUPT', at + 4, `block type 0x${type.toString(16)}: bad block length ${len} (must be a multiple of 4, at least ${min})`);
    if (len > MAX_BLOCK_BYTES) this.fail('ERR_CAPTURE_CORRUPT', at + 4, `block length ${len} exceeds the ${MAX_BLOCK_BYTES}-byte limit`);
    if (avail < len) return null;
    const trailer = this.u32(b, pos + len - 4);
    if (trailer !== len) this.fail('ERR_CAPTURE_CORRUPT', at + len - 4, `block type 0x${type.toString(16)}: trailing length ${trailer} differs from block length ${len}`);
    const body = b.subarray(pos + 8, pos + len - 4);
    const next = pos + len;
    if (isShb) {
      const major = this.u16(body, 4);
      if (major !== 1) this.fail('ERR_CAPTURE_UNSUPPORTED', at + 12, `pcapng major version ${major}, expected 1`);
      this.section++;
      this.sectionIfaces = [];
      return { next, record: null };
    }
    switch (type) {
      case BT_IDB:
        this.readIdb(body, at);
        return { next, record: null };
      case BT_EPB:
      case BT_OPB:
        return { next, record: this.readEpb(type, body, at) };
      case BT_SPB:
        return { next, record: this.readSpb(body, at) };
      default:
        this.skipped++;
        return { next, record: null };
    }
  }

  private options(body: Uint8Array, start: number, at: number): Option[] {
    const opts: Option[] = [];
    let o = start;
    while (o + 4 <= body.length) {
      const code = this.u16(body, o);
      const olen = this.u16(body, o + 2);
      if (code === OPT_ENDOFOPT) break;
      const end = o + 4 + olen;
      if (end > body.length) this.fail('ERR_CAPTURE_CORRUPT', at + 8 + o, `option ${code} length ${olen} overruns its block`);
      opts.push({ code, value: body.subarray(o + 4, end) });
      o = end + ((4 - (olen % 4)) % 4);
    }
    return opts;
  }

  private readIdb(body: Uint8Array, at: number): void {
    if (body.length < 8) this.fail('ERR_CAPTURE_CORRUPT', at, `interface description block body is ${body.length} bytes, needs 8`);
    const iface: CaptureInterface = {
      section: this.section,
      id: this.sectionIfaces.length,
      linktype: this.u16(body, 0),
      snaplen: this.u32(body, 4),
      name: null,
      description: null,
      tsresol: { base: 10, exp: 6 },
      tsoffsetSec: 0n,
    };
    for (const opt of this.options(body, 8, at)) {
      if (opt.code === IF_NAME) iface.name = stripNul(utf8.decode(opt.value));
      else if (opt.code === IF_DESCRIPTION) iface.description = stripNul(utf8.decode(opt.value));
      else if (opt.code === IF_TSRESOL && opt.value.length >= 1) {
        const v = opt.value[0]!;
        iface.tsresol = v & 0x80 ? { base: 2, exp: v & 0x7f } : { base: 10, exp: v };
      } else if (opt.code === IF_TSOFFSET && opt.value.length >= 8) {
        const hi = this.u32(opt.value, this.le ? 4 : 0);
        const lo = this.u32(opt.value, this.le ? 0 : 4);
        iface.tsoffsetSec = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
      }
    }
    this.sectionIfaces.push(iface);
    this.allIfaces.push(iface);
  }

  private iface(id: number, at: number, what: string): CaptureInterface {
    const i = this.sectionIfaces[id];
    if (!i) this.fail('ERR_CAPTURE_CORRUPT', at + 8, `${what} refers to interface ${id}, but section ${this.section} describes ${this.sectionIfaces.length}`);
    return i;
  }

  /** Enhanced Packet Block (type 6) and the obsolete Packet Block (type 2, 16-bit interface ID). */
  private readEpb(type: number, body: Uint8Array, at: number): CaptureRecord {
    const what = type === BT_EPB ? 'enhanced packet block' : 'packet block';
    if (body.length < 20) this.fail('ERR_CAPTURE_CORRUPT', at, `${what} body is ${body.length} bytes, needs 20`);
    const id = type === BT_EPB ? this.u32(body, 0) : this.u16(body, 0);
    const iface = this.iface(id, at, what);
    const hi = this.u32(body, 4);
    const lo = this.u32(body, 8);
    const caplen = this.u32(body, 12);
    const origlen = this.u32(body, 16);
    const padded = caplen + ((4 - (caplen % 4)) % 4);
    if (20 + padded > body.length) this.fail('ERR_CAPTURE_CORRUPT', at + 20, `${what}: captured length ${caplen} exceeds the block (${body.length - 20} data bytes)`);
    const comments: string[] = [];
    for (const opt of this.options(body, 20 + padded, at)) {
      if (opt.code === OPT_COMMENT) comments.push(stripNul(utf8.decode(opt.value)));
    }
    const units = (BigInt(hi) << 32n) | BigInt(lo);
    const ts = toNs(units, iface);
    return makeRecord(at, this.section, id, iface.name, iface.linktype, ts, caplen, origlen, body.subarray(20, 20 + caplen), comments);
  }

  /** Simple Packet Block: interface 0, no timestamp, caplen = min(origlen, snaplen, block). */
  private readSpb(body: Uint8Array, at: number): CaptureRecord {
    if (body.length < 4) this.fail('ERR_CAPTURE_CORRUPT', at, `simple packet block body is ${body.length} bytes, needs 4`);
    const iface = this.iface(0, at, 'simple packet block');
    const origlen = this.u32(body, 0);
    let caplen = Math.min(origlen, body.length - 4);
    if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
    return makeRecord(at, this.section, 0, iface.name, iface.linktype, null, caplen, origlen, body.subarray(4, 4 + caplen), []);
  }
}

function makeRecord(
  fileOffset: number, section: number, iface: number, name: string | null, linktype: number,
  ts: bigint | null, caplen: number, origlen: number, bytes: Uint8Array, comments: string[],
): CaptureRecord {
  const nl = networkLayer(linktype, bytes);
  return {
    frame: 0, fileOffset, section, interface: iface, interfaceName: name, linktype, timestampNs: ts,
    caplen, origlen, bytes, networkOffset: nl.offset, ethertype: nl.ethertype,
    network: nl.offset === null ? null : bytes.subarray(nl.offset), comments,
  };
}

/** Timestamp units of an interface → ns since the epoch (floor for resolutions finer than 1 ns). */
function toNs(units: bigint, iface: CaptureInterface): bigint {
  const { base, exp } = iface.tsresol;
  let ns: bigint;
  if (base === 10) ns = exp <= 9 ? units * 10n ** BigInt(9 - exp) : units / 10n ** BigInt(exp - 9);
  else ns = (units * 1_000_000_000n) >> BigInt(exp);
  return ns + iface.tsoffsetSec * 1_000_000_000n;
}

function stripNul(s: string): string {
  const i = s.indexOf('\0');
  return i < 0 ? s : s.slice(0, i);
}

function leU32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function beU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** Iterate the packets of an in-memory capture; throws a CaptureError after the packets before a problem. */
export function* parseCapture(buf: Uint8Array, opts: { file?: string } = {}): Generator<CaptureRecord, CaptureInfo, undefined> {
  const p = new CaptureParser(opts.file);
  yield* p.push(buf);
  return p.finish();
}

/** Result of {@link readCaptureSync}: every packet before any problem, and the problem (or null). */
export interface CaptureReadResult {
  records: CaptureRecord[];
  info: CaptureInfo;
  error: CaptureError | null;
}

/**
 * Read a whole in-memory capture. Never throws for bad bytes: a truncated or corrupt capture gives
 * the packets before the problem plus `error`. `bytes` of each record are views into `buf`.
 */
export function readCaptureSync(buf: Uint8Array, opts: { file?: string } = {}): CaptureReadResult {
  const p = new CaptureParser(opts.file);
  const records: CaptureRecord[] = [];
  let error: CaptureError | null = null;
  try {
    for (const r of p.push(buf)) records.push(r);
    p.finish();
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    error = e;
  }
  return { records, info: p.info, error };
}

export interface ReadCaptureOptions {
  /** Bytes per read; default 1 MiB. */
  chunkSize?: number;
}

/**
 * A capture file read in chunks. Iterate it with `for await` (one record at a time) or
 * {@link batches} (all records completed by one chunk, faster). A problem in the file is thrown
 * as a CaptureError after every packet before it has been yielded; `info` stays readable.
 */
export class CaptureFileReader implements AsyncIterable<CaptureRecord> {
  readonly path: string;
  private readonly parser: CaptureParser;
  private readonly chunkSize: number;
  private started = false;

  constructor(path: string, opts: ReadCaptureOptions = {}) {
    this.path = path;
    this.parser = new CaptureParser(path);
    this.chunkSize = opts.chunkSize ?? 1 << 20;
  }

  /** Format, interfaces, packet count so far. */
  get info(): CaptureInfo {
    return this.parser.info;
  }

  /** Yields the records completed by each chunk read (never an empty array); fewer awaits. */
  async *batches(): AsyncGenerator<CaptureRecord[], CaptureInfo, undefined> {
    for await (const chunk of this.chunks()) {
      const out: CaptureRecord[] = [];
      try {
        for (const r of this.parser.push(chunk)) out.push(r);
      } catch (e) {
        if (out.length > 0) yield out;
        throw e;
      }
      if (out.length > 0) yield out;
    }
    return this.parser.finish();
  }

  /** One record at a time; records are parsed lazily, so memory holds about one chunk. */
  async *[Symbol.asyncIterator](): AsyncGenerator<CaptureRecord, CaptureInfo, undefined> {
    for await (const chunk of this.chunks()) yield* this.parser.push(chunk);
    return this.parser.finish();
  }

  /**
   * Plain reads into fresh buffers: exactly one chunk in flight, no stream read-ahead. Records are
   * views into these buffers, so a buffer is never reused.
   */
  private async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.started) throw new CaptureError('ERR_CAPTURE_USAGE', this.path, 0, 'a CaptureFileReader can be iterated only once');
    this.started = true;
    let fh: FileHandle | null = null;
    try {
      fh = await open(this.path, 'r');
      for (;;) {
        const chunk = Buffer.allocUnsafeSlow(this.chunkSize);
        const { bytesRead } = await fh.read(chunk, 0, this.chunkSize, null);
        if (bytesRead === 0) break;
        yield chunk.subarray(0, bytesRead);
      }
    } catch (e) {
      throw ioError(this.path, e, this.parser.info);
    } finally {
      await fh?.close();
    }
  }
}

function ioError(path: string, e: unknown, info: { bytesRead: number; packets: number }): CaptureError {
  const err = e as NodeJS.ErrnoException;
  const what = err?.code === 'ENOENT' ? 'no such file' : err?.code === 'EISDIR' ? 'is a directory' : err?.code === 'EACCES' ? 'permission denied' : String(err?.message ?? e);
  return new CaptureError('ERR_CAPTURE_IO', path, info.bytesRead, `cannot read: ${what}`, info.packets);
}

/** A whole capture file's bytes (for {@link readCaptureSync}); a file that cannot be read is an ERR_CAPTURE_IO naming it, as {@link readCapture} reports it. */
export async function readCaptureFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw ioError(path, e, { bytesRead: 0, packets: 0 });
  }
}

/** Open a capture file for streaming (see {@link CaptureFileReader}). Nothing is read until iteration. */
export function readCapture(path: string, opts: ReadCaptureOptions = {}): CaptureFileReader {
  return new CaptureFileReader(path, opts);
}
