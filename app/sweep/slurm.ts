/**
 * The Slurm executor: a job array whose task i runs `ioamsim sweep-point DIR i` (the same
 * runPoint as the local executor). Slurm places the tasks; this module writes the batch script,
 * submits it with sbatch, follows it with squeue and counts done markers for progress.
 *
 * Indices at or above the cluster's MaxArraySize go into further arrays with an offset (task id +
 * offset = point index), so any number of points can be submitted.
 * @module
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isComplete, type Manifest } from './points';
import { cliCommand } from './runner';

export interface SlurmOptions {
  cpusPerTask: number;
  mem: string;
  time: string;
  partition?: string;
  /** At most this many tasks of the array run at once (`%M`); undefined = no limit. */
  throttle?: number;
  /** Largest array index + 1 the cluster accepts (MaxArraySize). */
  maxArraySize: number;
}

const shq = (s: string): string => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** `0-3,5,7-9` from sorted indices. */
export function compressRanges(xs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(i === j ? String(xs[i]) : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** One batch script per chunk of the points to run (absolute DIR: it must be on a shared filesystem). */
export function batchScripts(dir: string, indices: number[], o: SlurmOptions): { offset: number; indices: number[]; script: string }[] {
  const abs = path.resolve(dir);
  const { command, args } = cliCommand();
  const chunks = new Map<number, number[]>();
  for (const i of indices) {
    const off = Math.floor(i / o.maxArraySize) * o.maxArraySize;
    chunks.set(off, [...(chunks.get(off) ?? []), i - off]);
  }
  return [...chunks.entries()].map(([offset, ids]) => {
    const lines = [
      '#!/bin/bash',
      `# ioamsim sweep: ${ids.length} point(s) of ${abs}, one array task per point (task id + ${offset} = point index).`,
      '#SBATCH --job-name=ioamsim-sweep',
      `#SBATCH --array=${compressRanges(ids)}${o.throttle ? `%${o.throttle}` : ''}`,
      '#SBATCH --ntasks=1',
      `#SBATCH --cpus-per-task=${o.cpusPerTask}`,
      `#SBATCH --mem=${o.mem}`,
      `#SBATCH --time=${o.time}`,
      ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
      `#SBATCH --chdir=${abs}`,
      `#SBATCH --output=${path.join(abs, 'slurm', '%A_%a.out')}`,
      'set -euo pipefail',
      `exec ${[command, ...args].map(shq).join(' ')} sweep-point ${shq(abs)} "$((SLURM_ARRAY_TASK_ID + ${offset}))"`,
      '',
    ];
    return { offset, indices: ids.map((i) => i + offset), script: lines.join('\n') };
  });
}

function slurmCmd(cmd: string, args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { ok: false, out: '', err: `${cmd}: ${r.error.message}` };
  return { ok: r.status === 0, out: r.stdout, err: r.stderr.trim() };
}

/** MaxArraySize of the cluster (scontrol show config), 1001 (Slurm's default) if unknown. */
export function maxArraySize(): number {
  const r = slurmCmd('scontrol', ['show', 'config']);
  const m = /^MaxArraySize\s*=\s*(\d+)/m.exec(r.out);
  return m ? Number(m[1]) : 1001;
}

/** Submits the scripts (written to DIR/slurm/) with sbatch; returns the job ids. */
export function submit(dir: string, scripts: { offset: number; script: string }[]): string[] {
  const sdir = path.join(path.resolve(dir), 'slurm');
  fs.mkdirSync(sdir, { recursive: true });
  const ids: string[] = [];
  for (const s of scripts) {
    const file = path.join(sdir, `array-offset${s.offset}.sbatch`);
    fs.writeFileSync(file, s.script, { mode: 0o755 });
    const r = slurmCmd('sbatch', ['--parsable', file]);
    if (!r.ok) throw new Error(`sbatch ${file} failed: ${r.err || r.out}`);
    ids.push(r.out.trim().split(';')[0]!);
  }
  fs.appendFileSync(path.join(sdir, 'jobs.txt'), ids.map((i) => `${i}\n`).join(''));
  return ids;
}

/** Number of the jobs' tasks still pending or running (squeue), or an error. */
export function activeTasks(jobIds: string[]): number | string {
  const r = slurmCmd('squeue', ['-h', '-r', '-j', jobIds.join(','), '-o', '%i %T']);
  if (!r.ok) {
    // squeue forgets a finished job after MinJobAge: "Invalid job id specified" means done.
    if (/Invalid job id/i.test(r.err)) return 0;
    return r.err || 'squeue failed';
  }
  return r.out.split('\n').filter((l) => l.trim() !== '').length;
}

export function cancel(jobIds: string[]): void {
  slurmCmd('scancel', jobIds);
}

/**
 * Waits until the jobs have no task pending or running, reporting (done, failed) counts from the
 * point directories every `pollMs`. Returns false if interrupted (the jobs are then cancelled).
 */
export async function follow(dir: string, m: Manifest, jobIds: string[], indices: number[], onCount: (done: number, failed: number) => void, pollMs = 2000): Promise<boolean> {
  let interrupted = false;
  const stop = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    for (;;) {
      const active = activeTasks(jobIds);
      if (typeof active === 'string') throw new Error(`cannot follow job(s) ${jobIds.join(',')}: ${active}`);
      const done = indices.filter((i) => isComplete(path.join(dir, m.points[i]!.dir))).length;
      onCount(done, active === 0 ? indices.length - done : 0);
      if (active === 0) return true;
      if (interrupted) {
        cancel(jobIds);
        return false;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
