/**
 * From an imported graph to a simulator topology (YAML text), by rules the user can override
 * (a small rules file, flags on top):
 *
 * - addresses: node i (1-based, file order) gets `<prefix>:<i in hex>::1/64` (prefix default
 *   `2001:db8`), so every node announces its own /64;
 * - IOAM: node ids i, interface ids i*100 + k (k = 1, 2, ... per interface, when below 65536);
 *   one domain (ns default 123, trace type 0xf20000: ids, interfaces, timestamps, queue depth);
 * - roles: hosts (containerlab kind `linux`, or listed in `hosts`) have none; edge nodes
 *   (`edges`, default: the routers next to a host) encapsulate and decapsulate; every other
 *   router is transit;
 * - links: delay from the file, else the great-circle distance at 2/3 c when both ends have
 *   coordinates, else the rules' `link.delay`; bandwidth from the file, else `link.bandwidth`;
 * - routes: shortest paths by delay when coordinates gave delays, else hops; ECMP with
 *   `ecmp_policy` (default 0, Linux's);
 * - traffic: with `rate_pps`, a constant-rate UDP flow between every ordered pair of edge nodes
 *   (their hosts when they have some).
 * @module
 */
import { Document, isMap, isSeq, type YAMLSeq } from 'yaml';
import { z } from 'zod';
import { fibreDelayNs, type ImportedGraph } from './graph';
import { ImportError } from './graphml';

export const importRulesSchema = z.object({
  name: z.string().optional(),
  prefix: z.string().regex(/^[0-9a-fA-F]{1,4}(:[0-9a-fA-F]{1,4}){0,4}$/, { error: 'expected up to five hextets, like 2001:db8' }).optional(),
  ns: z.number().int().min(0).max(0xffff).optional(),
  trace_type: z.number().int().min(1).max(0xffffff).optional(),
  trace_size: z.number().int().min(4).max(244).optional(),
  edges: z.array(z.string()).optional(),
  hosts: z.array(z.string()).optional(),
  ecmp_policy: z.union([z.literal(0), z.literal(1)]).optional(),
  rate_pps: z.number().positive().optional(),
  duration: z.string().optional(),
  link: z.object({ delay: z.string().optional(), bandwidth: z.string().optional() }).strict().optional(),
}).strict();
export type ImportRules = z.infer<typeof importRulesSchema>;

