import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SetupError } from '../errors.js';
import { isProcessAlive } from '../processes.js';

/**
 * PGlite is one process's database: two processes opening the same directory would corrupt it. The process
 * that opens `<dataDir>/catalog` claims it with `<dataDir>/catalog.owner.json`, naming its pid and, when it
 * serves the catalog (serveEmbeddedCatalog), the postgres:// URL other processes should use instead.
 */
export interface CatalogDirOwner {
  pid: number;
  /** Where the owner serves the catalog, or null when it keeps it to itself. */
  url: string | null;
}

export const catalogDir = (dataDir: string): string => join(dataDir, 'catalog');
const ownerFile = (dataDir: string): string => join(dataDir, 'catalog.owner.json');

/** The live process that holds the data directory's catalog, or null (a claim left by a dead process is ignored). */
export async function readCatalogDirOwner(dataDir: string): Promise<CatalogDirOwner | null> {
  let text: string;
  try {
    text = await readFile(ownerFile(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let owner: CatalogDirOwner;
  try {
    owner = JSON.parse(text) as CatalogDirOwner;
  } catch {
    return null; // not a claim this code wrote
  }
  return Number.isInteger(owner.pid) && isProcessAlive(owner.pid) ? owner : null;
}

export interface CatalogDirClaim {
  /** Tells other processes where this one serves the catalog. */
  announce(url: string): Promise<void>;
  release(): Promise<void>;
}

/**
 * Claims the data directory's catalog for this process (creating the directory). Throws SetupError when a live
 * process holds it; a stale claim (its process is gone) is replaced.
 */
export async function claimCatalogDir(dataDir: string): Promise<CatalogDirClaim> {
  await mkdir(dataDir, { recursive: true });
  const path = ownerFile(dataDir);
  const write = (url: string | null) => JSON.stringify({ pid: process.pid, url } satisfies CatalogDirOwner);
  for (let attempt = 0; attempt < 2; attempt++) {
    // Written aside, then hard-linked into place: the link appears atomically with its content, or fails.
    const pending = `${path}.${process.pid}`;
    await writeFile(pending, write(null));
    try {
      await link(pending, path);
      return {
        async announce(url) {
          const next = `${path}.${process.pid}.next`;
          await writeFile(next, write(url));
          await rename(next, path); // readers see the old claim or the new one, never half of one
        },
        release: () => rm(path, { force: true }),
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await readCatalogDirOwner(dataDir);
      if (owner) {
        throw new SetupError(
          `the catalog in ${catalogDir(dataDir)} is in use: process ${owner.pid} ` +
            (owner.url
              ? `serves it at ${owner.url}`
              : 'has it open, and an embedded catalog a process opens (as `veda worker` does) is its alone: run `veda dev` ' +
                'instead, which serves it to other commands (with TEMPORAL_ADDRESS set, on that Temporal server), or keep ' +
                'the catalog in PostgreSQL (DATABASE_URL)'),
        );
      }
      await rm(path, { force: true });
    } finally {
      await rm(pending, { force: true });
    }
  }
  throw new SetupError(`could not claim the catalog in ${catalogDir(dataDir)}: ${path} keeps reappearing`);
}
