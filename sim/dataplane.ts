/**
 * The simulator's only door to the IOAM dataplane: every node's transit, encap and decap step is
 * one `Node.step` call (src/node.ts) on the step tables (src/step.ts, docs/DESIGN.md), whose
 * packet buffer is the packet slab (sim/packets.ts). Nothing in `sim/` reads or writes IOAM bytes any other way.
 *
 * There is one backend, `core` (src/node.ts `Node` over the native core), named in
 * `summary.json` (`dataplane`). A missing addon is an error (`NativeLoadError`).
 * @module
 */
import type { NodeConfig } from '../src/config';
import { native } from '../src/native';
import { Node } from '../src/node';
import type { StepTables } from '../src/step';

/** A topology node's dataplane: its whole step over step tables (one core call). */
export interface DataplaneNode {
  /** Input processing (transit or decap), hop limit, encapsulation of `t`'s first `n` packets (src/node.ts `Node.step`). */
  step(buf: Uint8Array, t: StepTables, n: number): void;
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
  return { step: (buf, t, count) => void n.step(buf, t, count) };
}
