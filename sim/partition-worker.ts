/**
 * A partition's worker thread (sim/partition.ts): builds the whole network from the topology the
 * main thread parsed, owns its partition's nodes (their traffic, dataplane steps on its own native
 * nodes, queues, links, trace and capture files), runs the window loop, and hands back its
 * counters and sketches.
 * @module
 */
import { parseTopology, type LoadedTopology } from './topology';
import { RunOutputs, type OutputKind } from './outputs';
import { exportState, runWindows, type PartitionState, type PartitionTask } from './partition';
import { DataplanePool } from './pool';
import { setupRun } from './run';

export default function run(task: PartitionTask): { state: PartitionState; setupMs: number; readyAt: number; doneAt: number } {
  const t0 = process.hrtime.bigint();
  // Parsed and checked on the main thread (parsing fat-tree-k8's text again took 0.4-1 s here); the
  // YAML source map, which only error messages need, is rebuilt from the text if ever asked for.
  const { text, file } = task.topology;
  let source: LoadedTopology['source'] | undefined;
  const topo: LoadedTopology = { ...task.topology, get source() { return (source ??= parseTopology(text, file).source); } };
  const seed = BigInt(task.seed);
  const { net, traffic, paths, truth } = setupRun(topo, { seed, durationNs: task.durationNs, batchSize: task.batchSize, hooks: {} });
  const owned = Uint8Array.from(task.owner, (p) => (p === task.part ? 1 : 0));
  net.setPartition(task.owner, task.part);
  traffic.owned = owned;
  const t = topo.input;
  traffic.install(t.traffic?.flows ?? [], t.traffic?.requests ?? []);
  const files = new RunOutputs(net, topo, task.outDir, task.outputs as OutputKind[], { owned });
  net.store.setShared(false);
  net.pool = new DataplanePool({ workers: 0, configs: net.nodes.map((n) => n.config), nodeNames: net.nodes.map((n) => n.name), owned });
  net.sim.stopAt(task.durationNs);
  const setupMs = Number(process.hrtime.bigint() - t0) / 1e6;
  // When this partition was ready to run events (ms since the epoch: comparable across threads).
  const readyAt = performance.timeOrigin + performance.now();
  let ok = false;
  try {
    const r = runWindows(task, net);
    const f0 = performance.now();
    files.finishFiles();
    ok = true;
    const f1 = performance.now();
    const state = exportState(net, traffic, paths, truth, r);
    if (process.env['IOAMSIM_PARTITION_DEBUG'] !== undefined) console.error(`partition ${task.part}: files finished in ${(f1 - f0).toFixed(0)} ms, state exported in ${(performance.now() - f1).toFixed(0)} ms`);
    return { state, setupMs, readyAt, doneAt: performance.timeOrigin + f0 };
  } finally {
    if (!ok) files.discard();
  }
}
