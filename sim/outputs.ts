/**
 * The files of a run, streamed to disk while it runs (memory does not grow with the run's length):
 * - `summary` → `summary.json` (written at the end: the mark of a complete run);
 * - `traces` → `traces-<node>.jsonl`, one decoded trace per line at each decapsulating node;
 * - `traces-parquet` → `traces-<node>.parquet`, the same records as Apache Parquet (one row per
 *   trace, the JSON Lines keys as columns; `options` is a JSON column holding the same array);
 * - `captures` → `<node>-<interface>.pcapng` for the topology's `captures[]`.
 * `run-info.json` (wall time, workers: not deterministic) is always written, last.
 *
 * Every file is written as `<name>.partial` and renamed when the run completes; a failed run
 * (worker crash, full disk, interruption) removes what it wrote, so nothing left behind looks
 * complete. Output-like files this run does not write are listed ({@link RunOutputs.others}), never removed.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import * as capture from '../src/capture';
import type { FdStream, PcapngWriter } from '../src/capture';
import type { Network, SimDevice, SimNode } from './network';
import { optionsJson, traceLine, type SimTrace } from './trace';
import { topologyError, type LoadedTopology } from './topology';

// Module-local copies of imported functions and constants: hot paths then call a local, not an
// export binding (under tsx every export binding is read through a getter).
const { createPcapngFile, fdStream, splitTimestampNs } = capture;

export const OUTPUT_KINDS = ['summary', 'traces', 'traces-parquet', 'captures'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];
/** What a run writes unless told otherwise. */
export const DEFAULT_OUTPUTS: readonly OutputKind[] = ['summary', 'traces', 'captures'];

/** Parses `summary,traces,captures`; throws a RangeError naming the valid kinds. */
export function parseOutputs(text: string): OutputKind[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const k of items) {
    if (!(OUTPUT_KINDS as readonly string[]).includes(k)) throw new RangeError(`unknown output ${JSON.stringify(k)}: expected a comma-separated list of ${OUTPUT_KINDS.join(', ')}`);
  }
  return [...new Set(items as OutputKind[])];
}

