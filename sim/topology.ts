/**
 * Topology files: YAML, validated with zod, errors that name the file, line and path
 * (`fabric.yaml:41: links[3].bandwidth: expected a rate like "10Gbps"`).
 *
 * A topology embeds one node-file object per node (the format of docs/DESIGN.md, Linux's names)
 * under `ioam:`; the simulator adds addresses, IOAM roles per domain, links, routes, the encap
 * policy of each domain, traffic and capture points. See docs/SIMULATOR.md for the reference.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { configErrorFromZod, locate, parseYamlSource, type YamlSource } from '../src/config';
import { IoamConfigError } from '../src/errors';
import { minSize } from './packet';

// ---- scalar parsers -------------------------------------------------------------------------

/** bigint (YAML ints are parsed as BigInt) → number when safe. */
const toNum = (v: unknown): unknown =>
  typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

const UNITS_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9 };
/** Parses a duration (`10us`, `1.5ms`, `2s`, or an integer of ns) into integer ns. */
export function parseDurationNs(v: unknown): number | undefined {
  v = toNum(v);
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  // A plain integer is ns (a command-line value is always a string).
  if (/^\s*[0-9]+\s*$/.test(v)) {
    const ns = Number(v);
    return Number.isSafeInteger(ns) ? ns : undefined;
  }
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ns|us|µs|ms|s)\s*$/.exec(v);
  if (!m) return undefined;
  const ns = Math.round(Number(m[1]) * UNITS_NS[m[2]!]!);
  return Number.isSafeInteger(ns) ? ns : undefined;
}
const duration = z.preprocess(
  (v) => parseDurationNs(v) ?? v,
  z.number({ error: 'expected a duration like "10us", "1.5ms" or an integer of ns' }).int().min(0),
);

const RATE_UNITS: Record<string, number> = { bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9, tbps: 1e12 };
/** Parses a bit rate (`10Gbps`, `100Mbps`, or bits per second). */
export function parseRateBps(v: unknown): number | undefined {
  v = toNum(v);
  if (typeof v === 'number') return v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?bps)\s*$/i.exec(v);
  if (!m) return undefined;
  const bps = Number(m[1]) * RATE_UNITS[m[2]!.toLowerCase()]!;
  return bps > 0 ? bps : undefined;
}
const rate = z.preprocess(
  (v) => parseRateBps(v) ?? v,
  z.number({ error: 'expected a rate like "10Gbps", "100Mbps" or bits per second' }).positive(),
);
const int = (min: number, max: number) => z.preprocess(toNum, z.number().int().min(min).max(max));
const prob = z.preprocess(toNum, z.number().min(0).max(1));

/** IPv6 address text → 16 bytes (RFC 4291 §2.2 forms, no embedded IPv4). */
export function parseIpv6(text: string): Uint8Array | undefined {
  const parts = text.split('::');
  if (parts.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(parts[0]!);
  const tail = parts.length === 2 ? groups(parts[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (parts.length === 2 ? fill < 1 : head.length !== 8) return undefined;
  const all = [...head, ...Array<string>(parts.length === 2 ? fill : 0).fill('0'), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  return out;
}
/** 16 bytes → canonical-ish text (lower-case, longest zero run compressed). */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestS = -1;
  let bestL = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestL) { bestS = i; bestL = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestS < 0) return hex.join(':');
  return hex.slice(0, bestS).join(':') + '::' + hex.slice(bestS + bestL).join(':');
}
const ipv6 = z.string().refine((s) => parseIpv6(s) !== undefined, { error: 'expected an IPv6 address' });
/** `addr` or `addr/len` (an interface address with the prefix length of its subnet, docs/ROUTING.md). */
export function parseAddrLenText(s: string): { addr: Uint8Array; len: number } | undefined {
  const m = /^([^/]+)(?:\/([0-9]{1,3}))?$/.exec(s);
  const addr = m ? parseIpv6(m[1]!) : undefined;
  const len = m?.[2] === undefined ? 128 : Number(m[2]);
  return addr && len <= 128 ? { addr, len } : undefined;
}
const ifAddress = z.string().refine((s) => parseAddrLenText(s) !== undefined, { error: 'expected an IPv6 address, optionally with a prefix length (2001:db8:1::1/64)' });

// ---- schema ---------------------------------------------------------------------------------

const queueSchema = z.union([
  z.object({ packets: int(1, 1e9) }).strict(),
  z.object({ bytes: int(64, 1e12) }).strict(),
], { error: 'expected { packets: N } or { bytes: N }' });

const linkParams = {
  delay: duration.optional(),
  bandwidth: rate.optional(),
  queue: queueSchema.optional(),
  loss: prob.optional(),
  jitter: duration.optional(),
};

/**
 * The node-file object (docs/DESIGN.md, src/config.ts `nodeConfigSchema`) without `name` (the
 * topology node's name) and without `encap` (set by the domain's encap policy). Checked in full by
 * `nodeConfigSchema` once links have added their interfaces (see sim/network-config.ts).
 */
const ioamNode = z.looseObject({
  name: z.never({ error: 'the node name comes from nodes[].name; leave it out of ioam' }).optional(),
  encap: z.never({ error: 'set encapsulation with domains[] (the encap policy), not in the node object' }).optional(),
});

const roleSchema = z.object({ ns: int(0, 0xffff), role: z.enum(['encap', 'transit', 'decap']) }).strict();

const nodeSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'expected a name of letters, digits, _ . -' }),
  addresses: z.array(ifAddress).min(1, { error: 'a node needs at least one IPv6 address' }),
  ioam: ioamNode.optional(),
  roles: z.array(roleSchema).optional(),
}).strict();

