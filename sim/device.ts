/**
 * Devices and links (ns-3's split, `point-to-point-channel.cc`): a device owns its egress queue
 * (FIFO, tail drop in packets or bytes, a ring buffer of packet handles) and serializes at the
 * link's bandwidth; the far end receives after the propagation delay (+ jitter), unless the packet
 * is lost. Loss and jitter are drawn when transmission starts, from the device's own substream.
 *
 * {@link Links} runs this with integer-coded engine events (no closure per packet): `TX_DONE(dev)`
 * starts the next transmission (posted only when a packet waits for it: its tie key is reserved
 * when the transmission starts, so a later post runs exactly where it would have), `ARRIVE(dev, pkt)` hands a packet to the peer's node, `LOST(dev,
 * pkt)` drops it when its transmission ends.
 *
 * A link that is down (or one of whose nodes is, `failures[]`, docs/ROUTING.md) takes no packet
 * (`link-down` at the sending device) and delivers none: packets on the wire when it went down are
 * dropped on arrival (counted at the sending device), those queued are dropped at once ({@link Links.flush}).
 * @module
 */
import type { Simulator } from './engine';
import type { PacketStore } from './packets';
import type { Rng } from './rng';
import { Counter, Dist } from './stats';

/** Per-device statistics. */
export interface DeviceStats {
  txPackets: number;
  txBytes: number;
  queueDelayNs: Dist;
  backlogAtEnqueueBytes: Dist;
  maxBacklogBytes: number;
  hopDelayNs: Dist;
  drops: Counter;
}

/** Link parameters (one direction). */
export interface LinkParams {
  index: number;
  delayNs: number;
  bandwidthBps: number;
  loss: number;
  jitterNs: number;
  limitPackets?: number;
  limitBytes?: number;
}

/** A node as a device sees it. */
export interface DeviceNode {
  index: number;
  name: string;
}

/** What a capture point is handed per packet (a {@link PacketView} in practice). */
export type CaptureFn<P> = (p: P, timeNs: number) => void;

/** A node's network interface with its egress queue. */
export class Device<P = unknown, N extends DeviceNode = DeviceNode> {
  /** Index in the network's device list. */
  index = -1;
  /** Ring buffer of packet handles. */
  private ring = new Int32Array(16);
  private head = 0;
  private count = 0;
  backlogBytes = 0;
  busy = false;
  /**
   * How transmissions start (chosen by {@link Links} at the first enqueue): 1 by TX_DONE events,
   * 2 eagerly, each packet's transmission worked out when it is queued (see {@link Links.enqueue});
   * then `starts` holds the start times and wire sizes of the queued packets not started yet.
   */
  txMode = 0;
  private sAt = new Float64Array(16);
  private sBytes = new Float64Array(16);
  private sHead = 0;
  private sCount = 0;
  /** End of the transmission under way (or last made), the tie key `lo` reserved for its TX_DONE, and whether that event is queued. */
  txEndNs = 0;
  txDoneLo = 0;
  txDonePosted = false;
  /** When everything queued so far will have been serialized. */
  busyUntilNs = 0;
  /** Events this device posted so far: the `lo` of its next event's tie key (sim/engine.ts). */
  posted = 0;
  /** The peer is in another partition (sim/partition.ts): arrivals go through the partition's outbox. */
  crossesPartition = false;
  peer!: Device<P, N>;
  captureTx?: CaptureFn<P>;
  captureRx?: CaptureFn<P>;
  /** Capture points on the packet handle itself (the run's pcapng files: no view object per packet). */
  captureTxH?: (h: number, timeNs: number) => void;
  captureRxH?: (h: number, timeNs: number) => void;
  readonly stats: DeviceStats = {
    txPackets: 0, txBytes: 0, queueDelayNs: new Dist(), backlogAtEnqueueBytes: new Dist(), maxBacklogBytes: 0, hopDelayNs: new Dist(), drops: new Counter(),
  };
  constructor(
    readonly node: N,
    readonly ifIndex: number,
    readonly name: string,
    readonly link: LinkParams,
    readonly rng: Rng,
  ) {}
  /** Packets queued whose transmission has not started (eager mode: as of the last {@link advanceTo}). */
  get queued(): number {
    return this.txMode === 2 ? this.sCount : this.count;
  }
  /** Eager mode: a queued packet that starts transmission at `t` (after the ones queued before it). */
  pushStart(t: number, bytes: number): void {
    if (this.sCount === this.sAt.length) {
      const n = this.sAt.length;
      const at = new Float64Array(2 * n);
      const by = new Float64Array(2 * n);
      for (let i = 0; i < this.sCount; i++) {
        at[i] = this.sAt[(this.sHead + i) & (n - 1)]!;
        by[i] = this.sBytes[(this.sHead + i) & (n - 1)]!;
      }
      this.sAt = at;
      this.sBytes = by;
      this.sHead = 0;
    }
    const k = (this.sHead + this.sCount) & (this.sAt.length - 1);
    this.sAt[k] = t;
    this.sBytes[k] = bytes;
    this.sCount++;
  }
  /** Eager mode: the packets whose transmission started by `now` leave the backlog. */
  advanceTo(now: number): void {
    const mask = this.sAt.length - 1;
    while (this.sCount > 0 && this.sAt[this.sHead]! <= now) {
      this.backlogBytes -= this.sBytes[this.sHead]!;
      this.sHead = (this.sHead + 1) & mask;
      this.sCount--;
    }
  }
  push(h: number): void {
    if (this.count === this.ring.length) {
      const r = new Int32Array(this.ring.length * 2);
      for (let i = 0; i < this.count; i++) r[i] = this.ring[(this.head + i) & (this.ring.length - 1)]!;
      this.ring = r;
      this.head = 0;
    }
    this.ring[(this.head + this.count) & (this.ring.length - 1)] = h;
    this.count++;
  }
  /** The oldest queued handle, or -1. */
  shift(): number {
    if (this.count === 0) return -1;
    const h = this.ring[this.head]!;
    this.head = (this.head + 1) & (this.ring.length - 1);
    this.count--;
    return h;
  }
}

