/**
 * `npm run bench:report` — renders the benchmark tables of README.md and docs/BENCHMARKS.md from
 * bench/results.json (`npm run bench` calls it after a full run). Every table lives between two
 * marker comments and is rewritten whole:
 *
 *     <!-- bench:NAME:begin -->
 *     (generated: do not edit; `npm run bench:report`)
 *     <!-- bench:NAME:end -->
 *
 * {@link TABLES} says which results.json section each NAME renders. The generic pieces:
 * {@link renderTable} (rows + columns → Markdown), {@link sectionTable} (a results.json section
 * by path, all its keys as columns unless columns are given) and {@link replaceBlock}.
 * Options: --check (exit 1 if a file is not what the results render; writes nothing),
 * --results FILE (default bench/results.json).
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SimRow } from './sim';

const ROOT = resolve(__dirname, '..');

/** The Markdown files holding generated tables. */
export const DOC_FILES = ['README.md', 'docs/BENCHMARKS.md'];

// ---------------------------------------------------------------------------------------------
// Generic rendering

/** A column: a header and how to get the cell from a row (a key, or a function). */
export interface Column<R = Record<string, unknown>> {
  head: string;
  cell: keyof R | ((row: R) => unknown);
  /** digits for numbers (default: integers as is, else 1 decimal, 2 below 10) */
  digits?: number;
}

/** A cell as text: '–' for null/undefined/non-finite, numbers rounded, the rest String(). */
export function fmt(v: unknown, digits?: number): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '–';
    if (digits !== undefined) return v.toFixed(digits);
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(Math.abs(v) < 10 ? 2 : 1);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v).replace(/\|/g, '\\|');
}

/** Rows and columns → a Markdown table. Without columns: every key of the first row. */
export function renderTable<R extends object>(rows: readonly R[], columns?: readonly Column<R>[]): string {
  const cols: Column<R>[] = columns ? [...columns] : Object.keys(rows[0] ?? {}).map((k) => ({ head: k, cell: k as keyof R }));
  if (cols.length === 0) return '(no rows)';
  const lines = [`| ${cols.map((c) => c.head).join(' | ')} |`, `|${cols.map(() => '---|').join('')}`];
  for (const r of rows) lines.push(`| ${cols.map((c) => fmt(typeof c.cell === 'function' ? c.cell(r) : (r as Record<keyof R, unknown>)[c.cell], c.digits)).join(' | ')} |`);
  return lines.join('\n');
}

