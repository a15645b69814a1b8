import type { SqlClient } from './sql-client.js';

/**
 * The catalog schema as numbered migrations. Append new ones, never edit an applied one: `veda_migrations`
 * records which versions a database has, and `migrate` applies the rest on every open.
 * Each migration is a list of single statements (PGlite's `query` runs one statement at a time).
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'datasets, datapoints and run numbers',
    statements: [
      `create table datasets (
        id text primary key,
        name text not null,
        ml_type text not null,
        tile_w integer not null,
        tile_h integer not null,
        classes jsonb not null,
        user_id text not null,
        public boolean not null default false,
        -- WGS84 bounds of every posted window, all four null until the first datapoint is posted
        min_lon double precision,
        min_lat double precision,
        max_lon double precision,
        max_lat double precision,
        shape jsonb,
        dtype text,
        sensors jsonb not null default '[]',
        sources jsonb not null default '[]',
        ingests jsonb not null default '[]',
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        constraint datasets_bbox_all_or_none check (
          (min_lon is null) = (min_lat is null) and (min_lat is null) = (max_lon is null)
          and (max_lon is null) = (max_lat is null)
        )
      )`,
      // searchDatasets: by owner, the public ones, bbox intersection (the expression must match the query's)
      `create index datasets_user_idx on datasets (user_id, created_at desc)`,
      `create index datasets_public_idx on datasets (created_at desc) where public`,
      `create index datasets_bbox_idx on datasets using gist (box(point(min_lon, min_lat), point(max_lon, max_lat)))`,
      `create table datapoints (
        dataset_id text not null references datasets (id) on delete cascade,
        id text not null,
        -- posting order: listDatapoints pages by it, so pages are stable while more points are posted
        seq bigserial not null,
        grp text not null,
        source text not null,
        x integer not null,
        y integer not null,
        w integer not null,
        h integer not null,
        label jsonb not null,
        chip_key text,
        primary key (dataset_id, id)
      )`,
      `create index datapoints_order_idx on datapoints (dataset_id, seq)`,
      `create index datapoints_group_order_idx on datapoints (dataset_id, grp, seq)`,
      `create index datapoints_uncached_idx on datapoints (dataset_id, seq) where chip_key is null`,
      `create table run_numbers (
        dataset_id text not null references datasets (id) on delete cascade,
        kind text not null,
        n integer not null,
        primary key (dataset_id, kind)
      )`,
    ],
  },
  {
    version: 2,
    name: 'datapoints remember the ingest run that posted them',
    statements: [
      // Null for fed datapoints; an ingest that fails removes the datapoints it posted (removeIngestRun).
      `alter table datapoints add column ingest_run text`,
      `create index datapoints_ingest_run_idx on datapoints (dataset_id, ingest_run) where ingest_run is not null`,
    ],
  },
  {
    version: 3,
    name: 'API tokens of the HTTP service',
    statements: [
      // Only a token's sha256 is kept: the token itself is shown once, when it is created.
      `create table api_tokens (
        id text primary key,
        user_id text not null,
        name text,
        hash text not null unique,
        created_at timestamptz not null default now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`,
      `create index api_tokens_user_idx on api_tokens (user_id, created_at)`,
    ],
  },
  {
    version: 4,
    name: 'labels compressed with lz4 where the server has it',
    statements: [
      // A segmentation label is 10-20 KB of JSON, compressed as it is stored (TOAST). pglz took 0.32 s of the
      // server's CPU per 1000 labels of the bench's scene, on the same cores as the worker; lz4 0.10 s, for 20% more
      // bytes. Servers built without lz4 (PGlite among them) keep pglz. Labels stored before stay as they are.
      `do $$ begin
        alter table datapoints alter column label set compression lz4;
      exception when feature_not_supported then null;
      end $$`,
    ],
  },
];

/** Any constant unlikely to collide with other users of advisory locks on a shared database. */
const MIGRATION_LOCK_KEY = 0x7665_6461; // "veda"

/**
 * Brings the schema up to date in one transaction. The transaction-scoped advisory lock makes processes that
 * open the same database at once take turns: the second sees the first's committed migrations and applies none.
 * DDL is transactional in PostgreSQL, so a failed migration leaves nothing half-applied.
 */
export async function migrate(client: SqlClient, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  return client.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.query(`create table if not exists veda_migrations (
      version integer primary key,
      name text not null,
      applied_at timestamptz not null default now()
    )`);
    const { rows } = await tx.query<{ version: number }>('select version from veda_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const newlyApplied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('insert into veda_migrations (version, name) values ($1::int, $2::text)', [
        migration.version,
        migration.name,
      ]);
      newlyApplied.push(migration.version);
    }
    return newlyApplied;
  });
}
