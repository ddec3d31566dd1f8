/**
 * The span rules of docs/CLT.md §4 without a backend: network spans from the encapsulating node's
 * send time to delivery (or from the first timed hop offline, said in an attribute), hop spans in
 * path order inside it, one network span per message direction, responses under the awaiting
 * client span, no zero-length span; the demo and `run --otlp` obey them for every span; `decode
 * --otlp` says why no span came out; OTLP/HTTP export errors and retries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { run as cliRun } from '../app/cli/main';
import { attachToApplication, buildNetSpan, hopAttributes, networkAttributes, type Group, type NetSpan } from '../sim/clt/collector';
import type { DecodedTrace, HopRecord } from '../sim/clt/ioam';
import { runDemo } from '../sim/clt/demo';
import { exportOtlpHttp, OtlpExportError, retryAfterMs } from '../src/otlp';
import { nestingProblems, spansOfJsonl } from './clt.helpers';

const ROOT = path.resolve(__dirname, '..');
const UNAVAILABLE = 0xffffffff;
const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z in ns

/** An IOAM element at `us` µs after T0 (null: the all-ones "unavailable" timestamp). */
function hop(nodeId: number, us: number | null, q = 0): HopRecord {
  const ts = us === null ? null : T0 + BigInt(us) * 1000n;
  const secs = ts === null ? UNAVAILABLE : Number(ts / 1_000_000_000n);
  const frac = ts === null ? UNAVAILABLE : Number((ts % 1_000_000_000n) / 1000n);
  return {
    hopLimit: 64 - nodeId, nodeId, ingressIf: us === null ? null : nodeId * 100, egressIf: nodeId * 100 + 1, timeNs: ts, queueDepth: q, oss: null,
    raw: { hopLimit: 64 - nodeId, nodeId, ingressIfId: us === null ? 0xffff : nodeId * 100, egressIfId: nodeId * 100 + 1, timestampSecs: secs, timestampFrac: frac, queueDepth: q },
  };
}

function decoded(hops: HopRecord[]): DecodedTrace {
  return { layout: 'rfc', ns: 123, nodeLen: 5, overflow: false, remainingLen: 0, traceType: 0xf20000, ids: null, hops, problems: [] };
}

function group(packets: { send: number | null; rx: number; hops: HopRecord[] }[]): Group {
  return {
    traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), src: '2001:db8::1', dst: '2001:db8::2', transport: 6, sport: 40000, dport: 80, idsSource: 'packet', root: false,
    packets: packets.map((p) => ({ sendNs: p.send === null ? null : T0 + BigInt(p.send), rxNs: T0 + BigInt(p.rx), decoded: decoded(p.hops), bytes: 100 })),
  };
}

const names = (id: number | null) => `n${id}`;
const noAddr = () => undefined;

test('network span: from the encapsulating node send time (its IOAM timestamp is unavailable) to delivery; hops nested in path order', () => {
  // host 1 sends at 1000 ns (timestamp all-ones), routers 2 and 3 at 60 µs and 130 µs, host 4 receives at 200.5 µs.
  const n = buildNetSpan(group([{ send: 1000, rx: 200_500, hops: [hop(1, null), hop(2, 60), hop(3, 130), hop(4, 200)] }]), names, noAddr);
  assert.equal(n.startNs, T0 + 1000n);
  assert.equal(n.endNs, T0 + 200_500n);
  assert.equal(n.start, 'encapsulator_send_time');
  assert.deepEqual(n.hops.map((h) => h.name), ['n1→n2', 'n2→n3', 'n3→n4']);
  assert.deepEqual(n.hops.map((h) => [h.startNs - T0, h.endNs - T0]), [[1000n, 60_000n], [60_000n, 130_000n], [130_000n, 200_000n]]);
  assert.equal(n.hops[0]!.fromSendTime, true);
  const a = hopAttributes(n, n.hops[0]!, 0);
  assert.equal(a['ioam.node.timestamp.seconds'], UNAVAILABLE, 'the raw field as written');
  assert.equal(a['ioam.hop.start'], 'encapsulator_send_time');
  assert.equal(a['ioam.node.hop_limit'], 63);
  assert.equal(a['ioam.next_node.id'], 2);
  assert.equal(a['ioam.next_node.interface.ingress.id'], 200);
  assert.equal(a['ioam.namespace.id'], 123);
  assert.equal(a['ioam.trace_type'], '0xf20000');
  const na = networkAttributes(n);
  assert.equal(na['network.transport'], 'tcp');
  assert.equal(na['destination.port'], 80);
  assert.equal(na['ioam.network.start'], 'encapsulator_send_time');
});

