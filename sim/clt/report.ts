/**
 * Reports of a CLT run: a text summary and a self-contained HTML page (uPlot 1.6.32 and the data
 * inlined: nothing is fetched when it is viewed): the conclusion, the per-request breakdown, a
 * waterfall per slow request (application spans with their network and hop spans, named as in
 * OTLP, on a time axis), and per-link hop delay / queue depth plots on one shared time axis.
 * @module
 */
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bytesText, ms, type Analysis } from './analysis';
import { hopSpanName, networkSpanName, type NetSpan } from './collector';
import { PathTable } from '../paths/table';

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

/** uPlot (1.6.32), inlined: the report needs no network when viewed. */
function uplotAssets(): { js: string; css: string } {
  const dir = path.dirname(require.resolve('uplot/package.json'));
  return {
    js: fs.readFileSync(path.join(dir, 'dist', 'uPlot.iife.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script'),
    css: fs.readFileSync(path.join(dir, 'dist', 'uPlot.min.css'), 'utf8'),
  };
}

/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

/**
 * The page's script: builds the uPlot charts from the embedded data. Link plots share one time
 * axis (same range, synchronized cursor); waterfalls are bars on a time axis. Axis sizes are
 * measured from their tick labels, so no label is clipped.
 */
const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var charts = [];
  var FONT = '12px system-ui, sans-serif';
  function axisSize(u, values, i, cycle) {
    var ax = u.axes[i];
    if (cycle > 1) return ax._size;
    var w = 0;
    u.ctx.save();
    u.ctx.font = ax.font[0];
    (values || []).forEach(function (v) { w = Math.max(w, u.ctx.measureText(String(v)).width); });
    u.ctx.restore();
    return Math.ceil(w / uPlot.pxRatio) + ax.ticks.size + ax.gap + (ax.label ? ax.labelSize + ax.labelGap : 0) + 6;
  }
  function yAxis(label, side, scale, fmt) {
    return { scale: scale, side: side, label: label, labelSize: 16, labelGap: 2, font: FONT, labelFont: 'bold ' + FONT, size: axisSize, values: function (u, vals) { return vals.map(fmt); } };
  }
  var xMax = data.links.reduce(function (m, l) { return Math.max(m, l.t[l.t.length - 1] || 0); }, 1);
  data.links.forEach(function (l, k) {
    var el = document.querySelector('[data-link-plot="' + k + '"]');
    var opts = {
      width: 560, height: 220, title: l.name + (l.culprit ? ' (slowest contributor)' : ''),
      padding: [8, 28, 0, 0],
      legend: { show: false },
      cursor: { sync: { key: 'links' } },
      scales: { x: { time: false, range: [0, xMax] }, delay: { range: function (u, a, b) { return [0, Math.max(b, 0.001) * 1.1]; } }, queue: { range: function (u, a, b) { return [0, Math.max(b, 1) * 1.1]; } } },
      axes: [
        { label: 'time since the start of the run (ms)', labelSize: 16, font: FONT, labelFont: 'bold ' + FONT, size: 44 },
        yAxis('hop delay (ms)', 3, 'delay', function (v) { return v.toFixed(v < 1 ? 2 : 1); }),
        yAxis('queue depth (kB)', 1, 'queue', function (v) { return v.toFixed(v < 10 ? 1 : 0); }),
      ],
      series: [
        {},
        { label: 'hop delay (ms)', scale: 'delay', stroke: '#3b7dd8', paths: function () { return null; }, points: { show: true, size: 4, fill: '#3b7dd8' } },
        { label: 'queue depth (kB)', scale: 'queue', stroke: '#e67e22', paths: function () { return null; }, points: { show: true, size: 4, fill: '#e67e22' } },
      ],
    };
    charts.push({ kind: 'link', name: l.name, u: new uPlot(opts, [l.t, l.delayMs, l.queueKb], el) });
  });
  var COLORS = { server: '#3b7dd8', client: '#8fb5ea', net: '#6bbf59', hop: '#b5dfa9', culprit: '#d9534f' };
  data.waterfalls.forEach(function (w, k) {
    var el = document.querySelector('[data-waterfall-plot="' + k + '"]');
    var n = w.rows.length;
    var opts = {
      width: 1100, height: 70 + 22 * n, title: w.title,
      padding: [8, 28, 0, 0],
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [0, w.totalMs] }, y: { auto: false, dir: -1, range: [-0.5, n - 0.5] } },
      axes: [
        { label: 'time since the request started (ms)', labelSize: 16, font: FONT, labelFont: 'bold ' + FONT, size: 44 },
        { scale: 'y', side: 3, font: FONT, size: axisSize, grid: { show: false }, ticks: { show: false },
          splits: function () { return w.rows.map(function (_, i) { return i; }); },
          values: function () { return w.rows.map(function (r) { return r.label; }); } },
      ],
      series: [{}, { scale: 'y', show: true, paths: function () { return null; }, points: { show: false } }],
      hooks: { draw: [function (u) {
        var ctx = u.ctx;
        ctx.save();
        w.rows.forEach(function (r, i) {
          var x0 = u.valToPos(r.s, 'x', true), x1 = u.valToPos(r.e, 'x', true);
          var y0 = u.valToPos(i - 0.35, 'y', true), y1 = u.valToPos(i + 0.35, 'y', true);
          ctx.fillStyle = COLORS[r.culprit ? 'culprit' : r.cls];
          ctx.fillRect(x0, Math.min(y0, y1), Math.max(x1 - x0, uPlot.pxRatio), Math.abs(y1 - y0));
        });
        ctx.restore();
      }] },
    };
    charts.push({ kind: 'waterfall', name: w.title, rows: w.rows, u: new uPlot(opts, [[0, w.totalMs], [null, null]], el) });
  });
  window.ioamsimCharts = charts;
})();
`;

/** The self-contained HTML report. */
/** The IOAM path table (sim/paths) of the network spans: per src > dst, each path with its spans, first/last seen, changes. */
function pathRows(m: ReportModel): string {
  const ids = new Map<string, number>();
  const id = (n: string) => ids.get(n) ?? (ids.set(n, ids.size), ids.size - 1);
  const t = new PathTable();
  for (const n of m.netSpans) {
    if (n.hops.length === 0) continue;
    t.add(`${n.src} > ${n.dst}`, 0, Number(n.startNs - m.startNs), [{ node_id: id(n.hops[0]!.from) }, ...n.hops.map((h) => ({ node_id: id(h.to) }))]);
  }
  const names = [...ids.keys()];
  return Object.entries(t.toJSON((i) => names[i] ?? String(i))).flatMap(([flow, f]) => f.paths.map((p, i) =>
    `<tr><td>${i === 0 ? esc(flow.replace(/ ns 0$/, '')) : ''}</td><td>${esc(p.path)}</td><td>${p.packets}</td><td>${ms(p.first_ns)}</td><td>${ms(p.last_ns)}</td><td>${i === 0 ? f.changes_total : ''}</td></tr>`)).join('');
}

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
  const waterfallData = chosen.map((r) => {
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
        rows.push({ label: `ioam-collector: ${networkSpanName(n)}`, cls: 'net', s: n.startNs, e: n.endNs, title: `${n.packets} packets ${ms(Number(n.endNs - n.startNs))}`, depth: depth + 1 });
        for (const h of n.hops) {
          const slowHop = v && v.contributor.name === `hop ${h.name}`;
          rows.push({ label: `ioam-collector: ${hopSpanName(h)}`, cls: slowHop ? 'hop culprit' : 'hop', s: h.startNs, e: h.endNs, title: `hop ${h.name}: ${ms(h.lastDelayNs)}, queue ≤ ${bytesText(h.maxQueueDepth ?? 0)}`, depth: depth + 2 });
        }
      }
      const kids = (children.get(s.spanContext().spanId) ?? []).sort((x, y) => (toNs(x.startTime) < toNs(y.startTime) ? -1 : 1));
      for (const k of kids) walk(k, depth + 1);
    };
    const root = spans.find((s) => !s.parentSpanContext);
    if (root) walk(root, 0);
    const msOf = (t: bigint): number => Math.round(Number(t - t0) / 1000) / 1000;
    return {
      traceId: r.traceId,
      title: `Request ${r.traceId.slice(0, 16)}: ${r.service} ${r.name}, ${ms(r.durationNs)}; slowest: ${r.slowest.name} (${ms(r.slowest.ns)})`,
      totalMs: Math.max(0.001, r.durationNs / 1e6),
      rows: rows.map((x) => ({ label: '  '.repeat(x.depth) + x.label, cls: x.cls.split(' ')[0], culprit: x.cls.includes('culprit'), s: msOf(x.s), e: msOf(x.e), title: x.title, depth: x.depth })),
    };
  });
  const ranking = a.ranking.map((r) => `<tr class="${v && v.contributor.name === r.name ? 'culprit' : ''}"><td>${esc(r.name)}</td><td>${esc(ms(r.medianNs))}</td><td>${esc(ms(r.slowMeanNs))}</td><td>${esc(ms(r.excessNs))}</td><td>${r.maxQueueDepth !== undefined ? esc(bytesText(r.maxQueueDepth)) : ''}</td></tr>`).join('');
  const reqRows = a.requests.map((r) => `<tr><td><code>${r.traceId.slice(0, 16)}</code></td><td>${esc(ms(r.durationNs))}</td>${['service', 'hop', 'other'].map((k) => `<td>${esc(ms(r.contributions.filter((c) => c.kind === k).reduce((s, c) => s + c.ns, 0)))}</td>`).join('')}<td>${esc(r.slowest.name)}</td></tr>`).join('');
  const links = m.links.filter((l) => l.points.length > 0).map((l) => {
    const pts = [...l.points].sort((x, y) => x.tMs - y.tMs);
    return {
      name: l.name, culprit: !!v && v.contributor.name === `hop ${l.name}`,
      t: pts.map((p) => Math.round(p.tMs * 1000) / 1000),
      delayMs: pts.map((p) => Math.round(p.delayNs / 1000) / 1000),
      queueKb: pts.map((p) => (p.queue === null ? null : Math.round(p.queue) / 1000)),
    };
  });
  const waterfalls = waterfallData.map((w, k) => `<section class="waterfall" data-trace="${w.traceId}"><div class="chart" data-waterfall-plot="${k}"></div>`
    + `<details><summary>rows</summary><table class="rows"><tr><th>span</th><th>start (ms)</th><th>duration</th></tr>${w.rows.map((x) => `<tr class="${x.cls}${x.culprit ? ' culprit' : ''}"><td>${esc(x.label)}</td><td>${x.s.toFixed(3)}</td><td>${esc(ms((x.e - x.s) * 1e6))}</td></tr>`).join('')}</table></details></section>`).join('\n');
  const linkPlots = links.map((l, k) => `<div class="link${l.culprit ? ' culprit' : ''}" data-link="${esc(l.name)}"><div class="chart" data-link-plot="${k}"></div></div>`).join('\n');
  const assets = uplotAssets();
  const costs = m.costs.map((c) => `<li>${esc(c.encoding)}: ${esc(c.bytes)}</li>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(m.title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}h3{font-size:14px;margin:14px 0 6px}
