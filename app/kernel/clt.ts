/**
 * The `--cases clt` mode: both Cross-Layer Telemetry encodings (docs/CLT.md §2) through real,
 * unmodified Linux transit nodes on a chain h1 — r1..r4 — h2, compared byte for byte with our
 * Linux-profile dataplane ({@link predictChain}), and what each hop leaves of the trace/span IDs.
 *
 * - **legacy**: the CLT kernel patch's layout (16-byte trace ID + 8-byte span ID right after the
 *   8-byte trace header, then the data space), written by our encap with `encap.clt_legacy`.
 *   An unpatched node takes the ID block for the start of the data space (`ipv6_hop_ioam` only
 *   checks Opt Data Len ≥ 10 + RemainingLen×4) and writes its element 24 bytes too early
 *   (`__ioam6_fill_trace_data`: data + RemainingLen×4 − NodeLen×4): the IDs are overwritten once
 *   RemainingLen×4 < 24 + NodeLen×4.
 * - **oss**: the signalled encoding, RFC 9197 §4.4.2.13: an Opaque State Snapshot with the CLT
 *   schema (ID 0x00C17D, Length 6, data = trace ID + span ID) in the encapsulating node's element.
 *   Built with `encode` (src/decode.ts) and cross-checked against our encap with a schema 0xC17D
 *   bound on the encapsulating node (Linux's per-namespace OSS has exactly that layout).
 * @module
 */
import type { NodeConfig } from '../../src/config';
import { decode, encode, type DecodedPacket, type Trace } from '../../src/decode';
import { Node } from '../../src/node';
import { Chain, H1_ADDR, H2_ADDR } from './chain';
import { comparePackets, remLens, wrapHbh } from './compare';
import { predictChain } from './predict';
import { hex, udpPacket } from './packet';

