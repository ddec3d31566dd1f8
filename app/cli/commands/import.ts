/**
 * `ioamsim import FILE --out topo.yaml`: a simulator topology from a containerlab topology or a
 * GraphML graph (Internet Topology Zoo style), by rules (sim/import/rules.ts, docs/ROUTING.md).
 * @module
 */
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { InputError, UsageError } from '../errors';

const HELP = `
Formats (by content: GraphML is XML, anything else is read as a containerlab YAML file):
  containerlab  topology.nodes (kind "linux" = a host) and topology.links[].endpoints
  GraphML       Topology Zoo style: node label, Latitude, Longitude; edge LinkSpeedRaw (bit/s) and
                an optional delay/latency attribute

Rules (docs/ROUTING.md), from --rules FILE (YAML) with flags on top:
  node i (file order) gets address <prefix>:<i>::1/64 and ioam6_id i, interface ids i*100+k;
  edge routers encapsulate and decapsulate, other routers are transit, hosts have no role;
  a link's delay is the file's, else the great-circle distance between its ends at 2/3 c,
  else the default link delay; routes by delay when there are delays, ECMP with the hash policy.
  Rules file keys: name, prefix, ns, trace_type, trace_size, edges, hosts, ecmp_policy, rate_pps,
  duration, link: { delay, bandwidth }.

Examples:
  $ ioamsim import examples/wan-us.graphml --out wan.yaml --edge Seattle,LosAngeles,NewYork,Miami --rate 200
  $ ioamsim import lab.clab.yml --out lab.yaml --ns 7 --ecmp-policy 1
  $ ioamsim run wan.yaml --out out/wan && ioamsim paths out/wan/traces-*.jsonl --topology wan.yaml

Exit codes: 0 ok, 1 unreadable or invalid input (the file and what is wrong), 2 usage.`;

interface ImportOpts {
  out: string;
  rules?: string;
  edge?: string;
  hosts?: string;
  prefix?: string;
  ns?: string;
  ecmpPolicy?: string;
  rate?: string;
  duration?: string;
  name?: string;
}

export function createCommands(ctx: CliContext): Command[] {
  const cmd = new Command('import')
    .summary('a topology from containerlab or GraphML (Topology Zoo) files')
    .description('Write a simulator topology from a containerlab topology or a GraphML graph')
    .argument('<file>', 'containerlab topology (YAML) or GraphML file')
    .requiredOption('-o, --out <file>', 'topology file to write (YAML)')
    .option('--rules <file>', 'rules file (YAML, keys listed below)')
    .option('--edge <names>', 'comma-separated edge routers (encapsulate + decapsulate)')
    .option('--hosts <names>', 'comma-separated hosts (no IOAM role)')
    .option('--prefix <hextets>', 'address prefix, e.g. 2001:db8 (node i gets <prefix>:<i>::1/64)')
    .option('--ns <id>', 'IOAM namespace of the domain (default 123)')
    .addOption(new Option('--ecmp-policy <p>', 'ECMP hash policy (Linux fib_multipath_hash_policy)').choices(['0', '1']))
    .option('--rate <pps>', 'add a flow between every ordered pair of edge routers at this rate')
    .option('--duration <t>', 'simulated time of the topology, e.g. 100ms')
    .option('--name <name>', 'topology name')
    .addHelpText('after', HELP)
    .action(async (file: string, o: ImportOpts) => {
      const fs = await import('node:fs');
      const path = await import('node:path');
      const { parse: parseYaml } = await import('yaml');
      const { parseGraphml, ImportError } = await import('../../../sim/import/graphml');
      const { parseContainerlab } = await import('../../../sim/import/containerlab');
      const { importRulesSchema, topologyFromGraph, topologyYaml } = await import('../../../sim/import/rules');
      const { parseTopology } = await import('../../../sim/topology');
      const read = (f: string) => {
        try {
          return fs.readFileSync(f, 'utf8');
        } catch (e) {
          throw new InputError(`${f}: cannot read: ${(e as Error).message}`);
        }
      };
      let rulesIn: unknown = {};
      if (o.rules) {
        try {
          rulesIn = parseYaml(read(o.rules)) ?? {};
        } catch (e) {
          throw new InputError(`${o.rules}: not YAML: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      const rules = importRulesSchema.safeParse(rulesIn);
      if (!rules.success) {
        const i = rules.error.issues[0]!;
        throw new InputError(`${o.rules}: ${i.path.join('.') || '<root>'}: ${i.message}`);
      }
      const r = { ...rules.data };
      const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
      if (o.edge !== undefined) r.edges = list(o.edge);
      if (o.hosts !== undefined) r.hosts = list(o.hosts);
      if (o.prefix !== undefined) {
        if (!/^[0-9a-fA-F]{1,4}(:[0-9a-fA-F]{1,4}){0,4}$/.test(o.prefix)) throw new UsageError(`--prefix must be up to five hextets like 2001:db8, got ${JSON.stringify(o.prefix)}`);
        r.prefix = o.prefix;
      }
      if (o.ns !== undefined) {
        const n = Number(o.ns);
        if (!/^[0-9]+$/.test(o.ns) || n > 0xffff) throw new UsageError(`--ns must be an integer 0..65535, got ${JSON.stringify(o.ns)}`);
        r.ns = n;
      }
      if (o.ecmpPolicy !== undefined) r.ecmp_policy = Number(o.ecmpPolicy) as 0 | 1;
      if (o.rate !== undefined) {
        const n = Number(o.rate);
        if (!(n > 0)) throw new UsageError(`--rate must be a positive number of packets per second, got ${JSON.stringify(o.rate)}`);
        r.rate_pps = n;
      }
      if (o.duration !== undefined) r.duration = o.duration;
      if (o.name !== undefined) r.name = o.name;
      const text = read(file);
      const isXml = /^\s*(<\?xml|<graphml)/.test(text);
      try {
        const g = isXml ? parseGraphml(text, file) : parseContainerlab(text, file);
        const topo = topologyFromGraph(g, r);
        const yaml = topologyYaml(topo, `Imported by "ioamsim import" from ${path.basename(file)} (${isXml ? 'GraphML' : 'containerlab'}): ${g.nodes.length} nodes, ${g.links.length} links.\nRules: docs/ROUTING.md "Import".`);
        parseTopology(yaml, path.basename(o.out)); // what we write must load
        fs.writeFileSync(o.out, yaml);
        ctx.stderr.write(`${o.out}: ${g.nodes.length} nodes, ${g.links.length} links, ${(topo['nodes'] as { roles?: { role: string }[] }[]).filter((n) => n.roles?.some((x) => x.role === 'encap')).length} edge routers\n`);
      } catch (e) {
        if (e instanceof ImportError) throw new InputError(e.message, { cause: e });
        throw e;
      }
    });
  return [cmd];
}
