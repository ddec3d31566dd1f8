/**
 * OTLP export of spans: the OTLP/JSON mapping of an ExportTraceServiceRequest
 * (opentelemetry-proto `collector/trace/v1/trace_service.proto`, JSON per the OTLP specification
 * §"JSON Protobuf Encoding": trace and span IDs as lower-case hex, not base64; 64-bit integers as
 * decimal strings; enums as integers; lowerCamelCase field names), JSON Lines files (one request per
 * line, as the OpenTelemetry file exporter writes them), and OTLP/HTTP (`POST {endpoint}/v1/traces`,
 * `Content-Type: application/json`).
 *
 * A small mapper of our own instead of `@opentelemetry/otlp-transformer`, whose README says it is
 * internal and experimental. Input is the SDK's `ReadableSpan` (sdk-trace-base 2.x).
 * @module
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AttributeValue, Attributes, HrTime } from '@opentelemetry/api';

/** OTLP `AnyValue` in JSON. */
export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpAnyValue[] } };

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  events: { timeUnixNano: string; name: string; attributes: OtlpKeyValue[] }[];
  links: { traceId: string; spanId: string; attributes: OtlpKeyValue[] }[];
  status: { code: number; message?: string };
  flags?: number;
}

export interface OtlpExportTraceServiceRequest {
  resourceSpans: {
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: { scope: { name: string; version?: string }; spans: OtlpSpan[] }[];
  }[];
}

/** HrTime [s, ns] → decimal string of ns since the epoch. */
export function hrTimeToNanoString(t: HrTime): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}

/** An attribute value in OTLP JSON (integers as strings, non-integers as doubles). */
export function toAnyValue(v: AttributeValue): OtlpAnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { arrayValue: { values: (v as unknown[]).filter((x) => x !== null && x !== undefined).map((x) => toAnyValue(x as AttributeValue)) } };
}

/** Attributes in OTLP JSON, keys sorted (stable output). */
export function toKeyValues(a: Attributes): OtlpKeyValue[] {
  return Object.keys(a)
    .sort()
    .filter((k) => a[k] !== undefined)
    .map((k) => ({ key: k, value: toAnyValue(a[k]!) }));
}

/** One span in OTLP JSON. */
export function toOtlpSpan(s: ReadableSpan): OtlpSpan {
  const ctx = s.spanContext();
  const out: OtlpSpan = {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    name: s.name,
    // api SpanKind INTERNAL=0..CONSUMER=4; OTLP SPAN_KIND_INTERNAL=1..CONSUMER=5.
    kind: s.kind + 1,
    startTimeUnixNano: hrTimeToNanoString(s.startTime),
    endTimeUnixNano: hrTimeToNanoString(s.endTime),
    attributes: toKeyValues(s.attributes),
    events: s.events.map((e) => ({ timeUnixNano: hrTimeToNanoString(e.time), name: e.name, attributes: toKeyValues(e.attributes ?? {}) })),
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: toKeyValues(l.attributes ?? {}) })),
    status: s.status.message ? { code: s.status.code, message: s.status.message } : { code: s.status.code },
    flags: ctx.traceFlags & 0xff,
  };
  if (s.parentSpanContext?.spanId) out.parentSpanId = s.parentSpanContext.spanId;
  return out;
}

/**
 * Groups spans by resource (service) and instrumentation scope into one ExportTraceServiceRequest.
 * Order is stable: resources and scopes in first-seen order, spans in input order.
 */
export function toOtlpRequest(spans: readonly ReadableSpan[]): OtlpExportTraceServiceRequest {
  const byResource = new Map<string, { attrs: Attributes; scopes: Map<string, { name: string; version?: string; spans: OtlpSpan[] }> }>();
  for (const s of spans) {
    const attrs = s.resource.attributes;
    const rkey = JSON.stringify(Object.keys(attrs).sort().map((k) => [k, attrs[k]]));
    let r = byResource.get(rkey);
    if (!r) {
      r = { attrs, scopes: new Map() };
      byResource.set(rkey, r);
    }
    const sc = s.instrumentationScope;
    const skey = `${sc.name}@${sc.version ?? ''}`;
    let scope = r.scopes.get(skey);
    if (!scope) {
      scope = { name: sc.name, ...(sc.version ? { version: sc.version } : {}), spans: [] };
      r.scopes.set(skey, scope);
    }
    scope.spans.push(toOtlpSpan(s));
  }
  return {
    resourceSpans: [...byResource.values()].map((r) => ({
      resource: { attributes: toKeyValues(r.attrs) },
      scopeSpans: [...r.scopes.values()].map((sc) => ({
        scope: sc.version ? { name: sc.name, version: sc.version } : { name: sc.name },
        spans: sc.spans,
      })),
    })),
  };
}

