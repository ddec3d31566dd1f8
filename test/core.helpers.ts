// Shared helpers of the core.* tests (not a test file itself): the kernel captures, the
// manifest's node configurations, and the independent decode in decoded-summary.txt.
import { capturesDir } from '../src/shared';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureSync } from '../src/capture';
import { NodeConfig, parseNodeConfig } from '../src/config';

export const CAPTURES = capturesDir();

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** IPv6 packets (network layer) of a capture file, in order; [] for an empty capture. */
export function ipv6Packets(file: string): Uint8Array[] {
  const r = readCaptureSync(new Uint8Array(readFileSync(file)), { file });
  if (r.error) throw r.error;
  return r.records.filter((x) => x.ethertype === 0x86dd && x.network).map((x) => new Uint8Array(x.network!));
}

const H1 = 'fd0000aa000100000000000000000001';
const H2 = 'fd0000aa000200000000000000000002';

/**
 * The case's test packet h1 → h2 among a capture's packets: its UDP payload is the case name
 * (ND, ICMP errors and the filler packets of case q are skipped).
 */
export function flowPacket(pkts: Uint8Array[], caseName: string): Uint8Array | undefined {
  const tail = toHex(new TextEncoder().encode(caseName));
  return pkts.find((p) => p.length >= 40 && toHex(p.subarray(8, 24)) === H1 && toHex(p.subarray(24, 40)) === H2 && toHex(p).endsWith(tail));
}

/** A node line of decoded-summary.txt (`hl=63 id=1; in=101 eg=102; ts_sec=0x..; ...`) as a map. */
export type SummaryNode = Map<string, string>;

export interface SummaryView {
  /** Lines of the view's text (empty when nothing arrived there). */
  lines: string[];
  /** `ns=.. nodelen=.. flags=..(O=. L=. A=. R=.) remlen=.. type=0x.. trsv=..` of each IOAM trace. */
  traces: Map<string, string>[];
  /** node[i] (newest first) of the first trace. */
  nodes: SummaryNode[];
  hlim: number | undefined;
}

export interface SummaryCase {
  name: string;
  injected: Uint8Array;
  counters: string;
  r2in: SummaryView;
  h2wire: SummaryView;
  h2sock: SummaryView;
  tsharkLine: string;
}

function parseKv(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of text.matchAll(/([a-z_]+)=([^\s;]+)/gi)) {
    // `hl` appears twice (bits 0 and 8); keep the first, store the second as hl2.
    const k = m.has(kv[1]!) ? `${kv[1]}2` : kv[1]!;
    m.set(k, kv[2]!);
  }
  return m;
}

function view(all: string[]): SummaryView {
  // Case q has filler packets first: keep the last packet's lines (the test packet).
  const last = all.map((l, i) => (l.startsWith('IPv6 ') ? i : -1)).filter((i) => i >= 0).pop() ?? 0;
  const lines = all.slice(last);
  const traces = lines.filter((l) => /^\s+ns=/.test(l)).map(parseKv);
  const nodes = lines.filter((l) => /^\s+node\[\d+\]/.test(l)).map((l) => parseKv(l.replace(/^\s+node\[\d+\] \(newest first\):/, '')));
  const h = lines.map((l) => /^IPv6 hlim=(\d+)/.exec(l)).find(Boolean);
  return { lines, traces, nodes, hlim: h ? Number(h[1]) : undefined };
}

