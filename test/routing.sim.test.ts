/**
 * Routing in the simulator: on every example the IOAM-observed paths agree exactly with the
 * routing tables (and the check does catch a wrong table); ECMP under policy 1 keeps each flow on
 * one path and spreads 1,000 flows evenly over two spines; the failure example's path change shows
 * in the IOAM path table at the right time; topology errors name file, line and field.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation, type RunResult } from '../sim/run';
import { PathTruth } from '../sim/paths/truth';
import { computeFib } from '../sim/routing/compute';
import type { FlowPathsJson } from '../sim/paths/table';
import type { SimPacket, TraceRecord } from '../sim/network';

const EX = (f: string) => join(__dirname, '..', 'examples', f);
type Check = { checked: number; mismatches: number; unverifiable: number; examples: string[] };
const paths = (r: RunResult) => r.summary['paths'] as Record<string, FlowPathsJson>;
const check = (r: RunResult) => r.summary['paths_check'] as Check;

describe('IOAM paths == routing truth', () => {
  // Topologies only (examples/sweep.yaml is a sweep specification, docs/SCALE.md).
  const examples = readdirSync(join(__dirname, '..', 'examples')).filter((f) => f.endsWith('.yaml') && /^nodes:/m.test(readFileSync(EX(f), 'utf8'))).sort();
  test('there are examples to check', () => assert.ok(examples.length >= 8, examples.join(', ')));
  for (const f of examples) {
    test(`${f}: every traced path agrees with the routing tables`, async () => {
      const r = await runSimulation(EX(f));
      const c = check(r);
      assert.ok(c.checked > 0, `${f}: no trace checked (${JSON.stringify(c)})`);
      assert.equal(c.unverifiable, 0, JSON.stringify(c));
      assert.equal(c.mismatches, 0, c.examples.join('\n'));
    });
  }

  test('the check catches traces that disagree with the tables (ECMP traces against single-path tables)', async () => {
    const kept: [TraceRecord, Uint8Array, SimPacket][] = [];
    const r = await runSimulation(EX('leaf-spine-ecmp.yaml'), { durationNs: 500_000, hooks: { onTrace: (rec, hbh, p) => kept.push([rec, hbh.slice(), { ...p, bytes: p.bytes.slice() }]) } });
    const net = r.network;
    const wrong = computeFib({ ...net.routing.input, ecmp: false });
    net.routing.history.splice(0, net.routing.history.length, { fromNs: 0, fib: wrong });
    const t = new PathTruth(net);
    for (const [rec, hbh, p] of kept) t.check(rec, hbh, p);
    assert.ok(kept.length > 0);
    assert.ok(t.mismatches > 0 && t.mismatches < t.checked, `mismatches ${t.mismatches} of ${t.checked}`);
  });
});

describe('path table', () => {
  test('leaf-spine: the kv exchange\'s requests and responses are two flows, each on one path (no change without a failure)', async () => {
    const p = paths(await runSimulation(EX('leaf-spine.yaml')));
    const req = p['kv ns 200']!;
    const resp = p['kv (response) ns 200']!;
    assert.ok(req && resp, Object.keys(p).join(', '));
    assert.ok(req.packets > 0 && resp.packets > 0);
    for (const f of [req, resp]) {
      assert.equal(f.paths.length, 1, f.paths.map((x) => x.path).join(' | '));
      assert.equal(f.changes_total, 0);
    }
    assert.deepEqual(resp.paths[0]!.node_ids, [...req.paths[0]!.node_ids].reverse());
  });
});

describe('ECMP', () => {
  test('leaf-spine-ecmp: both spines carry traffic, every flow keeps one path (policy 1)', async () => {
    const r = await runSimulation(EX('leaf-spine-ecmp.yaml'));
    const p = paths(r);
    assert.equal(Object.keys(p).length, 16);
    for (const [flow, f] of Object.entries(p)) assert.equal(f.paths.length, 1, `${flow}: ${f.paths.map((x) => x.path).join(' | ')}`);
    const spines = new Set(Object.values(p).map((f) => f.paths[0]!.path.split(' > ')[1]));
    assert.deepEqual([...spines].sort(), ['s1', 's2']);
    const hops = r.summary['hops'] as Record<string, { tx_packets: number }>;
    for (const d of ['l1:l1-s1', 'l1:l1-s2', 's1:s1-l3', 's2:s2-l2']) assert.ok(hops[d]!.tx_packets > 0, d);
  });

  test('1,000 flows: each on one path, 45-55 % over each spine', async () => {
    const text = readFileSync(EX('leaf-spine-ecmp.yaml'), 'utf8').replace(/traffic:[\s\S]*$/, '');
    const hosts = ['h11', 'h12', 'h21', 'h22', 'h31', 'h32'];
    let flows = 'traffic:\n  flows:\n';
    for (let i = 0; i < 1000; i++) {
      const a = hosts[i % 6]!;
      const b = hosts[(i % 6 + 2 + (Math.floor(i / 6) % 3 === 0 ? 0 : 1)) % 6]!;
      if (a[1] === b[1]) throw new Error('same leaf');
      flows += `    - { name: f${i}, from: ${a}, to: ${b}, sport: ${10000 + i}, dport: ${443 + (i % 7)}, rate_pps: 100000, count: 3, start: ${i * 2000}, size: 200 }\n`;
    }
    const r = await runSimulation({ text: text + flows, file: 'ecmp-1000.yaml' }, { durationNs: 2_100_000 });
    const p = paths(r);
    assert.equal(Object.keys(p).length, 1000);
    let s1 = 0;
    for (const [flow, f] of Object.entries(p)) {
      assert.equal(f.packets, 3, flow);
      assert.equal(f.paths.length, 1, `${flow} took ${f.paths.length} paths`);
      if (f.paths[0]!.path.includes('s1')) s1++;
    }
    assert.ok(s1 >= 450 && s1 <= 550, `${s1} of 1000 flows over s1`);
    assert.equal(check(r).mismatches, 0);
  });
});

describe('failures', () => {
  test('failure.yaml: flows on l1-s1 move to s2 after 5 ms + 50 us, seen in the IOAM path table', async () => {
    const r = await runSimulation(EX('failure.yaml'));
    const s = r.summary as { drops: Record<string, number>; routing: { recomputed_at_ns: number[] } };
    assert.deepEqual(s.routing.recomputed_at_ns, [5_050_000]);
    assert.ok((s.drops['link-down'] ?? 0) > 0, JSON.stringify(s.drops));
    const usesL1S1 = (path: string) => /l1 > s1|s1 > l1/.test(path);
    let moved = 0;
    for (const [flow, f] of Object.entries(paths(r))) {
      const first = f.paths[0]!;
      if (!usesL1S1(first.path)) {
        assert.equal(f.paths.length, 1, `${flow} did not use l1-s1 and must not move`);
        continue;
      }
      moved++;
      assert.equal(f.paths.length, 2, flow);
      assert.equal(f.changes_total, 1, flow);
      const after = f.paths[1]!;
      assert.ok(!usesL1S1(after.path) && after.path.includes('s2'), `${flow}: ${after.path}`);
      assert.ok(first.last_ns < 5_050_000, `${flow}: old path until ${first.last_ns}`);
      assert.ok(after.first_ns >= 5_050_000 && after.first_ns < 5_300_000, `${flow}: new path from ${after.first_ns}`);
      assert.equal(f.changes[0]!.t_ns, after.first_ns);
    }
    assert.ok(moved >= 4, `${moved} flows moved`);
    assert.equal(check(r).mismatches, 0);
  });

  test('a node down then up: flows over it move away and come back (same hash, same path again)', async () => {
    const base = readFileSync(EX('failure.yaml'), 'utf8');
    const text = base.replace('  - { at: 5ms, link: [l1, s1], state: down }', '  - { at: 3ms, node: s1, state: down }\n  - { at: 6ms, node: s1, state: up }').replace('convergence: 50us', 'convergence: 0');
    const r = await runSimulation({ text, file: 'node-failure.yaml' });
    const s = r.summary as { drops: Record<string, number>; routing: { recomputed_at_ns: number[] } };
    assert.deepEqual(s.routing.recomputed_at_ns, [3_000_000, 6_000_000]);
    let moved = 0;
    for (const [flow, f] of Object.entries(paths(r))) {
      if (!f.paths[0]!.path.includes('s1')) {
        assert.equal(f.changes_total, 0, flow);
        continue;
      }
      moved++;
      assert.equal(f.paths.length, 2, flow);
      assert.equal(f.changes_total, 2, `${flow}: away and back`);
      assert.ok(f.changes[0]!.t_ns >= 3_000_000 && f.changes[0]!.t_ns < 3_200_000, JSON.stringify(f.changes));
      assert.ok(f.changes[1]!.t_ns >= 6_000_000 && f.changes[1]!.t_ns < 6_200_000, JSON.stringify(f.changes));
      assert.ok(f.paths[1]!.path.includes('s2'));
    }
    assert.ok(moved >= 4, `${moved} flows moved`);
    assert.equal(check(r).mismatches, 0);
  });

  test('failure.yaml: the same summary (paths included) with 0 or 2 workers and any batch size', async () => {
    const a = await runSimulation(EX('failure.yaml'), { durationNs: 6_000_000 });
    const b = await runSimulation(EX('failure.yaml'), { durationNs: 6_000_000, workers: 2, batchSize: 5 });
    assert.equal(JSON.stringify(b.summary), JSON.stringify(a.summary));
  });

  test('topology errors name file, line and field', async () => {
    const base = readFileSync(EX('failure.yaml'), 'utf8');
    await assert.rejects(runSimulation({ text: base.replace('link: [l1, s1]', 'link: [l1, l2]'), file: 'f.yaml' }), /f\.yaml:\d+: failures\[0\]\.link: no link joins l1 and l2/);
    await assert.rejects(runSimulation({ text: base.replace('link: [l1, s1], ', ''), file: 'f.yaml' }), /f\.yaml:\d+: failures\[0\].*either link/);
    await assert.rejects(runSimulation({ text: base.replace('  convergence: 50us', '  convergence: 50us\n  static: [{ at: l1, to: "fd00:3::/64", via: l2 }]'), file: 'f.yaml' }), /f\.yaml:\d+: routes\.static\[0\]\.via: l2 is not a neighbour of l1/);
    await assert.rejects(runSimulation({ text: base.replace('  convergence: 50us', '  convergence: 50us\n  static: [{ at: l1, to: "fd00:3::1/64", via: s1 }]'), file: 'f.yaml' }), /routes\.static\[0\]\.to: .*zero host bits/);
    await assert.rejects(runSimulation({ text: base.replace('fd00:1::1/64', 'fd00:1::1/129'), file: 'f.yaml' }), /f\.yaml:\d+: nodes\[\d\]\.addresses\[0\]: expected an IPv6 address, optionally with a prefix length/);
  });
});

describe('testbed', () => {
  test('refuses what it cannot map: ECMP, failures, prefixes (it installs single-path host routes)', async () => {
    const { unsupported } = await import('../app/kernel/testbed');
    const { loadTopology } = await import('../sim/topology');
    const { Network } = await import('../sim/network');
    const topo = loadTopology(EX('failure.yaml'));
    const why = unsupported(new Network(topo, { seed: 1n, batchSize: 256, hooks: {} }), topo).join('\n');
    assert.match(why, /routes\.ecmp/);
    assert.match(why, /failures/);
    assert.match(why, /prefix length/);
  });
});