/** The topology (as a plain object) for a graph and rules. */
export function topologyFromGraph(g: ImportedGraph, r: ImportRules): Record<string, unknown> {
  const names = new Set(g.nodes.map((n) => n.name));
  for (const k of ['edges', 'hosts'] as const) {
    for (const n of r[k] ?? []) if (!names.has(n)) throw new ImportError(`${k}: no node ${JSON.stringify(n)} in ${g.source} (nodes: ${[...names].slice(0, 20).join(', ')}${names.size > 20 ? ', ...' : ''})`);
  }
  const hosts = new Set(r.hosts ?? g.nodes.filter((n) => n.kind === 'linux').map((n) => n.name));
  const neighbours = new Map<string, Set<string>>(g.nodes.map((n) => [n.name, new Set()]));
  for (const l of g.links) {
    neighbours.get(l.a)!.add(l.b);
    neighbours.get(l.b)!.add(l.a);
  }
  const edges = new Set(r.edges ?? g.nodes.filter((n) => !hosts.has(n.name) && [...neighbours.get(n.name)!].some((m) => hosts.has(m))).map((n) => n.name));
  for (const e of edges) if (hosts.has(e)) throw new ImportError(`edges: ${e} is a host (hosts have no IOAM role)`);
  const ns = r.ns ?? 123;
  const prefix = r.prefix ?? '2001:db8';
  const ifCount = new Map<string, number>();
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const links = g.links.map((l) => {
    const out: Record<string, unknown> = { a: l.aIf ? `${l.a}:${l.aIf}` : l.a, b: l.bIf ? `${l.b}:${l.bIf}` : l.b };
    const delay = l.delayNs ?? fibreDelayNs(byName.get(l.a)!, byName.get(l.b)!);
    if (delay !== undefined) out['delay'] = `${delay}ns`;
    if (l.bandwidthBps !== undefined) out['bandwidth'] = l.bandwidthBps;
    ifCount.set(l.a, (ifCount.get(l.a) ?? 0) + 1);
    ifCount.set(l.b, (ifCount.get(l.b) ?? 0) + 1);
    return out;
  });
  const anyDelay = links.some((l) => l['delay'] !== undefined);
  const nodes = g.nodes.map((n, i) => {
    const id = i + 1;
    const node: Record<string, unknown> = { name: n.name, addresses: [`${prefix}:${id.toString(16)}::1/64`] };
    if (hosts.has(n.name)) return node;
    node['ioam'] = { ioam6_id: id };
    node['roles'] = edges.has(n.name) ? [{ ns, role: 'encap' }, { ns, role: 'decap' }] : [{ ns, role: 'transit' }];
    return node;
  });
  // Interface ids i*100 + k: interfaces in link order, named as the simulator names them.
  if (g.nodes.length * 100 + Math.max(0, ...ifCount.values()) < 65536) {
    const ifs = new Map<string, { name: string; ioam6_enabled: boolean; ioam6_id: number }[]>();
    g.links.forEach((l) => {
      for (const [me, peer, ifn] of [[l.a, l.b, l.aIf], [l.b, l.a, l.bIf]] as const) {
        if (hosts.has(me)) continue;
        const list = ifs.get(me) ?? [];
        let name = ifn ?? `${me}-${peer}`;
        if (!ifn) for (let k = 2; list.some((x) => x.name === name); k++) name = `${me}-${peer}-${k}`;
        list.push({ name, ioam6_enabled: true, ioam6_id: (g.nodes.findIndex((x) => x.name === me) + 1) * 100 + list.length + 1 });
        ifs.set(me, list);
      }
    });
    nodes.forEach((n) => {
      const list = ifs.get(n['name'] as string);
      if (list && n['ioam']) (n['ioam'] as Record<string, unknown>)['interfaces'] = list;
    });
    // Links name their interfaces explicitly so the ids above apply to them.
    const used = new Map<string, string[]>();
    g.links.forEach((l, li) => {
      for (const [side, me] of [['a', l.a], ['b', l.b]] as const) {
        if (hosts.has(me)) continue;
        const list = ifs.get(me)!;
        const taken = used.get(me) ?? [];
        const entry = list[taken.length]!;
        taken.push(entry.name);
        used.set(me, taken);
        links[li]![side] = `${me}:${entry.name}`;
      }
    });
  }
  const topo: Record<string, unknown> = {
    name: r.name ?? g.name,
    seed: 1,
    duration: r.duration ?? (anyDelay ? '200ms' : '10ms'),
    defaults: { link: { delay: r.link?.delay ?? '10us', bandwidth: r.link?.bandwidth ?? '10Gbps', queue: { packets: 1000 } } },
    nodes,
    links,
    routes: { metric: anyDelay ? 'delay' : 'hops', ecmp: { policy: r.ecmp_policy ?? 0 } },
    domains: [{ ns, mode: 'inline', trace_type: r.trace_type ?? 0xf20000, size: r.trace_size ?? 240 }],
  };
  if (r.rate_pps !== undefined) {
    const endpointOf = (e: string) => [...neighbours.get(e)!].find((m) => hosts.has(m)) ?? e;
    const flows: Record<string, unknown>[] = [];
    const list = [...edges];
    for (const a of list) for (const b of list) if (a !== b) flows.push({ name: `${a}-${b}`, from: endpointOf(a), to: endpointOf(b), rate_pps: r.rate_pps, size: 500 });
    if (flows.length) topo['traffic'] = { flows };
  }
  return topo;
}

/** The topology as YAML text with a header saying where it came from. */
export function topologyYaml(topo: Record<string, unknown>, header: string): string {
  const doc = new Document(topo);
  // One line per link, flow, interface, role and address list: easier to read and edit.
  const flowItems = (seq: unknown) => {
    if (isSeq(seq)) for (const it of (seq as YAMLSeq).items) if (isMap(it) || isSeq(it)) it.flow = true;
  };
  flowItems(doc.getIn(['links']));
  flowItems(doc.getIn(['traffic', 'flows']));
  const nodes = doc.getIn(['nodes']);
  if (isSeq(nodes)) {
    nodes.items.forEach((_, i) => {
      const a = doc.getIn(['nodes', i, 'addresses']);
      if (isSeq(a)) a.flow = true;
      flowItems(doc.getIn(['nodes', i, 'ioam', 'interfaces']));
      flowItems(doc.getIn(['nodes', i, 'roles']));
    });
  }
  const body = doc.toString({ lineWidth: 0 });
  return header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n') + '\n' + body;
}
