/**
 * The random differential mode: seeded configurations and packets (trace types over bits 0-11,
 * 22 and undefined/reserved bits, pre-allocated sizes incl. too small, known/unknown namespaces,
 * IOAM enabled or not per interface, schemas, 1-4 routers, hop limits incl. 1, 2 and 255,
 * misalignment, malformed lengths, other option codes/types, Destination Options), run on the
 * live chain and compared with {@link predictChain}. Same seed → same cases.
 * @module
 */
import type { NodeConfig } from '../../src/config';
import { Node } from '../../src/node';
import { Chain, H1_ADDR, H2_ADDR } from './chain';
import { comparePackets, remLens, wrapHbh } from './compare';
import { predictChain } from './predict';
import { substream, type Rng } from '../../sim/rng';
import { nodeLenForType } from '../../src/tracetype';
import { extHeader, hex, IPPROTO_DSTOPTS, IPPROTO_HOPOPTS, traceOption, udpPacket } from './packet';

/** The draws of a case, over the simulator's seeded generator (sim/rng.ts, one substream per case). */
class Draw {
  constructor(private readonly r: Rng) {}
  int(lo: number, hi: number): number {
    return this.r.int(lo, hi);
  }
  chance(p: number): boolean {
    return this.r.float() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r.float() * xs.length)]!;
  }
  u32(): number {
    return this.r.next();
  }
  big(bits: number): bigint {
    let v = 0n;
    for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(this.r.next());
    return v & ((1n << BigInt(bits)) - 1n);
  }
}

/** One random case: node configs, the packet, and a description of what was drawn. */
export interface RandomCase {
  index: number;
  routers: number;
  nodes: NodeConfig[];
  packet: Uint8Array;
  payload: Uint8Array;
  /** The drawn parameters, for the report. */
  draw: Record<string, unknown>;
  /** Built with our encap (well-formed draws) — then its bytes were checked against the builder. */
  viaEncap: boolean;
}

const NS_MAIN = 123;
const NS_OTHER = 124;
const PRINTABLE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.:/';

function randomType(rng: Draw): number {
  let t = 0;
  const mode = rng.int(0, 9);
  if (mode === 0) return 0xfff002; // everything Linux fills
  const n = rng.int(1, 6);
  for (let i = 0; i < n; i++) t |= 0x800000 >>> rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 22]);
  if (mode === 9) t |= 0x800000 >>> rng.int(12, 21); // undefined bits
  if (rng.chance(0.05)) t |= 0x000001; // reserved bit 23
  return t;
}

function nodeConfig(rng: Draw, name: string, ifs: string[], knownNs: boolean, nsMain: number): NodeConfig {
  const schemas: NodeConfig['schemas'] = [];
  const namespaces: NodeConfig['namespaces'] = [];
  const addNs = (id: number) => {
    const withSchema = rng.chance(0.35);
    // Schema IDs are u32 in Linux: above 0xFFFFFF the high byte ORs into the OSS Length byte.
    const sid = rng.chance(0.06) ? rng.int(0x1000000, 0xffffffff) : rng.int(0, 2000);
    if (withSchema) {
      const len = rng.chance(0.05) ? rng.int(200, 1020) : rng.chance(0.2) ? rng.int(60, 120) : rng.int(1, 40);
      const text = Array.from({ length: len }, () => rng.pick([...PRINTABLE])).join('').replace(/^ +| +$/g, 'x');
      schemas.push({ id: sid, data: new Uint8Array(Buffer.from(text)) });
    }
    namespaces.push({
      id,
      data: rng.chance(0.7) ? rng.u32() : undefined,
      wide: rng.chance(0.7) ? rng.big(64) : undefined,
      schema: withSchema ? sid : undefined,
      clt_legacy: false,
    });
  };
  if (knownNs) addNs(nsMain);
  if (rng.chance(0.3)) addNs(NS_OTHER);
  return {
    name,
    profile: 'linux',
    ioam6_id: rng.chance(0.1) ? 0xffffff : rng.int(0, 0xffffff),
    ioam6_id_wide: rng.chance(0.1) ? 0x00ffffffffffffffn : rng.big(56),
    interfaces: ifs.map((n, i) => ({
      name: n,
      ioam6_enabled: i === 0 ? rng.chance(0.85) : rng.chance(0.5),
      ioam6_id: rng.chance(0.1) ? 0xffff : rng.int(0, 0xffff),
      ioam6_id_wide: rng.chance(0.1) ? 0xffffffff : rng.u32(),
    })),
    namespaces,
    schemas,
  } as NodeConfig;
}

