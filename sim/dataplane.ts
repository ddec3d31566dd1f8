/**
 * The simulator's only door to the IOAM dataplane: every node's transit, encap and decap step is
 * one `Node` call (src/node.ts) on the batch ABI tables (src/batch.ts, docs/DESIGN.md), whose
 * `buf` is the packet slab (sim/packets.ts). Nothing in `sim/` reads or writes IOAM bytes any other way.
 *
 * There is one backend, `core` (src/node.ts `Node` over the native core), named in
 * `summary.json` (`dataplane`). A missing addon is an error (`NativeLoadError`).
 * @module
 */
import type { BatchTables, PacketBatch } from '../src/batch';
import type { NodeConfig } from '../src/config';
import { native } from '../src/native';
import { Node } from '../src/node';

/** The batch ABI tables of one core call: `buf` may be the packet slab. */
export type CoreTables = BatchTables;

/** A topology node's dataplane (one core call per table set). */
export interface DataplaneNode {
  /** Hop-by-Hop processing on input (Linux `ipv6_hop_ioam`). */
  transit(t: CoreTables): void;
  /** Insert the configured IOAM option (inline or IPv6-in-IPv6), k-of-n; `t.clt` 24 bytes per packet or empty. */
  encap(t: CoreTables): void;
  /** Fill on input, then remove the option / outer header; the removed HbH goes to `t.traceArena` at `t.traceDesc`. */
  decap(t: CoreTables): void;
}

export type BackendName = 'core';

let chosen: BackendName | undefined;

/** The backend (see module doc); loads the native addon, or throws `NativeLoadError` with the fix. */
export function dataplaneBackend(): BackendName {
  if (chosen) return chosen;
  native(); // throws NativeLoadError with the fix ("run npm run build:native")
  return (chosen = 'core');
}

/** Builds a node's dataplane from its validated node configuration. */
export function createDataplaneNode(cfg: NodeConfig): DataplaneNode {
  dataplaneBackend();
  const n = new Node(cfg);
  // `Node` reads a batch only through `tables()`: hand it the step's tables over the packet slab.
  // The step reuses its table sets (sim/nodeproc.ts `views`), so each gets one batch face, kept.
  const faces = new WeakMap<CoreTables, PacketBatch>();
  const asBatch = (t: CoreTables): PacketBatch => {
    let b = faces.get(t);
    if (b === undefined) faces.set(t, (b = { tables: () => t } as unknown as PacketBatch));
    return b;
  };
  return {
    transit: (t) => void n.transit(asBatch(t)),
    encap: (t) => void n.encap(asBatch(t), t.clt),
    decap: (t) => void n.decap(asBatch(t)),
  };
}
