/**
 * The `veda` CLI: one verb per job, `--json` on every command as a stable machine-readable contract, progress
 * bars on stderr, and a non-zero exit with a clear message on error (exit codes by error type, see README).
 * The commands live in cli-<group>.ts files; this one builds the program and runs it.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isVedaError, messageWithCauses } from '../domain/errors.js';
import { registerBatchCommands } from './cli-batch.js';
import { registerDatasetCommands } from './cli-datasets.js';
import { registerDevCommands } from './cli-dev.js';
import { registerPreviewCommands } from './cli-preview.js';
import { registerRunCommands } from './cli-runs.js';
import type { CliOutcome } from './cli-session.js';
import { registerServeCommands } from './cli-serve.js';
import { vedaVersion } from './version.js';

export function buildProgram(outcome: CliOutcome = { exitCode: 0 }): Command {
  const program = new Command('veda')
    .description('Satellite imagery + vector labels -> ML training data, on durable Temporal workflows')
    .version(vedaVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    // Before any .command(): subcommands copy it, so their usage errors reach main() (exit 2, JSON error).
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .option('--json', 'machine-readable output (a stable contract)')
    .option('--user <user>', 'who is acting (default: VEDA_USER, else the OS user)');

  registerDatasetCommands(program, outcome);
  registerRunCommands(program, outcome);
  registerPreviewCommands(program);
  registerDevCommands(program);
  registerBatchCommands(program);
  registerServeCommands(program);
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    const outcome: CliOutcome = { exitCode: 0 };
    await buildProgram(outcome).parseAsync(argv);
    return outcome.exitCode;
  } catch (err) {
    // A usage error is bad input (exit 2). Commander printed its own usage errors already; an InvalidArgumentError
    // reaching here was thrown by an argument parser inside an action, so it is not printed yet.
    const usage = err instanceof CommanderError;
    if (usage && err.exitCode === 0) return 0; // --help, help, --version
    const printed = usage && !(err instanceof InvalidArgumentError);
    // Not a usage error: the cause chain carries the reason ("Failed to start Workflow" alone says nothing).
    const raw = usage ? err.message : messageWithCauses(err);
    const message = printed ? raw.replace(/^error: /, '') : raw;
    const kind = usage ? 'InvalidInputError' : isVedaError(err) ? err.kind : 'Error';
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { kind, message } })}\n`);
    if (!printed) process.stderr.write(`veda: ${message}\n`);
    return usage ? 2 : isVedaError(err) ? err.exitCode : 1;
  }
}

/** Resolves once everything written to `stream` so far has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

/**
 * Runs the CLI and exits with its code once stdout and stderr are flushed. The exit is explicit (an open Temporal
 * connection or a failed Worker.create must not keep the process alive), but process.exit() right away would cut a
 * piped answer at the pipe's 64 KiB buffer: an empty write's callback runs after every earlier write.
 */
export async function runAndExit(argv = process.argv): Promise<never> {
  const code = await main(argv);
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