/** Draws case `index` of seed `seed` (independent of the other cases). */
export function drawCase(seed: number, index: number, ifsOf: (routers: number, node: string) => string[]): RandomCase {
  const rng = new Draw(substream(BigInt(seed), `kernel-check:${index}`));
  const routers = rng.int(1, 4);
  const names = [...Array.from({ length: routers }, (_, i) => `r${i + 1}`), 'h2'];
  // Namespace-IDs 0 (default namespace: an ordinary one in Linux) and 0xFFFF sometimes.
  const nsMain = rng.chance(0.9) ? NS_MAIN : rng.pick([0, 0xffff]);
  const nodes = names.map((n) => nodeConfig(rng, n, ifsOf(routers, n), rng.chance(0.85), nsMain));
  const type = randomType(rng);
  const nl = nodeLenForType(type);
  const tooSmall = rng.chance(0.2);
  const dataWords = tooSmall ? rng.int(0, Math.max(0, nl)) : rng.int(Math.min(61, nl), 61);
  const malformed = rng.chance(0.15) ? rng.pick(['nodelen', 'remlen', 'optlen-short', 'optlen-lt2', 'remlen-62', 'optlen-long', 'remlen-short']) : null;
  const misaligned = rng.chance(0.06);
  const code = rng.chance(0.04) ? 0x11 : 0x31;
  const ioamType = rng.chance(0.06) ? rng.int(1, 4) : 0;
  const inDoh = rng.chance(0.04);
  const flags = (rng.chance(0.06) ? 8 : 0) | (rng.chance(0.1) ? rng.int(0, 7) : 0);
  const ns = rng.chance(0.85) ? nsMain : rng.chance(0.5) ? NS_OTHER : rng.int(0, 0xffff);
  const twoPad1 = rng.chance(0.2);
  const hopLimit = rng.pick([1, 2, 3, 64, 64, 64, 255, rng.int(1, 255)]);
  const second = rng.chance(0.08);
  let nodeLen = nl;
  let remLen = dataWords;
  let optLen: number | undefined;
  if (malformed === 'nodelen') nodeLen = (nl + rng.pick([1, 31])) & 0x1f;
  if (malformed === 'remlen') remLen = Math.min(127, dataWords + rng.int(1, 4));
  if (malformed === 'remlen-62') remLen = 62;
  if (malformed === 'optlen-short') optLen = rng.int(2, 9);
  if (malformed === 'optlen-lt2') optLen = rng.int(0, 1);
  // Longer option than RemainingLen needs: Linux accepts it, the extra bytes count as node data.
  if (malformed === 'optlen-long') optLen = Math.min(10 + dataWords * 4 + 4 * rng.int(1, 3), 254); // stays 2 mod 4: next option 4n-aligned
  if (malformed === 'remlen-short' && dataWords > 0) remLen = rng.int(0, dataWords - 1);
  const opt = traceOption({ ns, nodeLen, flags, remLen, type, dataBytes: dataWords * 4, ioamType, optLen, code });
  const opts: Uint8Array[] = [];
  if (!misaligned) opts.push(twoPad1 ? Uint8Array.of(0, 0) : Uint8Array.of(1, 0));
  opts.push(opt);
  if (second && !misaligned) {
    const t2 = randomType(rng) & ~0x000ffd;
    const w2 = rng.int(0, 20);
    // keep the second option 4n-aligned: the first ends at 44 + 12 + 4n unless its length was forced
    if (optLen === undefined) opts.push(traceOption({ ns: NS_OTHER, nodeLen: nodeLenForType(t2), flags: 0, remLen: w2, type: t2 || 0x800000, dataBytes: w2 * 4 }));
  }
  const optBytes = new Uint8Array(opts.reduce((a, o) => a + o.length, 0));
  let at = 0;
  for (const o of opts) {
    optBytes.set(o, at);
    at += o.length;
  }
  const payload = new Uint8Array(Buffer.from(`ioamsim-rand-${seed}-${index}`));
  const proto = inDoh ? IPPROTO_DSTOPTS : IPPROTO_HOPOPTS;
  const packet = udpPacket({ src: H1_ADDR, dst: H2_ADDR, hopLimit, payload, ext: [{ proto, bytes: extHeader(17, optBytes) }] });
  const draw = { routers, type: '0x' + type.toString(16).padStart(6, '0'), nodeLen, remLen, dataWords, flags, ns, hopLimit, malformed, misaligned, twoPad1, code, ioamType, inDoh, second };
  const wellFormed = !twoPad1 && !malformed && !misaligned && code === 0x31 && ioamType === 0 && !inDoh && !second && flags === 0 && (type & 0x000ffd) === 0 && dataWords > 0;
  return { index, routers, nodes, packet, payload, draw, viaEncap: wellFormed };
}