/** The CLT schema ID of the signalled encoding (docs/CLT.md §2.2). */
export const CLT_SCHEMA_ID = 0x00c17d;
/** Fixed IDs of the check (OpenTelemetry byte order). */
export const CLT_TRACE_ID = Uint8Array.from(Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex'));
export const CLT_SPAN_ID = Uint8Array.from(Buffer.from('00f067aa0ba902b7', 'hex'));
const IDS = new Uint8Array([...CLT_TRACE_ID, ...CLT_SPAN_ID]);
const NS = 123;
const ROUTERS = 4;

/** What one point of the path shows of the IDs and to the decoders. */
export interface CltHop {
  /** Where the packet was observed: `r2 ingress` (= after r1), ..., `h2 socket` (after h2's fill). */
  point: string;
  present: boolean;
  remainingLen?: number;
  overflow?: boolean;
  /** Trace ID / span ID as a CLT decoder reads them (legacy block or the oldest OSS). */
  traceIdIntact?: boolean;
  spanIdIntact?: boolean;
  /** What an RFC 9197 decoder (ours, standard layout) says: node count and any error. */
  rfcDecoder?: string;
  /** What the CLT-legacy decoder says (legacy only). */
  cltDecoder?: string;
}

export interface CltCaseResult {
  name: string;
  encoding: 'legacy' | 'oss';
  description: string;
  ok: boolean;
  problems: string[];
  comparisons: number;
  comparisonsAgree: number;
  /** legacy: points where a CLT-patched prediction (namespaces `clt_legacy: true`) differs from
   * the kernel (the control: the kernel really writes 24 bytes earlier than a patched node). */
  patchedDiffers?: number;
  /** oss: the `encode` builder and our encap (schema 0xC17D bound) gave the same bytes. */
  buildersAgree?: boolean;
  reasons: string[];
  hops: CltHop[];
  injected: string;
  /** Point → [expected, actual] hex where they differ. */
  detail: Record<string, [string, string]>;
}

export interface CltReport {
  cases: number;
  agree: number;
  results: CltCaseResult[];
}

/** r1..r4 and h2: unmodified Linux nodes (no `clt_legacy`), ingress enabled; r2 has a bound schema. */
export function cltNodes(chain: { interfacesOf(n: string): string[] }): NodeConfig[] {
  const names = [...Array.from({ length: ROUTERS }, (_, i) => `r${i + 1}`), 'h2'];
  return names.map((name, k) => {
    const ifs = chain.interfacesOf(name);
    const withSchema = name === 'r2';
    return {
      name, profile: 'linux', ioam6_id: 0x10 + k + 1, ioam6_id_wide: BigInt(0x1010101 * (k + 1)),
      interfaces: ifs.map((n, i) => ({ name: n, ioam6_enabled: i === 0, ioam6_id: (k + 1) * 100 + i + 1, ioam6_id_wide: (k + 1) * 100100 + i + 1 })),
      namespaces: [{ id: NS, data: 0xc0de0000 + k + 1, wide: 0xc1c1c1c100000000n + BigInt(k + 1), schema: withSchema ? 42 : undefined, clt_legacy: false }],
      schemas: withSchema ? [{ id: 42, data: new Uint8Array(Buffer.from('r2-schema-data')) }] : [],
    } as NodeConfig;
  });
}

/** The encapsulating node h1 (not a kernel node: our core builds its packets). */
function h1Config(type: number, size: number, legacy: boolean, ossSchema: boolean): NodeConfig {
  return {
    name: 'h1', profile: 'linux', ioam6_id: 0x10, ioam6_id_wide: 0x10101010n,
    interfaces: [{ name: 'h1-r1', ioam6_enabled: true, ioam6_id: 11, ioam6_id_wide: 1101 }],
    namespaces: [{ id: NS, data: 0xc0de0000, clt_legacy: legacy, schema: ossSchema ? CLT_SCHEMA_ID : undefined }],
    schemas: ossSchema ? [{ id: CLT_SCHEMA_ID, data: IDS }] : [],
    encap: { mode: 'inline', trace: { type, ns: NS, size, incremental: false }, freq: { k: 1, n: 1 }, clt_legacy: legacy },
  } as NodeConfig;
}

function plain(payload: Uint8Array): Uint8Array {
  return udpPacket({ src: H1_ADDR, dst: H2_ADDR, hopLimit: 64, payload });
}

/** Legacy packet: our encap with `clt_legacy` and the IDs. */
export function legacyPacket(type: number, size: number, payload: Uint8Array): Uint8Array {
  const r = new Node(h1Config(type, size, true, false)).encapPacket(plain(payload), { egressIf: 0 }, IDS);
  if (r.reasonName !== 'Encapsulated') throw new Error(`our encap refused the legacy packet: ${r.reasonName}`);
  return r.packet;
}

/**
 * The signalled packet built with `encode`: a Pre-allocated trace whose only element (h1's, as
 * Linux's encapsulating node fills it for a local packet: HL not decremented, ingress id and
 * timestamps unavailable) ends with the CLT snapshot.
 */
export function ossPacketEncoded(type: number, size: number, payload: Uint8Array): Uint8Array {
  const base = decode(plain(payload));
  const h1 = h1Config(type, size, false, true);
  const elem: Record<string, unknown> = {};
  if (type & 0x800000) Object.assign(elem, { hopLimit: 64, nodeId: h1.ioam6_id });
  if (type & 0x400000) Object.assign(elem, { ingressIfId: 0xffff, egressIfId: h1.interfaces[0]!.ioam6_id });
  if (type & 0x200000) elem.timestampSecs = 0xffffffff;
  if (type & 0x100000) elem.timestampFrac = 0xffffffff;
  if (type & ~0xf00002) throw new Error('ossPacketEncoded: only bits 0-3 and 22');
  elem.oss = { length: 6, schemaId: CLT_SCHEMA_ID, data: hex(IDS) };
  const nodeLen = ((type & 0x800000) ? 1 : 0) + ((type & 0x400000) ? 1 : 0) + ((type & 0x200000) ? 1 : 0) + ((type & 0x100000) ? 1 : 0);
  const used = nodeLen * 4 + 4 + 24;
  const trace: Trace = {
    namespaceId: NS, nodeLen, flags: { overflow: false, loopback: false, active: false, bit3: false },
    remainingLen: (size - used) / 4, traceType: type, reserved: 0, nodes: [elem],
  };
  const pkt: DecodedPacket = {
    ...base,
    extHeaders: [{ kind: 'hop-by-hop', options: [{ option: { kind: 'ioam', reserved: 0, data: { type: 'preallocated-trace', ...trace } } }] }],
  };
  return encode(pkt, { linuxPadding: true });
}

/** The same packet from our encap, with schema 0xC17D (data = the IDs) bound on h1's namespace. */
export function ossPacketViaEncap(type: number, size: number, payload: Uint8Array): Uint8Array {
  const r = new Node(h1Config(type, size, false, true)).encapPacket(plain(payload), { egressIf: 0 });
  if (r.reasonName !== 'Encapsulated') throw new Error(`our encap refused the OSS packet: ${r.reasonName}`);
  return r.packet;
}

function firstTrace(p: DecodedPacket): { t: Trace | undefined; error?: string } {
  for (const h of p.extHeaders) {
    for (const o of h.options ?? []) {
      if (o.option.kind === 'ioam' && (o.option.data.type === 'preallocated-trace')) {
        const { type: _t, ...t } = o.option.data;
        return { t: t as Trace, error: o.error ? `${o.error.code}: ${o.error.what}` : undefined };
      }
    }
  }
  return { t: undefined };
}

/** What a point shows (see {@link CltHop}); `ipv6` is a packet or a wrapped Hop-by-Hop header. */
export function inspect(point: string, ipv6: Uint8Array | null, encoding: 'legacy' | 'oss'): CltHop {
  if (!ipv6) return { point, present: false };
  const std = firstTrace(decode(ipv6));
  const h: CltHop = { point, present: true };
  if (!std.t) return { ...h, rfcDecoder: 'no trace' };
  h.remainingLen = std.t.remainingLen;
  h.overflow = std.t.flags.overflow;
  h.rfcDecoder = `${std.t.nodes.length} element(s)${std.error ? `, error ${std.error}` : ''}${std.t.trailing ? `, ${std.t.trailing.length / 2} trailing byte(s)` : ''}`;
  if (encoding === 'legacy') {
    const leg = firstTrace(decode(ipv6, { clt: 'legacy' }));
    h.traceIdIntact = leg.t?.clt?.traceId === hex(CLT_TRACE_ID);
    h.spanIdIntact = leg.t?.clt?.spanId === hex(CLT_SPAN_ID);
    if (leg.t) {
      const ids = leg.t.nodes.map((n) => (n.nodeId === undefined ? '?' : `0x${n.nodeId.toString(16)}`));
      h.cltDecoder = `${leg.t.nodes.length} element(s) [node ids ${ids.join(',')}]${leg.error ? `, error ${leg.error}` : ''}`;
    }
  } else {
    // The encapsulating node's element is the oldest: the last one, newest first.
    const oss = std.t.nodes[std.t.nodes.length - 1]?.oss;
    const ok = oss?.schemaId === CLT_SCHEMA_ID && oss.length === 6;
    h.traceIdIntact = ok && oss!.data.slice(0, 32) === hex(CLT_TRACE_ID);
    h.spanIdIntact = ok && oss!.data.slice(32, 48) === hex(CLT_SPAN_ID);
  }
  return h;
}

interface CltSpec {
  name: string;
  encoding: 'legacy' | 'oss';
  type: number;
  size: number;
  description: string;
}

/** The cases: legacy (IDs overwritten at r2 and r3, Overflow at r4), oss (fits), oss (Overflow at r3). */
export const CLT_CASES: CltSpec[] = [
  { name: 'clt_legacy_unpatched', encoding: 'legacy', type: 0xf00000, size: 64, description: 'legacy CLT block, 64 B for 4 × 16-B elements, 4 unpatched Linux routers + h2' },
  { name: 'clt_oss', encoding: 'oss', type: 0xf00002, size: 160, description: 'OSS schema 0xC17D at h1, room for every node (r2 with a bound 14-B schema)' },
  { name: 'clt_oss_overflow', encoding: 'oss', type: 0xf00002, size: 100, description: 'OSS schema 0xC17D at h1, room for h1, r1, r2 only: r3 sets Overflow' },
];

/** Runs one CLT case on the chain. */
export function runCltCase(chain: Chain, spec: CltSpec): CltCaseResult {
  const nodes = cltNodes(chain);
  const payload = new Uint8Array(Buffer.from(`ioamsim-${spec.name}`));
  const res: CltCaseResult = {
    name: spec.name, encoding: spec.encoding, description: spec.description, ok: true, problems: [], comparisons: 0, comparisonsAgree: 0, reasons: [], hops: [], injected: '', detail: {},
  };
  let pkt: Uint8Array;
  if (spec.encoding === 'legacy') {
    pkt = legacyPacket(spec.type, spec.size, payload);
  } else {
    pkt = ossPacketEncoded(spec.type, spec.size, payload);
    const viaEncap = ossPacketViaEncap(spec.type, spec.size, payload);
    res.comparisons++;
    res.buildersAgree = Buffer.from(pkt).equals(Buffer.from(viaEncap));
    if (res.buildersAgree) res.comparisonsAgree++;
    else {
      res.problems.push('encode() and our encap (schema 0xC17D bound) built different packets');
      res.detail.builder = [hex(pkt), hex(viaEncap)];
    }
  }
  res.injected = hex(pkt);
  nodes.forEach((c) => chain.configure(c.name, c));
  const probe = chain.probe(pkt, payload);
  const ts = probe.points.map((p) => p.frames[0]?.tsNs ?? 0n);
  if (probe.delivered[0]) ts[ROUTERS] = probe.delivered[0].tsNs;
  const pred = predictChain(nodes.slice(0, ROUTERS), nodes[ROUTERS]!, pkt, ts);
  res.reasons = pred.reasons;
  const rl = remLens(pkt);
  probe.points.forEach((p, k) => {
    res.comparisons++;
    const exp = pred.atPoint[k] ?? null;
    const act = p.frames.map((f) => f.data.subarray(14));
    const where = `${p.node} ingress`;
    if (k > 0) res.hops.push(inspect(where, act[0] ?? null, spec.encoding));
    if (act.length !== (exp ? 1 : 0)) {
      res.problems.push(`${where}: ${act.length} packet(s), predicted ${exp ? 1 : 0}`);
      return;
    }
    if (exp) {
      const cmp = comparePackets(exp, act[0]!, { injectedRemLen: rl, loNs: probe.sentNs, hiNs: p.frames[0]!.tsNs });
      if (!cmp.ok) {
        res.problems.push(...cmp.problems.map((x) => `${where}: ${x}`));
        res.detail[where] = [hex(exp), hex(act[0]!)];
        return;
      }
    }
    res.comparisonsAgree++;
  });
  if (spec.encoding === 'legacy') {
    const patched = nodes.map((c) => ({ ...c, namespaces: c.namespaces.map((n) => ({ ...n, clt_legacy: true })) }) as NodeConfig);
    const pp = predictChain(patched.slice(0, ROUTERS), patched[ROUTERS]!, pkt, ts);
    res.patchedDiffers = probe.points.filter((p, k) => {
      const e = pp.atPoint[k];
      const a = p.frames[0]?.data.subarray(14);
      return !!e !== !!a || (e && a && !comparePackets(e, a, { injectedRemLen: rl, loNs: probe.sentNs, hiNs: p.frames[0]!.tsNs }).ok);
    }).length;
    if (res.patchedDiffers === 0) res.problems.push('control: a CLT-patched prediction agrees with the kernel too (the check cannot tell the layouts apart)');
  }
  res.comparisons++;
  const d = probe.delivered;
  const expDelivered = pred.atPoint[ROUTERS] !== null && pred.h2HopLimit >= 0 ? 1 : 0;
  if (d.length !== expDelivered) res.problems.push(`h2 socket: ${d.length} datagram(s), predicted ${expDelivered}`);
  else if (d.length === 1) {
    const got = d[0]!;
    const probs: string[] = [];
    if (got.hopLimit !== pred.h2HopLimit) probs.push(`hop limit ${got.hopLimit}, predicted ${pred.h2HopLimit}`);
    if (!got.hopOpts || !pred.h2Hbh) probs.push('Hop-by-Hop header missing');
    else {
      const cmp = comparePackets(wrapHbh(pred.h2Hbh), wrapHbh(got.hopOpts), { injectedRemLen: rl, loNs: probe.sentNs, hiNs: got.tsNs });
      probs.push(...cmp.problems);
      if (!cmp.ok) res.detail['h2 socket'] = [hex(pred.h2Hbh), hex(got.hopOpts)];
    }
    if (probs.length) res.problems.push(...probs.map((x) => `h2 socket: ${x}`));
    else res.comparisonsAgree++;
    res.hops.push(inspect('h2 socket', got.hopOpts ? wrapHbh(got.hopOpts) : null, spec.encoding));
  } else res.comparisonsAgree++;
  res.comparisons++;
  const icmp = probe.icmp.map((f) => [f.data[54]!, f.data[55]!]);
  if (JSON.stringify(icmp) !== JSON.stringify(pred.icmp)) res.problems.push(`h1: ICMPv6 ${JSON.stringify(icmp)}, predicted ${JSON.stringify(pred.icmp)}`);
  else res.comparisonsAgree++;
  // What the encodings promise: oss keeps the IDs everywhere; legacy is expected to lose them.
  if (spec.encoding === 'oss') {
    for (const h of res.hops) if (h.present && !(h.traceIdIntact && h.spanIdIntact)) res.problems.push(`${h.point}: CLT IDs not intact in the OSS encoding`);
    for (const h of res.hops) if (h.present && h.rfcDecoder?.includes('error')) res.problems.push(`${h.point}: RFC decoder error on the OSS encoding: ${h.rfcDecoder}`);
  }
  res.ok = res.problems.length === 0;
  return res;
}

/** Runs the CLT cases on one h1 — r1..r4 — h2 chain (namespaces removed afterwards). */
export function runClt(onProgress?: (what: string) => void): CltReport {
  const chain = Chain.create(ROUTERS);
  const results: CltCaseResult[] = [];
  try {
    for (const c of CLT_CASES) {
      onProgress?.(c.name);
      results.push(runCltCase(chain, c));
    }
  } finally {
    chain.destroy();
  }
  return { cases: results.length, agree: results.filter((r) => r.ok).length, results };
}

/** Human lines for the report. */
export function formatClt(r: CltReport): string[] {
  const lines = [`clt: ${r.agree}/${r.cases} cases agree with our Linux-profile dataplane (unmodified kernel transit nodes)`];
  for (const c of r.results) {
    lines.push(`  ${c.ok ? 'ok' : 'DISAGREE'} ${c.name} (${c.description}): ${c.comparisonsAgree}/${c.comparisons} comparisons${c.patchedDiffers !== undefined ? `; a CLT-patched prediction differs from the kernel at ${c.patchedDiffers} point(s)` : ''}${c.buildersAgree !== undefined ? `, encode() = our encap: ${c.buildersAgree}` : ''}`);
    lines.push(`    outcomes: ${c.reasons.join(' ')}`);
    for (const h of c.hops) {
      if (!h.present) {
        lines.push(`    ${h.point}: not received`);
        continue;
      }
      const ids = `trace ID ${h.traceIdIntact ? 'intact' : 'LOST'}, span ID ${h.spanIdIntact ? 'intact' : 'LOST'}`;
      lines.push(`    ${h.point}: RemLen ${h.remainingLen}${h.overflow ? ' O' : ''}; ${ids}; RFC decoder: ${h.rfcDecoder}${h.cltDecoder ? `; CLT decoder: ${h.cltDecoder}` : ''}`);
    }
    for (const p of c.problems) lines.push(`    problem: ${p}`);
    for (const [pt, [e, a]] of Object.entries(c.detail)) lines.push(`    ${pt} expected ${e}`, `    ${pt} actual   ${a}`);
  }
  return lines;
}