/**
 * JSON Lines text: one ExportTraceServiceRequest per trace (spans grouped by trace ID, in first-seen
 * order), each on its own line, newline-terminated.
 */
export function toOtlpJsonLines(spans: readonly ReadableSpan[]): string {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const s of spans) {
    const id = s.spanContext().traceId;
    let l = byTrace.get(id);
    if (!l) byTrace.set(id, (l = []));
    l.push(s);
  }
  let out = '';
  for (const l of byTrace.values()) out += JSON.stringify(toOtlpRequest(l)) + '\n';
  return out;
}

/** What went wrong in an OTLP/HTTP export. */
export type OtlpErrorKind = 'bad-url' | 'network' | 'http';

/**
 * An OTLP/HTTP export that did not go through. The message is one line naming the endpoint and
 * what happened; `kind` says whether the URL was bad (an input error), the receiver could not be
 * reached (`network`) or it answered with an error status (`http`, with `status`).
 */
export class OtlpExportError extends Error {
  override name = 'OtlpExportError';
  constructor(readonly kind: OtlpErrorKind, readonly endpoint: string, message: string, readonly status?: number, opts?: { cause?: unknown }) {
    super(message, opts);
  }
}

/** Result of an OTLP/HTTP export. */
export interface OtlpHttpResult {
  /** The URL posted to (`…/v1/traces`). */
  url: string;
  /** HTTP status of the last answer. */
  status: number;
  /** POST requests that succeeded (retries not counted). */
  requests: number;
  /** Retries made (after 429/502/503/504 or a connection failure). */
  retries: number;
  spans: number;
  /** Spans the receiver accepted: sent minus `partialSuccess.rejectedSpans`. */
  accepted: number;
  rejected: number;
  /** `partialSuccess.errorMessage` of the answers that had one. */
  rejectionMessages: string[];
}