/**
 * Our encapsulating node (inline, as `ip -6 route ... encap ioam6 mode inline trace prealloc type
 * T ns N size S`) applied to the plain UDP packet: must give the builder's bytes.
 */
export function encapLikeBuilder(c: RandomCase): { ok: boolean; bytes: Uint8Array } {
  const type = Number.parseInt(String(c.draw.type), 16);
  const h1: NodeConfig = {
    name: 'h1', profile: 'linux', ioam6_id: 0xffffff, ioam6_id_wide: 0x00ffffffffffffffn, interfaces: [], namespaces: [], schemas: [],
    encap: { mode: 'inline', trace: { type, ns: Number(c.draw.ns), size: Number(c.draw.dataWords) * 4, incremental: false }, freq: { k: 1, n: 1 }, clt_legacy: false },
  } as NodeConfig;
  const plain = udpPacket({ src: H1_ADDR, dst: H2_ADDR, hopLimit: Number(c.draw.hopLimit), payload: c.payload });
  const r = new Node(h1).encapPacket(plain, {});
  return { ok: Buffer.from(r.packet).equals(Buffer.from(c.packet)), bytes: r.packet };
}

export interface Disagreement {
  index: number;
  where: string;
  problems: string[];
  draw: Record<string, unknown>;
  config: unknown;
  injected: string;
  expected: string;
  actual: string;
}

export interface RandomReport {
  seed: number;
  cases: number;
  agree: number;
  /** Comparisons made (points + socket views + ICMP), and how many agreed. */
  comparisons: number;
  comparisonsAgree: number;
  /** Packets built by our encap (and checked against the builder). */
  encapChecked: number;
  /** Packet comparisons with node data written that were byte-exact, timestamps included (the
   * prediction used the capture's kernel timestamp, which is the `skb->tstamp` Linux's fill reads). */
  exactWithTimestamps: number;
  withTimestamps: number;
  outcomes: Record<string, number>;
  disagreements: Disagreement[];
}

/** The trace type asks for a timestamp (bit 2 or 3). */
function hasTs(c: RandomCase): boolean {
  return (Number.parseInt(String(c.draw.type), 16) & 0x300000) !== 0;
}

function jsonConfig(nodes: NodeConfig[]): unknown {
  return JSON.parse(JSON.stringify(nodes, (_k, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v)));
}

