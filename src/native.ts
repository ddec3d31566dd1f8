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

// The binding's surface, written out here (rather than imported from the generated
// `native/index.d.ts`) so that type-checking does not need the addon to be built. Keep in sync
// with `crates/ioam-napi/src/lib.rs`; test/core.batch.test.ts checks the runtime shape.

/** Outcome of a one-packet native call. */
export interface NativePacketOutcome {
  packet: Buffer;
  verdict: number;
  reason: number;
  offset: number;
  aux: number;
  trace?: Buffer;
}

/** `NativeNode` (crates/ioam-napi/src/lib.rs): a compiled node + k-of-n encap counter. */
export interface NativeNode {
  readonly encapCount: number;
  resetEncapState(): void;
  transitBatch(buf: Uint8Array, desc: Uint32Array, meta: Uint32Array, out: Uint32Array): number;
  encapBatch(buf: Uint8Array, desc: Uint32Array, meta: Uint32Array, clt: Uint8Array, out: Uint32Array): number;
  decapBatch(buf: Uint8Array, desc: Uint32Array, meta: Uint32Array, out: Uint32Array, traceArena: Uint8Array, traceDesc: Uint32Array): number;
  transitPacket(packet: Uint8Array, meta: Uint32Array): NativePacketOutcome;
  encapPacket(packet: Uint8Array, meta: Uint32Array, clt: Uint8Array): NativePacketOutcome;
  decapPacket(packet: Uint8Array, meta: Uint32Array): NativePacketOutcome;
}

/** The addon's exports used by the library (others, e.g. netio's `PacketSocket`, are reachable too). */
export interface NativeBinding {
  NativeNode: new (configJson: string) => NativeNode;
  coreVersion(): string;
  abiInfo(): { descStride: number; metaStride: number; outStride: number; ifNone: number };
  /** Wire layer: packet → JSON text (SCHEMA.md); `layout` is `standard` or `legacy`. */
  decodePacket?(bytes: Uint8Array, layout: string): string;
  /** Wire layer: JSON text → packet bytes. */
  encodePacket?(json: string, linuxPadding: boolean): Buffer;
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
