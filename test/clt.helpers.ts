/**
 * Span structure checks shared by the CLT tests (OTLP JSON in, problems out): every parent in the
 * trace, children inside their parents, no zero-length network span, hop spans in path order.
 */
export interface SpanLike {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

/** Spans of OTLP JSON Lines text. */
export function spansOfJsonl(text: string): (SpanLike & { service: string })[] {
  const out: (SpanLike & { service: string })[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const req = JSON.parse(line) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: SpanLike[] }[] }[] };
    for (const rs of req.resourceSpans) {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
      for (const ss of rs.scopeSpans) for (const s of ss.spans) out.push({ ...s, service });
    }
  }
  return out;
}

/** Every violation of the nesting rules, as readable lines (empty = all good). */
export function nestingProblems(spans: readonly SpanLike[]): string[] {
  const byId = new Map(spans.map((s) => [`${s.traceId}/${s.spanId}`, s]));
  const problems: string[] = [];
  const children = new Map<string, SpanLike[]>();
  for (const s of spans) {
    const st = BigInt(s.startTimeUnixNano);
    const en = BigInt(s.endTimeUnixNano);
    if (en < st) problems.push(`${s.name}: ends before it starts`);
    if (s.name.startsWith('network ') && en === st) problems.push(`${s.name} ${s.spanId}: zero length`);
    if (!s.parentSpanId) continue;
    const p = byId.get(`${s.traceId}/${s.parentSpanId}`);
    if (!p) {
      problems.push(`${s.name} ${s.spanId}: parent ${s.parentSpanId} not in the trace`);
      continue;
    }
    if (st < BigInt(p.startTimeUnixNano)) problems.push(`${s.name} ${s.spanId}: starts ${BigInt(p.startTimeUnixNano) - st} ns before its parent ${p.name}`);
    if (en > BigInt(p.endTimeUnixNano)) problems.push(`${s.name} ${s.spanId}: ends ${en - BigInt(p.endTimeUnixNano)} ns after its parent ${p.name}`);
    const k = `${s.traceId}/${s.parentSpanId}`;
    let l = children.get(k);
    if (!l) children.set(k, (l = []));
    l.push(s);
  }
  // Hop spans of a network span start in path order (emitted in path order).
  for (const [k, l] of children) {
    const hops = l.filter((s) => s.name.startsWith('hop '));
    for (let i = 1; i < hops.length; i++) {
      if (BigInt(hops[i]!.startTimeUnixNano) < BigInt(hops[i - 1]!.startTimeUnixNano)) problems.push(`${k}: ${hops[i]!.name} starts before ${hops[i - 1]!.name}`);
    }
  }
  return problems;
}
