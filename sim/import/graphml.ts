/**
 * GraphML import as in the Internet Topology Zoo: `<key attr.name="Latitude" for="node">`,
 * `Longitude`, `label` (the node's name, else its id), `type`; edges with optional `LinkSpeedRaw`
 * (bit/s) and an optional delay attribute (`delay`/`Delay`/`latency`, a duration like "3ms" or
 * ns). Parsed with fast-xml-parser.
 * @module
 */
import { XMLParser } from 'fast-xml-parser';
import { parseDurationNs } from '../topology';
import { safeName, type ImportedGraph, type ImportedNode } from './graph';

export class ImportError extends Error {
  override name = 'ImportError';
}

type XmlNode = Record<string, unknown>;
const arr = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Parses GraphML text into the neutral graph (errors name the file and what is wrong). */
export function parseGraphml(text: string, file: string): ImportedGraph {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, textNodeName: '#text' });
  let doc: XmlNode;
  try {
    doc = parser.parse(text, true) as XmlNode;
  } catch (e) {
    throw new ImportError(`${file}: not well-formed XML: ${(e as Error).message}`);
  }
  const gml = doc['graphml'] as XmlNode | undefined;
  const graph = arr(gml?.['graph'] as XmlNode | XmlNode[] | undefined)[0];
  if (!gml || !graph) throw new ImportError(`${file}: no <graphml><graph> element`);
  // key id → attribute name, per domain.
  const keys = new Map<string, string>();
  for (const k of arr(gml['key'] as XmlNode | XmlNode[])) keys.set(String(k['@id']), String(k['@attr.name'] ?? k['@id']));
  const dataOf = (el: XmlNode): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const d of arr(el['data'] as XmlNode | XmlNode[])) {
      const name = keys.get(String(d['@key'])) ?? String(d['@key']);
      const v = typeof d === 'object' ? d['#text'] : d;
      out[name] = v === undefined ? '' : String(v);
    }
    return out;
  };
  const taken = new Set<string>();
  const byId = new Map<string, ImportedNode>();
  const nodes: ImportedNode[] = [];
  for (const n of arr(graph['node'] as XmlNode | XmlNode[])) {
    const id = String(n['@id'] ?? '');
    if (!id) throw new ImportError(`${file}: <node> without an id`);
    if (byId.has(id)) throw new ImportError(`${file}: duplicate node id ${JSON.stringify(id)}`);
    const d = dataOf(n);
    const node: ImportedNode = { name: safeName(d['label'] || id, taken) };
    if (d['type']) node.kind = d['type'];
    const lat = d['Latitude'] ?? d['latitude'];
    const lon = d['Longitude'] ?? d['longitude'];
    if (lat !== undefined && lon !== undefined && lat !== '' && lon !== '') {
      const la = Number(lat);
      const lo = Number(lon);
      if (!Number.isFinite(la) || Math.abs(la) > 90 || !Number.isFinite(lo) || Math.abs(lo) > 180) {
        throw new ImportError(`${file}: node ${JSON.stringify(id)}: Latitude/Longitude ${lat}, ${lon} are not coordinates in degrees`);
      }
      node.lat = la;
      node.lon = lo;
    }
    byId.set(id, node);
    nodes.push(node);
  }
  const links: ImportedGraph['links'] = [];
  const seen = new Set<string>();
  for (const e of arr(graph['edge'] as XmlNode | XmlNode[])) {
    const s = byId.get(String(e['@source']));
    const t = byId.get(String(e['@target']));
    if (!s || !t) throw new ImportError(`${file}: edge ${String(e['@source'])} -> ${String(e['@target'])}: unknown node id`);
    if (s === t) continue; // self-loops carry nothing between nodes
    const key = [s.name, t.name].sort().join('\u0000');
    if (seen.has(key)) continue; // parallel edges (multigraph Zoo entries): one link
    seen.add(key);
    const d = dataOf(e);
    const link: ImportedGraph['links'][number] = { a: s.name, b: t.name };
    const delayText = d['delay'] ?? d['Delay'] ?? d['latency'];
    if (delayText !== undefined && delayText !== '') {
      const ns = parseDurationNs(/^[0-9]+$/.test(delayText) ? Number(delayText) : delayText);
      if (ns === undefined) throw new ImportError(`${file}: edge ${s.name} - ${t.name}: delay ${JSON.stringify(delayText)} is not a duration`);
      link.delayNs = ns;
    }
    const speed = Number(d['LinkSpeedRaw']);
    if (d['LinkSpeedRaw'] !== undefined && Number.isFinite(speed) && speed > 0) link.bandwidthBps = speed;
    links.push(link);
  }
  return { name: safeName(String(graph['@id'] ?? 'graphml'), new Set()), nodes, links, source: file };
}
