import { DIRECT_IO_BLOCK, type DirectWrites } from '../storage/direct-io.js';
import type { H5Module } from './h5.js';

/**
 * HDF5 writes every chunk with a system call of its own (pwrite through h5wasm's Emscripten file system, NODERAWFS):
 * a batch of 1000 6 x 64 x 64 uint8 samples is 1000 writes of 24 KiB, and on this kind of VM writing 24.6 MB in
 * such pieces took 11 ms against 5 ms in pieces of 256 KiB or more (24 ms against 16 ms with the fsync a batch
 * needs). HDF5 allocates chunks one after the other, so most of its writes continue the last one: this gathers
 * writes to one file that continue each other into runs, written as one.
 *
 * With `openDirect` (direct writes to the same file, on a thread of their own: see direct-io.ts), once HDF5 has
 * written DIRECT_AFTER_BYTES a run's whole blocks go around the page cache and only its partial first and last
 * blocks through HDF5's own descriptor: a batch of 1000 256 x 256 x 6 uint16 samples is 852 MB, and new page-cache
 * memory for it cost 1.5 s of kernel time on this kind of VM (direct: 0.6 s of the disk's, while HDF5 goes on). A
 * small batch stays in the page cache, where writing and syncing it is quicker than a disk's round trips. The run is
 * then aligned memory whose first byte is that of the run's first block, and a run that fills up keeps its partial
 * last block for the writes that continue it.
 *
 * Nothing changes for HDF5: a write that does not continue the run, and every other call on the file (a read, a
 * truncate, its size, a seek, closing it), writes the run first, so the file's bytes are always those of HDF5's
 * writes in their order (the kernel keeps a file's cached pages and its direct writes coherent). A failure to write
 * the run is reported on the call that wrote it, which HDF5 turns into an error of its own (and veda into an
 * exception).
 */

/** Bytes a run gathers before it is written: through the page cache, and around it. */
const RUN_BYTES = 1 << 20;
/** Bytes of writes held back while direct writes are under way (see Run.held), at most. */
const HELD_BYTES = 4 << 20;
/** Bytes HDF5 writes through the page cache before direct writes start (when asked for). */
const DIRECT_AFTER_BYTES = 32 << 20;
/** Direct runs: the buffers handed out hold this and a block either side (a run starts and ends mid-block). */
export const DIRECT_RUN_BYTES = 8 << 20;

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

/**
 * The run gathered for one file: bytes [start, start + length) of it, held from `base` on (`bytes[0]` is the file's
 * byte `base`: the run's start, or with direct writes the start of its first block, in a buffer of `direct`'s).
 */
class Run {
  bytes: Uint8Array;
  base = 0;
  start = 0;
  length = 0;
  /** With direct writes: a buffer of `direct`'s is held (from the run's start until it is written). */
  private holding = false;
  direct: DirectWrites | null = null;
  /** Bytes HDF5 has asked to write to the file so far. */
  asked = 0;
  /**
   * With direct writes: the writes through HDF5's descriptor not made yet (a run's partial first and last blocks,
   * HDF5's metadata), in order. A write through the page cache waits for every direct write to the file under way
   * (ext4 lets either kind into a file at a time, and direct writes that extend it hold it until done): made as they
   * came, the 246 small writes of a 1000-sample batch of 256 x 256 x 6 uint16 took 240 ms of HDF5's thread. They
   * are made when the file is next settled (HDF5 seeks, truncates or closes it), before a direct write of their
   * bytes, and once they pass HELD_BYTES; a read sees them laid over the file's bytes.
   */
  held: HeldWrite[] = [];
  heldBytes = 0;

  constructor(private options: CoalesceOptions) {
    this.bytes = new Uint8Array(RUN_BYTES);
  }

  /** Between runs: direct writes start once enough has been written, if asked for and the system allows. */
  maybeGoDirect(): void {
    const { openDirect, directAfter = DIRECT_AFTER_BYTES } = this.options;
    if (!openDirect || this.direct || this.length > 0 || this.asked < directAfter) return;
    this.options = {};
    this.direct = openDirect() ?? null;
    if (this.direct) this.bytes = EMPTY;
  }

  get end(): number {
    return this.start + this.length;
  }

  /** Bytes that may still be added (direct: a block of the buffer stays free for a run starting mid-block). */
  get room(): number {
    return (this.direct ? DIRECT_RUN_BYTES + DIRECT_IO_BLOCK : RUN_BYTES) - (this.end - this.base);
  }

  begin(position: number): void {
    if (this.direct && !this.holding) {
      this.bytes = this.direct.buffer();
      this.holding = true;
    }
    this.start = position;
    this.base = this.direct ? position - (position % DIRECT_IO_BLOCK) : position;
    this.length = 0;
  }

