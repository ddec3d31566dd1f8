/**
 * Typed errors of the ioamsim library.
 *
 * Every error the library throws for bad bytes or bad configuration is an {@link IoamError} with a
 * stable `code` (`ERR_IOAM_*`, the core's `ErrorCode::as_str`), the `layer` it happened in (the
 * core's `Layer::as_str`: `ipv6`, `ext-header`, `option`, `ioam`, `trace`, `node-data`, `oss`, `pot`,
 * `e2e`, `dex`, `clt`, `config`, `batch`) and the byte `offset` (from the start of the bytes the
 * caller passed, normally the IPv6 header).
 *
 * The native binding throws JS `Error`s that carry the core error's fields as properties
 * (`code`, `layer`, `offset`, `needed`, `got`, `what`; crates/ioam-napi/src/jserr.rs);
 * {@link normalizeNativeError} turns them into `IoamError`s. The codes and layers are those of
 * src/generated/abi.ts (rendered from the Rust).
 * @module
 */
import { ERROR_CODES, ERR_INTERNAL, LAYERS, LAYER_NATIVE } from './generated/abi';

/** Stable error codes (core `crates/ioam-core/src/error.rs`, `ErrorCode::as_str`), plus
 * `ERR_IOAM_INTERNAL`: a native failure that did not carry a core error (a bug: please report it). */
export type IoamErrorCode = (typeof ERROR_CODES)[number] | typeof ERR_INTERNAL;

/** Where an error happened (core `Layer::as_str`), plus `native` for an internal failure. */
export type IoamLayer = (typeof LAYERS)[number] | typeof LAYER_NATIVE;

export const IOAM_ERROR_CODES: readonly IoamErrorCode[] = [...ERROR_CODES, ERR_INTERNAL];
const LAYER_SET: ReadonlySet<string> = new Set<string>([...LAYERS, LAYER_NATIVE]);

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
  // The file itself (it cannot be read): no line or path inside it to name.
  if (i.path === '<file>') return `${i.file}: ${i.reason}`;
  return `${i.file}:${i.line}: ${i.path}: ${i.reason}`;
}

/** The structured fields a native error carries (crates/ioam-napi/src/jserr.rs). */
interface NativeErrorFields {
  code?: unknown;
  layer?: unknown;
  offset?: unknown;
  needed?: unknown;
  got?: unknown;
  what?: unknown;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * The `IoamError` of a native error's properties, or `undefined` if `e` does not carry a known
 * code and layer.
 */
export function fromNativeError(e: Error): IoamError | undefined {
  const f = e as Error & NativeErrorFields;
  if (typeof f.code !== 'string' || !IOAM_ERROR_CODES.includes(f.code as IoamErrorCode)) return undefined;
  if (typeof f.layer !== 'string' || !LAYER_SET.has(f.layer)) return undefined;
  return new IoamError(f.code as IoamErrorCode, f.layer as IoamLayer, num(f.offset), typeof f.what === 'string' ? f.what : e.message, {
    needed: num(f.needed),
    got: num(f.got),
  });
}

/**
 * Turns anything thrown by the native binding into an `IoamError` (core errors keep their
 * code/layer/offset; a caught Rust panic becomes `ERR_IOAM_INTERNAL`).
 * `IoamError`s and non-native errors (e.g. a `TypeError` for a wrong argument type) pass through.
 */
export function normalizeNativeError(e: unknown): Error {
  if (e instanceof IoamError) return e;
  if (e instanceof Error) {
    const mapped = fromNativeError(e);
    if (mapped) {
      Object.defineProperty(mapped, 'cause', { value: e, enumerable: false });
      return mapped;
    }
    // napi-rs reports a caught panic as a plain Error whose message names the panic.
    if (/panic/i.test(e.message)) {
      return new IoamError(ERR_INTERNAL, LAYER_NATIVE, 0, e.message, { cause: e });
    }
    return e;
  }
  return new IoamError(ERR_INTERNAL, LAYER_NATIVE, 0, String(e));
}

/** Calls `fn`, rethrowing native errors as `IoamError`s. */
/**
 * Throws a typed {@link IoamError} (ERR_IOAM_BAD_VALUE) unless `v` is a Uint8Array (a Buffer is
 * one): the binding's own message for an ArrayBuffer, a string or null is an untyped
 * "Get TypedArray info failed".
 */
export function requireBytes(v: unknown, layer: IoamLayer, name: string): asserts v is Uint8Array {
  if (v instanceof Uint8Array) return;
  const got = v === null ? 'null' : ArrayBuffer.isView(v) ? v.constructor.name : v instanceof ArrayBuffer ? 'an ArrayBuffer (wrap it: new Uint8Array(buf))' : typeof v;
  throw new IoamError('ERR_IOAM_BAD_VALUE', layer, 0, `${name} must be a Uint8Array or Buffer, got ${got}`);
}

export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw normalizeNativeError(e);
  }
}
