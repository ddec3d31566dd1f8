/**
 * The CLT layer's transport over the real simulator (sim/network.ts, sim/traffic.ts): a message
 * (one request or one response) is split into TCP-like segments that {@link Traffic.send}
 * originates at the sending host; every node's dataplane step is the Rust core's batch API
 * (encapsulating host → transit routers → decapsulating host). The IDs reach the core through the
 * simulator's `cltIds` hook (the batch's 24-byte-per-packet `clt` table), the removed Hop-by-Hop
 * header comes back through `onTrace`, message completion through `onDeliver`.
 *
 * The simulator's topology file has no field for the signalled CLT encoding yet (`domains[]` maps
 * `clt_legacy` only), so {@link buildCltNetwork} sets `encap.clt_oss_schema` on the encapsulating
 * nodes' validated configs after the {@link Network} is built and before the dataplane pool is
 * created from them (what runSimulation in sim/run.ts does in one go).
 * @module
 */
import { Network, type SimHooks, type SimPacket, type TraceRecord } from '../network';
import { DataplanePool } from '../pool';
import type { Rng } from '../rng';
import type { LoadedTopology } from '../topology';
import { Traffic } from '../traffic';
import type { CltIds } from './ioam';

/** Largest application payload per packet (1500-byte MTU, IPv6 40, HbH ≤ 160, TCP 20). */
export const MSS = 1280;
/** IPv6 + TCP header bytes of a segment. */
const HEADERS = 60;

/** A message (one request or one response) to carry over the network. */
export interface Message {
  from: string;
  to: string;
  /** Application bytes; split into segments of at most {@link MSS} bytes of payload. */
  bytes: number;
  /** IDs the encapsulating node writes into each packet, or null (untraced). */
  ids: CltIds | null;
  sport: number;
  dport: number;
}

/** What the CLT layer needs from a packet network. */
export interface CltTransport {
  /** Sends a message; `onDone` runs when its last segment has been delivered. */
  send(msg: Message, onDone: () => void): void;
}

/** A decapsulated trace: the Hop-by-Hop bytes the core removed at the destination. */
export interface CltTraceEvent {
  hbh: Uint8Array;
  rxNs: number;
  node: string;
  /** The packet after decapsulation (IPv6 header + TCP header: addresses and ports). */
  packet: Uint8Array;
  /** When the sending host handed the packet to its stack (simulated ns; the encapsulating node's send time). */
  sentNs: number;
}

/** `SimPacket.app` of a CLT segment. */
interface SegmentApp {
  clt: true;
  msg: number;
  ids: CltIds | null;
}

/** Result of {@link buildCltNetwork}. */
export interface CltNet {
  net: Network;
  traffic: Traffic;
  transport: CltTransport & { readonly drops: Map<string, number> };
  /** Runs the simulation to `durationNs` (and closes the dataplane pool). */
  run(durationNs: number): Promise<void>;
}

/**
 * Builds the network of `topo` with the CLT hooks. `cltOssSchema` (signalled encoding) is set on
 * every encapsulating node's encap config. `onTrace` gets every decapsulated trace.
 */
export function buildCltNetwork(
  topo: LoadedTopology,
  o: { seed: bigint; durationNs: number; cltOssSchema?: number; onTrace: (e: CltTraceEvent) => void; workers?: number },
): CltNet {
  let transport!: SimTransport;
  const hooks: SimHooks = {
    cltIds: ({ packet }) => {
      const a = packet.app as SegmentApp | undefined;
      if (!a || a.clt !== true || !a.ids) return undefined;
      const b = new Uint8Array(24);
      b.set(a.ids.traceId, 0);
      b.set(a.ids.spanId, 16);
      return b;
    },
    onTrace: (rec: TraceRecord, hbh: Uint8Array, p: SimPacket) => o.onTrace({ hbh, rxNs: rec.t_ns, node: rec.node, packet: p.bytes, sentNs: p.createdNs }),
    onDeliver: ({ packet }) => transport.delivered(packet),
    onDrop: ({ packet, reason }) => transport.dropped(packet, reason),
  };
  const net = new Network(topo, { seed: o.seed, batchSize: 256, hooks });
  if (o.cltOssSchema !== undefined) {
    for (const n of net.nodes) if (n.config.encap) n.config.encap = { ...n.config.encap, clt_oss_schema: o.cltOssSchema };
  }
  const traffic = new Traffic(net, o.durationNs);
  traffic.install(topo.input.traffic?.flows ?? [], topo.input.traffic?.requests ?? []);
  transport = new SimTransport(net, traffic);
  net.pool = new DataplanePool({ workers: o.workers ?? 0, configs: net.nodes.map((n) => n.config), nodeNames: net.nodes.map((n) => n.name) });
  return {
    net, traffic, transport,
    run: async (durationNs: number) => {
      net.sim.stopAt(durationNs);
      try {
        await net.sim.run();
      } finally {
        await net.pool.close();
      }
    },
  };
}

/** Messages over {@link Traffic.send} (see module doc). */
export class SimTransport implements CltTransport {
  private nextMsg = 0;
  private readonly pending = new Map<number, { left: number; onDone: () => void }>();
  /** Segments dropped (by reason); a message with a dropped segment never completes. */
  readonly drops = new Map<string, number>();

  constructor(private readonly net: Network, private readonly traffic: Traffic) {}

  private node(name: string): number {
    const i = this.net.nodes.findIndex((n) => n.name === name);
    if (i < 0) throw new Error(`CLT transport: no node ${name}`);
    return i;
  }

  send(msg: Message, onDone: () => void): void {
    const id = this.nextMsg++;
    const segs = Math.max(1, Math.ceil(msg.bytes / MSS));
    this.pending.set(id, { left: segs, onDone });
    const app: SegmentApp = { clt: true, msg: id, ids: msg.ids };
    const from = this.node(msg.from);
    const to = this.node(msg.to);
    for (let k = 0, rest = msg.bytes; k < segs; k++, rest -= MSS) {
      // Segments leave back to back (no TCP dynamics); the egress queue paces them.
      this.traffic.send({
        from, to, flow: { index: 2000, name: 'clt', kind: 'app' }, proto: 'tcp', sport: msg.sport, dport: msg.dport,
        size: HEADERS + Math.min(MSS, Math.max(0, rest)), app,
      });
    }
  }

  delivered(p: SimPacket): void {
    const a = p.app as SegmentApp | undefined;
    if (!a || a.clt !== true) return;
    const m = this.pending.get(a.msg);
    if (!m) return;
    if (--m.left === 0) {
      this.pending.delete(a.msg);
      m.onDone();
    }
  }

  dropped(p: SimPacket, reason: string): void {
    const a = p.app as SegmentApp | undefined;
    if (!a || a.clt !== true) return;
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }
}

/** Poisson arrival times in [startNs, stopNs) at `ratePerSec`. */
export function poissonTimes(rng: Rng, ratePerSec: number, startNs: number, stopNs: number): number[] {
  const out: number[] = [];
  const mean = 1e9 / ratePerSec;
  for (let t = startNs + Math.round(rng.exp(mean)); t < stopNs; t += Math.max(1, Math.round(rng.exp(mean)))) out.push(t);
  return out;
}
