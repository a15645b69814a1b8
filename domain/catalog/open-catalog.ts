import { catalogDir, joinOrClaimCatalogDir } from './data-dir-lock.js';
import { createPgClient } from './pg-client.js';
import type { SqlClient } from './sql-client.js';
import { SqlCatalog } from './sql-catalog.js';
import type { Catalog } from './types.js';

export interface CatalogOptions {
  /** postgres:// URL of PostgreSQL (or of serveEmbeddedCatalog); wins over dataDir. */
  databaseUrl?: string;
  /** Embedded catalog in `<dataDir>/catalog`; in memory when neither option is given. */
  dataDir?: string;
}

/**
 * Opens the catalog, migrating its schema: PostgreSQL through `pg` when a URL is given; else the embedded PGlite
 * in `<dataDir>/catalog`, reached through the URL of the process serving it when one does (serveEmbeddedCatalog;
 * while that process starts, this waits for its URL), opened in this process otherwise (SetupError when another
 * process has it open unserved); else in memory.
 */
export async function openCatalog(options: CatalogOptions = {}): Promise<Catalog> {
  const { databaseUrl, dataDir } = options;
  if (databaseUrl) return SqlCatalog.open(createPgClient(databaseUrl));
  // PGlite (WASM PostgreSQL) loads only for the embedded catalog.
  const { createPGliteClient, openPGlite } = await import('./pglite-client.js');
  if (dataDir === undefined) return SqlCatalog.open(createPGliteClient(await openPGlite()));

  const access = await joinOrClaimCatalogDir(dataDir);
  if ('url' in access) return SqlCatalog.open(createPgClient(access.url));

  const { claim } = access;
  let client: SqlClient;
  try {
    client = createPGliteClient(await openPGlite(catalogDir(dataDir)));
  } catch (err) {
    await claim.release();
    throw err;
  }
  // Release the directory once the catalog is closed.
  return SqlCatalog.open({
    ...client,
    async close() {
      await client.close();
      await claim.release();
    },
  });
}
