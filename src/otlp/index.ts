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

/** Result of an OTLP/HTTP export. */
export interface OtlpHttpResult {
  status: number;
  body: string;
  requests: number;
}

/**
 * POSTs spans to an OTLP/HTTP endpoint as JSON: `endpoint` is the base URL (`http://host:4318`,
 * `/v1/traces` appended unless the URL already ends with it). Sends one request per `batchSize`
 * traces. Throws on a non-2xx answer with the receiver's message (OTLP/HTTP §Failures).
 */
export async function exportOtlpHttp(
  endpoint: string,
  spans: readonly ReadableSpan[],
  opts: { batchTraces?: number; timeoutMs?: number } = {},
): Promise<OtlpHttpResult> {
  const url = endpoint.replace(/\/+$/, '').endsWith('/v1/traces') ? endpoint : endpoint.replace(/\/+$/, '') + '/v1/traces';
  const lines = toOtlpJsonLines(spans).split('\n').filter((l) => l.length > 0);
  const batch = Math.max(1, opts.batchTraces ?? 64);
  let last: OtlpHttpResult = { status: 0, body: '', requests: 0 };
  for (let i = 0; i < lines.length; i += batch) {
    const reqs = lines.slice(i, i + batch).map((l) => JSON.parse(l) as OtlpExportTraceServiceRequest);
    const merged: OtlpExportTraceServiceRequest = { resourceSpans: reqs.flatMap((r) => r.resourceSpans) };
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(merged),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    const body = await res.text();
    if (res.status < 200 || res.status >= 300) {
      throw new Error(`OTLP export to ${url} failed: HTTP ${res.status}: ${body.trim()}`);
    }
    last = { status: res.status, body, requests: last.requests + 1 };
  }
  return last;
}
