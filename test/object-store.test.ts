/**
 * The object store chips and batches live in, against both of its kinds: a local directory and a real
 * S3-compatible server (moto's, started here). Same contract: bytes round-trip, missing keys are NotFoundError,
 * big files go up in parts, downloads are atomic, copies and prefix deletes, keys that cannot leave the root.
 * And s3:// inputs: an image read with ranged GETs and a label file equal the local files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, open, readFile, readdir, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chipKey, ObjectChipStore } from '../domain/chips/index.js';
import { InvalidInputError, NotFoundError, SetupError } from '../domain/errors.js';
import { openImage } from '../domain/imagery/index.js';
import { readLabelFile } from '../domain/labels/label-file.js';
import { LocalObjectStore, openObjectStore, registerRemoteScheme, s3Client, S3File, type ObjectStore } from '../domain/storage/index.js';
import { OLINDA } from './support/stack.js';
import type { Raster } from '../domain/types.js';
import { makeTempDir, removeTempDir } from './support/gdal.js';
import { startS3Server, type S3Server } from './support/s3-server.js';

let s3: S3Server;
let dir: string;
const stores: Record<string, ObjectStore> = {};

beforeAll(async () => {
  [s3, dir] = await Promise.all([startS3Server(), makeTempDir('veda-objects-')]);
  await s3.createBucket('veda-objects');
  stores.local = new LocalObjectStore(path.join(dir, 'root'));
  stores.s3 = openObjectStore('s3://veda-objects/some/prefix', 'chips', s3.settings);
});
afterAll(async () => {
  await s3?.stop();
  if (dir) await removeTempDir(dir);
});

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe.each(['local', 's3'])('the %s object store', (kind) => {
  const store = () => stores[kind]!;

  it('round-trips bytes, says where a key is, and replaces on a second put', async () => {
    const bytes = randomBytes(70_000);
    await store().put('a/b/one.bin', bytes);
    expect(Buffer.from(await store().get('a/b/one.bin')).equals(bytes)).toBe(true);
    expect(await store().has('a/b/one.bin')).toBe(true);
    expect(store().uri('a/b/one.bin')).toBe(kind === 's3' ? 's3://veda-objects/some/prefix/chips/a/b/one.bin' : path.join(dir, 'root', 'a/b/one.bin'));
    expect(store().localPath('a/b/one.bin')).toBe(kind === 's3' ? undefined : path.join(dir, 'root', 'a/b/one.bin'));
    await store().put('a/b/one.bin', Buffer.from('second'));
    expect(Buffer.from(await store().get('a/b/one.bin')).toString()).toBe('second');
  });

  it('a missing key is NotFoundError naming it, and has() is false', async () => {
    await expect(store().get('nothing/here.bin')).rejects.toThrow(NotFoundError);
    await expect(store().get('nothing/here.bin')).rejects.toThrow('nothing/here.bin');
    expect(await store().has('nothing/here.bin')).toBe(false);
    await expect(store().getFile('nothing/here.bin', path.join(dir, 'never.bin'))).rejects.toThrow(NotFoundError);
    await expect(store().copy('nothing/here.bin', 'x/y.bin')).rejects.toThrow(NotFoundError);
  });

  it('stores a 40 MiB file (S3: a multipart upload) and fetches it whole into a local file, atomically', async () => {
    const file = path.join(dir, `${kind}-big.bin`);
    const bytes = randomBytes(40 * 1024 * 1024);
    await writeFile(file, bytes);
    await store().putFile('batches/big.h5', file);
    const out = path.join(dir, 'fetched', kind, 'big.h5');
    await store().getFile('batches/big.h5', out);
    expect(sha(await readFile(out))).toBe(sha(bytes));
    // No temporary file stays next to the fetched copy.
    expect(await readdir(path.dirname(out))).toEqual(['big.h5']);
    if (kind === 's3') {
      const { Uploads } = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: 'veda-objects' }));
      expect(Uploads ?? []).toEqual([]); // completed, none left open
    }
  }, 120_000);

  it('copy makes a second key hold the same bytes; deletePrefix removes exactly the prefix', async () => {
    await store().put('ds1/v1.h5', Buffer.from('version 1'));
    await store().copy('ds1/v1.h5', 'ds1/latest.h5');
    expect(Buffer.from(await store().get('ds1/latest.h5')).toString()).toBe('version 1');
    await store().put('ds1/v2.h5', Buffer.from('version 2'));
    await store().copy('ds1/v2.h5', 'ds1/latest.h5');
    expect(Buffer.from(await store().get('ds1/latest.h5')).toString()).toBe('version 2');
    expect(Buffer.from(await store().get('ds1/v1.h5')).toString()).toBe('version 1');

    const keys = Array.from({ length: 30 }, (_, i) => `datasets/abc/chips/${String(i).padStart(2, '0')}/p.chip`);
    await Promise.all([...keys, 'datasets/abd/chips/00/p.chip', 'datasets/xyz/chips/00/p.chip'].map((k) => store().put(k, Buffer.from(k))));
    await store().deletePrefix('datasets/abc/');
    for (const k of keys) expect(await store().has(k)).toBe(false);
    expect(await store().has('datasets/abd/chips/00/p.chip')).toBe(true);
    await store().deletePrefix('datasets/ab');
    expect(await store().has('datasets/abd/chips/00/p.chip')).toBe(false);
    expect(await store().has('datasets/xyz/chips/00/p.chip')).toBe(true);
  });

  it('refuses keys and prefixes that are not plain relative paths', async () => {
    for (const key of ['../outside', '/etc/passwd', 'a/../../b', 'a//b', 'a/./b', '', 'a\\b', 'a/b/']) {
      await expect(store().put(key, Buffer.from('x')), key).rejects.toThrow(InvalidInputError);
      await expect(store().get(key), key).rejects.toThrow(InvalidInputError);
    }
    for (const prefix of ['', '/', '../', '..']) await expect(store().deletePrefix(prefix), prefix).rejects.toThrow(InvalidInputError);
  });

  it('holds chips losslessly (the chip store over it)', async () => {
    const chips = new ObjectChipStore(store());
    const data = new Float32Array(3 * 5 * 7).map((_, i) => (i % 7 === 0 ? NaN : i * 0.37 - 4));
    const chip: Raster = { dtype: 'float32', bands: 3, height: 5, width: 7, data };
    const key = chipKey('ds9', 'p1');
    await chips.put(key, chip);
    const back = await chips.get(key);
    expect({ ...back, data: undefined }).toEqual({ ...chip, data: undefined });
    expect(Buffer.from(back.data.buffer).equals(Buffer.from(data.buffer))).toBe(true);
    await expect(chips.get(chipKey('ds9', 'missing'))).rejects.toThrow(/chip datasets\/ds9\/chips\/mi\/missing.chip is not in the chip store/);
  });
});

describe('fetching from the local store', () => {
  const local = () => stores.local as LocalObjectStore;

  it('links a read-only object (a stored batch) to the fetched file, and copies a writable one', async () => {
    const file = path.join(dir, 'read-only.h5');
    await writeFile(file, randomBytes(100_000));
    await chmod(file, 0o444);
    await local().putFile('links/run.h5', file);
    await local().copy('links/run.h5', 'links/latest.h5');
    const linked = path.join(dir, 'fetched', 'linked.h5');
    await local().getFile('links/latest.h5', linked);
    const [stored, fetched] = await Promise.all([stat(local().localPath('links/run.h5')!), stat(linked)]);
    expect(fetched.ino).toBe(stored.ino); // one file: no bytes copied
    expect(fetched.mode & 0o222).toBe(0); // and no one can write it through either name
    await local().getFile('links/latest.h5', linked); // fetched again over the first: still one file
    expect((await stat(linked)).ino).toBe(stored.ino);

    await local().put('links/writable.bin', Buffer.from('mine'));
    const copied = path.join(dir, 'fetched', 'copied.bin');
    await local().getFile('links/writable.bin', copied);
    expect((await stat(copied)).ino).not.toBe((await stat(local().localPath('links/writable.bin')!)).ino);
    await writeFile(copied, 'changed');
    expect(Buffer.from(await local().get('links/writable.bin')).toString()).toBe('mine');
  });

  it('copies a read-only object to another filesystem, where no link can go', async () => {
    const shm = await mkdtemp(path.join('/dev/shm', 'veda-fetch-')); // tmpfs: never the temp dir's filesystem
    try {
      expect((await stat(shm)).dev).not.toBe((await stat(dir)).dev);
      const bytes = randomBytes(50_000);
      const file = path.join(dir, 'read-only-2.h5');
      await writeFile(file, bytes);
      await chmod(file, 0o444);
      await local().putFile('links/other-fs.h5', file);
      const fetched = path.join(shm, 'copy.h5');
      await local().getFile('links/other-fs.h5', fetched);
      expect(sha(await readFile(fetched))).toBe(sha(bytes));
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });
});

describe('writing to the local store', () => {
  it('writes every part whole when the system writes less than asked', async () => {
    const store = new LocalObjectStore(path.join(dir, 'short-writes'));
    const parts = [randomBytes(32), randomBytes(300_000), randomBytes(5)];
    // The first writev of the store's file takes 1000 bytes only, as a system may under a signal or a filling disk.
    const probe = await open(path.join(dir, 'probe.bin'), 'w');
    const prototype = Object.getPrototypeOf(probe) as { writev: (buffers: Uint8Array[]) => Promise<{ bytesWritten: number }> };
    await probe.close();
    let shortened = 0;
    const writev = vi.spyOn(prototype, 'writev').mockImplementationOnce(async function (this: FileHandle, buffers: Uint8Array[]) {
      shortened += 1;
      const all = Buffer.concat(buffers);
      const { bytesWritten } = await this.write(all, 0, 1000);
      return { bytesWritten, buffers };
    });
    try {
      await store.put('a/parts.bin', parts);
    } finally {
      writev.mockRestore();
    }
    expect(shortened).toBe(1);
    expect(Buffer.from(await store.get('a/parts.bin')).equals(Buffer.concat(parts))).toBe(true);
  });
});

describe('S3 failures a user can act on', () => {
  it('a missing bucket is a SetupError naming the location', async () => {
    const missing = openObjectStore('s3://no-such-veda-bucket', 'chips', s3.settings);
    await expect(missing.put('a.bin', Buffer.from('x'))).rejects.toThrow(SetupError);
    await expect(missing.get('a.bin')).rejects.toThrow(/s3:\/\/no-such-veda-bucket\/chips\/a.bin: the bucket does not exist/);
  });

  it('VEDA_STORE must be an s3:// URI or a directory', () => {
    expect(() => openObjectStore('gs://bucket/x', 'chips', s3.settings)).toThrow(/not supported: use s3:\/\/bucket\/prefix/);
    expect(() => openObjectStore('s3://', 'chips', s3.settings)).toThrow(InvalidInputError);
  });
});

describe('s3:// images and labels', () => {
  beforeAll(async () => {
    registerRemoteScheme('s3', (uri) => new S3File(s3Client(s3.settings), uri));
    for (const [key, file] of [['in/L7_ETMs.tif', OLINDA.image], ['in/landcover.geojson', OLINDA.labels]] as const) {
      await s3.client.send(new PutObjectCommand({ Bucket: 'veda-objects', Key: key, Body: await readFile(file) }));
    }
  });

  it('an image in S3 reads the same metadata and pixels as the local file', async () => {
    const [remote, local] = await Promise.all([openImage('s3://veda-objects/in/L7_ETMs.tif'), openImage(OLINDA.image)]);
    try {
      expect({ ...remote.info, uri: OLINDA.image }).toEqual(local.info);
      for (const window of [{ x: 0, y: 0, width: 64, height: 64 }, { x: 123, y: 77, width: 200, height: 150 }, { x: 0, y: 0, width: local.info.width, height: local.info.height }]) {
        const [a, b] = await Promise.all([remote.readWindow(window), local.readWindow(window)]);
        expect({ ...a, data: undefined }).toEqual({ ...b, data: undefined });
        expect(sha(new Uint8Array(a.data.buffer))).toBe(sha(new Uint8Array(b.data.buffer)));
      }
    } finally {
      await Promise.all([remote.close(), local.close()]);
    }
  });

  it('a label file in S3 parses to the same features as the local file', async () => {
    const [remote, local] = await Promise.all([readLabelFile('s3://veda-objects/in/landcover.geojson'), readLabelFile(OLINDA.labels)]);
    expect(remote.features).toEqual(local.features);
    expect(remote.crsName).toBe(local.crsName);
  });

  it('a missing image or label object is NotFoundError naming it; an unknown scheme is InvalidInputError', async () => {
    await expect(openImage('s3://veda-objects/in/nothing.tif')).rejects.toThrow(NotFoundError);
    await expect(openImage('s3://veda-objects/in/nothing.tif')).rejects.toThrow('s3://veda-objects/in/nothing.tif');
    await expect(readLabelFile('s3://veda-objects/in/nothing.geojson')).rejects.toThrow(NotFoundError);
    await expect(openImage('gs://bucket/x.tif')).rejects.toThrow(/unsupported image location \(use a local path, http:\/\/, https:\/\/, s3:\/\/\)/);
  });
});
