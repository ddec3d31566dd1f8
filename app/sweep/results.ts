/**
 * The sweep's result table: a row per point with its varied parameters, seed, status and the
 * metrics of its summary.json (and the wall-clock rate of its run-info.json), written as
 * results.csv, results.parquet and results.html.
 *
 * Metrics (summary.json of `ioamsim run`, docs/SIMULATOR.md):
 * - generated, delivered, dropped, in_flight_at_end, packet_hops, delivered_ratio
 * - drops.<reason>: packets dropped for that reason (0 when the point had none)
 * - ioam_encapsulated, ioam_decapsulated, ioam_bytes_inserted, ioam_overhead_ratio, ioam_traces_with_overflow
 * - delay_mean_ns, delay_max_ns: one-way delay over every flow's delivered packets (count-weighted mean)
 * - flow.<name>.delay_{p50,p90,p99}_ns: each flow's one-way delay percentiles
 * - hop_delay_mean_ns (count-weighted over hops), hop_delay_{p50,p90,p99}_ns_worst (the worst hop's), hop_delay_max_ns
 * - wall_ms, packet_hops_per_s: wall clock (vary run to run; everything else is deterministic)
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isComplete, writeAtomic, type Manifest } from './points';

export type Cell = string | number | null;
export interface Table {
  columns: string[];
  /** Which columns are varied parameters (the chart's x choices), and which are wall clock. */
  paramColumns: string[];
  wallColumns: string[];
  rows: Cell[][];
}

export const WALL_COLUMNS = ['wall_ms', 'packet_hops_per_s'];
const FIXED = [
  'generated', 'delivered', 'dropped', 'in_flight_at_end', 'packet_hops', 'delivered_ratio',
  'ioam_encapsulated', 'ioam_decapsulated', 'ioam_bytes_inserted', 'ioam_overhead_ratio', 'ioam_traces_with_overflow',
  'delay_mean_ns', 'delay_max_ns', 'hop_delay_mean_ns', 'hop_delay_p50_ns_worst', 'hop_delay_p90_ns_worst', 'hop_delay_p99_ns_worst', 'hop_delay_max_ns',
];

interface Stat { count?: number; mean?: number; max?: number; p50?: number; p90?: number; p99?: number }
type Summary = {
  seed?: string;
  packets?: Record<string, number>;
  drops?: Record<string, number>;
  ioam?: Record<string, unknown>;
  flows?: Record<string, { delay_ns?: Stat }>;
  hops?: Record<string, { hop_delay_ns?: Stat }>;
};

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

/** count-weighted mean, max and worst percentiles over several delay stats. */
function combine(stats: Stat[]): { mean: number | null; max: number | null; p50: number | null; p90: number | null; p99: number | null } {
  let n = 0;
  let sum = 0;
  let max: number | null = null;
  const worst = { p50: null as number | null, p90: null as number | null, p99: null as number | null };
  for (const s of stats) {
    if (!s.count) continue;
    n += s.count;
    sum += (s.mean ?? 0) * s.count;
    if (s.max !== undefined) max = Math.max(max ?? s.max, s.max);
    for (const k of ['p50', 'p90', 'p99'] as const) if (s[k] !== undefined) worst[k] = Math.max(worst[k] ?? s[k]!, s[k]!);
  }
  return { mean: n ? round(sum / n) : null, max, ...worst };
}