/** What {@link Links} needs from the network. */
export interface LinkHost<P, N extends DeviceNode> {
  sim: Simulator;
  store: PacketStore;
  devices: Device<P, N>[];
  l2Overhead: number;
  /** A packet dropped at `dev`'s node (frees it). */
  dropAt(node: number, h: number, reason: string, dev: Device<P, N>): void;
  /** A packet arrived at `dev`'s node on `dev` at `timeNs` by the event of tie key `(hi, lo)` (ARRIVE, or a late arrival from another partition). */
  arrive(dev: Device<P, N>, h: number, timeNs: number, hi: number, lo: number): void;
  /** The object face of a packet for captures (made only when a capture point exists). */
  view(h: number): P;
  /** Bytes put on links (summary). */
  bytesSentOnLinks: number;
  /** Packets being serialized or propagating. */
  onWire: number;
  /** Whether link `li` carries packets now. */
  linkUp(li: number): boolean;
  /** Whether transmissions may start eagerly (no `failures[]`: nothing can empty a queue; see {@link Links.enqueue}). */
  eagerTx?: boolean;
  /** Whether a packet arriving at `timeNs` may be handed to {@link arrive} when its transmission starts (it only joins a tick queue). */
  arrivesAhead?(timeNs: number): boolean;
  /** A packet leaves this partition: it arrives on `dev` (in another partition) at `timeNs` with tie key `(hi, lo)`; frees it here. */
  sendRemote?(dev: Device<P, N>, h: number, timeNs: number, hi: number, lo: number): void;
}

/** Queues and links (see module doc). */
export class Links<P, N extends DeviceNode> {
  private readonly TX_DONE: number;
  private readonly ARRIVE: number;
  private readonly LOST: number;
  constructor(private readonly host: LinkHost<P, N>) {
    const sim = host.sim;
    this.TX_DONE = sim.handler((dev) => this.startTx(this.host.devices[dev]!));
    this.ARRIVE = sim.handler((dev, h) => this.receive(this.host.devices[dev]!, h, sim.now(), sim.curHi, sim.curLo));
    this.LOST = sim.handler((dev, h) => {
      this.host.onWire--;
      this.host.dropAt(this.host.devices[dev]!.node.index, h, 'link-loss', this.host.devices[dev]!);
    });
  }

  private wireBytes(h: number): number {
    return this.host.store.len(h) + this.host.l2Overhead;
  }

  private txTimeNs(dev: Device<P, N>, h: number): number {
    return Math.ceil((this.wireBytes(h) * 8 * 1e9) / dev.link.bandwidthBps);
  }

