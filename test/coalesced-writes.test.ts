/**
 * HDF5's writes to a batch file gathered into larger ones (domain/batches/coalesced-writes.ts): over a file system
 * that records every call, the file's bytes are always those of the writes in their order, whatever calls come
 * between them, with far fewer writes; and over h5wasm's real one, a batch reads back whole.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { coalesceWrites } from '../domain/batches/coalesced-writes.js';
import type { H5Module } from '../domain/batches/h5.js';
import { writeBatch, type BatchSample } from '../domain/batches/index.js';
import { rowsWithH5py } from './support/h5py.js';

interface Stream {
  fd: number;
  path: string;
}

/** A file system of one file held in memory, shaped like h5wasm's NODERAWFS, counting the writes that reach it. */
function recordingFs(filePath: string) {
  let file = new Uint8Array(0);
  const stream: Stream = { fd: 3, path: filePath };
  const calls: string[] = [];
  const fs = {
    writes: 0,
    failNextWrite: false,
    write(_s: Stream, buffer: Uint8Array, offset: number, length: number, position = 0): number {
      if (fs.failNextWrite) {
        fs.failNextWrite = false;
        throw new Error('ENOSPC: no space left on device');
      }
      fs.writes += 1;
      calls.push('write');
      if (file.length < position + length) {
        const grown = new Uint8Array(position + length);
        grown.set(file);
        file = grown;
      }
      // At most 100 KiB a call, as a system may write less than asked.
      const n = Math.min(length, 100 * 1024);
      file.set(buffer.subarray(offset, offset + n), position);
      return n;
    },
    read(_s: Stream, buffer: Uint8Array, offset: number, length: number, position = 0): number {
      calls.push('read');
      const bytes = file.subarray(position, position + length);
      buffer.set(bytes, offset);
      return bytes.length;
    },
    llseek: (): number => 0,
    close(_s: Stream): void {
      calls.push('close');
    },
    ftruncate(_fd: number, length: number): void {
      calls.push('ftruncate');
      file = file.slice(0, length);
    },
    fstat: (_fd: number) => ({ size: file.length }),
    getStream: (fd: number) => (fd === stream.fd ? stream : null),
  };
  return { module: { FS: fs } as unknown as H5Module, fs, stream, calls, bytes: () => file };
}

const filled = (length: number, value: number) => new Uint8Array(length).fill(value);

/**
 * Direct writes as a thread makes them, over the recording file: a write is applied only when something waits for
 * it (settle over its bytes, drain, its buffer handed out again), so a call that should have waited sees old
 * bytes. Checks what the system would: whole blocks, from an aligned place in the buffer.
 */
function lazyDirectWrites(file: ReturnType<typeof recordingFs>, runBytes: number) {
  const buffers = [0, 1, 2].map(() => new Uint8Array(runBytes));
  const pending: Array<{ slot: number; bytes: Uint8Array; position: number }> = [];
  let next = 0;
  let current = -1;
  const stats = { direct: 0, writes: 0 };
  // The file system's own write, as the gathering installed over it later would gather these too.
  const rawWrite = file.fs.write.bind(file.fs);
  const apply = (keep: (w: (typeof pending)[number]) => boolean) => {
    for (let i = 0; i < pending.length; ) {
      const w = pending[i]!;
      if (keep(w)) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      for (let done = 0; done < w.bytes.length; ) done += rawWrite(file.stream, w.bytes, done, w.bytes.length - done, w.position + done);
    }
  };
  // Applying a later write first would break the order: apply every write up to the last one asked for.
  const upTo = (test: (w: (typeof pending)[number]) => boolean) => {
    const later = new Set(pending.slice(pending.findLastIndex(test) + 1));
    apply((w) => later.has(w));
  };
  const writes = {
    stats,
    buffer() {
      if (current !== -1) throw new Error('a buffer handed out was not written');
      upTo((w) => w.slot === next);
      current = next;
      next = (next + 1) % buffers.length;
      return buffers[current]!;
    },
    put(source: Uint8Array | Int8Array, at: number) {
      if (current === -1) throw new Error('nothing handed out');
      buffers[current]!.set(source, at);
    },
    write(from: number, to: number, position: number) {
      if (current === -1) throw new Error('nothing handed out');
      for (const n of [from, to, position]) if (n % 4096 !== 0) throw new Error(`direct write not in whole blocks: ${from}, ${to}, ${position}`);
      if (to > from) {
        pending.push({ slot: current, bytes: buffers[current]!.slice(from, to), position });
        stats.direct += to - from;
        stats.writes += 1;
      }
      current = -1;
    },
    settle(from: number, to: number) {
      upTo((w) => w.position < to && from < w.position + w.bytes.length);
    },
    drain() {
      apply(() => false);
    },
    close() {
      writes.drain();
    },
  };
  return writes;
}

