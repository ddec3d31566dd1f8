/**
 * Differential fuzzing against Wireshark at scale: a few thousand random well-formed packets from
 * `src/arbitraries.ts` (bytes built in TypeScript, not by our encoder) go into ONE pcapng file,
 * dissected by ONE `tshark -T json` run. For every packet, every field tshark dissects is compared
 * with the generated truth, and our `decode()` is compared with the same truth.
 *
 * Nothing is skipped silently. Where TShark 4.0.17 cannot agree (docs/LINUX-IOAM.md#tshark-40) the case is
 * classified, its predicted tshark behaviour is asserted, and it is counted:
 * - `nodelen0`: traces whose NodeLen is 0 (Trace-Type bits 22/23 only): tshark reports
 *   `invalid_nodelen` and leaves the node list undissected → asserted, header compared.
 * - `incremental`: Option-Type 1 is dissected as Pre-allocated (RemainingLen × 4 octets taken as
 *   free space): header compared; the node list is compared when RemainingLen is 0 (then the
 *   two readings coincide), else counted as not comparable.
 * - `opaque`: POT / E2E / DEX: "Unknown Data (not interpreted)" → the undissected octets are
 *   compared with the generated body.
 * - `doh`: IOAM in a Destination Options header: dissected, plus the `header_mismatch` expert
 *   (asserted).
 * - `opt_start wrap` (a tshark bug found here): `dissect_opts()` stores the option's data
 *   offset in a guint8; for an option whose data starts >= 256 octets into its header and that
 *   the IOAM dissector does not consume to its end (POT/E2E/DEX, NodeLen-0 traces, Incremental
 *   traces with RemainingLen × 4 beyond the data) tshark adds no Unknown Data and resumes the TLV
 *   walk inside the option: asserted, the rest of that header is counted as not comparable.
 * - `final Pad1`: a Pad1 that is the packet's last octet is not listed (tshark reads a Length
 *   octet for it): asserted by position, counted.
 * Fails loudly without tshark unless IOAMSIM_NO_TSHARK=1.
 * Env: IOAMSIM_TSHARK_FUZZ_PACKETS (default 3000), IOAMSIM_FUZZ_SEED, TSHARK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { encodePcapng } from '../src/capture';
import { decode } from '../src/index';
import { encodeIoamBody, ipv6Text, packetArb } from '../src/arbitraries';
import type { GeneratedPacket, NodeSpec, TraceSpec } from '../src/arbitraries';
import { diff, packetJson } from './fuzz.helpers';

const COUNT = Number(process.env.IOAMSIM_TSHARK_FUZZ_PACKETS ?? 3000);
const SEED = Number(process.env.IOAMSIM_FUZZ_SEED ?? 20261127);
const TSHARK = process.env.TSHARK ?? '/usr/bin/tshark';
const OPTED_OUT = process.env.IOAMSIM_NO_TSHARK === '1';

type Json = Record<string, unknown>;
const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const num = (s: unknown): number => Number(s as string);
const colonHex = (s: unknown): string => String(s ?? '').replace(/:/g, '');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Agreement bookkeeping: compared fields, classified quirks and disagreements. */
class Tally {
  fields = 0;
  packets = 0;
  ioam = 0;
  quirks = new Map<string, number>();
  wrong: string[] = [];
  notCompared = 0;
  eq(a: unknown, b: unknown, where: string): void {
    this.fields++;
    const same = typeof b === 'bigint' ? BigInt(a as string) === b : a === b;
    if (!same) this.wrong.push(`${where}: tshark ${String(a)} vs generated ${String(b)}`);
  }
  quirk(k: string): void {
    this.quirks.set(k, (this.quirks.get(k) ?? 0) + 1);
  }
  check(ok: boolean, where: string): void {
    this.fields++;
    if (!ok) this.wrong.push(where);
  }
}

