/**
 * The local executor: runs a sweep's incomplete points as `ioamsim run` child processes, at most
 * `jobs` at a time. Ctrl-C (SIGINT) or SIGTERM stops the children and starts no more; completed
 * points stay complete and a rerun runs only the rest.
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { isComplete, pointDir, type Manifest } from './points';
import type { Progress } from './progress';
import { runPoint } from './runner';

export interface LocalResult {
  ran: number;
  ok: number;
  failed: { index: number; log: string; exitCode: number | null; signal: string | null }[];
  interrupted: boolean;
}

export async function runLocal(dir: string, m: Manifest, jobs: number, progress: Progress): Promise<LocalResult> {
  const todo = m.points.filter((p) => !isComplete(path.join(dir, p.dir))).map((p) => p.index);
  const result: LocalResult = { ran: 0, ok: 0, failed: [], interrupted: false };
  const children = new Set<ChildProcess>();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    result.interrupted = true;
    for (const c of children) c.kill('SIGTERM');
    // A child that ignores SIGTERM is killed after 3 s.
    setTimeout(() => {
      for (const c of children) c.kill('SIGKILL');
    }, 3000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stopping && next < todo.length) {
      const index = todo[next++]!;
      const name = path.basename(m.points[index]!.dir);
      result.ran++;
      let child: ChildProcess | undefined;
      const r = await runPoint(pointDir(dir, m, index), {
        executor: 'local',
        onChild: (c) => {
          child = c;
          children.add(c);
          if (stopping) c.kill('SIGTERM');
        },
        interrupted: () => stopping,
      });
      if (child) children.delete(child);
      if (r.status === 'ok') {
        result.ok++;
        progress.point(name, true, `${(r.wallMs / 1000).toFixed(1)}s`);
      } else if (r.status === 'failed') {
        result.failed.push({ index, log: r.log, exitCode: r.exitCode, signal: r.signal });
        progress.point(name, false, `${r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`}, log: ${r.log}`);
      } else if (r.status === 'interrupted') {
        result.interrupted = true;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, todo.length)) }, worker));
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return result;
}
