/**
 * What a command module gets: where to write, and whether `--debug` is on. A command module is a
 * file exporting `createCommands(ctx: CliContext): Command[]` (see app/cli/registry.ts).
 */
import type { Command } from 'commander';

export interface CliContext {
  /** Data output (JSON Lines, tables). */
  stdout: NodeJS.WritableStream;
  /** Summaries, warnings, errors. */
  stderr: NodeJS.WritableStream;
  /** `--debug` given (or IOAMSIM_DEBUG=1): print stacks, extra detail. */
  debug: boolean;
}

/** The export every command module provides. */
export type CreateCommands = (ctx: CliContext) => Command[];
