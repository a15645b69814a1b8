import type { H5Module } from './h5.js';

/**
 * HDF5 writes every chunk with a system call of its own (pwrite through h5wasm's Emscripten file system, NODERAWFS):
 * a batch of 1000 6 x 64 x 64 uint8 samples is 1000 writes of 24 KiB, and on this kind of VM writing 24.6 MB in
 * such pieces took 11 ms against 5 ms in pieces of 256 KiB or more (24 ms against 16 ms with the fsync a batch
 * needs). HDF5 allocates chunks one after the other, so most of its writes continue the last one: this gathers
 * writes to one file that continue each other into runs of up to RUN_BYTES, written as one.
 *
 * Nothing changes for HDF5: a write that does not continue the run, and every other call on the file (a read, a
 * truncate, its size, a seek, closing it), writes the run first, so the file's bytes are always those of HDF5's
 * writes in their order. A failure to write the run is reported on the call that wrote it, which HDF5 turns into
 * an error of its own (and veda into an exception).
 */

/** Bytes a run gathers before it is written. */
const RUN_BYTES = 1 << 20;

/** A file stream of Emscripten's NODERAWFS, as HDF5's file driver reaches it. */
interface RawStream {
  fd: number;
  path: string;
}

type Bytes = Uint8Array | Int8Array;

/** The calls of h5wasm's Emscripten FS that HDF5's file driver makes (by stream, or by descriptor). */
interface RawFs {
  write(stream: RawStream, buffer: Bytes, offset: number, length: number, position?: number, canOwn?: boolean): number;
  read(stream: RawStream, buffer: Bytes, offset: number, length: number, position?: number): number;
  llseek(stream: RawStream, offset: number, whence: number): number;
  close(stream: RawStream): void;
  ftruncate(fd: number, length: number): void;
  fstat(fd: number): unknown;
  getStream(fd: number): RawStream | null;
}

/** The run gathered for one file: bytes [start, start + length) of it. */
class Run {
  readonly bytes = new Uint8Array(RUN_BYTES);
  start = 0;
  length = 0;
}

/** Per module: the files whose writes are gathered (by path, as HDF5 opened them) and their open runs. */
const installed = new WeakMap<object, Map<string, Run>>();

/**
 * Gathers HDF5's writes to `path` (as passed to h5wasm's File) in `module` from now on, until the returned function
 * is called (after the file is closed: closing writes the last run).
 */
export function coalesceWrites(module: H5Module, path: string): () => void {
  const runs = installed.get(module) ?? install(module);
  if (runs.has(path)) throw new Error(`writes to ${path} are already gathered`);
  runs.set(path, new Run());
  return () => {
    runs.delete(path);
  };
}

function install(module: H5Module): Map<string, Run> {
  const fs = (module as unknown as { FS: RawFs }).FS;
  const runs = new Map<string, Run>();
  installed.set(module, runs);
  const { write, read, llseek, close, ftruncate, fstat } = fs;
  const call = <A extends unknown[], R>(f: (...args: A) => R, ...args: A): R => f.apply(fs, args);

  /** Writes the stream's open run, if any, in as many calls as the system takes. */
  const flush = (stream: RawStream | null): void => {
    const run = stream && runs.get(stream.path);
    if (!run || run.length === 0) return;
    const { start, length } = run;
    run.length = 0; // a failed write is reported once; HDF5 fails the file then
    for (let done = 0; done < length; ) done += call(write, stream, run.bytes, done, length - done, start + done);
  };

  fs.write = (stream, buffer, offset, length, position, canOwn) => {
    const run = runs.get(stream.path);
    if (!run || position === undefined) {
      flush(stream);
      return call(write, stream, buffer, offset, length, position, canOwn);
    }
    if (run.length > 0 && position === run.start + run.length && run.length + length <= RUN_BYTES) {
      run.bytes.set(buffer.subarray(offset, offset + length), run.length);
      run.length += length;
      return length;
    }
    flush(stream);
    if (length > RUN_BYTES / 2) return call(write, stream, buffer, offset, length, position, canOwn);
    run.bytes.set(buffer.subarray(offset, offset + length), 0);
    run.start = position;
    run.length = length;
    return length;
  };
  fs.read = (stream, buffer, offset, length, position) => {
    flush(stream);
    return call(read, stream, buffer, offset, length, position);
  };
  fs.llseek = (stream, offset, whence) => {
    flush(stream);
    return call(llseek, stream, offset, whence);
  };
  fs.close = (stream) => {
    try {
      flush(stream);
    } finally {
      call(close, stream);
    }
  };
  fs.ftruncate = (fd, length) => {
    flush(fs.getStream(fd));
    call(ftruncate, fd, length);
  };
  fs.fstat = (fd) => {
    flush(fs.getStream(fd));
    return call(fstat, fd);
  };
  return runs;
}
