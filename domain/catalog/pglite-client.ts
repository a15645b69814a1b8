import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlQueryable } from './sql-client.js';

/**
 * Opens PGlite (in-process PostgreSQL) on a data directory, created when missing, or in memory without one.
 * Only one process may open a directory at a time: other processes reach it through serveEmbeddedCatalog.
 */
export async function openPGlite(dataDir?: string): Promise<PGlite> {
  if (dataDir === undefined) return PGlite.create();
  await mkdir(dataDir, { recursive: true });
  return PGlite.create(dataDir);
}

/** A SqlClient over a PGlite instance; `close` closes the instance unless `ownsDb` is false. */
export function createPGliteClient(db: PGlite, { ownsDb = true }: { ownsDb?: boolean } = {}): SqlClient {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const result = await db.query<T>(sql, params);
      return { rows: result.rows };
    },

    async transaction<R>(fn: (tx: SqlQueryable) => Promise<R>): Promise<R> {
      return db.transaction((tx) =>
        fn({
          async query<T>(sql: string, params: unknown[] = []) {
            const result = await tx.query<T>(sql, params);
            return { rows: result.rows };
          },
        }),
      );
    },

    async close() {
      if (ownsDb && !db.closed) await db.close();
    },
  };
}
