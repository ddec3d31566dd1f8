/**
 * Reports of a CLT run: a text summary and a self-contained HTML page (no external assets, no
 * script): the conclusion, the per-request breakdown, a waterfall of application spans with their
 * network hops, and per-link latency and queue-depth plots as inline SVG.
 * @module
 */
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { bytesText, ms, type Analysis } from './analysis';
import type { NetSpan } from './collector';

/** Everything the report shows. */
export interface ReportModel {
  title: string;
  seed: string;
  encoding: string;
  idMode: string;
  analysis: Analysis;
  appSpans: readonly ReadableSpan[];
  netSpans: readonly NetSpan[];
  /** Per link: IOAM observations over time (ms since start, hop delay ns, queue depth bytes). */
  links: { name: string; points: { tMs: number; delayNs: number; queue: number | null }[] }[];
  /** Bytes per packet spent on carrying the IDs, per encoding. */
  costs: { encoding: string; bytes: string }[];
  startNs: bigint;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const toNs = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** The text report printed by `ioamsim demo` and written to report.txt. */
export function textReport(m: ReportModel): string {
  const a = m.analysis;
  const lines: string[] = [];
  lines.push(`${m.title} — seed ${m.seed}, IDs per ${m.idMode}, ${m.encoding} encoding`);
  lines.push(`${a.requests.length} requests, ${m.netSpans.length} network spans (one per request direction)`);
  if (a.verdict) lines.push('', a.verdict.text);
  lines.push('', 'Contributors (slowest ≥p90 requests vs median of all):');
  for (const r of a.ranking.slice(0, 8)) {
    lines.push(`  ${r.name.padEnd(34)} median ${ms(r.medianNs).padStart(10)}  slow ${ms(r.slowMeanNs).padStart(10)}  excess ${ms(r.excessNs).padStart(10)}${r.maxQueueDepth !== undefined ? `  queue ≤ ${bytesText(r.maxQueueDepth)}` : ''}`);
  }
  if (a.misattributedNetSpans > 0 || a.unattributedCalls > 0) {
    lines.push('', `Mis-attribution: ${a.misattributedNetSpans} network spans lie outside the span whose IDs they carry; ${a.unattributedCalls} calls have no network span of their own.`);
  }
  lines.push('', 'Per request (time per service vs per network hop):');
  for (const r of a.requests) {
    const parts = r.contributions.slice(0, 4).map((c) => `${c.name} ${ms(c.ns)}`).join(', ');
    lines.push(`  ${r.traceId.slice(0, 8)} ${ms(r.durationNs).padStart(10)}  slowest: ${r.slowest.name} (${ms(r.slowest.ns)}) | ${parts}`);
  }
  return lines.join('\n') + '\n';
}

/** A scatter/line plot as inline SVG. */
function plot(title: string, points: { x: number; y: number }[], yLabel: string, cls: string): string {
  const W = 520;
  const H = 160;
  const L = 56;
  const B = 24;
  const maxX = Math.max(1, ...points.map((p) => p.x));
  const maxY = Math.max(1e-9, ...points.map((p) => p.y));
  const sx = (x: number) => L + (x / maxX) * (W - L - 10);
  const sy = (y: number) => H - B - (y / maxY) * (H - B - 16);
  const dots = points.map((p) => `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2"/>`).join('');
  return `<svg class="plot ${cls}" role="img" aria-label="${esc(title)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">`
    + `<title>${esc(title)}</title>`
    + `<text x="${L}" y="12" class="pt">${esc(title)}</text>`
    + `<line x1="${L}" y1="${H - B}" x2="${W - 10}" y2="${H - B}" class="ax"/><line x1="${L}" y1="16" x2="${L}" y2="${H - B}" class="ax"/>`
    + `<text x="${L - 4}" y="22" class="yl" text-anchor="end">${esc(yLabel.replace('{max}', fmtY(maxY, yLabel)))}</text>`
    + `<text x="${L - 4}" y="${H - B}" class="yl" text-anchor="end">0</text>`
    + `<text x="${W - 10}" y="${H - 6}" class="yl" text-anchor="end">${maxX.toFixed(0)} ms</text>`
    + `<g class="pts">${dots}</g></svg>`;
}

function fmtY(v: number, label: string): string {
  return label.includes('ms') ? (v / 1e6).toFixed(2) : bytesText(Math.round(v));
}

/** The self-contained HTML report. */
export function htmlReport(m: ReportModel, opts: { waterfalls?: number } = {}): string {
  const a = m.analysis;
  const v = a.verdict;
  const spansByTrace = new Map<string, ReadableSpan[]>();
  for (const s of m.appSpans) {
    const id = s.spanContext().traceId;
    let l = spansByTrace.get(id);
    if (!l) spansByTrace.set(id, (l = []));
    l.push(s);
  }
  const netByParent = new Map<string, NetSpan[]>();
  for (const n of m.netSpans) {
    let l = netByParent.get(n.parentSpanId);
    if (!l) netByParent.set(n.parentSpanId, (l = []));
    l.push(n);
  }
  // Waterfalls: the slowest requests first.
  const chosen = [...a.requests].sort((x, y) => y.durationNs - x.durationNs).slice(0, opts.waterfalls ?? 3);
  const waterfalls = chosen.map((r) => {
    const spans = spansByTrace.get(r.traceId) ?? [];
    const t0 = r.startNs;
    const total = Math.max(1, r.durationNs);
    const rows: { label: string; cls: string; s: bigint; e: bigint; title: string; depth: number }[] = [];
    const children = new Map<string, ReadableSpan[]>();
    for (const s of spans) {
      const p = s.parentSpanContext?.spanId ?? '';
      let l = children.get(p);
      if (!l) children.set(p, (l = []));
      l.push(s);
    }
    const walk = (s: ReadableSpan, depth: number): void => {
      const svc = String(s.resource.attributes['service.name'] ?? '');
      const st = toNs(s.startTime);
      const en = toNs(s.endTime);
      rows.push({ label: `${svc}: ${s.name}`, cls: s.kind === SpanKind.CLIENT ? 'client' : 'server', s: st, e: en, title: `${svc} ${s.name} ${ms(Number(en - st))}`, depth });
      for (const n of netByParent.get(s.spanContext().spanId) ?? []) {
        rows.push({ label: `network ${n.hops[0]?.from ?? n.src} → ${n.hops[n.hops.length - 1]?.to ?? n.dst}`, cls: 'net', s: n.startNs, e: n.endNs, title: `${n.packets} packets ${ms(Number(n.endNs - n.startNs))}`, depth: depth + 1 });
        for (const h of n.hops) {
          const slowHop = v && v.contributor.name === `hop ${h.name}`;
          rows.push({ label: `hop ${h.name}`, cls: slowHop ? 'hop culprit' : 'hop', s: h.startNs, e: h.endNs, title: `hop ${h.name}: ${ms(h.lastDelayNs)}, queue ≤ ${bytesText(h.maxQueueDepth ?? 0)}`, depth: depth + 2 });
        }
      }
      const kids = (children.get(s.spanContext().spanId) ?? []).sort((x, y) => (toNs(x.startTime) < toNs(y.startTime) ? -1 : 1));
      for (const k of kids) walk(k, depth + 1);
    };
    const root = spans.find((s) => !s.parentSpanContext);
    if (root) walk(root, 0);
    const bar = (x: { s: bigint; e: bigint }) => {
      const left = (Number(x.s - t0) / total) * 100;
      const width = Math.max(0.3, (Number(x.e - x.s) / total) * 100);
      return `left:${Math.max(0, left).toFixed(2)}%;width:${Math.min(100, width).toFixed(2)}%`;
    };
    const rowsHtml = rows.map((x) => `<div class="row"><div class="lbl" style="padding-left:${x.depth * 12}px">${esc(x.label)}</div><div class="track"><div class="bar ${x.cls}" style="${bar(x)}" title="${esc(x.title)}"></div></div><div class="dur">${esc(ms(Number(x.e - x.s)))}</div></div>`).join('');
    return `<section class="waterfall" data-trace="${r.traceId}"><h3>Request ${esc(r.traceId)} — ${esc(r.service)} ${esc(r.name)}: ${esc(ms(r.durationNs))}; slowest: ${esc(r.slowest.name)} (${esc(ms(r.slowest.ns))})</h3>${rowsHtml}</section>`;
  }).join('\n');
  const ranking = a.ranking.map((r) => `<tr class="${v && v.contributor.name === r.name ? 'culprit' : ''}"><td>${esc(r.name)}</td><td>${esc(ms(r.medianNs))}</td><td>${esc(ms(r.slowMeanNs))}</td><td>${esc(ms(r.excessNs))}</td><td>${r.maxQueueDepth !== undefined ? esc(bytesText(r.maxQueueDepth)) : ''}</td></tr>`).join('');
  const reqRows = a.requests.map((r) => `<tr><td><code>${r.traceId.slice(0, 16)}</code></td><td>${esc(ms(r.durationNs))}</td>${['service', 'hop', 'other'].map((k) => `<td>${esc(ms(r.contributions.filter((c) => c.kind === k).reduce((s, c) => s + c.ns, 0)))}</td>`).join('')}<td>${esc(r.slowest.name)}</td></tr>`).join('');
  const linkPlots = m.links.filter((l) => l.points.length > 0).map((l) => {
    const culprit = v && v.contributor.name === `hop ${l.name}`;
    return `<div class="link${culprit ? ' culprit' : ''}" data-link="${esc(l.name)}"><h3>${esc(l.name)}${culprit ? ' — slowest contributor' : ''}</h3>`
      + plot(`hop delay ${l.name}`, l.points.map((p) => ({ x: p.tMs, y: p.delayNs })), 'max {max} ms', 'latency')
      + plot(`queue depth ${l.name}`, l.points.filter((p) => p.queue !== null).map((p) => ({ x: p.tMs, y: p.queue! })), '{max}', 'queue')
      + '</div>';
  }).join('\n');
  const costs = m.costs.map((c) => `<li>${esc(c.encoding)}: ${esc(c.bytes)}</li>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(m.title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}h3{font-size:14px;margin:14px 0 6px}
#conclusion{background:#fff4e5;border-left:4px solid #e67e22;padding:10px 14px;font-size:15px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
tr.culprit td{background:#fde2e2;font-weight:bold}
.row{display:flex;align-items:center;height:18px}.lbl{width:300px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:12px}
.track{position:relative;flex:1;height:12px;background:#f3f3f3}.bar{position:absolute;top:0;height:12px}
.dur{width:90px;text-align:right;font-size:12px}
.server{background:#3b7dd8}.client{background:#8fb5ea}.net{background:#6bbf59}.hop{background:#b5dfa9}.hop.culprit{background:#d9534f}
.plot{border:1px solid #ddd;margin:4px 8px 4px 0}.plot .pts{fill:#3b7dd8}.queue .pts{fill:#e67e22}.ax{stroke:#888}.pt{font-size:12px}.yl{font-size:10px;fill:#555}
.link{display:inline-block;vertical-align:top}.link.culprit h3{color:#c0392b}
</style></head><body>
<h1>${esc(m.title)}</h1>
<p>Seed ${esc(m.seed)} · IDs carried per ${esc(m.idMode)} · ${esc(m.encoding)} encoding · ${a.requests.length} requests · ${m.netSpans.length} network spans</p>
<div id="conclusion">${v ? esc(v.text) : 'No traced request finished.'}</div>
${a.misattributedNetSpans > 0 || a.unattributedCalls > 0 ? `<p id="misattribution">Mis-attribution: ${a.misattributedNetSpans} network spans lie outside the span whose IDs they carry; ${a.unattributedCalls} calls have no network span of their own.</p>` : ''}
<h2>Contributors</h2>
<table id="ranking"><tr><th>contributor</th><th>median</th><th>slow requests (mean)</th><th>excess</th><th>max queue depth</th></tr>${ranking}</table>
<h2>Slowest requests: application spans and network hops</h2>
${waterfalls}
<h2>Links (IOAM hop delay and queue depth over time)</h2>
${linkPlots}
<h2>All requests</h2>
<table id="requests"><tr><th>trace</th><th>duration</th><th>services</th><th>network</th><th>other</th><th>slowest</th></tr>${reqRows}</table>
<h2>Cost of carrying the IDs</h2><ul>${costs}</ul>
</body></html>
`;
}
