/**
 * Typed errors of the ioamsim library.
 *
 * Every error the library throws for bad bytes or bad configuration is an {@link IoamError} with a
 * stable `code` (`ERR_IOAM_*`, the core's `ErrorCode::as_str`), the `layer` it happened in (the
 * core's `Layer::as_str`: `ipv6`, `ext-header`, `option`, `ioam`, `trace`, `node-data`, `oss`, `pot`,
 * `e2e`, `dex`, `clt`, `config`, `batch`) and the byte `offset` (from the start of the bytes the
 * caller passed, normally the IPv6 header).
 *
 * The native binding throws plain `Error`s whose message starts with the core's `Display` form
 * (`ERR_IOAM_TRUNCATED in trace at offset 52: trace header (needed 8 bytes, got 3)`);
 * {@link normalizeNativeError} turns them into `IoamError`s.
 * @module
 */

/** Stable error codes (core `crates/ioam-core/src/error.rs`, `ErrorCode::as_str`). */
export type IoamErrorCode =
  | 'ERR_IOAM_TRUNCATED'
  | 'ERR_IOAM_BAD_LENGTH'
  | 'ERR_IOAM_NOT_IPV6'
  | 'ERR_IOAM_MISALIGNED'
  | 'ERR_IOAM_BAD_NODELEN'
  | 'ERR_IOAM_BAD_REMAININGLEN'
  | 'ERR_IOAM_BAD_PADDING'
  | 'ERR_IOAM_BAD_VALUE'
  | 'ERR_IOAM_NO_ROOM'
  | 'ERR_IOAM_NOT_FOUND'
  | 'ERR_IOAM_CONFIG'
  | 'ERR_IOAM_BAD_DESCRIPTOR'
  /** A native failure that did not carry a core error (a bug: please report it). */
  | 'ERR_IOAM_INTERNAL';

/** Where an error happened (core `Layer::as_str`). */
export type IoamLayer =
  | 'ipv6'
  | 'ext-header'
  | 'option'
  | 'ioam'
  | 'trace'
  | 'node-data'
  | 'oss'
  | 'pot'
  | 'e2e'
  | 'dex'
  | 'clt'
  | 'config'
  | 'batch'
  | 'native';

export const IOAM_ERROR_CODES: readonly IoamErrorCode[] = [
  'ERR_IOAM_TRUNCATED',
  'ERR_IOAM_BAD_LENGTH',
  'ERR_IOAM_NOT_IPV6',
  'ERR_IOAM_MISALIGNED',
  'ERR_IOAM_BAD_NODELEN',
  'ERR_IOAM_BAD_REMAININGLEN',
  'ERR_IOAM_BAD_PADDING',
  'ERR_IOAM_BAD_VALUE',
  'ERR_IOAM_NO_ROOM',
  'ERR_IOAM_NOT_FOUND',
  'ERR_IOAM_CONFIG',
  'ERR_IOAM_BAD_DESCRIPTOR',
  'ERR_IOAM_INTERNAL',
];

/** An error with a code, the layer and the byte offset it refers to. */
export class IoamError extends Error {
  override name = 'IoamError';
  /** Stable code, e.g. `ERR_IOAM_TRUNCATED`. */
  readonly code: IoamErrorCode;
  /** Layer of the packet (or API) the error is in. */
  readonly layer: IoamLayer;
  /** Byte offset from the start of the bytes passed (normally the IPv6 header). */
  readonly offset: number;
  /** For length errors: bytes needed and bytes there were (0 otherwise). */
  readonly needed: number;
  readonly got: number;
  /** The field or rule, in a few words (the core's `what`). */
  readonly what: string;

  constructor(
    code: IoamErrorCode,
    layer: IoamLayer,
    offset: number,
    what: string,
    opts: { needed?: number; got?: number; message?: string; cause?: unknown } = {},
  ) {
    const needed = opts.needed ?? 0;
    const got = opts.got ?? 0;
    const msg =
      opts.message ??
      `${code} in ${layer} at offset ${offset}: ${what}` +
        (code === 'ERR_IOAM_TRUNCATED' || needed !== 0 || got !== 0 ? ` (needed ${needed} bytes, got ${got})` : '');
    super(msg, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.layer = layer;
    this.offset = offset;
    this.needed = needed;
    this.got = got;
    this.what = what;
  }
}

/** One problem in a configuration file: `file:line: path: reason`. */
export interface ConfigIssue {
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** Path in the document, e.g. `namespaces[0].data` (`<root>` for the document itself). */
  path: string;
  reason: string;
}

/**
 * A configuration error. `message` has one line per issue, each `file:line: path: reason`;
 * `file`, `line`, `path`, `reason` are those of the first issue, `issues` has them all.
 */
export class IoamConfigError extends IoamError {
  override name = 'IoamConfigError';
  readonly file: string;
  readonly line: number;
  readonly path: string;
  readonly reason: string;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const first = issues[0] ?? { file: '<config>', line: 1, col: 1, path: '<root>', reason: 'invalid configuration' };
    const message = (issues.length ? issues : [first]).map(formatConfigIssue).join('\n');
    super('ERR_IOAM_CONFIG', 'config', 0, first.reason, { message });
    this.file = first.file;
    this.line = first.line;
    this.path = first.path;
    this.reason = first.reason;
    this.issues = issues.length ? issues : [first];
  }
}

/** `file:line: path: reason` */
export function formatConfigIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}: ${i.path}: ${i.reason}`;
}

// `ERR_IOAM_X in layer at offset N: what[ (needed A bytes, got B)]` — the core's Display.
const NATIVE_RE = /(ERR_IOAM_[A-Z0-9_]+) in ([a-z0-9-]+) at offset (\d+): (.*?)(?: \(needed (\d+) bytes, got (\d+)\))?$/s;

/**
 * Parses the core's error text (as carried by a native `Error`'s message) into an `IoamError`,
 * or returns `undefined` if the text does not have that form.
 */
export function parseNativeErrorMessage(message: string): IoamError | undefined {
  const m = NATIVE_RE.exec(message.trim());
  if (!m) return undefined;
  const code = m[1] as IoamErrorCode;
  if (!IOAM_ERROR_CODES.includes(code)) return undefined;
  return new IoamError(code, m[2] as IoamLayer, Number(m[3]), m[4]!, {
    needed: m[5] === undefined ? 0 : Number(m[5]),
    got: m[6] === undefined ? 0 : Number(m[6]),
  });
}

/**
 * Turns anything thrown by the native binding into an `IoamError` (core errors keep their
 * code/layer/offset; a caught Rust panic or other native failure becomes `ERR_IOAM_INTERNAL`).
 * `IoamError`s and non-native errors (e.g. a `TypeError` for a wrong argument type) pass through.
 */
export function normalizeNativeError(e: unknown): Error {
  if (e instanceof IoamError) return e;
  if (e instanceof Error) {
    const parsed = parseNativeErrorMessage(e.message);
    if (parsed) {
      Object.defineProperty(parsed, 'cause', { value: e, enumerable: false });
      return parsed;
    }
    if (/panic/i.test(e.message)) {
      return new IoamError('ERR_IOAM_INTERNAL', 'native', 0, e.message, { cause: e });
    }
    return e;
  }
  return new IoamError('ERR_IOAM_INTERNAL', 'native', 0, String(e));
}

/** Calls `fn`, rethrowing native errors as `IoamError`s. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw normalizeNativeError(e);
  }
}
