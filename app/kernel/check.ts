/**
 * The kernel differential check: preflight (root, kernel IOAM support, tools), the `captures`
 * mode and the `random` mode, and a report both for humans and as JSON.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { Chain, listNetns } from './chain';
import { loadCaptureCases, runCaptureCase, type CaseResult } from './captures';
import { runRandom, type RandomReport } from './random';
import { formatClt, runClt, type CltReport } from './clt';

/** Why the check cannot run here, or null if it can. */
export function kernelCheckUnavailable(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the kernel check needs root (it creates network namespaces and raw sockets): run it as root';
  }
  if (!existsSync('/proc/sys/net/ipv6/ioam6_id')) {
    return `this kernel (${release()}) has no IPv6 IOAM support (/proc/sys/net/ipv6/ioam6_id is missing; CONFIG_IPV6 with IOAM, Linux >= 5.15)`;
  }
  for (const tool of ['ip', 'tc']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore' });
    } catch {
      return `${tool}(8) from iproute2 is needed (apt-get install iproute2)`;
    }
  }
  return null;
}

export interface CapturesReport {
  cases: number;
  agree: number;
  results: CaseResult[];
}

export interface KernelCheckReport {
  kernel: string;
  captures?: CapturesReport;
  /** `--cases clt`: both CLT encodings through unmodified kernel transit nodes (app/kernel/clt.ts). */
  clt?: CltReport;
  random?: RandomReport;
  /** Namespaces of this process left behind (must be empty). */
  leftoverNetns: string[];
  ok: boolean;
}

export interface KernelCheckOptions {
  captures?: boolean;
  clt?: boolean;
  random?: { n: number; seed: number };
  onProgress?: (what: string) => void;
}

/** Runs the captures cases on one h1 — r1 — r2 — h2 chain. */
export function runCaptures(onProgress?: (what: string) => void): CapturesReport {
  const cases = loadCaptureCases();
  const chain = Chain.create(2);
  const results: CaseResult[] = [];
  try {
    for (const c of cases) {
      onProgress?.(c.name);
      results.push(runCaptureCase(chain, c));
    }
  } finally {
    chain.destroy();
  }
  return { cases: cases.length, agree: results.filter((r) => r.ok).length, results };
}

export function runKernelCheck(o: KernelCheckOptions): KernelCheckReport {
  const why = kernelCheckUnavailable();
  if (why) throw new Error(why);
  const report: KernelCheckReport = { kernel: release(), leftoverNetns: [], ok: true };
  if (o.captures) {
    report.captures = runCaptures(o.onProgress);
    if (report.captures.agree !== report.captures.cases) report.ok = false;
  }
  if (o.clt) {
    report.clt = runClt(o.onProgress);
    if (report.clt.agree !== report.clt.cases) report.ok = false;
  }
  if (o.random) {
    report.random = runRandom(o.random.n, o.random.seed, (i) => o.onProgress?.(`random ${i + 1}/${o.random!.n}`));
    if (report.random.agree !== report.random.cases) report.ok = false;
  }
  report.leftoverNetns = listNetns(`ioamsim-${process.pid}-`);
  if (report.leftoverNetns.length) report.ok = false;
  return report;
}

/** The human summary. */
export function formatReport(r: KernelCheckReport): string {
  const lines = [`kernel ${r.kernel}`];
  if (r.captures) {
    lines.push(`captures: ${r.captures.agree}/${r.captures.cases} cases agree with the recorded kernel captures`);
    for (const c of r.captures.results.filter((x) => !x.ok)) {
      lines.push(`  DISAGREE ${c.name}: ${c.problems.join('; ')}`);
      for (const [pt, [e, a]] of Object.entries(c.detail)) lines.push(`    ${pt} expected ${e}`, `    ${pt} actual   ${a}`);
    }
  }
  if (r.clt) lines.push(...formatClt(r.clt));
  if (r.random) {
    const x = r.random;
    lines.push(`random (seed ${x.seed}): ${x.agree}/${x.cases} cases agree, ${x.comparisonsAgree}/${x.comparisons} comparisons (${x.encapChecked} packets built by our encap); timestamps byte-exact in ${x.exactWithTimestamps}/${x.withTimestamps} packets with written timestamps`);
    lines.push(`  outcomes predicted: ${Object.entries(x.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const d of x.disagreements) {
      lines.push(`  DISAGREE case ${d.index} at ${d.where}: ${d.problems.join('; ')}`);
      lines.push(`    draw ${JSON.stringify(d.draw)}`);
      lines.push(`    config ${JSON.stringify(d.config)}`);
      lines.push(`    injected ${d.injected}`);
      lines.push(`    expected ${d.expected}`);
      lines.push(`    actual   ${d.actual}`);
    }
  }
  if (r.leftoverNetns.length) lines.push(`LEFTOVER network namespaces: ${r.leftoverNetns.join(' ')}`);
  lines.push(r.ok ? 'kernel check: full agreement' : 'kernel check: DISAGREEMENT');
  return lines.join('\n');
}
