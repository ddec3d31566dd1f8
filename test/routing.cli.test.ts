/**
 * `ioamsim paths` and `ioamsim import`: the path table of trace files equals the run's summary;
 * a capture's traces are prefixes of the simulated paths; imported GraphML gets great-circle
 * delays (checked against the distance computed here) and the committed wan-us.yaml is what the
 * importer writes; an imported containerlab lab runs with IOAM paths matching its routes; bad
 * input exits 1 naming the file.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as cliRun } from '../app/cli/main';
import { runSimulation } from '../sim/run';
import { loadTopology } from '../sim/topology';
import { io } from './io.helpers';

const EX = (f: string) => join(__dirname, '..', 'examples', f);
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `ioamsim-${p}-`));

describe('ioamsim paths', () => {
  test('trace files give the same path table as the run summary (failure example)', async () => {
    const dir = tmp('paths');
    const o = io();
    assert.equal(await cliRun(['run', EX('failure.yaml'), '--out', dir], o), 0, o.err);
    const files = readdirSync(dir).filter((f) => f.startsWith('traces-')).sort().map((f) => join(dir, f));
    const p = io();
    assert.equal(await cliRun(['paths', '--format', 'json', '--topology', EX('failure.yaml'), ...files], p), 0, p.err);
    const fromCli = JSON.parse(p.out).flows as Record<string, { paths: { path: string; packets: number }[]; changes_total: number }>;
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).paths as typeof fromCli;
    // Same flows, paths and counts (the summary sees traces in time order; files are per node, so changes may list differently).
    assert.deepEqual(Object.keys(fromCli).sort(), Object.keys(summary).sort());
    for (const k of Object.keys(summary)) {
      const a = fromCli[k]!.paths.map((x) => `${x.path}:${x.packets}`).sort();
      const b = summary[k]!.paths.map((x) => `${x.path}:${x.packets}`).sort();
      assert.deepEqual(a, b, k);
    }
    const t = io();
    assert.equal(await cliRun(['paths', '--topology', EX('failure.yaml'), ...files], t), 0, t.err);
    assert.match(t.out, /f1 ns 200: \d+ packet\(s\), 2 path\(s\), 1 change\(s\)\n {2}\[0\] l1 > s1 > l3 .*\n {6}interfaces \(in>out\): 65535>111 {2}101>103 {2}131>65535/);
  });

  test('a capture: IOAM traces in flight are prefixes of the simulated paths', async () => {
    const dir = tmp('paths-cap');
    const r = await runSimulation(EX('leaf-spine.yaml'), { outDir: dir, durationNs: 500_000 });
    const ids = new Map(r.network.nodes.map((n) => [n.name, n.config.ioam6_id]));
    const simPaths = new Set(Object.values(r.summary['paths'] as Record<string, { paths: { path: string }[] }>).flatMap((f) => f.paths.map((p) => p.path.split(' > ').map((n) => ids.get(n)).join(','))));
    const p = io();
    assert.equal(await cliRun(['paths', '--format', 'json', join(dir, 's1-s1-l1.pcapng')], p), 0, p.err);
    const j = JSON.parse(p.out) as { sources: { traced: number }[]; flows: Record<string, { paths: { node_ids: number[] }[] }> };
    assert.ok(j.sources[0]!.traced > 0);
    let n = 0;
    for (const f of Object.values(j.flows)) {
      for (const path of f.paths) {
        n++;
        const pre = path.node_ids.join(',');
        assert.ok([...simPaths].some((s) => s === pre || s.startsWith(pre + ',')), `capture path ${pre} is no prefix of ${[...simPaths].join(' | ')}`);
      }
    }
    assert.ok(n >= 2);
  });

  test('Parquet trace files give the same table as their JSON Lines twins; a damaged one exits 1 naming it', async () => {
    const dir = tmp('paths-pq');
    const o = io();
    assert.equal(await cliRun(['run', EX('failure.yaml'), '--out', dir, '--outputs', 'traces,traces-parquet'], o), 0, o.err);
    const of = (ext: string) => readdirSync(dir).filter((f) => f.startsWith('traces-') && f.endsWith(ext)).sort().map((f) => join(dir, f));
    assert.ok(of('.parquet').length >= 2);
    const table = async (files: string[]) => {
      const p = io();
      assert.equal(await cliRun(['paths', '--format', 'json', ...files], p), 0, p.err);
      return JSON.parse(p.out) as { sources: { records: number }[]; flows: unknown };
    };
    const a = await table(of('.jsonl'));
    const b = await table(of('.parquet'));
    assert.deepEqual(b.flows, a.flows);
    assert.deepEqual(b.sources.map((x) => x.records), a.sources.map((x) => x.records));
    assert.ok(Object.keys(a.flows as object).length > 0);
    const bad = join(dir, 'cut.parquet');
    writeFileSync(bad, readFileSync(of('.parquet')[0]!).subarray(0, 100));
    const e = io();
    assert.equal(await cliRun(['paths', bad], e), 1);
    assert.match(e.err, /cut\.parquet: not a readable Parquet trace file/);
  });

  test('bad input: exit 1 naming the file and line', async () => {
    const f = join(tmp('bad'), 'x.jsonl');
    writeFileSync(f, '{"t_ns":1,"flow":"a","options":[]}\nnot json\n');
    const o = io();
    assert.equal(await cliRun(['paths', f], o), 1);
    assert.match(o.err, /x\.jsonl:2: not JSON/);
  });
});

describe('ioamsim import', () => {
  test('GraphML: great-circle delays at 2/3 c; the committed wan-us.yaml is the importer output and runs', async () => {
    const out = join(tmp('imp'), 'wan.yaml');
    const o = io();
    assert.equal(await cliRun(['import', EX('wan-us.graphml'), '-o', out, '--edge', 'Seattle,LosAngeles,NewYork,Miami', '--rate', '200', '--duration', '100ms'], o), 0, o.err);
    const text = readFileSync(out, 'utf8');
    assert.equal(text, readFileSync(EX('wan-us.yaml'), 'utf8'), 'examples/wan-us.yaml is regenerated by the command in docs/ROUTING.md');
    const t = loadTopology(out).input;
    // Seattle (47.6062, -122.3321) - New York... here Seattle - San Francisco (37.7749, -122.4194):
    // spherical law of cosines (another formula than the importer's haversine), R = 6371 km.
    const r = Math.PI / 180;
    const d = 6371e3 * Math.acos(Math.sin(47.6062 * r) * Math.sin(37.7749 * r) + Math.cos(47.6062 * r) * Math.cos(37.7749 * r) * Math.cos((122.4194 - 122.3321) * r));
    const link = t.links!.find((l) => l.a.startsWith('Seattle:') && l.b.startsWith('SanFrancisco:'))!;
    assert.ok(Math.abs(link.delay! - d / (2 / 3 * 299792458) * 1e9) < 1000, `delay ${link.delay} vs ${d} m`);
    assert.ok(Math.abs(d - 1_093_000) < 5000, `Seattle - San Francisco is about 1,093 km, got ${d}`);
    assert.equal(t.routes?.metric, 'delay');
    const roles = Object.fromEntries(t.nodes.map((n) => [n.name, (n.roles ?? []).map((x) => x.role).join('+')]));
    assert.equal(roles['Seattle'], 'encap+decap');
    assert.equal(roles['Chicago'], 'transit');
    assert.equal(t.traffic!.flows!.length, 12);
  });

  test('containerlab: hosts, edge routers by adjacency, interface names kept; the lab runs with IOAM paths == routes', async () => {
    const dir = tmp('clab');
    const clab = join(dir, 'lab.clab.yml');
    writeFileSync(clab, [
      'name: lab',
      'topology:',
      '  nodes:',
      '    r1: { kind: nokia_srlinux }',
      '    r2: { kind: nokia_srlinux }',
      '    r3: { kind: nokia_srlinux }',
      '    r4: { kind: nokia_srlinux }',
      '    h1: { kind: linux }',
      '    h2: { kind: linux }',
      '  links:',
      '    - endpoints: ["r1:e1-1", "r2:e1-1"]',
      '    - endpoints: ["r1:e1-2", "r3:e1-1"]',
      '    - endpoints: ["r2:e1-2", "r4:e1-1"]',
      '    - endpoints: [{ node: r3, interface: ethernet-1/2 }, { node: r4, interface: e1-2 }]',
      '    - endpoints: ["h1:eth1", "r1:e1-3"]',
      '    - endpoints: ["h2:eth1", "r4:e1-3"]',
      '    - endpoints: ["r1:e1-9", "host:r1-e1-9"]',
      '',
    ].join('\n'));
    const out = join(dir, 'lab.yaml');
    const o = io();
    assert.equal(await cliRun(['import', clab, '-o', out, '--ecmp-policy', '1', '--rate', '20000', '--duration', '2ms', '--ns', '7'], o), 0, o.err);
    const t = loadTopology(out).input;
    const roles = Object.fromEntries(t.nodes.map((n) => [n.name, (n.roles ?? []).map((x) => `${x.ns}:${x.role}`).join('+')]));
    assert.deepEqual(roles, { r1: '7:encap+7:decap', r2: '7:transit', r3: '7:transit', r4: '7:encap+7:decap', h1: '', h2: '' });
    assert.ok(t.links!.some((l) => l.a === 'r3:ethernet-1-2'), JSON.stringify(t.links));
    assert.equal(t.links!.length, 6, 'the host: link is left out');
    const r = await runSimulation(out);
    const pc = r.summary['paths_check'] as { checked: number; mismatches: number };
    assert.ok(pc.checked > 0);
    assert.equal(pc.mismatches, 0);
    const p = r.summary['paths'] as Record<string, { paths: { path: string }[] }>;
    assert.deepEqual(Object.keys(p).sort(), ['r1-r4 ns 7', 'r4-r1 ns 7']);
  });

  test('a rules file sets prefix, namespace, edges and flows; flags override it', async () => {
    const dir = tmp('rules');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'prefix: "2001:db8:77"\nns: 9\nedges: [Seattle, Miami]\nrate_pps: 50\nlink: { bandwidth: 1Gbps }\n');
    const out = join(dir, 'wan.yaml');
    const o = io();
    assert.equal(await cliRun(['import', EX('wan-us.graphml'), '-o', out, '--rules', rules, '--ns', '11'], o), 0, o.err);
    const t = loadTopology(out).input;
    assert.equal(t.nodes[0]!.addresses[0], '2001:db8:77:1::1/64');
    assert.deepEqual(t.nodes.filter((n) => n.roles?.some((x) => x.role === 'encap')).map((n) => n.name).sort(), ['Miami', 'Seattle']);
    assert.ok(t.nodes.every((n) => (n.roles ?? []).every((x) => x.ns === 11)), 'the flag overrides the rules file');
    assert.deepEqual(t.traffic!.flows!.map((f) => f.name).sort(), ['Miami-Seattle', 'Seattle-Miami']);
    assert.equal(t.defaults!.link!.bandwidth, 1e9);
    const bad = io();
    writeFileSync(rules, 'prefixx: 1\n');
    assert.equal(await cliRun(['import', EX('wan-us.graphml'), '-o', out, '--rules', rules], bad), 1);
    assert.match(bad.err, /rules\.yaml: .*prefixx/);
  });

  test('bad input exits 1 naming the file', async () => {
    const dir = tmp('imp-bad');
    const f = join(dir, 'x.graphml');
    writeFileSync(f, '<?xml version="1.0"?><graphml><graph><node id="a"/><edge source="a" target="b"/></graph></graphml>');
    const o = io();
    assert.equal(await cliRun(['import', f, '-o', join(dir, 'y.yaml')], o), 1);
    assert.match(o.err, /x\.graphml: edge a -> b: unknown node id/);
    const o2 = io();
    assert.equal(await cliRun(['import', EX('wan-us.graphml'), '-o', join(dir, 'y.yaml'), '--edge', 'Atlantis'], o2), 1);
    assert.match(o2.err, /edges: no node "Atlantis"/);
    const o3 = io();
    writeFileSync(f, 'name: x\n');
    assert.equal(await cliRun(['import', f, '-o', join(dir, 'y.yaml')], o3), 1);
    assert.match(o3.err, /x\.graphml: topology\.nodes: expected a map/);
  });
});
