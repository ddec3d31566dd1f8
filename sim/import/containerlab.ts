/**
 * containerlab topology import: `name`, `topology.nodes` (a map of node name → { kind, ... }) and
 * `topology.links[].endpoints`, either `["node:iface", "node:iface"]` or the newer
 * `[{ node, interface }, ...]`. Interface names are kept (characters a topology endpoint cannot
 * hold become `-`).
 * @module
 */
import { parse as parseYaml } from 'yaml';
import { ImportError } from './graphml';
import type { ImportedGraph } from './graph';

const ifName = (s: string) => s.replace(/[^A-Za-z0-9_.@-]/g, '-');

export function parseContainerlab(text: string, file: string): ImportedGraph {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ImportError(`${file}: not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const d = doc as { name?: unknown; topology?: { nodes?: unknown; links?: unknown } } | null;
  const topo = d?.topology;
  if (!topo || typeof topo.nodes !== 'object' || topo.nodes === null || Array.isArray(topo.nodes)) {
    throw new ImportError(`${file}: topology.nodes: expected a map of node names (a containerlab topology)`);
  }
  const nodes = Object.entries(topo.nodes as Record<string, { kind?: unknown } | null>).map(([name, n]) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ImportError(`${file}: topology.nodes.${name}: a node name of letters, digits, _ . - is needed`);
    return { name, kind: typeof n?.kind === 'string' ? n.kind : undefined };
  });
  const names = new Set(nodes.map((n) => n.name));
  /** containerlab's special endpoints (not lab nodes): such links are left out. */
  const special = (e: unknown) => typeof e === 'string' && /^(host|mgmt-net|macvlan|vxlan|vxlan-stitch|dummy):/.test(e) && !names.has(e.split(':')[0]!);
  const rawLinks = (Array.isArray(topo.links) ? topo.links : []) as { endpoints?: unknown }[];
  const links = rawLinks.map((l, i) => [l, i] as const).filter(([l]) => !(Array.isArray(l?.endpoints) && l.endpoints.some(special))).map(([l, i]) => {
    const eps = l?.endpoints;
    if (!Array.isArray(eps) || eps.length !== 2) throw new ImportError(`${file}: topology.links[${i}].endpoints: expected two endpoints`);
    const [a, b] = eps.map((e: unknown, j: number) => {
      let node: string;
      let iface: string | undefined;
      if (typeof e === 'string') [node, iface] = e.split(':') as [string, string | undefined];
      else if (e && typeof e === 'object' && typeof (e as { node?: unknown }).node === 'string') {
        node = (e as { node: string }).node;
        const x = (e as { interface?: unknown }).interface;
        iface = typeof x === 'string' ? x : undefined;
      } else throw new ImportError(`${file}: topology.links[${i}].endpoints[${j}]: expected "node:interface" or { node, interface }`);
      if (!names.has(node)) throw new ImportError(`${file}: topology.links[${i}].endpoints[${j}]: unknown node ${JSON.stringify(node)}`);
      return { node, iface: iface ? ifName(iface) : undefined };
    }) as [{ node: string; iface?: string }, { node: string; iface?: string }];
    return { a: a.node, b: b.node, aIf: a.iface, bIf: b.iface };
  });
  return { name: typeof d?.name === 'string' ? d.name : 'containerlab', nodes, links, source: file };
}
