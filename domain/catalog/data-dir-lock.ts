import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SetupError } from '../errors.js';
import { isProcessAlive } from '../processes.js';

/**
 * PGlite is one process's database: two processes opening the same directory would corrupt it. The process
 * that opens `<dataDir>/catalog` claims it with `<dataDir>/catalog.owner.json`, naming its pid and, when it
 * serves the catalog (serveEmbeddedCatalog), the postgres:// URL other processes should use instead.
 */
export interface CatalogDirOwner {
  pid: number;
  /** Where the owner serves the catalog, or null when it keeps it to itself or has not started serving yet. */
  url: string | null;
  /**
   * The owner will serve the catalog (`veda dev`): until its URL appears it is starting, and other processes
   * wait for the URL instead of being refused. Absent in claims written before this field existed.
   */
  serves?: boolean;
}

export const catalogDir = (dataDir: string): string => join(dataDir, 'catalog');
const ownerFile = (dataDir: string): string => join(dataDir, 'catalog.owner.json');

/** How long a process waits for a starting `veda dev` to announce where it serves the catalog. */
const SERVER_START_WAIT_MS = 60_000;
const POLL_MS = 100;

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

export interface ClaimOptions {
  /** This process will serve the catalog and announce its URL: others wait for it rather than being refused. */
  serves?: boolean;
}

/**
 * Claims the data directory's catalog for this process (creating the directory). Throws SetupError when a live
 * process holds it; a stale claim (its process is gone) is replaced.
 */
export async function claimCatalogDir(dataDir: string, options: ClaimOptions = {}): Promise<CatalogDirClaim> {
  const got = await tryClaim(dataDir, options.serves ?? false);
  if (isOwner(got)) throw inUse(dataDir, got);
  return got;
}

/** What a process that wants the catalog gets: the URL of the process serving it, or the catalog to itself. */
export type CatalogDirAccess = { url: string } | { claim: CatalogDirClaim };

/**
 * Joins the process that serves the data directory's catalog, waiting (up to `waitMs`) while it starts, or claims
 * the catalog when no live process holds it. Throws SetupError when a process holds it without serving it, or a
 * starting server does not announce its URL in time.
 */
export async function joinOrClaimCatalogDir(dataDir: string, waitMs = SERVER_START_WAIT_MS): Promise<CatalogDirAccess> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const got = (await readCatalogDirOwner(dataDir)) ?? (await tryClaim(dataDir, false));
    if (!isOwner(got)) return { claim: got };
    if (got.url) return { url: got.url };
    if (!got.serves) throw inUse(dataDir, got);
    if (Date.now() >= deadline) {
      throw new SetupError(
        `the catalog in ${catalogDir(dataDir)} is claimed by process ${got.pid}, which is starting to serve it ` +
          `(\`veda dev\`) but has not said where after ${Math.round(waitMs / 1000)} s: see that process's output, ` +
          'or stop it and start `veda dev` again',
      );
    }
    await sleep(POLL_MS);
  }
}

const isOwner = (got: CatalogDirClaim | CatalogDirOwner): got is CatalogDirOwner => 'pid' in got;

/** Claims the catalog for this process, or returns the live process that holds it. */
async function tryClaim(dataDir: string, serves: boolean): Promise<CatalogDirClaim | CatalogDirOwner> {
  await mkdir(dataDir, { recursive: true });
  const path = ownerFile(dataDir);
  const write = (url: string | null) => JSON.stringify({ pid: process.pid, url, serves } satisfies CatalogDirOwner);
  for (let attempt = 0; attempt < 2; attempt++) {
    // Written aside, then hard-linked into place: the link appears atomically with its content, or fails.
    const pending = `${path}.${process.pid}`;
    await writeFile(pending, write(null));
    try {
      await link(pending, path);
      let released: Promise<void> | undefined;
      return {
        async announce(url) {
          const next = `${path}.${process.pid}.next`;
          await writeFile(next, write(url));
          await rename(next, path); // readers see the old claim or the new one, never half of one
        },
        // Once: a second release could remove the claim another process has taken since.
        release: () => (released ??= rm(path, { force: true })),
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await readCatalogDirOwner(dataDir);
      if (owner) return owner;
      await rm(path, { force: true });
    } finally {
      await rm(pending, { force: true });
    }
  }
  throw new SetupError(`could not claim the catalog in ${catalogDir(dataDir)}: ${path} keeps reappearing`);
}

function inUse(dataDir: string, owner: CatalogDirOwner): SetupError {
  const how = owner.url
    ? `serves it at ${owner.url}`
    : owner.serves
      ? 'is starting to serve it (`veda dev`): commands run now wait for it'
      : 'has it open, and an embedded catalog a process opens (as `veda worker` does) is its alone: run `veda dev` ' +
        'instead, which serves it to other commands (with TEMPORAL_ADDRESS set, on that Temporal server), or keep ' +
        'the catalog in PostgreSQL (DATABASE_URL)';
  return new SetupError(`the catalog in ${catalogDir(dataDir)} is in use: process ${owner.pid} ${how}`);
}
