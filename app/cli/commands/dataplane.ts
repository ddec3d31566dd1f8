/**
 * `ioamsim encap|transit|decap --node NODE.yaml IN OUT`: one IOAM node applied to every packet of
 * a capture, in batches (one native call per batch), written to a pcapng file. Dropped packets are
 * left out of the output and counted; a per-reason summary goes to stderr.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { NodeConfig } from '../../../src/config';
import type { Node as IoamNode } from '../../../src/node';
import { IF_NONE, META_F_NO_TSTAMP, UNAVAILABLE, type PacketBatch as Batch } from '../../../src/batch';
import { readCapture, createPcapngFile, CaptureError, FileSink, writesInPlace, ETHERTYPE_IPV6, type CaptureRecord, type PcapngWriter } from '../../../src/capture';
import type { CliContext } from '../context';
import { InputError, PartialError, UsageError } from '../errors';
import { epochText, intOption } from '../util';

export type Operation = 'encap' | 'transit' | 'decap';


const ROLE: Record<Operation, string> = {
  encap: 'an encapsulating node (inserts the IOAM Hop-by-Hop option configured under `encap:`)',
  transit: 'a transit node (fills its node data into pre-allocated traces, Linux ipv6_hop_ioam)',
  decap: 'a decapsulating node (fills its data, then removes the IOAM option / outer header)',
};

const EXAMPLES: Record<Operation, string> = {
  transit: `
  $ ioamsim transit --node examples/nodes/r1.yaml --ingress r1-h1 --egress r1-r2 \\
      test/fixtures/linux-6.18/a_full_trace.h1.pcap after-r1.pcapng
  $ ioamsim decode after-r1.pcapng            # r1's node data is in the trace
  $ ioamsim transit --node examples/nodes/h2.yaml --ingress h2-r2 --egress local in.pcap out.pcapng`,
  encap: `
  $ ioamsim encap --node examples/nodes/h1-encap.yaml --egress h1-r1 \\
      test/fixtures/linux-6.18/o_no_ioam_baseline.h1.pcap with-ioam.pcapng`,
  decap: `
  $ ioamsim decap --node examples/nodes/h2.yaml --ingress h2-r2 --traces traces.jsonl \\
      test/fixtures/linux-6.18/a_full_trace.pcap stripped.pcapng`,
};

function helpText(op: Operation): string {
  return `
Runs ${ROLE[op]}
on every packet of IN (pcap or pcapng; Ethernet, raw IP, Linux SLL/SLL2) and writes the packets
that pass to OUT as pcapng (raw IPv6, nanosecond timestamps, one interface
named <node>:<egress>). Each output packet keeps its capture timestamp, which is also the time
the node writes into IOAM timestamp fields; each packet carries a
comment "<op> <node>: <reason>" (--no-comments: none). Dropped packets are left out; non-IPv6 frames are skipped. Both
are counted in the per-reason summary on stderr. OUT is written as OUT.partial and renamed when
complete.${op === 'transit' ? `
With an egress interface, transit then forwards like Linux ip6_forward: the hop limit is
decremented, and a packet arriving with hop limit <= 1 is dropped (drop-hop-limit) after the IOAM
fill; --no-forward keeps the packet as the IOAM processing left it.` : ''}

Interfaces (--ingress / --egress) are names from the node file's interfaces list, their index
(0, 1, ...), or "local" (ingress: locally generated; egress: local delivery, Linux's loopback).

Examples:${EXAMPLES[op]}

Exit codes: 0 ok (drops are not errors), 1 bad input or node file, 2 usage (unknown interface,
missing option), 3 input truncated (packets before the damage were processed and written).`;
}

interface Opts {
  node: string;
  ingress?: string;
  egress?: string;
  batch: number;
  queueDepth: string;
  comments: boolean;
  quiet: boolean;
  forward: boolean;
  traces?: string;
  cltIds?: string;
}

/** `--clt-ids TRACE:SPAN` (32 + 16 hex digits) → the 24 bytes the batch ABI takes per packet. */
export function parseCltIds(v: string): Uint8Array {
  const m = /^(?:0x)?([0-9a-f]{32}):(?:0x)?([0-9a-f]{16})$/i.exec(v.trim());
  if (!m) throw new UsageError(`--clt-ids must be TRACE_ID:SPAN_ID in hex (32 and 16 digits, as OpenTelemetry prints them), got ${JSON.stringify(v)}`);
  return Uint8Array.from(Buffer.from(m[1]! + m[2]!, 'hex'));
}