#conclusion{background:#fff4e5;border-left:4px solid #e67e22;padding:10px 14px;font-size:15px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
tr.culprit td{background:#fde2e2;font-weight:bold}
.server{background:#3b7dd8}.client{background:#8fb5ea}.net{background:#6bbf59}.hop{background:#b5dfa9}
.link{display:inline-block;vertical-align:top;margin:4px 12px 8px 0}.chart{margin:6px 0}
.legend span{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px}
details{font-size:12px;margin-bottom:12px}table.rows td{padding:1px 6px}
${assets.css}
</style></head><body>
<h1>${esc(m.title)}</h1>
<p>Seed ${esc(m.seed)} · IDs carried per ${esc(m.idMode)} · ${esc(m.encoding)} encoding · ${a.requests.length} requests · ${m.netSpans.length} network spans</p>
<div id="conclusion">${v ? esc(v.text) : 'No traced request finished.'}</div>
${a.misattributedNetSpans > 0 || a.unattributedCalls > 0 ? `<p id="misattribution">Mis-attribution: ${a.misattributedNetSpans} network spans lie outside the span whose IDs they carry; ${a.unattributedCalls} calls have no network span of their own.</p>` : ''}
<h2>Contributors</h2>
<table id="ranking"><tr><th>contributor</th><th>median</th><th>slow requests (mean)</th><th>excess</th><th>max queue depth</th></tr>${ranking}</table>
<h2>Slowest requests: application spans and network hops</h2>
<p class="legend">Span names as exported to OTLP (service: span).<span class="server"></span>server<span class="client"></span>client<span class="net"></span>network<span class="hop"></span>hop<span style="background:#d9534f"></span>slowest hop</p>
${waterfalls}
<h2>Links (IOAM hop delay and queue depth over time)</h2>
${linkPlots}
<h2>Paths (IOAM)</h2>
<table id="paths"><tr><th>flow</th><th>path</th><th>network spans</th><th>first</th><th>last</th><th>changes</th></tr>${pathRows(m)}</table>
<h2>All requests</h2>
<table id="requests"><tr><th>trace</th><th>duration</th><th>services</th><th>network</th><th>other</th><th>slowest</th></tr>${reqRows}</table>
<h2>Cost of carrying the IDs</h2><ul>${costs}</ul>
<script type="application/json" id="report-data">${scriptJson({ links, waterfalls: waterfallData })}</script>
<script>${assets.js}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