/** Runs `f`; an I/O error is rethrown naming `file` (errno code kept: the CLI's exit code uses it). */
export function writing<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot write ${file}: ${err.message}`, { cause: e }), { code: err.code });
  }
}

/** Opens `<file>.partial` for writing: its byte stream (written by the writer thread, src/capture/bgwriter.ts). */
function openPartial(file: string): FdStream {
  return writing(file, () => fdStream(fs.openSync(file + '.partial', 'w')));
}

/** A Parquet writer's byte sink that goes to the file's stream after every row group (hyparquet-writer `Writer.flush`). */
class FdWriter extends ByteWriter {
  constructor(private readonly out: FdStream, private readonly file: string) {
    super(1 << 16);
  }
  flush(): void {
    writing(this.file, () => this.out.write(new Uint8Array(this.buffer, 0, this.index)));
    this.index = 0;
  }
  override finish(): void {
    this.flush();
    this.out.close();
  }
}

/** JSON Lines bytes per write; Parquet rows per row group (bounded memory either way). */
const JSONL_STAGE = 1 << 20;
const TRACE_BATCH = 4096;

/** Parquet columns of the rows not yet written (no object per row). */
interface TraceColumns { t_ns: bigint[]; flow: string[]; kind: string[]; seq: bigint[]; packet: bigint[]; hbh_len: number[]; options: string[] }
const emptyColumns = (): TraceColumns => ({ t_ns: [], flow: [], kind: [], seq: [], packet: [], hbh_len: [], options: [] });

/** One decapsulating node's trace files. */
class TraceFiles {
  /** JSON Lines bytes not yet written (encoded as they come: no array of lines, no joined text). */
  private stage: Buffer | undefined;
  private used = 0;
  private rows: TraceColumns = emptyColumns();
  private out: FdStream | undefined;
  private pq: ParquetWriter | undefined;
  private pqSchema: TraceSchema | undefined;
  private pqOut: FdStream | undefined;
  constructor(private readonly dir: string, readonly node: string, private readonly jsonl: boolean, private readonly parquet: boolean, private readonly files: string[]) {}

  /** One record: its JSON Lines text and Parquet row, built from the flat record (sim/trace.ts). */
  add(t: SimTrace): void {
    const options = optionsJson(t);
    if (this.jsonl) {
      const line = traceLine(t, options);
      const stage = (this.stage ??= Buffer.allocUnsafe(JSONL_STAGE));
      // UTF-8 takes at most 3 bytes per UTF-16 unit (+ the newline).
      if (this.used + 3 * line.length + 1 > stage.length) {
        this.flushJsonl();
        if (3 * line.length + 1 > stage.length) this.stage = Buffer.allocUnsafe(2 * (3 * line.length + 1));
      }
      this.used += this.stage!.write(line, this.used, 'utf8');
      this.stage![this.used++] = 0x0a;
    }
    if (this.parquet) {
      const r = this.rows;
      r.t_ns.push(BigInt(t.t_ns));
      r.flow.push(t.flow);
      r.kind.push(t.kind);
      r.seq.push(BigInt(t.seq));
      r.packet.push(BigInt(t.packet));
      r.hbh_len.push(t.hbh_len);
      r.options.push(options);
      if (r.options.length >= TRACE_BATCH) this.flushParquet();
    }
  }

  private file(ext: string): string {
    return path.join(this.dir, `traces-${this.node}.${ext}`);
  }

  private flushJsonl(): void {
    const file = this.file('jsonl');
    if (this.out === undefined) {
      this.files.push(file);
      this.out = openPartial(file);
    }
    if (this.used > 0) writing(file, () => this.out!.write(this.stage!.subarray(0, this.used)));
    this.used = 0;
  }

  private flushParquet(): void {
    const file = this.file('parquet');
    if (this.pq === undefined) {
      this.files.push(file);
      this.pqOut = openPartial(file);
      this.pqSchema = traceSchema();
      this.pq = new ParquetWriter({ writer: new FdWriter(this.pqOut, file), schema: this.pqSchema, createdBy: 'ioamsim' });
    }
    const r = this.rows;
    if (r.options.length === 0) return;
    const columnData = [
      { name: 't_ns', data: r.t_ns },
      { name: 'node', data: r.options.map(() => this.node) },
      { name: 'flow', data: r.flow },
      { name: 'kind', data: r.kind },
      { name: 'seq', data: r.seq },
      { name: 'packet', data: r.packet },
      { name: 'hbh_len', data: r.hbh_len },
      { name: 'options', data: r.options },
    ];
    writing(file, () => this.pq!.write({ columnData, rowGroupSize: TRACE_BATCH }));
    this.rows = emptyColumns();
  }

  /** Flushes and renames (a node that decapsulated nothing still gets its empty files). */
  finish(): void {
    if (this.jsonl) {
      this.flushJsonl();
      const file = this.file('jsonl');
      writing(file, () => {
        this.out!.close();
        this.out = undefined;
        fs.renameSync(file + '.partial', file);
      });
    }
    if (this.parquet) {
      this.flushParquet();
      const file = this.file('parquet');
      writing(file, () => {
        // The footer (written by finish) marks `options` JSON for readers that go by the converted type (see traceSchema).
        this.pqSchema!.find((e) => e.name === 'options')!.converted_type = 'JSON';
        this.pq!.finish(); // closes the stream (FdWriter.finish)
        this.pqOut = undefined;
        fs.renameSync(file + '.partial', file);
      });
    }
  }

  close(): void {
    for (const out of [this.out, this.pqOut]) out?.abort();
    this.out = this.pqOut = undefined;
  }
}

/** Parquet schema of a trace row: the JSON Lines keys, in their order. */
type TraceSchema = ConstructorParameters<typeof ParquetWriter>[0]['schema'];

/**
 * The Parquet schema of a trace file (one per file: see `options`). `options` holds each trace's
 * options array as UTF-8 JSON text, the same text as the JSON Lines field. It is annotated JSON
 * twice over: the logical type JSON from the start, and the converted type JSON, which DuckDB and
 * others go by, set only for the footer: hyparquet-writer JSON.stringify()s the values of a column
 * whose converted type is JSON, which would store each array as a JSON *string* (DuckDB read
 * `"[{\"option_type\":...}]"`, so `options->0->>'ns'` was NULL) or cost a parse of every trace.
 */
function traceSchema(): TraceSchema {
  return [
    { name: 'root', num_children: 8 },
    { name: 't_ns', type: 'INT64', repetition_type: 'REQUIRED' },
    { name: 'node', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'flow', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'kind', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'seq', type: 'INT64', repetition_type: 'REQUIRED' },
    { name: 'packet', type: 'INT64', repetition_type: 'REQUIRED' },
    { name: 'hbh_len', type: 'INT32', repetition_type: 'REQUIRED' },
    { name: 'options', type: 'BYTE_ARRAY', logical_type: { type: 'JSON' }, repetition_type: 'REQUIRED' },
  ];
}

/**
 * A capture point's writer on packet handles: an Enhanced Packet Block straight from the packet
 * slab, with the comment `tx|rx FLOW #SEQ` (its prefix encoded once per flow, the digits written in
 * place): no object or string per packet.
 */
