/**
 * Captured standard output and error for running a command in-process (`run(argv, io())` from
 * app/cli/main.ts): `out` and `err` hold what it wrote.
 */
import { Writable } from 'node:stream';

export function io(): { stdout: Writable; stderr: Writable; readonly out: string; readonly err: string } {
  let out = '';
  let err = '';
  return {
    stdout: new Writable({ write: (c, _e, cb) => { out += String(c); cb(); } }),
    stderr: new Writable({ write: (c, _e, cb) => { err += String(c); cb(); } }),
    get out() { return out; },
    get err() { return err; },
  };
}
