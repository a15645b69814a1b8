/**
 * The few things the catalog needs from a SQL database, so its SQL lives in one place (sql-catalog.ts) and runs
 * unchanged on PostgreSQL through `pg` and on the embedded PGlite.
 *
 * Portability rules the catalog's SQL follows, because the two drivers serialize parameters differently:
 * every parameter is cast in SQL (`$1::text`, `$2::int`), and JSON travels as text (`$1::text::jsonb`), never as
 * a JS object or array parameter.
 */
export interface SqlQueryable {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export interface SqlClient extends SqlQueryable {
  /** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<R>(fn: (tx: SqlQueryable) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

/** The SQLSTATE of a database error (both drivers set `code`), or undefined for any other error. */
export function sqlErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export const FOREIGN_KEY_VIOLATION = '23503';