/** Runs `n` random cases of seed `seed`, reusing one chain per router count. */
export function runRandom(n: number, seed: number, onCase?: (i: number) => void): RandomReport {
  const chains = new Map<number, Chain>();
  const chainFor = (r: number) => {
    let c = chains.get(r);
    if (!c) {
      c = Chain.create(r);
      chains.set(r, c);
    }
    return c;
  };
  const report: RandomReport = { seed, cases: n, agree: 0, comparisons: 0, comparisonsAgree: 0, encapChecked: 0, exactWithTimestamps: 0, withTimestamps: 0, outcomes: {}, disagreements: [] };
  try {
    for (let i = 0; i < n; i++) {
      onCase?.(i);
      const c = drawCase(seed, i, (r, node) => chainFor(r).interfacesOf(node));
      const chain = chainFor(c.routers);
      const dis: Disagreement[] = [];
      const base = { index: i, draw: c.draw, config: jsonConfig(c.nodes), injected: hex(c.packet) };
      if (c.viaEncap) {
        report.encapChecked++;
        const e = encapLikeBuilder(c);
        report.comparisons++;
        if (e.ok) report.comparisonsAgree++;
        else dis.push({ ...base, where: 'encap', problems: ['our inline encap differs from the Linux layout (ioam6_iptunnel.c)'], expected: hex(c.packet), actual: hex(e.bytes) });
      }
      c.nodes.forEach((cfg) => chain.configure(cfg.name, cfg));
      const res = chain.probe(c.packet, c.payload);
      // receive times: r1 at the first point (h1 → r1 capture), then each next point; h2 at its socket
      const ts = res.points.map((p) => p.frames[0]?.tsNs ?? 0n);
      if (res.delivered[0]) ts[c.routers] = res.delivered[0].tsNs;
      const pred = predictChain(c.nodes.slice(0, c.routers), c.nodes[c.routers]!, c.packet, ts);
      for (const r of pred.reasons) report.outcomes[r.replace(/^[^:]+:/, '')] = (report.outcomes[r.replace(/^[^:]+:/, '')] ?? 0) + 1;
      const rl = remLens(c.packet);
      res.points.forEach((p, k) => {
        report.comparisons++;
        const exp = pred.atPoint[k] ?? null;
        const act = p.frames.map((f) => f.data.subarray(14));
        const where = `${p.node} ingress`;
        if (act.length !== (exp ? 1 : 0)) {
          dis.push({ ...base, where, problems: [`${act.length} packet(s) arrived, predicted ${exp ? 1 : 0} (${pred.reasons.join(' ')})`], expected: exp ? hex(exp) : '', actual: act.map(hex).join(' ') });
          return;
        }
        if (exp) {
          const cmp = comparePackets(exp, act[0]!, { injectedRemLen: rl, loNs: res.sentNs, hiNs: p.frames[0]!.tsNs });
          if (hasTs(c) && !Buffer.from(exp).equals(Buffer.from(c.packet))) {
            report.withTimestamps++;
            if (cmp.exact) report.exactWithTimestamps++;
          }
          if (!cmp.ok) {
            dis.push({ ...base, where, problems: cmp.problems, expected: hex(exp), actual: hex(act[0]!) });
            return;
          }
        }
        report.comparisonsAgree++;
      });
      // h2's socket view (after h2's own fill)
      report.comparisons++;
      const reached = pred.atPoint[c.routers] !== null;
      const d = res.delivered;
      const expDelivered = reached && pred.h2HopLimit >= 0 ? 1 : 0;
      if (d.length !== expDelivered) {
        dis.push({ ...base, where: 'h2 socket', problems: [`${d.length} datagram(s) delivered, predicted ${expDelivered} (${pred.reasons.join(' ')})`], expected: pred.h2Hbh ? hex(pred.h2Hbh) : '', actual: d.map((x) => (x.hopOpts ? hex(x.hopOpts) : '-')).join(' ') });
      } else if (d.length === 1) {
        const got = d[0]!;
        const problems: string[] = [];
        if (got.hopLimit !== pred.h2HopLimit) problems.push(`hop limit ${got.hopLimit}, predicted ${pred.h2HopLimit}`);
        const eh = pred.h2Hbh;
        const ah = got.hopOpts;
        if (!!eh !== !!ah) problems.push(`Hop-by-Hop header ${ah ? 'present' : 'absent'}, predicted ${eh ? 'present' : 'absent'}`);
        else if (eh && ah) {
          const cmp = comparePackets(wrapHbh(eh), wrapHbh(ah), { injectedRemLen: rl, loNs: res.sentNs, hiNs: got.tsNs });
          problems.push(...cmp.problems);
        }
        if (problems.length) dis.push({ ...base, where: 'h2 socket', problems, expected: eh ? hex(eh) : '', actual: ah ? hex(ah) : '' });
        else report.comparisonsAgree++;
      } else report.comparisonsAgree++;
      // ICMPv6 errors back at h1
      report.comparisons++;
      const icmp = res.icmp.map((f) => [f.data[54]!, f.data[55]!]);
      if (JSON.stringify(icmp) !== JSON.stringify(pred.icmp)) {
        dis.push({ ...base, where: 'h1 icmp', problems: [`ICMPv6 errors ${JSON.stringify(icmp)}, predicted ${JSON.stringify(pred.icmp)}`], expected: '', actual: res.icmp.map((f) => hex(f.data.subarray(14))).join(' ') });
      } else report.comparisonsAgree++;
      if (dis.length === 0) report.agree++;
      report.disagreements.push(...dis);
    }
  } finally {
    for (const c of chains.values()) c.destroy();
  }
  return report;
}
