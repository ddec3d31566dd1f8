/**
 * Simulation runs: every example runs (short durations) and behaves as its comment says; outputs
 * are byte-identical for the same seed whatever the worker count (0, 1, 2, 4) and batch size;
 * a worker crash fails the run with a clear message; the extension hooks fire; the `run` command.
 *
 * Assertions on IOAM contents (traces, Overflow, IPv6-in-IPv6) need the Rust core's dataplane;
 * a run that inserted no IOAM (a stale addon) fails loudly.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { readCaptureSync } from '../src/capture';
import { run as cliRun } from '../app/cli/main';
import { runSimulation, type RunResult } from '../sim/run';
import { WorkerFailure } from '../sim/pool';
import { io } from './io.helpers';

const EX = (f: string) => join(__dirname, '..', 'examples', f);
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `ioamsim-${p}-`));

type Summary = {
  packets: Record<string, number>;
  drops: Record<string, number>;
  ioam: { encapsulated: number; decapsulated: number; bytes_inserted: number; traces: number; traces_with_overflow: number; overflow_set_by_node: Record<string, number> };
  hops: Record<string, { tx_packets: number; queue_delay_ns: Record<string, number>; max_backlog_bytes: number; drops: Record<string, number> }>;
  flows: Record<string, { sent: number; delivered: number }>;
  exchanges: Record<string, { requests: number; responses: number }>;
};
const S = (r: RunResult) => r.summary as unknown as Summary;

function conservation(s: Summary): void {
  const p = s.packets;
  assert.equal(p['generated'], p['delivered']! + p['dropped']! + p['in_flight_at_end']!, `conservation ${JSON.stringify(p)}`);
}

/** Files of a run directory, except run-info.json (wall time, workers). */
function outputs(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const f of readdirSync(dir).sort()) if (f !== 'run-info.json') m.set(f, readFileSync(dir + '/' + f));
  return m;
}

/** The core really inserted IOAM; a run that inserted none (a stale addon) fails the test. */
function requireCore(s: Summary): true {
  assert.ok(s.ioam.encapsulated > 0, 'the dataplane inserted no IOAM option: stale native addon? (npm run build:native)');
  return true;
}

