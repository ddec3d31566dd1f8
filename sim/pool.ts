/**
 * Where node steps run: inline on the main thread (`workers: 0`) or on a piscina pool.
 *
 * Each worker owns a fixed set of topology nodes (node i → worker i mod K): an encapsulating
 * node's k-of-n counter is state, so a node's steps must always run on the same native node, in
 * simulation order. We therefore use K single-thread piscina pools rather than one K-thread pool.
 * The packet slab and the step tables are SharedArrayBuffers (no copies: a worker writes the
 * packets and outcomes in place); the init message (node configs) is msgpackr-encoded. A worker that dies or throws fails the run with a message naming
 * the worker and the node; the engine never continues past a lost step.
 *
 * Small steps: a worker round trip costs far more than a few packets of dataplane work, so a step
 * of fewer than `inlineBelow` packets without encapsulation runs on the main thread's own native
 * node. Transit and decap are pure functions of the node's (immutable) configuration and the
 * packets, so where they run cannot change a result; so is encapsulation with `freq` k = n (every
 * packet). Sampled encapsulation (k < n, a packet counter) always runs on the node's worker.
 * @module
 */
import * as path from 'node:path';
import { Packr } from 'msgpackr';
import { Piscina } from 'piscina';
import type { NodeConfig } from '../src/config';
import { createDataplaneNode, dataplaneBackend, type BackendName, type DataplaneNode } from './dataplane';
import { F_ENCAP, processNode, stepTables, type StepTables } from './nodeproc';

/** What crosses to a worker: buffers only (the tables are re-cut on the other side). */
export interface NodeTask {
  node: number;
  /** The packet slab. */
  slab: SharedArrayBuffer;
  /** The step tables ({@link stepTables} layout for `cap` packets). */
  side: ArrayBuffer | SharedArrayBuffer;
  cap: number;
  /** Packets in the step. */
  n: number;
}

/** msgpackr codec of the init message (64-bit ids stay bigint). */
export const initCodec = new Packr({ int64AsType: 'bigint', useRecords: false });

/** Worker start-up data (msgpackr-encoded in workerData). */
export interface WorkerInit {
  configs: NodeConfig[];
  /** Test hook: the worker exits after this many tasks. */
  crashAtTask?: number;
}

/** A step failed: worker crash, native misuse error, or a closed pool. */
export class WorkerFailure extends Error {
  readonly code = 'ERR_IOAMSIM_WORKER';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerFailure';
  }
}

export interface PoolOptions {
  workers: number;
  configs: NodeConfig[];
  nodeNames: string[];
  /** Steps with fewer packets and no encapsulation run on the main thread (see module doc). Default 16. */
  inlineBelow?: number;
  /** Test hook (see {@link WorkerInit.crashAtTask}). */
  crashAtTask?: number;
  /** Nodes whose steps run here (a partition's); all when undefined. */
  owned?: Uint8Array;
}

/** Runs node steps (see module doc). */
export class DataplanePool {
  readonly backend: BackendName;
  readonly workers: number;
  private readonly inline: DataplaneNode[] = [];
  private readonly pools: Piscina[] = [];
  private readonly names: string[];
  private failed: WorkerFailure | undefined;
  private readonly inlineBelow: number;
  /** Node i's encapsulation keeps state that matters (k-of-n with k < n). */
  private readonly sampledEncap: boolean[];
  /** Steps run on workers / on the main thread. */
  stepsOnWorkers = 0;
  stepsInline = 0;

  constructor(opts: PoolOptions) {
    this.workers = opts.workers;
    this.names = opts.nodeNames;
    // Load the library (and the native addon) on the main thread first, even with workers:
    // an addon loaded only inside workers can crash at worker exit (docs/DESIGN.md "Native addon and worker threads").
    this.backend = dataplaneBackend();
    this.inlineBelow = opts.inlineBelow ?? 16;
    this.sampledEncap = opts.configs.map((c) => c.encap !== undefined && c.encap.freq.k < c.encap.freq.n);
    // A partition (sim/partition-worker.ts) steps only its own nodes; the main thread builds all of them, so a configuration the core refuses fails the run before it starts.
    opts.configs.forEach((c, i) => { if (!opts.owned || opts.owned[i]) this.inline[i] = createDataplaneNode(c); });
    if (opts.workers === 0) return;
    const ext = path.extname(__filename);
    const filename = path.join(__dirname, `worker${ext === '.ts' ? '.ts' : '.js'}`);
    const execArgv = ext === '.ts' ? ['--import', 'tsx'] : [];
    for (let w = 0; w < opts.workers; w++) {
      const init: WorkerInit = { configs: opts.configs, crashAtTask: w === 0 ? opts.crashAtTask : undefined };
      this.pools.push(
        new Piscina({ filename, execArgv, minThreads: 1, maxThreads: 1, idleTimeout: Number.POSITIVE_INFINITY, workerData: initCodec.pack(init) }),
      );
    }
  }

  /**
   * Whether a step of `n` packets with these plan flags runs on the main thread: always without
   * workers, else when it is small and stateless (see module doc).
   */
  runsInline(node: number, n: number, flags: Uint32Array): boolean {
    if (this.workers === 0) return true;
    if (n >= this.inlineBelow) return false;
    if (!this.sampledEncap[node]) return true;
    for (let i = 0; i < n; i++) if (flags[i]! & F_ENCAP) return false;
    return true;
  }

  /** Runs one node step on the main thread's native node, synchronously. */
  runInline(node: number, buf: Uint8Array, t: StepTables, n: number): void {
    if (this.failed) throw this.failed;
    this.stepsInline++;
    processNode(this.inline[node]!, buf, t, n);
  }

  /**
   * Runs the node steps of one instant: small stateless ones inline, now; the others grouped per
   * worker, one round trip per worker (a worker runs its list in order, so a node's chunks stay in
   * order on its native node). Resolves when every task's tables hold the results.
   */
  async runAll(tasks: NodeTask[], timeNs: number): Promise<void> {
    if (this.failed) throw this.failed;
    const perWorker: NodeTask[][] = this.pools.map(() => []);
    for (const t of tasks) {
      if (this.workers === 0 || this.smallStateless(t)) {
        this.stepsInline++;
        processNode(this.inline[t.node]!, new Uint8Array(t.slab), stepTables(t.cap, false, t.side).t, t.n);
      } else {
        this.stepsOnWorkers++;
        perWorker[t.node % this.workers]!.push(t);
      }
    }
    await Promise.all(
      perWorker.map(async (steps, w) => {
        if (steps.length === 0) return;
        try {
          const backend = (await this.pools[w]!.run(steps.length === 1 ? steps[0] : { steps })) as string;
          if (backend !== this.backend) throw new Error(`worker used dataplane backend ${backend}, main thread ${this.backend}`);
        } catch (e) {
          const names = [...new Set(steps.map((t) => this.names[t.node]))];
          this.failed ??= new WorkerFailure(
            `dataplane worker ${w} failed while processing node ${names[0]} at t=${timeNs} ns${names.length > 1 ? ` (in one task with ${names.slice(1).join(', ')})` : ''}: ${(e as Error).message}`,
            { cause: e },
          );
          throw this.failed;
        }
      }),
    );
  }

  private smallStateless(task: NodeTask): boolean {
    const n = task.n;
    if (n >= this.inlineBelow) return false;
    if (!this.sampledEncap[task.node]) return true;
    const flags = stepTables(task.cap, true, task.side).t.flags;
    for (let i = 0; i < n; i++) if (flags[i]! & F_ENCAP) return false;
    return true;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.close({ force: true }).catch(() => undefined)));
  }
}
