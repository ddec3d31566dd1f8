/**
 * The simulator's only door to the IOAM dataplane: every node's transit, encap and decap step is
 * one `Node` call (src/node.ts) on a `PacketBatch` (src/batch.ts, the batch ABI of
 * docs/DESIGN.md). Nothing in `sim/` reads or writes IOAM bytes any other way.
 *
 * There is one backend, `core` (src/node.ts `Node` over the native core), named in
 * `summary.json` (`dataplane`). A missing addon is an error (`NativeLoadError`).
 * @module
 */
import type { PacketBatch } from '../src/batch';
import type { NodeConfig } from '../src/config';
import { native } from '../src/native';
import { Node } from '../src/node';
import { Reason, reasonString } from '../src/reasons';

/** A topology node's dataplane (one call per batch). */
export interface DataplaneNode {
  /** Hop-by-Hop processing on input (Linux `ipv6_hop_ioam`). */
  transit(b: PacketBatch): void;
  /** Insert the configured IOAM option (inline or IPv6-in-IPv6), k-of-n; `clt` 24 bytes per packet. */
  encap(b: PacketBatch, clt?: Uint8Array): void;
  /** Fill on input, then remove the option / outer header; the removed HbH goes to `b.trace(i)`. */
  decap(b: PacketBatch): void;
}

export type BackendName = 'core';

/** Reason values the simulator looks at (core `Reason`, via src/reasons.ts). */
export const R_WRITTEN = Reason.Written;
export const R_OVERFLOW_SET = Reason.OverflowSet;
export const R_ENCAPSULATED = Reason.Encapsulated;
export const R_DECAPSULATED = Reason.Decapsulated;
export const R_APPENDED = Reason.Appended;
/** `written`, `drop-misaligned`, ... (core `Reason::as_str`). */
export const reasonName = reasonString;

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
  return {
    transit: (b) => void n.transit(b),
    encap: (b, clt) => void n.encap(b, clt),
    decap: (b) => void n.decap(b),
  };
}
