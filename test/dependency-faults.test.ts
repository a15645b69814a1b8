/**
 * Dependencies that fail under a running process: PostgreSQL drops its connections (what a restart or failover
 * does to every client), an HTTP image server stops answering, a Temporal dev server dies while starting. The process
 * lives on and the failure is a retryable error (or retried), never a crash or a stuck read.
 */
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import os from 'node:os';
import nodePath from 'node:path';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgClient, isConnectionError } from '../domain/catalog/pg-client.js';
import type { SqlClient } from '../domain/catalog/sql-client.js';
import { isVedaError } from '../domain/errors.js';
import { HttpRangeSource, RemoteReadError } from '../domain/imagery/http-range-source.js';
import { findTemporalCli } from '../temporal/cli-binary.js';
import { startLocalTemporal } from '../temporal/local-server.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

describe('a catalog connection that the server terminates', () => {
  let database: TestDatabase;
  let client: SqlClient;
  const logged: string[] = [];
  let crashes = 0;
  const onCrash = () => crashes++;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = createPgClient(database.url, { log: (line) => logged.push(line) });
    process.on('uncaughtException', onCrash);
  });
  afterAll(async () => {
    process.off('uncaughtException', onCrash);
    await client?.close();
    await database?.drop();
  });

  /** What a restart does: every backend of the test database gets 57P01 (terminating connection). */
  async function terminateBackends(): Promise<number> {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: string }>(
        `select count(pg_terminate_backend(pid)) as n from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid()`,
      );
      return Number(rows[0]!.n);
    } finally {
      await admin.end();
    }
  }

  it('an idle pooled connection that dies is logged, and the next query reconnects', async () => {
    await client.query('select 1');
    expect(await terminateBackends()).toBeGreaterThan(0);
    await sleep(200); // let the 'error' events arrive
    expect((await client.query<{ n: number }>('select 2 as n')).rows).toEqual([{ n: 2 }]);
    expect(logged.some((line) => line.includes('57P01'))).toBe(true);
    expect(crashes).toBe(0);
  });

  it('a connection killed inside a transaction fails that transaction retryably, and does not crash', async () => {
    const inTransaction = client.transaction(async (tx) => {
      await tx.query('select 1');
      await terminateBackends(); // the connection dies between two statements, while checked out
      await sleep(200);
      await tx.query('select 2');
    });
    const err = await inTransaction.catch((e: unknown) => e);
    expect(isConnectionError(err)).toBe(true);
    expect(isVedaError(err)).toBe(false);
    expect((await client.query<{ n: number }>('select 3 as n')).rows).toEqual([{ n: 3 }]);
    expect(crashes).toBe(0);
  });

  it('a server that is down is retried with backoff, then fails with the driver error', async () => {
    const unreachable = createPgClient('postgres://postgres@127.0.0.1:1/none', { reconnectForMs: 1500, log: (l) => logged.push(l) });
    const started = Date.now();
    const err = await unreachable.query('select 1').catch((e: unknown) => e);
    expect(isConnectionError(err)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700); // several attempts, not one
    expect(logged.some((line) => line.includes('cannot reach 127.0.0.1:1'))).toBe(true);
    await unreachable.close();
  });
});

describe('an HTTP image server that stops answering', () => {
  let server: Server;
  let base: string;
  const open = new Set<ServerResponse>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      open.add(res);
      if (req.url === '/headers-then-silence') {
        res.writeHead(206, { 'content-length': 65536, 'content-range': 'bytes 0-65535/1000000' });
        res.write(Buffer.alloc(100)); // then nothing: a stalled body
      }
      // '/silent': never answers at all
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const res of open) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  for (const path of ['/silent', '/headers-then-silence']) {
    it(`${path}: a read times out as a retryable RemoteReadError naming the URL`, async () => {
      const source = new HttpRangeSource(`${base}${path}`, 500);
      const started = Date.now();
      const err = await source.fetchSlice({ offset: 0, length: 1024 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteReadError);
      expect(isVedaError(err)).toBe(false);
      expect((err as Error).message).toContain(`${base}${path}`);
      expect((err as Error).message).toContain('no answer within 0.5 s');
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  }
});

describe('a Temporal dev server that dies while starting', () => {
  /** A `temporal` that panics on its first `times` starts (as a port taken between veda's pick and the bind makes it do), then is the real one. */
  async function flakyCli(times: number): Promise<{ path: string; starts: () => Promise<number> }> {
    const dir = await mkdtemp(nodePath.join(os.tmpdir(), 'veda-flaky-cli-'));
    const counter = nodePath.join(dir, 'starts');
    await writeFile(counter, '');
    const script = nodePath.join(dir, 'temporal');
    await writeFile(
      script,
      `#!/usr/bin/env bash\necho >> '${counter}'\nif [ "$(wc -l < '${counter}')" -le ${times} ]; then\n` +
        `  echo 'panic: listen tcp 127.0.0.1:1: bind: address already in use' >&2\n  for i in $(seq 30); do echo "  stack frame $i" >&2; done\n  exit 2\nfi\n` +
        `exec '${findTemporalCli()}' "$@"\n`,
    );
    await chmod(script, 0o755);
    return { path: script, starts: async () => (await readFile(counter, 'utf8')).split('\n').length - 1 };
  }

  it('on ports veda picked, it is started again and answers', async () => {
    const cli = await flakyCli(1);
    const temporal = await startLocalTemporal({ cliPath: cli.path });
    try {
      expect(await cli.starts()).toBe(2);
      await temporal.client.connection.workflowService.getSystemInfo({});
    } finally {
      await temporal.shutdown();
    }
  }, 90_000);

  it('when it keeps dying, the error shows where it panicked, not only the end of its stack', async () => {
    const cli = await flakyCli(99);
    const err = await startLocalTemporal({ cliPath: cli.path }).then(
      () => expect.fail('it started'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain('exited while starting');
    expect(err.message).toContain('panic: listen tcp 127.0.0.1:1: bind: address already in use');
    expect(await cli.starts()).toBe(3);
  });
});
