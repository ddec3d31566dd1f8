/**
 * ns-3 on the same scenario (`npm run bench -- --sim --ns3`, docs/BENCHMARKS.md): builds
 * `bench/ns3/leaf-spine-heavy.cc` (examples/leaf-spine-heavy.yaml in ns-3, Debian's libns3-dev)
 * with `g++ -O2` and the flags of its pkg-config modules, caches the binary under the OS temp
 * directory keyed by the hash of the source and the flags, and runs it in a child process.
 *
 * ns-3 has no IOAM: its figure is the cost of forwarding the scenario's packets (see the program's
 * header for what is and is not the same).
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SimRow } from './sim';

/** The program's source. */
export const NS3_SOURCE = resolve(__dirname, 'ns3', 'leaf-spine-heavy.cc');
/** The scenario it models. */
export const NS3_SCENARIO = 'examples/leaf-spine-heavy.yaml';
const MODULES = ['ns3-core', 'ns3-network', 'ns3-internet', 'ns3-point-to-point'];
const MISSING = 'ns-3 is not installed (no pkg-config module ns3-core): apt-get install libns3-dev';

/** What the program prints (one JSON line). */
export interface Ns3Result {
  simulator: 'ns-3';
  version: string;
  durationNs: number;
  packetHops: number;
  generated: number;
  delivered: number;
  events: number;
  setupMs: number;
  wallMs: number;
  packetHopsPerSec: number;
  maxRssKiB: number;
}

function pkgConfig(args: string[]): string {
  const r = spawnSync('pkg-config', args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(r.error ? `pkg-config: ${r.error.message}; ${MISSING}` : MISSING);
  return r.stdout.trim();
}

/** The installed ns-3 version (pkg-config ns3-core), or throws saying how to install it. */
export function ns3Version(): string {
  return pkgConfig(['--modversion', 'ns3-core']);
}

/**
 * Compiler flags of the modules. Debian's .pc files carry a stray `-I/usr\;` and absolute paths of
 * unversioned libraries that are not installed (libgsl.so); ns-3's own libraries do not need them:
 * a flag naming a path that does not exist is dropped.
 */
function ns3Flags(): string[] {
  const flags: string[] = [];
  for (const f of pkgConfig(['--cflags', '--libs', ...MODULES]).split(/\s+/)) {
    if (f === '' || flags.includes(f)) continue;
    const path = f.startsWith('-I') || f.startsWith('-L') ? f.slice(2) : f.startsWith('/') ? f : undefined;
    if (path !== undefined && !existsSync(path)) continue;
    flags.push(f);
  }
  return flags;
}

/** Builds the program (once per source and flags; cached across runs); returns its path. */
export function ns3Binary(): string {
  const flags = ns3Flags();
  const src = readFileSync(NS3_SOURCE);
  const key = createHash('sha256').update(src).update('\0').update(flags.join(' ')).update('\0').update(ns3Version()).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'ioamsim-ns3-cache');
  const bin = join(dir, `leaf-spine-heavy-${key}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  // Build beside the cache and rename: a concurrent build never leaves a half-written binary.
  const work = mkdtempSync(join(dir, 'build-'));
  try {
    const out = join(work, 'leaf-spine-heavy');
    const r = spawnSync(process.env['CXX'] ?? 'g++', ['-O2', '-std=c++17', '-o', out, NS3_SOURCE, ...flags], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`g++ -O2 bench/ns3/leaf-spine-heavy.cc failed: ${r.error?.message ?? r.stderr.slice(-2000)}`);
    renameSync(out, bin);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}

/**
 * Runs the program for `durationNs` of simulated time. `capture`: the s1 capture into a temporary
 * directory (removed), or into the directory given (kept: DIR/s1-0-K.pcap, K = s1's K-th link).
 */
export function ns3Run(durationNs: number, capture: boolean | string): Ns3Result {
  const bin = ns3Binary();
  const caps = typeof capture === 'string' ? capture : capture ? mkdtempSync(join(tmpdir(), 'ioamsim-ns3-pcap-')) : '';
  try {
    const args = ['--duration', String(durationNs)];
    if (caps) args.push('--pcap', caps);
    const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.error || r.status !== 0) throw new Error(`ns-3 run failed (${bin} ${args.join(' ')}): ${r.error?.message ?? r.stderr.slice(-800)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Ns3Result;
  } finally {
    if (capture === true) rmSync(caps, { recursive: true, force: true });
  }
}

/** A bench/sim.ts row of an ns-3 run (what: `ns-3 <version>, same scenario`). */
export function ns3Row(durationNs: number, capture: boolean): SimRow {
  const j = ns3Run(durationNs, capture);
  return {
    what: `ns-3 ${j.version}, same scenario`, topology: `${NS3_SCENARIO} (bench/ns3/leaf-spine-heavy.cc)`, durationNs, workers: 0,
    outputs: capture ? 'captures' : 'none', packetHops: j.packetHops, setupMs: j.setupMs, wallMs: j.wallMs, packetHopsPerSec: j.packetHopsPerSec,
    generated: j.generated, maxRssMiB: Math.round(j.maxRssKiB / 102.4) / 10,
  };
}
