/** Runs the `veda` CLI as a child process (`node bin/veda.js ...`), as a user would. */
import { execFile } from 'node:child_process';
import path from 'node:path';

export const BIN = path.resolve('bin/veda.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `veda args...` to its end; never throws, so exit codes and output can be checked. */
export function veda(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `veda args... --json` and parses stdout, which must be one JSON document whatever the exit code. */
export async function vedaJson<T>(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult & { json: T }> {
  const result = await veda([...args, '--json'], env);
  let json: T;
  try {
    json = JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`veda ${args.join(' ')} --json printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { ...result, json };
}
