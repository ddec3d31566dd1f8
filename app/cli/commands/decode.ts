/**
 * `ioamsim decode FILE`: every packet of a pcap/pcapng capture through the core's decoder, as
 * JSON Lines (one object per frame, schema in docs/CLI.md) or a human table.
 */
import { Command, Option } from 'commander';
import { readCapture, readCaptureFileBytes, type CaptureRecord, CaptureError, ETHERTYPE_IPV6, linktypeName } from '../../../src/capture';
import type { CliContext } from '../context';
import { InputError, PartialError } from '../errors';
import { BufferedWriter, epochText, hex16, isoNs } from '../util';

const HELP = `
Reads a pcap or pcapng file (Ethernet, raw IP, Linux cooked SLL/SLL2 link types) and decodes the
IPv6 packet of every frame: the IPv6 header, extension headers, every IOAM option (Pre-allocated /
Incremental trace with every node's fields, POT, E2E, DEX), flags, and with --clt legacy the CLT
trace/span IDs.

Output (--format jsonl, the default): one JSON object per frame on stdout, for example
  {"frame":1,"timeNs":"1795721275589874000","time":"2026-11-26T...Z","interface":0,
   "interfaceName":null,"linktype":1,"caplen":330,"origlen":330,"ethertype":"0x86dd",
   "networkOffset":14,"comments":[],"packet":{ ...the core's decode result... }}
Frames that are not IPv6 get "packet":null and a "note"; bytes the decoder rejects get
"packet":null and an "error" {code, layer, offset, message}. Schema: docs/CLI.md.

Examples:
  $ ioamsim decode test/fixtures/linux-6.18/a_full_trace.r2in.pcap
  $ ioamsim decode --format table test/fixtures/linux-6.18/a_full_trace.pcap
  $ ioamsim decode capture.pcapng | jq -c '.packet'
  $ ioamsim decode --clt legacy clt-capture.pcapng
  $ ioamsim decode --otlp ioamsim-demo/capture.pcapng     # CLT network spans, OTLP JSON Lines

Exit codes: 0 ok, 1 unreadable/corrupt capture, 2 usage, 3 capture truncated (frames before the
damage are printed first).`;

/** The frame fields of one output object (docs/CLI.md "decode"); `packet` is spliced in after. */
export function frameHeader(r: CaptureRecord): Record<string, unknown> {
  return {
    frame: r.frame,
    timeNs: r.timestampNs === null ? null : r.timestampNs.toString(),
    time: r.timestampNs === null ? null : isoNs(r.timestampNs),
    interface: r.interface,
    interfaceName: r.interfaceName,
    linktype: r.linktype,
    caplen: r.caplen,
    origlen: r.origlen,
    ethertype: hex16(r.ethertype),
    networkOffset: r.networkOffset,
    comments: r.comments,
  };
}

function note(r: CaptureRecord): string | null {
  if (r.network === null) return `no network layer found (${linktypeName(r.linktype)} frame of ${r.caplen} bytes)`;
  if (r.ethertype !== ETHERTYPE_IPV6) return `not IPv6 (ethertype ${hex16(r.ethertype)})`;
  return null; // a truncated IPv6 packet (caplen < origlen) is decoded: the decoder says what is missing
}

interface DecodeErrorJson {
  code: string;
  layer: string;
  offset: number;
  message: string;
}

function errorJson(e: unknown): DecodeErrorJson | null {
  const x = e as { name?: string; code?: string; layer?: string; offset?: number; message?: string };
  // layer "native" = the binding itself failed (not built, a bug): not a per-packet outcome.
  if (x && x.name === 'IoamError' && typeof x.code === 'string' && x.layer !== 'native') {
    return { code: x.code, layer: String(x.layer), offset: Number(x.offset), message: String(x.message) };
  }
  return null;
}

