/**
 * Where `ioamsim`'s subcommands come from. Each entry is a module exporting
 * `createCommands(ctx: CliContext): Command[]` (commander `Command`s, with their own options,
 * help text and action). Paths are relative to this file, so they work from `src/` (tsx) and from
 * the compiled `dist/src/`.
 *
 * To add a command: write `app/cli/commands/<name>.ts` (or a `cli.ts` beside your own code) and
 * add its path here. Keep module top levels cheap (no native addon load, no file reads): the
 * modules are loaded for `--help` too; load heavy things inside the action.
 */
import type { CreateCommands } from './context';

export interface CommandModuleEntry {
  /** Module path, relative to this file, without extension. */
  path: string;
  /** Optional modules (plug-ins outside this package) are skipped with a warning if absent. Every
   *  module of this package is required. */
  optional?: boolean;
}

export const COMMAND_MODULES: readonly CommandModuleEntry[] = [
  { path: './commands/decode' },
  { path: './commands/dataplane' }, // encap, transit, decap
  { path: './commands/demo' }, // demo (Cross-Layer Telemetry scenario)
  { path: './commands/run' }, // run (simulator)
  { path: './commands/paths' }, // paths (IOAM path table)
  { path: './commands/import' }, // import (containerlab, GraphML)
  { path: './commands/sweep' }, // sweep, sweep-point (parameter sweeps, local or Slurm)
  { path: '../kernel/cli' }, // kernel-check
  { path: '../kernel/testbed-cli' }, // testbed (a topology on Linux netns)
];

/**
 * Loads the command modules' factories. An absent optional module is skipped with a warning; an
 * optional module that fails to load otherwise is skipped with a warning (so one broken part does
 * not take every command down); a required module that fails throws.
 */
export function loadCommandModules(
  entries: readonly CommandModuleEntry[] = COMMAND_MODULES,
  warn: (message: string) => void = () => {},
): CreateCommands[] {
  const out: CreateCommands[] = [];
  for (const e of entries) {
    let mod: { createCommands?: CreateCommands };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(e.path);
    } catch (err) {
      const x = err as NodeJS.ErrnoException;
      // Only the module itself being absent is tolerated; a missing import *inside* it is a bug.
      if (e.optional && x.code === 'MODULE_NOT_FOUND' && isSelfMissing(x.message, e.path)) {
        warn(`optional command module ${e.path} is not installed, its commands are unavailable`);
        continue;
      }
      if (e.optional) {
        warn(`command module ${e.path} failed to load, its commands are unavailable: ${String(x?.message ?? err).split('\n')[0]}`);
        continue;
      }
      throw err;
    }
    if (typeof mod.createCommands !== 'function') {
      const msg = `command module ${e.path} does not export createCommands(ctx)`;
      if (e.optional) {
        warn(msg);
        continue;
      }
      throw new Error(msg);
    }
    out.push(mod.createCommands);
  }
  return out;
}

function isSelfMissing(message: string, path: string): boolean {
  const first = message.split('\n')[0] ?? '';
  return first.includes(`'${path}'`);
}
