/**
 * Source checksums in ingest manifests: SHA-256 of a local file's bytes, read once while the file stays the same
 * (size, times, inode) and read again as soon as it changes.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeSource } from '../domain/manifest/manifest.js';

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof fs>();
  return { ...actual, createReadStream: vi.fn(actual.createReadStream) };
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veda-manifest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const reads = () => vi.mocked(fs.createReadStream).mock.calls.length;

describe('describeSource', () => {
  it("gives a local file's size and SHA-256, reading it once while it stays the same", async () => {
    const file = join(dir, 'scene.tif');
    const bytes = randomBytes(3 << 20);
    await writeFile(file, bytes);
    const before = reads();
    expect(await describeSource(file)).toEqual({ uri: file, bytes: bytes.length, sha256: sha256(bytes) });
    expect(await describeSource(file)).toEqual({ uri: file, bytes: bytes.length, sha256: sha256(bytes) });
    expect(reads() - before).toBe(1);
  });

  it('reads a file again once it changed, even to the same size and modification time', async () => {
    const file = join(dir, 'labels.gpkg');
    await writeFile(file, randomBytes(100_000));
    await describeSource(file);
    const times = join(dir, 'times');
    execFileSync('touch', ['-r', file, times]); // the file's times to the nanosecond
    const changed = randomBytes(100_000);
    await writeFile(file, changed);
    execFileSync('touch', ['-r', times, file]);
    // Same size, same modification time to the nanosecond: only the change time (and the bytes) moved.
    expect((await stat(file, { bigint: true })).mtimeNs).toBe((await stat(times, { bigint: true })).mtimeNs);
    expect(await describeSource(file)).toMatchObject({ bytes: 100_000, sha256: sha256(changed) });
    const replaced = randomBytes(100_000);
    await writeFile(`${file}.new`, replaced);
    await fs.promises.rename(`${file}.new`, file); // another inode under the same name
    expect(await describeSource(file)).toMatchObject({ sha256: sha256(replaced) });
  });
});
