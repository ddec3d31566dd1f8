/** Small helpers shared by the CLI commands. */
import { once } from 'node:events';
import { InvalidArgumentError } from 'commander';

/** Parses a positive integer option (commander argParser). */
export function intOption(name: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}

/** Writes to a stream, waiting for 'drain' when its buffer is full (bounded memory for big outputs). */
export class BufferedWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly out: NodeJS.WritableStream, private readonly limit = 64 * 1024) {}

  async write(s: string): Promise<void> {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= this.limit) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const s = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.out.write(s)) await once(this.out, 'drain');
  }
}

/** `1795721275.589874000` from ns. */
export function epochText(ns: bigint): string {
  // Before the epoch (a pcapng interface's negative if_tsoffset): the sign, then the magnitude.
  if (ns < 0n) return `-${epochText(-ns)}`;
  const s = ns / 1_000_000_000n;
  return `${s}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/** ISO 8601 UTC with nanoseconds, e.g. `2026-11-26T23:27:55.589874000Z` (floored to the second, then the nanoseconds: right before 1970 too). */
export function isoNs(ns: bigint): string {
  const sec = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  const frac = ns - sec * 1_000_000_000n;
  const d = new Date(Number(sec) * 1000);
  if (Number.isNaN(d.getTime())) return epochText(ns);
  return d.toISOString().replace(/\.\d{3}Z$/, `.${frac.toString().padStart(9, '0')}Z`);
}

export function hex16(v: number | null): string | null {
  return v === null ? null : `0x${v.toString(16).padStart(4, '0')}`;
}
