/**
 * The simulator's only door to the IOAM dataplane: every node's transit, encap and decap step is
 * one `Node` call (src/node.ts) on a `PacketBatch` (src/batch.ts, the batch ABI of
 * docs/DESIGN.md). Nothing in `sim/` reads or writes IOAM bytes any other way.
 *
 * Backends:
 * - `core`: src/node.ts `Node` over the native core.
 * - `stub`: only with `IOAMSIM_DATAPLANE=stub` (for working on the simulator without a built addon):
 *   the outcomes of the core's original stubs (every packet passes, bytes untouched: transit/decap
 *   `no-ioam`, encap `sampled-out`). A run says which backend it used (`summary.json` `dataplane`,
 *   printed summary). Without the variable a missing addon is an error (`NativeLoadError`).
 * @module
 */
import type { PacketBatch } from '../src/batch';
import type { NodeConfig } from '../src/config';
import { native } from '../src/native';
import { Node } from '../src/node';
import { REASON_STRINGS } from '../src/reasons';

/** A topology node's dataplane (one call per batch). */
export interface DataplaneNode {
  /** Hop-by-Hop processing on input (Linux `ipv6_hop_ioam`). */
  transit(b: PacketBatch): void;
  /** Insert the configured IOAM option (inline or IPv6-in-IPv6), k-of-n; `clt` 24 bytes per packet. */
  encap(b: PacketBatch, clt?: Uint8Array): void;
  /** Fill on input, then remove the option / outer header; the removed HbH goes to `b.trace(i)`. */
  decap(b: PacketBatch): void;
}

export type BackendName = 'core' | 'stub';

/** Reason values the simulator looks at (core `Reason`, src/reasons.ts). */
export const R_WRITTEN = 1;
export const R_OVERFLOW_SET = 2;
export const R_ENCAPSULATED = 7;
export const R_DECAPSULATED = 10;
export const R_APPENDED = 11;
/** `written`, `drop-misaligned`, ... (core `Reason::as_str`). */
export const reasonName = (r: number): string => (REASON_STRINGS as Record<number, string>)[r] ?? `reason-${r}`;

/** Stand-in with the core stubs' outcomes (see module doc). */
class StubNode implements DataplaneNode {
  private fill(b: PacketBatch, reason: number): void {
    const t = b.tables();
    for (let i = 0; i < b.length; i++) t.out.set([0, reason, 0, 0], i * 4);
  }
  transit(b: PacketBatch): void {
    this.fill(b, 0);
  }
  encap(b: PacketBatch): void {
    this.fill(b, 8);
  }
  decap(b: PacketBatch): void {
    this.fill(b, 0);
    const t = b.tables();
    for (let i = 0; i < b.length; i++) t.traceDesc[2 * i + 1] = 0;
  }
}

let chosen: BackendName | undefined;

/** Which backend this process uses (see module doc). Loads the native addon when it can. */
export function dataplaneBackend(): BackendName {
  if (chosen) return chosen;
  if (process.env['IOAMSIM_DATAPLANE'] === 'stub') return (chosen = 'stub');
  native(); // throws NativeLoadError with the fix ("run npm run build:native")
  return (chosen = 'core');
}

/** Builds a node's dataplane from its validated node configuration. */
export function createDataplaneNode(cfg: NodeConfig): DataplaneNode {
  if (dataplaneBackend() === 'stub') return new StubNode();
  const n = new Node(cfg);
  return {
    transit: (b) => void n.transit(b),
    encap: (b, clt) => void n.encap(b, clt),
    decap: (b) => void n.decap(b),
  };
}
