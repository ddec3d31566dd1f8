/**
 * Where the package's own files are: its root folder and the recorded Linux kernel cases
 * (`test/fixtures/linux-6.18`, described by its MANIFEST.md). Nothing outside the package is
 * looked at; `IOAMSIM_CAPTURES` points the readers at another folder laid out the same way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Folder of the recorded cases, relative to the package root. */
export const FIXTURES_SUBDIR = path.join('test', 'fixtures', 'linux-6.18');

/**
 * The package root: the nearest folder above this file whose package.json is ioamsim's (the
 * clone, or `node_modules/ioamsim` when installed). Falls back to the folder above this file.
 */
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

/** The recorded Linux 6.18 cases (or `$IOAMSIM_CAPTURES`). */
export function capturesDir(): string {
  return process.env.IOAMSIM_CAPTURES ?? path.join(repoRoot(), FIXTURES_SUBDIR);
}
