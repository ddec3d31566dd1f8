/**
 * CLT spans in a real Jaeger v2 (built from the Go module proxy by scripts/jaeger.sh, started here
 * on free loopback ports with tools/jaeger/config.yaml). The demo (several seeds) and an
 * `ioamsim run` of a CLT topology are exported over OTLP/HTTP by the CLI; Jaeger's query APIs then
 * must show: every trace with all its services, network spans and hop spans; zero spans with
 * Jaeger warnings (clock-skew adjustments, sanitized durations, missing parents); zero spans
 * starting before or ending after their parent; no zero-length network span; and with
 * `--epoch now` the default search (no time range) finds the traces.
 * Fails loudly when Jaeger cannot be built or started, unless IOAMSIM_NO_JAEGER=1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { run as cliRun } from '../app/cli/main';
import { nestingProblems, spansOfJsonl, type SpanLike } from './clt.helpers';

const ROOT = path.resolve(__dirname, '..');
const SKIP = process.env.IOAMSIM_NO_JAEGER === '1';
let jaeger: ChildProcess | undefined;
let otlpUrl = '';
let queryUrl = '';
let skipped = false;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-jaeger-'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function jaegerBinary(): string {
  if (process.env.IOAMSIM_JAEGER_BIN) return process.env.IOAMSIM_JAEGER_BIN;
  const p = spawnSync('bash', [path.join(ROOT, 'scripts', 'jaeger.sh'), 'path'], { encoding: 'utf8' });
  return p.stdout.trim();
}

before(async () => {
  if (SKIP) {
    skipped = true;
    return;
  }
  let bin = jaegerBinary();
  if (!bin || !fs.existsSync(bin)) {
    const b = spawnSync('bash', [path.join(ROOT, 'scripts', 'jaeger.sh'), 'build'], { encoding: 'utf8', timeout: 45 * 60_000 });
    bin = jaegerBinary();
    assert.ok(b.status === 0 && fs.existsSync(bin), `Jaeger could not be built (bash scripts/jaeger.sh build; set IOAMSIM_NO_JAEGER=1 to opt out):\n${b.stderr?.slice(-2000)}`);
  }
  const [otlp, query, grpc] = [await freePort(), await freePort(), await freePort()];
  const log = fs.openSync(path.join(tmp, 'jaeger.log'), 'w');
  jaeger = spawn(bin, ['--config', path.join(ROOT, 'tools', 'jaeger', 'config.yaml')], {
    env: { ...process.env, IOAMSIM_JAEGER_OTLP_PORT: String(otlp), IOAMSIM_JAEGER_QUERY_PORT: String(query), IOAMSIM_JAEGER_GRPC_PORT: String(grpc) },
    stdio: ['ignore', log, log],
  });
  otlpUrl = `http://127.0.0.1:${otlp}`;
  queryUrl = `http://127.0.0.1:${query}`;
  const end = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${queryUrl}/api/services`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (jaeger.exitCode !== null || Date.now() > end) {
      assert.fail(`Jaeger did not start (${bin}):\n${fs.readFileSync(path.join(tmp, 'jaeger.log'), 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(() => {
  jaeger?.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs an ioamsim command in-process; returns stdout + stderr, asserts exit 0. */