const endpoint = z.string().regex(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.@-]+)?$/, { error: 'expected "node" or "node:interface"' });
const linkSchema = z.object({ a: endpoint, b: endpoint, ...linkParams }).strict();

const sizeSpec = z.union([
  int(20, 65535),
  z.object({ uniform: z.tuple([int(20, 65535), int(20, 65535)]) }).strict(),
  z.object({ choice: z.array(int(20, 65535)).min(1) }).strict(),
], { error: 'expected a size in bytes, { uniform: [min, max] } or { choice: [a, b, ...] }' });

const pattern = {
  pattern: z.enum(['constant', 'poisson', 'onoff']).optional(),
  rate_pps: z.preprocess(toNum, z.number().positive()),
  on: duration.optional(),
  off: duration.optional(),
  start: duration.optional(),
  stop: duration.optional(),
  count: int(1, 1e9).optional(),
};

/**
 * Sizes of a flow or exchange at least its protocol's headers (IPv6 40 + UDP 8 or TCP 20 bytes):
 * a smaller size is an error naming the value, not a silently bigger packet.
 */
function checkSizes(keys: readonly string[]) {
  return (v: Record<string, unknown>, ctx: z.core.$RefinementCtx) => {
    const proto = (v['proto'] as 'udp' | 'tcp' | undefined) ?? 'udp';
    const min = minSize(proto);
    for (const key of keys) {
      const spec = v[key] as SizeSpec | undefined;
      if (spec === undefined) continue;
      const at: [PropertyKey[], number][] = typeof spec === 'number' ? [[[key], spec]]
        : 'uniform' in spec ? spec.uniform.map((n, i) => [[key, 'uniform', i], n])
        : spec.choice.map((n, i) => [[key, 'choice', i], n]);
      for (const [path, n] of at) {
        if (n < min) ctx.addIssue({ code: 'custom', path, message: `${n} bytes is smaller than a ${proto.toUpperCase()} packet's headers (IPv6 40 + ${proto.toUpperCase()} ${min - 40} = ${min} bytes; sizes include them)` });
      }
    }
  };
}

const flowSchema = z.object({
  name: z.string().min(1),
  from: z.string(),
  to: z.string(),
  proto: z.enum(['udp', 'tcp']).optional(),
  sport: int(0, 65535).optional(),
  dport: int(0, 65535).optional(),
  /** IPv6 packet size in bytes (IPv6 header included, before any IOAM insertion). */
  size: sizeSpec.optional(),
  hop_limit: int(0, 255).optional(),
  traffic_class: int(0, 255).optional(),
  ...pattern,
}).strict().superRefine(checkSizes(['size']));

const requestSchema = z.object({
  name: z.string().min(1),
  client: z.string(),
  server: z.string(),
  proto: z.enum(['udp', 'tcp']).optional(),
  sport: int(0, 65535).optional(),
  dport: int(0, 65535).optional(),
  request_size: sizeSpec.optional(),
  response_size: sizeSpec.optional(),
  hop_limit: int(0, 255).optional(),
  ...pattern,
}).strict().superRefine(checkSizes(['request_size', 'response_size']));

const domainSchema = z.object({
  ns: int(0, 0xffff),
  flows: z.union([z.literal('all'), z.array(z.string())]).optional(),
  mode: z.enum(['inline', 'encap', 'auto']).optional(),
  trace_type: int(1, 0xffffff),
  size: int(4, 244),
  freq: z.object({ k: int(1, 1_000_000), n: int(1, 1_000_000) }).strict().optional(),
  incremental: z.boolean().optional(),
  clt_legacy: z.boolean().optional(),
}).strict();

const captureSchema = z.object({
  node: z.string(),
  interface: z.string().optional(),
  direction: z.enum(['rx', 'tx', 'both']).optional(),
}).strict();

