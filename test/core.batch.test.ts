// The batch ABI plumbing: PacketBatch layout, the binding's argument checks, error
// normalisation, and the TS mirrors (strides, Reason values) against the Rust sources.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DESC_STRIDE,
  IF_NONE,
  IoamConfigError,
  IoamError,
  META_STRIDE,
  Node,
  OUT_STRIDE,
  PacketBatch,
  REASON_STRINGS,
  Reason,
  native,
  normalizeNativeError,
  fromNativeError,
  verdictOf,
} from '../src/index';

const ROOT = join(__dirname, '..');

function node(): Node {
  return Node.fromConfig({ name: 't', ioam6_id: 1, interfaces: [{ name: 'in', ioam6_enabled: true }, { name: 'out' }], namespaces: [{ id: 123 }] });
}

describe('batch ABI mirrors the core', () => {
  it('the generated ABI module is what the Rust renders (crates/ioam-core/tests/abi_ts.rs checks the text)', () => {
    const ts = readFileSync(join(ROOT, 'src/generated/abi.ts'), 'utf8');
    assert.match(ts, /^\/\/ GENERATED from crates\/ioam-core\/src\/abi.rs/);
    assert.deepEqual([DESC_STRIDE, META_STRIDE, OUT_STRIDE, IF_NONE], [4, 8, 4, 0xffffffff]);
  });

  it('src/native.ts declares NativeNode as napi-rs generated it (native/index.d.ts)', () => {
    const block = (text: string, head: RegExp): string[] => {
      const m = head.exec(text);
      assert.ok(m, `found ${head}`);
      const rest = text.slice(m.index + m[0].length);
      return rest.slice(0, rest.indexOf('\n}')).split('\n').map((l) => l.trim());
    };
    const sig = (l: string): string | undefined => {
      const g = /^(?:get |readonly )(\w+)(?:\(\))?: (\w+);?$/.exec(l);
      if (g) return `get ${g[1]}: ${g[2]}`;
      const f = /^(\w+)\((.*)\): (.+?);?$/.exec(l);
      return f && f[1] !== 'constructor' ? `${f[1]}(${f[2]}): ${f[3]}` : undefined;
    };
    const gen = block(readFileSync(join(ROOT, 'native/index.d.ts'), 'utf8'), /export declare class NativeNode \{/).map(sig).filter(Boolean).sort();
    const ours = block(readFileSync(join(ROOT, 'src/native.ts'), 'utf8'), /export interface NativeNode \{/).map(sig).filter(Boolean).sort();
    assert.ok(gen.length >= 7, gen.join('\n'));
    assert.deepEqual(ours, gen);
  });

  it('Reason values and strings equal core dataplane/mod.rs', () => {
    const src = readFileSync(join(ROOT, 'crates/ioam-core/src/dataplane/mod.rs'), 'utf8');
    const values = new Map([...src.matchAll(/^\s+([A-Z][A-Za-z0-9]+) = (\d+),$/gm)].map((m) => [m[1]!, Number(m[2])]));
    const strings = new Map([...src.matchAll(/Reason::([A-Za-z0-9]+) => "([a-z0-9-]+)"/g)].map((m) => [m[1]!, m[2]!]));
    // Verdict's Pass/Drop share the pattern; keep Reason's names only.
    const rust = [...values].filter(([k]) => strings.has(k));
    assert.ok(rust.length >= 20, 'parsed the Rust enum');
    assert.deepEqual(Object.fromEntries(rust), { ...Reason });
    for (const [name, v] of rust) assert.equal((REASON_STRINGS as Record<number, string>)[v], strings.get(name), name);
    for (const v of Object.values(Reason)) assert.equal(verdictOf(v), v < 32 ? 0 : 1);
  });
});

describe('PacketBatch', () => {
  it('push/packet/meta/reset, packets in their slots after the headroom', () => {
    const b = new PacketBatch({ capacity: 3, slotSize: 256, headroom: 64 });
    const p = Uint8Array.from({ length: 100 }, (_, i) => i);
    assert.equal(b.push(p, { ingressIf: 2, tsSec: 5 }), 0);
    assert.equal(b.push(p.subarray(0, 40)), 1);
    assert.equal(b.length, 2);
    assert.deepEqual([...b.desc.subarray(0, 8)], [0, 256, 64, 100, 256, 512, 320, 40]);
    assert.deepEqual(b.packet(0), p);
    assert.equal(b.packet(0).buffer, b.buffer, 'a view, not a copy');
    assert.deepEqual(b.packetMeta(0), { ingressIf: 2, egressIf: IF_NONE, tsSec: 5, tsNsec: 0, queueDepth: 0xffffffff, transitDelayNs: 0xffffffff, bufferOccupancy: 0xffffffff, flags: 0 });
    b.reset();
    assert.equal(b.length, 0);
    assert.throws(() => b.packet(0), RangeError);
  });

  it('refuses too many or too large packets with IoamError NO_ROOM', () => {
    const b = new PacketBatch({ capacity: 1, slotSize: 128, headroom: 64 });
    assert.throws(() => b.push(new Uint8Array(65)), (e: IoamError) => e.code === 'ERR_IOAM_NO_ROOM' && e.layer === 'batch');
    b.push(new Uint8Array(64));
    assert.throws(() => b.push(new Uint8Array(1)), (e: IoamError) => e.code === 'ERR_IOAM_NO_ROOM');
  });

  it('refuses meta that is not a u32 (negative, NaN, fractional, too large, a string) with IoamError BAD_VALUE naming the field', () => {
    const b = new PacketBatch({ capacity: 4, slotSize: 128, headroom: 64 });
    for (const [meta, field] of [[{ ingressIf: -5 }, 'ingressIf'], [{ egressIf: NaN }, 'egressIf'], [{ tsNsec: 1.5 }, 'tsNsec'], [{ queueDepth: 2 ** 32 }, 'queueDepth'], [{ flags: '1' as unknown as number }, 'flags']] as const) {
      assert.throws(() => b.push(new Uint8Array(40), meta), (e: IoamError) => e.code === 'ERR_IOAM_BAD_VALUE' && e.layer === 'batch' && e.message.includes(`packet meta ${field} must be an integer`), JSON.stringify(meta));
    }
    assert.equal(b.length, 0, 'nothing pushed');
    b.push(new Uint8Array(40), { ingressIf: 0xffff_ffff, queueDepth: 0 });
    assert.equal(b.packetMeta(0).ingressIf, 0xffff_ffff);
  });

  it('attach() sees the same packets over a SharedArrayBuffer', () => {
    const b = new PacketBatch({ capacity: 2, shared: true });
    assert.ok(b.buffer instanceof SharedArrayBuffer);
    b.push(Uint8Array.of(0x60, 1, 2, 3), { egressIf: 1 }, new Uint8Array(24).fill(7));
    const w = PacketBatch.attach(b.buffer);
    assert.equal(w.length, 1);
    assert.equal(w.hasClt, true);
    assert.deepEqual([...w.packet(0)], [0x60, 1, 2, 3]);
    assert.equal(w.packetMeta(0).egressIf, 1);
    w.packet(0)[1] = 9;
    assert.equal(b.packet(0)[1], 9);
    assert.throws(() => PacketBatch.attach(new ArrayBuffer(64)), RangeError);
  });

  it('a native call over a SharedArrayBuffer batch leaves unrelated bytes alone', () => {
    const n = node();
    const b = new PacketBatch({ capacity: 2, shared: true, slotSize: 256, headroom: 64 });
    const sentinel = 0xa5;
    new Uint8Array(b.buf.buffer, b.buf.byteOffset, b.buf.byteLength).fill(sentinel);
    const nonIpv6 = new Uint8Array(48).fill(0x11); // version nibble 1
    b.push(nonIpv6);
    assert.equal(n.transit(b), 1);
    const o = b.outcome(0);
    assert.ok(Object.values(Reason).includes(o.reason), `known reason ${o.reason}`);
    // nothing outside the slot changed
    assert.ok(b.buf.subarray(256).every((x) => x === sentinel));
  });
});

describe('binding errors are typed', () => {
  it('tables that disagree throw IoamError BAD_DESCRIPTOR in batch', () => {
    const n = node();
    const b = new PacketBatch({ capacity: 2 });
    b.push(new Uint8Array(48));
    const inner = (n as unknown as { inner: { transitBatch: (...a: unknown[]) => number } }).inner;
    try {
      inner.transitBatch(b.buf, b.desc.subarray(0, 3), b.meta.subarray(0, 8), b.out.subarray(0, 4));
      assert.fail('expected a throw');
    } catch (e) {
      const x = normalizeNativeError(e);
      assert.ok(x instanceof IoamError);
      assert.equal(x.code, 'ERR_IOAM_BAD_DESCRIPTOR');
      assert.equal(x.layer, 'batch');
      assert.equal(x.offset, 0);
    }
  });

  it('overlapping tables are refused', () => {
    const n = node();
    const words = new Uint32Array(16);
    const inner = (n as unknown as { inner: { transitBatch: (...a: unknown[]) => number } }).inner;
    assert.throws(
      () => {
        try {
          inner.transitBatch(new Uint8Array(64), words.subarray(0, 4), new Uint32Array(8), words.subarray(2, 6));
        } catch (e) {
          throw normalizeNativeError(e);
        }
      },
      (e: IoamError) => e.code === 'ERR_IOAM_BAD_DESCRIPTOR' && /overlap/.test(e.what),
    );
  });

  it('a config the core rejects is ERR_IOAM_CONFIG; TS validation catches it first with file:line', () => {
    assert.throws(() => Node.fromConfig({ name: 'x', ioam6_id: 0x1000000 }), (e: IoamConfigError) => e instanceof IoamConfigError && e.path === 'ioam6_id');
    const { NativeNode } = native();
    assert.throws(
      () => {
        try {
          new NativeNode('{"profile":"linux","ioam6_id":16777216,"ioam6_id_wide":"1","encap":null}');
        } catch (e) {
          throw normalizeNativeError(e);
        }
      },
      (e: IoamError) => e.code === 'ERR_IOAM_CONFIG' && e.layer === 'config',
    );
  });

  it('every native error path carries the right code, layer, offset, needed, got (as properties)', () => {
    const b = native() as unknown as Record<string, (...a: unknown[]) => unknown> & { NativeNode: new (j: string) => Record<string, (...a: unknown[]) => unknown> };
    const ip = (n: number, nh: number): Uint8Array => {
      const p = new Uint8Array(n);
      p[0] = 0x60;
      p[4] = (n - 40) >> 8;
      p[5] = (n - 40) & 255;
      p[6] = nh;
      return p;
    };
    const longHbh = ip(48, 0);
    longHbh[41] = 3; // a 32-byte Hop-by-Hop header in 8 bytes
    const n0 = new b.NativeNode('{}');
    const cases: [string, () => unknown, [string, string, number, number, number]][] = [
      ['decode: 10 bytes', () => b.decodePacket!(new Uint8Array(10), 'standard'), ['ERR_IOAM_TRUNCATED', 'ipv6', 0, 40, 10]],
      ['decode: version 0', () => b.decodePacket!(new Uint8Array(48), 'standard'), ['ERR_IOAM_NOT_IPV6', 'ipv6', 0, 0, 0]],
      ['decode: HbH cut', () => b.decodePacket!(ip(44, 0), 'standard'), ['ERR_IOAM_TRUNCATED', 'ext-header', 40, 8, 4]],
      ['decode: HbH longer than the packet', () => b.decodePacket!(longHbh, 'standard'), ['ERR_IOAM_TRUNCATED', 'ext-header', 40, 32, 8]],
      ['decode: bad layout', () => b.decodePacket!(ip(48, 17), 'bogus'), ['ERR_IOAM_BAD_VALUE', 'clt', 0, 0, 0]],
      ['encode: bad JSON', () => b.encodePacket!('{', false), ['ERR_IOAM_BAD_VALUE', 'ipv6', 0, 0, 0]],
      ['node: duplicate namespace (offset = list index)', () => new b.NativeNode('{"namespaces":[{"id":1},{"id":1}]}'), ['ERR_IOAM_CONFIG', 'config', 1, 0, 0]],
      ['node: u16 overflow (serde)', () => new b.NativeNode('{"namespaces":[{"id":70000}]}'), ['ERR_IOAM_CONFIG', 'config', 0, 0, 0]],
      ['node: encap size', () => new b.NativeNode('{"encap":{"trace_type":8388608,"namespace":1,"size":6}}'), ['ERR_IOAM_CONFIG', 'config', 0, 0, 0]],
      ['encapBatch: clt of 5 bytes', () => n0.encapBatch!(new Uint8Array(64), new Uint32Array([0, 64, 0, 48]), new Uint32Array(8), new Uint8Array(5), new Uint32Array(4)), ['ERR_IOAM_BAD_DESCRIPTOR', 'batch', 0, 0, 0]],
      ['decapBatch: traceDesc short', () => n0.decapBatch!(new Uint8Array(64), new Uint32Array([0, 64, 0, 48]), new Uint32Array(8), new Uint32Array(4), new Uint8Array(8), new Uint32Array(1)), ['ERR_IOAM_BAD_DESCRIPTOR', 'batch', 0, 0, 0]],
    ];
    for (const [what, f, want] of cases) {
      let raw: unknown;
      try {
        f();
      } catch (e) {
        raw = e;
      }
      assert.ok(raw instanceof Error, `${what}: throws`);
      const r = raw as Error & Record<string, unknown>;
      assert.deepEqual([r.code, r.layer, r.offset, r.needed, r.got], want, `${what}: properties of the native error`);
      const x = normalizeNativeError(raw) as IoamError;
      assert.ok(x instanceof IoamError, what);
      assert.deepEqual([x.code, x.layer, x.offset, x.needed, x.got], want, what);
    }
  });

  it('fromNativeError reads the structured properties, not the message', () => {
    const raw = Object.assign(new Error('text that says nothing'), { code: 'ERR_IOAM_TRUNCATED', layer: 'trace', offset: 52, needed: 8, got: 3, what: 'trace header' });
    const e = fromNativeError(raw)!;
    assert.deepEqual([e.code, e.layer, e.offset, e.needed, e.got, e.what], ['ERR_IOAM_TRUNCATED', 'trace', 52, 8, 3, 'trace header']);
    assert.equal(e.message, 'ERR_IOAM_TRUNCATED in trace at offset 52: trace header (needed 8 bytes, got 3)');
    // A message in the core's form without the properties is not an IoamError.
    assert.equal(fromNativeError(new Error('ERR_IOAM_NOT_IPV6 in ipv6 at offset 0: version nibble is not 6')), undefined);
    assert.equal(fromNativeError(Object.assign(new Error('x'), { code: 'ERR_IOAM_NOPE', layer: 'ipv6' })), undefined);
    assert.equal(normalizeNativeError(new Error('Rust panic: boom')).name, 'IoamError');
  });

  it('in-place calls check meta, out and clt lengths', () => {
    const n = node();
    const buf = new Uint8Array(128);
    assert.throws(() => n.transitInPlace(buf, 64, 48, new Uint32Array(3)), (e: IoamError) => e.code === 'ERR_IOAM_BAD_DESCRIPTOR' && e.layer === 'batch');
    assert.throws(() => n.transitInPlace(buf, 64, 48, undefined, new Uint32Array(4)), (e: IoamError) => e.code === 'ERR_IOAM_BAD_DESCRIPTOR');
    assert.throws(() => n.encapInPlace(buf, 64, 48, undefined, undefined, new Uint8Array(5)), (e: IoamError) => e.code === 'ERR_IOAM_BAD_LENGTH' && e.layer === 'clt');
  });
});

describe('one-packet calls and the batch agree', () => {
  it('rfc profile: an Incremental trace grows by the node element (one-packet and batch)', async () => {
    const { encode, decode } = await import('../src/index');
    const { packetWith } = await import('./core.properties.wire');
    const n = Node.fromConfig({ name: 'r', profile: 'rfc', ioam6_id: 5, interfaces: [{ name: 'in', ioam6_enabled: true }, { name: 'out' }], namespaces: [{ id: 7 }] });
    const pkt = encode(
      packetWith({ type: 'incremental-trace', namespaceId: 7, nodeLen: 1, flags: { overflow: false, loopback: false, active: false, bit3: false }, remainingLen: 10, traceType: 0x800000, reserved: 0, nodes: [] }, 64),
      { linuxPadding: true },
    );
    const one = n.transitPacketCopy(pkt, { ingressIf: 0, egressIf: 1 });
    assert.equal(one.reasonName, 'Appended');
    const b = new PacketBatch({ capacity: 1 });
    b.push(pkt, { ingressIf: 0, egressIf: 1 });
    n.transit(b);
    assert.equal(b.outcome(0).reasonName, 'Appended');
    assert.deepEqual(new Uint8Array(b.packet(0)), one.packet, 'batch and one-packet calls give the same bytes');
    assert.ok(one.packet.length >= pkt.length + 4, 'the packet grew');
    const d = decode(one.packet);
    const io = d.extHeaders[0]!.options!.find((o) => o.option.kind === 'ioam')!.option;
    assert.ok(io.kind === 'ioam' && io.data.type === 'incremental-trace');
    if (io.kind === 'ioam' && io.data.type === 'incremental-trace') {
      assert.equal(io.data.remainingLen, 9);
      assert.deepEqual(io.data.nodes, [{ hopLimit: 63, nodeId: 5 }]);
    }
  });
});
