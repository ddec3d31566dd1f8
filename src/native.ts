/**
 * Loads the native addon once, with a clear error when it is missing. Everything else in the
 * library goes through {@link native}.
 *
 * The loader is napi-rs's generated `native/index.cjs` (shipped in the npm package). It loads
 * `native/ioamsim.<triple>.node` when that exists (a clone after `npm run build:native`), else the
 * platform package `ioamsim-<triple>` (e.g. `ioamsim-linux-x64-gnu`, npm/linux-x64-gnu/), which the
 * packed `ioamsim` lists in its optionalDependencies (scripts/pack.sh).
 * `NAPI_RS_NATIVE_LIBRARY_PATH=/path/to/x.node` overrides both.
 * @module
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

// The binding's surface, written out here (rather than imported from the `native/index.d.ts`
// napi-rs generates at build time) so that type-checking does not need the addon to be built.
// test/core.batch.test.ts compares `NativeNode` below with the generated declaration (fails on drift).

/**
 * The per-packet functions of one node (`NativeNode.inPlaceFunctions()`, crates/ioam-napi/src/inplace.rs):
 * the packet is `buf[start..start + len]`; meta, outcome and CLT IDs travel in `scratch`
 * (layout `SCRATCH_*` of src/generated/abi.ts). Each returns the reason.
 */
export interface NativeInPlace {
  transit(buf: Uint8Array, start: number, len: number): number;
  encap(buf: Uint8Array, start: number, len: number): number;
  decap(buf: Uint8Array, start: number, len: number, trace: Uint8Array): number;
  /** The node's whole step over `n` packets (src/step.ts tables of `cap` packets as bytes); returns `n`. */
  step(buf: Uint8Array, tables: Uint8Array, cap: number, n: number): number;
  /** The node's scratch block (Rust-owned memory). */
  readonly scratch: ArrayBuffer;
}

/** `NativeNode` (crates/ioam-napi/src/lib.rs): a compiled node + k-of-n encap counter. */
export interface NativeNode {
  readonly encapCount: number;
  /** Headroom `encap` needs before the packet for this node's configuration. */
  readonly encapHeadroom: number;
  resetEncapState(): void;
  transitBatch(buf: Uint8Array, desc: Uint32Array, meta: Uint32Array, out: Uint32Array): number;
  encapBatch(buf: Uint8Array, desc: Uint32Array, meta: Uint32Array, clt: Uint8Array, out: Uint32Array): number;
  decapBatch(buf: Uint8Array, desc: Uint32Array, meta: Uint32Array, out: Uint32Array, traceArena: Uint8Array, traceDesc: Uint32Array): number;
  inPlaceFunctions(): NativeInPlace;
}

/** The addon's exports used by the library (others, e.g. netio's `PacketSocket`, are reachable too). */
export interface NativeBinding {
  NativeNode: new (configJson: string) => NativeNode;
  coreVersion(): string;
  /** Wire layer: packet → JSON text (SCHEMA.md); `layout` is `standard` or `legacy`. */
  decodePacket?(bytes: Uint8Array, layout: string): string;
  /** Wire layer: JSON text → packet bytes. */
  encodePacket?(json: string, linuxPadding: boolean): Buffer;
  /** Flat trace records of a decap step's removed headers (src/traceflat.ts); returns packets done. */
  decodeTraceBatch?(arena: Uint8Array, desc: Uint32Array, layouts: Uint8Array, count: number, out: Uint32Array, index: Uint32Array): number;
  [other: string]: unknown;
}

let cached: NativeBinding | undefined;

/** Where `native/index.cjs` may be: beside `src/` (tsx) or two levels up (`dist/src/`). */
function candidates(): string[] {
  return [resolve(__dirname, '..', 'native', 'index.cjs'), resolve(__dirname, '..', '..', 'native', 'index.cjs')];
}

/** What to do about a missing addon: build it in a clone, install the platform package otherwise. */
function remedy(): string {
  const roots = [resolve(__dirname, '..'), resolve(__dirname, '..', '..')]; // src/ (tsx) or dist/src/
  if (roots.some((r) => existsSync(join(r, 'crates', 'ioam-napi', 'Cargo.toml')))) return 'run `npm run build:native`';
  const triple = `${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : ''}`;
  return (
    `install the platform package ioamsim-${triple} (listed in ioamsim's optionalDependencies; ` +
    'prebuilt for linux-x64-gnu only), or build from a clone of the repository'
  );
}

/** Thrown when the addon cannot be loaded. */
export class NativeLoadError extends Error {
  override name = 'NativeLoadError';
  readonly code = 'ERR_IOAM_NATIVE_MISSING';
}

/** The loaded binding (loaded on first use). Throws {@link NativeLoadError} if it was not built. */
export function native(): NativeBinding {
  if (cached) return cached;
  const paths = candidates();
  const path = paths.find((p) => existsSync(p));
  if (!path) {
    throw new NativeLoadError(`ioamsim native addon not found (looked for ${paths.join(', ')}): ${remedy()}`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(path) as NativeBinding;
  } catch (e) {
    throw new NativeLoadError(
      `ioamsim native addon failed to load from ${path} (${(e as Error).message.split('\n')[0]}): ${remedy()}`,
      { cause: e },
    );
  }
  if (typeof cached.NativeNode !== 'function') {
    cached = undefined;
    throw new NativeLoadError(`ioamsim native addon at ${path} is out of date (no NativeNode): ${remedy()}`);
  }
  return cached;
}
