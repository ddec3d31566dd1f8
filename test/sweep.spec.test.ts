/**
 * Sweep files: field paths ([i], [name], [*]), grid × points × seeds expansion, the point
 * topologies written and validated by the simulator's loader, errors that name the sweep file,
 * line and point, a directory holding a different sweep, and the result table's metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { IoamConfigError } from '../src/errors';
import { loadSweep, parseFieldPath, parseSeeds, parseSweep } from '../app/sweep/spec';
import { materialize } from '../app/sweep/points';
import { compressRanges, batchScripts } from '../app/sweep/slurm';
import { metricsOf, toCsv } from '../app/sweep/results';

const EXAMPLES = join(__dirname, '..', 'examples');
const SWEEP = join(EXAMPLES, 'virtual-sweep.yaml'); // not on disk: names the file in errors, resolves base from examples/
const tmp = () => mkdtempSync(join(tmpdir(), 'ioamsim-sweep-spec-'));

function errorOf(f: () => unknown): IoamConfigError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof IoamConfigError, `expected IoamConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

test('field paths: keys, indices, [name] and [*]; bad paths say why', () => {
  assert.deepEqual(parseFieldPath('domains[0].size'), [{ key: 'domains' }, { index: 0 }, { key: 'size' }]);
  assert.deepEqual(parseFieldPath('traffic.flows[ping].rate_pps'), [{ key: 'traffic' }, { key: 'flows' }, { name: 'ping' }, { key: 'rate_pps' }]);
  assert.deepEqual(parseFieldPath('links[*].bandwidth'), [{ key: 'links' }, { all: true }, { key: 'bandwidth' }]);
  for (const bad of ['', 'a.', '.a', 'a[', 'a[]', 'a]b', '[0]', 'a..b', 'a[0]b']) assert.equal(typeof parseFieldPath(bad), 'string', bad);
});

test('seeds: ranges, lists, one seed; bad ones rejected', () => {
  assert.deepEqual(parseSeeds('1..4'), [1, 2, 3, 4]);
  assert.deepEqual(parseSeeds([3n, 9n]), [3, 9]);
  assert.deepEqual(parseSeeds(7n), [7]);
  for (const bad of ['5..1', 'x', [], [1, 1], [-1], 1.5]) assert.equal(typeof parseSeeds(bad), 'string', JSON.stringify(bad));
});

test('grid × seeds expands in order (seeds fastest, last grid key next) and sets each field in the point topology', () => {
  const spec = parseSweep(
    ['base: linear.yaml', 'set: { duration: 1ms }', 'seeds: 1..2', 'grid:', '  domains[0].size: [32, 64]', '  traffic.flows[ping].rate_pps: [1000, 2000, 3000]', '  links[*].bandwidth: [100Mbps]'].join('\n'),
    SWEEP,
  );
  assert.equal(spec.points.length, 2 * 3 * 1 * 2);
  assert.deepEqual(spec.paramColumns, ['domains[0].size', 'traffic.flows[ping].rate_pps', 'links[*].bandwidth']);
  assert.deepEqual(spec.points.slice(0, 3).map((p) => [p.params['domains[0].size'], p.params['traffic.flows[ping].rate_pps'], p.seed]), [[32, 1000, 1], [32, 1000, 2], [32, 2000, 1]]);
  assert.deepEqual(spec.points.at(-1)!.params, { 'domains[0].size': 64, 'traffic.flows[ping].rate_pps': 3000, 'links[*].bandwidth': '100Mbps' });
  const dir = tmp();
  try {
    const m = materialize(spec, dir);
    assert.equal(m.points.length, 12);
    const last = parseDocument(readFileSync(join(dir, 'points', '0011', 'topology.yaml'), 'utf8')).toJS() as Record<string, any>;
    assert.equal(last.seed, 2);
    assert.equal(last.duration, '1ms');
    assert.equal(last.domains[0].size, 64);
    assert.equal(last.traffic.flows.find((f: { name: string }) => f.name === 'ping').rate_pps, 3000);
    assert.equal(last.traffic.requests[0].rate_pps, 2000, 'other fields keep the base values');
    assert.ok(last.links.length === 3 && last.links.every((l: { bandwidth: string }) => l.bandwidth === '100Mbps'), '[*] sets every link');
    // A rerun of the same sweep is fine; a different sweep in the same directory is refused.
    materialize(spec, dir);
    const other = parseSweep(['base: linear.yaml', 'grid:', '  domains[0].size: [48]'].join('\n'), SWEEP);
    assert.match(errorOf(() => materialize(other, dir)).message, /holds a different sweep/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('examples/sweep.yaml: 8 valid points (2 sizes x 2 rates x 2 seeds)', () => {
  const dir = tmp();
  try {
    const m = materialize(loadSweep(join(EXAMPLES, 'sweep.yaml')), dir);
    assert.equal(m.points.length, 8);
    assert.deepEqual(m.param_columns, ['domains[0].size', 'traffic.flows[ping].rate_pps']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('points: a list crossed with the grid; base files vary as a parameter', () => {
  const spec = parseSweep(
    ['base: [linear.yaml, congested.yaml]', 'points:', '  - { duration: 1ms }', '  - { duration: 2ms }'].join('\n'),
    SWEEP,
  );
  assert.equal(spec.points.length, 4);
  assert.deepEqual(spec.paramColumns, ['base', 'duration']);
  assert.deepEqual(spec.points.map((p) => [p.params.base, p.params.duration]), [['linear.yaml', '1ms'], ['linear.yaml', '2ms'], ['congested.yaml', '1ms'], ['congested.yaml', '2ms']]);
});

test('an invalid point is reported with the sweep file, the line of its value and the point, and nothing is written', () => {
  const text = ['base: linear.yaml', 'seeds: [1]', 'grid:', '  domains[0].size:', '    - 64', '    - 300', ''].join('\n');
  const dir = tmp();
  try {
    const e = errorOf(() => materialize(parseSweep(text, SWEEP), dir));
    assert.equal(e.issues.length, 1);
    const msg = e.message;
    assert.match(msg, /\/virtual-sweep\.yaml:6: domains\[0\]\.size: point 0001 \(domains\[0\]\.size=300, seed=1\): points\/0001\/topology\.yaml:\d+: domains\[0\]\.size: /);
    assert.ok(!existsSync(join(dir, 'points')), 'no point written when one is invalid');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('paths that select nothing, unknown keys, missing files: errors with lines', () => {
  const nameErr = errorOf(() => materialize(parseSweep(['base: linear.yaml', 'grid:', '  traffic.flows[nosuch].rate_pps: [1]'].join('\n'), SWEEP), tmp()));
  assert.match(nameErr.message, /virtual-sweep\.yaml:3: traffic\.flows\[nosuch\]\.rate_pps: point 0000 .*has no element named "nosuch"/);
  const idxErr = errorOf(() => materialize(parseSweep(['base: linear.yaml', 'grid:', '  domains[4].size: [32]'].join('\n'), SWEEP), tmp()));
  assert.match(idxErr.message, /domains\[4\] does not exist \(the list has 1 elements\)/);
  const e = errorOf(() => parseSweep(['base: nosuch.yaml', 'grdi: {}', 'seeds: 3..1', 'grid:', '  domains[0].size: 32', '  a..b: [1]'].join('\n'), SWEEP));
  const lines = e.message.split('\n');
  assert.ok(lines.some((l) => /\/virtual-sweep\.yaml:1: base: topology file nosuch\.yaml not found/.test(l)), e.message);
  assert.ok(lines.some((l) => /\/virtual-sweep\.yaml:2: grdi: unknown key/.test(l)), e.message);
  assert.ok(lines.some((l) => /\/virtual-sweep\.yaml:3: seeds: .*empty/.test(l)), e.message);
  assert.ok(lines.some((l) => /\/virtual-sweep\.yaml:5: grid\.domains\[0\]\.size: expected a non-empty list/.test(l)), e.message);
  assert.ok(lines.some((l) => /\/virtual-sweep\.yaml:6: grid\.a\.\.b: bad field path/.test(l)), e.message);
  assert.match(errorOf(() => parseSweep('grid: {}', SWEEP)).message, /no topology/);
});

test('a base topology that is not YAML, or not a file: the sweep line and the base file\'s own line', () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'name: x\nnodes: [\n  - {name: a\n');
    const sweep = join(dir, 's.yaml');
    const e = errorOf(() => materialize(parseSweep(['seeds: [1]', 'base: bad.yaml', ''].join('\n'), sweep), join(dir, 'out')));
    assert.match(e.message, /s\.yaml:2: base: bad\.yaml:\d+: /);
    assert.match(errorOf(() => parseSweep(`base: ${dir}`, sweep)).message, /s\.yaml:1: base: .* is not a file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Slurm batch script: array ranges with %M, resources, one sweep-point per task; MaxArraySize splits with an offset', () => {
  assert.equal(compressRanges([0, 1, 2, 5, 7, 8]), '0-2,5,7-8');
  const [s] = batchScripts('/shared/sw', [0, 1, 2, 3, 6], { cpusPerTask: 2, mem: '2G', time: '01:00:00', throttle: 3, maxArraySize: 1001, partition: 'batch' });
  assert.match(s!.script, /^#SBATCH --array=0-3,6%3$/m);
  assert.match(s!.script, /^#SBATCH --cpus-per-task=2$/m);
  assert.match(s!.script, /^#SBATCH --mem=2G$/m);
  assert.match(s!.script, /^#SBATCH --time=01:00:00$/m);
  assert.match(s!.script, /^#SBATCH --partition=batch$/m);
  assert.match(s!.script, /^#SBATCH --output=\/shared\/sw\/slurm\/%A_%a\.out$/m);
  assert.match(s!.script, /sweep-point \/shared\/sw "\$\(\(SLURM_ARRAY_TASK_ID \+ 0\)\)"$/m);
  const split = batchScripts('/shared/sw', [5, 999, 1000, 2500], { cpusPerTask: 1, mem: '1G', time: '10', maxArraySize: 1000 });
  assert.deepEqual(split.map((c) => [c.offset, c.indices]), [[0, [5, 999]], [1000, [1000]], [2000, [2500]]]);
  assert.match(split[2]!.script, /^#SBATCH --array=500$/m);
  assert.match(split[2]!.script, /SLURM_ARRAY_TASK_ID \+ 2000/);
});

test('metrics: count-weighted delay mean, worst hop percentiles, drops by reason; CSV quoting', () => {
  const m = metricsOf(
    {
      seed: '3',
      packets: { generated: 10, delivered: 8, dropped: 2, in_flight_at_end: 0, packet_hops: 30 },
      drops: { 'queue-full': 2 },
      ioam: { overhead_ratio: 0.05 },
      flows: { a: { delay_ns: { count: 6, mean: 100, max: 150, p50: 90, p90: 140, p99: 150 } }, b: { delay_ns: { count: 2, mean: 300, max: 400, p50: 250, p90: 400, p99: 400 } } },
      hops: { x: { hop_delay_ns: { count: 4, mean: 10, max: 20, p50: 9, p90: 19, p99: 20 } }, y: { hop_delay_ns: { count: 4, mean: 30, max: 50, p50: 25, p90: 45, p99: 50 } } },
    },
    { wallMs: 12, packetHopsPerSec: 2500 },
  );
  assert.equal(m.delay_mean_ns, 150); // (6*100 + 2*300) / 8
  assert.equal(m.delay_max_ns, 400);
  assert.equal(m.delivered_ratio, 0.8);
  assert.equal(m.hop_delay_mean_ns, 20);
  assert.equal(m.hop_delay_p99_ns_worst, 50);
  assert.equal(m['drops.queue-full'], 2);
  assert.equal(m['flow.b.delay_p90_ns'], 400);
  assert.equal(m.packet_hops_per_s, 2500);
  const csv = toCsv({ columns: ['a', 'b'], paramColumns: [], wallColumns: [], rows: [['x,y', null], ['say "hi"', 1.5]] });
  assert.equal(csv, 'a,b\n"x,y",\n"say ""hi""",1.5\n');
  writeFileSync(join(tmpdir(), 'ioamsim-sweep-spec-ok'), ''); // the tmp dir is writable (used above)
});
