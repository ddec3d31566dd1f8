/**
 * What our Linux-profile dataplane predicts for a chain: the packet goes through each router's
 * {@link Node} (core batch API, one batch per hop) with the meta Linux would see — ingress = the
 * interface toward h1 (index 0), egress = the one toward h2 (index 1), receive time = the kernel
 * timestamp of that hop's capture, queue depth 0 (veth noqueue) — then the router's own hop-limit
 * handling (`ip6_forward`: HL ≤ 1 → Time Exceeded, drop; else HL − 1). h2 processes it as a
 * destination (egress = local delivery).
 * @module
 */
import { PacketBatch, IF_NONE, UNAVAILABLE } from '../../src/batch';
import type { NodeConfig } from '../../src/config';
import { Node } from '../../src/node';

/** The prediction at each point of the path. */
export interface Prediction {
  /** Packet expected at the ingress of node k+1 (r2.., h2) — null if dropped before. Index 0 = what h1 sends. */
  atPoint: (Uint8Array | null)[];
  /** Hop-by-Hop header h2's socket should see, null if h2 drops it or nothing reaches h2. */
  h2Hbh: Uint8Array | null;
  /** The hop limit h2's socket should see. */
  h2HopLimit: number;
  /** ICMPv6 errors toward h1: (type, code). */
  icmp: [number, number][];
  /** Core reason name per node that processed the packet. */
  reasons: string[];
}

const batch = new PacketBatch({ capacity: 1, slotSize: 4096, headroom: 512 });

function ns2meta(tsNs: bigint): { tsSec: number; tsNsec: number } {
  return { tsSec: Number((tsNs / 1_000_000_000n) & 0xffffffffn), tsNsec: Number(tsNs % 1_000_000_000n) };
}

/** One transit through a node; returns the packet (copy) and whether it passes. */
function hop(node: Node, pkt: Uint8Array, ingressIf: number, egressIf: number, tsNs: bigint, queueDepth: number): { pkt: Uint8Array; pass: boolean; reason: string } {
  batch.reset();
  batch.push(pkt, { ingressIf, egressIf, ...ns2meta(tsNs), queueDepth });
  node.transit(batch);
  const o = batch.outcome(0);
  return { pkt: new Uint8Array(batch.packet(0)), pass: o.verdict === 0, reason: o.reasonName ?? String(o.reason) };
}

/**
 * Predicts the path of `injected` through routers `routers` (in order) and destination `h2`.
 * `tsNs[k]` is the receive time at node k (r1.., then h2).
 */
export function predictChain(routers: NodeConfig[], h2: NodeConfig, injected: Uint8Array, tsNs: bigint[]): Prediction {
  const out: Prediction = { atPoint: [new Uint8Array(injected)], h2Hbh: null, h2HopLimit: -1, icmp: [], reasons: [] };
  let pkt: Uint8Array | null = new Uint8Array(injected);
  routers.forEach((cfg, k) => {
    if (!pkt) {
      out.atPoint.push(null);
      return;
    }
    const r = hop(new Node(cfg), pkt, 0, 1, tsNs[k] ?? 0n, 0);
    out.reasons.push(`${cfg.name}:${r.reason}`);
    if (!r.pass) {
      pkt = null;
    } else if (r.pkt.length >= 40 && r.pkt[7]! <= 1) {
      // ip6_forward: hop limit exhausted → ICMPv6 Time Exceeded (3/0) quoting the modified packet.
      out.icmp.push([3, 0]);
      pkt = null;
    } else {
      pkt = r.pkt;
      pkt[7] = pkt[7]! - 1;
    }
    out.atPoint.push(pkt ? new Uint8Array(pkt) : null);
  });
  if (pkt) {
    const p: Uint8Array = pkt;
    const r = hop(new Node(h2), p, 0, IF_NONE, tsNs[routers.length] ?? 0n, UNAVAILABLE);
    out.reasons.push(`${h2.name}:${r.reason}`);
    if (r.pass) {
      out.h2HopLimit = r.pkt[7]!;
      if (r.pkt[6] === 0 && r.pkt.length >= 48) out.h2Hbh = r.pkt.slice(40, 40 + (r.pkt[41]! + 1) * 8);
    }
  }
  return out;
}
