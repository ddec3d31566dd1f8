/**
 * Topology files: every example validates and builds; errors name the file, the line and the
 * path (`file:line: links[3].bandwidth: ...`), for schema errors, embedded node-object errors and
 * semantic errors (unknown nodes, duplicate addresses, encap policy).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IoamConfigError } from '../src/errors';
import { Network } from '../sim/network';
import { loadTopology, parseDurationNs, parseRateBps, parseTopology } from '../sim/topology';

const EXAMPLES = join(__dirname, '..', 'examples');

const BASE = `name: t
nodes:
  - name: a
    addresses: ["2001:db8::1"]
    roles: [{ ns: 1, role: encap }]
  - name: b
    addresses: ["2001:db8::2"]
    roles: [{ ns: 1, role: decap }]
  - name: c
    addresses: ["2001:db8::3"]
links:
  - { a: a, b: b }
  - { a: b, b: c }
  - { a: a, b: c }
  - a: c
    b: b
    bandwidth: 10Gbps
domains:
  - { ns: 1, trace_type: 0x800000, size: 8 }
`;

/** Builds text → network; returns the error thrown. */
function errorOf(text: string): IoamConfigError {
  try {
    const t = parseTopology(text, 'topo.yaml');
    new Network(t, { seed: 1n, batchSize: 16, hooks: {} });
  } catch (e) {
    assert.ok(e instanceof IoamConfigError, `expected IoamConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('no error');
}

describe('topology files', () => {
  test('every example in examples/ validates and builds', () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml') && f !== 'sweep.yaml'); // sweep.yaml: a sweep file (docs/SCALE.md)
    assert.ok(files.length >= 5, `examples: ${files.join(', ')}`);
    for (const f of files) {
      const t = loadTopology(join(EXAMPLES, f));
      const net = new Network(t, { seed: 1n, batchSize: 16, hooks: {} });
      assert.ok(net.nodes.length >= 3, f);
      for (const n of net.nodes) for (const d of n.devices) if (d) assert.equal(d.peer.peer, d);
    }
  });

  test('a bad bandwidth names file, line and links[3].bandwidth', () => {
    const e = errorOf(BASE.replace('bandwidth: 10Gbps', 'bandwidth: fast'));
    assert.equal(e.file, 'topo.yaml');
    assert.equal(e.line, 17);
    assert.equal(e.path, 'links[3].bandwidth');
    assert.match(e.message, /^topo\.yaml:17: links\[3\]\.bandwidth: expected a rate/);
  });

  test('unknown keys, bad durations and bad addresses are located', () => {
    let e = errorOf(BASE.replace('  - { a: a, b: b }', '  - { a: a, b: b, dealy: 5us }'));
    assert.equal(e.line, 12);
    assert.match(e.message, /links\[0\]/);
    e = errorOf(BASE.replace('  - { a: a, b: b }', '  - { a: a, b: b, delay: soon }'));
    assert.equal(e.path, 'links[0].delay');
    e = errorOf(BASE.replace('"2001:db8::3"', '"2001:zz::3"'));
    assert.equal(e.path, 'nodes[2].addresses[0]');
    assert.equal(e.line, 10);
  });

  test('semantic errors: unknown node, duplicate address, roles without domain', () => {
    let e = errorOf(BASE.replace('  - { a: a, b: b }', '  - { a: a, b: zz }'));
    assert.equal(e.path, 'links[0].b');
    assert.match(e.reason, /unknown node "zz"/);
    e = errorOf(BASE.replace('"2001:db8::3"', '"2001:db8::1"'));
    assert.equal(e.path, 'nodes[2].addresses[0]');
    assert.match(e.reason, /also on a/);
    e = errorOf(BASE.replace('role: decap }', 'role: decap }, { ns: 5, role: transit }'));
    assert.equal(e.path, 'nodes[1].roles[1].ns');
  });

  test('node objects are checked by the node-file schema, paths inside nodes[i].ioam', () => {
    const e = errorOf(BASE.replace('    addresses: ["2001:db8::3"]', '    addresses: ["2001:db8::3"]\n    ioam: { ioam6_id: 0x1000000 }'));
    assert.equal(e.path, 'nodes[2].ioam.ioam6_id');
    assert.equal(e.line, 11);
  });

  test('encap policy errors point at the domain', () => {
    let e = errorOf(BASE.replace('trace_type: 0x800000', 'trace_type: 0x800004'));
    assert.equal(e.path, 'domains[0].trace_type');
    assert.match(e.reason, /undefined bits/);
    e = errorOf(BASE.replace('size: 8 }', 'size: 8, mode: encap }').replace('role: encap }]', 'role: encap }]').replace('    addresses: ["2001:db8::3"]', '    addresses: ["2001:db8::3"]\n    roles: [{ ns: 1, role: decap }]'));
    assert.equal(e.path, 'domains[0].mode');
    assert.match(e.reason, /exactly one decap node/);
  });

  test('a flow or exchange size below its protocol\'s headers is an error naming it', () => {
    const topo = (traffic: string) => `nodes: [{name: a, addresses: ["fd00::1"]}, {name: b, addresses: ["fd00::2"]}]\nlinks: [{a: a, b: b}]\ntraffic: ${traffic}\n`;
    assert.throws(() => parseTopology(topo('{flows: [{name: f, from: a, to: b, rate_pps: 1, size: 47}]}'), 't.yaml'), /t\.yaml:3: traffic\.flows\[0\]\.size: 47 bytes is smaller than a UDP packet's headers \(IPv6 40 \+ UDP 8 = 48 bytes/);
    assert.throws(() => parseTopology(topo('{flows: [{name: f, from: a, to: b, rate_pps: 1, proto: tcp, size: {uniform: [59, 100]}}]}'), 't.yaml'), /size\.uniform\[0\]: 59 bytes is smaller than a TCP packet's headers/);
    assert.throws(() => parseTopology(topo('{requests: [{name: r, client: a, server: b, rate_pps: 1, response_size: {choice: [100, 20]}}]}'), 't.yaml'), /response_size\.choice\[1\]: 20 bytes/);
    parseTopology(topo('{flows: [{name: f, from: a, to: b, rate_pps: 1, size: 48}, {name: g, from: a, to: b, rate_pps: 1, proto: tcp, size: 60}]}'), 't.yaml');
  });

  test('a YAML integer where something else is expected is called a number (not a bigint)', () => {
    assert.throws(() => parseTopology('nodes: 5\n', 't.yaml'), /t\.yaml:1: nodes: Invalid input: expected array, received number/);
  });

  test('units', () => {
    assert.equal(parseDurationNs('1.5ms'), 1_500_000);
    assert.equal(parseDurationNs('10us'), 10_000);
    assert.equal(parseDurationNs(7n), 7);
    assert.equal(parseDurationNs('-1ms'), undefined);
    // A plain integer string is ns (what --duration gets from the command line).
    assert.equal(parseDurationNs('2000000'), 2_000_000);
    assert.equal(parseDurationNs('0'), 0);
    assert.equal(parseDurationNs('-5'), undefined);
    assert.equal(parseDurationNs('1.5'), undefined);
    assert.equal(parseDurationNs('99999999999999999999'), undefined);
    assert.equal(parseRateBps('10Gbps'), 1e10);
    assert.equal(parseRateBps('0bps'), undefined);
  });
});
