import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { catalogDir, claimCatalogDir, type CatalogDirClaim } from './data-dir-lock.js';
import { migrate } from './migrations.js';
import { createPGliteClient, openPGlite } from './pglite-client.js';

export interface EmbeddedCatalogOptions {
  /** The catalog lives in `<dataDir>/catalog`; in memory when omitted (tests). */
  dataDir?: string;
  /** Default 127.0.0.1: the server has no authentication, keep it off public interfaces. */
  host?: string;
  /** Default 0: the OS picks a free port, read it from `url`. */
  port?: number;
  /**
   * Connections served at once (default 64); one more is refused. Size it for every client's pool together
   * (pg's default pool is 10 per process).
   */
  maxConnections?: number;
}

export interface EmbeddedCatalogServer {
  /** postgres:// URL for openCatalog({ databaseUrl }) in this or any other process. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the embedded catalog (PGlite) over the PostgreSQL wire protocol so a long-running process (`veda dev`)
 * owns the data directory while CLI commands and workers reach it through `pg`. openCatalog({ dataDir }) finds
 * the URL by itself through the directory's owner file (data-dir-lock.ts).
 *
 * PGlite runs one query at a time; pglite-socket multiplexes connections onto it, keeping a connection's
 * transaction (and each extended-protocol query) together, so a pg Pool of any size works (tested).
 * Every process, this one included, should use the URL rather than the PGlite instance: a direct query could
 * land inside a socket client's open transaction.
 */
export async function serveEmbeddedCatalog(options: EmbeddedCatalogOptions = {}): Promise<EmbeddedCatalogServer> {
  const { dataDir, host = '127.0.0.1', port = 0, maxConnections = 64 } = options;
  const claim: CatalogDirClaim | null = dataDir === undefined ? null : await claimCatalogDir(dataDir);
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    db = await openPGlite(dataDir === undefined ? undefined : catalogDir(dataDir));
    await migrate(createPGliteClient(db, { ownsDb: false }));
    server = new PGLiteSocketServer({ db, host, port, maxConnections });
    await server.start();
  } catch (err) {
    await db?.close();
    await claim?.release();
    throw err;
  }
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  await claim?.announce(url);

  const [pglite, socketServer] = [db, server];
  let closed: Promise<void> | undefined;
  return {
    url,
    close() {
      closed ??= (async () => {
        await socketServer.stop();
        await pglite.close();
        await claim?.release();
      })();
      return closed;
    },
  };
}
