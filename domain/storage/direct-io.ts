/**
 * Files written and read around the page cache (O_DIRECT), for data written once and read rarely: chips, and the
 * image and mask chunks of batch files (coalesced-writes.ts). Each chip went through the kernel's page cache twice
 * (written at ingest, read for a batch) and stayed there, so a 1000-window ingest of 256 x 256 x 6 uint16 chips
 * took 786 MB of new page-cache memory, and its batch 852 MB more. Where memory the guest has not touched lately is
 * slow to hand out (a VM whose free pages go back to the host: this kind of machine), that was 1.5 s of kernel time
 * per 1000 chips (1.5 s more for the batch), plus the flusher's writeback, against 0.1 s with O_DIRECT.
 *
 * O_DIRECT moves whole blocks from memory aligned to a block boundary. Node's Buffers come from malloc and are not
 * aligned; a WebAssembly memory is mapped page by page, so its first byte is. Buffers are pooled by size, so the
 * memory is touched once and reused. Where the system or filesystem has no O_DIRECT (macOS, some FUSE and older
 * tmpfs), callers fall back to ordinary files: `directIoSupported` says which.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Offsets, lengths and addresses of direct I/O are multiples of this: the largest common logical block (4 KiB). */
export const DIRECT_IO_BLOCK = 4096;
const WASM_PAGE = 65536;
/** Idle buffers kept per size: as many as chips written and read at once, with room. */
const IDLE_PER_SIZE = 32;

const O_DIRECT: number | undefined = (constants as Record<string, number | undefined>).O_DIRECT;

/** The part of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
const { WebAssembly } = globalThis as unknown as {
  WebAssembly: {
    Memory: new (size: { initial: number; maximum: number; shared?: boolean }) => { buffer: ArrayBuffer };
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object, imports: object) => { exports: { copy(to: number, from: number, length: number): void } };
  };
};

/** Memory whose first byte is on a page boundary: whole WebAssembly pages of 64 KiB. */
class AlignedBuffer {
  readonly bytes: Uint8Array;

  constructor(readonly pages: number) {
    this.bytes = new Uint8Array(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer);
  }
}

function pagesFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WASM_PAGE));
}

/** Aligned buffers by size, reused: a fresh one costs new memory, a reused one does not. */
class AlignedPool {
  private readonly idle = new Map<number, AlignedBuffer[]>();

  take(bytes: number): AlignedBuffer {
    const pages = pagesFor(bytes);
    return this.idle.get(pages)?.pop() ?? new AlignedBuffer(pages);
  }

  give(buffer: AlignedBuffer): void {
    const list = this.idle.get(buffer.pages) ?? [];
    this.idle.set(buffer.pages, list);
    if (list.length < IDLE_PER_SIZE) list.push(buffer);
  }
}

const pool = new AlignedPool();

function roundUp(n: number): number {
  return Math.ceil(n / DIRECT_IO_BLOCK) * DIRECT_IO_BLOCK;
}

/** The errors that mean "no direct I/O here" rather than a failed write or read. */
function directIoUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP';
}

/** Directories tried, by path: a filesystem answers the same for all its files. */
const tried = new Map<string, Promise<boolean>>();
const MAX_TRIED = 1000;

/**
 * Whether files in `dir` (which must exist) can be written and read with O_DIRECT: tried once per directory with a
 * block-sized file, removed again.
 */
export function directIoSupported(dir: string): Promise<boolean> {
  let answer = tried.get(dir);
  if (!answer) {
    if (tried.size >= MAX_TRIED) tried.clear();
    answer = tryDirectIo(dir);
    tried.set(dir, answer);
    answer.catch(() => tried.delete(dir)); // a failure (a missing directory) is not an answer
  }
  return answer;
}

