/**
 * `ioamsim kernel-check [--cases captures] [--random N --seed S] [--json]`: the live Linux-kernel
 * differential check (docs/FIDELITY.md). Needs root and a kernel with IPv6 IOAM.
 */
import { Command } from 'commander';
import type { CliContext } from '../cli/context';
import { CliError, EXIT, UsageError } from '../cli/errors';

const HELP = `
Builds a chain of network namespaces h1 — r1..rN — h2 joined by veth pairs (names
ioamsim-<pid>-<n>-<node>, removed afterwards, also on Ctrl-C), configures the Linux routers and h2
from node configs (sysctls ioam6_id/_wide, per-interface ioam6_enabled/_id/_id_wide,
\`ip ioam namespace/schema\`), injects packets at h1 through AF_PACKET and captures them at every
hop, at h2's UDP socket and back at h1 (ICMPv6), then compares every byte:

  --cases captures   the 32 recorded cases (test/fixtures/linux-6.18 of the package, or
                     $IOAMSIM_CAPTURES) against their recordings
  --cases clt        both Cross-Layer Telemetry encodings (legacy block, OSS schema 0xC17D)
                     through unmodified kernel routers r1..r4 and h2, against our dataplane,
                     with what each hop leaves of the trace/span IDs (docs/FIDELITY.md)
  --random N         N random configurations/packets (seeded: --seed S) against what our
                     Linux-profile dataplane predicts hop by hop

Timestamps are checked to lie within the probe's time window; everything else must be equal.
Exit codes: 0 full agreement, 1 disagreement, 2 usage, 4 environment (not root, no IOAM).

Examples:
  # ioamsim kernel-check --cases captures
  # ioamsim kernel-check --cases captures,clt
  # ioamsim kernel-check --random 200 --seed 1 --json > report.json`;

export function createCommands(ctx: CliContext): Command[] {
  const cmd = new Command('kernel-check')
    .summary('differential check against the live Linux kernel in network namespaces (root)')
    .description('Compare the live Linux IOAM transit path with the captures and with our dataplane')
    .option('--cases <sets>', 'case sets to run, comma-separated: captures, clt')
    .option('--random <n>', 'number of random cases')
    .option('--seed <s>', 'seed of the random cases', '1')
    .option('--json', 'print the full report as JSON on stdout')
    .addHelpText('after', HELP)
    .action(async (opts: { cases?: string; random?: string; seed: string; json?: boolean }) => {
      const n = opts.random === undefined ? undefined : Number(opts.random);
      const seed = Number(opts.seed);
      if (n !== undefined && (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000)) throw new UsageError(`--random must be an integer in 1..1000000, got ${opts.random}`);
      if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError(`--seed must be an integer in 0..4294967295, got ${opts.seed}`);
      const sets = (opts.cases ?? '').split(',').map((x) => x.trim()).filter(Boolean);
      for (const s of sets) if (s !== 'captures' && s !== 'clt') throw new UsageError(`--cases takes captures and/or clt (comma-separated), got ${JSON.stringify(s)}`);
      const captures = sets.includes('captures') || (n === undefined && sets.length === 0);
      const clt = sets.includes('clt');
      const { kernelCheckUnavailable, runKernelCheck, formatReport } = await import('./check');
      const why = kernelCheckUnavailable();
      if (why) throw new CliError(why, EXIT.INTERNAL);
      const report = runKernelCheck({ captures, clt, random: n === undefined ? undefined : { n, seed }, onProgress: ctx.debug ? (w) => ctx.stderr.write(`${w}\n`) : undefined });
      if (opts.json) ctx.stdout.write(JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
      ctx.stderr.write(formatReport(report) + '\n');
      if (!report.ok) throw new CliError('the kernel and the expectation disagree (details above)', EXIT.INPUT);
    });
  return [cmd];
}
