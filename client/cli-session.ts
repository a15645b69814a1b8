/**
 * What every `veda` command shares while it runs: the global options, a Veda opened from configuration, following
 * a workflow run, and the exit code an action asks for.
 */
import type { Command } from 'commander';
// Only types at load time: a command loads its configuration (and zod), Temporal, the catalog and the rest when it
// runs, so `veda --help` stays fast.
import type { VedaConfig } from '../config/config.js';
import type { Veda } from './veda.js';
import type { Progress } from '../workflows/progress.js';
import type { WorkflowRun } from './workflow-run.js';

export interface GlobalOptions {
  json?: boolean;
  user?: string;
}

/** What an action wants the process to exit with when it did not fail (`status` and `check` set it). */
export interface CliOutcome {
  exitCode: number;
}

export async function configFor(opts: GlobalOptions): Promise<VedaConfig> {
  const { loadConfig } = await import('../config/config.js');
  const config = loadConfig();
  return opts.user ? { ...config, user: opts.user } : config;
}

export async function withVeda<T>(opts: GlobalOptions, fn: (veda: Veda) => Promise<T>): Promise<T> {
  const { Veda } = await import('./veda.js');
  const veda = await Veda.connect(await configFor(opts));
  try {
    return await fn(veda);
  } finally {
    await veda.close();
  }
}

/** With --wait, follows the run to its end (bars on stderr, or only warnings with --json); its final progress. */
export async function follow(run: WorkflowRun, opts: GlobalOptions & { wait?: boolean }, title: string): Promise<Progress | null> {
  if (!opts.wait) return null;
  if (!opts.json) {
    const { followWithBars } = await import('./progress-bars.js');
    return followWithBars(run, title);
  }
  let last: Progress | null = null;
  for await (const { warning, ...p } of run.progress()) {
    if (warning) process.stderr.write(`veda: ${warning}\n`);
    else last = p;
  }
  return last;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}
