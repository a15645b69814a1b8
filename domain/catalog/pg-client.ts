import pg from 'pg';
import type { SqlClient, SqlQueryable } from './sql-client.js';

export interface PgClientOptions {
  /** Pool size (default 10). Any size works through the embedded server (see embedded-server.ts). */
  maxConnections?: number;
}

/** A SqlClient over a `pg` Pool: PostgreSQL, or the embedded catalog served by serveEmbeddedCatalog. */
export function createPgClient(databaseUrl: string, options: PgClientOptions = {}): SqlClient {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.maxConnections ?? 10 });
  // An idle connection that dies (server restart) emits 'error' on the pool; unhandled, that would crash the
  // process. The pool drops the connection and the next query opens a new one, so there is nothing else to do.
  pool.on('error', () => {});

  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const result = await pool.query(sql, params);
      return { rows: result.rows as T[] };
    },

    async transaction<R>(fn: (tx: SqlQueryable) => Promise<R>): Promise<R> {
      const connection = await pool.connect();
      const tx: SqlQueryable = {
        async query<T>(sql: string, params: unknown[] = []) {
          const result = await connection.query(sql, params);
          return { rows: result.rows as T[] };
        },
      };
      try {
        await connection.query('begin');
        const value = await fn(tx);
        await connection.query('commit');
        connection.release();
        return value;
      } catch (err) {
        // A connection whose rollback fails is in an unknown state: destroy it rather than return it to the pool.
        const rollbackError = await connection.query('rollback').then(
          () => undefined,
          (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
        );
        connection.release(rollbackError);
        throw err;
      }
    },

    async close() {
      await pool.end();
    },
  };
}