/** Interface option → index in the node's interfaces, or IF_NONE for "local". */
export function resolveInterface(cfg: NodeConfig, value: string, option: string): number {
  if (value === 'local') return IF_NONE;
  const byName = cfg.interfaces.findIndex((i) => i.name === value);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(value) && Number(value) < cfg.interfaces.length) return Number(value);
  const names = cfg.interfaces.map((i, k) => `${k}=${i.name}`).join(', ') || 'no interfaces';
  throw new UsageError(`${option} ${JSON.stringify(value)}: node ${cfg.name} has no such interface (it has ${names}; or use "local")`);
}

function ifName(cfg: NodeConfig, idx: number): string {
  return idx === IF_NONE ? 'local' : cfg.interfaces[idx]!.name;
}

/** Counters for the summary. */
class Summary {
  read = 0;
  written = 0;
  dropped = 0;
  skipped = 0;
  readonly reasons = new Map<string, number>();
  count(reason: string): void {
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }
  lines(header: string): string {
    const out = [`${header}: ${this.read} packet${this.read === 1 ? '' : 's'} read, ${this.written} written, ${this.dropped} dropped, ${this.skipped} skipped`];
    const w = Math.max(0, ...[...this.reasons.keys()].map((k) => k.length));
    for (const [k, v] of [...this.reasons].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) out.push(`  ${k.padEnd(w)}  ${v}`);
    return out.join('\n') + '\n';
  }
}

/** The largest timestamp a pcapng Enhanced Packet Block holds (64 bits of ns, as written). */
const MAX_PCAPNG_NS = (1n << 64n) - 1n;

/** Default slot: large enough for jumbo frames plus inserted headers; bigger packets get their own batch. */
const SLOT_SIZE = 10240;
const HEADROOM = 1024;

