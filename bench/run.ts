/**
 * `npm run bench` — the ioamsim benchmarks (benchmark.js 2.1.4), see docs/BENCHMARKS.md.
 *
 * 1. Self-check: both plain-TS baselines, the C loops and the per-packet calls give the Rust
 *    batch path's bytes.
 * 2. Dataplane suites (encap, transit Pre-allocated / Incremental, decap): the same work in the
 *    same run — Rust batch path (one napi call per batch), one napi call per packet, the fast and
 *    the structured plain-TS baselines, the C reference loop (`bench/c/ref.c`, `cc -O2`, a child
 *    process) — for trace types 1 / 4 / all fields and batch sizes 1, 16, 256, 4096; a size
 *    sweep 16..244 octets at batch 256. Decode: native (napi + JSON.parse), native JSON text, TS.
 * 3. Rust floor: the same core batch loop without the binding (`crates/ioam-bench`, `floor`).
 * 4. callgrind: instructions per packet of each operation, core and C loop (noise-free).
 * 5. Simulator (bench/sim.ts): rate with outputs on, worker scaling, RSS against simulated
 *    duration and topology size, set-up time.
 *
 * Writes `bench/results.json` and `bench/results.md`, prints the tables; a full run into
 * bench/results.json also re-renders the tables of README.md and docs/BENCHMARKS.md
 * (bench/report.ts). With --no-sim the `sim` section of the existing output file is kept.
 * Options: --smoke (each suite briefly, < 60 s; writes bench/results.smoke.json, no docs),
 * --clock cpu|wall (benchmark.js timer: this process's CPU time — default, robust on a shared
 * machine — or wall time), --max-time S (per benchmark, default 0.4), --filter REGEX (benchmark
 * rows), --no-floor, --no-callgrind, --no-sim, --out FILE; --sim runs only the simulator suite and replaces
 * the `sim` section of the results file (and the tables rendered from it); --sim-quick scales its
 * durations by 1/10; --ns3 adds ns-3 on the same scenario to it (bench/ns3.ts; needs libns3-dev).
 * Exits non-zero if a suite errors.
 * @module
 */
import Benchmark from 'benchmark';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { coreVersion } from '../src/index';
import { OPS, TRACE_TYPES, workload, type Op, type TypeName } from './corpus';
import { CREF_OPS, crefInstr, crefTime } from './cref';
import { renderAll, TABLES, updateDocs } from './report';
import { decodePacket, selfCheck } from './selfcheck';
import { decodeFn, PER_PACKET_CALL, roundFn, type DecodeWay, type Way } from './ways';
import { ns3Version } from './ns3';
import { simSuite, type SimRow } from './sim';

const ROOT = resolve(__dirname, '..');
const DEFAULT_OUT = join(ROOT, 'bench', 'results.json');

interface Args {
  smoke: boolean;
  clock: 'cpu' | 'wall';
  maxTime: number;
  filter: RegExp | undefined;
  floor: boolean;
  callgrind: boolean;
  sim: boolean;
  simOnly: boolean;
  simQuick: boolean;
  ns3: boolean;
  out: string;
}

function parseArgs(argv: string[]): Args {
  let outGiven = false;
  const a: Args = { smoke: false, clock: 'cpu', maxTime: 0.4, filter: undefined, floor: true, callgrind: true, sim: true, simOnly: false, simQuick: false, ns3: false, out: DEFAULT_OUT };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--smoke') a.smoke = true;
    else if (k === '--max-time') a.maxTime = Number(v());
    else if (k === '--clock') {
      const c = v();
      if (c !== 'cpu' && c !== 'wall') throw new Error('--clock is cpu or wall');
      a.clock = c;
    }
    else if (k === '--filter') a.filter = new RegExp(v());
    else if (k === '--no-floor') a.floor = false;
    else if (k === '--no-callgrind') a.callgrind = false;
    else if (k === '--no-sim') a.sim = false;
    else if (k === '--sim') a.simOnly = true;
    else if (k === '--sim-quick') a.simQuick = true;
    else if (k === '--ns3') a.ns3 = true;
    else if (k === '--out') { a.out = resolve(v()); outGiven = true; }
    else throw new Error(`unknown option ${k}`);
  }
  if (a.smoke) {
    // A smoke run's figures are not results: keep the committed bench/results.json.
    if (!outGiven) a.out = join(ROOT, 'bench', 'results.smoke.json');
    a.maxTime = Math.min(a.maxTime, 0.03);
  }
  return a;
}

