// Builds the cargo-fuzz seed corpora (fuzz/seeds/<target>/) from the recorded Linux kernel cases:
// the `injected:` hex lines of decoded-summary.txt and every IPv6 packet of the *.pcap files
// (read with src/capture). Deterministic: file names are SHA-1 of the contents.
// Usage: node --import tsx scripts/fuzz-seeds.ts [CAPTURES_DIR]
//        (default $IOAMSIM_CAPTURES or test/fixtures/linux-6.18)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureSync } from '../src/capture';
import { capturesDir, repoRoot } from '../src/shared';

const dir = process.argv[2] ?? capturesDir();
const out = join(repoRoot(), 'fuzz', 'seeds');

/** Packets (IPv6 header first) of a capture file. */
function ipv6Packets(file: string): Buffer[] {
  const { records, error } = readCaptureSync(readFileSync(file), { file });
  if (error) throw new Error(`${file}: ${error.message}`);
  const pkts: Buffer[] = [];
  for (const r of records) {
    const p = r.network;
    if (p && r.ethertype === 0x86dd && p.length >= 40 && p[0]! >> 4 === 6) pkts.push(Buffer.from(p));
  }
  return pkts;
}

const packets = new Map<string, Buffer>();
const add = (p: Buffer) => packets.set(p.toString('hex'), p);
const summary = join(dir, 'decoded-summary.txt');
if (existsSync(summary)) {
  for (const m of readFileSync(summary, 'utf8').matchAll(/injected:\s*([0-9a-f]+)/g)) add(Buffer.from(m[1]!, 'hex'));
}
for (const f of readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort()) {
  for (const p of ipv6Packets(join(dir, f))) add(p);
}
if (packets.size === 0) throw new Error(`no packets found in ${dir}`);

// Prefix helpers (layouts documented in fuzz/src/lib.rs).
const cfg = (b0: number, b4: number, extra: Record<number, number> = {}) => {
  const c = Buffer.alloc(24);
  c[0] = b0;
  c[4] = b4;
  for (const [k, v] of Object.entries(extra)) c[Number(k)] = v;
  return c;
};
const meta = (ing: number, egr: number, flags = 0, arena = 255) => {
  const m = Buffer.alloc(32);
  m.writeUInt32BE(ing, 0);
  m.writeUInt32BE(egr, 4);
  m.writeUInt32BE(1_764_000_000, 8);
  m.writeUInt32BE(123_456_789, 12);
  m.writeUInt32BE(0, 16);
  m.writeUInt32BE(0xffffffff, 20);
  m.writeUInt32BE(0xffffffff, 24);
  m.writeUInt32BE(flags, 28);
  m[31] = arena;
  return m;
};
const NONE = 0x80000000;
const room = Buffer.from([64, 16]);
// Capture nodes r1 (0x80), r2 (0x81), h2 (0x82); linux and rfc profiles.
const transitCfgs = [cfg(0, 0x80), cfg(0, 0x81), cfg(1, 0x82), cfg(0x40, 0x80), cfg(0x0f, 0x07, { 4: 0x0d, 7: 9 })];
// Encapsulating nodes: inline 0xfff002/236 ns 123, encap 0xc00000/12, auto, CLT legacy, rfc incremental.
const encapCfgs = [
  cfg(0x80, 0x80, { 12: 0, 13: 0xff, 14: 0xf0, 15: 0x02, 16: 58, 19: 0 }),
  cfg(0x80, 0x81, { 12: 1, 13: 0xc0, 16: 2, 19: 0 }),
  cfg(0x80, 0x80, { 12: 0x42, 13: 0x80, 16: 0, 19: 1 }),
  cfg(0xc0, 0x80, { 12: 0x20, 13: 0xf0, 16: 5, 19: 0 }),
  cfg(0x81, 0x80, { 12: 0x10, 13: 0x80, 14: 0x00, 15: 0x02, 16: 10, 19: 0 }),
];

const seeds: Record<string, Buffer[]> = { decode: [], roundtrip: [], transit: [], encap: [], decap: [], batch: [] };
for (const p of packets.values()) {
  for (const f of [0, 1]) {
    seeds.decode.push(Buffer.concat([Buffer.from([f]), p]));
    seeds.roundtrip.push(Buffer.concat([Buffer.from([f]), p]));
  }
  for (const c of transitCfgs) {
    seeds.transit.push(Buffer.concat([c, meta(0, 1), room, p]));
    seeds.decap.push(Buffer.concat([c, meta(0, NONE), room, p]));
  }
  // encap wants packets without HbH too: strip the HbH when the packet has one.
  const bare = p[6] === 0 && p.length >= 48 ? stripHbh(p) : p;
  for (const c of encapCfgs) seeds.encap.push(Buffer.concat([c, meta(NONE, 1), Buffer.alloc(24, 7), Buffer.from([128, 8]), bare]));
  // batch: op, config, n = 2 sane descriptors over one buffer with two slots.
  for (const op of [0, 1, 2]) {
    const slot = 64 + p.length + 64;
    const d = Buffer.alloc(32);
    for (let i = 0; i < 2; i++) {
      d.writeUInt32BE(i * slot, i * 16);
      d.writeUInt32BE((i + 1) * slot, i * 16 + 4);
      d.writeUInt32BE(i * slot + 64, i * 16 + 8);
      d.writeUInt32BE(p.length, i * 16 + 12);
    }
    const buf = Buffer.alloc(2 * slot);
    const src = op === 1 ? bare : p;
    src.copy(buf, 64);
    src.copy(buf, slot + 64);
    const c = op === 1 ? encapCfgs[0]! : transitCfgs[1]!;
    seeds.batch.push(Buffer.concat([Buffer.from([op + 0x40]), c, Buffer.from([2]), d.subarray(0, 16), meta(0, 1), d.subarray(16), meta(0, NONE), buf]));
  }
}

/** The packet without its Hop-by-Hop header (Payload Length and Next Header fixed up). */
function stripHbh(p: Buffer): Buffer {
  const len = (p[41]! + 1) * 8;
  const q = Buffer.concat([p.subarray(0, 40), p.subarray(40 + len)]);
  q[6] = p[40]!;
  q.writeUInt16BE(q.length - 40, 4);
  return q;
}

let total = 0;
for (const [t, list] of Object.entries(seeds)) {
  const d = join(out, t);
  mkdirSync(d, { recursive: true });
  for (const s of list) {
    writeFileSync(join(d, createHash('sha1').update(s).digest('hex')), s);
    total++;
  }
}
console.log(`${packets.size} distinct packets → ${total} seeds in ${out}`);
