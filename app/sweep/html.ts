/**
 * results.html: a self-contained page (uPlot's JS and CSS inlined, the table as JSON) with a chart
 * of any metric against any varied parameter, one line per combination of the other parameters:
 * the mean over seeds, and the spread (min/max or ±1 standard deviation) as a band.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Table } from './results';

function uplotAsset(file: string): string {
  const dist = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
  return fs.readFileSync(path.join(dist, file), 'utf8');
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
/** JSON safe inside <script>. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const PAGE_JS = String.raw`
const T = JSON.parse(document.getElementById('data').textContent);
const col = (name) => T.columns.indexOf(name);
const ok = T.rows.filter((r) => r[col('status')] === 'ok');
const skip = new Set(['point', 'seed', 'status', ...T.paramColumns]);
const metrics = T.columns.filter((c) => !skip.has(c) && ok.some((r) => typeof r[col(c)] === 'number'));
const xChoices = [...T.paramColumns, 'seed'];
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const $ = (id) => document.getElementById(id);
function fill(sel, items, value) {
  sel.innerHTML = '';
  for (const it of items) { const o = document.createElement('option'); o.value = o.textContent = it; sel.appendChild(o); }
  if (value !== undefined && items.includes(value)) sel.value = value;
}
fill($('metric'), metrics, metrics.includes('delivered') ? 'delivered' : metrics[0]);
fill($('x'), xChoices, xChoices[0]);
function stats(vals) {
  const n = vals.length, mean = vals.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, min: Math.min(...vals), max: Math.max(...vals), sd };
}
const fmt = (v) => (v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(6)) : String(v));
let plot;
function draw() {
  const m = $('metric').value, x = $('x').value, spread = $('spread').value;
  const others = T.paramColumns.filter((c) => c !== x);
  const xv = ok.map((r) => r[col(x)]);
  const numeric = xv.every((v) => typeof v === 'number');
  const xs = numeric ? [...new Set(xv)].sort((a, b) => a - b) : [...new Set(xv.map(String))];
  const groups = new Map();
  for (const r of ok) {
    const v = r[col(m)];
    if (typeof v !== 'number') continue;
    const g = others.map((c) => c + '=' + fmt(r[col(c)])).join(', ') || m;
    if (!groups.has(g)) groups.set(g, new Map());
    const k = numeric ? r[col(x)] : String(r[col(x)]);
    const cell = groups.get(g);
    if (!cell.has(k)) cell.set(k, []);
    cell.get(k).push(v);
  }
  const data = [numeric ? xs : xs.map((_, i) => i)];
  const series = [{ label: x }];
  const bands = [];
  const rows = [];
  [...groups.keys()].forEach((g, gi) => {
    const c = COLORS[gi % COLORS.length];
    const mean = [], lo = [], hi = [];
    for (const k of xs) {
      const vals = groups.get(g).get(k);
      if (!vals) { mean.push(null); lo.push(null); hi.push(null); continue; }
      const s = stats(vals);
      mean.push(s.mean);
      lo.push(spread === 'sd' ? s.mean - s.sd : s.min);
      hi.push(spread === 'sd' ? s.mean + s.sd : s.max);
      rows.push([g, k, s.n, s.mean, s.min, s.max, s.sd]);
    }
    const base = data.length;
    data.push(mean, lo, hi);
    series.push({ label: g, stroke: c, width: 2, points: { show: true } });
    series.push({ label: g + (spread === 'sd' ? ' −1σ' : ' min'), stroke: c, width: 1, dash: [4, 4], points: { show: false } });
    series.push({ label: g + (spread === 'sd' ? ' +1σ' : ' max'), stroke: c, width: 1, dash: [4, 4], points: { show: false } });
    bands.push({ series: [base + 2, base + 1], fill: c + '22' });
  });
  const axisX = numeric ? { label: x } : { label: x, splits: () => xs.map((_, i) => i), values: (u, sp) => sp.map((i) => xs[i] ?? '') };
  const opts = {
    title: m + ' vs ' + x + ' (mean over seeds; band: ' + (spread === 'sd' ? '±1 standard deviation' : 'min–max') + ')',
    width: Math.min(1000, window.innerWidth - 40), height: 420,
    scales: { x: numeric ? { time: false } : { time: false, range: [-0.5, xs.length - 0.5] } },
    axes: [axisX, { label: m, size: 70 }],
    series, bands,
  };
  if (plot) plot.destroy();
  plot = new uPlot(opts, data, $('chart'));
  const tb = $('agg').querySelector('tbody');
  tb.innerHTML = '';
  for (const r of rows) {
    const tr = document.createElement('tr');
    for (const v of r) { const td = document.createElement('td'); td.textContent = fmt(v); tr.appendChild(td); }
    tb.appendChild(tr);
  }
}
for (const id of ['metric', 'x', 'spread']) $(id).addEventListener('change', draw);
draw();
`;

/** The page for `t`. */
export function renderHtml(t: Table, title: string): string {
  const ok = t.rows.filter((r) => r[t.columns.indexOf('status')] === 'ok').length;
  const head = t.columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${c === null ? '' : esc(String(c))}</td>`).join('')}</tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${uplotAsset('uPlot.min.css')}
body { font: 14px system-ui, sans-serif; margin: 20px; }
label { margin-right: 16px; }
table { border-collapse: collapse; margin-top: 12px; font-size: 12px; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
.wrap { overflow-x: auto; }
</style></head>
<body>
<h1>${esc(title)}</h1>
<p id="count">${t.rows.length} points, ${ok} complete. Columns: docs/SCALE.md; the same table is in results.csv and results.parquet.</p>
<div>
<label>metric <select id="metric"></select></label>
<label>against <select id="x"></select></label>
<label>spread over seeds <select id="spread"><option value="minmax">min–max</option><option value="sd">±1 standard deviation</option></select></label>
</div>
<div id="chart"></div>
<h2>Chart values</h2>
<table id="agg"><thead><tr><th>series</th><th>x</th><th>seeds</th><th>mean</th><th>min</th><th>max</th><th>stddev</th></tr></thead><tbody></tbody></table>
<details><summary>All points</summary><div class="wrap"><table id="all"><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div></details>
<script id="data" type="application/json">${scriptJson({ columns: t.columns, paramColumns: t.paramColumns, rows: t.rows })}</script>
<script>${uplotAsset('uPlot.iife.min.js').replace(/<\/script/gi, '<\\/script')}</script>
<script>${PAGE_JS}</script>
</body></html>
`;
}