export function createCommands(ctx: CliContext): Command[] {
  const cmd = new Command('decode')
    .summary('decode the IPv6/IOAM packets of a capture (JSON Lines or table)')
    .description('Decode every IPv6 packet of a pcap/pcapng capture with the core decoder')
    .argument('<file>', 'pcap or pcapng capture')
    .addOption(new Option('--clt <layout>', 'trace layout: standard (RFC 9197) or legacy (CLT trace/span ID block)').choices(['standard', 'legacy']).default('standard'))
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'table']).default('jsonl'))
    .option('--otlp', 'instead: CLT network spans (one per trace ID, span ID and flow, per-hop children) as OTLP JSON Lines (docs/CLT.md); says on stderr why when none comes out')
    .addHelpText('after', HELP)
    .action(async (file: string, opts: { clt: 'standard' | 'legacy'; format: 'jsonl' | 'table'; otlp?: boolean }) => {
      if (opts.otlp) {
        const { networkSpansFromCapture } = await import('../../../sim/clt/offline');
        const r = await networkSpansFromCapture(await readCaptureFileBytes(file), { layout: opts.clt === 'legacy' ? 'clt-legacy' : 'rfc', file });
        // Not a capture at all (nothing read before the problem): an input error, as without --otlp.
        if (r.captureError !== null && r.captureErrorAfter === 0) throw new InputError(r.captureError);
        ctx.stdout.write(r.jsonl);
        if (r.netSpans.length === 0) ctx.stderr.write(`decode --otlp: ${file}: no network span: ${noSpanReason(r, opts.clt)}\n`);
        if (r.captureError) throw new PartialError(`${r.captureError}; the network spans of the packets before it were written`);
        return;
      }
      // Loaded here, not at the top: `--help` must not need the native addon.
      const { decodeJson } = await import('../../../src/decode');
      const out = new BufferedWriter(ctx.stdout);
      const reader = readCapture(file);
      try {
        for await (const batch of reader.batches()) {
          for (const r of batch) {
            const head = frameHeader(r);
            const why = note(r);
            let packetJson: string | null = null;
            let error: DecodeErrorJson | null = null;
            if (why === null) {
              try {
                packetJson = decodeJson(r.network!, { clt: opts.clt });
              } catch (e) {
                error = errorJson(e);
                if (!error) throw e;
              }
            }
            if (opts.format === 'jsonl') {
              const base = JSON.stringify(head).slice(0, -1);
              const tail = why !== null ? `,"packet":null,"note":${JSON.stringify(why)}}` : error ? `,"packet":null,"error":${JSON.stringify(error)}}` : `,"packet":${packetJson}}`;
              await out.write(base + tail + '\n');
            } else {
              await out.write(renderTable(r, why, error, packetJson));
            }
          }
        }
      } catch (e) {
        await out.flush();
        if (e instanceof CaptureError && e.code !== 'ERR_CAPTURE_IO' && e.packetsBefore > 0) {
          throw new PartialError(`${e.message}; ${e.packetsBefore === 1 ? 'the frame before it was' : `the ${e.packetsBefore} frames before it were`} decoded`, { cause: e });
        }
        throw e;
      }
      await out.flush();
    });
  return [cmd];
}

/** Why a capture gave no CLT network span, with the counts that show it. */
export function noSpanReason(r: { packets: number; traced: number; untagged: number; malformed: number }, clt: 'standard' | 'legacy'): string {
  const read = `read ${r.packets} IPv6 packet${r.packets === 1 ? '' : 's'}`;
  if (r.packets === 0) return `${read} (no IPv6 frame in the capture)`;
  if (r.traced === 0) return `${read}, none with an IOAM Pre-allocated trace option`;
  const other = clt === 'legacy' ? 'standard' : 'legacy';
  const layout = clt === 'legacy' ? 'the legacy CLT block (--clt legacy)' : 'a CLT Opaque State Snapshot (schema 0x00C17D, --clt standard)';
  return `${read}, ${r.traced} with an IOAM trace, ${r.untagged} of them without CLT trace/span IDs in ${layout}`
    + `${r.malformed ? `, ${r.malformed} malformed for this layout` : ''}; if the IDs travel the other way, try --clt ${other}`;
}

// ---- table ----------------------------------------------------------------------------------

export function renderTable(r: CaptureRecord, why: string | null, error: DecodeErrorJson | null, packetJson: string | null): string {
  const t = r.timestampNs === null ? 'no timestamp' : `${isoNs(r.timestampNs)} (${epochText(r.timestampNs)})`;
  const lines = [`#${r.frame}  ${t}  ${r.caplen}/${r.origlen} B  ${linktypeName(r.linktype)}${r.interfaceName ? ` ${r.interfaceName}` : ''}`];
  for (const c of r.comments) lines.push(`    comment: ${c}`);
  if (why !== null) lines.push(`    ${why}`);
  else if (error) {
    // The core's message already starts with "<code> in <layer> at offset <n>: ".
    const head = `${error.code} in ${error.layer} at offset ${error.offset}: `;
    lines.push(`    ${error.message.startsWith(head) ? error.message : head + error.message}`);
    if (r.caplen < r.origlen) lines.push(`    (the capture holds ${r.caplen} of the frame's ${r.origlen} bytes: its snap length cut the packet, and the decoder needs it whole)`);
  } else renderValue(JSON.parse(packetJson!), '    ', lines);
  return lines.join('\n') + '\n\n';
}

function scalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

function fmt(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Generic indented rendering: scalar fields of an object on one line, nested values below. */
function renderValue(v: unknown, indent: string, lines: string[]): void {
  if (Array.isArray(v)) {
    if (v.every(scalar)) {
      lines.push(`${indent}[${v.map(fmt).join(', ')}]`);
      return;
    }
    v.forEach((x, i) => {
      if (scalar(x)) lines.push(`${indent}[${i}] ${fmt(x)}`);
      else {
        lines.push(`${indent}[${i}]`);
        renderValue(x, indent + '  ', lines);
      }
    });
    return;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    const flat = entries.filter(([, x]) => scalar(x) || (Array.isArray(x) && x.every(scalar) && x.length <= 8));
    if (flat.length) lines.push(indent + flat.map(([k, x]) => `${k}=${Array.isArray(x) ? `[${x.map(fmt).join(',')}]` : fmt(x)}`).join('  '));
    for (const [k, x] of entries) {
      if (flat.some(([fk]) => fk === k)) continue;
      lines.push(`${indent}${k}:`);
      renderValue(x, indent + '  ', lines);
    }
    return;
  }
  lines.push(indent + fmt(v));
}
