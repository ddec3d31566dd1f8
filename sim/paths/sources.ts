/**
 * Path tables from files: the simulator's trace records (JSON Lines, `traces-<node>.jsonl`, or
 * Parquet, `traces-<node>.parquet`) and
 * real captures (pcap/pcapng; every IPv6 packet through the core's decoder, every IOAM trace
 * option it carries). For captures a flow is the packet's addresses, protocol and ports, and
 * times are ns since the first frame (its absolute time in `t0_ns`).
 * @module
 */
import { readCapture, CaptureError } from '../../src/capture';
import { decode, ioamOptions, type NodeData } from '../../src/decode';
import type { HopData } from '../trace';
import { PathTable, traceFlow } from './table';

/** Whether these bytes start a pcap or pcapng file. */
export function isCapture(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const m = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  return [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a].includes(m);
}

/** A line that is not a trace record: `file:line: reason`. */
export class TraceFileError extends Error {
  override name = 'TraceFileError';
}

/** Whether these bytes start an Apache Parquet file (`PAR1`). */
export function isParquet(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31;
}

type TraceRecord = { t_ns?: unknown; flow?: unknown; kind?: unknown; options?: unknown };

/** Adds one trace record (`where` names it in errors: `file:line` or `file: row n`). */
function addRecord(table: PathTable, rec: TraceRecord, where: string): void {
  if (typeof rec.t_ns !== 'number' || typeof rec.flow !== 'string' || !Array.isArray(rec.options)) {
    throw new TraceFileError(`${where}: not a trace record (expected t_ns, flow, options as written by ioamsim run)`);
  }
  for (const o of rec.options as { ns?: unknown; hops?: unknown }[]) {
    if (typeof o?.ns !== 'number' || !Array.isArray(o.hops)) throw new TraceFileError(`${where}: options: expected { ns, hops: [...] }`);
    table.add(traceFlow(rec.flow, rec.kind), o.ns, rec.t_ns, o.hops as HopData[]);
  }
}

/** Adds the records of a JSON Lines trace file to `table`; returns the number of records. */
export function addTraceJsonl(table: PathTable, text: string, file: string): number {
  let n = 0;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: TraceRecord;
    try {
      rec = JSON.parse(line) as TraceRecord;
    } catch (e) {
      throw new TraceFileError(`${file}:${i + 1}: not JSON: ${(e as Error).message}`);
    }
    addRecord(table, rec, `${file}:${i + 1}`);
    n++;
  });
  return n;
}

/**
 * Adds the rows of a Parquet trace file (`traces-<node>.parquet` of `ioamsim run --outputs
 * ...,traces-parquet`: the JSON Lines keys as columns) to `table`; returns the number of rows.
 */
export async function addTraceParquet(table: PathTable, bytes: Uint8Array, file: string): Promise<number> {
  const { parquetReadObjects } = await import('hyparquet');
  let rows: Record<string, unknown>[];
  try {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    rows = (await parquetReadObjects({ file: ab, columns: ['t_ns', 'flow', 'kind', 'options'] })) as Record<string, unknown>[];
  } catch (e) {
    throw new TraceFileError(`${file}: not a readable Parquet trace file (t_ns, flow, kind, options columns): ${(e as Error).message}`);
  }
  rows.forEach((r, i) => {
    let options = r['options'];
    // Files written before options became a JSON column hold its JSON text.
    if (typeof options === 'string') {
      try {
        options = JSON.parse(options);
      } catch (e) {
        throw new TraceFileError(`${file}: row ${i + 1}: options: not JSON: ${(e as Error).message}`);
      }
    }
    const t = r['t_ns'];
    addRecord(table, { t_ns: typeof t === 'bigint' ? Number(t) : t, flow: r['flow'], kind: r['kind'], options }, `${file}: row ${i + 1}`);
  });
  return rows.length;
}

function hopOf(d: NodeData): HopData {
  const h: HopData = {};
  if (d.nodeId !== undefined) h.node_id = d.nodeId;
  if (d.nodeIdWide !== undefined) h.node_id_wide = '0x' + BigInt(d.nodeIdWide).toString(16);
  if (d.ingressIfId !== undefined) { h.ingress_if = d.ingressIfId; h.egress_if = d.egressIfId; }
  else if (d.ingressIfIdWide !== undefined) { h.ingress_if_wide = d.ingressIfIdWide; h.egress_if_wide = d.egressIfIdWide; }
  return h;
}

export interface CaptureScan {
  frames: number;
  traced: number;
  undecodable: number;
  /** Absolute time of the first frame (ns since the POSIX epoch), as text. */
  t0_ns: string | null;
  /** Set when the capture ended in damage after some frames (those were read). */
  error?: string;
}

/** Adds the IOAM traces of a capture's packets to `table`. */
export async function addCapture(table: PathTable, file: string, layout: 'standard' | 'legacy' = 'standard'): Promise<CaptureScan> {
  const scan: CaptureScan = { frames: 0, traced: 0, undecodable: 0, t0_ns: null };
  let t0: bigint | null = null;
  try {
    for await (const batch of readCapture(file).batches()) {
      for (const r of batch) {
        scan.frames++;
        if (r.timestampNs !== null && t0 === null) t0 = r.timestampNs;
        if (r.network === null || r.ethertype !== 0x86dd) continue;
        let p;
        try {
          p = decode(r.network, { clt: layout });
        } catch {
          scan.undecodable++;
          continue;
        }
        const traces = ioamOptions(p).filter((o) => o.data.type === 'preallocated-trace' || o.data.type === 'incremental-trace');
        if (traces.length === 0) continue;
        scan.traced++;
        const u = p.upperLayer;
        const ports = (u.protocol === 6 || u.protocol === 17) && u.payload.length >= 8 ? ` ${parseInt(u.payload.slice(0, 4), 16)} > ${parseInt(u.payload.slice(4, 8), 16)}` : '';
        const flow = `${p.ipv6.src} > ${p.ipv6.dst} proto ${u.protocol}${ports}`;
        const t = r.timestampNs === null || t0 === null ? 0 : Number(r.timestampNs - t0);
        for (const o of traces) {
          const tr = o.data as { namespaceId: number; nodes: NodeData[] };
          table.add(flow, tr.namespaceId, t, [...tr.nodes].reverse().map(hopOf));
        }
      }
    }
  } catch (e) {
    if (e instanceof CaptureError && e.code !== 'ERR_CAPTURE_IO' && scan.frames > 0) scan.error = e.message;
    else throw e;
  }
  scan.t0_ns = t0 === null ? null : t0.toString();
  return scan;
}
