/**
 * `ioamsim testbed TOPOLOGY [--seed N] [--duration T] [--json]`: the simulator's topology on Linux
 * network namespaces with the kernel as transit/receiving nodes, compared with the simulation
 * packet by packet (app/kernel/testbed.ts, docs/FIDELITY.md "Testbed"). Needs root.
 * @module
 */
import { Command } from 'commander';
import type { CliContext } from '../cli/context';
import { CliError, EXIT, UsageError } from '../cli/errors';

const HELP = `
Simulates TOPOLOGY (docs/SIMULATOR.md) as \`ioamsim run\` does, then builds it on network
namespaces (one per node, veth pairs named as the topology's interfaces, the simulator's routes
as host routes, each node's IOAM sysctls, namespaces and schemas) and replays every simulated
packet on the kernel, one at a time: the bytes the encapsulating node (our user-space encap) or
the originating node put on its link are injected there (AF_PACKET), and what every later hop
receives and the destination's UDP socket sees (Hop-by-Hop header after its own fill) is compared
with the simulation: every byte, except timestamps written by the kernel (must lie in the probe
window) and queue depth where the simulated queue was not empty (veth has no queue); the same
packets must arrive, be delivered or be dropped.

IPv6-in-IPv6 (mode encap): the tunnel endpoint decapsulates with a seg6local End.DX6 route (no
ip6tnl in this kernel); its own IOAM element leaves with the outer header and is not observed.
TCP packets: delivery is read from the destination's Ip6InDelivers (no socket view of its fill).

Not mapped (refused with the reason): mode auto, the decap role on a node that forwards inline
packets, traffic to a tunnel endpoint, profile rfc, CLT-patched namespaces, schema data ip(8)
cannot take, interface names > 15 chars.

Exit codes: 0 agreement, 1 disagreement or a topology the testbed cannot map (bad topology file:
file:line: path: reason), 2 usage, 4 environment (not root, no IOAM in the kernel).

Examples:
  # ioamsim testbed examples/linear.yaml
  # ioamsim testbed examples/overflow.yaml --seed 3 --duration 2ms --json > testbed.json
  # ioamsim testbed examples/ipv6-in-ipv6.yaml`;

export function createCommands(ctx: CliContext): Command[] {
  const cmd = new Command('testbed')
    .summary('run a topology on Linux network namespaces and compare with the simulation (root)')
    .description('run a topology on Linux network namespaces with the kernel as transit/receiving nodes and compare it packet by packet with the simulation')
    .argument('<topology>', 'topology file (YAML)')
    .option('--seed <n>', "seed (default: the topology's, else 1)")
    .option('--duration <t>', "simulated time, e.g. 5ms (default: the topology's)")
    .option('--max-packets <n>', 'replay at most this many packets', '5000')
    .option('--json', 'print the full report as JSON on stdout')
    .addHelpText('after', HELP)
    .action(async (topology: string, o: { seed?: string; duration?: string; maxPackets: string; json?: boolean }) => {
      if (o.seed !== undefined && !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(o.seed)) throw new UsageError(`--seed must be a non-negative integer, got ${JSON.stringify(o.seed)}`);
      const max = Number(o.maxPackets);
      if (!/^[0-9]+$/.test(o.maxPackets) || !Number.isSafeInteger(max) || max < 1) throw new UsageError(`--max-packets must be an integer >= 1, got ${JSON.stringify(o.maxPackets)}`);
      const { parseDurationNs } = await import('../../sim/topology');
      const durationNs = o.duration === undefined ? undefined : parseDurationNs(o.duration);
      if (o.duration !== undefined && durationNs === undefined) throw new UsageError(`--duration must look like 10ms, 1.5s or an integer of ns, got ${JSON.stringify(o.duration)}`);
      const { checkTopology, runTestbed, formatTestbed, TestbedUnsupported } = await import('./testbed');
      let topo;
      try {
        topo = checkTopology(topology); // a bad or unmappable topology is reported without root
      } catch (e) {
        if (e instanceof TestbedUnsupported) throw new CliError(e.message, EXIT.INPUT);
        throw e;
      }
      const { kernelCheckUnavailable } = await import('./check');
      const why = kernelCheckUnavailable();
      if (why) throw new CliError(why.replace('the kernel check', 'the testbed'), EXIT.INTERNAL);
      let report;
      try {
        report = await runTestbed(topo, { seed: o.seed === undefined ? undefined : BigInt(o.seed), durationNs, maxPackets: max, onProgress: ctx.debug ? (w) => ctx.stderr.write(`${w}\n`) : undefined });
      } catch (e) {
        if (e instanceof TestbedUnsupported) throw new CliError(e.message, EXIT.INPUT);
        throw e;
      }
      if (o.json) ctx.stdout.write(JSON.stringify(report, null, 2) + '\n');
      ctx.stderr.write(formatTestbed(report) + '\n');
      if (!report.ok) throw new CliError('the kernel and the simulation disagree (details above)', EXIT.INPUT);
    });
  return [cmd];
}
