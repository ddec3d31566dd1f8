/**
 * Packets in flight, data-oriented: a packet is a handle (an integer) into typed arrays (struct of
 * arrays: id, flow, sequence number, times, current device, IOAM domain) and its bytes live in a
 * slot of one SharedArrayBuffer slab from generation to delivery. The slab's descriptor words
 * `[slot_start, slot_end, off, len]` per handle are the batch ABI's `desc` layout (src/batch.ts),
 * so a node's dataplane step hands the core the slab itself with the descriptors of its packets:
 * no copy of packet bytes per hop, on the main thread or on a worker.
 *
 * Slots come in size classes (free lists); a slot keeps {@link HEADROOM} bytes before the packet
 * for headers the dataplane prepends. The slab grows by doubling (handles and offsets stay valid;
 * views taken before a growth are stale, so callers keep handles, not views).
 *
 * {@link PacketView} is the object face of a handle for the layers above (hooks, captures, the
 * CLT layer, the testbed): made only when one of them asks, valid while the packet is in flight.
 * @module
 */
import * as abi from '../src/batch';

const DESC_STRIDE = abi.DESC_STRIDE;

/** Zeros that new packets are cleared with (see {@link zero}). */
const ZEROS = new Uint8Array(4096 + 8);

/**
 * Clears `b[from .. from + len]` of the slab. On shared memory fill() stores byte by byte, and
 * set() copies words only when source and destination share their alignment: the zeros are
 * taken at the destination's alignment (about 3× faster than fill() for a typical packet).
 */
function zero(b: Uint8Array, from: number, len: number): void {
  if (!(b.buffer instanceof SharedArrayBuffer)) {
    b.fill(0, from, from + len); // a memset out of ordinary memory
    return;
  }
  while (len > 0) {
    const a = (b.byteOffset + from) & 7;
    const n = Math.min(len, ZEROS.length - 8);
    b.set(ZEROS.subarray(a, a + n), from);
    from += n;
    len -= n;
  }
}

/** Bytes kept free before a packet in its slot (room to prepend IOAM and an outer header). */
export const HEADROOM = 384;
/** Bytes kept free after a packet (and room for it to grow: Incremental traces, encapsulation). */
const TAILROOM = 448;
/** Smallest slot: every packet up to 3264 bytes (and its growth) shares one class, so slots freed
 * by packets that grew are reused by new ones (no drift between classes). */
const MIN_SLOT = 4096;

/** What a packet belongs to (a flow, a request/response exchange, or an application). */
export interface FlowRef {
  index: number;
  name: string;
  kind: 'flow' | 'request' | 'response' | 'app';
}

/** The packet store (see module doc). */
export class PacketStore {
  /**
   * The slab: a SharedArrayBuffer when dataplane workers see the same bytes (sim/pool.ts), else
   * ({@link setShared}) a plain ArrayBuffer, which V8 copies and clears faster.
   */
  buffer: SharedArrayBuffer | ArrayBuffer;
  private shared = true;
  buf: Uint8Array;
  /** `[slot_start, slot_end, off, len]` per handle. */
  desc = new Uint32Array(1024 * DESC_STRIDE);
  id = new Float64Array(1024);
  flow = new Int32Array(1024);
  seq = new Float64Array(1024);
  createdNs = new Float64Array(1024);
  arrivedNs = new Float64Array(1024);
  enqueuedNs = new Float64Array(1024);
  /** IOAM namespace of the option the packet carries, -1 none. */
  domainNs = new Int32Array(1024);
  /** The encapsulation added an outer IPv6 header. */
  tunneled = new Uint8Array(1024);
  /** Device that sent it last (index in Network.devices), -1 none. */
  lastDev = new Int32Array(1024);
  /** Ingress interface of a packet waiting for its node's step. */
  ingress = new Uint32Array(1024);
  /** Opaque application data (requests, the CLT layer): sparse. */
  readonly app: unknown[] = [];
  /** Flows by index (FlowRef objects are shared, not per packet). */
  readonly flows: FlowRef[] = [];
  private readonly flowIds = new Map<string, number>();
  private freeHandles: number[] = [];
  private nextHandle = 0;
  private top = 0;
  private readonly freeSlots = new Map<number, number[]>();
  /** Packets alive. */
  live = 0;

  /** Bytes of the slab ever handed out as slots (free slots included). */
  get slabBytesUsed(): number {
    return this.top;
  }

  constructor() {
    this.buffer = new SharedArrayBuffer(1 << 22);
    this.buf = new Uint8Array(this.buffer);
  }

  /** Whether other threads need the slab (set before the first packet). */
  setShared(shared: boolean): void {
    if (shared === this.shared) return;
    if (this.top !== 0) throw new Error('PacketStore.setShared: packets are already in the slab');
    this.shared = shared;
    this.buffer = shared ? new SharedArrayBuffer(this.buf.length) : new ArrayBuffer(this.buf.length);
    this.buf = new Uint8Array(this.buffer);
  }

  /** The index of a flow (the same for equal kind/name/index). */
  flowId(f: FlowRef): number {
    const key = `${f.kind}\u0000${f.index}\u0000${f.name}`;
    let i = this.flowIds.get(key);
    if (i === undefined) {
      i = this.flows.push(f) - 1;
      this.flowIds.set(key, i);
    }
    return i;
  }