  /**
   * Tail-drop enqueue on the device's egress queue. The FIFO and the link fix, when a packet is
   * queued, when its transmission starts (when the ones before it end) and everything that start
   * does (statistics, loss and jitter drawn from the device's own stream in queue order, the tie
   * keys of its events). So, unless something else must happen at the start itself (a capture of
   * what the device sends, writing records in event order), the device crosses partitions, or
   * `failures[]` could empty the queue before then, the transmission is worked out at once and no
   * event marks its start ("eager": only the backlog, read as of a time, remembers when each
   * packet leaves it, {@link Device.advanceTo}); a start after the run's end never happens.
   * Otherwise a TX_DONE event starts the next packet.
   */
  enqueue(dev: Device<P, N>, h: number): void {
    if (dev.txMode === 0) dev.txMode = this.host.eagerTx && !dev.crossesPartition && dev.captureTx === undefined && dev.captureTxH === undefined ? 2 : 1;
    const eager = dev.txMode === 2;
    // (Eager devices exist only without failures[]: their links are always up.)
    if (!eager && !this.host.linkUp(dev.link.index)) {
      this.host.dropAt(dev.node.index, h, 'link-down', dev);
      return;
    }
    const sim = this.host.sim;
    const now = sim.now();
    if (eager) dev.advanceTo(now);
    const size = this.wireBytes(h);
    const l = dev.link;
    if ((l.limitPackets !== undefined && dev.queued >= l.limitPackets) || (l.limitBytes !== undefined && dev.backlogBytes + size > l.limitBytes)) {
      this.host.dropAt(dev.node.index, h, 'queue-full', dev);
      return;
    }
    dev.stats.backlogAtEnqueueBytes.add(dev.backlogBytes);
    this.host.store.enqueuedNs[h] = now;
    dev.backlogBytes += size;
    if (dev.backlogBytes > dev.stats.maxBacklogBytes) dev.stats.maxBacklogBytes = dev.backlogBytes;
    const start = Math.max(dev.busyUntilNs, now);
    const tx = this.txTimeNs(dev, h);
    dev.busyUntilNs = start + tx;
    if (eager) {
      if (start > now) dev.pushStart(start, size);
      else dev.backlogBytes -= size;
      if (start <= sim.stopTime()) this.transmit(dev, h, start, tx);
      return;
    }
    dev.push(h);
    if (!dev.busy) this.startTx(dev);
    else if (!dev.txDonePosted) {
      // The transmission under way ended, or ends, without a TX_DONE event queued (see transmit).
      if (sim.isPast(dev.txEndNs, 1 + dev.index, dev.txDoneLo)) this.startTx(dev); // it ran: the device went idle then
      else {
        sim.post(dev.txEndNs, this.TX_DONE, dev.index, 0, 1 + dev.index, dev.txDoneLo);
        dev.txDonePosted = true;
      }
    }
  }

  /** Eager devices: the packets whose transmission started by `timeNs` leave their backlogs (before reading `queued` after a run: its stop time). */
  settle(timeNs: number): void {
    for (const d of this.host.devices) if (d.txMode === 2) d.advanceTo(timeNs);
  }

  /** Drops everything queued on `dev` (its link or node went down). */
  flush(dev: Device<P, N>, reason: string): void {
    for (let h = dev.shift(); h >= 0; h = dev.shift()) {
      dev.backlogBytes -= this.wireBytes(h);
      this.host.dropAt(dev.node.index, h, reason, dev);
    }
  }

  /** TX_DONE (or an idle device's enqueue): the next queued packet starts now. */
  private startTx(dev: Device<P, N>): void {
    const h = dev.shift();
    if (h < 0) {
      dev.busy = false;
      return;
    }
    dev.busy = true;
    dev.backlogBytes -= this.wireBytes(h);
    this.transmit(dev, h, this.host.sim.now(), this.txTimeNs(dev, h));
  }