async function tryDirectIo(dir: string): Promise<boolean> {
  if (O_DIRECT === undefined) return false;
  const probe = join(dir, `.direct-io-probe-${randomBytes(6).toString('hex')}`);
  const buffer = pool.take(DIRECT_IO_BLOCK);
  let handle: FileHandle | undefined;
  try {
    handle = await open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_DIRECT, 0o600);
    await handle.write(buffer.bytes, 0, DIRECT_IO_BLOCK, 0);
    await handle.close();
    handle = await open(probe, constants.O_RDONLY | O_DIRECT);
    return (await handle.read(buffer.bytes, 0, DIRECT_IO_BLOCK, 0)).bytesRead === DIRECT_IO_BLOCK;
  } catch (err) {
    if (directIoUnsupported(err)) return false;
    throw err;
  } finally {
    pool.give(buffer);
    await handle?.close().catch(() => undefined);
    await rm(probe, { force: true });
  }
}

/**
 * Writes the parts one after the other into a new file (failing if it exists) with O_DIRECT: they are copied into a
 * pooled aligned buffer, written as whole blocks, and the file cut to their length. Only where directIoSupported.
 */
export async function writeFileDirect(file: string, parts: readonly Uint8Array[]): Promise<void> {
  const length = parts.reduce((n, p) => n + p.byteLength, 0);
  const buffer = pool.take(roundUp(length));
  try {
    let at = 0;
    for (const part of parts) {
      buffer.bytes.set(part, at);
      at += part.byteLength;
    }
    const padded = roundUp(length);
    buffer.bytes.fill(0, length, padded); // the tail is cut off below; zeros keep old bytes out of a torn file
    const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_DIRECT!, 0o666);
    try {
      for (let done = 0; done < padded; ) {
        const { bytesWritten } = await handle.write(buffer.bytes, done, padded - done, done);
        // Direct writes move whole blocks; a short one that is not (a full disk) cannot be continued.
        if (bytesWritten === 0 || bytesWritten % DIRECT_IO_BLOCK !== 0) throw shortWrite(file, done + bytesWritten, padded);
        done += bytesWritten;
      }
      if (padded !== length) await handle.truncate(length);
    } finally {
      await handle.close();
    }
  } finally {
    pool.give(buffer);
  }
}

/**
 * Reads a whole file with O_DIRECT into a pooled aligned buffer and hands its bytes to `use`, whose result is
 * returned; the bytes are reused afterwards, so `use` copies what it keeps. Only where directIoSupported.
 */
export async function readFileDirect<T>(file: string, use: (bytes: Uint8Array) => T): Promise<T> {
  const handle = await open(file, constants.O_RDONLY | O_DIRECT!);
  let buffer: AlignedBuffer | undefined;
  try {
    const { size } = await handle.stat();
    const padded = roundUp(size);
    buffer = pool.take(padded);
    let done = 0;
    while (done < padded) {
      const { bytesRead } = await handle.read(buffer.bytes, done, padded - done, done);
      if (bytesRead === 0) break; // the end of the file: its last block is short
      done += bytesRead;
      if (bytesRead % DIRECT_IO_BLOCK !== 0) break;
    }
    return use(buffer.bytes.subarray(0, Math.min(done, size)));
  } finally {
    await handle.close();
    if (buffer) pool.give(buffer);
  }
}

/**
 * Direct writes of whole blocks to a file that is also written through another descriptor, from aligned buffers
 * handed out here. Every buffer handed out is written exactly once (possibly nothing of it), in the order handed out.
 */
export interface DirectWrites {
  /** The buffer to gather the next run in: aligned, `runBytes` long; waits until its last write is done. */
  buffer(): Uint8Array;
  /**
   * Copies `source` into the buffer last handed out, from its byte `at`: as fast as a plain copy whatever the two
   * addresses, where `set` of bytes 8-byte aligned differently (HDF5's chunk at an odd file offset) takes 6-8 times as long.
   */
  put(source: Uint8Array | Int8Array, at: number): void;
  /**
   * Writes bytes [from, to) of the buffer last handed out at `position` (all three whole blocks), or nothing when
   * from === to; may return before the bytes are written, so the buffer is not changed until handed out again.
   */
  write(from: number, to: number, position: number): void;
  /** Returns once no write under way touches bytes [from, to) of the file; throws the first that failed. */
  settle(from: number, to: number): void;
  /** Returns once every write is done; throws the first that failed. */
  drain(): void;
  /** Drains (a failure is thrown) and closes the file's direct descriptor. */
  close(): void;
}

