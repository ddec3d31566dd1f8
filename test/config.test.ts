// Node-file parsing and validation (src/config.ts): good files, 64-bit values, and every error
// naming file:line: path: reason.
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  IoamConfigError,
  loadNodeFile,
  nodeConfigSchema,
  parseNodeConfig,
  toNativeConfig,
  toNativeObject,
  validateNodeConfig,
  ipv6ToBytes,
  nodeObjectSchema,
  parseYamlSource,
  type NodeConfig,
} from '../src/config';
import { IoamError, normalizeNativeError } from '../src/errors';
import { native } from '../src/native';

const R1 = `name: r1
profile: linux
ioam6_id: 1
ioam6_id_wide: 0x11111111111111
interfaces:
  - name: r1-h1
    ioam6_enabled: true
    ioam6_id: 101
    ioam6_id_wide: 101101
  - name: r1-r2
    ioam6_id: 102
    ioam6_id_wide: 102102
namespaces:
  - id: 123
    data: 0xdeadbeef
    wide: 0xcafec0caf00dc0de
    schema: 777
    clt_legacy: false
schemas:
  - id: 777
    data: "something that will be 4n-aligned"
encap:
  mode: inline
  trace: { type: 0xfff002, ns: 123, size: 236, incremental: false }
  freq: { k: 1, n: 1 }
`;

