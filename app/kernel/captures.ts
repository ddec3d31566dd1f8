/**
 * The `--cases captures` mode: replays the 32 recorded cases of the real-kernel captures
 * (`test/fixtures/linux-6.18/MANIFEST.md`) on a live chain h1 — r1 — r2 — h2 built here, and compares what
 * arrives at r2 (after r1), at h2's wire (after r2), at h2's UDP socket (after h2's own fill) and
 * back at h1 (ICMPv6 errors) with the recordings. This validates the namespace/inject/capture
 * machinery independently of our Rust core.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureSync } from '../../src/capture';
import { capturesDir } from '../../src/shared';
import type { NodeConfig } from '../../src/config';
import { Chain, H1_ADDR, H2_ADDR } from './chain';
import { comparePackets, remLens, wrapHbh } from './compare';
import { fromHex, hex, udpPacket } from './packet';

/** Where the recordings live: `capturesDir()` of src/shared.ts (`test/fixtures/linux-6.18`, or `$IOAMSIM_CAPTURES`). */
export { capturesDir };

/** The nodes of the MANIFEST ("Topology" table); h1 has no IOAM configuration. */
export function manifestNodes(): Record<'r1' | 'r2' | 'h2', NodeConfig> {
  const schema777 = new Uint8Array(Buffer.from('something that will be 4n-aligned'));
  return {
    r1: {
      name: 'r1', profile: 'linux', ioam6_id: 1, ioam6_id_wide: 0x11111111111111n,
      interfaces: [
        { name: 'r1-h1', ioam6_enabled: true, ioam6_id: 101, ioam6_id_wide: 101101 },
        { name: 'r1-r2', ioam6_enabled: false, ioam6_id: 102, ioam6_id_wide: 102102 },
      ],
      namespaces: [{ id: 123, data: 0xdeadbeef, wide: 0xcafec0caf00dc0den, schema: 777, clt_legacy: false }],
      schemas: [{ id: 777, data: schema777 }],
    },
    r2: {
      name: 'r2', profile: 'linux', ioam6_id: 2, ioam6_id_wide: 0x22222222222222n,
      interfaces: [
        { name: 'r2-r1', ioam6_enabled: true, ioam6_id: 201, ioam6_id_wide: 201201 },
        { name: 'r2-h2', ioam6_enabled: false, ioam6_id: 202, ioam6_id_wide: 202202 },
      ],
      namespaces: [
        { id: 123, clt_legacy: false },
        { id: 124, data: 0x24242424, clt_legacy: false },
      ],
      schemas: [],
    },
    h2: {
      name: 'h2', profile: 'linux', ioam6_id: 3, ioam6_id_wide: 0x33333333333333n,
      interfaces: [{ name: 'h2-r2', ioam6_enabled: true, ioam6_id: 301, ioam6_id_wide: 301301 }],
      namespaces: [{ id: 123, data: 0x33333333, wide: 0x3333333333333333n, schema: 888, clt_legacy: false }],
      schemas: [{ id: 888, data: new Uint8Array(Buffer.from('ABCDE')) }],
    },
  } as Record<'r1' | 'r2' | 'h2', NodeConfig>;
}

/** One recorded case. */
export interface CaptureCase {
  name: string;
  injected: Uint8Array;
  /** The UDP payload (the case name), used to recognise the packet. */
  payload: Uint8Array;
  /** IPv6 packets recorded at r2's ingress (after r1) and at h2's wire (after r2). */
  atR2: Uint8Array[];
  atH2: Uint8Array[];
  /** h2's UDP socket view, if recorded: Hop-by-Hop header after h2's fill, and the hop limit. */
  socket?: { hbh: Uint8Array; hopLimit: number };
  /** ICMPv6 (type, code) of the errors that came back to h1 quoting the packet. */
  icmp: [number, number][];
}