/** The grid. Main: every op × type × batch size at the size a 4-hop (1, 4 fields) or 3-hop (all) path needs. */
interface Case {
  suite: 'dataplane' | 'size-sweep';
  op: Op;
  type: TypeName;
  size: number;
  batch: number;
}

const MAIN_SIZE: Record<TypeName, number> = { '1': 64, '4': 64, all: 244 };

function grid(smoke: boolean): Case[] {
  const cases: Case[] = [];
  const types = Object.keys(TRACE_TYPES) as TypeName[];
  const batches = smoke ? [16] : [1, 16, 256, 4096];
  for (const op of OPS) for (const type of smoke ? (['4'] as TypeName[]) : types) for (const batch of batches) cases.push({ suite: 'dataplane', op, type, size: MAIN_SIZE[type], batch });
  for (const op of ['transit-prealloc', 'encap'] as Op[]) for (const size of smoke ? [16, 244] : [16, 32, 128, 244]) cases.push({ suite: 'size-sweep', op, type: '4', size, batch: smoke ? 16 : 256 });
  return cases;
}

interface Timing {
  nsPerRound: number;
  rme: number;
  samples: number;
}

/**
 * `process.hrtime` over this process's CPU time (user + system, µs resolution): on a shared
 * machine the time the process is descheduled does not count. benchmark.js takes its timer from
 * the context's `process.hrtime` (`Benchmark.runInContext`).
 */
function cpuHrtime(prev?: [number, number]): [number, number] {
  const u = process.cpuUsage();
  const us = u.user + u.system;
  const s = Math.floor(us / 1e6);
  const ns = (us % 1e6) * 1000;
  if (!prev) return [s, ns];
  let ds = s - prev[0];
  let dns = ns - prev[1];
  if (dns < 0) {
    ds -= 1;
    dns += 1e9;
  }
  return [ds, dns];
}

let Bench: typeof Benchmark = Benchmark;
/** benchmark.js minimum time per cycle (s); undefined = its own (≥ 50 ms with the CPU clock's ~5 µs resolution). */
let minTime: number | undefined;

function useClock(clock: 'cpu' | 'wall'): void {
  Bench = clock === 'cpu' ? (Benchmark.runInContext({ process: { hrtime: cpuHrtime } }) as typeof Benchmark) : Benchmark;
}

function time(name: string, fn: () => unknown, maxTime: number): Timing {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
  const b = new Bench(name, fn, { maxTime, minSamples: maxTime < 0.1 ? 2 : 5, initCount: 1, ...(minTime ? { minTime } : {}) });
  b.run();
  const err = (b as unknown as { error?: Error }).error;
  if (err) throw new Error(`benchmark ${name} failed: ${err.message}`);
  if (!b.hz || !Number.isFinite(b.hz)) throw new Error(`benchmark ${name}: no result`);
  // The median of benchmark.js's samples (each the mean of one timed cycle): robust to the
  // cycles a neighbour's burst inflates, as the Rust floor and the C loop (median of 11).
  const sorted = [...b.stats.sample].sort((x, y) => x - y);
  const median = sorted.length ? sorted[sorted.length >> 1]! : 1 / b.hz;
  return { nsPerRound: median * 1e9, rme: b.stats.rme, samples: b.stats.sample.length };
}

export interface Row extends Case {
  /** ns per packet, reset subtracted (batch, fast and structured TS, C loop) */
  batchNs: number | null;
  perPacketNs: number | null;
  fastNs: number | null;
  tsNs: number | null;
  /** the C reference loop (bench/c/ref.c), its own reset subtracted; null: no C loop for the op */
  cNs: number | null;
  resetNs: number;
  rme: { batch: number | null; perPacket: number | null; fast: number | null; ts: number | null };
  /** Rust floor (no binding), ns/packet, from `ioam-bench floor` in the same run */
  floorNs?: number | null;
  /** callgrind instructions per packet of the core operation / of the C loop */
  instrPerPacket?: number | null;
  cInstrPerPacket?: number | null;
}

/**
 * One grid case: every way in turn, then the C loop and the Rust floor right after (same
 * moment's machine load). The reset is timed before and after the ways; their mean is subtracted.
 */
