/**
 * Plain-TypeScript baseline of an encapsulating node, inline mode: Linux `ioam6_output` →
 * `ioam6_do_inline` → `ioam6_do_fill` (net/ipv6/ioam6_iptunnel.c). The IPv6 header moves down
 * into the headroom, the pre-rendered Hop-by-Hop header goes after it, then the node fills its
 * own element (is_input = false: Hop_Lim as is).
 * @module
 */
import { Reason } from '../../src/index';
import { scLen } from './fill';
import { nodeLen, TsNode } from './node';
import { appendIncremental, fillPrealloc, P, setOut, Tables } from './transit';

export function encapBatch(node: TsNode, t: Tables, n: number): void {
  for (let i = 0; i < n; i++) encapOne(node, t, i);
}

export function encapOne(node: TsNode, t: Tables, i: number): void {
  const { buf, dv, desc } = t;
  const ss = desc[i * 4]!, se = desc[i * 4 + 1]!, off = desc[i * 4 + 2]!;
  let len = desc[i * 4 + 3]!;
  if (ss > se || se > buf.length || off < ss || off + len > se) return setOut(t, i, Reason.DropBadDescriptor, 0, 0, off, len);
  const plan = node.encap;
  if (!plan) return setOut(t, i, Reason.NoIoam, 0, 0, off, len);
  if (len < 40 || buf[off]! >> 4 !== 6) return setOut(t, i, Reason.DropMalformedIpv6, 0, 0, off, len);
  // As ip6_rcv_core leaves it: 40 + Payload Length (past the end: dropped), unless a jumbogram candidate.
  const plen = dv.getUint16(off + 4);
  if (plen !== 0 || buf[off + 6] !== 0) {
    if (40 + plen > len) return setOut(t, i, Reason.DropMalformedIpv6, 4, 0, off, len);
    len = 40 + plen;
  }
  node.count = (node.count + 1) >>> 0; // freq 1/1: every packet
  if (buf[off + 6] === 0) return setOut(t, i, Reason.SkippedHbhExists, 0, 0, off, len);
  const h = plan.hbh.length;
  const ns = node.namespaces.get(plan.ns);
  const extra = plan.incremental && ns ? (nodeLen(plan.traceType) + scLen(ns, plan.traceType)) * 4 + 4 : 0;
  const newLen = len + h;
  if (off - ss < h + extra || newLen - 40 > 65535) return setOut(t, i, Reason.DropNoRoom, 0, 0, off, len);
  const nb = off - h;
  buf.copyWithin(nb, off, off + 40);
  const innerNh = buf[nb + 6]!;
  buf.set(plan.hbh, nb + 40);
  buf[nb + 40] = innerNh;
  buf[nb + 6] = 0;
  dv.setUint16(nb + 4, newLen - 40);
  if (ns) {
    const hopLim = buf[nb + 7]!;
    if (plan.incremental) {
      P.ss = ss;
      P.off = nb;
      P.len = newLen;
      P.hbhEnd = 40 + h;
      const r = appendIncremental(node, ns, t, 44, plan.traceType, hopLim, i * 8);
      if (r >= 32) return setOut(t, i, r, 0, 0, P.off, P.len);
      return setOut(t, i, Reason.Encapsulated, 0, P.len - len, P.off, P.len);
    }
    fillPrealloc(node, ns, t, nb + 48, plan.traceType, hopLim, i * 8);
  }
  setOut(t, i, Reason.Encapsulated, 0, h, nb, newLen);
}