  /** Packet `h` starts transmission on `dev` at `start` (now, or later for an eager device), for `tx` ns. */
  private transmit(dev: Device<P, N>, h: number, start: number, tx: number): void {
    const host = this.host;
    const store = host.store;
    const sim = host.sim;
    const len = store.len(h);
    dev.stats.queueDelayNs.add(start - store.enqueuedNs[h]!);
    dev.stats.txPackets++;
    dev.stats.txBytes += len;
    host.bytesSentOnLinks += len;
    if (dev.captureTxH) dev.captureTxH(h, start);
    if (dev.captureTx) dev.captureTx(host.view(h), start);
    const lost = dev.link.loss > 0 && dev.rng.float() < dev.link.loss;
    const jitter = dev.link.jitterNs > 0 ? dev.rng.int(0, dev.link.jitterNs) : 0;
    // Tie keys: this device's own count of posted events (sim/engine.ts).
    const hi = 1 + dev.index;
    // TX_DONE(start + tx) starts the next queued packet. With nothing queued now (or an eager
    // device) it is not posted, only its tie key is reserved: an enqueue before then posts it with
    // that key (same order as if it had been queued all along), one after then finds the device
    // idle (enqueue above).
    dev.txEndNs = start + tx;
    dev.txDoneLo = dev.posted++;
    dev.txDonePosted = dev.txMode !== 2 && dev.queued > 0;
    if (dev.txDonePosted) sim.post(start + tx, this.TX_DONE, dev.index, 0, hi, dev.txDoneLo);
    host.onWire++;
    if (lost) {
      sim.post(start + tx, this.LOST, dev.index, h, hi, dev.posted++);
      return;
    }
    store.lastDev[h] = dev.index;
    const at = start + tx + dev.link.delayNs + jitter;
    const peer = dev.peer;
    if (dev.crossesPartition) host.sendRemote!(peer, h, at, hi, dev.posted);
    else if (!this.joinAhead(peer, h, at, hi, dev.posted)) sim.post(at, this.ARRIVE, peer.index, h, hi, dev.posted);
    dev.posted++;
  }

  /**
   * When the arrival of `h` on `dev` at `at` (tie key `(hi, lo)`) would only queue it for its
   * node's next tick (Network.arrivesAhead, no capture on `dev`): does the arrival now, as of
   * `at`, instead of by an ARRIVE event, and says so.
   */
  private joinAhead(dev: Device<P, N>, h: number, at: number, hi: number, lo: number): boolean {
    const host = this.host;
    if (dev.captureRx !== undefined || dev.captureRxH !== undefined || !host.arrivesAhead?.(at)) return false;
    host.onWire--;
    this.arrived(dev, h, at);
    host.arrive(dev, h, at, hi, lo);
    return true;
  }

  /**
   * A packet that came from another partition (sim/partition.ts): its arrival event at `timeNs`,
   * or, when `late` (`timeNs` is in the window this partition just ran, on a link whose receiving
   * end only queues packets for its node's next tick), the arrival itself now, as of `timeNs`;
   * or, when the arrival would only queue it for a later tick, that now too ({@link joinAhead}:
   * the same condition as for a local transmission, so the tick queue and the statistics are
   * those of a run in one partition).
   */
  arriveFromRemote(dev: Device<P, N>, h: number, timeNs: number, hi: number, lo: number, late: boolean): void {
    if (late) this.receive(dev, h, timeNs, hi, lo);
    else if (!this.joinAhead(dev, h, timeNs, hi, lo)) this.host.sim.post(timeNs, this.ARRIVE, dev.index, h, hi, lo);
  }

  /** The arrival of `h` on `dev` at `now`, by the event of tie key `(hi, lo)`. */
  private receive(dev: Device<P, N>, h: number, now: number, hi: number, lo: number): void {
    const host = this.host;
    const store = host.store;
    host.onWire--;
    if (!host.linkUp(dev.link.index)) {
      host.dropAt(dev.peer.node.index, h, 'link-down', dev.peer);
      return;
    }
    this.arrived(dev, h, now);
    if (dev.captureRxH) dev.captureRxH(h, now);
    if (dev.captureRx) dev.captureRx(host.view(h), now);
    host.arrive(dev, h, now, hi, lo);
  }

  /** The arrival's statistics: the hop delay of the link it came over, the arrival time. */
  private arrived(dev: Device<P, N>, h: number, now: number): void {
    const host = this.host;
    const store = host.store;
    const last = store.lastDev[h]!;
    if (last >= 0) host.devices[last]!.stats.hopDelayNs.add(now - store.arrivedNs[h]!);
    store.arrivedNs[h] = now;
  }
}
