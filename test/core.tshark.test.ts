// Cross-check with Wireshark: packets we emit (fast-check-generated IOAM options through
// encode(), and traces written by our encapsulating + transit nodes) are written to a pcapng
// file, dissected by `tshark -T json`, and every field tshark dissects must equal our decode():
// IOAM option length / Reserved / Option-Type, Namespace-ID, NodeLen, the four flags,
// RemainingLen, Trace-Type, trace Reserved, free space, and every node field incl. OSS.
//
// What TShark 4.0.17 does not dissect (docs/LINUX-IOAM.md#tshark-40), and so is not compared:
// - Option-Types 2 (POT), 3 (E2E), 4 (DEX) and unassigned ones: "Unknown Data (not
//   interpreted)": only the Option-Type is compared.
// - Option-Type 1 (Incremental) is dissected as if Pre-allocated (free space, then nodes): only
//   the trace header is compared.
// - NodeLen 0 (traces whose only bits are 22 and/or 23): tshark flags `invalid_nodelen` and does
//   not parse the node list: only the trace header is compared (and the expert info is expected).
//
// Needs tshark (/usr/bin/tshark); fails when it is missing unless IOAMSIM_NO_TSHARK=1.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodePcapng } from '../src/capture';
import { DecodedPacket, IoamData, Node, NodeData, PacketBatch, Trace, decode, encode } from '../src/index';
import { ioamDataArb, packetWith, traceArb } from './core.properties.wire';

const COUNT = Number(process.env.IOAMSIM_TSHARK_PACKETS ?? 300);
const SEED = process.env.IOAMSIM_FC_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.IOAMSIM_FC_SEED ?? 20261126);
const TSHARK = process.env.TSHARK ?? '/usr/bin/tshark';
const OPTED_OUT = process.env.IOAMSIM_NO_TSHARK === '1';

type Json = Record<string, unknown>;

/** Packets from encode(): mostly Pre-allocated traces, some of every other Option-Type. */
function encodedPackets(): Uint8Array[] {
  const arb = fc.oneof(
    { weight: 6, arbitrary: traceArb().map((t): IoamData => ({ type: 'preallocated-trace', ...t })) },
    { weight: 2, arbitrary: ioamDataArb },
  );
  return fc.sample(fc.tuple(arb, fc.integer({ min: 0, max: 255 })), { seed: SEED, numRuns: COUNT }).map(([d, hl]) => encode(packetWith(d, hl), { linuxPadding: true }));
}

/** Packets whose traces our dataplane wrote: encapsulating node (inline) then two transit nodes. */
function dataplanePackets(): Uint8Array[] {
  const types = [0xfff002, 0xc00000, 0x800002, 0x002002, 0x040000, 0xff0000, 0x500000];
  const out: Uint8Array[] = [];
  for (const [k, type] of types.entries()) {
    const mk = (name: string, id: number, encap: boolean) =>
      Node.fromConfig({
        name,
        ioam6_id: id,
        ioam6_id_wide: BigInt(id) * 0x1111111111n,
        interfaces: [
          { name: 'in', ioam6_enabled: true, ioam6_id: id * 100 + 1, ioam6_id_wide: id * 1000 + 1 },
          { name: 'out', ioam6_id: id * 100 + 2, ioam6_id_wide: id * 1000 + 2 },
        ],
        namespaces: [{ id: 123, data: 0xdead0000 + id, wide: 0xcafe000000000000n + BigInt(id), ...(id === 2 ? { schema: 9 } : {}) }],
        schemas: id === 2 ? [{ id: 9, data: 'opaque!' }] : [],
        ...(encap ? { encap: { mode: 'inline' as const, trace: { type, ns: 123, size: 4 * (8 + k * 4) } } } : {}),
      });
    const nodes = [mk('e', 1, true), mk('t1', 2, false), mk('t2', 3, false)];
    const batch = new PacketBatch({ capacity: 4 });
    for (let i = 0; i < 4; i++) {
      const base = packetWith({ type: 'unknown', optionType: 9, data: '' }, 64 - i);
      base.extHeaders = [];
      batch.push(encode(base), { ingressIf: 0xffffffff, egressIf: 1, tsSec: 1_700_000_000 + i, tsNsec: 1000 * i, queueDepth: 100 * i });
    }
    nodes[0]!.encap(batch);
    for (const n of nodes.slice(1)) {
      for (let i = 0; i < batch.length; i++) batch.setMeta(i, { ingressIf: 0, egressIf: 1, tsSec: 1_700_000_100 + i, tsNsec: 5000 + i, queueDepth: 7 });
      n.transit(batch);
    }
    for (let i = 0; i < batch.length; i++) {
      assert.equal(batch.outcome(i).verdict, 0);
      out.push(new Uint8Array(batch.packet(i)));
    }
  }
  return out;
}