function runCase(c: Case, maxTime: number, floorBin: string | undefined): Row {
  const w = workload(c.op, c.type, c.size, c.batch);
  const label = `${c.op} type ${c.type} size ${c.size} batch ${c.batch}`;
  const t = (way: Way) => time(`${label} ${way}`, roundFn(w, way), maxTime);
  const reset0 = t('reset');
  const batch = t('batch');
  const per = t('perPacket');
  const fast = t('fast');
  const ts = t('ts');
  const reset1 = t('reset');
  const reset: Timing = { nsPerRound: (reset0.nsPerRound + reset1.nsPerRound) / 2, rme: Math.max(reset0.rme, reset1.rme), samples: reset0.samples + reset1.samples };
  const cl = CREF_OPS[c.op] ? crefTime(c.op, c.type, c.size, c.batch, Math.max(10, maxTime * 1000)) : null;
  const fl = floorBin ? runFloor(floorBin, [c], Math.max(20, maxTime * 1000))[0] : undefined;
  const net = (x: Timing) => Math.max(0, (x.nsPerRound - reset.nsPerRound) / c.batch);
  return {
    ...c,
    batchNs: net(batch),
    perPacketNs: net(per),
    fastNs: net(fast),
    tsNs: net(ts),
    cNs: cl ? cl.nsPerPacket : null,
    floorNs: fl ? fl.nsPerPacket : null,
    resetNs: reset.nsPerRound / c.batch,
    rme: { batch: batch.rme, perPacket: per.rme, fast: fast.rme, ts: ts.rme },
  };
}

interface DecodeRow {
  type: TypeName;
  size: number;
  batch: number;
  nativeNs: number;
  nativeJsonNs: number;
  tsNs: number;
}

function runDecode(type: TypeName, size: number, n: number, maxTime: number): DecodeRow {
  const p = decodePacket(type, size);
  const t = (way: DecodeWay) => time(`decode type ${type} ${way}`, decodeFn(p, n, way), maxTime).nsPerRound / n;
  return { type, size, batch: n, nativeNs: t('native'), nativeJsonNs: t('nativeJson'), tsNs: t('ts') };
}

/**
 * The `ioam-bench` binary (Rust floor + callgrind driver): `$IOAM_BENCH_BIN` if set; else, when
 * `build`, `cargo build --release` of crates/ioam-bench (a no-op when it is up to date, so the
 * floor never measures a stale core); else an existing build.
 */
function benchBinary(build: boolean): string | undefined {
  const given = process.env['IOAM_BENCH_BIN'];
  if (given) return existsSync(given) ? given : undefined;
  const candidates = [
    process.env['CARGO_TARGET_DIR'] && join(process.env['CARGO_TARGET_DIR'], 'release', 'ioam-bench'),
    join(ROOT, 'crates', 'ioam-bench', 'target', 'release', 'ioam-bench'),
  ].filter((x): x is string => !!x);
  if (build) {
    console.log('building crates/ioam-bench (cargo build --release) for the Rust floor and callgrind ...');
    const r = spawnSync('cargo', ['build', '--release', '--manifest-path', join(ROOT, 'crates', 'ioam-bench', 'Cargo.toml')], { stdio: 'inherit', cwd: ROOT });
    if (r.status !== 0) return undefined;
  }
  return candidates.find((p) => existsSync(p));
}

interface FloorRow {
  op: string;
  type: string;
  size: number;
  batch: number;
  nsPerPacket: number;
  grossNsPerPacket: number;
  resetNsPerPacket: number;
}

function runFloor(bin: string, cases: Case[], ms: number): FloorRow[] {
  const rows: FloorRow[] = [];
  // one call per (type, size) group
  const groups = new Map<string, Case[]>();
  for (const c of cases) {
    const k = `${c.type}/${c.size}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  for (const g of groups.values()) {
    const ops = [...new Set(g.map((c) => c.op))].join(',');
    const batches = [...new Set(g.map((c) => c.batch))].join(',');
    const r = spawnSync(bin, ['floor', '--ms', String(ms), '--ops', ops, '--types', g[0]!.type, '--sizes', String(g[0]!.size), '--batches', batches], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ioam-bench floor failed: ${r.stderr}`);
    for (const line of r.stdout.split('\n')) if (line.trim()) rows.push(JSON.parse(line) as FloorRow);
  }
  return rows;
}

interface IcountRow {
  op: Op;
  type: TypeName;
  size: number;
  packets: number;
  instrPerPacket: number;
}

function irOf(out: string): number {
  const m = /refs:\s+([\d,]+)/.exec(out);
  if (!m) throw new Error(`no instruction count in valgrind output: ${out.slice(-300)}`);
  return Number(m[1]!.replace(/,/g, ''));
}