function compareNode(t: Tally, ts: Json | undefined, n: NodeSpec, type: number, w: string): void {
  if (!ts) {
    t.wrong.push(`${w}: node missing in tshark`);
    return;
  }
  const short = ts['Hop_Lim and Node ID (short)'] as Json | undefined;
  if (n.hopLimit !== undefined) {
    t.eq(num(short?.['ipv6.opt.ioam.trace.node.hlim']), n.hopLimit, `${w} hlim`);
    t.eq(num(short?.['ipv6.opt.ioam.trace.node.id']), n.nodeId, `${w} id`);
  }
  const ifs = ts['Ingress and Egress IDs (short)'] as Json | undefined;
  if (n.ingressIfId !== undefined) {
    t.eq(num(ifs?.['ipv6.opt.ioam.trace.node.iif']), n.ingressIfId, `${w} iif`);
    t.eq(num(ifs?.['ipv6.opt.ioam.trace.node.eif']), n.egressIfId, `${w} eif`);
  }
  const simple: [keyof NodeSpec, string][] = [
    ['timestampSecs', 'tss'],
    ['timestampFrac', 'tsf'],
    ['transitDelay', 'trdelay'],
    ['namespaceData', 'nsdata'],
    ['queueDepth', 'qdepth'],
    ['checksumComplement', 'csum'],
    ['bufferOccupancy', 'bufoccup'],
  ];
  for (const [f, k] of simple) if (n[f] !== undefined) t.eq(num(ts[`ipv6.opt.ioam.trace.node.${k}`]), n[f], `${w} ${k}`);
  const wideIfs = ts['Ingress and Egress IDs (wide)'] as Json | undefined;
  if (n.ingressIfIdWide !== undefined) {
    t.eq(num(wideIfs?.['ipv6.opt.ioam.trace.node.iif_wide']), n.ingressIfIdWide, `${w} iif_wide`);
    t.eq(num(wideIfs?.['ipv6.opt.ioam.trace.node.eif_wide']), n.egressIfIdWide, `${w} eif_wide`);
  }
  const wide = ts['Hop_Lim and Node ID (wide)'] as Json | undefined;
  if (n.hopLimitWide !== undefined) {
    t.eq(num(wide?.['ipv6.opt.ioam.trace.node.hlim']), n.hopLimitWide, `${w} hlim wide`);
    t.eq(wide?.['ipv6.opt.ioam.trace.node.id_wide'] ?? '-1', n.nodeIdWide, `${w} id_wide`);
  }
  if (n.namespaceDataWide !== undefined) t.eq(ts['ipv6.opt.ioam.trace.node.nsdata_wide'] ?? '-1', n.namespaceDataWide, `${w} nsdata_wide`);
  if (n.undefined?.length) t.eq(asArray(ts['ipv6.opt.ioam.trace.node.undefined']).map(num).join(','), n.undefined.join(','), `${w} undefined bits`);
  if (type & 2) {
    const oss = ts['Opaque State Snapshot'] as Json | undefined;
    const o = n.oss ?? { length: 0, schemaId: 0xffffff, data: new Uint8Array(0) };
    t.eq(num(oss?.['ipv6.opt.ioam.trace.node.oss.len']), o.length, `${w} oss len`);
    t.eq(num(oss?.['ipv6.opt.ioam.trace.node.oss.scid']), o.schemaId, `${w} oss scid`);
    if (o.length) t.eq(colonHex(oss?.['ipv6.opt.ioam.trace.node.oss.data']), hex(o.data), `${w} oss data`);
  }
}

/**
 * How tshark 4.0.17 reads a trace (`dissect_opt_ioam_trace`), Incremental ones as if
 * Pre-allocated: RemainingLen × 4 octets of free space, then elements of NodeLen words plus an
 * OSS when bit 22 is set, while at least NodeLen words remain. `full`: it reads to the option's
 * end; `aborts`: an OSS claims octets past the end of the packet, so its
 * `proto_tree_add_subtree` throws and nothing after it is dissected. `dataAt` = absolute offset
 * of the octet after the 8-octet trace header.
 */
function tsharkTraceReading(s: TraceSpec, body: Uint8Array, dataAt: number, packetLen: number): { full: boolean; aborts: boolean } {
  const optLen = body.length + 2;
  if (s.nodeLen === 0 || s.remainingLen * 4 > optLen - 10) return { full: false, aborts: false };
  let off = 8 + s.remainingLen * 4; // in body
  let len = optLen - 10 - s.remainingLen * 4;
  while (len && len >= s.nodeLen * 4) {
    off += s.nodeLen * 4;
    len -= s.nodeLen * 4;
    if (s.traceType & 2) {
      if (len < 4) return { full: false, aborts: false };
      const ossLen = body[off]!;
      if (dataAt - 8 + off + (ossLen + 1) * 4 > packetLen) return { full: false, aborts: true };
      off += 4;
      len -= 4;
      if (len < ossLen * 4) return { full: false, aborts: false };
      off += ossLen * 4;
      len -= ossLen * 4;
    }
  }
  return { full: len === 0, aborts: false };
}

