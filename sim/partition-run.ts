/**
 * The main thread's side of a partitioned run (sim/partition.ts): starts one worker per partition
 * (piscina), reports progress from the shared clock, and fails the whole run — every partition
 * aborted — when one of them throws or dies.
 * @module
 */
import type { Piscina } from 'piscina';
import { abortPartitions, partitionShared, type PartitionPlan, type PartitionState, type PartitionTask, type ShippedTopology } from './partition';
import { SimulationInterrupted } from './engine';
import { WorkerFailure } from './pool';

export interface PartitionRunOptions {
  seed: bigint;
  durationNs: number;
  batchSize: number;
  outDir?: string;
  outputs: string[];
  crashAtWindow?: number;
  onProgress?: (fraction: number) => void;
  /** Checked every 50 ms: true aborts every partition (the run fails with SimulationInterrupted). */
  interrupted?: () => boolean;
}

/**
 * Runs the partitions to the end on `pool` (sim/partition.ts `partitionPool`, at least
 * `plan.parts` threads; the caller closes it); their states in partition order, the longest
 * partition set-up, and when the last partition was ready to run events (ms since the epoch).
 */
export async function runPartitions(plan: PartitionPlan, pool: Piscina, topology: ShippedTopology, o: PartitionRunOptions): Promise<{ states: PartitionState[]; setupMs: number; readyAt: number; doneAt: number }> {
  const shared = partitionShared(plan);
  const times = new Float64Array(shared.times);
  /** The shared clock: the earliest time the partitions published (0 before they run). */
  const clock = (): number => {
    let t = Infinity;
    for (let p = 0; p < 2 * plan.parts; p++) if (times[p]! > 0) t = Math.min(t, times[p]!);
    return Number.isFinite(t) ? t : 0;
  };
  const timer = o.onProgress
    ? setInterval(() => {
      const t = clock();
      if (t > 0) o.onProgress!(Math.min(1, t / o.durationNs));
    }, 200)
    : undefined;
  let failure: Error | undefined;
  // The main thread only waits here: its event loop turns, so the check runs on a timer.
  const watch = o.interrupted
    ? setInterval(() => {
      if (failure !== undefined || !o.interrupted!()) return;
      failure = new SimulationInterrupted(clock());
      abortPartitions(shared);
    }, 50)
    : undefined;
  try {
    const results = await Promise.all(
      Array.from({ length: plan.parts }, async (_, part) => {
        const task: PartitionTask = {
          part, parts: plan.parts, owner: plan.owner, window: plan.window, lateOk: plan.lateOk, shared, topology, seed: o.seed.toString(), durationNs: o.durationNs,
          batchSize: o.batchSize, outDir: o.outDir, outputs: o.outputs, crashAtWindow: part === 0 ? o.crashAtWindow : undefined,
        };
        try {
          return (await pool.run(task)) as { state: PartitionState; setupMs: number; readyAt: number; doneAt: number };
        } catch (e) {
          // The first failure is the cause; the others were aborted because of it.
          failure ??= new WorkerFailure(`partition ${part} of ${plan.parts} (worker thread) failed: ${(e as Error).message}`, { cause: e });
          abortPartitions(shared);
          throw failure;
        }
      }),
    ).catch(() => {
      throw failure;
    });
    return { states: results.map((r) => r.state), setupMs: Math.max(...results.map((r) => r.setupMs)), readyAt: Math.max(...results.map((r) => r.readyAt)), doneAt: Math.max(...results.map((r) => r.doneAt)) };
  } finally {
    if (timer) clearInterval(timer);
    if (watch) clearInterval(watch);
  }
}
