/**
 * The partitioned engine (sim/partition.ts): how a network is cut, byte-identical outputs with
 * 1/2/4 workers on every example (test/golden/sim/commands.json), and a partition that fails or
 * dies mid-run failing the whole run without leaving an output that looks complete.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as cliRun } from '../app/cli/main';
import { runSimulation } from '../sim/run';
import { Network } from '../sim/network';
import { nextTick, planPartitions, windowEnd } from '../sim/partition';
import { parseTopology } from '../sim/topology';
import { WorkerFailure } from '../sim/pool';
import { io } from './io.helpers';

const ROOT = join(__dirname, '..');
const EX = (f: string) => join(ROOT, 'examples', f);
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `ioamsim-part-${p}-`));

/** Every file of a run except run-info.json (wall time, workers, partitions). */
function files(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const f of readdirSync(dir).sort()) if (f !== 'run-info.json') m.set(f, readFileSync(join(dir, f)));
  return m;
}

function net(text: string): Network {
  const topo = parseTopology(text, 't.yaml');
  return new Network(topo, { seed: 1n, batchSize: 256, hooks: {} });
}

const ring = (delays: number[]) => `
nodes:
${delays.map((_, i) => `  - { name: n${i}, addresses: ["fd00::${i + 1}"] }`).join('\n')}
links:
${delays.map((d, i) => `  - { a: n${i}, b: n${(i + 1) % delays.length}, delay: ${d} }`).join('\n')}
traffic:
  flows:
    - { name: f, from: n0, to: n3, rate_pps: 1000 }
`;

describe('planPartitions', () => {
  test('every node in one partition; the lookahead is the smallest delay of a cut link; partitions are contiguous', () => {
    const n = net(ring([1000, 2000, 3000, 4000, 5000, 6000]));
    const p = planPartitions(n, 2);
    assert.equal(p.parts, 2);
    assert.equal(p.owner.length, 6);
    const counts = [0, 0];
    for (const o of p.owner) counts[o]!++;
    assert.ok(counts[0]! > 0 && counts[1]! > 0);
    let cut = 0;
    let min = Infinity;
    for (const [a, b] of n.linkDevices) if (p.owner[a.node.index] !== p.owner[b.node.index]) { cut++; min = Math.min(min, a.link.delayNs); }
    assert.equal(p.cutLinks, cut);
    assert.equal(p.lookaheadNs, min);
    // A ring split in two contiguous arcs is cut exactly twice.
    assert.equal(cut, 2);
  });

  test('zero-delay links are never cut: all of them → one partition, said so', () => {
    const p = planPartitions(net(ring([0, 0, 0, 0, 0, 0])), 4);
    assert.equal(p.parts, 1);
    assert.match(p.note ?? '', /zero delay/);
    const q = planPartitions(net(ring([1000, 0, 0, 1000, 0, 0])), 4);
    // Two groups ({n1..n3}, {n4, n5, n0}) joined by zero-delay links: at most two partitions.
    assert.equal(q.parts, 2);
    assert.match(q.note ?? '', /2 group\(s\)/);
    assert.equal(q.lookaheadNs, 1000);
    for (const [a, b] of net(ring([1000, 0, 0, 1000, 0, 0])).linkDevices) if (a.link.delayNs === 0) assert.equal(q.owner[a.node.index], q.owner[b.node.index]);
  });

  test('tick lookahead: with a dataplane tick, a window reaches the first tick after start + the smallest cut delay, unless a receiving end is captured or a failure is planned', () => {
    const ticked = `dataplane_tick: 10us\n${ring([1000, 2000, 3000, 4000, 5000, 6000])}`;
    const n = net(ticked);
    const p = planPartitions(n, 2);
    assert.equal(p.parts, 2);
    assert.equal(p.window.tickNs, 10_000);
    assert.equal(p.window.plainNs, Infinity);
    assert.equal(p.window.tickLookaheadNs, p.lookaheadNs);
    assert.equal(p.tickCuts, 2 * p.cutLinks);
    for (const d of n.devices) assert.equal(p.lateOk[d.index], p.owner[d.node.index] !== p.owner[d.peer.node.index] ? 1 : 0, `${d.node.name}:${d.name}`);
    // A window starting at 12 us with 1 us lookahead ends at the 20 us tick; one starting on 9 us ends at 10 us.
    const rule = { plainNs: Infinity, tickNs: 10_000, tickLookaheadNs: 1000 };
    assert.equal(windowEnd(rule, 12_000), 20_000);
    assert.equal(windowEnd(rule, 9_000), 10_000);
    assert.equal(windowEnd({ ...rule, plainNs: 3000 }, 12_000), 15_000);
    assert.equal(nextTick(20_000, 10_000), 20_000);
    assert.equal(nextTick(20_001, 10_000), 30_000);
    // Capturing what a cut link's far end receives: that end sees each arrival at its instant.
    const rx = new Uint8Array(n.devices.length);
    const cut = n.devices.find((d) => p.owner[d.node.index] !== p.owner[d.peer.node.index])!;
    rx[cut.peer.index] = 1;
    const q = planPartitions(n, 2, rx);
    assert.deepEqual([...q.owner], [...p.owner]);
    assert.equal(q.lateOk[cut.peer.index], 0);
    assert.equal(q.window.plainNs, cut.link.delayNs);
    assert.equal(q.tickCuts, p.tickCuts - 1);
    // No tick, or failures planned: no late arrivals at all.
    assert.equal(planPartitions(net(ring([1000, 2000, 3000, 4000, 5000, 6000])), 2).tickCuts, 0);
    const failing = planPartitions(net(`${ticked}failures:\n  - { at: 1ms, link: [n0, n1], state: down }\n`), 2);
    assert.equal(failing.tickCuts, 0);
    assert.equal(failing.window.plainNs, failing.lookaheadNs);
  });

  test('fat-tree-k8: two partitions of near-equal load (route-walked packet rates)', () => {
    const n = net(readFileSync(EX('fat-tree-k8.yaml'), 'utf8'));
    const p = planPartitions(n, 2);
    assert.equal(p.parts, 2);
    assert.ok(p.cutLinks > 0 && p.cutLinks < n.linkDevices.length / 2, `cut ${p.cutLinks} of ${n.linkDevices.length}`);
  });
});

