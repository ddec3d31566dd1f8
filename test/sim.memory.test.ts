/**
 * Memory is flat in run length: the peak RSS of a leaf-spine-heavy run (no output files, its own
 * process, bench/sim-child.ts) at 200 ms of simulated time stays within 15 % of the one at 40 ms
 * (with every sample kept it grew by ≈ 380 MB per simulated second), and under 200 MB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
function peakRssMiB(durationNs: number): number {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'sim-child.ts'), join(ROOT, 'examples', 'leaf-spine-heavy.yaml'), String(durationNs), '0'], { cwd: ROOT, encoding: 'utf8' });
  return (JSON.parse(out.trim().split('\n').pop()!) as { maxRssKiB: number }).maxRssKiB / 1024;
}

test('peak RSS does not grow with simulated duration (40 ms vs 200 ms)', () => {
  const short = peakRssMiB(40_000_000);
  const long = peakRssMiB(200_000_000);
  assert.ok(long <= short * 1.15, `peak RSS ${long.toFixed(0)} MiB at 200 ms vs ${short.toFixed(0)} MiB at 40 ms`);
  assert.ok(long <= 200, `peak RSS ${long.toFixed(0)} MiB at 200 ms`);
});

test('packet slots are reused: the slab does not grow with the run (in flight ≈ constant)', async () => {
  const { runSimulation } = await import('../sim/run');
  const top = async (ns: number) => (await runSimulation(join(ROOT, 'examples', 'leaf-spine-heavy.yaml'), { durationNs: ns })).network.store.slabBytesUsed;
  const a = await top(5_000_000);
  const b = await top(25_000_000);
  assert.ok(b <= a * 1.5, `slab bytes in use: ${a} at 5 ms, ${b} at 25 ms`);
});
