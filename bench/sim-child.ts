/**
 * One simulator run in its own process, for bench/sim.ts: prints one JSON line with the run's
 * rate and set-up time (`RunResult.info`), its packet counts and the process's peak RSS (`VmHWM`;
 * workers included: they are threads of this process).
 *
 * `node dist/bench/sim-child.js TOPOLOGY DURATION_NS WORKERS [BATCH] [OUT_DIR OUTPUTS]` (built by
 * bench/sim.ts; `node --import tsx bench/sim-child.ts ...` runs the sources)
 * (no OUT_DIR: no output files; OUTPUTS as `ioamsim run --outputs`).
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseOutputs } from '../sim/outputs';
import { runSimulation } from '../sim/run';

/** Peak RSS of this process in KiB: `VmHWM` (getrusage's ru_maxrss survives execve, so a child
 * spawned by a big parent would report the parent's peak). */
function peakRssKiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}

async function main(): Promise<void> {
  const [topology, duration, workers, batch, outDir, outputs] = process.argv.slice(2);
  if (!topology || !duration || workers === undefined) throw new Error('usage: sim-child.ts TOPOLOGY DURATION_NS WORKERS [BATCH] [OUT_DIR OUTPUTS]');
  const r = await runSimulation(topology, {
    durationNs: Number(duration), workers: Number(workers), batchSize: batch ? Number(batch) : undefined,
    outDir: outDir || undefined, outputs: outputs ? parseOutputs(outputs) : undefined,
  });
  const packets = (r.summary as { packets: Record<string, number> }).packets;
  process.stdout.write(JSON.stringify({ info: r.info, packets, maxRssKiB: peakRssKiB() }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`sim-child: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
