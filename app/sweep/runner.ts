/**
 * Runs one sweep point: `ioamsim run points/NNNN/topology.yaml --out points/NNNN/run` as a child
 * process, its output in points/NNNN/log.txt, then done.json (by rename) when it succeeded. The
 * local executor and every Slurm array task (`ioamsim sweep-point DIR INDEX`) call this same
 * function, so a point's results do not depend on the executor.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isComplete, writeAtomic, type DoneMarker } from './points';

/** node + arguments that start the `ioamsim` CLI: the compiled entry, else the TypeScript one via tsx. */
export function cliCommand(): { command: string; args: string[] } {
  const compiled = path.resolve(__dirname, '..', 'cli', 'main.js');
  const source = path.resolve(__dirname, '..', 'cli', 'main.ts');
  if (__filename.endsWith('.js') && fs.existsSync(compiled)) return { command: process.execPath, args: [compiled] };
  if (fs.existsSync(source)) {
    const tsx = pathToFileURL(require.resolve('tsx')).href;
    return { command: process.execPath, args: ['--import', tsx, source] };
  }
  if (fs.existsSync(compiled)) return { command: process.execPath, args: [compiled] };
  throw new Error(`cannot find the ioamsim CLI entry (looked for ${compiled} and ${source})`);
}

export type PointOutcome =
  | { status: 'skipped' }
  | { status: 'ok'; wallMs: number }
  | { status: 'failed'; exitCode: number | null; signal: string | null; log: string }
  | { status: 'interrupted' };

export interface RunPointOptions {
  executor: string;
  /** Called with the child as soon as it is spawned (the local executor stops it on Ctrl-C). */
  onChild?: (child: ChildProcess) => void;
  /** True once the sweep is being interrupted: a child that dies then is not a failure. */
  interrupted?: () => boolean;
}

/** Runs the point in `pdir` unless it is complete. Never throws for a failing simulation. */
export async function runPoint(pdir: string, opts: RunPointOptions): Promise<PointOutcome> {
  if (isComplete(pdir)) return { status: 'skipped' };
  const runDir = path.join(pdir, 'run');
  const log = path.join(pdir, 'log.txt');
  // A half-written point is redone from scratch.
  fs.rmSync(path.join(pdir, 'done.json'), { force: true });
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.appendFileSync(path.join(pdir, 'attempts.log'), `${new Date().toISOString()} start executor=${opts.executor} host=${os.hostname()} pid=${process.pid}\n`);
  const { command, args } = cliCommand();
  const fd = fs.openSync(log, 'w');
  const t0 = Date.now();
  let child: ChildProcess;
  try {
    child = spawn(command, [...args, 'run', path.join(pdir, 'topology.yaml'), '--out', runDir, '--no-progress'], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, IOAMSIM_DEBUG: '1' },
    });
  } finally {
    fs.closeSync(fd);
  }
  opts.onChild?.(child);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('error', () => resolve([null, null]));
    child.on('exit', (c, s) => resolve([c, s]));
  });
  const wallMs = Date.now() - t0;
  // Killed by the signal, or `ioamsim run` stopped by it (it removes its files and exits 128 + signo).
  if (opts.interrupted?.() || signal === 'SIGINT' || signal === 'SIGTERM' || code === 130 || code === 143) return { status: 'interrupted' };
  if (code === 0 && fs.existsSync(path.join(runDir, 'summary.json'))) {
    const done: DoneMarker = { ok: true, wall_ms: wallMs, executor: opts.executor, host: os.hostname() };
    writeAtomic(path.join(pdir, 'done.json'), JSON.stringify(done, null, 2) + '\n');
    return { status: 'ok', wallMs };
  }
  return { status: 'failed', exitCode: code, signal, log };
}
