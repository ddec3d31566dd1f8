// Compares a decode() result with one view of decoded-summary.txt (an independent decoder's
// text): IPv6 header, the first options header, every option, every trace header field, every
// node field the kernel wrote, OSS, and POT/E2E/DEX fields.
import { strict as assert } from 'node:assert';
import type { DecodedPacket, IoamData, NodeData, Trace } from '../src/decode';
import type { SummaryView } from './core.helpers';

const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));

/** Summary node keys → NodeData fields. */
const NODE_KEYS: Record<string, keyof NodeData> = {
  hl: 'hopLimit',
  id: 'nodeId',
  in: 'ingressIfId',
  eg: 'egressIfId',
  ts_sec: 'timestampSecs',
  ts_frac: 'timestampFrac',
  transit_delay: 'transitDelay',
  ns_data: 'namespaceData',
  queue_depth: 'queueDepth',
  csum_compl: 'checksumComplement',
  hl2: 'hopLimitWide',
  idw: 'nodeIdWide',
  inw: 'ingressIfIdWide',
  egw: 'egressIfIdWide',
  ns_data_wide: 'namespaceDataWide',
  buffer_occ: 'bufferOccupancy',
};

function checkNode(n: NodeData, line: string, where: string): number {
  let checked = 0;
  const oss = /oss\(len=(\d+),schema=(0x[0-9a-f]+),data=([0-9a-f]*)\)/.exec(line);
  const rest = line.replace(/oss\([^)]*\)/, '');
  const seen = new Set<string>();
  const undef: number[] = [];
  for (const m of rest.matchAll(/([a-z_0-9]+)=(0x[0-9a-f]+|\d+)/g)) {
    let k = m[1]!;
    if (seen.has(k)) k = `${k}2`;
    seen.add(m[1]!);
    if (/^bit\d+$/.test(k)) {
      undef.push(Number(m[2]));
      continue;
    }
    const field = NODE_KEYS[k];
    assert.ok(field, `${where}: unknown summary key ${k}`);
    const got = n[field];
    if (field === 'nodeIdWide' || field === 'namespaceDataWide') assert.equal(BigInt(got as string), BigInt(m[2]!), `${where}: ${field}`);
    else assert.equal(got, Number(m[2]), `${where}: ${field}`);
    checked++;
  }
  if (undef.length) {
    assert.deepEqual(n.undefined, undef, `${where}: undefined bits`);
    checked++;
  }
  if (oss) {
    assert.ok(n.oss, `${where}: oss`);
    assert.equal(n.oss.length, Number(oss[1]), `${where}: oss length`);
    assert.equal(n.oss.schemaId, Number(oss[2]), `${where}: oss schema`);
    assert.equal(n.oss.data, oss[3], `${where}: oss data`);
    checked++;
  }
  return checked;
}

const IOAM_TYPES: Record<number, IoamData['type']> = { 0: 'preallocated-trace', 1: 'incremental-trace', 2: 'pot', 3: 'e2e', 4: 'dex' };

function checkBody(d: IoamData, body: string, where: string): void {
  const b = Buffer.from(body, 'hex');
  const ns = b.readUInt16BE(0);
  if (d.type === 'pot') {
    assert.equal(d.namespaceId, ns);
    assert.equal(d.potType, b[2]);
    assert.equal(d.flags, b[3]);
    if (d.potType === 0) {
      assert.equal(BigInt(d.random!), b.readBigUInt64BE(4), `${where}: pot random`);
      assert.equal(BigInt(d.cumulative!), b.readBigUInt64BE(12), `${where}: pot cumulative`);
    }
  } else if (d.type === 'e2e') {
    assert.equal(d.namespaceId, ns);
    assert.equal(d.e2eType, b.readUInt16BE(2));
    if (d.e2eType & 0x8000) assert.equal(BigInt(d.seqNum64!), b.readBigUInt64BE(4), `${where}: e2e seq64`);
  } else if (d.type === 'dex') {
    assert.equal(d.namespaceId, ns);
    assert.equal(d.flags, b[2]);
    assert.equal(d.extensionFlags, b[3]);
    assert.equal(d.traceType, b.readUIntBE(4, 3));
    assert.equal(d.reserved, b[7]);
    let at = 8;
    if (d.extensionFlags & 0x80) {
      assert.equal(d.flowId, b.readUInt32BE(at), `${where}: dex flow id`);
      at += 4;
    }
    if (d.extensionFlags & 0x40) assert.equal(d.sequenceNumber, b.readUInt32BE(at), `${where}: dex seq`);
  } else {
    assert.fail(`${where}: body= for IOAM type ${d.type}`);
  }
}