test('offline (no send time): the first timed hop bounds the network span, and the span says so', () => {
  const n = buildNetSpan(group([{ send: null, rx: 200_500, hops: [hop(1, null), hop(2, 60), hop(3, 130)] }]), names, noAddr);
  assert.equal(n.startNs, T0 + 60_000n);
  assert.equal(n.start, 'first_timed_hop');
  assert.equal(networkAttributes(n)['ioam.network.start'], 'first_timed_hop');
  assert.deepEqual(n.hops.map((h) => h.name), ['n2→n3']);
});

test('a message of several packets is one network span; each hop spans all packets; nested and ordered', () => {
  const n = buildNetSpan(group([
    { send: 0, rx: 150_000, hops: [hop(1, null), hop(2, 50), hop(3, 149)] },
    { send: 0, rx: 170_000, hops: [hop(1, null), hop(2, 62, 1500), hop(3, 169)] },
  ]), names, noAddr);
  assert.equal(n.packets, 2);
  assert.equal(n.endNs, T0 + 170_000n);
  assert.deepEqual(n.hops.map((h) => [h.startNs - T0, h.endNs - T0]), [[0n, 62_000n], [50_000n, 169_000n]]);
  assert.equal(n.hops[1]!.maxDelayNs, 107_000);
  assert.equal(n.hops[0]!.lastDelayNs, 62_000, 'the packet that completed the message');
  assert.equal(n.hops[1]!.maxQueueDepth, 1500);
  const spans = toSpans(n);
  assert.deepEqual(nestingProblems(spans), []);
});

test('µs-truncated timestamps and sub-µs hops: clamped into the network span, never zero-length', () => {
  // Send at 10.7 µs; the next node stamps 10 µs (truncated, hop shorter than 1 µs); delivery at 10.9 µs.
  const n = buildNetSpan(group([{ send: 10_700, rx: 10_900, hops: [hop(1, null), hop(2, 10), hop(3, 10)] }]), names, noAddr);
  assert.deepEqual(nestingProblems(toSpans(n)), []);
  for (const h of n.hops) assert.ok(h.endNs > h.startNs, `${h.name} has a length`);
  // A packet delivered in the same ns as it was sent still gives a span of 1 ns.
  const z = buildNetSpan(group([{ send: 5, rx: 5, hops: [hop(1, null)] }]), names, noAddr);
  assert.equal(z.endNs - z.startNs, 1n);
});

/** A network span and its hops as OTLP-like spans (for {@link nestingProblems}). */
function toSpans(n: NetSpan) {
  const s = (id: string, name: string, a: bigint, b: bigint, parent?: string) => ({ traceId: n.traceId, spanId: id, parentSpanId: parent, name, startTimeUnixNano: String(a), endTimeUnixNano: String(b) });
  return [s('net', `network ${n.name}`, n.startNs, n.endNs), ...n.hops.map((h, i) => s(`h${i}`, `hop ${h.name}`, h.startNs, h.endNs, 'net'))];
}

test('a response (sent by a server span that has ended) hangs under the client span that awaits it, the sender kept as an attribute', () => {
  const n = buildNetSpan(group([{ send: 5_000_000, rx: 5_200_000, hops: [hop(1, null), hop(2, 5100)] }]), names, noAddr);
  const span = (spanId: string, parent: string | undefined, a: number, b: number) => ({
    spanContext: () => ({ traceId: n.traceId, spanId, traceFlags: 1 }),
    parentSpanContext: parent ? { traceId: n.traceId, spanId: parent, traceFlags: 1 } : undefined,
    startTime: [1_767_225_600, a] as [number, number], endTime: [1_767_225_600, b] as [number, number],
  }) as unknown as ReadableSpan;
  // client 0..6 ms; server (whose IDs the response carries) 1..5 ms: ended when the response left.
  const moved = attachToApplication([n], [span('1111111111111111', undefined, 0, 6_000_000), span('cd'.repeat(8), '1111111111111111', 1_000_000, 5_000_000)]);
  assert.equal(moved, 1);
  assert.equal(n.parentSpanId, '1111111111111111');
  assert.equal(n.senderSpanId, 'cd'.repeat(8));
  assert.equal(networkAttributes(n)['ioam.sender.span_id'], 'cd'.repeat(8));
});

test('the demo obeys the rules for every span (both encodings), response spans under client spans', async () => {
  for (const encoding of ['oss', 'legacy'] as const) {
    const r = await runDemo({ seed: 3n, encoding, rate: 60, durationMs: 300 });
    const spans = spansOfJsonl(r.jsonl);
    assert.deepEqual(nestingProblems(spans), [], encoding);
    assert.ok(r.netSpans.every((n) => n.start === 'encapsulator_send_time'));
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const net = spans.filter((s) => s.name.startsWith('network '));
    assert.equal(net.length, r.netSpans.length);
    // Every network span hangs under a CLIENT span (requests: the sender; responses: the awaiting one).
    for (const s of net) assert.match(byId.get(s.parentSpanId!)!.name, / (api|db)$/, `${s.name} under a client span`);
  }
});

