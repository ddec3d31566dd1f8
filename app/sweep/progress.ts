/**
 * Sweep progress on stderr: a cli-progress bar with ETA on a TTY, else one plain line per finished
 * point (with the ETA from the mean time per point so far).
 * @module
 */

interface Bar {
  start(total: number, value: number, payload?: object): void;
  update(value: number, payload?: object): void;
  stop(): void;
}

export class Progress {
  private bar: Bar | undefined;
  private done = 0;
  private failed = 0;
  private readonly t0 = Date.now();

  constructor(private readonly out: NodeJS.WritableStream, private readonly total: number, enabled = true) {
    if (enabled && (out as NodeJS.WriteStream).isTTY === true && total > 0) {
      // cli-progress ships no type declarations.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const cp = require('cli-progress') as { SingleBar: new (o: object, preset: object) => Bar; Presets: { shades_classic: object } };
      this.bar = new cp.SingleBar(
        { stream: out, format: 'sweep [{bar}] {value}/{total} points | {failed} failed | ETA {eta_formatted}', hideCursor: true, etaBuffer: 20 },
        cp.Presets.shades_classic,
      );
      this.bar.start(total, 0, { failed: 0 });
    }
  }

  /** A point finished (ok or failed); `note` is printed as a line (failures always are). */
  point(name: string, ok: boolean, note: string): void {
    this.done++;
    if (!ok) this.failed++;
    if (this.bar) {
      this.bar.update(this.done, { failed: this.failed });
      if (!ok) this.lineAboveBar(`point ${name}: ${note}`);
      return;
    }
    const elapsed = (Date.now() - this.t0) / 1000;
    const eta = this.done ? Math.round((elapsed / this.done) * (this.total - this.done)) : 0;
    this.out.write(`sweep: [${this.done}/${this.total}] point ${name} ${ok ? 'ok' : 'FAILED'}: ${note} (ETA ${eta}s)\n`);
  }

  /** Sets the count of finished points (Slurm: counted from done markers). */
  set(done: number, failed: number): void {
    if (done === this.done && failed === this.failed) return;
    this.done = done;
    this.failed = failed;
    if (this.bar) this.bar.update(done, { failed });
    else this.out.write(`sweep: [${done}/${this.total}] points finished, ${failed} failed\n`);
  }

  private lineAboveBar(s: string): void {
    this.out.write(`\r\x1b[2K${s}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