/** decoded-summary.txt, by case name. */
export function readSummary(): Map<string, SummaryCase> {
  const text = readFileSync(join(CAPTURES, 'decoded-summary.txt'), 'utf8');
  const out = new Map<string, SummaryCase>();
  for (const block of text.split(/^################ /m).slice(1)) {
    const lines = block.split('\n');
    const name = lines[0]!.trim();
    const sec = (title: string) => {
      const i = lines.findIndex((l) => l.startsWith(`--- ${title}`));
      if (i < 0) return [];
      const j = lines.findIndex((l, k) => k > i && l.startsWith('--- '));
      return lines.slice(i + 1, j < 0 ? undefined : j).filter((l) => l.trim() !== '');
    };
    const inj = lines.find((l) => l.startsWith('injected: '))!.slice('injected: '.length).trim();
    out.set(name, {
      name,
      injected: hex(inj),
      counters: lines.find((l) => l.startsWith('counters: ')) ?? '',
      r2in: view(sec('at r2 ingress')),
      h2wire: view(sec('at h2 wire')),
      h2sock: view(sec('h2 socket view')),
      tsharkLine: sec('tshark IOAM')[0] ?? '',
    });
  }
  return out;
}

/** h2_socket_view.jsonl: HbH bytes after h2's own fill, by case name. */
export function readSocketView(): Map<string, { hoplimit: number; hbh: Uint8Array }> {
  const m = new Map<string, { hoplimit: number; hbh: Uint8Array }>();
  for (const line of readFileSync(join(CAPTURES, 'h2_socket_view.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const j = JSON.parse(line) as { payload: string; hoplimit: number; hbh_hex?: string };
    m.set(j.payload, { hoplimit: j.hoplimit, hbh: hex(j.hbh_hex ?? '') });
  }
  return m;
}

/** Case names that have capture files. */
export function captureCases(): string[] {
  return [...readSummary().keys()].filter((c) => existsSync(join(CAPTURES, `${c}.pcap`)));
}

/** The manifest's three IOAM nodes as node files (r1 → r2 → h2; interface 0 = ingress, 1 = egress). */
export const R1_YAML = `name: r1
ioam6_id: 1
ioam6_id_wide: 0x11111111111111
interfaces:
  - { name: r1-h1, ioam6_enabled: true, ioam6_id: 101, ioam6_id_wide: 101101 }
  - { name: r1-r2, ioam6_id: 102, ioam6_id_wide: 102102 }
namespaces:
  - { id: 123, data: 0xdeadbeef, wide: 0xcafec0caf00dc0de, schema: 777 }
schemas:
  - { id: 777, data: "something that will be 4n-aligned" }
`;
export const R2_YAML = `name: r2
ioam6_id: 2
ioam6_id_wide: 0x22222222222222
interfaces:
  - { name: r2-r1, ioam6_enabled: true, ioam6_id: 201, ioam6_id_wide: 201201 }
  - { name: r2-h2, ioam6_id: 202, ioam6_id_wide: 202202 }
namespaces:
  - { id: 123 }
  - { id: 124, data: 0x24242424 }
`;
export const H2_YAML = `name: h2
ioam6_id: 3
ioam6_id_wide: 0x33333333333333
interfaces:
  - { name: h2-r2, ioam6_enabled: true, ioam6_id: 301, ioam6_id_wide: 301301 }
namespaces:
  - { id: 123, data: 0x33333333, wide: 0x3333333333333333, schema: 888 }
schemas:
  - { id: 888, data: "ABCDE" }
`;

/** Cases in which r1-h1 has ioam6_enabled=0. */
export const R1_DISABLED = new Set(['d_ioam_disabled_r1', 'e2_misaligned_r1_disabled', 'k6_malformed_r1_disabled']);

export function r1Config(caseName: string): NodeConfig {
  const yaml = R1_DISABLED.has(caseName) ? R1_YAML.replace('ioam6_enabled: true', 'ioam6_enabled: false') : R1_YAML;
  return parseNodeConfig(yaml, 'r1.yaml');
}
export const r2Config = (): NodeConfig => parseNodeConfig(R2_YAML, 'r2.yaml');
export const h2Config = (): NodeConfig => parseNodeConfig(H2_YAML, 'h2.yaml');

/** The Hop-by-Hop header of an IPv6 packet (next header 0), or undefined. */
export function hbhOf(p: Uint8Array): Uint8Array | undefined {
  if (p.length < 48 || p[6] !== 0) return undefined;
  const len = (p[41]! + 1) * 8;
  return p.length >= 40 + len ? p.subarray(40, 40 + len) : undefined;
}