/**
 * A WebAssembly function over a shared memory, `copy(to, from, length)`, with the engine's own memmove (`memory.copy`).
 * V8 copies between typed arrays a word at a time only where source and target are aligned alike; otherwise a byte at a
 * time: measured here, 786 MB in 220 ms against 30 ms. Within one memory, memory.copy is fast either way (11 ms), so
 * a misaligned copy becomes an aligned copy next to its place plus a shift into it. The module, hand-assembled:
 * (import "m" "mem" (memory 1 65536 shared)) (func (export "copy") (param i32 i32 i32) memory.copy).
 */
const MEMMOVE_MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
  ...[0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00], // types: (i32, i32, i32) -> ()
  ...[0x02, 0x0d, 0x01, 0x01, 0x6d, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x03, 0x01, 0x80, 0x80, 0x04], // import m.mem: shared, 1..65536 pages
  ...[0x03, 0x02, 0x01, 0x00], // one function of type 0
  ...[0x07, 0x08, 0x01, 0x04, 0x63, 0x6f, 0x70, 0x79, 0x00, 0x00], // export "copy"
  ...[0x0a, 0x0e, 0x01, 0x0c, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, 0x00, 0x00, 0x0b], // local.get 0 1 2; memory.copy
]);
/** Bytes past a copy that `put` uses for a while: its aligned copy lands up to 7 bytes after its place. */
const PUT_SLACK = 7;

/** memmove within `memory` (a shared WebAssembly memory), by byte offsets. */
function memmoveIn(memory: object): (to: number, from: number, length: number) => void {
  return new WebAssembly.Instance(new WebAssembly.Module(MEMMOVE_MODULE), { m: { mem: memory } }).exports.copy;
}

/** Buffers written at once, at most, by a writing thread. */
const WRITE_SLOTS = 3;
const FREE = 0;
const PENDING = 1;
const STOP = 2;

/**
 * The writing thread: plain JavaScript (evaluated, so it runs the same from sources and from dist/). It waits for
 * the slots in turn, writes each, frees it; a failure is sent on `port` and the thread stops with the slot pending,
 * so the writer finds it at its next wait.
 */
const WRITER_SOURCE = `
const { writeSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const { fd, memory, state, meta, slots, slotBytes, port } = workerData;
const bytes = new Uint8Array(memory);
for (let i = 0; ; i = (i + 1) % slots) {
  Atomics.wait(state, i, ${FREE});
  if (Atomics.load(state, i) === ${STOP}) break;
  const from = meta[3 * i], to = meta[3 * i + 1], position = meta[3 * i + 2];
  try {
    for (let done = 0; done < to - from; ) {
      const n = writeSync(fd, bytes, i * slotBytes + from + done, to - from - done, position + done);
      if (n === 0 || n % ${DIRECT_IO_BLOCK} !== 0) throw Object.assign(new Error('the disk took ' + (done + n) + ' of ' + (to - from) + ' bytes'), { code: 'EIO' });
      done += n;
    }
  } catch (err) {
    port.postMessage({ message: err.message, code: err.code });
    break;
  }
  Atomics.store(state, i, ${FREE});
  Atomics.notify(state, i);
}
`;

/**
 * Opens `file` (which exists) for direct writes made on a thread of their own, so the caller gathers the next run
 * while the disk takes the last (a direct write returns when the disk has the bytes: 0.7 s of a 852 MB batch
 * otherwise). Buffers of `runBytes` (rounded up to whole WebAssembly pages). Undefined where the system refuses
 * direct writes (see directIoSupported).
 */