async function runOperation(op: Operation, input: string, output: string, o: Opts, ctx: CliContext): Promise<void> {
  // Heavy modules (native addon) only now.
  const { loadNodeFile } = await import('../../../src/config');
  const { Node } = await import('../../../src/node');
  const { PacketBatch } = await import('../../../src/batch');
  const { reasonString } = await import('../../../src/reasons');

  const cfg = loadNodeFile(o.node);
  const needIngress = op !== 'encap';
  const needEgress = op !== 'decap';
  if (needIngress && o.ingress === undefined) throw new UsageError(`${op} needs --ingress (the interface packets arrive on: ${cfg.interfaces.map((i) => i.name).join(', ') || 'none'}, or "local")`);
  if (needEgress && o.egress === undefined) throw new UsageError(`${op} needs --egress (the interface packets leave on: ${cfg.interfaces.map((i) => i.name).join(', ') || 'none'}, or "local" for local delivery)`);
  const ingressIf = resolveInterface(cfg, o.ingress ?? 'local', '--ingress');
  const egressIf = resolveInterface(cfg, o.egress ?? 'local', '--egress');
  const clt = o.cltIds === undefined ? undefined : parseCltIds(o.cltIds);
  if (clt && op !== 'encap') throw new UsageError('--clt-ids only applies to encap');
  if (o.traces !== undefined && op !== 'decap') throw new UsageError('--traces only applies to decap (the Hop-by-Hop headers it removes)');
  if (o.traces !== undefined && samePath(o.traces, output)) throw new UsageError(`--traces ${o.traces} is the output capture too: give the traces another file`);
  if (op === 'encap' && !cfg.encap) throw new InputError(`${o.node}: node ${cfg.name} has no encap: section, so it cannot encapsulate`);
  // Digits only: Number('') is 0 and Number('1e3') 1000, neither a byte count as written.
  const queueDepth = o.queueDepth === 'unavailable' ? UNAVAILABLE : /^\d+$/.test(o.queueDepth) ? Number(o.queueDepth) : NaN;
  if (!Number.isInteger(queueDepth) || queueDepth < 0 || queueDepth > UNAVAILABLE) throw new UsageError(`--queue-depth must be a byte count or "unavailable", got ${JSON.stringify(o.queueDepth)}`);

  const node: IoamNode = new Node(cfg);
  const apply = (b: Batch) => (op === 'transit' ? node.transit(b) : op === 'encap' ? node.encap(b) : node.decap(b));
  const summary = new Summary();
  const label = `${op} ${cfg.name}`;
  const header = `ioamsim ${label} (ingress ${ifName(cfg, ingressIf)}, egress ${ifName(cfg, egressIf)})`;

  let writer: PcapngWriter;
  try {
    writer = createPcapngFile(output, { interfaces: [{ name: `${cfg.name}:${ifName(cfg, egressIf)}`, description: `ioamsim ${label}` }] });
  } catch (e) {
    throw new InputError(e instanceof Error ? e.message : String(e));
  }

  // decap --traces: the removed Hop-by-Hop headers (after this node's own fill), one JSON line
  // each, streamed to <file>.partial and renamed at the end like the capture.
  let traces: FileSink | null = null;
  if (o.traces !== undefined && op === 'decap') {
    try {
      traces = new FileSink(o.traces);
    } catch (e) {
      writer.abort();
      throw new InputError(e instanceof Error ? e.message : String(e));
    }
  }
  const batch = new PacketBatch({ capacity: o.batch, slotSize: SLOT_SIZE, headroom: HEADROOM });
  const pending: CaptureRecord[] = [];

  // A transit router then forwards: Linux ip6_forward drops at hop limit <= 1 (ICMPv6 Time
  // Exceeded) and decrements it, after the IOAM fill of ipv6_hop_ioam.
  const forwarding = op === 'transit' && o.forward && egressIf !== IF_NONE;

  const flushBatch = (b: Batch, recs: CaptureRecord[]) => {
    if (recs.length === 0) return;
    apply(b);
    for (let i = 0; i < recs.length; i++) {
      const out = b.outcome(i);
      let reason = reasonString(out.reason);
      let drop = out.verdict !== 0;
      const pkt = b.packet(i);
      if (!drop && forwarding) {
        if (pkt[7]! <= 1) {
          reason = `drop-hop-limit (after ${reason})`;
          drop = true;
        } else pkt[7]!--;
      }
      summary.count(reason);
      if (traces) {
        const ts = recs[i]!.timestampNs;
        traces.write(Buffer.from(JSON.stringify({ frame: recs[i]!.frame, timeNs: ts === null ? null : ts.toString(), reason, hbh: Buffer.from(b.trace(i)).toString('hex') }) + '\n'));
      }
      if (drop) {
        summary.dropped++;
        if (ctx.debug) ctx.stderr.write(`frame ${recs[i]!.frame}: ${reason} at offset ${out.offset}\n`);
        continue;
      }
      writer.write({
        timestampNs: recs[i]!.timestampNs ?? 0n,
        bytes: pkt,
        comment: o.comments ? `${label}: ${reason}` : undefined,
      });
      summary.written++;
    }
    b.reset();
    recs.length = 0;
  };

  const metaOf = (r: CaptureRecord) => {
    const ts = r.timestampNs;
    return {
      ingressIf,
      egressIf,
      tsSec: ts === null ? 0 : Number((ts / 1_000_000_000n) & 0xffffffffn), // u32 seconds, as Linux truncates
      tsNsec: ts === null ? 0 : Number(ts % 1_000_000_000n),
      queueDepth,
      flags: ts === null ? META_F_NO_TSTAMP : 0,
    };
  };

  try {
    for await (const recs of readCapture(input).batches()) {
      for (const r of recs) {
        summary.read++;
        if (r.network === null || r.ethertype !== ETHERTYPE_IPV6) {
          summary.skipped++;
          summary.count('skipped-not-ipv6');
          continue;
        }
        const ts = r.timestampNs;
        if (ts !== null && (ts < 0n || ts > MAX_PCAPNG_NS)) {
          throw new InputError(`${input}: frame ${r.frame}: timestamp ${epochText(ts)} s since 1970 (its interface's if_tsoffset/if_tsresol put it there) is outside what the output pcapng can hold (0 to 2^64 - 1 ns): nothing written`);
        }
        if (r.network.length > SLOT_SIZE - HEADROOM) {
          // A giant packet: its own batch, sized for it.
          flushBatch(batch, pending);
          const big = new PacketBatch({ capacity: 1, slotSize: r.network.length + 2 * HEADROOM, headroom: HEADROOM });
          big.push(r.network, metaOf(r), clt);
          flushBatch(big, [r]);
          continue;
        }
        batch.push(r.network, metaOf(r), clt);
        pending.push(r);
        if (batch.length === batch.capacity) flushBatch(batch, pending);
      }
    }
    flushBatch(batch, pending);
  } catch (e) {
    if (e instanceof CaptureError && e.code !== 'ERR_CAPTURE_IO' && e.packetsBefore > 0) {
      try {
        flushBatch(batch, pending);
      } catch (e2) {
        writer.abort();
        traces?.abort();
        throw e2;
      }
      finishBoth(writer, output, traces);
      if (!o.quiet) ctx.stderr.write(summary.lines(header));
      throw new PartialError(`${e.message}; ${e.packetsBefore === 1 ? 'the packet' : `the ${e.packetsBefore} packets`} before it ${e.packetsBefore === 1 ? 'was' : 'were'} processed and written to ${output}`, { cause: e });
    }
    writer.abort();
    traces?.abort();
    throw e;
  }
  finishBoth(writer, output, traces);
  if (!o.quiet) ctx.stderr.write(summary.lines(header));
}

