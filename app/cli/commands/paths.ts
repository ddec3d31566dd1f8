/**
 * `ioamsim paths FILE...`: the IOAM path table (docs/ROUTING.md) of simulated traces (JSON Lines
 * from `ioamsim run`) or real captures (pcap/pcapng).
 * @module
 */
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { InputError, PartialError } from '../errors';

const HELP = `
Per flow and IOAM namespace: every path the traces show (node ids, or names with --topology;
[ingress, egress] interface ids when the Trace-Type has bit 1), packets per path, first and last
time seen, and each change of path (a packet on another path than the flow's previous one).

Inputs: traces-<node>.jsonl (or .parquet) files written by "ioamsim run" (flows by name, times in
simulated ns), or pcap/pcapng captures (flows by addresses, protocol and ports; times in ns since the first
frame). Several files are merged in the order given.

Examples:
  $ ioamsim run examples/failure.yaml --out out/failure
  $ ioamsim paths out/failure/traces-l1.jsonl out/failure/traces-l2.jsonl out/failure/traces-l3.jsonl --topology examples/failure.yaml
  $ ioamsim paths --format json capture.pcapng | jq '.flows'

Exit codes: 0 ok, 1 unreadable or malformed input (file:line: reason), 2 usage, 3 a capture ended
in damage (the table of the frames before it is printed).`;

export function createCommands(ctx: CliContext): Command[] {
  const cmd = new Command('paths')
    .summary('IOAM path table (per-flow paths, counts, changes) from traces or captures')
    .description('Per-flow IOAM path table from simulated traces (JSON Lines or Parquet) or pcap/pcapng captures')
    .argument('<files...>', 'traces-<node>.jsonl or .parquet files, or pcap/pcapng captures')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--topology <file>', 'name nodes by the ioam6_id of this topology\'s nodes')
    .addOption(new Option('--clt <layout>', 'trace layout of captures').choices(['standard', 'legacy']).default('standard'))
    .addHelpText('after', HELP)
    .action(async (files: string[], o: { format: 'table' | 'json'; topology?: string; clt: 'standard' | 'legacy' }) => {
      const fs = await import('node:fs');
      const { PathTable, formatPathTable } = await import('../../../sim/paths/table');
      const { addTraceJsonl, addTraceParquet, addCapture, isCapture, isParquet } = await import('../../../sim/paths/sources');
      const names = new Map<number, string>();
      if (o.topology) {
        const { loadTopology } = await import('../../../sim/topology');
        const t = loadTopology(o.topology);
        t.input.nodes.forEach((n, i) => {
          const id = Number(t.rawIoam[i]?.['ioam6_id'] ?? NaN);
          if (Number.isFinite(id)) names.set(id, n.name);
        });
      }
      const table = new PathTable();
      const sources: Record<string, unknown>[] = [];
      let partial: string | undefined;
      for (const f of files) {
        let head: Buffer;
        try {
          const fd = fs.openSync(f, 'r');
          head = Buffer.alloc(4);
          fs.readSync(fd, head, 0, 4, 0);
          fs.closeSync(fd);
        } catch (e) {
          throw new InputError(`${f}: cannot read: ${(e as Error).message}`);
        }
        if (isParquet(head)) {
          let n: number;
          try {
            n = await addTraceParquet(table, fs.readFileSync(f), f);
          } catch (e) {
            throw new InputError((e as Error).message, { cause: e });
          }
          sources.push({ file: f, kind: 'traces', records: n });
        } else if (isCapture(head)) {
          const scan = await addCapture(table, f, o.clt);
          sources.push({ file: f, kind: 'capture', ...scan });
          if (scan.error) partial ??= `${f}: ${scan.error}`;
        } else {
          let n: number;
          try {
            n = addTraceJsonl(table, fs.readFileSync(f, 'utf8'), f);
          } catch (e) {
            throw new InputError((e as Error).message, { cause: e });
          }
          sources.push({ file: f, kind: 'traces', records: n });
        }
      }
      const json = table.toJSON((id) => names.get(id) ?? String(id));
      if (o.format === 'json') ctx.stdout.write(JSON.stringify({ sources, flows: json }, null, 2) + '\n');
      else ctx.stdout.write((table.size ? formatPathTable(json) : 'no IOAM traces found') + '\n');
      if (partial) throw new PartialError(`${partial}; the table holds the frames before it`);
    });
  return [cmd];
}
