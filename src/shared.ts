/**
 * Where the project's reference material lives: the read-only `shared/` folder beside the
 * repository (real kernel captures, notes). CI lays it out the same way (`../shared`).
 * `IOAMSIM_SHARED` / `IOAMSIM_CAPTURES` override the locations.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root: the nearest folder above this file holding ioamsim's package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ioamsim') return dir;
      } catch {
        /* not ours; keep walking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(__dirname, '..');
    dir = up;
  }
}

/** `shared/` beside the repository (or `$IOAMSIM_SHARED`). */
export function sharedDir(): string {
  return process.env.IOAMSIM_SHARED ?? path.resolve(repoRoot(), '..', 'shared');
}

/** The real kernel captures (or `$IOAMSIM_CAPTURES`). */
export function capturesDir(): string {
  return process.env.IOAMSIM_CAPTURES ?? path.join(sharedDir(), 'captures');
}
