/**
 * The `ioamsim` command: a commander program whose subcommands come from the modules listed in
 * app/cli/registry.ts. Run it as `ioamsim` (bin/ioamsim.js loads the compiled dist/app/cli/main.js)
 * or, in development, `node --import tsx app/cli/main.ts`.
 * Exit codes and output formats: docs/CLI.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { CliContext } from './context';
import { describeError, EXIT, type ExitCode } from './errors';
import { loadCommandModules } from './registry';

/** The package version (package.json beside src/ or two levels above dist/src/). */
export function packageVersion(): string {
  for (const p of [resolve(__dirname, '..', '..', 'package.json'), resolve(__dirname, '..', '..', '..', 'package.json')]) {
    if (existsSync(p)) {
      try {
        return String(JSON.parse(readFileSync(p, 'utf8')).version ?? '0.0.0');
      } catch {
        /* try the next one */
      }
    }
  }
  return '0.0.0';
}

const MAIN_HELP = `
Examples:
  $ ioamsim decode test/fixtures/linux-6.18/a_full_trace.pcap          # one JSON object per packet
  $ ioamsim decode --format table capture.pcapng                    # human-readable
  $ ioamsim transit --node examples/nodes/r1.yaml --ingress r1-h1 --egress r1-r2 in.pcap out.pcapng
  $ ioamsim <command> --help                                        # every command has an example

Exit codes: 0 ok, 1 input error, 2 usage error, 3 partial (input truncated after some packets),
4 internal/environment error. Errors never print a stack trace unless --debug. See docs/CLI.md.
`;

/** Applies the program's output/exit settings to a command and its subcommands. */
function inherit(cmd: Command, parent: Command): void {
  cmd.copyInheritedSettings(parent);
  for (const sub of cmd.commands) inherit(sub, cmd);
}

/** Builds the program with every registered command. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('ioamsim')
    .description('User-space IPv6 IOAM dataplane simulator: decode captures, run encap/transit/decap nodes on them')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--debug', 'print stack traces and extra detail on errors (also IOAMSIM_DEBUG=1)')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(add --help for usage and an example)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
      outputError: (s, write) => write(s),
    })
    .addHelpText('after', MAIN_HELP);
  for (const create of loadCommandModules(undefined, (m) => void ctx.stderr.write(`ioamsim: warning: ${m}\n`))) {
    for (const cmd of create(ctx)) {
      inherit(cmd, program);
      program.addCommand(cmd);
    }
  }
  return program;
}

export interface RunIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs the command line `argv` (user arguments, without `node` and the script) and returns the
 * exit code. Never throws: errors are printed to stderr.
 */
export async function run(argv: string[], io: RunIo = {}): Promise<ExitCode> {
  const env = io.env ?? process.env;
  const ctx: CliContext = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    debug: argv.includes('--debug') || env.IOAMSIM_DEBUG === '1',
  };
  let command = '';
  try {
    const program = buildProgram(ctx);
    program.hook('preAction', (_root, action) => {
      command = action.name();
    });
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (e) {
    const { exitCode, lines } = describeError(e);
    const prefix = command ? `ioamsim ${command}` : 'ioamsim';
    lines.forEach((l, i) => ctx.stderr.write(i === 0 ? `${prefix}: error: ${l}\n` : `  ${l}\n`));
    if (ctx.debug && e instanceof Error && exitCode !== EXIT.OK && lines.length > 0) {
      ctx.stderr.write(`${e.stack ?? ''}\n`);
      let cause = (e as { cause?: unknown }).cause;
      while (cause instanceof Error) {
        ctx.stderr.write(`caused by: ${cause.stack ?? cause.message}\n`);
        cause = (cause as { cause?: unknown }).cause;
      }
    }
    return exitCode;
  }
}

/** Process entry point: runs `process.argv` and sets `process.exitCode`. */
export async function main(): Promise<void> {
  // `ioamsim decode big.pcap | head`: a closed pipe is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = await run(process.argv.slice(2));
}

if (require.main === module) void main();