function recorded(file: string, payload: Uint8Array, src: Uint8Array, incomingIcmp = false): Uint8Array[] {
  if (!existsSync(file)) throw new Error(`missing capture file ${file}`);
  const { records } = readCaptureSync(readFileSync(file), { file });
  const out: Uint8Array[] = [];
  const needle = Buffer.from(payload);
  for (const r of records) {
    const p = r.network;
    if (!p || r.ethertype !== 0x86dd || p.length < 40) continue;
    const plen = (p[4]! << 8) | p[5]!;
    const ip = p.subarray(0, Math.min(p.length, 40 + plen));
    const fromH1 = ip.subarray(8, 24).every((b, i) => b === src[i]);
    const buf = Buffer.from(ip.buffer, ip.byteOffset, ip.byteLength);
    if (incomingIcmp) {
      if (!fromH1 && ip[6] === 58 && ip[40]! < 128 && buf.indexOf(needle, 48) >= 0) out.push(ip);
    } else if (fromH1 && buf.length >= needle.length && buf.subarray(buf.length - needle.length).equals(needle)) {
      out.push(ip);
    }
  }
  return out;
}

/** Reads the cases (injected bytes from decoded-summary.txt, results from the pcaps and jsonl). */
export function loadCaptureCases(dir = capturesDir()): CaptureCase[] {
  const summary = readFileSync(join(dir, 'decoded-summary.txt'), 'utf8');
  const socket = new Map<string, { hbh: Uint8Array; hopLimit: number }>();
  const jsonl = join(dir, 'h2_socket_view.jsonl');
  if (existsSync(jsonl)) {
    for (const line of readFileSync(jsonl, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const v = JSON.parse(line) as { payload: string; hoplimit: number; hbh_hex?: string };
      if (v.hbh_hex) socket.set(v.payload, { hbh: fromHex(v.hbh_hex), hopLimit: v.hoplimit });
    }
  }
  const cases: CaptureCase[] = [];
  const h1 = udpPacket({ src: H1_ADDR, dst: H2_ADDR, hopLimit: 1, payload: new Uint8Array() }).subarray(8, 24);
  let name: string | undefined;
  for (const line of summary.split('\n')) {
    const m = /^#{4,} (\S+)/.exec(line);
    if (m) {
      name = m[1];
      continue;
    }
    const inj = /^injected: ([0-9a-f]+)/.exec(line);
    if (inj && name) {
      const payload = new Uint8Array(Buffer.from(name));
      cases.push({
        name,
        injected: fromHex(inj[1]!),
        payload,
        atR2: recorded(join(dir, `${name}.r2in.pcap`), payload, h1),
        atH2: recorded(join(dir, `${name}.pcap`), payload, h1),
        socket: socket.get(name),
        icmp: recorded(join(dir, `${name}.h1.pcap`), payload, h1, true).map((p) => [p[40]!, p[41]!]),
      });
      name = undefined;
    }
  }
  return cases;
}

/** Per-case deviations from the MANIFEST's base configuration. */
function caseConfig(name: string): Record<'r1' | 'r2' | 'h2', NodeConfig> {
  const n = manifestNodes();
  if (name === 'd_ioam_disabled_r1' || name === 'e2_misaligned_r1_disabled' || name === 'k6_malformed_r1_disabled') {
    n.r1.interfaces[0]!.ioam6_enabled = false;
  }
  return n;
}

export interface CaseResult {
  name: string;
  ok: boolean;
  problems: string[];
  /** Hex of the expected and live packets where they differ (point → [expected, actual]). */
  detail: Record<string, [string, string]>;
}

/** Queue fillers of case q: 40 UDP datagrams of 1000 bytes to port 5001 (1062-byte frames). */
function fillers(): Uint8Array[] {
  const payload = new Uint8Array(1000);
  return Array.from({ length: 40 }, () => udpPacket({ src: H1_ADDR, dst: H2_ADDR, hopLimit: 64, payload, dstPort: 5001 }));
}

/** Runs one recorded case on the chain (r1, r2, h2 configured per the MANIFEST). */
export function runCaptureCase(chain: Chain, c: CaptureCase): CaseResult {
  const cfg = caseConfig(c.name);
  for (const n of ['r1', 'r2', 'h2'] as const) chain.configure(n, cfg[n]);
  const isQ = c.name === 'q_queue_depth_tbf';
  const r1ns = chain.ns('r1');
  if (isQ) chain.qdisc(r1ns, 'r1-r2', 'tbf rate 1mbit burst 1600 latency 2s');
  let res;
  try {
    res = chain.probe(c.injected, c.payload, isQ ? { before: fillers(), timeoutMs: 5000 } : {});
  } finally {
    if (isQ) chain.qdisc(r1ns, 'r1-r2', null);
  }
  const problems: string[] = [];
  const detail: Record<string, [string, string]> = {};
  const rl = remLens(c.injected);
  const qOk = isQ ? (a: number, e: number) => a === e || (a > 0 && a % 1062 === 0 && a <= 40 * 1062) : undefined;
  // r1's ingress must see exactly the injected bytes (checks the injection itself).
  const at1 = res.points[0]!.frames.map((f) => f.data.subarray(14));
  if (at1.length !== 1 || !Buffer.from(at1[0]!).equals(Buffer.from(c.injected))) {
    problems.push(`r1: ${at1.length} packet(s) arrived${at1.length === 1 ? ', not the injected bytes' : ''}, expected the injected packet once`);
  }
  const pointNames = ['r2', 'h2'];
  [c.atR2, c.atH2].forEach((exp, k) => {
    const pt = res.points[k + 1]!;
    const act = pt.frames.map((f) => f.data.subarray(14));
    if (exp.length !== act.length) {
      problems.push(`${pointNames[k]}: ${act.length} packet(s) arrived, recorded ${exp.length}`);
      return;
    }
    exp.forEach((e, i) => {
      const a = act[i]!;
      const cmp = comparePackets(e, a, { injectedRemLen: rl, loNs: res.sentNs, hiNs: pt.frames[i]!.tsNs, queueDepthOk: qOk });
      if (!cmp.ok) {
        problems.push(...cmp.problems.map((p) => `${pointNames[k]}: ${p}`));
        detail[pointNames[k]!] = [hex(e), hex(a)];
      }
    });
  });
  if (c.socket) {
    const d = res.delivered;
    if (d.length !== 1) problems.push(`h2 socket: ${d.length} datagram(s) delivered, recorded 1`);
    else {
      const got = d[0]!;
      if (got.hopLimit !== c.socket.hopLimit) problems.push(`h2 socket: hop limit ${got.hopLimit}, recorded ${c.socket.hopLimit}`);
      if (!got.hopOpts) problems.push('h2 socket: no Hop-by-Hop header returned');
      else {
        const cmp = comparePackets(wrapHbh(c.socket.hbh), wrapHbh(got.hopOpts), { injectedRemLen: rl, loNs: res.sentNs, hiNs: got.tsNs, queueDepthOk: qOk });
        if (!cmp.ok) {
          problems.push(...cmp.problems.map((p) => `h2 socket: ${p}`));
          detail.h2socket = [hex(c.socket.hbh), hex(got.hopOpts)];
        }
      }
    }
  } else if (res.delivered.length !== 0 && c.atH2.length === 0) {
    problems.push(`h2 socket: ${res.delivered.length} datagram(s) delivered, none expected`);
  }
  const icmp = res.icmp.map((f) => [f.data[14 + 40]!, f.data[14 + 41]!] as [number, number]);
  if (JSON.stringify(icmp) !== JSON.stringify(c.icmp)) problems.push(`h1: ICMPv6 errors ${JSON.stringify(icmp)}, recorded ${JSON.stringify(c.icmp)}`);
  return { name: c.name, ok: problems.length === 0, problems, detail };
}