export const topologySchema = z.object({
  name: z.string().optional(),
  seed: z.preprocess(toNum, z.union([z.number().int().min(0), z.bigint().min(0n)])).optional(),
  duration: duration.optional(),
  /** Simulated clock origin: ISO time or POSIX seconds. Default 2026-01-01T00:00:00Z. */
  epoch: z.union([z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'expected an ISO date' }), int(0, 2 ** 32 - 1)]).optional(),
  /** Bytes of L2 framing counted in serialization and queue backlog (Linux counts the Ethernet header). */
  l2_overhead: int(0, 1000).optional(),
  /**
   * Dataplane tick: nodes process what arrived at the next multiple of this period (like NAPI
   * polling), so more packets share a batch. 0 (default) = at the exact arrival instant.
   */
  dataplane_tick: duration.optional(),
  defaults: z.object({ link: z.object(linkParams).strict().optional() }).strict().optional(),
  nodes: z.array(nodeSchema).min(1),
  links: z.array(linkSchema).optional(),
  routes: z.object({
    metric: z.enum(['hops', 'delay']).optional(),
    /** Equal-cost multipath (docs/ROUTING.md): off by default (ties → lowest interface index). */
    ecmp: z.union([z.boolean(), z.object({
      /** Linux net.ipv6.fib_multipath_hash_policy: 0 = L3 (addresses, flow label, next header), 1 = L4 five-tuple. */
      policy: z.preprocess(toNum, z.union([z.literal(0), z.literal(1)], { error: 'expected 0 (L3) or 1 (L4)' })).optional(),
      /** Hash seed; each node's seed is derived from it and the node's name unless set in `seeds`. */
      seed: int(0, 2 ** 32 - 1).optional(),
      seeds: z.record(z.string(), int(0, 2 ** 32 - 1)).optional(),
    }).strict()]).optional(),
    /** Delay between a link/node state change and every node using the recomputed routes. */
    convergence: duration.optional(),
    static: z.array(z.object({
      at: z.string(),
      /** A node name, an address, a prefix (2001:db8::/32) or `default`. */
      to: z.string(),
      /** A neighbour, or several (a multipath route). */
      via: z.union([z.string(), z.array(z.string()).min(1)]),
      /** One positive weight per `via` (default 1 each). */
      weights: z.array(int(1, 255)).optional(),
    }).strict()).optional(),
  }).strict().optional(),
  /** Scheduled link and node state changes (docs/ROUTING.md). */
  failures: z.array(z.object({
    at: duration,
    /** The two endpoints of a link (`node` or `node:interface`), as in links[]. */
    link: z.tuple([endpoint, endpoint]).optional(),
    node: z.string().optional(),
    state: z.enum(['down', 'up']),
  }).strict().refine((f) => (f.link === undefined) !== (f.node === undefined), { error: 'give either link: [a, b] or node: name' })).optional(),
  domains: z.array(domainSchema).optional(),
  traffic: z.object({
    flows: z.array(flowSchema).optional(),
    requests: z.array(requestSchema).optional(),
  }).strict().optional(),
  captures: z.array(captureSchema).optional(),
}).strict();

export type TopologyInput = z.infer<typeof topologySchema>;
export type SizeSpec = z.infer<typeof sizeSpec>;
export type FlowInput = z.infer<typeof flowSchema>;
export type RequestInput = z.infer<typeof requestSchema>;

/** A parsed, validated topology with its source (for error positions). */
export interface LoadedTopology {
  file: string;
  input: TopologyInput;
  /** Raw JS object (YAML integers as BigInt) of each node's `ioam` object. */
  rawIoam: Record<string, unknown>[];
  source: YamlSource;
  /** The file's text (partitions parse it again in their threads). */
  text?: string;
}

/** A semantic error at `path` of the topology (`file:line: path: reason`). */
export function topologyError(t: { source: YamlSource }, path: (string | number)[], reason: string): IoamConfigError {
  const pos = locate(t.source, path);
  return new IoamConfigError([{ file: t.source.fileName, line: pos.line, col: pos.col, path: formatPath(path), reason }]);
}

/** Formats a path as `links[3].bandwidth`. */
export function formatPath(p: readonly PropertyKey[]): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s ? `.${String(k)}` : String(k);
  return s || '<root>';
}

/** Parses and validates topology text. Throws `IoamConfigError` (`file:line: path: reason`). */
export function parseTopology(text: string, file = '<topology>'): LoadedTopology {
  const { source, value } = parseYamlSource(text, file);
  const parsed = topologySchema.safeParse(value ?? {});
  if (!parsed.success) throw configErrorFromZod(parsed.error.issues, source);
  const nodesRaw = ((value as { nodes?: { ioam?: Record<string, unknown> }[] }).nodes ?? []).map((n) => n.ioam ?? {});
  return { file, input: parsed.data, rawIoam: nodesRaw, source, text };
}

/** Reads and validates a topology file. */
export function loadTopology(file: string): LoadedTopology {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new IoamConfigError([{ file, line: 1, col: 1, path: '<file>', reason: `cannot read: ${(e as Error).message}` }]);
  }
  return parseTopology(text, path.basename(file));
}