/** Parses `text` expecting an IoamConfigError; returns it. */
function fails(text: string, file = 'r1.yaml'): IoamConfigError {
  try {
    parseNodeConfig(text, file);
  } catch (e) {
    assert.ok(e instanceof IoamConfigError, `expected IoamConfigError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_IOAM_CONFIG');
    assert.equal(e.layer, 'config');
    // Every line of the message is `file:line: path: reason`.
    for (const line of e.message.split('\n')) assert.match(line, /^[^:]+:\d+: [^:]+: .+$/, line);
    return e;
  }
  assert.fail('expected a configuration error');
}

/** Line (1-based) of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `needle ${needle} not in text`);
  return i + 1;
}

describe('config: good node files', () => {
  it('parses the DESIGN.md example with 64-bit values exactly', () => {
    const c = parseNodeConfig(R1, 'r1.yaml');
    assert.equal(c.name, 'r1');
    assert.equal(c.profile, 'linux');
    assert.equal(c.ioam6_id, 1);
    assert.equal(c.ioam6_id_wide, 0x11111111111111n);
    assert.deepEqual(c.interfaces, [
      { name: 'r1-h1', ioam6_enabled: true, ioam6_id: 101, ioam6_id_wide: 101101 },
      { name: 'r1-r2', ioam6_enabled: false, ioam6_id: 102, ioam6_id_wide: 102102 },
    ]);
    assert.equal(c.namespaces[0]!.data, 0xdeadbeef);
    assert.equal(c.namespaces[0]!.wide, 0xcafec0caf00dc0den); // > 2^53: must be exact
    assert.equal(Buffer.from(c.schemas[0]!.data).toString(), 'something that will be 4n-aligned');
    assert.deepEqual(c.encap, {
      mode: 'inline',
      trace: { type: 0xfff002, ns: 123, size: 236, incremental: false },
      freq: { k: 1, n: 1 },
      clt_legacy: false,
    });
  });

  it('fills Linux defaults (all-ones ids, ioam6_enabled false, no namespaces)', () => {
    const c = parseNodeConfig('name: h\ninterfaces:\n  - name: eth0\n', 'h.yaml');
    assert.equal(c.profile, 'linux');
    assert.equal(c.ioam6_id, 0xffffff);
    assert.equal(c.ioam6_id_wide, 0x00ffffffffffffffn);
    assert.deepEqual(c.interfaces, [{ name: 'eth0', ioam6_enabled: false, ioam6_id: 0xffff, ioam6_id_wide: 0xffffffff }]);
    assert.deepEqual(c.namespaces, []);
    assert.deepEqual(c.schemas, []);
    assert.equal(c.encap, undefined);
  });

  it('accepts numbers, bigints, "0x.." and decimal strings alike', () => {
    const a = validateNodeConfig({ name: 'n', ioam6_id_wide: '0x11111111111111', namespaces: [{ id: '123', wide: 0xcafec0caf00dc0den, data: 7 }] });
    const b = validateNodeConfig({ name: 'n', ioam6_id_wide: 0x11111111111111n, namespaces: [{ id: 123n, wide: '0xCAFEC0CAF00DC0DE', data: '0x7' }] });
    assert.deepEqual(a, b);
    assert.equal(a.namespaces[0]!.wide, 0xcafec0caf00dc0den);
  });

  it('schema data as { hex }', () => {
    const c = parseNodeConfig('name: n\nschemas:\n  - id: 1\n    data: { hex: "0a0b0c" }\n', 'n.yaml');
    assert.deepEqual([...c.schemas[0]!.data], [10, 11, 12]);
  });

  it('encap mode with tunnel addresses, rfc incremental', () => {
    const c = parseNodeConfig(
      'name: e\nprofile: rfc\nencap:\n  mode: encap\n  tunsrc: "fd00:aa:1::1"\n  tundst: "fd00:aa:2::2"\n  trace: { type: 0xfff000, ns: 1, size: 40, incremental: true }\n  freq: { k: 2, n: 3 }\n',
      'e.yaml',
    );
    assert.equal(c.encap!.mode, 'encap');
    assert.equal(c.encap!.tundst, 'fd00:aa:2::2');
    assert.deepEqual(c.encap!.freq, { k: 2, n: 3 });
  });

  it('toNativeConfig writes bigints as decimal strings and schema data as hex', () => {
    const c = parseNodeConfig(R1, 'r1.yaml');
    const j = JSON.parse(toNativeConfig(c)) as ReturnType<typeof toNativeObject>;
    assert.equal(j.ioam6_id_wide, '4803839602528529');
    assert.equal(j.namespaces[0]!.wide, 0xcafec0caf00dc0den.toString());
    assert.equal(j.namespaces[0]!.data, 0xdeadbeef);
    assert.equal(j.schemas[0]!.data_hex, Buffer.from('something that will be 4n-aligned').toString('hex'));
    assert.equal(j.encap!.trace_type, 0xfff002);
    assert.equal(j.encap!.tunsrc, '::');
  });

  it('loadNodeFile reads a file and names it in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ioamsim-cfg-'));
    const good = join(dir, 'r1.yaml');
    writeFileSync(good, R1);
    assert.equal(loadNodeFile(good).name, 'r1');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, R1.replace('ioam6_id: 1\n', 'ioam6_id: 0x1000000\n'));
    assert.throws(() => loadNodeFile(bad), (e: IoamConfigError) => e.file === bad && e.line === 3 && e.path === 'ioam6_id');
    assert.throws(() => loadNodeFile(join(dir, 'missing.yaml')), (e: IoamConfigError) => e instanceof IoamConfigError && /cannot read/.test(e.reason));
  });

  it('nodeConfigSchema is reusable on plain objects', () => {
    const r = nodeConfigSchema.safeParse({ name: 'x', ioam6_id: 0x1000000 });
    assert.equal(r.success, false);
  });

  it('ipv6ToBytes', () => {
    assert.deepEqual([...ipv6ToBytes('fd00:aa:2::2')], [0xfd, 0, 0, 0xaa, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert.deepEqual([...ipv6ToBytes('::')], new Array(16).fill(0));
    assert.deepEqual([...ipv6ToBytes('::ffff:1.2.3.4')].slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  });
});

describe('config: every error names file:line: path: reason', () => {
  // [what, mutation of R1, needle for the expected line, expected path, reason regex]
  const cases: [string, string, string, string, RegExp][] = [
    ['ioam6_id > 0xFFFFFF', R1.replace('ioam6_id: 1\n', 'ioam6_id: 0x1000000\n'), 'ioam6_id: 0x1000000', 'ioam6_id', /0xFFFFFF/],
    ['ioam6_id_wide > 56 bits', R1.replace('0x11111111111111', '0x100000000000000'), 'ioam6_id_wide:', 'ioam6_id_wide', /0xFFFFFFFFFFFFFF/],
    ['interface ioam6_id > 0xFFFF', R1.replace('ioam6_id: 101\n', 'ioam6_id: 65536\n'), 'ioam6_id: 65536', 'interfaces[0].ioam6_id', /65535/],
    ['interface id_wide > u32', R1.replace('101101', '4294967296'), '4294967296', 'interfaces[0].ioam6_id_wide', /0xFFFFFFFF/],
    ['ioam6_enabled not a bool', R1.replace('ioam6_enabled: true', 'ioam6_enabled: yes please'), 'ioam6_enabled', 'interfaces[0].ioam6_enabled', /true or false/],
    ['namespace data > u32', R1.replace('data: 0xdeadbeef', 'data: 0x1deadbeef'), 'data: 0x1deadbeef', 'namespaces[0].data', /0xFFFFFFFF/],
    ['namespace data a bad string', R1.replace('data: 0xdeadbeef', 'data: "beef"'), 'data: "beef"', 'namespaces[0].data', /expected an integer/],
    ['namespace id > u16', R1.replace('  - id: 123', '  - id: 70000'), 'id: 70000', 'namespaces[0].id', /65535/],
    ['negative namespace id', R1.replace('  - id: 123', '  - id: -1'), 'id: -1', 'namespaces[0].id', /0\.\.=65535/],
    ['unbound schema', R1.replace('schema: 777', 'schema: 778'), 'schema: 778', 'namespaces[0].schema', /not configured/],
    ['schema too long', R1.replace('"something that will be 4n-aligned"', JSON.stringify('x'.repeat(1021))), 'xxxx', 'schemas[0].data', /1020/],
    ['schema bad hex', R1.replace('"something that will be 4n-aligned"', '{ hex: "abc" }'), 'hex: "abc"', 'schemas[0].data.hex', /hex/],
    ['unknown key', R1.replace('    clt_legacy: false\n', '    clt_legacy: false\n    bogus: 1\n'), 'bogus: 1', 'namespaces[0].bogus', /unknown key/],
    ['missing interface name', R1.replace('  - name: r1-r2\n    ioam6_id: 102', '  - ioam6_id: 102'), 'ioam6_id: 102', 'interfaces[1].name', /interface name/],
    ['bad profile', R1.replace('profile: linux', 'profile: bsd'), 'profile: bsd', 'profile', /linux or rfc/],
    ['encap type forbidden bits', R1.replace('type: 0xfff002', 'type: 0xfff003'), 'type: 0xfff003', 'encap.trace.type', /bits 12-21/],
    ['encap type 0', R1.replace('type: 0xfff002', 'type: 0'), 'type: 0,', 'encap.trace.type', /1\.\.=0xFFFFFF/],
    ['encap size not 4n', R1.replace('size: 236', 'size: 238'), 'size: 238', 'encap.trace.size', /multiple of 4/],
    ['encap size 248', R1.replace('size: 236', 'size: 248'), 'size: 248', 'encap.trace.size', /244/],
    ['encap freq k > n', R1.replace('{ k: 1, n: 1 }', '{ k: 3, n: 2 }'), 'freq:', 'encap.freq.k', /k <= n/],
    ['encap freq n > 1e6', R1.replace('{ k: 1, n: 1 }', '{ k: 1, n: 1000001 }'), 'freq:', 'encap.freq.n', /1000000/],
    ['incremental on linux profile', R1.replace('incremental: false', 'incremental: true'), 'incremental: true', 'encap.trace.incremental', /rfc/],
    ['encap mode without tundst', R1.replace('mode: inline', 'mode: encap'), 'mode: encap', 'encap', /needs tundst/],
    ['tunsrc in inline mode', R1.replace('mode: inline', 'mode: inline\n  tunsrc: "fd00::1"'), 'tunsrc:', 'encap.tunsrc', /only allowed/],
    ['bad IPv6 address', R1.replace('mode: inline', 'mode: encap\n  tundst: "fd00::zz"'), 'tundst:', 'encap.tundst', /not an IPv6 address/],
    ['bad mode', R1.replace('mode: inline', 'mode: tunnel'), 'mode: tunnel', 'encap.mode', /inline, encap or auto/],
    ['duplicate namespace', R1.replace('schemas:', '  - id: 123\nschemas:'), '  - id: 123\nschemas'.split('\n')[0]!, 'namespaces[1].id', /duplicate namespace id 123/],
    ['float where an integer is needed', R1.replace('ioam6_id: 102\n', 'ioam6_id: 1.5\n'), 'ioam6_id: 1.5', 'interfaces[1].ioam6_id', /integer/],
  ];
  for (const [what, text, needle, path, reason] of cases) {
    it(what, () => {
      const e = fails(text);
      const iss = e.issues.find((i) => i.path === path);
      assert.ok(iss, `no issue at ${path}; got: ${e.message}`);
      assert.equal(iss.file, 'r1.yaml');
      // duplicate namespace: the second `- id: 123` line
      const expectLine = what === 'duplicate namespace' ? text.split('\n').lastIndexOf('  - id: 123') + 1 : lineOf(text, needle);
      assert.equal(iss.line, expectLine, `line for ${path}: ${e.message}`);
      assert.match(iss.reason, reason);
      assert.ok(e.message.includes(`r1.yaml:${iss.line}: ${path}: `), e.message);
    });
  }

  // The core (NodeConfig::validate, run when the native node is built) owns the semantic rules;
  // the schema above restates them for file:line messages. Every cross-field rule it reports
  // must also be refused by the core when the TS check is skipped (docs/DESIGN.md "Node file").
  const coreRefuses = new Set(['unbound schema', 'encap type forbidden bits', 'encap size not 4n', 'encap freq k > n', 'incremental on linux profile', 'encap mode without tundst', 'duplicate namespace']);
  for (const [what, text] of cases.filter(([w]) => coreRefuses.has(w))) {
    it(`the core refuses it too: ${what}`, () => {
      const { value } = parseYamlSource(text, 'r1.yaml');
      const shape = nodeObjectSchema.safeParse(value);
      assert.ok(shape.success, 'the per-field schema accepts it (a cross-field rule)');
      const { NativeNode } = native();
      assert.throws(
        () => {
          try {
            new NativeNode(toNativeConfig(shape.data as NodeConfig));
          } catch (e) {
            throw normalizeNativeError(e);
          }
        },
        (e: IoamError) => e.code === 'ERR_IOAM_CONFIG' && e.layer === 'config',
      );
    });
  }

  it('YAML syntax errors carry the line', () => {
    const e = fails('name: r1\ninterfaces:\n  - name: [a\n', 'x.yaml');
    assert.equal(e.file, 'x.yaml');
    assert.ok(e.line >= 3, e.message);
  });

  it('duplicate YAML keys are errors', () => {
    const e = fails('name: r1\nname: r2\n', 'x.yaml');
    assert.equal(e.line, 2);
  });

  it('missing name at the document root', () => {
    const e = fails('profile: linux\n', 'x.yaml');
    assert.equal(e.path, 'name');
    assert.equal(e.line, 1);
  });

  it('several problems are all reported, in line order', () => {
    const e = fails(R1.replace('ioam6_id: 1\n', 'ioam6_id: 0x1000000\n').replace('data: 0xdeadbeef', 'data: -4'));
    assert.deepEqual(e.issues.map((i) => i.path), ['ioam6_id', 'namespaces[0].data']);
  });
});