/** Options of {@link exportOtlpHttp}. */
export interface OtlpHttpOptions {
  /** Traces per request (default 64). */
  batchTraces?: number;
  /** Timeout of one request in ms (default 10 000). */
  timeoutMs?: number;
  /** Retries per request on 429/502/503/504 or a connection failure (default 4: 0.25+0.5+1+2 s of backoff). */
  maxRetries?: number;
  /** First backoff delay in ms, doubled per retry (default 250); a Retry-After header wins. */
  backoffMs?: number;
  /** Longest single wait in ms, Retry-After included (default 10 000). */
  maxDelayMs?: number;
  /** Injected for tests (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
}

/** The `/v1/traces` URL of an endpoint (base URL, or a URL already ending with `/v1/traces`). */
export function otlpTracesUrl(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new OtlpExportError('bad-url', endpoint, `OTLP endpoint ${JSON.stringify(endpoint)} is not a URL (expected e.g. http://127.0.0.1:4318)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new OtlpExportError('bad-url', endpoint, `OTLP endpoint ${endpoint}: the scheme must be http or https, not ${u.protocol.replace(/:$/, '')}`);
  }
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : base + '/v1/traces';
}

/** Retryable answers (OTLP/HTTP specification, "Retryable Response Codes"). */
const RETRYABLE = new Set([429, 502, 503, 504]);

/** Delay asked by a Retry-After header (seconds or an HTTP date), in ms, or undefined. */
export function retryAfterMs(h: string | null, nowMs = Date.now()): number | undefined {
  if (!h) return undefined;
  const t = h.trim();
  if (/^[0-9]+$/.test(t)) return Number(t) * 1000;
  const d = Date.parse(t);
  return Number.isNaN(d) ? undefined : Math.max(0, d - nowMs);
}

/** Why a fetch failed, in words (Node's undici puts the errno code in `cause`). */
function networkReason(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'no answer before the timeout';
  const code = err?.cause?.code;
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused', ENOTFOUND: 'host not found', EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset', ETIMEDOUT: 'connection timed out', EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable', UND_ERR_SOCKET: 'connection closed by the receiver',
  };
  if (code && words[code]) return `${words[code]} (${code})`;
  if (/bad port/i.test(err?.cause?.message ?? '')) return 'port blocked by fetch (a "bad port" in the Fetch standard)';
  return err?.cause?.message ?? err?.message ?? String(e);
}

/** The `message` of an OTLP error body (google.rpc.Status in JSON), else the trimmed text. */
function errorText(body: string): string {
  try {
    const j = JSON.parse(body) as { message?: unknown };
    if (typeof j.message === 'string' && j.message) return j.message;
  } catch {
    /* not JSON */
  }
  const t = body.trim().replace(/\s+/g, ' ');
  return t.length > 200 ? t.slice(0, 200) + '…' : t || '(empty body)';
}

/**
 * POSTs spans to an OTLP/HTTP endpoint as JSON: `endpoint` is the base URL (`http://host:4318`,
 * `/v1/traces` appended unless the URL already ends with it). Sends one request per `batchTraces`
 * traces. Retries 429/502/503/504 and connection failures with exponential backoff, honouring
 * Retry-After, at most `maxRetries` times per request (OTLP/HTTP §Failures, §Throttling). Reads
 * `partialSuccess` of the answers. Throws {@link OtlpExportError} otherwise.
 */
export async function exportOtlpHttp(endpoint: string, spans: readonly ReadableSpan[], opts: OtlpHttpOptions = {}): Promise<OtlpHttpResult> {
  const url = otlpTracesUrl(endpoint);
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxRetries = opts.maxRetries ?? 4;
  const backoff = opts.backoffMs ?? 250;
  const maxDelay = opts.maxDelayMs ?? 10_000;
  const lines = toOtlpJsonLines(spans).split('\n').filter((l) => l.length > 0);
  const batch = Math.max(1, opts.batchTraces ?? 64);
  const out: OtlpHttpResult = { url, status: 0, requests: 0, retries: 0, spans: 0, accepted: 0, rejected: 0, rejectionMessages: [] };
  for (let i = 0; i < lines.length; i += batch) {
    const reqs = lines.slice(i, i + batch).map((l) => JSON.parse(l) as OtlpExportTraceServiceRequest);
    const merged: OtlpExportTraceServiceRequest = { resourceSpans: reqs.flatMap((r) => r.resourceSpans) };
    const n = merged.resourceSpans.reduce((a, rs) => a + rs.scopeSpans.reduce((b, ss) => b + ss.spans.length, 0), 0);
    const body = JSON.stringify(merged);
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      let failure: string | undefined;
      let cause: unknown;
      let permanent = false;
      try {
        res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
      } catch (e) {
        failure = networkReason(e);
        cause = e;
        // A name that does not resolve or a port fetch refuses will not get better by waiting.
        const code = (e as { cause?: { code?: string; message?: string } })?.cause;
        permanent = code?.code === 'ENOTFOUND' || /bad port/i.test(code?.message ?? (e as Error)?.message ?? '');
      }
      const text = res ? await res.text().catch(() => '') : '';
      if (res && res.status >= 200 && res.status < 300) {
        out.status = res.status;
        out.requests++;
        out.spans += n;
        let rejected = 0;
        try {
          const ps = (JSON.parse(text || '{}') as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } }).partialSuccess;
          rejected = Number(ps?.rejectedSpans ?? 0) || 0;
          if (ps?.errorMessage) out.rejectionMessages.push(ps.errorMessage);
        } catch {
          /* a 2xx without a JSON body: everything accepted */
        }
        out.rejected += rejected;
        out.accepted += n - rejected;
        break;
      }
      const retryable = res === undefined ? !permanent : RETRYABLE.has(res.status);
      const what = res ? `HTTP ${res.status}: ${errorText(text)}` : failure!;
      if (!retryable || attempt >= maxRetries) {
        const tries = attempt > 0 ? ` (after ${attempt + 1} attempts)` : '';
        throw new OtlpExportError(res ? 'http' : 'network', endpoint, `OTLP export to ${url} failed: ${what}${tries}`, res?.status, { cause });
      }
      const asked = res ? retryAfterMs(res.headers.get('retry-after')) : undefined;
      const wait = Math.min(maxDelay, asked ?? backoff * 2 ** attempt);
      out.retries++;
      await sleep(wait);
    }
  }
  return out;
}
