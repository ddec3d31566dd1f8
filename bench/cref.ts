/**
 * The C reference loops (`bench/c/ref.c`): compiled with `cc -O2` at run time, given the bench
 * corpus's packet, node and meta (from `bench/corpus.ts`, so the same work as the other columns)
 * and timed in a child process of the same run. {@link crefCheck} runs one packet through the C
 * loop and returns the bytes it leaves, for the self-check against the core.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IF_NONE } from '../src/index';
import { TsNode } from './baseline/node';
import { inputPacket, metaFor, nodeConfigFor, TRACE_TYPES, type Op, type TypeName } from './corpus';

const SRC = resolve(__dirname, 'c', 'ref.c');

/** The C loop of an operation (the Incremental append has none). */
export const CREF_OPS: Partial<Record<Op, string>> = { 'transit-prealloc': 'transit', encap: 'encap', decap: 'decap' };

let compiled: string | undefined;

/** Compiles bench/c/ref.c once per process (`cc -O2`); throws with the compiler's message. */
export function crefBinary(): string {
  if (compiled) return compiled;
  const out = join(mkdtempSync(join(tmpdir(), 'ioamsim-cref-')), 'ref');
  const r = spawnSync(process.env['CC'] ?? 'cc', ['-O2', '-o', out, SRC], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`cc -O2 bench/c/ref.c failed: ${r.error?.message ?? r.stderr}`);
  compiled = out;
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** KEY=VALUE arguments: the operation's node (bench/corpus.ts) and meta. */
function nodeArgs(op: Op, type: TypeName, size: number): string[] {
  const cfg = nodeConfigFor(op, TRACE_TYPES[type], size) as unknown as {
    ioam6_id: number; ioam6_id_wide: number;
    interfaces: { ioam6_id: number; ioam6_id_wide: number }[];
    namespaces: { id: number; data?: number; wide?: bigint }[];
  };
  const m = metaFor(op);
  const iif = m.ingressIf ?? IF_NONE;
  const eif = m.egressIf ?? IF_NONE;
  const ns = cfg.namespaces[0]!;
  const a = [
    `ID=${cfg.ioam6_id}`, `IDWIDE=${cfg.ioam6_id_wide}`, `NS=${ns.id}`,
    `SEC=${m.tsSec ?? 0}`, `NSEC=${m.tsNsec ?? 0}`, `QUEUE=${m.queueDepth ?? 0xffffffff}`,
    `IIF=${iif === IF_NONE ? -1 : iif}`, `EIF=${eif === IF_NONE ? -1 : eif}`,
  ];
  if (ns.data !== undefined) a.push(`NSDATA=${ns.data}`);
  if (ns.wide !== undefined) a.push(`NSWIDE=${ns.wide}`);
  const fi = cfg.interfaces[iif];
  if (fi) a.push(`IIF_ID=${fi.ioam6_id}`, `IIF_WIDE=${fi.ioam6_id_wide}`);
  const fe = cfg.interfaces[eif];
  if (fe) a.push(`EIF_ID=${fe.ioam6_id}`, `EIF_WIDE=${fe.ioam6_id_wide}`);
  if (op === 'encap') a.push(`HBH=${hex(new TsNode(nodeConfigFor(op, TRACE_TYPES[type], size)).encap!.hbh)}`);
  return a;
}

function run(args: string[]): string {
  const r = spawnSync(crefBinary(), args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`bench/c/ref ${args[0]} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim();
}

/** The packet the C loop leaves after one round (one packet). */
export function crefCheck(op: Op, type: TypeName, size: number): Uint8Array {
  const c = CREF_OPS[op];
  if (!c) throw new Error(`no C loop for ${op}`);
  return Buffer.from(run([c, hex(inputPacket(op, TRACE_TYPES[type], size)), '1', '0', ...nodeArgs(op, type, size), '--dump']), 'hex');
}

export interface CrefTiming {
  nsPerPacket: number;
  grossNsPerPacket: number;
  resetNsPerPacket: number;
}

/** ns per packet of the C loop on a batch of `batch` packets (median over ~`ms` ms of CPU time). */
export function crefTime(op: Op, type: TypeName, size: number, batch: number, ms: number): CrefTiming {
  const c = CREF_OPS[op];
  if (!c) throw new Error(`no C loop for ${op}`);
  return JSON.parse(run([c, hex(inputPacket(op, TRACE_TYPES[type], size)), String(batch), String(ms), ...nodeArgs(op, type, size)])) as CrefTiming;
}

/** Instructions per packet of the C loop under callgrind: (Ir(R rounds) − Ir(R resets)) ÷ packets, 256-packet batches. */
export function crefInstr(op: Op, type: TypeName, size: number, packets: number, irOf: (valgrindStderr: string) => number): number {
  const c = CREF_OPS[op];
  if (!c) throw new Error(`no C loop for ${op}`);
  const rounds = Math.ceil(packets / 256);
  const run = (baseline: boolean) => {
    const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', crefBinary(), c, hex(inputPacket(op, TRACE_TYPES[type], size)), '256', String(-rounds), ...nodeArgs(op, type, size)];
    if (baseline) args.push('--baseline');
    const r = spawnSync('valgrind', args, { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`valgrind bench/c/ref failed: ${r.error?.message ?? r.stderr.slice(-500)}`);
    return irOf(r.stderr);
  };
  return Math.round(((run(false) - run(true)) / (rounds * 256)) * 10) / 10;
}