async function ioamsim(args: string[]): Promise<string> {
  let out = '';
  const sink = new Writable({ write(c, _e, cb) { out += String(c); cb(); } });
  const code = await cliRun(args, { stdout: sink, stderr: sink });
  assert.equal(code, 0, `ioamsim ${args.join(' ')}:\n${out}`);
  return out;
}

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  warnings: string[] | null;
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  assert.equal(r.status, 200, `${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

/** Traces of a service through the v1 search API. */
async function search(service: string, range?: { startNs: bigint; endNs: bigint }): Promise<{ traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }[]> {
  const q = range ? `&lookback=custom&start=${range.startNs / 1000n}&end=${range.endNs / 1000n}&limit=100000` : '';
  const j = await getJson<{ data: { traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }[] | null }>(`${queryUrl}/api/traces?service=${encodeURIComponent(service)}${q}`);
  return j.data ?? [];
}

/** One trace through the v3 API: OTLP JSON with nanosecond times and Jaeger's warnings as `@jaeger@warnings`. */
async function traceV3(id: string): Promise<(SpanLike & { service: string; warnings: string[] })[]> {
  const j = await getJson<{ result: { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: (SpanLike & { attributes?: { key: string; value: { arrayValue?: { values: { stringValue: string }[] } } }[] })[] }[] }[] } }>(`${queryUrl}/api/v3/traces/${id}`);
  const out: (SpanLike & { service: string; warnings: string[] })[] = [];
  for (const rs of j.result.resourceSpans) {
    const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        const w = (s.attributes ?? []).find((a) => a.key === '@jaeger@warnings')?.value.arrayValue?.values.map((v) => v.stringValue) ?? [];
        out.push({ ...s, service, warnings: w });
      }
    }
  }
  return out;
}

/** Polls until Jaeger holds `n` traces of `service` in the range (ingestion is asynchronous). */
async function waitForTraces(service: string, n: number, range?: { startNs: bigint; endNs: bigint }): Promise<Awaited<ReturnType<typeof search>>> {
  const end = Date.now() + 30_000;
  for (;;) {
    const got = await search(service, range);
    if (got.length >= n || Date.now() > end) return got;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Checks what Jaeger holds against what was sent (the OTLP JSON Lines file of the same run): each
 * trace complete with all services, network and hop spans; no warning; nesting intact.
 */
async function checkInJaeger(sentJsonl: string, rootService: string, services: string[], range: { startNs: bigint; endNs: bigint }): Promise<{ traces: number; spans: number }> {
  const sent = spansOfJsonl(sentJsonl);
  const sentTraces = new Map<string, number>();
  for (const s of sent) sentTraces.set(s.traceId, (sentTraces.get(s.traceId) ?? 0) + 1);
  const rootTraces = new Set(sent.filter((s) => s.service === rootService).map((s) => s.traceId));
  const found = await waitForTraces(rootService, rootTraces.size, range);
  const ids = new Set(found.map((t) => t.traceID));
  for (const t of rootTraces) assert.ok(ids.has(t), `trace ${t} is in Jaeger`);
  let spans = 0;
  for (const t of found.filter((x) => rootTraces.has(x.traceID))) {
    // v1 API: warnings per span.
    const warned = t.spans.filter((s) => s.warnings && s.warnings.length > 0);
    assert.deepEqual(warned.map((s) => `${s.operationName}: ${s.warnings!.join('; ')}`), [], `no Jaeger warnings in trace ${t.traceID}`);
    assert.deepEqual([...new Set(Object.values(t.processes).map((p) => p.serviceName))].sort(), [...services].sort(), `services of trace ${t.traceID}`);
    // v3 API: nanosecond times, as Jaeger stores and adjusts them.
    const v3 = await traceV3(t.traceID);
    assert.equal(v3.length, sentTraces.get(t.traceID), `every span of trace ${t.traceID} arrived`);
    assert.deepEqual(v3.filter((s) => s.warnings.length > 0).map((s) => s.warnings), []);
    assert.deepEqual(nestingProblems(v3), [], `nesting in trace ${t.traceID}`);
    const netSpans = v3.filter((s) => s.name.startsWith('network '));
    const hops = v3.filter((s) => s.name.startsWith('hop '));
    assert.ok(netSpans.length >= 2, `trace ${t.traceID} has its network spans`);
    assert.ok(hops.length >= 2 * netSpans.length, `trace ${t.traceID} has its hop spans`);
    const byId = new Map(v3.map((s) => [s.spanId, s]));
    for (const h of hops) assert.ok(byId.get(h.parentSpanId!)?.name.startsWith('network '), `${h.name} hangs under a network span`);
    spans += v3.length;
  }
  return { traces: rootTraces.size, spans };
}

const EPOCH = '2026-03-01T12:00:00Z';
const epochNs = BigInt(Date.parse(EPOCH)) * 1_000_000n;
const RANGE = { startNs: epochNs - 1_000_000_000n, endNs: epochNs + 60_000_000_000n };

test('Jaeger: the demo (seeds 1, 7, 11) over OTLP/HTTP: complete traces, no warnings, spans nested', { timeout: 600_000 }, async (t) => {
  if (skipped) return t.skip('IOAMSIM_NO_JAEGER=1');
  let total = 0;
  for (const seed of ['1', '7', '11']) {
    const dir = path.join(tmp, `demo-${seed}`);
    const out = await ioamsim(['demo', '--seed', seed, '--out', dir, '--epoch', EPOCH, '--otlp-endpoint', otlpUrl]);
    const m = /OTLP: (\d+) of (\d+) spans accepted by (\S+)/.exec(out);
    assert.ok(m, `the export reports what was accepted:\n${out}`);
    assert.equal(m[1], m[2]);
    assert.equal(m[3], `${otlpUrl}/v1/traces`);
    const jsonl = fs.readFileSync(path.join(dir, 'spans.otlp.jsonl'), 'utf8');
    assert.equal(Number(m[2]), spansOfJsonl(jsonl).length);
    const r = await checkInJaeger(jsonl, 'frontend', ['frontend', 'api', 'db', 'ioam-collector'], RANGE);
    t.diagnostic(`seed ${seed}: ${r.traces} traces, ${r.spans} spans in Jaeger, 0 warnings`);
    total += r.traces;
  }
  assert.ok(total >= 60);
});

test('Jaeger: `ioamsim run examples/clt.yaml --otlp URL`: client, server, network and hop spans, no warnings', { timeout: 600_000 }, async (t) => {
  if (skipped) return t.skip('IOAMSIM_NO_JAEGER=1');
  const dir = path.join(tmp, 'run');
  const file = path.join(dir, 'spans.otlp.jsonl');
  await ioamsim(['run', path.join(ROOT, 'examples', 'clt.yaml'), '--out', dir, '--no-progress', '--epoch', EPOCH, '--otlp', file]);
  const out = await ioamsim(['run', path.join(ROOT, 'examples', 'clt.yaml'), '--out', path.join(dir, 'b'), '--no-progress', '--epoch', EPOCH, '--otlp', otlpUrl]);
  const m = /OTLP: (\d+) of (\d+) spans accepted/.exec(out);
  assert.ok(m, out);
  assert.equal(m[1], m[2]);
  const jsonl = fs.readFileSync(file, 'utf8');
  assert.equal(Number(m[2]), spansOfJsonl(jsonl).length, 'the file and the export hold the same spans');
  // The IDs travelled in the packets (clt_legacy domain), not from the simulator's bookkeeping.
  assert.ok(!jsonl.includes('"ioam.ids.source","value":{"stringValue":"simulator"'));
  const r = await checkInJaeger(jsonl, 'web', ['web', 'shop', 'ioam-collector'], RANGE);
  t.diagnostic(`run: ${r.traces} traces, ${r.spans} spans in Jaeger, 0 warnings`);
  assert.ok(r.traces >= 10);
});

test('Jaeger: with --epoch now the default search (no time range) finds the demo', { timeout: 300_000 }, async (t) => {
  if (skipped) return t.skip('IOAMSIM_NO_JAEGER=1');
  const dir = path.join(tmp, 'now');
  await ioamsim(['demo', '--seed', '5', '--out', dir, '--epoch', 'now', '--otlp-endpoint', otlpUrl, '--duration', '300']);
  const sent = spansOfJsonl(fs.readFileSync(path.join(dir, 'spans.otlp.jsonl'), 'utf8'));
  const mine = new Set(sent.filter((s) => s.service === 'frontend').map((s) => s.traceId));
  const end = Date.now() + 30_000;
  let found: Awaited<ReturnType<typeof search>> = [];
  while (Date.now() < end) {
    found = await search('frontend');
    if (found.filter((x) => mine.has(x.traceID)).length >= Math.min(mine.size, 20)) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  const hits = found.filter((x) => mine.has(x.traceID));
  // Jaeger's default search: the last hour, 20 traces at most (the UI's defaults).
  assert.ok(hits.length >= Math.min(mine.size, 20), `default search found ${hits.length} of ${mine.size} traces`);
  // The traces dated 2026-03-01 by the other tests are outside the default lookback.
  assert.ok(found.every((x) => mine.has(x.traceID)), 'only the traces dated now');
});