describe('byte-identical outputs whatever the worker count (every example)', () => {
  const spec = JSON.parse(readFileSync(join(ROOT, 'test', 'golden', 'sim', 'commands.json'), 'utf8')) as { runs: { dir: string; args: string[] }[] };
  for (const r of spec.runs) {
    test(`ioamsim run ${r.args.join(' ')}: --workers 1, 2, 4 == --workers 0`, async () => {
      const dirs: string[] = [];
      for (const w of [0, 1, 2, 4]) {
        const out = tmp(`${r.dir}-${w}`);
        const o = io();
        const args = r.args.map((a) => (a.startsWith('examples/') ? join(ROOT, a) : a));
        const code = await cliRun(['run', ...args, '--out', out, '--workers', String(w), '--batch-size', w === 4 ? '7' : '256'], o);
        assert.equal(code, 0, o.err);
        dirs.push(out);
      }
      const base = files(dirs[0]!);
      for (const d of dirs.slice(1)) {
        const o = files(d);
        assert.deepEqual([...o.keys()], [...base.keys()]);
        for (const [k, v] of base) assert.ok(v.equals(o.get(k)!), `${k} differs (${d})`);
      }
      const info = JSON.parse(readFileSync(join(dirs[2]!, 'run-info.json'), 'utf8')) as { engine: string; partitions: { parts: number; tickNs?: number; lateArrivals: number } };
      if (r.dir === 'clt') {
        // CLT applications keep span objects on their packets: workers run dataplane steps only.
        assert.equal(info.engine, 'dataplane-offload');
      } else {
        assert.equal(info.engine, 'partitioned', 'two workers partition every other example (all links have a delay)');
        assert.equal(info.partitions.parts, 2);
        // The fat trees have a dataplane tick and no capture: packets from the other partition arrive late, queued for a tick.
        if (r.dir.startsWith('fat-tree')) assert.ok(info.partitions.tickNs === 20_000 && info.partitions.lateArrivals > 0, JSON.stringify(info.partitions));
      }
    });
  }
});

describe('a failing partition fails the run', () => {
  for (const how of ['throw', 'exit'] as const) {
    test(`a partition that ${how === 'throw' ? 'throws' : 'dies (its thread exits)'} mid-run: a clear error, every partition stops, no output that looks complete`, async () => {
      const out = tmp(`crash-${how}`);
      const started = Date.now();
      await assert.rejects(
        runSimulation(EX('leaf-spine-heavy.yaml'), { outDir: out, workers: 2, durationNs: 1_000_000, crashAtWindow: how === 'throw' ? 20 : -20 }),
        (e: unknown) => e instanceof WorkerFailure && /^partition 0 of 2 \(worker thread\) failed: /.test(e.message),
      );
      // Nothing left behind: no summary, no trace or capture file, complete or partial.
      assert.deepEqual(readdirSync(out), []);
      assert.ok(Date.now() - started < 60_000);
    });
  }
});
