/**
 * What every `veda` command shares: global options, argument parsers, output (`--json` is a contract), opening a
 * Veda from configuration, and following a workflow run. Command files (cli*.ts) build on these.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type VedaConfig } from '../config/config.js';
// Only types at load time: a command loads Temporal, the catalog and the rest when it runs (`veda --help` stays fast).
import type { Veda } from './veda.js';
import type { Progress } from '../workflows/progress.js';
import type { WorkflowRun } from './workflow-run.js';

export interface GlobalOptions {
  json?: boolean;
  user?: string;
}

// ---- argument parsers ----------------------------------------------------------------------------------------

export function intArg(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

export function shareArg(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a share between 0 and 1`);
    return n;
  };
}

export function numberList(name: string, count?: number) {
  return (value: string): number[] => {
    const parts = value.split(',').map((s) => Number(s.trim()));
    if (parts.some((n) => !Number.isFinite(n)) || (count !== undefined && parts.length !== count)) {
      throw new InvalidArgumentError(`${name} takes ${count ?? 'a list of'} comma-separated numbers`);
    }
    return parts;
  };
}

/** A repeatable option's values, in the order given. */
export function collect(value: string, previous?: string[]): string[] {
  return [...(previous ?? []), value];
}

/** A comma-separated list of non-empty names. */
export function nameList(name: string) {
  return (value: string): string[] => {
    const parts = value.split(',').map((s) => s.trim());
    if (parts.some((s) => s === '')) throw new InvalidArgumentError(`${name} takes comma-separated names, none empty`);
    return parts;
  };
}

export function tileSizeArg(value: string): [number, number] {
  const parts = value.split(/[,x]/).map(Number);
  const [w, h] = parts.length === 1 ? [parts[0], parts[0]] : parts;
  if (parts.length > 2 || !Number.isInteger(w) || !Number.isInteger(h) || w! < 1 || h! < 1) {
    throw new InvalidArgumentError('--tile-size takes W,H (or one number for a square tile)');
  }
  return [w!, h!];
}

// ---- output -------------------------------------------------------------------------------------------------

import { jsonReplacer } from './json-values.js';

export function emit(opts: GlobalOptions, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, jsonReplacer, 2)}\n` : `${human()}\n`);
}

export { jsonReplacer } from './json-values.js';

// ---- wiring -------------------------------------------------------------------------------------------------

export function configFor(opts: GlobalOptions): VedaConfig {
  const config = loadConfig();
  return opts.user ? { ...config, user: opts.user } : config;
}

export async function withVeda<T>(opts: GlobalOptions, fn: (veda: Veda) => Promise<T>): Promise<T> {
  const { Veda } = await import('./veda.js');
  const veda = await Veda.connect(configFor(opts));
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
