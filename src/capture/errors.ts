/**
 * Errors of the capture layer. A `CaptureError` says which file, at which byte offset, what was
 * wrong, and how many packets were read before it (those were already yielded to the caller).
 */

/** Stable codes for capture problems. */
export type CaptureErrorCode =
  | 'ERR_CAPTURE_EMPTY' // zero bytes: not a capture at all
  | 'ERR_CAPTURE_MAGIC' // first block/header is neither pcap nor pcapng
  | 'ERR_CAPTURE_TRUNCATED' // the file ends inside a header, record or block
  | 'ERR_CAPTURE_CORRUPT' // a length or field is inconsistent (block length, caplen, interface id)
  | 'ERR_CAPTURE_UNSUPPORTED' // a valid file using something we do not read (pcapng major version)
  | 'ERR_CAPTURE_IO' // the file could not be opened, read, written or renamed
  | 'ERR_CAPTURE_USAGE'; // the writer was misused (unknown interface, write after finish)

export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  /** Stable code, e.g. `ERR_CAPTURE_TRUNCATED`. */
  readonly code: CaptureErrorCode;
  /** The file (or `<buffer>` for in-memory input). */
  readonly file: string;
  /** Byte offset in the file where the problem starts (the header, record or block). */
  readonly offset: number;
  /** What was wrong, in a few words. */
  readonly reason: string;
  /** Packets read (and yielded) before the problem. */
  readonly packetsBefore: number;

  constructor(code: CaptureErrorCode, file: string, offset: number, reason: string, packetsBefore = 0) {
    super(`${file}: byte ${offset}: ${reason}${packetsBefore > 0 ? ` (after ${packetsBefore} packet${packetsBefore === 1 ? '' : 's'})` : ''}`);
    this.code = code;
    this.file = file;
    this.offset = offset;
    this.reason = reason;
    this.packetsBefore = packetsBefore;
  }
}