export function openDirectWrites(file: string, runBytes: number): DirectWrites | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | O_DIRECT!);
  } catch (err) {
    if (directIoUnsupported(err)) return undefined;
    throw err;
  }
  const slotBytes = pagesFor(runBytes) * WASM_PAGE;
  const pages = (slotBytes / WASM_PAGE) * WRITE_SLOTS;
  const wasmMemory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const memory = wasmMemory.buffer as unknown as SharedArrayBuffer;
  const memmove = memmoveIn(wasmMemory);
  const state = new Int32Array(new SharedArrayBuffer(4 * WRITE_SLOTS));
  const meta = new Float64Array(new SharedArrayBuffer(8 * 3 * WRITE_SLOTS));
  const { port1, port2 } = new MessageChannel();
  const thread = new Worker(WRITER_SOURCE, { eval: true, workerData: { fd, memory, state, meta, slots: WRITE_SLOTS, slotBytes, port: port2 }, transferList: [port2] });
  thread.unref();
  port1.unref();
  let next = 0;
  let current = -1;
  let closed = false;

  /** Waits for slot i to be written; a failed write (reported by the thread) is thrown. */
  const waitFor = (i: number) => {
    while (Atomics.load(state, i) === PENDING) {
      if (Atomics.wait(state, i, PENDING, 50) !== 'timed-out') continue;
      const failure = receiveMessageOnPort(port1)?.message as { message: string; code?: string } | undefined;
      if (failure) {
        closed = true;
        void thread.terminate();
        closeSync(fd);
        throw Object.assign(new Error(`could not write ${file}: ${failure.message}`), { code: failure.code });
      }
    }
  };
  const writes: DirectWrites = {
    buffer() {
      if (current !== -1) throw new Error('direct writes: the last buffer handed out was not written');
      waitFor(next);
      current = next;
      next = (next + 1) % WRITE_SLOTS;
      return new Uint8Array(memory, current * slotBytes, slotBytes);
    },
    put(source, at) {
      if (current === -1) throw new Error('direct writes: no buffer handed out');
      const bytes = new Uint8Array(memory, current * slotBytes, slotBytes);
      // The buffer starts on a page, the source's buffer on 8 bytes at least (a WebAssembly memory, as HDF5's heap,
      // on a page): the addresses are aligned as the offsets are.
      const shift = (((source.byteOffset - at) % 8) + 8) % 8;
      if (shift === 0 || at + source.length + PUT_SLACK > slotBytes) {
        bytes.set(source, at);
        return;
      }
      // The aligned copy runs `shift` bytes past the place it shifts into: those bytes are kept and put back.
      const end = at + source.length;
      const after = bytes.slice(end, end + shift);
      bytes.set(source, at + shift);
      memmove(current * slotBytes + at, current * slotBytes + at + shift, source.length);
      bytes.set(after, end);
    },
    write(from, to, position) {
      if (current === -1) throw new Error('direct writes: no buffer handed out');
      meta.set([from, to, position], 3 * current);
      Atomics.store(state, current, PENDING);
      Atomics.notify(state, current);
      current = -1;
    },
    settle(from, to) {
      for (let i = 0; i < WRITE_SLOTS; i++) {
        const start = meta[3 * i + 2]!;
        const end = start + meta[3 * i + 1]! - meta[3 * i]!;
        if (start < to && from < end) waitFor(i);
      }
    },
    drain() {
      for (let i = 0; i < WRITE_SLOTS; i++) waitFor(i);
    },
    close() {
      if (closed) return;
      try {
        if (current !== -1) writes.write(0, 0, 0);
        writes.drain();
      } finally {
        if (!closed) {
          closed = true;
          Atomics.store(state, next, STOP);
          Atomics.notify(state, next);
          closeSync(fd);
        }
      }
    },
  };
  return writes;
}

/** A direct write the disk took only part of (it is full): the rest cannot follow, as it no longer starts a block. */
function shortWrite(file: string, took: number, asked: number): Error {
  return Object.assign(new Error(`could not write ${file}: the disk took ${took} of ${asked} bytes`), { code: 'EIO' });
}
