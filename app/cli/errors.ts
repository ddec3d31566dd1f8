/**
 * Exit codes and error reporting of the `ioamsim` command (docs/CLI.md "Exit codes").
 * Errors print one clear line (or one per config issue) on stderr, never a stack trace unless
 * `--debug` (or IOAMSIM_DEBUG=1) is given.
 */
import { CommanderError } from 'commander';
import { CaptureError } from '../../src/capture/errors';

/** Process exit codes. */
export const EXIT = {
  /** Success (dropped packets are outcomes, not failures). */
  OK: 0,
  /** Bad input: missing/unreadable/corrupt file, bad node file, malformed data; nothing useful written. */
  INPUT: 1,
  /** Bad usage: unknown option, missing argument, invalid option value, unknown interface name. */
  USAGE: 2,
  /** Partial: the input was truncated or corrupt after some packets; those were processed and written. */
  PARTIAL: 3,
  /** Internal or environment error: native addon missing, unexpected exception (a bug: please report). */
  INTERNAL: 4,
  /** Stopped by Ctrl-C (SIGINT: 128 + 2, as a shell reports it); nothing written. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM (128 + 15); nothing written. */
  TERMINATED: 143,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error a command raises on purpose, with the exit code it means. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, opts?: { cause?: unknown }) {
    super(message, opts);
    this.exitCode = exitCode;
  }
}

/** Wrong use of the command line (exit 2). */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** Bad input data (exit 1). */
export class InputError extends CliError {
  override name = 'InputError';
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, EXIT.INPUT, opts);
  }
}

/** The input ended badly after some packets; the output holds those packets (exit 3). */
export class PartialError extends CliError {
  override name = 'PartialError';
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, EXIT.PARTIAL, opts);
  }
}

/** Names of library errors that are input problems (matched by name: no import of native code). */
const INPUT_ERROR_NAMES = new Set(['IoamError', 'IoamConfigError', 'CaptureError', 'ZodError']);

/** errno codes of an output that cannot be written: full disk, quota, file too large, read-only, I/O error. */
const OUTPUT_FAILURE = /\b(ENOSPC|EDQUOT|EFBIG|EROFS|EIO)\b/;

/** Exit code and the message lines for any thrown value. */
export function describeError(e: unknown): { exitCode: ExitCode; lines: string[] } {
  if (e instanceof CommanderError) {
    const ok = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
    return { exitCode: ok ? EXIT.OK : EXIT.USAGE, lines: [] }; // commander already printed it
  }
  if (e instanceof CliError) return { exitCode: e.exitCode, lines: e.message.split('\n') };
  // Output into a pipe whose reader stopped (`ioamsim transit in.pcap /dev/stdout | head -c 100`): not
  // an error, as for decode's stdout (main.ts); the reader took what it wanted.
  if (e instanceof CaptureError && e.code === 'ERR_CAPTURE_IO' && /\bEPIPE\b/.test(e.message)) return { exitCode: EXIT.OK, lines: [] };
  // A full or read-only disk is the environment, not the input and not a bug (exit 4, no "bug" line).
  if (e instanceof CaptureError) return { exitCode: e.code === 'ERR_CAPTURE_IO' && OUTPUT_FAILURE.test(e.message) ? EXIT.INTERNAL : EXIT.INPUT, lines: [e.message] };
  const err = e as { name?: string; message?: string; code?: string; layer?: string };
  if (err?.name === 'IoamError' && err.layer === 'native') return { exitCode: EXIT.INTERNAL, lines: [String(err.message)] };
  if (err && typeof err === 'object' && typeof err.name === 'string' && INPUT_ERROR_NAMES.has(err.name)) {
    return { exitCode: EXIT.INPUT, lines: String(err.message).split('\n') };
  }
  if (err?.name === 'NativeLoadError') return { exitCode: EXIT.INTERNAL, lines: [String(err.message)] };
  if (err?.code === 'ENOENT' || err?.code === 'EACCES' || err?.code === 'EISDIR') {
    return { exitCode: EXIT.INPUT, lines: [String(err.message)] };
  }
  // A path the user gave where a directory is needed names a file (mkdir: EEXIST; under a file: ENOTDIR).
  if (err?.code === 'EEXIST' || err?.code === 'ENOTDIR') {
    const p = (e as { path?: string }).path;
    return { exitCode: EXIT.INPUT, lines: [p ? `${p}: not a directory (a file is in the way): ${String(err.message)}` : String(err.message)] };
  }
  if (typeof err?.code === 'string' && OUTPUT_FAILURE.test(err.code)) {
    return { exitCode: EXIT.INTERNAL, lines: [`cannot write output: ${String(err.message)}`] };
  }
  const msg = err && typeof err === 'object' && 'message' in err ? String(err.message) : String(e);
  return { exitCode: EXIT.INTERNAL, lines: [`internal error: ${msg}`, 'this is a bug: rerun with --debug and report the output'] };
}