  /** A new packet of `len` zeroed bytes; returns its handle. */
  alloc(len: number): number {
    let h = this.freeHandles.pop();
    if (h === undefined) {
      h = this.nextHandle++;
      if (h >= this.id.length) this.growHandles();
    }
    const size = slotClass(len);
    const start = this.takeSlot(size);
    const d = h * DESC_STRIDE;
    this.desc[d] = start;
    this.desc[d + 1] = start + size;
    this.desc[d + 2] = start + HEADROOM;
    this.desc[d + 3] = len;
    zero(this.buf, start + HEADROOM, len);
    this.domainNs[h] = -1;
    this.tunneled[h] = 0;
    this.lastDev[h] = -1;
    this.live++;
    return h;
  }

  /** Frees a packet (its handle and slot are reused). */
  free(h: number): void {
    this.freeSlotOnly(h);
    this.app[h] = undefined;
    this.freeHandles.push(h);
    this.live--;
  }

  /** The packet's bytes (a view: use now, or copy). */
  bytes(h: number): Uint8Array {
    const d = h * DESC_STRIDE;
    const off = this.desc[d + 2]!;
    return this.buf.subarray(off, off + this.desc[d + 3]!);
  }

  len(h: number): number {
    return this.desc[h * DESC_STRIDE + 3]!;
  }

  /** Offset of the packet's first byte in {@link buf}. */
  off(h: number): number {
    return this.desc[h * DESC_STRIDE + 2]!;
  }

  /**
   * After a dataplane step moved the packet in its slot: moves it back to {@link HEADROOM} when
   * the room before or after it got short, so the next node can prepend or grow again.
   */
  recenter(h: number): void {
    const d = h * DESC_STRIDE;
    const start = this.desc[d]!;
    const off = this.desc[d + 2]!;
    const len = this.desc[d + 3]!;
    const want = start + HEADROOM;
    if (off === want) return;
    if (off - start >= HEADROOM - 64 && off + len + TAILROOM - 64 <= this.desc[d + 1]!) return;
    if (want + len + TAILROOM > this.desc[d + 1]!) {
      // Grew beyond its class: move to a bigger slot.
      const bytes = this.buf.slice(off, off + len);
      const app = this.app[h];
      const fields = [this.id[h]!, this.flow[h]!, this.seq[h]!, this.createdNs[h]!, this.arrivedNs[h]!, this.enqueuedNs[h]!, this.domainNs[h]!, this.tunneled[h]!, this.lastDev[h]!, this.ingress[h]!] as const;
      this.freeSlotOnly(h);
      const size = slotClass(len);
      const s = this.takeSlot(size);
      this.desc[d] = s;
      this.desc[d + 1] = s + size;
      this.desc[d + 2] = s + HEADROOM;
      this.desc[d + 3] = len;
      this.buf.set(bytes, s + HEADROOM);
      [this.id[h], this.flow[h], this.seq[h], this.createdNs[h], this.arrivedNs[h], this.enqueuedNs[h], this.domainNs[h], this.tunneled[h], this.lastDev[h], this.ingress[h]] = fields;
      this.app[h] = app;
      return;
    }
    this.buf.copyWithin(want, off, off + len);
    this.desc[d + 2] = want;
  }

  /** A free slot of `size` bytes (reused, or carved from the end of the slab). */
  private takeSlot(size: number): number {
    const start = this.freeSlots.get(size)?.pop();
    if (start !== undefined) return start;
    if (this.top + size > this.buf.length) this.growSlab(this.top + size);
    const s = this.top;
    this.top += size;
    return s;
  }

  private freeSlotOnly(h: number): void {
    const d = h * DESC_STRIDE;
    const start = this.desc[d]!;
    const size = this.desc[d + 1]! - start;
    let list = this.freeSlots.get(size);
    if (!list) this.freeSlots.set(size, (list = []));
    list.push(start);
  }

  private growSlab(need: number): void {
    let n = this.buf.length * 2;
    while (n < need) n *= 2;
    const b = this.shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n);
    const u = new Uint8Array(b);
    u.set(this.buf.subarray(0, this.top));
    this.buffer = b;
    this.buf = u;
  }

  private growHandles(): void {
    const n = this.id.length * 2;
    const f64 = (a: Float64Array) => { const x = new Float64Array(n); x.set(a); return x; };
    const i32 = (a: Int32Array) => { const x = new Int32Array(n); x.set(a); return x; };
    const u32 = (a: Uint32Array, k = 1) => { const x = new Uint32Array(n * k); x.set(a); return x; };
    const u8 = (a: Uint8Array) => { const x = new Uint8Array(n); x.set(a); return x; };
    this.desc = u32(this.desc, DESC_STRIDE);
    this.id = f64(this.id);
    this.flow = i32(this.flow);
    this.seq = f64(this.seq);
    this.createdNs = f64(this.createdNs);
    this.arrivedNs = f64(this.arrivedNs);
    this.enqueuedNs = f64(this.enqueuedNs);
    this.domainNs = i32(this.domainNs);
    this.tunneled = u8(this.tunneled);
    this.lastDev = i32(this.lastDev);
    this.ingress = u32(this.ingress);
  }
}

/** Slot size for a packet of `len` bytes: a power of two ≥ headroom + len + tailroom. */
function slotClass(len: number): number {
  let s = MIN_SLOT;
  while (s < HEADROOM + len + TAILROOM) s *= 2;
  return s;
}
