/**
 * What `demo` and `run` share for OpenTelemetry output: the `--epoch` value, the `--otlp`
 * destination (file or OTLP/HTTP URL), the export error → exit code mapping (bad URL 1, receiver
 * unreachable or refusing 4) and the one-line success report.
 * @module
 */
import type { OtlpExportError, OtlpHttpResult } from '../../src/otlp';
import { CliError, EXIT, InputError, UsageError } from './errors';

/** `--epoch ISO|now` → ms since the POSIX epoch (whole ms, 1970..2106: IOAM seconds are 32-bit). */
export function parseEpoch(v: string, nowMs: number = Date.now()): number {
  const ms = v === 'now' ? nowMs : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms) || ms < 0 || ms >= 2 ** 32 * 1000) {
    throw new UsageError(`--epoch: expected an ISO time such as 2026-01-01T00:00:00Z, or now; got ${JSON.stringify(v)}`);
  }
  return Math.floor(ms);
}

/** Is `--otlp` a URL (scheme://…) rather than a file? */
export function isUrl(v: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(v);
}

/** Checks an OTLP endpoint before any work is done (exit 1 on a bad URL). */
export async function checkEndpoint(endpoint: string): Promise<void> {
  const { otlpTracesUrl } = await import('../../src/otlp');
  try {
    otlpTracesUrl(endpoint);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
}

/** An export error as the CLI reports it: bad URL exit 1, network/HTTP failure exit 4. */
export function exportFailure(e: unknown): unknown {
  const x = e as OtlpExportError;
  if (x?.name !== 'OtlpExportError') return e;
  return x.kind === 'bad-url' ? new InputError(x.message, { cause: e }) : new CliError(x.message, EXIT.INTERNAL, { cause: e });
}

/** `OTLP: 735 spans accepted by URL (12 requests)`, and the rejections if any. */
export function exportReport(r: OtlpHttpResult): string {
  let s = `OTLP: ${r.accepted} of ${r.spans} spans accepted by ${r.url} (${r.requests} request${r.requests === 1 ? '' : 's'}${r.retries ? `, ${r.retries} retries` : ''})`;
  if (r.rejected > 0) s += `; ${r.rejected} rejected${r.rejectionMessages.length ? `: ${[...new Set(r.rejectionMessages)].join('; ')}` : ''}`;
  return s + '\n';
}
