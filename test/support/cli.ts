/** Runs the `veda` CLI as a child process (`node bin/veda.js ...`), as a user would. */
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';

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

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** The parent's environment without any veda / Temporal / PostgreSQL configuration. */
export function unconfiguredEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, VEDA_DATA_DIR: dataDir };
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_UI_URL', 'VEDA_TASK_QUEUE', 'VEDA_USER']) delete env[key];
  return env;
}

export interface DevProcess {
  dataDir: string;
  port: number;
  uiPort: number;
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves with stdout once the ready lines are printed; rejects if the process exits first. */
  ready: Promise<string>;
  exited: Promise<number | null>;
  /** Ctrl-C if still running, then removes the data directory. */
  stop(): Promise<void>;
}

/** Starts `veda dev` (by default: a fresh data directory, free ports, --ephemeral) with no configuration; does not wait for it. */
export async function spawnDev(options: { dataDir?: string; port?: number; uiPort?: number; ephemeral?: boolean } = {}): Promise<DevProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'veda-cli-dev-')));
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const persist = options.ephemeral === false ? [] : ['--ephemeral'];
  const child = spawn(process.execPath, [BIN, 'dev', ...persist, '--port', String(port), '--ui-port', String(uiPort)], {
    env: unconfiguredEnv(dataDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (stdout.includes('Ctrl-C stops everything')) resolve(stdout);
    });
    void exited.then((code) => reject(new Error(`veda dev exited (${code}) before it was ready:\n${stdout}\n${stderr}`)));
  });
  ready.catch(() => {}); // the dev test awaits it and reports the failure
  return {
    dataDir, port, uiPort, child, ready, exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface WorkerProcess {
  child: ChildProcessByStdio<null, null, Readable>;
  /** Resolves once the worker polls its task queue; rejects if it exits first. */
  polling: Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `veda worker` with `env` (a stack's childEnv); does not wait for it. */
export function spawnWorker(env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, [BIN, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const polling = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      if (stderr.includes('polling task queue')) resolve();
    });
    void exited.then((code) => reject(new Error(`veda worker exited (${code}) before polling:\n${stderr}`)));
  });
  polling.catch(() => {}); // callers await it and see the failure
  return { child, polling, exited };
}

/** Sends one signal to a veda process; resolves with its exit code and how many seconds it took to exit. */
export async function stopWith(
  process_: { child: { kill(signal: NodeJS.Signals): boolean }; exited: Promise<number | null> },
  signal: NodeJS.Signals,
): Promise<{ code: number | null; seconds: number }> {
  const started = Date.now();
  process_.child.kill(signal);
  const code = await process_.exited;
  return { code, seconds: (Date.now() - started) / 1000 };
}
