/**
 * veda's chip file: a 16-byte header, then the samples as raw little-endian bytes, band-sequential
 * [bands, height, width] exactly as Raster holds them. Lossless for every dtype and band count.
 *
 *   offset 0  u32  magic "VCHP" (0x56434850)
 *          4  u8   format version (1)
 *          5  u8   dtype code (DTYPE_CODES)
 *          6  u16  bands
 *          8  u32  height
 *         12  u32  width
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { InvalidInputError } from '../errors.js';
import { allocateSamples, bytesOf, bytesPerSample, holdsDtype } from '../imagery/dtypes.js';
import type { Dtype, Raster } from '../types.js';

const MAGIC = 0x56434850;
const VERSION = 1;
export const CHIP_HEADER_BYTES = 16;
const MAX_BANDS = 0xffff;

/** Part of the file format: never reorder. */
const DTYPE_CODES: readonly Dtype[] = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'];

// Typed arrays use the machine's byte order; the format is little-endian (every platform Node ships for).
if (endianness() !== 'LE') throw new Error('veda chips need a little-endian machine');

export function encodeChip(chip: Raster): Buffer {
  return Buffer.concat(encodeChipParts(chip));
}

/**
 * The chip file as its header and its samples, the samples as a view of `chip.data` (no copy): a store writes the
 * two parts one after the other, where one buffer would copy every sample on the worker's main thread.
 */
export function encodeChipParts(chip: Raster): [header: Uint8Array, samples: Uint8Array] {
  const { dtype, bands, width, height, data } = chip;
  if (bands > MAX_BANDS) throw new InvalidInputError(`a chip holds at most ${MAX_BANDS} bands, got ${bands}`);
  const dims = [bands, width, height].every((n) => Number.isSafeInteger(n) && n > 0 && n <= 0xffffffff);
  if (!dims || !holdsDtype(data, dtype) || data.length !== bands * width * height) {
    throw new InvalidInputError(
      `chip data (${data.constructor.name}, ${data.length} samples) does not match ${dtype} ${bands} x ${height} x ${width}`,
    );
  }
  const header = Buffer.alloc(CHIP_HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt8(VERSION, 4);
  header.writeUInt8(DTYPE_CODES.indexOf(dtype), 5);
  header.writeUInt16LE(bands, 6);
  header.writeUInt32LE(height, 8);
  header.writeUInt32LE(width, 12);
  return [header, bytesOf(data)];
}

/** The chip in `bytes`; `name` (its key) goes into the error when the bytes are not a whole veda chip. */
export function decodeChip(bytes: Uint8Array, name: string): Raster {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = chipShape(buf, buf.length, name);
  // A copy into a fresh typed array of its own: file buffers need not be aligned for 2-8 byte samples, and callers
  // (users' code among them) may take `data.buffer` for the samples.
  const data = allocateSamples(shape.dtype, shape.bands * shape.width * shape.height);
  bytesOf(data).set(buf.subarray(CHIP_HEADER_BYTES));
  return { ...shape, data };
}

/**
 * The chip in a local file, its samples read straight into an array of their own: decodeChip's copy, and a second
 * buffer the size of the chip, saved (a 1000-window batch reads 786 MB of chips on the worker's main thread).
 * Throws the file system's error (ENOENT for a missing file) as it comes.
 */
export async function readChipFile(path: string, name: string): Promise<Raster> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(Math.min(size, CHIP_HEADER_BYTES)); // shorter: not a chip, as chipShape says
    await readFully(handle, header, 0);
    const shape = chipShape(header, size, name);
    const data = allocateSamples(shape.dtype, shape.bands * shape.width * shape.height);
    await readFully(handle, bytesOf(data), CHIP_HEADER_BYTES);
    return { ...shape, data };
  } catch (err) {
    if (err instanceof RangeError) throw new InvalidInputError(`${name} is truncated or corrupt`);
    throw err;
  } finally {
    await handle.close();
  }
}

/** Fills `into` from the file at `position`; RangeError when the file ends first. */
async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new RangeError('the file ends early');
    done += bytesRead;
  }
}

/** What the header says, checked against the chip's whole length in bytes. */
function chipShape(header: Buffer, length: number, name: string): Omit<Raster, 'data'> {
  if (header.length < CHIP_HEADER_BYTES || header.readUInt32LE(0) !== MAGIC || header.readUInt8(4) !== VERSION) {
    throw new InvalidInputError(`${name} is not a veda chip (format ${VERSION})`);
  }
  const dtype = DTYPE_CODES[header.readUInt8(5)];
  const bands = header.readUInt16LE(6);
  const height = header.readUInt32LE(8);
  const width = header.readUInt32LE(12);
  if (!dtype || length !== CHIP_HEADER_BYTES + bands * height * width * bytesPerSample(dtype)) {
    throw new InvalidInputError(`${name} is truncated or corrupt`);
  }
  return { dtype, bands, width, height };
}