function captureFn(net: Network, w: PcapngWriter, dir: 'tx' | 'rx'): (h: number, now: number) => void {
  const store = net.store;
  /** Per flow: its comment buffer with the prefix in place (the digits follow it), and the prefix length. */
  const comments: (Uint8Array | undefined)[] = [];
  const prefixLen: number[] = [];
  const enc = new TextEncoder();
  // The run's epoch as 64-bit ns halves, once: a packet's timestamp is epoch + now (exact while
  // the low sum is a safe integer; splitTimestampNs otherwise).
  const ts: [number, number] = [0, 0];
  const [epochHi, epochLo] = splitTimestampNs(net.epochSec, net.epochNsRem, [0, 0]);
  return (h, now) => {
    const f = store.flow[h]!;
    let comment = comments[f];
    if (comment === undefined) {
      const prefix = enc.encode(`${dir} ${store.flows[f]!.name} #`);
      while (comments.length < f) {
        comments.push(undefined);
        prefixLen.push(0);
      }
      comments[f] = comment = new Uint8Array(prefix.length + 24);
      comment.set(prefix, 0);
      prefixLen[f] = prefix.length;
    }
    // The sequence number's decimal digits, written from the last (no string per packet).
    const seq = store.seq[h]!;
    let nd = 1;
    for (let x = seq; x >= 10; x = Math.floor(x / 10)) nd++;
    const p = prefixLen[f]!;
    if (comment.length < p + nd) {
      const c = new Uint8Array(2 * (p + nd));
      c.set(comment.subarray(0, p));
      comments[f] = comment = c;
    }
    for (let i = p + nd - 1, x = seq; i >= p; i--, x = Math.floor(x / 10)) comment[i] = 48 + (x % 10);
    const lo = epochLo + now;
    if (Number.isSafeInteger(lo)) {
      ts[0] = epochHi + Math.floor(lo / 4294967296);
      ts[1] = lo % 4294967296;
    } else splitTimestampNs(net.epochSec, net.epochNsRem + now, ts);
    w.writeEnhanced(0, ts[0], ts[1], store.buf, store.off(h), store.len(h), comment, p + nd);
  };
}

/** The output files of one run (see module doc). */
/** The node and devices of capture point `ci` (`captures[ci]`), or a config error naming it. */
function captureDevices(net: Network, topo: LoadedTopology, ci: number): { node: SimNode; ni: number; devs: SimDevice[] } {
  const c = topo.input.captures![ci]!;
  const ni = net.nodeIndex(c.node, ['captures', ci, 'node']);
  const node = net.nodes[ni]!;
  const devs = node.devices.filter((d): d is SimDevice => d !== undefined && (c.interface === undefined || d.name === c.interface));
  if (devs.length === 0) throw topologyError(topo, ['captures', ci, 'interface'], `${c.node} has no linked interface ${c.interface ?? ''}`.trim());
  return { node, ni, devs };
}

/** Per device, 1 when the run writes a capture of what it receives (`captures[]` with rx or both, and captures among `kinds`). */
export function rxCaptured(net: Network, topo: LoadedTopology, kinds: readonly OutputKind[]): Uint8Array {
  const rx = new Uint8Array(net.devices.length);
  if (!kinds.includes('captures')) return rx;
  (topo.input.captures ?? []).forEach((c, ci) => {
    if ((c.direction ?? 'both') === 'tx') return;
    for (const d of captureDevices(net, topo, ci).devs) rx[d.index] = 1;
  });
  return rx;
}

/** Names of the files a run writes (see the module doc). */
const OUTPUT_NAME = /^(summary\.json|run-info\.json|traces-.+\.(jsonl|parquet)|.+\.pcapng)$/;

export class RunOutputs {
  private readonly kinds: Set<OutputKind>;
  private readonly pcaps: PcapngWriter[] = [];
  private readonly traces = new Map<string, TraceFiles>();
  /** Every output path of this run: removed (with its `.partial`) if the run fails. */
  private readonly files: string[] = [];
  /**
   * Files in the output directory named like this simulator's outputs that this run does not
   * write (left by an earlier run with other outputs, captures or nodes): reported, never removed.
   */
  readonly others: string[] = [];

