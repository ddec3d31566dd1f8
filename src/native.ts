/**
 * Loads the native addon (`native/index.cjs`, built by `npm run build:native`) once, with a clear
 * error when it is missing. Everything else in the library goes through {@link native}.
 * @module
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

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
  [other: string]: unknown;
}

let cached: NativeBinding | undefined;

/** Where `native/index.cjs` may be: beside `src/` (tsx) or two levels up (`dist/src/`). */
function candidates(): string[] {
  return [resolve(__dirname, '..', 'native', 'index.cjs'), resolve(__dirname, '..', '..', 'native', 'index.cjs')];
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
    throw new NativeLoadError(`ioamsim native addon not found (looked for ${paths.join(', ')}): run \`npm run build:native\``);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(path) as NativeBinding;
  } catch (e) {
    throw new NativeLoadError(
      `ioamsim native addon failed to load from ${path} (${(e as Error).message.split('\n')[0]}): run \`npm run build:native\``,
      { cause: e },
    );
  }
  if (typeof cached.NativeNode !== 'function') {
    cached = undefined;
    throw new NativeLoadError(`ioamsim native addon at ${path} is out of date (no NativeNode): run \`npm run build:native\``);
  }
  return cached;
}