/**
 * Completes the output capture and the traces file as one: when either cannot be written (a
 * full disk on the last write, a failed rename), neither is left (a capture renamed already is
 * removed again), so no file looks like a complete result of a run that failed.
 */
function finishBoth(writer: PcapngWriter, output: string, traces: FileSink | null): void {
  let renamed = false;
  try {
    writer.finish();
    renamed = !writesInPlace(output);
    traces?.finish();
  } catch (e) {
    writer.abort();
    traces?.abort();
    if (renamed) rmSync(output, { force: true });
    throw e;
  }
}

/** Whether two paths name the same file (resolved; devices and FIFOs never count: written in place). */
function samePath(a: string, b: string): boolean {
  return !writesInPlace(a) && resolve(a) === resolve(b);
}

function operationCommand(op: Operation, ctx: CliContext): Command {
  const summaries: Record<Operation, string> = {
    encap: 'insert IOAM (encapsulating node) into every packet of a capture',
    transit: 'run a transit node (fill its IOAM node data) over every packet of a capture',
    decap: 'run a decapsulating node (fill, then remove IOAM) over every packet of a capture',
  };
  return new Command(op)
    .summary(summaries[op])
    .description(`Apply ${ROLE[op]} to every packet of a capture`)
    .argument('<in>', 'input capture (pcap or pcapng)')
    .argument('<out>', 'output pcapng (written as <out>.partial, renamed when complete; a device or FIFO such as /dev/stdout is written in place)')
    .requiredOption('-n, --node <file>', 'node file (YAML, docs/DESIGN.md "Node file")')
    .option('-i, --ingress <if>', `interface packets arrive on (name, index or "local")${op === 'encap' ? '; default local (locally generated)' : ''}`)
    .option('-e, --egress <if>', `interface packets leave on (name, index or "local" = local delivery)${op === 'decap' ? '; default local' : ''}`)
    .option('--queue-depth <bytes>', 'egress queue backlog written for the queue-depth field, or "unavailable"', '0')
    .option('--batch <n>', 'packets per native call', intOption('--batch', 1, 65536), 256)
    .option('--no-comments', 'do not add a per-packet comment with the outcome')
    .option('--no-forward', op === 'transit' ? 'do not forward: keep the hop limit (by default a transit node with an egress interface decrements it and drops at <= 1, as Linux ip6_forward)' : 'no effect (only transit forwards)')
    .option('-q, --quiet', 'no summary on stderr')
    .option('--clt-ids <trace:span>', op === 'encap' ? 'CLT trace ID and span ID (hex, 32:16 digits) for every packet, used when the node file sets encap.clt_legacy' : 'encap only')
    .option('--traces <file>', op === 'decap' ? 'write the removed Hop-by-Hop headers (hex, after this node\'s fill) as JSON Lines {frame, timeNs, reason, hbh}' : 'decap only')
    .addHelpText('after', helpText(op))
    .action(async (input: string, output: string, opts: Opts) => {
      await runOperation(op, input, output, opts, ctx);
    });
}

export function createCommands(ctx: CliContext): Command[] {
  return (['encap', 'transit', 'decap'] as const).map((op) => operationCommand(op, ctx));
}