function compareTrace(t: Tally, ts: Json, s: TraceSpec, w: string): void {
  const tr = (ts['Pre-allocated Trace'] ?? ts['Incremental Trace']) as Json | undefined;
  if (!tr) {
    t.wrong.push(`${w}: no trace subtree`);
    return;
  }
  t.eq(num(tr['ipv6.opt.ioam.trace.ns']), s.namespaceId, `${w} ns`);
  t.eq(num(tr['ipv6.opt.ioam.trace.nodelen']), s.nodeLen, `${w} nodelen`);
  const fl = (tr['ipv6.opt.ioam.trace.flags_tree'] ?? {}) as Json;
  t.eq(fl['ipv6.opt.ioam.trace.flag.o'] === '1', s.flags.overflow, `${w} O`);
  t.eq(fl['ipv6.opt.ioam.trace.flag.l'] === '1', s.flags.loopback, `${w} L`);
  t.eq(fl['ipv6.opt.ioam.trace.flag.a'] === '1', s.flags.active, `${w} A`);
  t.eq(fl['ipv6.opt.ioam.trace.flag.rsv'] === '1', s.flags.bit3, `${w} flag bit 3`);
  t.eq(num(tr['ipv6.opt.ioam.trace.remlen']), s.remainingLen, `${w} remlen`);
  t.eq(num(tr['ipv6.opt.ioam.trace.type']), s.traceType, `${w} type`);
  t.eq(num(tr['ipv6.opt.ioam.trace.rsv']), s.reserved, `${w} rsv`);
  const text = JSON.stringify(tr);
  if (s.nodeLen === 0) {
    t.quirk('nodelen0: invalid_nodelen, node list not dissected');
    t.check(text.includes('ipv6.opt.ioam.trace.invalid_nodelen'), `${w}: expected tshark's invalid_nodelen for NodeLen 0`);
    return;
  }
  if (s.type === 'incremental-trace' && s.remainingLen > 0) {
    t.quirk('incremental with RemainingLen > 0: read as free space, nodes not comparable');
    return;
  }
  if (s.type === 'incremental-trace') t.quirk('incremental with RemainingLen 0: nodes compared');
  t.check(!/invalid_(nodelen|remlen|type)|invalid_len/.test(text), `${w}: tshark expert error on a well-formed trace`);
  const data = tr['Trace Data'] as Json | undefined;
  if (s.remainingLen > 0) t.eq(colonHex(data?.['ipv6.opt.ioam.trace.free_space']), hex(s.freeSpace), `${w} free space`);
  const nodes = Object.keys(data ?? {}).filter((k) => /^Node \d+$/.test(k));
  t.eq(nodes.length, s.nodes.length, `${w} node count`);
  s.nodes.forEach((n, k) => compareNode(t, (data as Json | undefined)?.[`Node ${k + 1}`] as Json | undefined, n, s.traceType, `${w} node${k}`));
}