describe('gathered writes', () => {
  it('leave the file exactly as the writes in their order would, with reads, truncation and size between them', () => {
    const { module, fs, stream, bytes } = recordingFs('/batch.h5.tmp-1');
    const expected = new Uint8Array(3 << 20);
    let end = 0;
    const stop = coalesceWrites(module, stream.path);
    const FS = (module as unknown as { FS: typeof fs }).FS;
    const write = (position: number, length: number, value: number) => {
      const data = filled(length + 7, value); // HDF5 hands a slice of its heap: offset 7
      // As HDF5's file driver does: a short write is continued.
      for (let done = 0; done < length; ) done += FS.write(stream, data, 7 + done, length - done, position + done);
      expected.set(data.subarray(7, 7 + length), position);
      end = Math.max(end, position + length);
    };
    // 40 chunks of 24 KiB one after the other, as HDF5 allocates them.
    for (let i = 0; i < 40; i++) write(4096 + i * 24576, 24576, i + 1);
    // Metadata rewritten below the run, then a chunk continuing it, then one overwriting part of it.
    write(0, 512, 200);
    write(4096 + 40 * 24576, 24576, 201);
    write(4096 + 39 * 24576 + 100, 300, 202);
    // A read of bytes still in a run sees them.
    write(2_000_000, 1000, 203);
    const seen = new Uint8Array(1000);
    expect(FS.read(stream, seen, 0, 1000, 2_000_000)).toBe(1000);
    expect(seen).toEqual(filled(1000, 203));
    // A chunk larger than half a run goes straight through; the size asked after a gathered write includes it.
    write(2_001_000, 700_000, 204);
    write(2_701_000, 5000, 205);
    expect((FS.fstat(3) as { size: number }).size).toBe(2_706_000);
    write(2_706_000, 5000, 206);
    FS.ftruncate(3, 2_708_000);
    end = 2_708_000;
    FS.close(stream);
    stop();
    expect(bytes().length).toBe(end);
    expect(Buffer.from(bytes()).equals(expected.subarray(0, end))).toBe(true);
    // 46 writes asked for; the 40 chunks went in one run (plus the system's short writes).
    expect(fs.writes).toBeLessThan(25);
  });

  it('write whole blocks around the page cache in the background, and the file is as the writes in their order', () => {
    const file = recordingFs('/batch.h5.tmp-d');
    const { module, fs, stream, bytes } = file;
    const FS = (module as unknown as { FS: typeof fs }).FS;
    const direct = lazyDirectWrites(file, (8 << 20) + 2 * 4096);
    const stop = coalesceWrites(module, stream.path, { openDirect: () => direct, directAfter: 1 << 20 });
    const expected = new Uint8Array(40 << 20);
    let end = 0;
    const write = (position: number, length: number, value: number) => {
      const data = filled(length + 3, value);
      for (let done = 0; done < length; ) done += FS.write(stream, data, 3 + done, length - done, position + done);
      expected.set(data.subarray(3, 3 + length), position);
      end = Math.max(end, position + length);
    };
    // As HDF5 writes a batch: slices of chunks one after the other (runs fill up and go on mid-block), each slice
    // followed by a rewrite of a chunk-index node elsewhere and the slice's masks.
    let at = 5000;
    for (let slice = 0; slice < 4; slice++) {
      // Bytes later runs cover (HDF5 reuses space it freed): one that fills up, one ended by a write elsewhere. Their
      // direct writes must land after these.
      if (slice === 1) write(at + 5 * 786_432 + 10_000, 3000, 228);
      if (slice === 1) write(at + 10 * 786_432 + 700_000, 3000, 227);
      for (let i = 0; i < 11; i++, at += 786_432) write(at, 786_432, (slice * 11 + i) % 250);
      // Part of a chunk whose direct write is under way, rewritten (the run ends there), and another read back.
      if (slice === 1) write(at - 500_000, 5000, 229);
      write(2000, 1500, 250 + slice);
      write(2600, 200, 245 + slice); // over the write before it: held back, both land in their order
      if (slice === 3) {
        const seen = new Uint8Array(786_432);
        expect(FS.read(stream, seen, 0, seen.length, at - seen.length)).toBe(seen.length);
        expect(Buffer.from(seen).equals(Buffer.from(expected.subarray(at - seen.length, at)))).toBe(true);
      }
      write(at, 655_360, 240 + slice);
      at += 655_360;
    }
    // A read of bytes just written directly, and of a node rewritten since, sees them.
    const seen = new Uint8Array(786_432 + 10);
    expect(FS.read(stream, seen, 0, seen.length, 5000 + 3 * 786_432 - 5)).toBe(seen.length);
    expect(Buffer.from(seen).equals(Buffer.from(expected.subarray(5000 + 3 * 786_432 - 5, 5000 + 4 * 786_432 + 5)))).toBe(true);
    // Reads of bytes held back (HDF5 reading back nodes it rewrote): the rewrites overlapping, in their order, and
    // one past the file's end on disk, with zeros before it as in a hole.
    const nodes = new Uint8Array(1200);
    expect(FS.read(stream, nodes, 0, nodes.length, 1900)).toBe(nodes.length);
    expect(Buffer.from(nodes).equals(Buffer.from(expected.subarray(1900, 3100)))).toBe(true);
    const far = at + 2_000_000;
    write(far, 100, 226);
    const past = new Uint8Array(300).fill(1);
    expect(FS.read(stream, past, 0, past.length, far - 50)).toBe(150);
    expect(Buffer.from(past.subarray(0, 150)).equals(Buffer.from(expected.subarray(far - 50, far + 100)))).toBe(true);
    // A rewrite of part of a chunk written directly, its size, then closing.
    write(5000 + 786_432 + 4000, 9000, 230);
    expect((FS.fstat(3) as { size: number }).size).toBe(end);
    FS.close(stream);
    stop();
    expect(bytes().length).toBe(end);
    expect(Buffer.from(bytes()).equals(Buffer.from(expected.subarray(0, end)))).toBe(true);
    // After the first MiB through the page cache, nearly every byte went directly, in runs of megabytes.
    expect(direct.stats.direct).toBeGreaterThan(0.9 * (end - 5000));
    expect(direct.stats.writes).toBeLessThan(20);
  });

  it('gather nothing for other files, and stop when told', () => {
    const { module, fs, stream } = recordingFs('/other.h5');
    const FS = (module as unknown as { FS: typeof fs }).FS;
    const stop = coalesceWrites(module, '/batch.h5.tmp-2');
    for (let i = 0; i < 10; i++) FS.write(stream, filled(100, i), 0, 100, i * 100);
    expect(fs.writes).toBe(10);
    stop();
    expect(() => coalesceWrites(module, '/batch.h5.tmp-2')()).not.toThrow();
  });

  it('report a failed write of the run on the call that made it, and close the file all the same', () => {
    const { module, fs, stream, calls } = recordingFs('/batch.h5.tmp-3');
    const FS = (module as unknown as { FS: typeof fs }).FS;
    const stop = coalesceWrites(module, stream.path);
    FS.write(stream, filled(1000, 1), 0, 1000, 0);
    fs.failNextWrite = true;
    expect(() => FS.close(stream)).toThrow('ENOSPC');
    expect(calls.at(-1)).toBe('close');
    stop();
  });

  it('make a batch h5py reads back sample for sample', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'veda-coalesced-'));
    try {
      // Bytes that differ from sample to sample and within each, so a misplaced or lost run shows.
      const pixels = (i: number) => Uint8Array.from({ length: 3 * 32 * 32 }, (_, j) => (i * 7 + j) % 251);
      const samples: BatchSample[] = Array.from({ length: 300 }, (_, i) => ({
        id: `s${i}`,
        group: i % 3 ? 'train' : 'test',
        source: 'mem://scene',
        window: { x: i, y: 0, width: 32, height: 32 },
        image: { data: pixels(i), bands: 3, width: 32, height: 32, dtype: 'uint8' as const },
        label: [i % 2, 1 - (i % 2)],
      }));
      const file = path.join(dir, 'b.h5');
      await writeBatch(file, { dataset: { name: 't' }, classes: ['a', 'b'], mlType: 'classification', seed: 0, inputs: {} }, samples);
      const rows = await rowsWithH5py(file, ['images', 'labels']);
      for (const group of ['train', 'test']) {
        const mine = samples.filter((s) => s.group === group);
        expect(rows[group]!.images).toEqual(mine.map((s) => [...(s.image.data as Uint8Array)]));
        expect(rows[group]!.labels).toEqual(mine.map((s) => s.label));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
