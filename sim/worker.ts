/**
 * Pool worker: holds the native dataplane node of every topology node assigned to it (built from
 * the validated node configs in `workerData` on first use) and runs {@link processNode} on tasks
 * whose packet slab and tables live in SharedArrayBuffers (nothing is copied back: the tables are written in place).
 * @module
 */
import { workerData } from 'node:worker_threads';
import type { NodeConfig } from '../src/config';
import { createDataplaneNode, dataplaneBackend, type DataplaneNode } from './dataplane';
import { processNode, stepTables } from './nodeproc';
import { initCodec, type NodeTask, type WorkerInit } from './pool';

const init = initCodec.unpack(workerData as Uint8Array) as WorkerInit;
const nodes = new Map<number, DataplaneNode>();

function nodeFor(i: number): DataplaneNode {
  let n = nodes.get(i);
  if (!n) {
    const raw = init.configs[i];
    if (!raw) throw new Error(`worker: no configuration for node index ${i}`);
    n = createDataplaneNode(revive(raw));
    nodes.set(i, n);
  }
  return n;
}

/** Restores the config's types after msgpack (64-bit fields bigint, schema data Uint8Array). */
function revive(c: NodeConfig): NodeConfig {
  return {
    ...c,
    ioam6_id_wide: BigInt(c.ioam6_id_wide),
    namespaces: c.namespaces.map((n) => ({ ...n, wide: n.wide === undefined || n.wide === null ? undefined : BigInt(n.wide) })),
    schemas: c.schemas.map((s) => ({ ...s, data: new Uint8Array(s.data) })),
  };
}

/**
 * Runs one node step, or several in order (`{ steps }`: one instant's steps of this worker's nodes,
 * one round trip); returns the backend name as a cheap liveness/consistency check.
 */
export default function run(task: NodeTask | { steps: NodeTask[] }): string {
  if (init.crashAtTask !== undefined && --init.crashAtTask < 0) process.exit(70); // test hook
  const steps = 'steps' in task ? task.steps : [task];
  for (const t of steps) processNode(nodeFor(t.node), new Uint8Array(t.slab), stepTables(t.cap, true, t.side).t, t.n);
  return dataplaneBackend();
}