/** (Ir(N packets) − Ir(same rounds without the operation)) / N under callgrind. */
function runCallgrind(bin: string, cases: { op: Op; type: TypeName; size: number }[], packets: number): IcountRow[] {
  const rows: IcountRow[] = [];
  for (const c of cases) {
    const run = (baseline: boolean) => {
      const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', bin, 'icount', c.op, c.type, String(c.size), String(packets)];
      if (baseline) args.push('--baseline');
      const r = spawnSync('valgrind', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`valgrind failed: ${r.stderr.slice(-500)}`);
      return irOf(r.stderr);
    };
    const total = run(false);
    const base = run(true);
    rows.push({ ...c, packets, instrPerPacket: Math.round(((total - base) / packets) * 10) / 10 });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Output

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

/** The `sim` section of an earlier results file (kept by a run with --no-sim). */
function previousSim(file: string): unknown {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { sim?: unknown }).sim;
  } catch {
    return undefined;
  }
}

function machine() {
  let model = 'unknown';
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  let load = '';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    /* not Linux */
  }
  return { nproc: cpus().length, cpu: model, node: process.version, core: coreVersion(), loadavg: load };
}

/** `--sim`: only the simulator suite; its section replaces the one in the results file, and the tables rendered from it (bench/report.ts). */
function simOnly(args: Args): number {
  const m = machine();
  const { rows, note } = simSuite(ROOT, { smoke: args.smoke, quick: args.simQuick, ns3: args.ns3 }, (l) => console.log(l));
  const argv = process.argv.slice(2);
  const command = `npm run bench -- ${argv.join(' ')}`;
  const results = existsSync(args.out) ? (JSON.parse(readFileSync(args.out, 'utf8')) as Record<string, unknown>) : {};
  results['sim'] = { note, command, date: new Date().toISOString(), machine: m, loadavgAtEnd: machine().loadavg, rows };
  writeFileSync(args.out, JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote the sim section of ${args.out}`);
  if (!args.smoke && args.out === DEFAULT_OUT) for (const f of updateDocs(results)) console.log(`re-rendered ${f}`);
  return 0;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.ns3) {
    if (!args.sim) throw new Error('--ns3 adds rows to the simulator suite: not with --no-sim');
    try {
      console.log(`ns-3 ${ns3Version()}: bench/ns3/leaf-spine-heavy.cc beside the simulator's rate row`);
    } catch (e) {
      console.error(`bench --ns3: ${(e as Error).message}`);
      return 4;
    }
  }
  if (args.simOnly) return simOnly(args);
  useClock(args.clock);
  if (args.smoke) minTime = 0.005;
  const started = Date.now();
  const errors: string[] = [];
  const m = machine();
  console.log(`ioamsim bench${args.smoke ? ' (smoke)' : ''}: ${m.cpu}, nproc ${m.nproc}, node ${m.node}, load ${m.loadavg}, clock ${args.clock}`);
  if (!(globalThis as { gc?: unknown }).gc) console.log('note: run with --expose-gc (npm run bench does) for a GC between benchmarks');

  const sc0 = Date.now();
  const cases = selfCheck(args.smoke ? [16, 244] : [16, 64, 244]);
  console.log(`self-check: both TS baselines = C loops = per-packet in-place calls = Rust batch path, TS decode = native decode on ${cases} corpus cases (${Date.now() - sc0} ms)`);

  // The Rust floor binary (built or rebuilt by cargo unless $IOAM_BENCH_BIN names one)
  let floorNote = 'not run (--no-floor)';
  let icount: IcountRow[] = [];
  let icountNote = 'not run (--no-callgrind)';
  const bin = args.floor || args.callgrind ? benchBinary(!args.smoke) : undefined;
  const floorBin = args.floor ? bin : undefined;
  if (args.floor) floorNote = bin ? `${relative(ROOT, bin)} floor, per case right after the JavaScript ways` : 'unavailable: build crates/ioam-bench (cargo build --release --manifest-path crates/ioam-bench/Cargo.toml)';

  // Dataplane suites
  const rows: Row[] = [];
  for (const c of grid(args.smoke)) {
    const label = `${c.suite} ${c.op} type ${c.type} size ${c.size} batch ${c.batch}`;
    if (args.filter && !args.filter.test(label)) continue;
    try {
      const r = runCase(c, args.maxTime, floorBin);
      rows.push(r);
      console.log(`${label}: batch ${f(r.batchNs)} ns/pkt, floor ${f(r.floorNs)}, per-packet ${f(r.perPacketNs)}, C ${f(r.cNs)}, TS fast ${f(r.fastNs)}, TS structured ${f(r.tsNs)} (reset ${f(r.resetNs)})`);
    } catch (e) {
      errors.push(`${label}: ${(e as Error).message}`);
      console.error(`ERROR ${label}: ${(e as Error).stack}`);
    }
  }
  const decodeRows: DecodeRow[] = [];
  for (const type of args.smoke ? (['4'] as TypeName[]) : (Object.keys(TRACE_TYPES) as TypeName[])) {
    for (const n of args.smoke ? [16] : [1, 256]) {
      if (args.filter && !args.filter.test(`decode type ${type} batch ${n}`)) continue;
      try {
        const d = runDecode(type, MAIN_SIZE[type], n, args.maxTime);
        decodeRows.push(d);
        console.log(`decode type ${type} x${n}: native ${f(d.nativeNs)} ns/pkt, JSON text ${f(d.nativeJsonNs)}, TS ${f(d.tsNs)}`);
      } catch (e) {
        errors.push(`decode ${type}: ${(e as Error).message}`);
        console.error(`ERROR decode ${type}: ${(e as Error).stack}`);
      }
    }
  }

  // callgrind
  if (args.callgrind && !args.smoke) {
    const vg = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
    if (!bin || vg.status !== 0) icountNote = 'unavailable (needs valgrind and crates/ioam-bench built)';
    else {
      try {
        const want = new Map<string, { op: Op; type: TypeName; size: number }>();
        for (const r of rows) want.set(`${r.op}/${r.type}/${r.size}`, { op: r.op, type: r.type, size: r.size });
        icount = runCallgrind(bin, [...want.values()], 25_600);
        for (const r of rows) r.instrPerPacket = icount.find((x) => x.op === r.op && x.type === r.type && x.size === r.size)?.instrPerPacket ?? null;
        const cInstr = new Map<string, number>();
        for (const [k, w] of want) if (CREF_OPS[w.op]) cInstr.set(k, crefInstr(w.op, w.type, w.size, 25_600, irOf));
        for (const r of rows) r.cInstrPerPacket = cInstr.get(`${r.op}/${r.type}/${r.size}`) ?? null;
        icountNote = `valgrind --tool=callgrind ${relative(ROOT, bin)} icount OP TYPE SIZE 25600 [--baseline]; C loop: valgrind --tool=callgrind bench/c/ref OP PACKET 256 -100 ... [--baseline]`;
      } catch (e) {
        errors.push(`callgrind: ${(e as Error).message}`);
        icountNote = `failed: ${(e as Error).message}`;
      }
    }
  }

  // Simulator (bench/sim.ts)
  let simRows: SimRow[] = [];
  let simNote = 'not run (--no-sim)';
  if (args.sim) {
    try {
      ({ rows: simRows, note: simNote } = simSuite(ROOT, { smoke: args.smoke, quick: args.simQuick, ns3: args.ns3 }, (l) => console.log(l)));
    } catch (e) {
      errors.push(`sim: ${(e as Error).message}`);
      simNote = `failed: ${(e as Error).message.split('\n')[0]}`;
      console.error(`ERROR sim: ${(e as Error).message}`);
    }
  }

  const argv = process.argv.slice(2);
  const command = `npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}`;
  const results = {
    date: new Date().toISOString(),
    command,
    smoke: args.smoke,
    machine: m,
    loadavgAtEnd: machine().loadavg,
    maxTimeS: args.maxTime,
    clock: args.clock === 'cpu' ? 'process CPU time (user+system) as benchmark.js timer' : 'wall clock (process.hrtime)',
    corpus: 'bench/corpus.ts = crates/ioam-bench/src/lib.rs',
    perPacketCall: PER_PACKET_CALL,
    dataplane: rows,
    decode: decodeRows,
    floor: floorNote,
    callgrind: { note: icountNote, rows: icount },
    sim: args.sim ? { note: simNote, command, date: new Date().toISOString(), rows: simRows } : previousSim(args.out) ?? { note: simNote, rows: simRows },
    errors,
    wallS: Math.round((Date.now() - started) / 100) / 10,
  };
  writeFileSync(args.out, JSON.stringify(results, null, 2) + '\n');
  const blocks = renderAll(results);
  const md = TABLES.map((t) => `### ${t.name}\n\n${blocks.get(t.name)}\n`).join('\n');
  writeFileSync(args.out.replace(/\.json$/, '') + '.md', md);
  console.log('\n' + md);
  console.log(`wrote ${args.out} (${results.wallS} s)`);
  if (!args.smoke && args.out === DEFAULT_OUT) {
    const changed = updateDocs(results);
    console.log(changed.length ? `re-rendered the tables of ${changed.join(', ')} (bench/report.ts)` : 'README.md and docs/BENCHMARKS.md tables already up to date');
  }
  if (errors.length) {
    console.error(`${errors.length} suite error(s):\n  ${errors.join('\n  ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
