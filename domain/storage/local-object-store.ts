import { randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { copyFile, link, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { directIoSupported, readFileDirect, writeFileDirect } from './direct-io.js';
import { checkKey } from './object-keys.js';
import type { ObjectStore, StoredObject } from './object-store.js';

/**
 * Objects as files under a root directory. Every write goes to a temporary file beside its target and is renamed
 * into place: a crashed writer leaves the old object or none, never a torn one. (No fsync: this protects against
 * process crashes, not power loss.)
 */
export interface LocalObjectStoreOptions {
  /**
   * Write and read objects around the page cache (O_DIRECT, see direct-io.ts) where the filesystem allows, else as
   * ordinary files: for objects written once and read rarely (chips), whose pages would only take memory.
   */
  directIo?: boolean;
}

export class LocalObjectStore implements ObjectStore {
  readonly root: string;
  private readonly folders = new Set<string>();
  /** Whether objects go around the page cache: asked for, and found to work in the root (tried once). */
  private direct: Promise<boolean> | undefined;

  constructor(
    root: string,
    readonly options: LocalObjectStoreOptions = {},
  ) {
    this.root = resolve(root);
    if (!options.directIo) this.direct = Promise.resolve(false);
  }

  get location(): string {
    return this.root;
  }

  uri(key: string): string {
    return this.file(key, 'key');
  }

  localPath(key: string): string {
    return this.file(key, 'key');
  }

  async put(key: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
    const direct = await this.directIo();
    await this.replace(this.file(key, 'key'), (tmp) => (direct ? writeFileDirect(tmp, parts) : writeParts(tmp, parts)));
  }

  /**
   * Hands the object's bytes to `use` and returns its result: read around the page cache into reused memory when the
   * store does so (`use` copies what it keeps), else read whole. NotFoundError when there is none.
   */
  async readWith<T>(key: string, use: (bytes: Uint8Array) => T): Promise<T> {
    const file = this.file(key, 'key');
    try {
      return (await this.directIo()) ? await readFileDirect(file, use) : use(await readFile(file));
    } catch (err) {
      throw notFound(err, key, this.root);
    }
  }

  /** Whether objects are written and read around the page cache (asked for, and the filesystem allows it). */
  async directIo(): Promise<boolean> {
    if (this.direct) return this.direct;
    await mkdir(this.root, { recursive: true });
    this.direct = directIoSupported(this.root);
    return this.direct;
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return await readFile(this.file(key, 'key'));
    } catch (err) {
      throw notFound(err, key, this.root);
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.file(key, 'key'))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async putFile(key: string, file: string): Promise<void> {
    await this.replace(this.file(key, 'key'), (tmp) => linkOrCopy(file, tmp));
  }

  async getFile(key: string, file: string): Promise<void> {
    const source = this.file(key, 'key');
    // A read-only object (a stored batch) is linked where it can be: neither name can change it, and a batch of
    // hundreds of MB costs no copy and no second set of pages. Others get a reflink where the filesystem has them
    // (XFS, Btrfs: no bytes copied, and the copy is still the caller's own), elsewhere a copy in the kernel.
    const write = (await isReadOnly(source).catch(() => false)) ? linkOrCopy : cloneOrCopy;
    await this.replace(resolve(file), (tmp) => write(source, tmp)).catch((err) => {
      throw notFound(err, key, this.root);
    });
  }

  async copy(from: string, to: string): Promise<void> {
    const source = this.file(from, 'key');
    await this.replace(this.file(to, 'key'), (tmp) => linkOrCopy(source, tmp)).catch((err) => {
      throw notFound(err, from, this.root);
    });
  }

  async deletePrefix(prefix: string): Promise<void> {
    const target = this.file(prefix, 'prefix');
    if (prefix.endsWith('/')) {
      await rm(target, { recursive: true, force: true });
      return;
    }
    // Part way through a name: every entry of the folder whose name starts with it (files and folders).
    const folder = dirname(target);
    const start = basename(target);
    const names = await readdir(folder).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    await Promise.all(
      names.filter((name) => name.startsWith(start)).map((name) => rm(join(folder, name), { recursive: true, force: true })),
    );
  }

  async list(folder: string): Promise<StoredObject[]> {
    const dir = this.file(folder, 'prefix');
    const prefix = folder.endsWith('/') ? folder : `${folder}/`;
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    // Files being written (`<name>.tmp-<random>`) are not objects yet.
    const names = entries.filter((e) => e.isFile() && !/\.tmp-[0-9a-f]+$/.test(e.name)).map((e) => e.name).sort();
    const found = await Promise.all(names.map((name) => this.stat(prefix + name).catch(() => null)));
    return found.filter((o): o is StoredObject => o !== null);
  }

  async stat(key: string): Promise<StoredObject> {
    try {
      const info = await stat(this.file(key, 'key'));
      if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      return { key, size: info.size, modified: info.mtime };
    } catch (err) {
      throw notFound(err, key, this.root);
    }
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const file = this.file(key, 'key');
    await this.stat(key);
    return createReadStream(file, range);
  }

  /** The file of a key (or the path a prefix starts) under the root. */
  private file(key: string, kind: 'key' | 'prefix'): string {
    checkKey(key, kind);
    const file = resolve(this.root, key);
    if (!file.startsWith(this.root + sep)) {
      throw new InvalidInputError(`store ${kind} "${key}" must be a relative path of plain segments inside the store`);
    }
    return file;
  }

  /** Writes `target` through a temporary file beside it, renamed into place. */
  private async replace(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const folder = dirname(target);
    // Folders made before are not made again (a dataset's thousands of chips share a few hundred), unless gone.
    if (!this.folders.has(folder)) await this.makeFolder(folder);
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      try {
        await write(tmp);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await this.makeFolder(folder); // removed since (a dataset deleted and made again)
        await write(tmp);
      }
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  private async makeFolder(folder: string): Promise<void> {
    await mkdir(folder, { recursive: true });
    if (this.folders.size >= MAX_KNOWN_FOLDERS) this.folders.clear();
    this.folders.add(folder);
  }
}

/** Folders a store remembers having made; past this it forgets them all and starts again. */
const MAX_KNOWN_FOLDERS = 10_000;

/** A hard link where the filesystem allows (no bytes copied; the source may then be removed), else a copy (a reflink where possible). */
async function linkOrCopy(source: string, target: string): Promise<void> {
  try {
    await link(source, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw err;
    await cloneOrCopy(source, target); // another filesystem, or one without hard links
  }
}

/**
 * Writes the parts one after the other into a new file with one writev: a chip is a header and its samples, and
 * writeFile made a call for each part and each 512 KiB of one (open, three writes and a close for a 768 KiB chip:
 * 0.16 s more CPU per 1000 chips, on the thread that also runs the worker).
 */
async function writeParts(file: string, parts: readonly Uint8Array[]): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    let written = (await handle.writev(parts as Uint8Array[])).bytesWritten;
    // A system may write less than asked (a signal, a disk filling up): the rest goes part by part.
    let at = 0;
    for (const part of parts) {
      const end = at + part.byteLength;
      while (written < end) {
        const from = Math.max(0, written - at);
        const { bytesWritten } = await handle.write(part, from, part.byteLength - from);
        if (bytesWritten === 0) throw new Error(`could not write ${file}: the system took no more bytes`);
        written += bytesWritten;
      }
      at = end;
    }
  } finally {
    await handle.close();
  }
}

function cloneOrCopy(source: string, target: string): Promise<void> {
  return copyFile(source, target, constants.COPYFILE_FICLONE);
}

/** No one may write the file: its mode has no write bit. */
async function isReadOnly(file: string): Promise<boolean> {
  return ((await stat(file)).mode & 0o222) === 0;
}

function notFound(err: unknown, key: string, root: string): unknown {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' ? new NotFoundError(`${key} is not in the store ${root}`) : err;
}