function tshark(pcapng: string): Json[] {
  const out = execFileSync(TSHARK, ['-r', pcapng, '-T', 'json', '--no-duplicate-keys'], { maxBuffer: 512 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.toString('utf8')) as Json[];
}

const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const hexNum = (s: unknown) => Number(s as string); // "0x0065" or "63"
const colonHex = (s: unknown) => String(s ?? '').replace(/:/g, '');

const IOAM_TYPE_NUM: Record<string, number> = { 'preallocated-trace': 0, 'incremental-trace': 1, pot: 2, e2e: 3, dex: 4 };

/** Compares tshark's node subtree with one of our nodes; returns fields compared. */
function compareNode(ts: Json, n: NodeData, where: string): number {
  let c = 0;
  const eq = (a: unknown, b: unknown, f: string) => {
    assert.equal(a, b, `${where}: ${f}`);
    c++;
  };
  const short = ts['Hop_Lim and Node ID (short)'] as Json | undefined;
  if (n.hopLimit !== undefined) {
    eq(hexNum(short?.['ipv6.opt.ioam.trace.node.hlim']), n.hopLimit, 'hlim');
    eq(hexNum(short?.['ipv6.opt.ioam.trace.node.id']), n.nodeId, 'id');
  }
  const ifs = ts['Ingress and Egress IDs (short)'] as Json | undefined;
  if (n.ingressIfId !== undefined) {
    eq(hexNum(ifs?.['ipv6.opt.ioam.trace.node.iif']), n.ingressIfId, 'iif');
    eq(hexNum(ifs?.['ipv6.opt.ioam.trace.node.eif']), n.egressIfId, 'eif');
  }
  const simple: [keyof NodeData, string][] = [
    ['timestampSecs', 'tss'],
    ['timestampFrac', 'tsf'],
    ['transitDelay', 'trdelay'],
    ['namespaceData', 'nsdata'],
    ['queueDepth', 'qdepth'],
    ['checksumComplement', 'csum'],
    ['ingressIfIdWide', 'iif_wide'],
    ['egressIfIdWide', 'eif_wide'],
    ['bufferOccupancy', 'bufoccup'],
  ];
  const wideIfs = ts['Ingress and Egress IDs (wide)'] as Json | undefined;
  for (const [f, k] of simple) {
    if (n[f] === undefined) continue;
    const src = k.endsWith('_wide') ? wideIfs : ts;
    eq(hexNum(src?.[`ipv6.opt.ioam.trace.node.${k}`]), n[f], k);
  }
  const wide = ts['Hop_Lim and Node ID (wide)'] as Json | undefined;
  if (n.hopLimitWide !== undefined) {
    eq(hexNum(wide?.['ipv6.opt.ioam.trace.node.hlim']), n.hopLimitWide, 'hlim wide');
    eq(BigInt(wide?.['ipv6.opt.ioam.trace.node.id_wide'] as string), BigInt(n.nodeIdWide!), 'id_wide');
  }
  if (n.namespaceDataWide !== undefined) eq(BigInt(ts['ipv6.opt.ioam.trace.node.nsdata_wide'] as string), BigInt(n.namespaceDataWide), 'nsdata_wide');
  if (n.undefined?.length) eq(asArray(ts['ipv6.opt.ioam.trace.node.undefined']).map(hexNum).join(','), n.undefined.join(','), 'undefined');
  if (n.oss) {
    const oss = ts['Opaque State Snapshot'] as Json | undefined;
    assert.ok(oss, `${where}: OSS subtree`);
    eq(hexNum(oss['ipv6.opt.ioam.trace.node.oss.len']), n.oss.length, 'oss len');
    eq(hexNum(oss['ipv6.opt.ioam.trace.node.oss.scid']), n.oss.schemaId, 'oss scid');
    eq(colonHex(oss['ipv6.opt.ioam.trace.node.oss.data']), n.oss.data, 'oss data');
  }
  return c;
}

/** Compares one packet; returns the number of fields compared. */
function comparePacket(ts: Json, ours: DecodedPacket, where: string): number {
  let c = 0;
  const layers = (ts['_source'] as Json)['layers'] as Json;
  const ip = layers['ipv6'] as Json;
  assert.equal(Number(ip['ipv6.hlim']), ours.ipv6.hopLimit, `${where}: hlim`);
  const h = ours.extHeaders[0];
  const hop = ip['ipv6.hopopts'] as Json | undefined;
  assert.ok(h && hop, `${where}: HbH`);
  assert.equal(Number(hop['ipv6.hopopts.len_oct']), h.length, `${where}: HbH length`);
  c += 2;
  const tsOpts = asArray(hop['ipv6.opt'] as Json | Json[]).filter((o) => o['ipv6.opt.type'] === '0x31');
  const ourOpts = (h.options ?? []).map((o, i, all) => ({ o, len: (all[i + 1]?.offset ?? h.offset! + h.length!) - o.offset! - 2 })).filter((x) => x.o.option.kind === 'ioam');
  assert.equal(tsOpts.length, ourOpts.length, `${where}: number of IOAM options`);
  for (const [i, { o, len }] of ourOpts.entries()) {
    const t = tsOpts[i]!;
    const w = `${where} opt${i}`;
    if (o.option.kind !== 'ioam') continue;
    const d = o.option.data;
    assert.equal(Number(t['ipv6.opt.length']), len, `${w}: Opt Data Len`);
    assert.equal(Number(t['ipv6.opt.ioam.rsv']), o.option.reserved, `${w}: reserved`);
    const typeNum = d.type === 'unknown' || d.type === 'malformed' ? d.optionType : IOAM_TYPE_NUM[d.type];
    assert.equal(Number(t['ipv6.opt.ioam.opt_type']), typeNum, `${w}: Option-Type`);
    c += 3;
    if (d.type !== 'preallocated-trace' && d.type !== 'incremental-trace') continue;
    const tr = (t['Pre-allocated Trace'] ?? t['Incremental Trace']) as Json | undefined;
    assert.ok(tr, `${w}: trace subtree`);
    const ours: Trace = d;
    assert.equal(Number(tr['ipv6.opt.ioam.trace.ns']), ours.namespaceId, `${w}: ns`);
    assert.equal(Number(tr['ipv6.opt.ioam.trace.nodelen']), ours.nodeLen, `${w}: NodeLen`);
    const fl = tr['ipv6.opt.ioam.trace.flags_tree'] as Json;
    assert.deepEqual(
      { overflow: fl['ipv6.opt.ioam.trace.flag.o'] === '1', loopback: fl['ipv6.opt.ioam.trace.flag.l'] === '1', active: fl['ipv6.opt.ioam.trace.flag.a'] === '1', bit3: fl['ipv6.opt.ioam.trace.flag.rsv'] === '1' },
      { ...ours.flags },
      `${w}: flags`,
    );
    assert.equal(Number(tr['ipv6.opt.ioam.trace.remlen']), ours.remainingLen, `${w}: RemainingLen`);
    assert.equal(Number(tr['ipv6.opt.ioam.trace.type']), ours.traceType, `${w}: Trace-Type`);
    assert.equal(Number(tr['ipv6.opt.ioam.trace.rsv']), ours.reserved, `${w}: trace reserved`);
    c += 6;
    if (d.type === 'incremental-trace') continue; // dissected as Pre-allocated by tshark 4.0
    if (ours.nodeLen === 0) {
      // NodeLen 0 (bit 22/23 only): tshark reports invalid_nodelen and stops (docs/LINUX-IOAM.md#tshark-40).
      assert.ok(JSON.stringify(tr).includes('ipv6.opt.ioam.trace.invalid_nodelen'), `${w}: expected tshark's invalid_nodelen`);
      continue;
    }
    assert.ok(!/invalid_(nodelen|remlen|type)/.test(JSON.stringify(tr)), `${w}: tshark expert error on a well-formed trace: ${JSON.stringify(tr).slice(0, 400)}`);
    const data = tr['Trace Data'] as Json | undefined;
    if (ours.remainingLen > 0) {
      assert.equal(colonHex(data?.['ipv6.opt.ioam.trace.free_space']), ours.freeSpace, `${w}: free space`);
      c++;
    }
    const tsNodes = Object.keys(data ?? {}).filter((k) => /^Node \d+$/.test(k));
    assert.equal(tsNodes.length, ours.nodes.length, `${w}: node count`);
    for (const [k, n] of ours.nodes.entries()) c += compareNode((data as Json)[`Node ${k + 1}`] as Json, n, `${w} node${k}`);
  }
  return c;
}

describe('tshark dissects what we emit with the same values', () => {
  const present = existsSync(TSHARK);
  if (!present && OPTED_OUT) {
    it.skip(`tshark not found at ${TSHARK} (IOAMSIM_NO_TSHARK=1)`);
    return;
  }
  it('tshark is installed', () => {
    assert.ok(present, `tshark not found at ${TSHARK}: install it (apt-get install tshark) or set IOAMSIM_NO_TSHARK=1`);
  });
  if (!present) return;

  const dir = mkdtempSync(join(tmpdir(), 'ioamsim-tshark-'));
  for (const [what, make] of [
    ['encode() of random IOAM options', encodedPackets],
    ['traces written by our encap + transit nodes', dataplanePackets],
  ] as const) {
    it(what, () => {
      const pkts = make();
      assert.ok(pkts.length >= (what.startsWith('encode') ? COUNT : 20));
      const file = join(dir, `${what.split(' ')[0]}.pcapng`);
      writeFileSync(file, encodePcapng([{ name: 'ioamsim' }], pkts.map((bytes, i) => ({ timestampNs: 1_700_000_000_000_000_000n + BigInt(i), bytes }))));
      const dissected = tshark(file);
      assert.equal(dissected.length, pkts.length, 'tshark read every packet');
      let fields = 0;
      for (const [i, p] of pkts.entries()) fields += comparePacket(dissected[i]!, decode(p), `packet ${i + 1}`);
      assert.ok(fields > pkts.length * 5, `compared ${fields} fields`);
      if (process.env.IOAMSIM_VERBOSE) console.log(`${what}: ${pkts.length} packets, ${fields} fields compared`);
    });
  }
});