  /**
   * Checks the capture points (always: a bad one is a topology error even without files) and,
   * with `outDir`, opens the files and attaches the capture and trace sinks to `net`.
   */
  constructor(net: Network, topo: LoadedTopology, private readonly outDir: string | undefined, kinds: readonly OutputKind[], part: { owned?: Uint8Array; dry?: boolean } = {}) {
    this.kinds = new Set(kinds);
    const t = topo.input;
    if (outDir && !part.dry) fs.mkdirSync(outDir, { recursive: true });
    // A partition (sim/partition.ts) writes the files of its own nodes; `dry` only lists every file of the run (to remove them all if it fails).
    const mine = (node: number) => !part.owned || part.owned[node] === 1;
    (t.captures ?? []).forEach((c, ci) => {
      const { node, ni, devs } = captureDevices(net, topo, ci);
      if (!outDir || !this.kinds.has('captures') || !mine(ni)) return;
      for (const d of devs) {
        const file = path.join(outDir, `${node.name}-${d!.name}.pcapng`);
        this.files.push(file);
        if (part.dry) continue;
        const w = createPcapngFile(file, {
          userAppl: 'ioamsim sim',
          interfaces: [{ name: `${node.name}:${d!.name}`, description: `ioamsim ${c.direction ?? 'both'} capture` }],
        });
        this.pcaps.push(w);
        const dir = c.direction ?? 'both';
        if (dir !== 'rx') d.captureTxH = captureFn(net, w, 'tx');
        if (dir !== 'tx') d.captureRxH = captureFn(net, w, 'rx');
      }
    });
    /** Trace files this run writes (a node's are opened with its first trace). */
    const expected: string[] = [];
    const jsonl = this.kinds.has('traces');
    const parquet = this.kinds.has('traces-parquet');
    if (outDir && (jsonl || parquet)) {
      for (const n of net.nodes) {
        if (n.decapNs.size === 0 || !mine(n.index)) continue;
        const names = [...(jsonl ? [`traces-${n.name}.jsonl`] : []), ...(parquet ? [`traces-${n.name}.parquet`] : [])];
        expected.push(...names);
        if (part.dry) for (const f of names) this.files.push(path.join(outDir, f));
        else this.traces.set(n.name, new TraceFiles(outDir, n.name, jsonl, parquet, this.files));
      }
      if (!part.dry) net.traceSink = (t: SimTrace) => this.traces.get(t.node)!.add(t);
    }
    if (outDir && !part.owned) {
      const ours = new Set([...this.files.map((f) => path.basename(f)), ...expected]);
      ours.add('run-info.json');
      if (this.kinds.has('summary')) ours.add('summary.json');
      let names: string[] = [];
      try {
        names = fs.readdirSync(outDir);
      } catch {
        /* not created (dry): nothing there */
      }
      for (const name of names.sort()) {
        const base = name.endsWith('.partial') ? name.slice(0, -'.partial'.length) : name;
        if (OUTPUT_NAME.test(base) && !ours.has(base)) this.others.push(name);
      }
    }
  }

  /** Completes the trace and capture files (a partition's part of {@link finish}). */
  finishFiles(): void {
    try {
      for (const t of this.traces.values()) t.finish();
      for (const w of this.pcaps) w.finish();
    } catch (e) {
      this.discard();
      throw e;
    }
  }

  /** Completes every file; `summary.json` (if asked) and `run-info.json` last. */
  finish(summary: unknown, info: unknown): void {
    const outDir = this.outDir;
    if (!outDir) return;
    this.finishFiles();
    try {
      const last: [string, unknown][] = [['run-info.json', info]];
      if (this.kinds.has('summary')) last.push(['summary.json', summary]);
      for (const [name, value] of last) {
        const file = path.join(outDir, name);
        this.files.push(file);
        writing(file, () => {
          fs.writeFileSync(file + '.partial', JSON.stringify(value, null, 2) + '\n');
          fs.renameSync(file + '.partial', file);
        });
      }
    } catch (e) {
      this.discard();
      throw e;
    }
  }

  /** A failed run leaves no output that looks complete, not even a stale one. */
  discard(): void {
    for (const w of this.pcaps) w.abort();
    for (const t of this.traces.values()) t.close();
    for (const f of this.files) {
      fs.rmSync(f, { force: true });
      fs.rmSync(f + '.partial', { force: true });
    }
  }
}