/** Asserts that `p` shows everything `view` shows; returns the number of fields compared. */
export function checkDecodedAgainstSummary(p: DecodedPacket, view: SummaryView, where: string): number {
  let checked = 0;
  const L = view.lines;
  const ip = /^IPv6 hlim=(\d+) nh=(\d+) plen=(\d+)/.exec(L[0] ?? '');
  assert.ok(ip, `${where}: summary IPv6 line`);
  assert.equal(p.ipv6.hopLimit, Number(ip[1]), `${where}: hop limit`);
  assert.equal(p.ipv6.nextHeader, Number(ip[2]), `${where}: next header`);
  assert.equal(p.ipv6.payloadLen, Number(ip[3]), `${where}: payload length`);
  checked += 3;
  const oh = L.map((l) => /^optshdr nh=(\d+) hdrlen=(\d+) \((\d+) B\)/.exec(l)).find(Boolean);
  if (!oh) {
    assert.equal(p.extHeaders.length, 0, `${where}: no options header`);
    return checked;
  }
  const h = p.extHeaders[0]!;
  assert.equal(h.kind, p.ipv6.nextHeader === 0 ? 'hop-by-hop' : 'destination-options');
  assert.equal(h.nextHeader, Number(oh[1]), `${where}: ext next header`);
  assert.equal(h.length, Number(oh[3]), `${where}: ext length`);
  checked += 2;
  const opts = h.options ?? [];
  let cur: { data: IoamData } | undefined;
  let skip = false; // lines of an option we do not decode as IOAM (code 0x11)
  let nodeIdx = 0;
  for (const line of L) {
    let m: RegExpExecArray | null;
    if ((m = /^ @(\d+) PadN len=(\d+)/.exec(line))) {
      const o = opts.find((x) => x.offset === 40 + Number(m![1]));
      assert.ok(o, `${where}: PadN at @${m[1]}`);
      assert.deepEqual(o.option, { kind: 'padn', len: Number(m[2]) });
      checked++;
      cur = undefined;
    } else if ((m = /^ @(\d+) Pad1/.exec(line))) {
      const o = opts.find((x) => x.offset === 40 + Number(m![1]));
      assert.deepEqual(o?.option, { kind: 'pad1' }, `${where}: Pad1 at @${m[1]}`);
      checked++;
      cur = undefined;
    } else if ((m = /^ @(\d+) IOAM opt code=0x([0-9a-f]+) optlen=(\d+) rsv=(\d+) type=(\d+)(?: body=([0-9a-f]+))?/.exec(line))) {
      const o = opts.find((x) => x.offset === 40 + Number(m![1]));
      assert.ok(o, `${where}: option at @${m[1]}`);
      const code = parseInt(m[2]!, 16);
      if (code !== 0x31) {
        // Linux and we know only 0x31 as IOAM: 0x11 is an unknown option kept intact.
        assert.equal(o.option.kind, 'unknown', `${where}: code 0x${m[2]} is not IOAM to us`);
        if (o.option.kind === 'unknown') {
          assert.equal(o.option.optionType, code);
          assert.equal(o.option.data.length / 2, Number(m[3]));
        }
        checked++;
        cur = undefined;
        skip = true;
        continue;
      }
      skip = false;
      assert.equal(o.option.kind, 'ioam', `${where}: IOAM option`);
      if (o.option.kind !== 'ioam') continue;
      assert.equal(o.option.reserved, Number(m[4]));
      assert.equal(o.option.data.type, IOAM_TYPES[Number(m[5])], `${where}: IOAM Option-Type`);
      checked += 2;
      if (m[6]) {
        checkBody(o.option.data, m[6], where);
        checked++;
      }
      cur = { data: o.option.data };
      nodeIdx = 0;
    } else if (skip) {
      continue;
    } else if ((m = /^ {2}ns=(\d+) nodelen=(\d+) flags=0x[0-9a-f]+\(O=(\d) L=(\d) A=(\d) R=(\d)\) remlen=(\d+) type=0x([0-9a-f]+) trsv=(\d+)/.exec(line))) {
      assert.ok(cur && (cur.data.type === 'preallocated-trace' || cur.data.type === 'incremental-trace'), `${where}: trace header without a trace`);
      const t = cur.data as Trace;
      assert.equal(t.namespaceId, Number(m[1]), `${where}: Namespace-ID`);
      assert.equal(t.nodeLen, Number(m[2]), `${where}: NodeLen`);
      assert.deepEqual(t.flags, { overflow: m[3] === '1', loopback: m[4] === '1', active: m[5] === '1', bit3: m[6] === '1' }, `${where}: flags`);
      assert.equal(t.remainingLen, Number(m[7]), `${where}: RemainingLen`);
      assert.equal(t.traceType, parseInt(m[8]!, 16), `${where}: Trace-Type`);
      assert.equal(t.reserved, Number(m[9]), `${where}: trace reserved`);
      checked += 6;
    } else if ((m = /^ {2}free\[(\d+)B\]=([0-9a-f]*)(\.\.)?/.exec(line))) {
      const t = cur!.data as Trace;
      // The independent decoder (like Wireshark, docs/LINUX-IOAM.md#tshark-40) reads an Incremental trace as if
      // it were Pre-allocated; ours follows RFC 9197 §4.4.1: no free space, node data follows the header.
      if (cur!.data.type === 'incremental-trace') continue;
      const free = t.freeSpace ?? '';
      assert.equal(free.length / 2, Number(m[1]), `${where}: free space length`);
      assert.ok(free.startsWith(m[2]!), `${where}: free space bytes`);
      checked++;
    } else if ((m = /^ {2}node\[(\d+)\] \(newest first\): (.*)$/.exec(line))) {
      const t = cur!.data as Trace;
      assert.equal(Number(m[1]), nodeIdx, `${where}: node order`);
      const n = t.nodes[nodeIdx];
      assert.ok(n, `${where}: node[${nodeIdx}] missing (decoded ${t.nodes.length})`);
      checked += checkNode(n, m[2]!, `${where} node[${nodeIdx}]`);
      nodeIdx++;
    }
  }
  // No extra nodes beyond what the summary lists (for the first trace).
  for (const o of opts) {
    if (o.option.kind === 'ioam' && o.option.data.type === 'preallocated-trace') {
      const listed = L.filter((l) => /^ {2}node\[/.test(l)).length;
      if (opts.filter((x) => x.option.kind === 'ioam').length === 1) assert.equal(o.option.data.nodes.length, listed, `${where}: node count`);
    }
  }
  return checked;
}
