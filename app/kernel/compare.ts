/**
 * Comparing what the kernel emitted with what was expected (a recorded capture or our core's
 * prediction): every byte equal except the timestamps the path wrote, which must lie in the
 * probe's time window (POSIX seconds + microseconds, Linux `ioam6_fill_trace_data`), and the
 * queue depth where the caller says it is machine-dependent.
 * @module
 */
import { findTraces, hex, volatileFields, type VolatileField } from './packet';

export interface CompareOptions {
  /** RemainingLen of each trace at injection: elements written since are checked. */
  injectedRemLen: number[];
  /** Time window (ns since the epoch) the written timestamps must lie in. */
  loNs: bigint;
  hiNs: bigint;
  /** Accepts a queue-depth value that may differ from the expected one (default: must be equal). */
  queueDepthOk?: (actual: number, expected: number) => boolean;
}

export interface Comparison {
  ok: boolean;
  /** Every byte equal, timestamps included. */
  exact: boolean;
  problems: string[];
}

/** The injected RemainingLen of every Pre-allocated trace of a packet. */
export function remLens(ipv6: Uint8Array): number[] {
  return findTraces(ipv6).map((t) => t.remLen);
}

function checkTimestamps(fields: VolatileField[], lo: bigint, hi: bigint, problems: string[]): void {
  const loUs = lo / 1000n - 1000n; // 1 ms slack: the window starts at Date.now() (ms resolution)
  const hiUs = hi / 1000n;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.kind !== 'ts_sec') continue;
    const frac = fields.find((g) => g.kind === 'ts_frac' && g.offset === f.offset + 4);
    if (frac && frac.value >= 1_000_000) problems.push(`timestamp fraction at offset ${frac.offset} is ${frac.value} µs (>= 1 s)`);
    // With the fraction: microseconds against the window; seconds alone: whole seconds.
    const inWindow = frac
      ? BigInt(f.value) * 1_000_000n + BigInt(frac.value) >= loUs && BigInt(f.value) * 1_000_000n + BigInt(frac.value) <= hiUs
      : BigInt(f.value) >= loUs / 1_000_000n && BigInt(f.value) <= hiUs / 1_000_000n;
    if (!inWindow) {
      problems.push(`timestamp at offset ${f.offset} (${f.value}${frac ? '.' + String(frac.value).padStart(6, '0') : ' s'}) outside the probe window [${loUs}, ${hiUs}] µs`);
    }
  }
  for (const f of fields) {
    if (f.kind === 'ts_frac' && !fields.some((g) => g.kind === 'ts_sec' && g.offset === f.offset - 4)) {
      const us = BigInt(f.value);
      if (us >= 1_000_000n) problems.push(`timestamp fraction at offset ${f.offset} is ${f.value} µs (>= 1 s)`);
    }
  }
}

/** Compares two IPv6 packets (or Hop-by-Hop headers wrapped as packets) under {@link CompareOptions}. */
export function comparePackets(expected: Uint8Array, actual: Uint8Array, o: CompareOptions): Comparison {
  const problems: string[] = [];
  if (expected.length !== actual.length) {
    problems.push(`length ${actual.length} (expected ${expected.length})`);
    return { ok: false, exact: false, problems };
  }
  const fa = volatileFields(actual, o.injectedRemLen);
  const fe = volatileFields(expected, o.injectedRemLen);
  const skip = new Set<number>();
  for (const f of fa) {
    if (f.kind === 'queue_depth') {
      const e = fe.find((g) => g.offset === f.offset && g.kind === 'queue_depth');
      if (!e) continue;
      if (o.queueDepthOk && o.queueDepthOk(f.value, e.value)) for (let i = 0; i < 4; i++) skip.add(f.offset + i);
      continue;
    }
    if (!fe.some((g) => g.offset === f.offset && g.kind === f.kind)) continue;
    for (let i = 0; i < 4; i++) skip.add(f.offset + i);
  }
  const diffs: number[] = [];
  for (let i = 0; i < actual.length; i++) if (!skip.has(i) && actual[i] !== expected[i]) diffs.push(i);
  if (diffs.length) {
    problems.push(`${diffs.length} byte(s) differ, first at offset ${diffs[0]} (${diffs.slice(0, 8).join(',')}${diffs.length > 8 ? ',...' : ''})`);
  }
  checkTimestamps(fa, o.loNs, o.hiNs, problems);
  const exact = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength).equals(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength));
  return { ok: problems.length === 0, exact, problems };
}

/** A Hop-by-Hop header as the socket API returns it, wrapped in a dummy IPv6 header for the parsers. */
export function wrapHbh(hbh: Uint8Array): Uint8Array {
  const p = new Uint8Array(40 + hbh.length);
  p[0] = 0x60;
  p[4] = (hbh.length >> 8) & 0xff;
  p[5] = hbh.length & 0xff;
  p[6] = 0;
  p.set(hbh, 40);
  return p;
}

export { hex };
