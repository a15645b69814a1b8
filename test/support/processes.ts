/**
 * Child processes the multi-process tests start: `veda` commands, long-running `veda worker`s, and servers that
 * veda did not start (a plain Temporal dev server, an S3-compatible server), always on free loopback ports.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, refusesConnections } from './cli.js';

export { freePort };

const BIN = path.resolve('bin/veda.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `veda args...` to its end; never throws, so exit codes and output can be checked. */
export function runVeda(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** Runs `veda args... --json` and parses stdout (one JSON document whatever the exit code). */
export async function runVedaJson<T>(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult & { json: T }> {
  const result = await runVeda([...args, '--json'], env);
  try {
    return { ...result, json: JSON.parse(result.stdout) as T };
  } catch {
    throw new Error(`veda ${args.join(' ')} --json printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

export interface Background {
  child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a long-running process and resolves once `ready` returns true for its output so far (stdout + stderr),
 * or rejects with that output when it exits first or `timeoutMs` passes.
 */
export async function startBackground(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: (output: string) => boolean | Promise<boolean>,
  timeoutMs = 90_000,
): Promise<Background> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk;
    errors += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${path.basename(command)} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
    }
    if (await Promise.resolve().then(() => ready(output)).catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${path.basename(command)} ${args.join(' ')} was not ready within ${timeoutMs / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, stderr: () => errors, stop };
}

/** A `veda worker` with this environment, ready once it polls. */
export function startVedaWorker(env: NodeJS.ProcessEnv): Promise<Background> {
  return startBackground(process.execPath, [BIN, 'worker'], env, (out) => out.includes('veda worker polling'));
}

/** Resolves when something accepts TCP connections on 127.0.0.1:port. */
export async function accepts(port: number): Promise<boolean> {
  return !(await refusesConnections(port));
}