test('demo --epoch: spans dated from the given time, files identical for a fixed epoch', async () => {
  const e = Date.parse('2030-05-06T07:08:09.010Z');
  const a = await runDemo({ seed: 2n, rate: 40, durationMs: 100, epochMs: e });
  const b = await runDemo({ seed: 2n, rate: 40, durationMs: 100, epochMs: e });
  assert.equal(a.jsonl, b.jsonl);
  assert.equal(a.html, b.html);
  const starts = spansOfJsonl(a.jsonl).map((s) => BigInt(s.startTimeUnixNano));
  const e0 = BigInt(e) * 1_000_000n;
  assert.ok(starts.every((t) => t >= e0 && t < e0 + 5_000_000_000n));
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cliRun(args, {
    stdout: new Writable({ write(c, _e, cb) { out += String(c); cb(); } }),
    stderr: new Writable({ write(c, _e, cb) { err += String(c); cb(); } }),
  });
  return { code, out, err };
}

test('run --otlp FILE: client, server, network and hop spans of examples/clt.yaml, IDs read from the packets, nested', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-run-'));
  try {
    const file = path.join(dir, 'spans.jsonl');
    const r = await cli(['run', path.join(ROOT, 'examples', 'clt.yaml'), '--out', dir, '--no-progress', '--otlp', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /\d+ spans \(\d+ network spans of \d+ traced packets, \d+ application spans of \d+ exchanges\) written to /);
    const text = fs.readFileSync(file, 'utf8');
    const spans = spansOfJsonl(text);
    assert.deepEqual(nestingProblems(spans), []);
    assert.deepEqual([...new Set(spans.map((s) => s.service))].sort(), ['ioam-collector', 'shop', 'web']);
    assert.ok(spans.some((s) => s.name === 'checkout shop') && spans.some((s) => s.name === 'checkout'));
    assert.ok(spans.some((s) => s.name === 'hop r2→r3'));
    assert.ok(text.includes('"ioam.ids.source","value":{"stringValue":"packet"'));
    assert.ok(!text.includes('"stringValue":"simulator"'));
    // Same topology and seed: the same spans; the run's own outputs do not depend on --otlp.
    const r2 = await cli(['run', path.join(ROOT, 'examples', 'clt.yaml'), '--out', path.join(dir, 'b'), '--no-progress', '--otlp', path.join(dir, 'b.jsonl')]);
    assert.equal(r2.code, 0);
    assert.equal(fs.readFileSync(path.join(dir, 'b.jsonl'), 'utf8'), text);
    const r3 = await cli(['run', path.join(ROOT, 'examples', 'clt.yaml'), '--out', path.join(dir, 'c'), '--no-progress']);
    assert.equal(r3.code, 0);
    assert.equal(fs.readFileSync(path.join(dir, 'c', 'traces-shop.jsonl'), 'utf8'), fs.readFileSync(path.join(dir, 'traces-shop.jsonl'), 'utf8'));
    // A topology without CLT applications: every traced packet is a network span of its own trace.
    const lin = path.join(dir, 'lin.jsonl');
    assert.equal((await cli(['run', path.join(ROOT, 'examples', 'congested.yaml'), '--out', path.join(dir, 'l'), '--no-progress', '--otlp', lin])).code, 0);
    const ls = spansOfJsonl(fs.readFileSync(lin, 'utf8'));
    assert.ok(ls.filter((s) => s.name.startsWith('network ')).length > 0);
    assert.deepEqual(nestingProblems(ls), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('decode --otlp on a capture without CLT IDs says how many packets it read and why no span came out', async () => {
  // A capture of IOAM-traced packets without CLT IDs: the r1→r2 capture point of examples/linear.yaml.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-nocl-'));
  try {
    assert.equal((await cli(['run', path.join(ROOT, 'examples', 'linear.yaml'), '--out', dir, '--no-progress'])).code, 0);
    const cap = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.pcapng'))!);
    const r = await cli(['decode', '--otlp', cap]);
    assert.equal(r.code, 0);
    assert.equal(r.out, '');
    const m = /no network span: read (\d+) IPv6 packets?, (\d+) with an IOAM trace, (\d+) of them without CLT trace\/span IDs/.exec(r.err);
    assert.ok(m, r.err);
    assert.ok(Number(m[1]) > 0 && m[2] === m[3]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('decode --otlp on what is not a capture: exit 1 naming the file, as without --otlp (not 3, "partial")', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-notcap-'));
  try {
    const empty = path.join(dir, 'empty.pcap'), text = path.join(dir, 'notes.txt');
    fs.writeFileSync(empty, '');
    fs.writeFileSync(text, 'garbage, not a capture\n');
    for (const [f, why] of [[empty, /empty file/], [text, /not a pcap or pcapng file/], [dir, /cannot read: is a directory/], [path.join(dir, 'none.pcap'), /cannot read: no such file/]] as const) {
      const r = await cli(['decode', '--otlp', f]);
      assert.equal(r.code, 1, `${f}: ${r.err}`);
      assert.equal(r.out, '');
      assert.ok(r.err.includes(`${f}: byte 0: `), r.err);
      assert.match(r.err, why);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A local OTLP/HTTP receiver answering from a script of responses. */
async function receiver(answers: { status: number; headers?: Record<string, string>; body?: string }[]): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let n = 0;
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = answers[Math.min(n++, answers.length - 1)]!;
      res.writeHead(a.status, { 'Content-Type': 'application/json', ...(a.headers ?? {}) });
      res.end(a.body ?? '{}');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, hits: () => n, close: () => new Promise((r) => srv.close(() => r())) };
}

test('OTLP/HTTP export: retries 503/429 honouring Retry-After, reports partial success, fails on 400 with one line', async () => {
  const demo = await runDemo({ seed: 1n, rate: 40, durationMs: 100, congestion: 0 });
  const waits: number[] = [];
  const sleep = async (ms: number) => void waits.push(ms);
  const r1 = await receiver([
    { status: 503, headers: { 'Retry-After': '2' } },
    { status: 429 },
    { status: 200, body: JSON.stringify({ partialSuccess: { rejectedSpans: '3', errorMessage: 'too old' } }) },
  ]);
  try {
    const res = await exportOtlpHttp(r1.url, demo.allSpans, { sleep });
    assert.equal(r1.hits(), 3);
    assert.deepEqual(waits, [2000, 500], 'Retry-After first, then exponential backoff');
    assert.equal(res.retries, 2);
    assert.equal(res.spans, demo.allSpans.length);
    assert.equal(res.rejected, 3);
    assert.equal(res.accepted, demo.allSpans.length - 3);
    assert.deepEqual(res.rejectionMessages, ['too old']);
  } finally {
    await r1.close();
  }
  const r2 = await receiver([{ status: 400, body: JSON.stringify({ code: 3, message: 'bad trace id' }) }]);
  try {
    await assert.rejects(() => exportOtlpHttp(r2.url, demo.allSpans, { sleep }), (e: OtlpExportError) => e.kind === 'http' && e.status === 400 && e.message === `OTLP export to ${r2.url}/v1/traces failed: HTTP 400: bad trace id`);
    assert.equal(r2.hits(), 1, '400 is not retried');
  } finally {
    await r2.close();
  }
  // Bounded: a receiver that stays unavailable is given up after maxRetries.
  const r3 = await receiver([{ status: 503 }]);
  try {
    await assert.rejects(() => exportOtlpHttp(r3.url, demo.allSpans, { sleep, maxRetries: 3 }), /HTTP 503.*after 4 attempts/);
    assert.equal(r3.hits(), 4);
  } finally {
    await r3.close();
  }
  assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 5000);
  await assert.rejects(() => exportOtlpHttp('ftp://x', demo.allSpans), (e: OtlpExportError) => e.kind === 'bad-url');
});

test('CLI export errors: one line naming the endpoint, exit 1 for a bad URL, 4 when nothing listens; success prints the accepted spans', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-cli-otlp-'));
  try {
    const bad = await cli(['demo', '--out', dir, '--otlp-endpoint', 'localhost:4318']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /OTLP endpoint localhost:4318: the scheme must be http or https|is not a URL/);
    assert.doesNotMatch(bad.err, /internal error|bug/);
    const port = await new Promise<number>((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const refused = await cli(['demo', '--out', dir, '--rate', '100', '--duration', '60', '--otlp-endpoint', `http://127.0.0.1:${port}`]);
    assert.equal(refused.code, 4);
    const lines = refused.err.trim().split('\n');
    assert.equal(lines.length, 1, refused.err);
    assert.match(lines[0]!, new RegExp(`OTLP export to http://127\\.0\\.0\\.1:${port}/v1/traces failed: connection refused \\(ECONNREFUSED\\) \\(after 5 attempts\\)`));
    const ok = await receiver([{ status: 200 }]);
    try {
      const r = await cli(['demo', '--out', dir, '--rate', '100', '--duration', '60', '--otlp-endpoint', ok.url]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`OTLP: (\\d+) of \\1 spans accepted by ${ok.url.replace(/\./g, '\\.')}/v1/traces \\(1 request\\)`));
    } finally {
      await ok.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
