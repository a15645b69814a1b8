import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL server integration tests use: 127.0.0.1:5432, user postgres, trust authentication.
 * VEDA_TEST_POSTGRES_URL points elsewhere (any database on the server; it is only used to create and drop).
 */
const ADMIN_URL = process.env.VEDA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** postgres:// URL of a fresh, empty database. */
  url: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates `veda_test_<random>` so test files never share state, even when run concurrently. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `veda_test_${randomBytes(6).toString('hex')}`;
  await asAdmin(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => asAdmin(`drop database if exists ${name} with (force)`),
  };
}
