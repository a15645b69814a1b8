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
  if (buf.length < CHIP_HEADER_BYTES || buf.readUInt32LE(0) !== MAGIC || buf.readUInt8(4) !== VERSION) {
    throw new InvalidInputError(`${name} is not a veda chip (format ${VERSION})`);
  }
  const dtype = DTYPE_CODES[buf.readUInt8(5)];
  const bands = buf.readUInt16LE(6);
  const height = buf.readUInt32LE(8);
  const width = buf.readUInt32LE(12);
  if (!dtype || buf.length !== CHIP_HEADER_BYTES + bands * height * width * bytesPerSample(dtype)) {
    throw new InvalidInputError(`${name} is truncated or corrupt`);
  }
  // A copy into a fresh typed array of its own: file buffers need not be aligned for 2-8 byte samples, and callers
  // (users' code among them) may take `data.buffer` for the samples.
  const data = allocateSamples(dtype, bands * width * height);
  bytesOf(data).set(buf.subarray(CHIP_HEADER_BYTES));
  return { dtype, bands, width, height, data };
}