describe('examples', () => {
  test('linear: all delivered, pcapng capture matches the device counters', async () => {
    const out = tmp('linear');
    const r = await runSimulation(EX('linear.yaml'), { outDir: out, durationNs: 2_000_000 });
    const s = S(r);
    conservation(s);
    assert.ok(s.packets['generated']! > 40);
    assert.equal(s.packets['dropped'], 0);
    assert.ok(s.exchanges['rpc']!.responses > 0);
    const cap = readCaptureSync(readFileSync(join(out, 'r1-r1-r2.pcapng')));
    assert.equal(cap.records.length, s.hops['r1:r1-r2']!.tx_packets);
    const t0 = cap.records[0]!.timestampNs!;
    // Epoch 2026-01-01T00:00:00Z + simulated time (well under the 2 ms run).
    assert.ok(t0 >= 1767225600_000_000_000n && t0 < 1767225600_002_000_000n, String(t0));
    for (const rec of cap.records) assert.equal(rec.bytes[0]! >> 4, 6);
    if (requireCore(s)) {
      const lines = readFileSync(join(out, 'traces-h2.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, s.ioam.traces);
      const first = lines.find((l) => l.kind === 'flow');
      const hops = first.options[0].hops;
      assert.deepEqual(hops.map((h: { node_id: number }) => h.node_id), [1, 2, 3, 4]);
      assert.deepEqual(hops.map((h: { hop_limit: number }) => h.hop_limit), [64, 63, 62, 61]);
      assert.deepEqual(hops.map((h: { ingress_if: number }) => h.ingress_if), [0xffff, 201, 301, 401]);
      assert.deepEqual(hops.map((h: { egress_if: number }) => h.egress_if), [101, 202, 302, 0xffff]);
    }
  });

  test('congested: tail drops and queueing delay on the bottleneck only', async () => {
    const r = await runSimulation(EX('congested.yaml'), { durationNs: 30_000_000 });
    const s = S(r);
    conservation(s);
    const b = s.hops['r1:r1-r2']!;
    assert.ok(b.drops['queue-full']! > 0, JSON.stringify(b));
    assert.ok(b.queue_delay_ns['p99']! > 1_000_000, JSON.stringify(b.queue_delay_ns));
    // 20 packets of 1000 B + 14 B L2 (+ 96 B of Hop-by-Hop when the core inserts IOAM).
    assert.ok(b.max_backlog_bytes <= 20 * (1014 + (s.ioam.encapsulated ? 96 : 0)), String(b.max_backlog_bytes));
    assert.ok(b.max_backlog_bytes >= 19 * 1014, String(b.max_backlog_bytes));
    assert.equal(s.hops['r2:r2-h3']!.drops['queue-full'], undefined);
    if (requireCore(s)) {
      // r1 writes its egress backlog (bit 6) into the traces (second run, with a trace hook): some must see a queue.
      const depths: number[] = [];
      const r2 = await runSimulation(EX('congested.yaml'), {
        durationNs: 30_000_000,
        hooks: { onTrace: (rec) => depths.push(rec.options[0]!.hops[1]!.queue_depth!) },
      });
      assert.ok(S(r2).ioam.traces > 0);
      assert.ok(depths.some((d) => d > 5000), `queue depths seen by r1: ${depths.slice(0, 20).join(',')}`);
    }
  });

  test('rfc profile: transit delay and buffer occupancy come from the simulated queues', async () => {
    const text = readFileSync(EX('congested.yaml'), 'utf8')
      .replace('ioam: { ioam6_id: 10 }', 'ioam: { ioam6_id: 10, profile: rfc }')
      .replace('trace_type: 0xf20000', 'trace_type: 0x8a1000') // bits 0, 4, 6, 11
      .replace('size: 80', 'size: 64');
    const r1: { transit_delay: number; queue_depth: number; buffer_occupancy: number }[] = [];
    const r = await runSimulation({ text, file: 'congested-rfc.yaml' }, {
      durationNs: 20_000_000,
      hooks: { onTrace: (rec) => r1.push(rec.options[0]!.hops[1] as never) },
    });
    if (!requireCore(S(r))) return;
    assert.ok(r1.length > 5);
    for (const h of r1) {
      assert.notEqual(h.transit_delay, 0xffffffff);
      assert.equal(h.buffer_occupancy, h.queue_depth); // only r1-r2 ever queues at r1
      // The wait is at least the backlog's serialization at 10 Mb/s (800 ns per byte).
      assert.ok(h.transit_delay >= h.queue_depth * 800, JSON.stringify(h));
    }
    assert.ok(r1.some((h) => h.transit_delay > 1_000_000));
  });

  test('leaf-spine: static routes take s2; exchanges complete', async () => {
    const r = await runSimulation(EX('leaf-spine.yaml'), { durationNs: 1_000_000 });
    const s = S(r);
    conservation(s);
    assert.ok(s.hops['l2:l2-s2']!.tx_packets > 0, 'l2 → h31 via s2');
    assert.ok(s.hops['s2:s2-l3']!.tx_packets > 0);
    assert.ok(s.exchanges['kv']!.responses > 0);
    if (requireCore(s)) {
      assert.equal(s.ioam.decapsulated, s.ioam.traces);
      assert.ok(s.ioam.traces > 0);
    }
  });

  test('overflow: r2 sets the Overflow flag, r3 leaves it', async () => {
    const r = await runSimulation(EX('overflow.yaml'), {});
    const s = S(r);
    conservation(s);
    assert.ok(s.packets['delivered']! > 5);
    if (requireCore(s)) {
      assert.equal(s.ioam.traces_with_overflow, s.ioam.traces);
      assert.deepEqual(Object.keys(s.ioam.overflow_set_by_node), ['r2']);
    }
  });

  test('ipv6-in-ipv6: every other packet tunnelled r1 → r3; h2 receives no IOAM', async () => {
    const out = tmp('v6v6');
    const r = await runSimulation(EX('ipv6-in-ipv6.yaml'), { outDir: out });
    const s = S(r);
    conservation(s);
    const atH2 = readCaptureSync(readFileSync(join(out, 'h2-h2-r3.pcapng'))).records;
    assert.ok(atH2.length > 10);
    for (const rec of atH2) assert.equal(rec.bytes[6], 6, 'h2 receives plain TCP, no Hop-by-Hop');
    if (requireCore(s)) {
      const sent = s.flows['f']!.sent;
      assert.ok(Math.abs(s.ioam.encapsulated - sent / 2) <= 1, `${s.ioam.encapsulated} of ${sent}`);
      const onR2 = readCaptureSync(readFileSync(join(out, 'r2-r2-r3.pcapng'))).records;
      assert.ok(onR2.some((rec) => rec.bytes[6] === 0 && Buffer.from(rec.bytes.subarray(24, 40)).toString('hex') === '20010db800ff00000000000000000003'));
    }
  });
});

describe('determinism and workers', () => {
  let base: Map<string, Buffer>;
  const runTo = async (workers: number, batchSize: number, inlineBelow = 0) => {
    const out = tmp(`det-${workers}-${batchSize}`);
    const r = await runSimulation(EX('leaf-spine.yaml'), { outDir: out, durationNs: 600_000, workers, batchSize, seed: 9, inlineBelow });
    // More than one worker: the partitioned engine (sim/partition.ts), one partition per worker here.
    assert.equal(r.info.engine, workers > 1 ? 'partitioned' : 'inline');
    if (workers > 1) assert.equal((r.info.partitions as { parts: number }).parts, workers);
    return outputs(out);
  };
  before(async () => {
    base = await runTo(0, 256);
  });

  for (const [w, b, inl] of [[1, 256, 0], [2, 256, 0], [4, 3, 0], [0, 1, 0], [2, 256, 16]] as const) {
    test(`same seed → identical files with ${w} worker(s), batch size ${b}, inline below ${inl}`, async () => {
      const o = await runTo(w, b, inl);
      assert.deepEqual([...o.keys()], [...base.keys()]);
      for (const [k, v] of base) assert.ok(v.equals(o.get(k)!), `${k} differs`);
    });
  }

  test('k-of-n encapsulation (IPv6-in-IPv6, freq 1/2) and a dataplane tick: same files inline/256 and 2 workers/batch 1', async () => {
    const text = readFileSync(EX('ipv6-in-ipv6.yaml'), 'utf8').replace('duration: 2ms', 'duration: 1ms\ndataplane_tick: 3us');
    const dirs = [tmp('kn-a'), tmp('kn-b')];
    await runSimulation({ text, file: 'ipv6-in-ipv6.yaml' }, { outDir: dirs[0], workers: 0, batchSize: 256 });
    await runSimulation({ text, file: 'ipv6-in-ipv6.yaml' }, { outDir: dirs[1], workers: 2, batchSize: 1, inlineBelow: 4 });
    const [a, b] = dirs.map((d) => outputs(d!));
    assert.deepEqual([...a!.keys()], [...b!.keys()]);
    for (const [k, v] of a!) assert.ok(v.equals(b!.get(k)!), `${k} differs`);
  });

  test('a different seed gives a different run', async () => {
    const out = tmp('det-seed');
    await runSimulation(EX('leaf-spine.yaml'), { outDir: out, durationNs: 600_000, seed: 10 });
    assert.ok(!readFileSync(join(out, 'summary.json')).equals(base.get('summary.json')!));
  });

  test('with hooks, workers run dataplane steps only; a worker crash fails the run naming the worker and node; no capture left', async () => {
    const out = tmp('crash');
    await assert.rejects(
      runSimulation(EX('linear.yaml'), { outDir: out, workers: 2, crashAtTask: 5, inlineBelow: 0, hooks: { onDeliver: () => undefined } }),
      (e: unknown) => e instanceof WorkerFailure && /dataplane worker 0 failed while processing node \w+ at t=\d+ ns/.test(e.message),
    );
    assert.ok(!existsSync(join(out, 'r1-r1-r2.pcapng')));
    assert.ok(!existsSync(join(out, 'summary.json')));
  });
});

describe('extension hooks', () => {
  test('cltIds is asked once per packet the encapsulating node handles; onDeliver sees every delivery', async () => {
    const asked: string[] = [];
    let delivered = 0;
    const r = await runSimulation(EX('linear.yaml'), {
      durationNs: 1_000_000,
      hooks: {
        cltIds: ({ node, packet }) => {
          asked.push(node);
          const ids = new Uint8Array(24);
          ids[0] = packet.id & 0xff;
          return ids;
        },
        onDeliver: () => void delivered++,
      },
    });
    const s = S(r);
    assert.ok(asked.length > 0);
    assert.ok(asked.every((n) => n === 'h1'));
    // h1 originates the ping flow and the rpc requests; responses come from h2 (not an encapsulator).
    assert.equal(asked.length, s.flows['ping']!.sent + s.exchanges['rpc']!.requests);
    assert.equal(delivered, s.packets['delivered']);
  });

  test('cltIds returning the wrong size is a clear error', async () => {
    await assert.rejects(runSimulation(EX('linear.yaml'), { durationNs: 100_000, hooks: { cltIds: () => new Uint8Array(8) } }), /24 bytes/);
  });
});

describe('ioamsim run', () => {
  test('writes the outputs and prints the summary with the rate', async () => {
    const dir = tmp('cli');
    const o = io();
    const code = await cliRun(['run', EX('overflow.yaml'), '--out', dir, '--seed', '3', '--duration', '500us', '--workers', '1'], o);
    assert.equal(code, 0, o.err);
    assert.match(o.err, /packet-hops\/s/);
    assert.ok(existsSync(join(dir, 'summary.json')));
    const info = JSON.parse(readFileSync(join(dir, 'run-info.json'), 'utf8'));
    assert.equal(info.workers, 1);
    assert.equal(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).duration_ns, 500_000);
  });

  test('a bad topology exits 1 with file:line: path', async () => {
    const o = io();
    const code = await cliRun(['run', join(__dirname, 'fixtures-does-not-exist.yaml'), '--out', tmp('x')], o);
    assert.equal(code, 1, o.err);
    assert.match(o.err, /cannot read/);
  });

  test('bad options exit 2', async () => {
    let o = io();
    assert.equal(await cliRun(['run', EX('linear.yaml'), '--out', tmp('y'), '--workers', '-1'], o), 2, o.err);
    o = io();
    assert.equal(await cliRun(['run', EX('linear.yaml'), '--out', tmp('y'), '--duration', 'forever'], o), 2, o.err);
  });
});

describe('forwarding edge cases', () => {
  const topo = (flows: string) => `
nodes:
  - { name: a, addresses: ["2001:db8::a"], roles: [{ ns: 1, role: encap }] }
  - { name: r, addresses: ["2001:db8::1"], roles: [{ ns: 1, role: transit }] }
  - { name: b, addresses: ["2001:db8::b"], roles: [{ ns: 1, role: decap }] }
  - { name: lonely, addresses: ["2001:db8::99"] }
links:
  - { a: a, b: r }
  - { a: r, b: b }
domains:
  - { ns: 1, trace_type: 0x800000, size: 12, flows: [hl2, hl1] }
traffic:
  flows:
${flows}
`;

  test('hop limit: 1 dies at the first router, 2 reaches b (after r fills HL−1 = 1); no-route; local delivery', async () => {
    const r = await runSimulation({
      text: topo(`    - { name: hl1, from: a, to: b, rate_pps: 10000, count: 3, hop_limit: 1 }
    - { name: hl2, from: a, to: b, rate_pps: 10000, count: 3, hop_limit: 2 }
    - { name: nowhere, from: a, to: lonely, rate_pps: 10000, count: 2 }
    - { name: self, from: a, to: a, rate_pps: 10000, count: 2 }`),
      file: 'edge.yaml',
    }, { durationNs: 1_000_000 });
    const s = S(r);
    conservation(s);
    assert.equal(s.drops['hop-limit'], 3);
    assert.equal(s.drops['no-route'], 2);
    assert.equal(s.flows['hl2']!.delivered, 3);
    assert.equal(s.flows['self']!.delivered, 2);
    assert.equal(s.flows['nowhere']!.delivered, 0);
    if (requireCore(s)) {
      const hls: number[][] = [];
      await runSimulation({ text: topo(`    - { name: hl2, from: a, to: b, rate_pps: 10000, count: 1, hop_limit: 2 }
    - { name: hl1, from: a, to: b, rate_pps: 10000, count: 1, hop_limit: 9 }`), file: 'edge.yaml' }, {
        durationNs: 1_000_000,
        hooks: { onTrace: (rec) => hls.push(rec.options[0]!.hops.map((h) => h.hop_limit!)) },
      });
      // Encapsulator writes HL as is; r and b write HL − 1 of what they received (Linux is_input).
      assert.deepEqual(hls, [[2, 1, 0], [9, 8, 7]]);
    }
  });

  test('a domain selecting an unknown flow is a located config error', async () => {
    await assert.rejects(
      runSimulation({ text: topo(`    - { name: hl2, from: a, to: b, rate_pps: 10000, count: 3 }`), file: 'edge.yaml' }, {}),
      (e: unknown) => e instanceof Error && /edge\.yaml:\d+: domains\[0\]\.flows\[1\]: no flow or request named "hl1"/.test(e.message),
    );
  });
});

describe('--outputs and Parquet traces', () => {
  test('traces-parquet holds the same records as the JSON Lines (read back with hyparquet)', async () => {
    const { parquetReadObjects } = await import('hyparquet');
    const out = tmp('pq');
    await runSimulation(EX('leaf-spine.yaml'), { outDir: out, durationNs: 1_000_000, outputs: ['summary', 'traces', 'traces-parquet'] });
    const names = readdirSync(out).sort();
    assert.ok(!names.some((f) => f.endsWith('.pcapng')), 'no captures asked for');
    let total = 0;
    for (const node of ['l1', 'l2', 'l3']) {
      const lines = readFileSync(join(out, `traces-${node}.jsonl`), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const buf = readFileSync(join(out, `traces-${node}.parquet`));
      const rows = (await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) })) as Record<string, unknown>[];
      assert.equal(rows.length, lines.length, node);
      rows.forEach((r, i) => {
        assert.deepEqual(Object.keys(r), Object.keys(lines[i]), 'same columns, same order');
        // A JSON column: read back as the array itself (it was once stored as a JSON string of the text; test/sim.parquet.test.ts reads it with DuckDB).
        assert.ok(Array.isArray(r['options']), `options read as ${typeof r['options']}`);
        const back = { ...r, t_ns: Number(r['t_ns']), seq: Number(r['seq']), packet: Number(r['packet']) };
        assert.deepEqual(back, lines[i]);
      });
      total += rows.length;
    }
    assert.ok(total > 50, `only ${total} traces`);
  });

  test('summary.json is the same whatever the outputs (Overflow counted without trace records)', async () => {
    const dir = tmp('sum-only');
    const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
    assert.equal(await cliRun(['run', EX('overflow.yaml'), '--out', dir, '--outputs', 'summary', '--no-progress'], { stdout: sink(), stderr: sink() }), 0);
    const got = readFileSync(join(dir, 'summary.json'));
    const want = readFileSync(join(__dirname, 'golden', 'sim', 'overflow', 'summary.json'));
    assert.ok(JSON.parse(want.toString()).ioam.traces_with_overflow > 0);
    assert.ok(got.equals(want), 'summary.json with --outputs summary differs from the golden one');
  });

  test('--outputs summary writes summary.json and run-info.json only; bad kinds exit 2', async () => {
    const dir = tmp('cli-out');
    const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
    assert.equal(await cliRun(['run', EX('leaf-spine.yaml'), '--out', dir, '--duration', '300us', '--outputs', 'summary', '--no-progress'], { stdout: sink(), stderr: sink() }), 0);
    assert.deepEqual(readdirSync(dir).sort(), ['run-info.json', 'summary.json']);
    let err = '';
    const stderr = new Writable({ write: (c, _e, cb) => { err += String(c); cb(); } });
    assert.equal(await cliRun(['run', EX('leaf-spine.yaml'), '--out', dir, '--outputs', 'summary,json'], { stdout: sink(), stderr }), 2);
    assert.match(err, /--outputs: unknown output "json"/);
  });
});