function comparePacket(t: Tally, ts: Json, g: GeneratedPacket, w: string): void {
  const ip = ((ts['_source'] as Json)['layers'] as Json)['ipv6'] as Json;
  const sp = g.spec;
  t.eq(num(ip['ipv6.hlim']), sp.hopLimit, `${w} hlim`);
  t.eq(num(ip['ipv6.plen']), g.bytes.length - 40, `${w} plen`);
  t.eq(num(ip['ipv6.flow']), sp.flowLabel, `${w} flow`);
  t.eq(num(ip['ipv6.tclass']), sp.trafficClass, `${w} tclass`);
  t.eq(ip['ipv6.src'], ipv6Text(sp.src), `${w} src`);
  t.eq(ip['ipv6.dst'], ipv6Text(sp.dst), `${w} dst`);
  let aborted = false;
  let walkLost = false;
  sp.headers.forEach((h, hi) => {
    if (aborted) {
      t.notCompared += h.options.length;
      return;
    }
    const key = h.kind === 'hop-by-hop' ? 'ipv6.hopopts' : 'ipv6.dstopts';
    const hw = `${w} ${h.kind}`;
    const th = ip[key] as Json | undefined;
    if (!th && walkLost) {
      // An earlier header's TLV walk resumed inside option data (opt_start wrap): what it read
      // there may have thrown, ending the dissection.
      t.quirk('header after a desynchronised walk not dissected');
      t.notCompared += h.options.length;
      return;
    }
    if (!th) {
      t.wrong.push(`${hw}: missing`);
      return;
    }
    t.eq(num(th[`${key}.len_oct`]), g.layout.headers[hi]!.length, `${hw} length`);
    const tsAll = asArray(th['ipv6.opt'] as Json | Json[]);
    const isPad = (o: Json) => o['ipv6.opt.type'] === '0x00' || o['ipv6.opt.type'] === '0x01';
    const tsOpts = tsAll.filter((o) => !isPad(o));
    const ours = h.options.map((o, oi) => ({ o, oi })).filter((x) => x.o.kind !== 'pad1' && x.o.kind !== 'padn');
    let desync = false;
    ours.forEach(({ o, oi }, k) => {
      if (desync) return;
      const to = tsOpts[k];
      const ow = `${hw} opt${oi}`;
      const code = o.kind === 'ioam' ? 0x31 : o.kind === 'unknown' ? o.optionType : -1;
      if (!to || num(to['ipv6.opt.type']) !== code) {
        t.wrong.push(`${ow}: tshark option ${to ? String(to['ipv6.opt.type']) : 'missing'} vs generated 0x${code.toString(16)}`);
        desync = true;
        return;
      }
      t.eq(num(to['ipv6.opt.type']), code, `${ow} type`);
      if (o.kind === 'unknown') t.eq(num(to['ipv6.opt.length']), o.data.length, `${ow} length`);
      if (o.kind !== 'ioam') return;
      t.ioam++;
      const s = o.ioam;
      const body = encodeIoamBody(s);
      t.eq(num(to['ipv6.opt.length']), body.length + 2, `${ow} Opt Data Len`);
      t.eq(num(to['ipv6.opt.ioam.rsv']), o.reserved, `${ow} ioam rsv`);
      t.eq(num(to['ipv6.opt.ioam.opt_type']), { 'preallocated-trace': 0, 'incremental-trace': 1, pot: 2, e2e: 3, dex: 4 }[s.type], `${ow} opt_type`);
      if (h.kind === 'destination-options') {
        t.quirk('doh: IOAM in DOH dissected with header_mismatch');
        t.check(JSON.stringify(to).includes('ipv6.opt.header_mismatch'), `${ow}: expected header_mismatch for IOAM in DOH`);
      }
      // tshark 4.0.17 dissect_opts() keeps the option's data offset in a guint8 (`opt_start`):
      // when it is >= 256 octets into the header and the IOAM dissector stopped before the
      // option's end, no "Unknown Data" is added and the TLV walk resumes inside the option.
      const dataAt = g.layout.headers[hi]!.options[oi]! - g.layout.headers[hi]!.offset + 2;
      const isTrace = s.type === 'preallocated-trace' || s.type === 'incremental-trace';
      const reading = isTrace ? tsharkTraceReading(s, body, g.layout.headers[hi]!.options[oi]! + 4 + 8, g.bytes.length) : { full: false, aborts: false };
      if (dataAt >= 256 && !reading.full && !reading.aborts) {
        t.quirk('opt_start wrap: option data >= 256 octets into the header, not fully dissected → walk desynchronised (rest of header not compared)');
        t.check(to['ipv6.opt_unknown_data'] === undefined, `${ow}: predicted no Unknown Data (guint8 opt_start wrap)`);
        if (isTrace) compareTrace(t, to, s, ow);
        t.notCompared += ours.length - k - 1;
        desync = true;
        walkLost = true;
        return;
      }
      if (reading.aborts) {
        // Predicted: tshark's Pre-allocated reading of this Incremental trace meets an OSS
        // length running past the packet → exception, nothing after it is dissected.
        t.quirk('incremental misread: OSS length past the packet end aborts the dissection (rest of packet not compared)');
        t.check(tsOpts.length === k + 1, `${ow}: predicted abort after this option`);
        t.notCompared += ours.length - k - 1;
        desync = true;
        aborted = true;
        return;
      }
      if (isTrace) return compareTrace(t, to, s, ow);
      t.quirk(`opaque: ${s.type} shown as Unknown Data, octets compared`);
      t.eq(colonHex(to['ipv6.opt_unknown_data']), hex(body), `${ow} undissected octets`);
    });
    if (desync) return;
    if (tsOpts.length > ours.length) t.wrong.push(`${hw}: tshark lists ${tsOpts.length - ours.length} extra option(s)`);
    // Padding: same PadN lengths in order; a final Pad1 is not listed by tshark 4.0.17.
    const tsPads = tsAll.filter(isPad).map((o) => (o['ipv6.opt.type'] === '0x00' ? 'pad1' : `padn${num(o['ipv6.opt.length'])}`));
    const ourPads = h.options.filter((o) => o.kind === 'pad1' || o.kind === 'padn').map((o) => (o.kind === 'pad1' ? 'pad1' : `padn${o.len}`));
    const last = h.options[h.options.length - 1];
    const endsPacket = g.layout.headers[hi]!.offset + g.layout.headers[hi]!.length === g.bytes.length;
    if (endsPacket && last?.kind === 'pad1' && tsPads.length === ourPads.length - 1 && tsPads.join() === ourPads.slice(0, -1).join()) {
      // tshark reads a Length octet even for Pad1; for the packet's last octet that read fails.
      t.quirk('final Pad1 at the very end of the packet not listed');
      t.fields++;
    } else t.eq(tsPads.join(), ourPads.join(), `${hw} padding`);
  });
}

