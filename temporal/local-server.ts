/**
 * Runs a real Temporal dev server (`temporal server start-dev`: SQLite, Web UI) from a binary on disk, with veda's
 * search attributes registered. Used by the demo, the tests and `veda dev`. The server's own output goes to a log
 * file, so veda's stdout (progress, `--json`) stays clean; the log's tail is in the error if the server fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { SetupError } from '../domain/errors.js';
import { findTemporalCli } from './cli-binary.js';
import { VEDA_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

export interface LocalTemporalOptions {
  cliPath?: string;
  namespace?: string;
  /** SQLite file that keeps workflow history across restarts; in memory when omitted. */
  dbFilename?: string;
  ip?: string;
  /** Frontend port (a free one when omitted). */
  port?: number;
  /** Serve the Web UI (on uiPort, or a free port). */
  ui?: boolean;
  uiPort?: number;
  /** Where the server's output goes (a temp file when omitted). */
  logFile?: string;
}

export interface LocalTemporal {
  address: string;
  namespace: string;
  /** Web UI base address, when the UI is on. */
  uiUrl?: string;
  logFile: string;
  client: Client;
  nativeConnection: NativeConnection;
  shutdown(): Promise<void>;
  /** Kills the server at once (SIGKILL), synchronously: for a process that must exit now. */
  kill(): void;
}

const START_TIMEOUT_MS = 60_000;

async function freePort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, ip, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Fails clearly when a port asked for is taken: the server would exit, or a client would reach another server. */
async function assertPortFree(ip: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new SetupError(`${what} port ${ip}:${port} is in use (${err.code}): is another \`veda dev\` or Temporal server running? Pick another port.`)),
    );
    server.listen(port, ip, () => server.close(() => resolve()));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** The server log's last lines, and where it panicked (a Go panic's message is followed by a long stack). */
function logTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const panic = lines.findIndex((line) => /^(panic|fatal error|Error):/.test(line));
    const head = panic >= 0 && panic < lines.length - 15 ? [...lines.slice(panic, panic + 5), '...'] : [];
    return [...head, ...lines.slice(-15)].join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts tried when the server exits while starting on ports veda picked (another process may have taken one). */
const START_ATTEMPTS = 3;

class ExitedWhileStarting extends SetupError {}

export async function startLocalTemporal(options: LocalTemporalOptions = {}): Promise<LocalTemporal> {
  // A free port is free when asked, not necessarily when the server binds it (nor are the ports the server picks for
  // itself): on ports veda chose, a server that exits while starting is started again on new ones.
  const retryable = options.port === undefined && !(options.ui && options.uiPort !== undefined);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (!(err instanceof ExitedWhileStarting) || !retryable || attempt >= START_ATTEMPTS) throw err;
      console.error(`veda: ${err.message.split('\n')[0]!.replace(/:$/, '')}; starting it again (attempt ${attempt + 1} of ${START_ATTEMPTS})`);
    }
  }
}

async function startOnce(options: LocalTemporalOptions): Promise<LocalTemporal> {
  const executable = findTemporalCli(options.cliPath);
  const namespace = options.namespace ?? 'default';
  const ip = options.ip ?? '127.0.0.1';
  if (options.port !== undefined) await assertPortFree(ip, options.port, 'Temporal frontend');
  if (options.ui && options.uiPort !== undefined) await assertPortFree(ip, options.uiPort, 'Web UI');
  const port = options.port ?? (await freePort(ip));
  const uiPort = options.ui ? (options.uiPort ?? (await freePort(ip))) : undefined;
  const logFile = options.logFile ?? path.join(await mkdtemp(path.join(os.tmpdir(), 'veda-temporal-')), 'server.log');
  const args = [
    'server', 'start-dev',
    '--ip', ip,
    '--port', String(port),
    '--namespace', namespace,
    '--log-level', 'warn',
    ...(uiPort ? ['--ui-port', String(uiPort)] : ['--headless']),
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
    ...VEDA_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
  ];
  const log = openSync(logFile, 'a');
  const child = spawn(executable, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  const running = () => child.exitCode === null && child.signalCode === null;
  const kill = () => {
    if (running()) child.kill('SIGKILL');
  };
  // However this process ends (an uncaught error, process.exit), its server does not outlive it.
  process.on('exit', kill);
  const stop = async () => {
    if (running()) child.kill('SIGTERM');
    await Promise.race([exited(child), sleep(10_000, undefined, { ref: false }).then(kill)]);
    await exited(child);
    process.off('exit', kill);
  };

  const address = `${ip}:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  let nativeConnection: NativeConnection | undefined;
  while (!nativeConnection) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.off('exit', kill);
      throw new ExitedWhileStarting(`the Temporal dev server (${executable}) exited while starting:\n${logTail(logFile)}`);
    }
    try {
      nativeConnection = await NativeConnection.connect({ address });
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new SetupError(`the Temporal dev server did not answer on ${address} within ${START_TIMEOUT_MS / 1000} s:\n${logTail(logFile)}`, {
          cause: err,
        });
      }
      await sleep(100);
    }
  }
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  // The namespace and search attributes exist once the server lists them.
  for (;;) {
    try {
      const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
      if (VEDA_SEARCH_ATTRIBUTES.every((k) => customAttributes?.[k.name] !== undefined)) break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new SetupError(`the Temporal dev server on ${address} never became ready:\n${logTail(logFile)}`, { cause: err });
      }
    }
    await sleep(100);
  }
  return {
    address,
    namespace,
    uiUrl: uiPort ? `http://${ip}:${uiPort}` : undefined,
    logFile,
    client,
    nativeConnection,
    async shutdown() {
      await connection.close();
      await nativeConnection.close();
      await stop();
    },
    kill,
  };
}
