import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { NotFoundError } from '../errors.js';
import type { Raster } from '../types.js';
import { decodeChip, encodeChip } from './chip-format.js';
import { pathUnderRoot } from './chip-keys.js';
import type { ChipStore } from './types.js';

/**
 * Chips as files under a root directory, one file per key (chip-format.ts). A write goes to a temporary file
 * beside its target and is renamed into place: a crashed writer leaves the old chip or none, never a torn one,
 * and writing a key twice just replaces it. (No fsync: this protects against process crashes, not power loss.)
 */
export class LocalChipStore implements ChipStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(key: string, chip: Raster): Promise<void> {
    const file = pathUnderRoot(this.root, key, 'key');
    const bytes = encodeChip(chip);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Raster> {
    const file = pathUnderRoot(this.root, key, 'key');
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`chip ${key} is not in the chip store ${this.root}`);
      }
      throw err;
    }
    return decodeChip(bytes, key);
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(pathUnderRoot(this.root, key, 'key'))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Removes every chip whose key starts with `prefix` ("datasets/<id>/" for a dataset); empty prefixes are refused. */
  async deletePrefix(prefix: string): Promise<void> {
    const target = pathUnderRoot(this.root, prefix, 'prefix');
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
}