test(`tshark and our decoder agree with ${COUNT} generated packets (one pcapng, one tshark run)`, (t) => {
  if (!existsSync(TSHARK)) {
    if (OPTED_OUT) return t.skip('IOAMSIM_NO_TSHARK=1');
    assert.fail(`tshark not found at ${TSHARK} (apt-get install tshark, or IOAMSIM_NO_TSHARK=1 to opt out)`);
  }
  const gens = fc.sample(packetArb({ maxIoamPerHeader: 3 }), { seed: SEED, numRuns: COUNT });
  // Our decoder: exact equality with the generated truth.
  let oursWrong = 0;
  const oursFirst: string[] = [];
  for (const [i, g] of gens.entries()) {
    const d = diff(decode(g.bytes), packetJson(g.spec, g.layout, g.bytes));
    if (d.length) {
      oursWrong++;
      if (oursFirst.length < 5) oursFirst.push(`packet ${i} ${hex(g.bytes)}: ${d.join('; ')}`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'ioamsim-fuzz-tshark-'));
  try {
    const file = join(dir, 'fuzz.pcapng');
    writeFileSync(file, encodePcapng([{ name: 'ioamsim-fuzz' }], gens.map((g, i) => ({ timestampNs: 1_764_000_000_000_000_000n + BigInt(i) * 1000n, bytes: g.bytes }))));
    const out = execFileSync(TSHARK, ['-r', file, '-T', 'json', '--no-duplicate-keys'], { maxBuffer: 1024 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
    const pkts = JSON.parse(out.toString('utf8')) as Json[];
    assert.equal(pkts.length, gens.length, 'tshark dissected every packet');
    const tally = new Tally();
    gens.forEach((g, i) => {
      tally.packets++;
      comparePacket(tally, pkts[i]!, g, `packet ${i}`);
    });
    const quirks = [...tally.quirks].map(([k, v]) => `${k}: ${v}`).join('; ');
    t.diagnostic(`packets ${tally.packets}, IOAM options ${tally.ioam}, tshark fields compared ${tally.fields}, disagreements ${tally.wrong.length}, options not comparable after a tshark desync ${tally.notCompared}`);
    t.diagnostic(`classified tshark limitations: ${quirks}`);
    t.diagnostic(`our decoder: ${gens.length - oursWrong}/${gens.length} packets exactly equal to the generated truth`);
    assert.deepEqual(oursFirst, [], 'our decoder differs from the generated truth');
    assert.deepEqual(tally.wrong.slice(0, 10), [], `tshark disagrees with the generated truth in ${tally.wrong.length} field(s)`);
    assert.ok(tally.fields > COUNT * 10, 'enough fields compared');
    if (COUNT === 3000 && SEED === 20261127) {
      // The figures README.md states for the default run: they must stay true.
      assert.equal(tally.packets, 3000);
      assert.equal(tally.fields, 136_080, 'tshark fields compared for the default seed');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
