import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { SqlClient, SqlQueryable } from './sql-client.js';

export interface PgClientOptions {
  /** Pool size (default 10). Any size works through the embedded server (see embedded-server.ts). */
  maxConnections?: number;
  /** How long to keep retrying to reach an unreachable server before a query fails (default 60 s). */
  reconnectForMs?: number;
  /** A statement that runs longer fails (default 120 s): a server that stops answering never hangs a caller. */
  queryTimeoutMs?: number;
  /** Where lost connections and reconnect attempts are reported (default: one line on stderr each). */
  log?: (line: string) => void;
}

/**
 * SQLSTATE classes and socket errors that mean "the connection, not the statement, failed": the server is
 * restarting (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now), a connection exception (08xxx),
 * or the network refused / reset / timed out. Such a failure is retried; any other error is the caller's.
 */
const CONNECTION_SQLSTATES = /^(08|57P0[1-3])/;
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (CONNECTION_SQLSTATES.test(code) || CONNECTION_ERRNOS.has(code))) return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${code} ${message}` : message;
}

/**
 * A SqlClient over a `pg` Pool: PostgreSQL, or the embedded catalog served by serveEmbeddedCatalog.
 *
 * It outlives the server's restarts: a connection that dies, idle in the pool or checked out between two statements
 * of a transaction, emits 'error', which would crash the process without a listener; here it is logged and the
 * connection discarded. Acquiring a connection is retried with backoff while the server is unreachable (no statement
 * was sent, so retrying is always safe). A statement whose connection drops while it runs fails with the driver's
 * error: its outcome is unknown, so the caller (an idempotent activity, retried by Temporal) decides.
 */
export function createPgClient(databaseUrl: string, options: PgClientOptions = {}): SqlClient {
  const log = options.log ?? ((line: string) => console.error(line));
  const reconnectForMs = options.reconnectForMs ?? 60_000;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 10_000,
    query_timeout: options.queryTimeoutMs ?? 120_000,
    keepAlive: true,
  });
  const where = safeAddress(databaseUrl);
  pool.on('error', (err) => log(`veda catalog: lost an idle connection to ${where} (${describe(err)}); the next query reconnects`));
  const onCheckedOutError = (err: Error) => log(`veda catalog: lost a connection to ${where} (${describe(err)})`);

  /** A pooled connection, retried with backoff (0.1 s doubling to 5 s) for up to reconnectForMs. */
  async function connect(): Promise<pg.PoolClient> {
    const deadline = Date.now() + reconnectForMs;
    for (let attempt = 1, delay = 100; ; attempt++, delay = Math.min(delay * 2, 5_000)) {
      try {
        const connection = await pool.connect();
        connection.on('error', onCheckedOutError);
        if (attempt > 1) log(`veda catalog: reconnected to ${where} after ${attempt} attempts`);
        return connection;
      } catch (err) {
        if (!isConnectionError(err) || Date.now() + delay > deadline) throw err;
        if (attempt === 1 || attempt % 5 === 0) log(`veda catalog: cannot reach ${where} (${describe(err)}); retrying`);
        await sleep(delay);
      }
    }
  }

  function release(connection: pg.PoolClient, err?: unknown): void {
    connection.removeListener('error', onCheckedOutError);
    // A connection that failed is in an unknown state: destroy it rather than return it to the pool.
    connection.release(err === undefined ? undefined : err instanceof Error ? err : new Error(String(err)));
  }

  const queryOn = (connection: pg.PoolClient): SqlQueryable => ({
    async query<T>(sql: string, params: unknown[] = []) {
      const result = await connection.query(sql, params);
      return { rows: result.rows as T[] };
    },
  });

  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const connection = await connect();
      try {
        const result = await queryOn(connection).query<T>(sql, params);
        release(connection);
        return result;
      } catch (err) {
        // As pg's own pool.query does: after any failure (a timed-out statement may still run) start afresh.
        release(connection, err);
        throw err;
      }
    },

    async transaction<R>(fn: (tx: SqlQueryable) => Promise<R>): Promise<R> {
      const connection = await connect();
      const tx = queryOn(connection);
      try {
        await tx.query('begin');
        const value = await fn(tx);
        await tx.query('commit');
        release(connection);
        return value;
      } catch (err) {
        const rollbackError = await tx.query('rollback').then(
          () => undefined,
          (e: unknown) => e,
        );
        release(connection, rollbackError);
        throw err;
      }
    },

    async close() {
      await pool.end();
    },
  };
}

/** host:port/database of a URL, without credentials, for log lines. */
function safeAddress(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}:${url.port || 5432}${url.pathname}`;
  } catch {
    return 'the catalog database';
  }
}
