import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import { catalogDir, claimCatalogDir, type CatalogDirClaim } from './data-dir-lock.js';
import { migrate } from './migrations.js';
import { createPGliteClient, openPGlite } from './pglite-client.js';
import { PGliteSession } from './pglite-session.js';

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
  /**
   * Claim the data directory now but tell other processes the URL only on `announce()`; commands started meanwhile
   * wait for it (`veda dev` announces once its Temporal server and worker are up too).
   */
  announceLater?: boolean;
  /**
   * The data directory's claim, taken earlier by the caller (claimCatalogDir with `serves: true`), which this
   * server then owns; without it, the server claims the directory itself. `veda dev` claims first and serves once
   * its Temporal server has bound its ports (the catalog's own port, the OS's pick, must not take one of them).
   */
  claim?: CatalogDirClaim;
}

export interface EmbeddedCatalogServer {
  /** postgres:// URL for openCatalog({ databaseUrl }) in this or any other process. */
  url: string;
  /** Tells other processes on the machine the URL (with `announceLater`; otherwise done already). */
  announce(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Serves the embedded catalog (PGlite) over the PostgreSQL wire protocol so a long-running process (`veda dev`)
 * owns the data directory while CLI commands and workers reach it through `pg`. openCatalog({ dataDir }) finds
 * the URL by itself through the directory's owner file (data-dir-lock.ts).
 *
 * PGlite is one session: pglite-socket's handler reads each connection's wire-protocol messages, and PGliteSession
 * gives the session to one connection at a time for whole query cycles and transactions (see pglite-session.ts
 * for why pglite-socket's own server is not used), so pg Pools of any size in any number of processes work.
 * Every process, this one included, should use the URL rather than the PGlite instance: a direct query could
 * land inside a socket client's open transaction.
 */
export async function serveEmbeddedCatalog(options: EmbeddedCatalogOptions = {}): Promise<EmbeddedCatalogServer> {
  const { dataDir, host = '127.0.0.1', port = 0, maxConnections = 64, announceLater = false } = options;
  const claim: CatalogDirClaim | null = options.claim ?? (dataDir === undefined ? null : await claimCatalogDir(dataDir, { serves: true }));
  let db: PGlite | undefined;
  let server: WireServer | undefined;
  try {
    db = await openPGlite(dataDir === undefined ? undefined : catalogDir(dataDir));
    await migrate(createPGliteClient(db, { ownsDb: false }));
    server = await listen(db, host, port, maxConnections);
  } catch (err) {
    await db?.close();
    await claim?.release();
    throw err;
  }
  const url = `postgres://postgres@${server.address}/postgres`;
  let announced: Promise<void> | undefined;
  const announce = () => (announced ??= claim?.announce(url) ?? Promise.resolve());
  if (!announceLater) await announce();

  const [pglite, wire] = [db, server];
  let closed: Promise<void> | undefined;
  return {
    url,
    announce,
    close() {
      closed ??= (async () => {
        await wire.stop();
        await pglite.close();
        await claim?.release();
      })();
      return closed;
    },
  };
}

interface WireServer {
  /** host:port */
  address: string;
  /** Refuses new connections, closes open ones (rolling back their transactions) and stops listening. */
  stop(): Promise<void>;
}

async function listen(db: PGlite, host: string, port: number, maxConnections: number): Promise<WireServer> {
  const session = new PGliteSession(db);
  // PGLiteSocketHandler is typed with pglite-socket's own (unexported) queue class; PGliteSession has its interface.
  const queryQueue = session as unknown as ConstructorParameters<typeof PGLiteSocketHandler>[0]['queryQueue'];
  const handlers = new Set<PGLiteSocketHandler>();
  let stopping = false;
  const server = net.createServer((socket) => {
    if (stopping || handlers.size >= maxConnections) {
      socket.end(tooManyConnections(stopping ? 'the embedded catalog is shutting down' : `the embedded catalog serves at most ${maxConnections} connections`));
      return;
    }
    const handler = new PGLiteSocketHandler({ queryQueue, closeOnDetach: true });
    handlers.add(handler);
    const forget = () => handlers.delete(handler);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    handler.attach(socket).catch(() => socket.destroy());
  });
  // A socket-level error after listening must not crash the process that owns the catalog.
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as net.AddressInfo;
  return {
    address: `${host}:${bound}`,
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...handlers].map((handler) => handler.detach(true)));
      handlers.clear();
      await closed;
    },
  };
}

/** A FATAL ErrorResponse (SQLSTATE 53300) that pg reports as the connection error. */
function tooManyConnections(message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C53300\0M${message}\0\0`, 'utf8');
  const header = Buffer.alloc(5);
  header.write('E', 0, 'latin1');
  header.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([header, fields]);
}
