/**
 * `ioamsim demo`: the Cross-Layer Telemetry demo (sim/clt/demo.ts). A traced request is slow: the
 * demo runs frontend → api → db over a network with one congested link, carries every span's
 * trace/span IDs in the packets' IOAM data, joins every hop's telemetry to the spans, and prints
 * which contributor (service or network hop) made the slow requests slow.
 */
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { UsageError } from '../errors';
import { checkEndpoint, exportFailure, exportReport, parseEpoch } from '../otlp';

const HELP = `
Writes to --out (default ./ioamsim-demo/):
  report.html        self-contained report: conclusion, waterfall of app spans with their network
                     hops, per-link hop delay and queue depth plots
  report.txt         the same as text (also printed)
  spans.otlp.jsonl   OpenTelemetry spans, OTLP JSON, one ExportTraceServiceRequest per line
  capture.pcapng     every traced packet as delivered (IOAM trace with the IDs)
  summary.json       the conclusion and per-contributor numbers

Examples:
  $ ioamsim demo
  $ ioamsim demo --encoding legacy --out /tmp/clt
  $ ioamsim demo --ids socket          # IDs stuck to the connection: see what gets mis-attributed
  $ ioamsim demo --otlp-endpoint http://127.0.0.1:4318 --epoch now
                                       # also POST the spans (OTLP/HTTP JSON), dated now so that a
                                       # tracing UI's default search (last hour) finds them

Span times start at --epoch (default 2026-01-01T00:00:00Z: the same files for the same seed).
An OTLP export that fails prints one line naming the endpoint and the reason: exit 1 for a bad URL,
4 when the receiver cannot be reached or refuses the spans (429/502/503/504 and connection failures
are retried with backoff first, honouring Retry-After).
`;

export function createCommands(ctx: CliContext): Command[] {
  const cmd = new Command('demo')
    .summary('run the Cross-Layer Telemetry demo and name the slowest contributor')
    .description('frontend → api → db with one congested link: OpenTelemetry spans joined with per-hop IOAM telemetry')
    .option('--out <dir>', 'output directory', 'ioamsim-demo')
    .option('--seed <n>', 'seed of the run', '7')
    .addOption(new Option('--encoding <enc>', 'how packets carry the IDs: oss (RFC 9197 Opaque State Snapshot) or legacy (CLT kernel patch layout)').choices(['oss', 'legacy']).default('oss'))
    .addOption(new Option('--ids <mode>', 'IDs set per request, or stuck to the socket (original CLT kernel behaviour)').choices(['request', 'socket']).default('request'))
    .option('--rate <rps>', 'requests per second at the frontend', '80')
    .option('--duration <ms>', 'milliseconds during which requests arrive', '600')
    .option('--congestion <x>', 'cross traffic on r2→r3 as a multiple of its capacity (0 = none)', '1.08')
    .option('--otlp-endpoint <url>', 'also export the spans by OTLP/HTTP JSON to URL (POST URL/v1/traces)')
    .option('--epoch <time>', 'wall-clock time of the start of the run: ISO time or now', '2026-01-01T00:00:00Z')
    .addHelpText('after', HELP)
    .action(async (o: { out: string; seed: string; encoding: 'oss' | 'legacy'; ids: 'request' | 'socket'; rate: string; duration: string; congestion: string; otlpEndpoint?: string; epoch: string }) => {
      if (!/^[0-9]+$/.test(o.seed)) throw new UsageError(`--seed: expected a non-negative integer, got ${o.seed}`);
      const num = (name: string, v: string, min: number, max: number): number => {
        const x = Number(v);
        if (!Number.isFinite(x) || x < min || x > max) throw new UsageError(`${name}: expected a number in [${min}, ${max}], got ${v}`);
        return x;
      };
      const epochMs = parseEpoch(o.epoch);
      if (o.otlpEndpoint !== undefined) await checkEndpoint(o.otlpEndpoint);
      const { runDemo } = await import('../../../sim/clt/demo');
      const r = await runDemo({ epochMs,
        seed: BigInt(o.seed), encoding: o.encoding, idMode: o.ids,
        rate: num('--rate', o.rate, 1, 10_000), durationMs: num('--duration', o.duration, 10, 60_000),
        congestion: num('--congestion', o.congestion, 0, 10), out: o.out, otlpEndpoint: o.otlpEndpoint,
      }).catch((e: unknown) => {
        throw exportFailure(e);
      });
      ctx.stdout.write(r.text);
      ctx.stdout.write(`\nWrote ${r.files.join(', ')}\n${r.conclusion}\n`);
      if (r.otlp) ctx.stdout.write(exportReport(r.otlp));
    });
  return [cmd];
}
