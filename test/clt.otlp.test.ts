/**
 * OTLP export of the CLT spans: the JSON mapping (hex IDs, decimal-string times, kinds), JSON Lines,
 * and OTLP/HTTP against a real receiver: tools/otlp-receiver, built here from the Go module proxy,
 * which decodes with the OpenTelemetry Collector's pdata/ptraceotlp.
 * Needs `go`; fails loudly without it unless IOAMSIM_NO_GO=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runDemo } from '../sim/clt/demo';
import { exportOtlpHttp, toOtlpRequest } from '../src/otlp';

const ROOT = path.resolve(__dirname, '..');

test('OTLP JSON mapping: hex IDs, decimal-string nanosecond times, OTLP span kinds, parents', async () => {
  const r = await runDemo({ rate: 40, durationMs: 100, congestion: 0 });
  const req = toOtlpRequest(r.allSpans);
  const services = req.resourceSpans.map((rs) => rs.resource.attributes.find((a) => a.key === 'service.name')!.value);
  assert.deepEqual(services.map((v) => (v as { stringValue: string }).stringValue).sort(), ['api', 'db', 'frontend', 'ioam-collector']);
  const spans = req.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans));
  assert.equal(spans.length, r.allSpans.length);
  for (const s of spans) {
    assert.match(s.traceId, /^[0-9a-f]{32}$/);
    assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.match(s.startTimeUnixNano, /^[0-9]+$/);
    assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano));
    assert.ok(s.kind >= 1 && s.kind <= 5);
  }
  // Server spans are SPAN_KIND_SERVER (2), calls SPAN_KIND_CLIENT (3).
  assert.ok(spans.some((s) => s.name === 'GET /checkout' && s.kind === 2));
  assert.ok(spans.some((s) => s.name === 'GET /cart api' && s.kind === 3));
  // Every network span is the child of an application span of the same trace.
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const net = spans.filter((s) => s.name.startsWith('network '));
  assert.ok(net.length > 0);
  for (const n of net) {
    const p = byId.get(n.parentSpanId!);
    assert.ok(p, `parent of ${n.name}`);
    assert.equal(p.traceId, n.traceId);
    assert.ok(!p.name.startsWith('network ') && !p.name.startsWith('hop '));
  }
  // Times are simulated: 2026-01-01T00:00:00Z + less than a few seconds.
  const t0 = BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n;
  for (const s of spans) assert.ok(BigInt(s.startTimeUnixNano) >= t0 && BigInt(s.startTimeUnixNano) < t0 + 10_000_000_000n);
  // JSON Lines: one request per trace.
  const lines = r.jsonl.trim().split('\n');
  assert.equal(lines.length, new Set(spans.map((s) => s.traceId)).size);
  for (const l of lines) assert.ok(Array.isArray(JSON.parse(l).resourceSpans));
});

function goAvailable(): boolean {
  return spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
}

async function waitFor(file: string, ms: number): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fs.existsSync(file)) {
      const t = fs.readFileSync(file, 'utf8').trim();
      if (t) return t;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${file}`);
}

test('OTLP/HTTP export is accepted and decoded by a pdata-based receiver (tools/otlp-receiver)', { timeout: 900_000 }, async (t) => {
  if (!goAvailable()) {
    if (process.env.IOAMSIM_NO_GO === '1') {
      t.diagnostic('go missing: skipped because IOAMSIM_NO_GO=1');
      return;
    }
    assert.fail('`go` is not on the PATH: the OTLP receiver cannot be built (set IOAMSIM_NO_GO=1 to opt out)');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-otlp-'));
  const bin = path.join(dir, 'otlp-receiver');
  const started = Date.now();
  const b = spawnSync('go', ['build', '-o', bin, '.'], { cwd: path.join(ROOT, 'tools', 'otlp-receiver'), encoding: 'utf8', timeout: 600_000 });
  assert.equal(b.status, 0, `go build failed: ${b.stderr}`);
  t.diagnostic(`otlp-receiver built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const out = path.join(dir, 'got.jsonl');
  const ready = path.join(dir, 'ready.txt');
  let child: ChildProcess | undefined;
  try {
    child = spawn(bin, ['-listen', '127.0.0.1:0', '-out', out, '-ready', ready, '-timeout', '120s'], { stdio: 'ignore' });
    const addr = await waitFor(ready, 20_000);
    const endpoint = `http://${addr}`;
    const r = await runDemo({ rate: 60, durationMs: 300, otlpEndpoint: endpoint });
    const got = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { contentType: string; spans: { traceId: string; spanId: string; parentSpanId: string; name: string; kind: string; service: string; attributes: Record<string, unknown> }[] });
    assert.ok(got.length >= 1);
    const spans = got.flatMap((g) => g.spans);
    assert.equal(spans.length, r.allSpans.length, 'every span arrived');
    const ids = new Set(spans.map((s) => s.spanId));
    assert.equal(ids.size, spans.length);
    const hops = spans.filter((s) => s.name.startsWith('hop '));
    assert.ok(hops.length > 0);
    for (const h of hops) {
      assert.equal(h.service, 'ioam-collector');
      assert.ok(ids.has(h.parentSpanId));
      assert.equal(typeof h.attributes['ioam.hop.delay.last_ns'], 'number');
      assert.equal(typeof h.attributes['ioam.node.id'], 'number');
    }
    assert.ok(spans.some((s) => s.kind === 'Server' && s.service === 'frontend'));
    // The receiver validates: base64 IDs (not OTLP JSON's hex) are refused with 400, and the exporter reports it.
    const bad = JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'x' }, spans: [{ traceId: 'CvdlGRbNQ92ESOshHIAxnA==', spanId: 't61rcWkgMzE=', name: 'bad', kind: 1, startTimeUnixNano: '1', endTimeUnixNano: '2' }] }] }] });
    const res = await fetch(`${endpoint}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: bad });
    assert.equal(res.status, 400);
    await assert.rejects(() => exportOtlpHttp(`${endpoint}/nowhere`, r.allSpans.slice(0, 1)), /HTTP 404/);
  } finally {
    child?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
