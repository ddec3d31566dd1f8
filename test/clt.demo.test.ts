/**
 * The CLT demo end to end: the report names the congested link with IOAM evidence, outputs are
 * deterministic, per-socket IDs mis-attribute on a kept-alive connection, the capture gives the same
 * network spans offline, the CLI command works (the HTML report in a browser: test/clt.report.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { runDemo, type DemoResult } from '../sim/clt/demo';
import { networkSpansFromCapture } from '../sim/clt/offline';
import type { NetSpan } from '../sim/clt/collector';
import { createCommands as createDecodeCommands } from '../app/cli/commands/decode';
import { createCommands } from '../app/cli/commands/demo';

let cached: Promise<DemoResult> | undefined;
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-demo-main-'));
const demo = (): Promise<DemoResult> => (cached ??= runDemo({ out: outDir }));
const dirOf = (_r: DemoResult): string => outDir;
process.on('exit', () => fs.rmSync(outDir, { recursive: true, force: true }));

test('demo: the slowest contributor is the congested link r2→r3, with queue-depth evidence', async () => {
  const r = await demo();
  const v = r.analysis.verdict!;
  assert.ok(v, 'a verdict');
  assert.equal(v.contributor.name, 'hop r2→r3');
  assert.match(r.conclusion, /network hop r2→r3/);
  assert.ok((v.contributor.maxQueueDepth ?? 0) > 50_000, `queue depth evidence ${v.contributor.maxQueueDepth}`);
  assert.ok(v.contributor.excessNs > 5e6, 'several ms of excess');
  // Every call has its network spans, none outside its parent: per-request IDs attribute correctly.
  assert.equal(r.analysis.misattributedNetSpans, 0);
  assert.equal(r.analysis.unattributedCalls, 0);
  assert.equal(r.collector.untagged, 0);
  assert.equal(r.collector.malformed, 0);
  // One network span per request direction: 2 calls × 2 directions per request.
  assert.equal(r.netSpans.length, r.analysis.requests.length * 4);
  // api → db: api, r2, r3, db. The encapsulating host's element has no timestamp (Linux writes
  // all-ones for locally generated packets): the first hop starts at the simulator's send time.
  const apiToDb = r.netSpans.find((n) => n.src === '2001:db8:2::20' && n.dst === '2001:db8:3::30')!;
  assert.equal(apiToDb.name, 'api→db');
  assert.equal(apiToDb.start, 'encapsulator_send_time');
  assert.deepEqual(apiToDb.hops.map((h) => h.name), ['api→r2', 'r2→r3', 'r3→db']);
  assert.equal(apiToDb.hops[0]!.fromData.timestampSecs, 0xffffffff, 'the encapsulating host wrote the unavailable timestamp');
  assert.equal(apiToDb.hops[0]!.startNs, apiToDb.startNs);
  assert.deepEqual(apiToDb.hops.map((h) => [h.egressIf, h.ingressIf]), [[2002, 202], [203, 303], [304, 3004]], 'interface ids written by the core');
});

test('demo without congestion: no network hop is named', async () => {
  const r = await runDemo({ congestion: 0 });
  assert.notEqual(r.analysis.verdict!.contributor.kind, 'hop');
});

test('demo is deterministic: same seed → byte-identical spans, capture and report', async () => {
  const a = await demo();
  const dirB = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-demo-b-'));
  const b = await runDemo({ out: dirB });
  // Every output file byte for byte.
  for (const f of ['report.html', 'report.txt', 'spans.otlp.jsonl', 'capture.pcapng', 'summary.json']) {
    assert.ok(fs.readFileSync(path.join(dirOf(a), f)).equals(fs.readFileSync(path.join(dirB, f))), `${f} differs between two runs with seed 7`);
  }
  fs.rmSync(dirB, { recursive: true, force: true });
  assert.equal(a.jsonl, b.jsonl);
  assert.equal(a.html, b.html);
  assert.deepEqual(a.pcapng, b.pcapng);
  const c = await runDemo({ seed: 8n });
  assert.notEqual(c.jsonl, a.jsonl);
});

test('legacy encoding gives the same answer when every node is CLT-patched', async () => {
  const r = await runDemo({ encoding: 'legacy' });
  assert.equal(r.analysis.verdict!.contributor.name, 'hop r2→r3');
  assert.equal(r.collector.malformed, 0);
});

test('IDs stuck to the socket (original CLT kernel behaviour) mis-attribute on kept-alive connections', async () => {
  const r = await runDemo({ idMode: 'socket' });
  // 2 connections × 2 directions: every packet of every request carries the first request's IDs.
  assert.equal(r.netSpans.length, 4);
  assert.equal(r.analysis.misattributedNetSpans, 4);
  // Even the first request loses its network spans: they run on past its end, covering later requests.
  assert.equal(r.analysis.unattributedCalls, 2 * r.analysis.requests.length);
  assert.notEqual(r.analysis.verdict!.contributor.name, 'hop r2→r3', 'the hop cannot be named from mis-attributed data');
  const firstTrace = r.netSpans[0]!.traceId;
  assert.ok(r.netSpans.every((n) => n.traceId === firstTrace));
});

test('offline: the capture of a run gives the same network spans (decode --otlp helper), less the last hop', async () => {
  const r = await demo();
  // capture.pcapng: CLT packets as the last router sends them to the destination host, i.e.
  // before that host's own fill: every offline span has the same parent and one hop fewer.
  const off = await networkSpansFromCapture(r.pcapng, { layout: 'rfc' });
  assert.equal(off.captureError, null);
  assert.equal(off.malformed, 0);
  assert.equal(off.netSpans.length, r.netSpans.length);
  // Offline the send time is unknown: the first timed element (the first router) bounds the span,
  // so the first hop (host → router) is missing too.
  const key = (n: NetSpan, first: number, drop: number) => `${n.traceId}/${n.senderSpanId}/${n.packets}/${n.hops.slice(first, n.hops.length - drop).map((h) => `${h.fromNodeId}>${h.toNodeId}:${h.egressIf}:${h.lastDelayNs}`).join(',')}`;
  assert.deepEqual(off.netSpans.map((n) => key(n, 0, 0)).sort(), r.netSpans.map((n) => key(n, 1, 1)).sort());
  assert.ok(off.netSpans.every((n) => n.start === 'first_timed_hop'));
  assert.equal(off.jsonl.trim().split('\n').length, r.analysis.requests.length);
  // The same capture read with the wrong layout finds no CLT IDs.
  const wrong = await networkSpansFromCapture(r.pcapng, { layout: 'clt-legacy' });
  assert.equal(wrong.netSpans.filter((n) => r.netSpans.some((m) => m.traceId === n.traceId)).length, 0);
});

test('CLI: `ioamsim decode --otlp CAPTURE` prints the offline network spans as OTLP JSON Lines', async () => {
  const r = await demo();
  let text = '';
  const sink = new Writable({ write(c, _e, cb) { text += String(c); cb(); } });
  const [cmd] = createDecodeCommands({ stdout: sink, stderr: sink, debug: false });
  await cmd!.parseAsync(['node', 'decode', '--otlp', path.join(dirOf(r), 'capture.pcapng')], { from: 'node' });
  const lines = text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, r.analysis.requests.length);
  const spans = lines.flatMap((l) => l.resourceSpans.flatMap((rs: { scopeSpans: { spans: { name: string; parentSpanId: string }[] }[] }) => rs.scopeSpans.flatMap((ss) => ss.spans)));
  // Offline there is no topology: hops are named by IOAM node id.
  assert.ok(spans.some((sp: { name: string }) => sp.name === 'hop node 2→node 3'));
  assert.equal(spans.filter((sp: { name: string }) => sp.name.startsWith('network ')).length, r.netSpans.length);
});

test('CLI: `ioamsim demo --out DIR` writes the outputs and prints the conclusion', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-demo-'));
  let text = '';
  const sink = new Writable({ write(c, _e, cb) { text += String(c); cb(); } });
  const [cmd] = createCommands({ stdout: sink, stderr: sink, debug: false });
  await cmd!.parseAsync(['node', 'demo', '--out', dir, '--rate', '60', '--duration', '400'], { from: 'node' });
  for (const f of ['report.html', 'report.txt', 'spans.otlp.jsonl', 'capture.pcapng', 'summary.json']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  assert.match(text, /Slowest contributor: network hop r2→r3/);
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.culprit, 'hop r2→r3');
  fs.rmSync(dir, { recursive: true, force: true });
});
