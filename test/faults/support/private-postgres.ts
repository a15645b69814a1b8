/**
 * A PostgreSQL cluster of the fault suite's own (initdb + pg_ctl in a temp dir, on a free loopback port), so it can
 * be stopped and restarted under a running worker without touching the server on 5432 that other tests share.
 * Run as the `postgres` OS user when the tests run as root (initdb refuses root).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian puts PostgreSQL's programs, newest version first (PG_BIN overrides). */
const PG_BIN =
  process.env.PG_BIN ??
  (() => {
    const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
    const newest = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))[0] ?? '15';
    return `/usr/lib/postgresql/${newest}/bin`;
  })();

export interface PrivatePostgres {
  /** postgres:// URL of the `postgres` database of the cluster. */
  url: string;
  port: number;
  /** Stops the server with a fast shutdown (every client gets 57P01), waits `downMs`, starts it again. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function postgresUser(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  if (!existsSync(path.join(PG_BIN, 'initdb'))) throw new Error(`no initdb in ${PG_BIN}: install Debian's postgresql (or set PG_BIN)`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'veda-faults-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const owner = await postgresUser();
  if (owner) await chown(dir, owner.uid, owner.gid);
  const asOwner = (tool: string, args: string[]) =>
    owner ? run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, tool), ...args]) : run(path.join(PG_BIN, tool), args);

  await asOwner('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  // fsync off: this cluster is thrown away; -k: its socket stays in the temp dir, not /var/run/postgresql.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = () => asOwner('pg_ctl', ['-D', data, '-o', options, '-l', logFile, '-w', '-t', '60', 'start']);
  const stopServer = (mode: 'fast' | 'immediate') => asOwner('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  await start();

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async restart(downMs = 3000) {
      await stopServer('fast');
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async stop() {
      await stopServer('immediate').catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