  /** Writes the run's whole blocks [from, to) directly (nothing when equal); the buffer goes with them. */
  writeDirect(from: number, to: number): void {
    if (!this.holding) return;
    this.holding = false;
    this.direct!.write(from - this.base, to - this.base, from);
  }

  /** Writes the buffer held, if any, with nothing of it (every buffer handed out is written once). */
  release(): void {
    if (this.holding) this.writeDirect(this.base, this.base);
  }

  /**
   * Writes the run's whole blocks [first, last) directly and goes on in the next buffer from `last`, holding the
   * bytes after it (the buffer just handed to the writer is only read, by both).
   */
  carryOver(first: number, last: number): void {
    const end = this.end;
    const tail = this.bytes.subarray(last - this.base, end - this.base);
    this.writeDirect(first, last);
    this.bytes = this.direct!.buffer();
    this.holding = true;
    this.bytes.set(tail);
    this.start = this.base = last;
    this.length = end - last;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Lays the run's held writes over `bytes`, bytes of the file from `position` of which the first `read` came from
 * the file: returns how many bytes the answer holds (past the file's end on disk, as far as held writes reach, with
 * zeros between, as in a file's hole).
 */
function overlayHeld(run: Run, bytes: Bytes, position: number, read: number): number {
  let answer = read;
  for (const held of run.held) {
    const from = Math.max(held.position, position);
    const to = Math.min(held.position + held.bytes.length, position + bytes.length);
    if (from >= to) continue;
    if (to - position > answer) {
      bytes.fill(0, answer, to - position);
      answer = to - position;
    }
    bytes.set(held.bytes.subarray(from - held.position, to - held.position), from - position);
  }
  return answer;
}

interface HeldWrite {
  position: number;
  bytes: Uint8Array;
}

/** Per module: the files whose writes are gathered (by path, as HDF5 opened them) and their open runs. */
const installed = new WeakMap<object, Map<string, Run>>();

export interface CoalesceOptions {
  /** Opens direct writes to the file (undefined where the system refuses them), once the file is large enough. */
  openDirect?: () => DirectWrites | undefined;
  /** Bytes written through the page cache first (default DIRECT_AFTER_BYTES, 32 MiB). */
  directAfter?: number;
}

/**
 * Gathers HDF5's writes to `path` (as passed to h5wasm's File) in `module` from now on, until the returned function
 * is called (after the file is closed: closing writes the last run).
 */
export function coalesceWrites(module: H5Module, path: string, options: CoalesceOptions = {}): () => void {
  const runs = installed.get(module) ?? install(module);
  if (runs.has(path)) throw new Error(`writes to ${path} are already gathered`);
  const run = new Run(options);
  runs.set(path, run);
  return () => {
    runs.delete(path);
    try {
      run.direct?.close();
    } catch {
      // A failed direct write was thrown by the call that waited for it (closing the file, at the latest).
    }
  };
}

function install(module: H5Module): Map<string, Run> {
  const fs = (module as unknown as { FS: RawFs }).FS;
  const runs = new Map<string, Run>();
  installed.set(module, runs);
  const { write, read, llseek, close, ftruncate, fstat } = fs;
  const call = <A extends unknown[], R>(f: (...args: A) => R, ...args: A): R => f.apply(fs, args);

  /**
   * Writes `bytes` at `position` through HDF5's descriptor, in as many calls as it takes, once no direct write under
   * way touches their blocks (the kernel keeps cached pages and direct writes coherent, but not two writes of one
   * block at once).
   */
  const writeAt = (stream: RawStream, run: Run, bytes: Uint8Array, position: number): void => {
    run.direct?.settle(position - (position % DIRECT_IO_BLOCK), Math.ceil((position + bytes.length) / DIRECT_IO_BLOCK) * DIRECT_IO_BLOCK);
    for (let done = 0; done < bytes.length; ) done += call(write, stream, bytes, done, bytes.length - done, position + done);
  };

  /**
   * Writes bytes [from, to) of the file held in the run through HDF5's descriptor; with direct writes under way,
   * holds them back instead (see Run.held), up to HELD_BYTES.
   */
  const writeThrough = (stream: RawStream, run: Run, from: number, to: number): void => {
    if (from === to) return;
    const bytes = run.bytes.subarray(from - run.base, to - run.base);
    if (run.direct) {
      if (run.heldBytes + bytes.length <= HELD_BYTES) {
        run.held.push({ position: from, bytes: bytes.slice() });
        run.heldBytes += bytes.length;
        return;
      }
      writeHeld(stream, run);
    }
    writeAt(stream, run, bytes, from);
  };

  /**
   * Writes the writes held back, oldest first, up to the last one that meets bytes [from, to) of the file (all by
   * default): a direct write of those bytes, or a read, must come after them, and an earlier write they overlap
   * before them.
   */
  const writeHeld = (stream: RawStream, run: Run, from = 0, to = Infinity): void => {
    const meets = ({ position, bytes }: HeldWrite) => position < to && from < position + bytes.length;
    const due = run.held.splice(0, run.held.findLastIndex(meets) + 1);
    for (const { position, bytes } of due) {
      run.heldBytes -= bytes.length;
      writeAt(stream, run, bytes, position);
    }
  };

  /**
   * Writes the stream's open run, if any: its whole blocks directly (in the background), the rest through HDF5's
   * descriptor. `keepTail`: a run that filled up keeps its partial last block as the start of the next one, for the
   * writes that continue it.
   */
  const flush = (stream: RawStream | null, keepTail = false): void => {
    const run = stream && runs.get(stream.path);
    if (!run || run.length === 0) return;
    const { start, end, direct } = run;
    // The run's whole blocks: [first, last), empty when it has none.
    const first = Math.min(end, Math.ceil(start / DIRECT_IO_BLOCK) * DIRECT_IO_BLOCK);
    const last = Math.max(first, end - (end % DIRECT_IO_BLOCK));
    if (direct && keepTail && last > first) {
      writeThrough(stream, run, start, first);
      writeHeld(stream, run, first, last);
      run.carryOver(first, last);
      return;
    }
    run.length = 0; // a failed write is reported once; HDF5 fails the file then
    if (!direct) {
      writeThrough(stream, run, start, end);
      return;
    }
    writeThrough(stream, run, start, first);
    writeThrough(stream, run, last, end);
    if (last > first) {
      writeHeld(stream, run, first, last);
      run.writeDirect(first, last);
    } else run.release();
  };

  /**
   * Flushes the run and waits for every direct write under way: before HDF5 asks the file's size, truncates, seeks
   * or closes it, it holds every byte written.
   */
  const settle = (stream: RawStream | null): void => {
    flush(stream);
    const run = stream && runs.get(stream.path);
    run?.release();
    run?.direct?.drain();
    if (run) writeHeld(stream!, run);
  };

  fs.write = (stream, buffer, offset, length, position, canOwn) => {
    const run = runs.get(stream.path);
    if (!run || position === undefined) {
      settle(stream);
      return call(write, stream, buffer, offset, length, position, canOwn);
    }
    run.asked += length;
    // A write elsewhere (HDF5 rewriting a node of a chunk index) ends the run; direct writes under way go on.
    if (run.length > 0 && position !== run.end) flush(stream);
    run.maybeGoDirect();
    // A large write through the page cache goes straight from HDF5's memory (gathering it would only copy it).
    if (!run.direct && length > RUN_BYTES / 2) {
      flush(stream);
      return call(write, stream, buffer, offset, length, position, canOwn);
    }
    for (let done = 0; done < length; ) {
      run.maybeGoDirect();
      if (run.length === 0) run.begin(position + done);
      if (run.room === 0) {
        flush(stream, true);
        if (run.length === 0) run.begin(position + done);
      }
      const n = Math.min(run.room, length - done);
      const part = buffer.subarray(offset + done, offset + done + n);
      // Into a direct buffer through `put`: HDF5's chunks start at any file offset, its memory on 8 bytes.
      if (run.direct) run.direct.put(part, position + done - run.base);
      else run.bytes.set(part, position + done - run.base);
      run.length += n;
      done += n;
    }
    return length;
  };
  fs.read = (stream, buffer, offset, length, position) => {
    flush(stream);
    const run = runs.get(stream.path);
    if (!run?.direct) return call(read, stream, buffer, offset, length, position);
    if (position === undefined) {
      settle(stream);
      return call(read, stream, buffer, offset, length, position);
    }
    // What HDF5 reads is on disk, or in the page cache, once no direct write of it is under way, but for the writes
    // held back, which are newer than any direct write they meet (see flush): laid over it in their order. (Written
    // first instead, as HDF5 reads back nodes of a chunk index, they waited for the direct writes after all.)
    run.direct.settle(position, position + length);
    return overlayHeld(run, buffer.subarray(offset, offset + length), position, call(read, stream, buffer, offset, length, position));
  };
  fs.llseek = (stream, offset, whence) => {
    settle(stream);
    return call(llseek, stream, offset, whence);
  };
  fs.close = (stream) => {
    try {
      settle(stream);
    } finally {
      call(close, stream);
    }
  };
  fs.ftruncate = (fd, length) => {
    settle(fs.getStream(fd));
    call(ftruncate, fd, length);
  };
  fs.fstat = (fd) => {
    settle(fs.getStream(fd));
    return call(fstat, fd);
  };
  return runs;
}