/** The value at a dotted path ('sim.rows') of the results object. */
export function at(results: unknown, path: string): unknown {
  let v: unknown = results;
  for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/**
 * A results.json section (an array at `path`) as a table: the generic "render this section"
 * — e.g. `sectionTable(results, 'sim.rows')` renders every key of the simulator rows.
 */
export function sectionTable(results: unknown, path: string, columns?: readonly Column[], filter?: (row: Record<string, unknown>) => boolean): string {
  const v = at(results, path);
  if (!Array.isArray(v)) return `(no \`${path}\` in bench/results.json)`;
  const rows = (v as Record<string, unknown>[]).filter(filter ?? (() => true));
  return rows.length ? renderTable(rows, columns) : `(no \`${path}\` rows in bench/results.json)`;
}

const begin = (name: string) => `<!-- bench:${name}:begin -->`;
const end = (name: string) => `<!-- bench:${name}:end -->`;

/** Names of the marker blocks in a text (lower-case names: `bench:NAME` in prose is not a block). */
export function blockNames(text: string): string[] {
  return [...text.matchAll(/<!-- bench:([a-z0-9-]+):begin -->/g)].map((m) => m[1]!);
}

/** The text between the markers of `name` (without the marker lines), or undefined. */
export function readBlock(text: string, name: string): string | undefined {
  const a = text.indexOf(begin(name));
  const b = text.indexOf(end(name));
  if (a < 0 || b < a) return undefined;
  return text.slice(a + begin(name).length, b).replace(/^\n/, '').replace(/\n$/, '');
}

/** Replaces the block `name` with `content`; throws if the markers are missing. */
export function replaceBlock(text: string, name: string, content: string): string {
  const a = text.indexOf(begin(name));
  const b = text.indexOf(end(name));
  if (a < 0 || b < a) throw new Error(`no ${begin(name)} … ${end(name)} block`);
  return text.slice(0, a + begin(name).length) + '\n' + content + '\n' + text.slice(b);
}

// ---------------------------------------------------------------------------------------------
// The tables of this project

/** One dataplane row of results.json (bench/run.ts `Row`). */
export interface DpRow {
  suite: string;
  op: string;
  type: string;
  size: number;
  batch: number;
  batchNs: number | null;
  perPacketNs: number | null;
  fastNs?: number | null;
  tsNs: number | null;
  cNs?: number | null;
  floorNs?: number | null;
  instrPerPacket?: number | null;
  cInstrPerPacket?: number | null;
}

interface Results {
  date: string;
  command: string;
  machine: { cpu: string; nproc: number; node: string; loadavg: string };
  loadavgAtEnd?: string;
  wallS?: number;
  clock: string;
  perPacketCall?: string;
  dataplane: DpRow[];
  decode: Record<string, unknown>[];
  sim?: { note?: string; command?: string; date?: string; rows?: unknown[] };
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => (a && b ? a / b : null);
const x = (v: number | null) => (v === null ? null : `${v.toFixed(2)}×`);

const OP_LABEL: Record<string, string> = {
  'transit-prealloc': 'transit, Pre-allocated',
  'transit-incremental': 'transit, Incremental',
  encap: 'encap (inline)',
  decap: 'decap (inline)',
};
const TYPE_LABEL: Record<string, string> = { '1': '1 field', '4': '4 fields', all: 'all fields' };

const DP_COLUMNS: Column<DpRow>[] = [
  { head: 'operation', cell: (r) => OP_LABEL[r.op] ?? r.op },
  { head: 'trace type', cell: (r) => TYPE_LABEL[r.type] ?? r.type },
  { head: 'size', cell: 'size' },
  { head: 'batch', cell: 'batch' },
  { head: 'per-packet call ns', cell: 'perPacketNs' },
  { head: 'Rust batch ns', cell: 'batchNs' },
  { head: 'Rust floor ns', cell: 'floorNs' },
  { head: 'C loop ns', cell: 'cNs' },
  { head: 'plain TS (fast) ns', cell: 'fastNs' },
  { head: 'plain TS (structured) ns', cell: 'tsNs' },
  { head: 'batch ÷ C', cell: (r) => x(ratio(r.batchNs, r.cNs)) },
  { head: 'batch ÷ floor', cell: (r) => x(ratio(r.batchNs, r.floorNs)) },
  { head: 'fast TS ÷ batch', cell: (r) => x(ratio(r.fastNs, r.batchNs)) },
  { head: 'instr/pkt', cell: 'instrPerPacket', digits: 0 },
];

const KEY_ROWS: [op: string, type: string][] = [
  ['transit-prealloc', '1'],
  ['transit-prealloc', '4'],
  ['transit-prealloc', 'all'],
  ['transit-incremental', '4'],
  ['encap', '4'],
  ['decap', '4'],
];

function header(r: Results): string {
  return (
    `Command: \`${r.command}\` (${r.date}). Machine: ${r.machine.cpu}, nproc ${r.machine.nproc}, Node ${r.machine.node}, ` +
    `load average ${r.machine.loadavg} at start, ${r.loadavgAtEnd ?? '?'} at end${r.wallS ? `, ${r.wallS} s` : ''}. Clock: ${r.clock}. ` +
    `ns per packet (the reset of the changed bytes timed apart and subtracted); per-packet call: ${r.perPacketCall ?? 'one napi call per packet'}.`
  );
}

function mainRows(r: Results): DpRow[] {
  return r.dataplane.filter((d) => d.suite === 'dataplane');
}

function keyRows(r: Results, batch: number): DpRow[] {
  const rows = mainRows(r);
  return KEY_ROWS.map(([op, type]) => rows.find((d) => d.op === op && d.type === type && d.batch === batch)).filter((d): d is DpRow => !!d);
}

/** The speed targets, each with its measured value and verdict from the file. */
function targets(r: Results): string {
  const rows = mainRows(r);
  const find = (op: string, type: string, batch: number) => rows.find((d) => d.op === op && d.type === type && d.batch === batch);
  const lines: { target: string; measured: string; ok: boolean | null }[] = [];
  const t = find('transit-prealloc', '4', 256);
  const tc = ratio(t?.batchNs, t?.cNs);
  lines.push({ target: 'transit, 4-field Pre-allocated, batch 256: Rust batch ≤ 1.5 × the C loop', measured: t ? `${fmt(t.batchNs)} ns vs C ${fmt(t.cNs)} ns = ${x(tc) ?? '–'}` : '–', ok: tc === null ? null : tc <= 1.5 });
  for (const op of ['encap', 'decap']) {
    const e = find(op, '4', 256);
    lines.push({ target: `${op}, 4 fields, batch 256: ≤ 30 ns/packet`, measured: e ? `${fmt(e.batchNs)} ns (C loop ${fmt(e.cNs)} ns)` : '–', ok: e?.batchNs == null ? null : e.batchNs <= 30 });
  }
  const big = rows.filter((d) => d.batch >= 256 && d.floorNs && d.batchNs !== null);
  const fl = big.map((d) => d.batchNs! / d.floorNs!);
  const worst = fl.length ? Math.max(...fl) : null;
  const median = fl.length ? [...fl].sort((a, b) => a - b)[Math.floor(fl.length / 2)]! : null;
  lines.push({ target: 'batch ÷ Rust floor ≤ 1.15 at batch 256 and 4096 (every op and type)', measured: worst === null ? '–' : `median ${x(median)}, worst ${x(worst)} over ${fl.length} rows`, ok: worst === null ? null : worst <= 1.15 });
  const fastRatios = rows.filter((d) => d.batch >= 256 && d.fastNs && d.batchNs).map((d) => d.fastNs! / d.batchNs!);
  const fm = fastRatios.length ? [...fastRatios].sort((a, b) => a - b)[Math.floor(fastRatios.length / 2)]! : null;
  lines.push({ target: '(no target) fast plain TS ÷ Rust batch at batch 256 and 4096', measured: fm === null ? '–' : `median ${x(fm)}, range ${x(Math.min(...fastRatios))}–${x(Math.max(...fastRatios))}`, ok: null });
  return verdictTable(lines);
}

/** Targets, what this run measured, and a verdict each (met / **missed** / – when not measured). */
function verdictTable(lines: { target: string; measured: string; ok: boolean | null }[]): string {
  return renderTable(lines, [
    { head: 'target', cell: 'target' },
    { head: 'measured (this run)', cell: 'measured' },
    { head: 'verdict', cell: (l) => (l.ok === null ? '–' : l.ok ? 'met' : '**missed**') },
  ]);
}

function callgrindTable(r: Results): string {
  const rows = mainRows(r);
  const types = ['1', '4', 'all'];
  const ops = ['transit-prealloc', 'transit-incremental', 'encap', 'decap'];
  const lines = ops.map((op) => {
    const o: Record<string, unknown> = { operation: OP_LABEL[op] };
    for (const t of types) {
      const d = rows.find((q) => q.op === op && q.type === t);
      o[`${TYPE_LABEL[t]}: core`] = d?.instrPerPacket ?? null;
      o[`${TYPE_LABEL[t]}: C loop`] = d?.cInstrPerPacket ?? null;
    }
    return o;
  });
  return renderTable(lines, Object.keys(lines[0]!).map((k) => ({ head: k, cell: k, digits: k === 'operation' ? undefined : 0 })));
}

/** A generated table: marker name → text rendered from the results. */
export interface TableSpec {
  name: string;
  render: (results: Results) => string;
}

/**
 * Every generated block. To add one (e.g. the simulator's): an entry here + the two marker
 * comments in a file of {@link DOC_FILES}; `sectionTable(r, 'path.in.results')` renders any
 * results.json array as is.
 */
export const TABLES: TableSpec[] = [
  { name: 'command', render: (r) => header(r) },
  { name: 'targets', render: (r) => targets(r) },
  { name: 'key-rows', render: (r) => renderTable(keyRows(r, 256), DP_COLUMNS) },
  { name: 'dataplane', render: (r) => renderTable(mainRows(r), DP_COLUMNS) },
  { name: 'size-sweep', render: (r) => renderTable(r.dataplane.filter((d) => d.suite === 'size-sweep'), DP_COLUMNS) },
  { name: 'callgrind', render: (r) => callgrindTable(r) },
  {
    name: 'decode',
    render: (r) =>
      sectionTable(r, 'decode', [
        { head: 'trace type', cell: (d) => TYPE_LABEL[String(d['type'])] },
        { head: 'size', cell: 'size' },
        { head: 'packets per round', cell: 'batch' },
        { head: 'native decode() ns/pkt', cell: 'nativeNs' },
        { head: 'native JSON text ns/pkt', cell: 'nativeJsonNs' },
        { head: 'plain TS ns/pkt', cell: 'tsNs' },
      ]),
  },
  { name: 'sim-targets', render: (r) => simTargets(r) },
  {
    name: 'sim',
    render: (r) => {
      const s = r.sim;
      const head = s?.command ? `Command: \`${s.command}\`${s.date ? ` (${s.date})` : ''}.\n\n` : '';
      return head + (s?.rows?.length ? renderTable(s.rows as SimRowLike[], simColumns(s.rows as SimRowLike[])) : `(${s?.note ?? 'no sim section in bench/results.json'})`);
    },
  },
];

/** A row of the `sim` section. */
type SimRowLike = SimRow;

/** The simulator table's columns; `× workers 0`: the rate against the same topology's `workers` row with 0 workers. */
function simColumns(rows: SimRowLike[]): Column<SimRowLike>[] {
  const base = (r: SimRowLike) => rows.find((x) => x.what === 'workers' && x.workers === 0 && x.topology === r.topology && x.durationNs === r.durationNs);
  return [
    { head: 'run', cell: 'what' },
    { head: 'topology', cell: 'topology' },
    { head: 'simulated ms', cell: (r) => r.durationNs / 1e6 },
    { head: 'workers', cell: 'workers' },
    { head: 'outputs', cell: 'outputs' },
    { head: 'packet-hops', cell: 'packetHops' },
    { head: 'set-up ms', cell: 'setupMs' },
    { head: 'wall ms', cell: 'wallMs' },
    { head: 'packet-hops/s', cell: 'packetHopsPerSec' },
    { head: '× workers 0', cell: (r) => { const b = base(r); return b && (r.what === 'workers' || r.what.startsWith('ceiling')) ? `${(r.packetHopsPerSec / b.packetHopsPerSec).toFixed(2)}×` : undefined; } },
    { head: 'peak RSS MiB', cell: 'maxRssMiB' },
    { head: 'rates of the repeats', cell: (r) => r.repeats?.join(' / ') },
  ];
}

/** The simulator's targets (issue "Simulator v2") against the `sim` rows, with a verdict each. */
function simTargets(r: Results): string {
  const rows = (r.sim?.rows ?? []) as SimRowLike[];
  const lines: { target: string; measured: string; ok: boolean | null }[] = [];
  const rate = rows.find((x) => x.what === 'rate, captures only' && x.workers === 0) ?? rows.find((x) => x.what === 'rate, outputs on' && x.workers === 0);
  const all = rows.find((x) => x.what === 'rate, outputs on' && x.workers === 0);
  lines.push({
    target: 'leaf-spine-heavy 200 ms, captures on, --workers 0: ≥ 1 200 000 packet-hops/s',
    measured: rate ? `${rate.packetHopsPerSec} packet-hops/s (outputs ${rate.outputs})${all && all !== rate ? `; with traces too: ${all.packetHopsPerSec}` : ''}` : '–',
    ok: rate ? rate.packetHopsPerSec >= 1.2e6 : null,
  });
  const ns3 = rows.find((x) => x.what.startsWith('ns-3'));
  if (rate && ns3) lines.push({ target: 'the same ≥ 4 × ns-3 on the same scenario', measured: `${x(rate.packetHopsPerSec / ns3.packetHopsPerSec)} (ns-3 ${ns3.packetHopsPerSec} packet-hops/s)`, ok: rate.packetHopsPerSec >= 4 * ns3.packetHopsPerSec });
  // Worker rows come in run lengths (bench/sim.ts): the verdict is the longest run's, the others are listed beside it.
  const lengths = [...new Set(rows.filter((x) => x.what === 'workers').map((x) => x.durationNs))].sort((a, b) => b - a);
  const w = (k: number, d: number) => rows.find((x) => x.what === 'workers' && x.workers === k && x.durationNs === d);
  const speedup = (d: number) => { const a = w(0, d); const b = w(2, d); return a && b ? b.packetHopsPerSec / a.packetHopsPerSec : undefined; };
  const long = lengths[0];
  const sLong = long === undefined ? undefined : speedup(long);
  const ceil = rows.find((x) => x.what.startsWith('ceiling') && x.durationNs === long);
  const others = lengths.slice(1).map((d) => { const s = speedup(d); return s === undefined ? '' : `; ${d / 1e6} ms runs: ${x(s)}`; }).join('');
  lines.push({
    target: 'fat-tree-k8: --workers 2 ≥ 1.7 × --workers 0',
    measured: sLong !== undefined ? `${long! / 1e6} ms runs: ${x(sLong)}${others}${ceil ? `; two independent inline runs at once (${long! / 1e6} ms): ${x(ceil.packetHopsPerSec / w(0, long!)!.packetHopsPerSec)}` : ''}` : '–',
    ok: sLong !== undefined ? sLong >= 1.7 : null,
  });
  for (const d of [100e6, 2000e6]) {
    const row = rows.find((x) => x.what === 'duration' && x.durationNs === d);
    lines.push({ target: `leaf-spine-heavy, no captures, ${d / 1e9} s: peak RSS ≤ 150 MiB`, measured: row ? `${row.maxRssMiB} MiB` : '–', ok: row ? row.maxRssMiB <= 150 : null });
  }
  const size = (k: number) => rows.find((x) => x.what === 'size' && new RegExp(`k${k}\\b`).test(x.topology));
  const k4 = size(4);
  const k16 = size(16);
  lines.push({ target: 'fat-tree k = 16: set-up ≤ 2 000 ms', measured: k16 ? `${k16.setupMs} ms` : '–', ok: k16 ? k16.setupMs <= 2000 : null });
  lines.push({ target: 'fat-tree k = 16: peak RSS ≤ 300 MiB', measured: k16 ? `${k16.maxRssMiB} MiB` : '–', ok: k16 ? k16.maxRssMiB <= 300 : null });
  lines.push({ target: 'fat-tree k = 16: packet-hops/s ≥ ½ of k = 4 (same per-host load)', measured: k4 && k16 ? `${x(k16.packetHopsPerSec / k4.packetHopsPerSec)} of k = 4` : '–', ok: k4 && k16 ? k16.packetHopsPerSec >= 0.5 * k4.packetHopsPerSec : null });
  return verdictTable(lines);
}

/** Generated images: path (from the repository root) → SVG text rendered from the results. */
export const IMAGES: { path: string; render: (r: Results) => string }[] = [{ path: 'docs/img/sim-growth.svg', render: (r) => simGrowthSvg((r.sim?.rows ?? []) as SimRowLike[]) }];

/**
 * How the simulator's cost grows (docs/BENCHMARKS.md): four bar panels, packet-hops/s and peak RSS
 * against simulated duration (`duration` rows) and against topology size (`size` rows).
 */
export function simGrowthSvg(rows: SimRowLike[]): string {
  const W = 880;
  const H = 520;
  const panels: { title: string; bars: [string, number][]; unit: string }[] = [];
  const dur = rows.filter((r) => r.what === 'duration');
  const size = rows.filter((r) => r.what === 'size');
  const sizeLabel = (r: SimRowLike) => /k(\d+)/.exec(r.topology)?.[0] ?? r.topology;
  panels.push({ title: 'packet-hops/s vs simulated time (leaf-spine-heavy)', bars: dur.map((r) => [`${r.durationNs / 1e9} s`, r.packetHopsPerSec]), unit: '/s' });
  panels.push({ title: 'peak RSS (MiB) vs simulated time', bars: dur.map((r) => [`${r.durationNs / 1e9} s`, r.maxRssMiB]), unit: ' MiB' });
  panels.push({ title: 'packet-hops/s vs fat-tree size', bars: size.map((r) => [sizeLabel(r), r.packetHopsPerSec]), unit: '/s' });
  panels.push({ title: 'peak RSS (MiB) vs fat-tree size', bars: size.map((r) => [sizeLabel(r), r.maxRssMiB]), unit: ' MiB' });
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  panels.forEach((p, i) => {
    const x0 = (i % 2) * (W / 2) + 50;
    const y0 = Math.floor(i / 2) * (H / 2) + 30;
    const pw = W / 2 - 80;
    const ph = H / 2 - 80;
    out.push(`<text x="${x0}" y="${y0 - 10}" font-weight="bold">${esc(p.title)}</text>`);
    out.push(`<line x1="${x0}" y1="${y0 + ph}" x2="${x0 + pw}" y2="${y0 + ph}" stroke="black"/>`);
    const max = Math.max(1, ...p.bars.map((b) => b[1]));
    const bw = pw / Math.max(1, p.bars.length) * 0.6;
    p.bars.forEach(([label, v], k) => {
      const cx = x0 + (pw / Math.max(1, p.bars.length)) * (k + 0.5);
      const h = (v / max) * (ph - 20);
      out.push(`<rect x="${(cx - bw / 2).toFixed(1)}" y="${(y0 + ph - h).toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bb7"/>`);
      out.push(`<text x="${cx.toFixed(1)}" y="${(y0 + ph - h - 4).toFixed(1)}" text-anchor="middle">${esc(fmt(v))}</text>`);
      out.push(`<text x="${cx.toFixed(1)}" y="${y0 + ph + 16}" text-anchor="middle">${esc(label)}</text>`);
    });
    if (p.bars.length === 0) out.push(`<text x="${x0 + 10}" y="${y0 + ph / 2}">(no rows in bench/results.json)</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The block contents every doc file should hold, by marker name. */
export function renderAll(results: unknown): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of TABLES) m.set(t.name, t.render(results as Results));
  return m;
}

/** A doc's text with every known block re-rendered (unknown blocks are an error). */
export function renderDoc(text: string, blocks: Map<string, string>, file = 'text'): string {
  let out = text;
  for (const name of blockNames(text)) {
    const b = blocks.get(name);
    if (b === undefined) throw new Error(`${file}: bench:${name} is not a known table (bench/report.ts TABLES)`);
    out = replaceBlock(out, name, b);
  }
  return out;
}

/** Re-renders the doc files from `results`; returns the files whose text changed (written unless `check`). */
export function updateDocs(results: unknown, opts: { root?: string; check?: boolean } = {}): string[] {
  const root = opts.root ?? ROOT;
  const blocks = renderAll(results);
  const changed: string[] = [];
  for (const img of IMAGES) {
    const p = join(root, img.path);
    const want = img.render(results as Results);
    let have = '';
    try { have = readFileSync(p, 'utf8'); } catch { /* not there yet */ }
    if (have !== want) {
      changed.push(img.path);
      if (!opts.check) writeFileSync(p, want);
    }
  }
  for (const f of DOC_FILES) {
    const p = join(root, f);
    const before = readFileSync(p, 'utf8');
    const after = renderDoc(before, blocks, f);
    if (after !== before) {
      changed.push(f);
      if (!opts.check) writeFileSync(p, after);
    }
  }
  return changed;
}

function main(argv: string[]): number {
  let check = false;
  let file = join(ROOT, 'bench', 'results.json');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check') check = true;
    else if (argv[i] === '--results' && argv[i + 1]) file = resolve(argv[++i]!);
    else {
      console.error(`usage: npm run bench:report [-- --check] [--results FILE]\n  unknown option ${argv[i]}`);
      return 2;
    }
  }
  let results: unknown;
  try {
    results = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`${file}: ${(e as Error).message}`);
    return 1;
  }
  const changed = updateDocs(results, { check });
  if (check) {
    if (changed.length) console.error(`out of date with ${file}: ${changed.join(', ')} (run npm run bench:report)`);
    return changed.length ? 1 : 0;
  }
  console.log(changed.length ? `rendered from ${file}: ${changed.join(', ')}` : `up to date with ${file}`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