/** The metrics of one point's summary.json and run-info.json. */
export function metricsOf(summary: Summary, info: Record<string, unknown> | undefined): Record<string, Cell> {
  const p = summary.packets ?? {};
  const io = summary.ioam ?? {};
  const flows = summary.flows ?? {};
  const delay = combine(Object.values(flows).map((f) => f.delay_ns ?? {}));
  const hop = combine(Object.values(summary.hops ?? {}).map((h) => h.hop_delay_ns ?? {}));
  const m: Record<string, Cell> = {
    generated: num(p.generated), delivered: num(p.delivered), dropped: num(p.dropped), in_flight_at_end: num(p.in_flight_at_end), packet_hops: num(p.packet_hops),
    delivered_ratio: p.generated ? round(p.delivered! / p.generated, 6) : null,
    ioam_encapsulated: num(io.encapsulated), ioam_decapsulated: num(io.decapsulated), ioam_bytes_inserted: num(io.bytes_inserted),
    ioam_overhead_ratio: num(io.overhead_ratio), ioam_traces_with_overflow: num(io.traces_with_overflow),
    delay_mean_ns: delay.mean, delay_max_ns: delay.max,
    hop_delay_mean_ns: hop.mean, hop_delay_p50_ns_worst: hop.p50, hop_delay_p90_ns_worst: hop.p90, hop_delay_p99_ns_worst: hop.p99, hop_delay_max_ns: hop.max,
  };
  for (const [reason, n] of Object.entries(summary.drops ?? {})) m[`drops.${reason}`] = num(n);
  for (const [name, f] of Object.entries(flows)) {
    for (const k of ['p50', 'p90', 'p99'] as const) m[`flow.${name}.delay_${k}_ns`] = num(f.delay_ns?.count ? f.delay_ns[k] : undefined);
  }
  m.wall_ms = num(info?.wallMs);
  m.packet_hops_per_s = num(info?.packetHopsPerSec);
  return m;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Builds the table from the point directories (incomplete points: status "failed" or "missing"). */
export function buildTable(dir: string, m: Manifest): Table {
  const per = m.points.map((pt) => {
    const pdir = path.join(dir, pt.dir);
    const complete = isComplete(pdir);
    const summary = complete ? readJson<Summary>(path.join(pdir, 'run', 'summary.json')) : undefined;
    const info = complete ? readJson<Record<string, unknown>>(path.join(pdir, 'run', 'run-info.json')) : undefined;
    const status = summary ? 'ok' : fs.existsSync(path.join(pdir, 'log.txt')) ? 'failed' : 'missing';
    return { pt, status, summary, metrics: summary ? metricsOf(summary, info) : {} };
  });
  const dropCols = new Set<string>();
  const flowCols = new Set<string>();
  for (const r of per) for (const k of Object.keys(r.metrics)) (k.startsWith('drops.') ? dropCols : k.startsWith('flow.') ? flowCols : undefined)?.add(k);
  const metricCols = [...FIXED, ...[...dropCols].sort(), ...[...flowCols].sort(), ...WALL_COLUMNS];
  const columns = ['point', ...m.param_columns, 'seed', 'status', ...metricCols];
  const rows = per.map((r) => {
    const seed = r.summary?.seed !== undefined ? Number(r.summary.seed) : r.pt.seed;
    const cells: Cell[] = [r.pt.index, ...m.param_columns.map((c) => cell(r.pt.params[c])), seed ?? null, r.status];
    for (const c of metricCols) cells.push(r.summary ? (r.metrics[c] ?? (c.startsWith('drops.') ? 0 : null)) : null);
    return cells;
  });
  return { columns, paramColumns: m.param_columns, wallColumns: WALL_COLUMNS, rows };
}

function cell(v: unknown): Cell {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** RFC 4180 CSV (quotes where needed, empty cell for null). */
export function toCsv(t: Table): string {
  const q = (c: Cell): string => {
    if (c === null) return '';
    const s = String(c);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [t.columns, ...t.rows].map((r) => r.map(q).join(',')).join('\n') + '\n';
}

/** Parquet bytes: numeric columns DOUBLE (point INT32), others STRING; nulls kept. */
export async function toParquet(t: Table): Promise<Uint8Array> {
  const { parquetWriteBuffer } = (await esmImport(pathToFileURL(require.resolve('hyparquet-writer')).href)) as { parquetWriteBuffer: (o: { columnData: { name: string; data: unknown[]; type: string }[] }) => ArrayBuffer };
  const columnData = t.columns.map((name, i) => {
    const data = t.rows.map((r) => r[i]!);
    const numeric = data.every((v) => v === null || typeof v === 'number');
    return { name, data: numeric ? data : data.map((v) => (v === null ? null : String(v))), type: name === 'point' ? 'INT32' : numeric ? 'DOUBLE' : 'STRING' };
  });
  return new Uint8Array(parquetWriteBuffer({ columnData }));
}

/** A real ESM import (hyparquet-writer is ESM only) that TypeScript's CommonJS output keeps as is. */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
export const esmImport = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;

/** Writes results.csv, results.parquet and results.html into `dir`. */
export async function writeResults(dir: string, t: Table, title: string): Promise<string[]> {
  const { renderHtml } = await import('./html');
  const files = ['results.csv', 'results.parquet', 'results.html'].map((f) => path.join(dir, f));
  writeAtomic(files[0]!, toCsv(t));
  const pq = await toParquet(t);
  const tmp = `${files[1]}.${process.pid}.partial`;
  fs.writeFileSync(tmp, pq);
  fs.renameSync(tmp, files[1]!);
  writeAtomic(files[2]!, renderHtml(t, title));
  return files;
}
