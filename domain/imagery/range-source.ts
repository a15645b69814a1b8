import type { GeoTIFF } from 'geotiff';
import { InvalidInputError } from '../errors.js';
import type { RemoteFile } from '../storage/remote-files.js';

type TiffSource = Parameters<typeof GeoTIFF.fromSource>[0];
type Slice = Parameters<TiffSource['fetchSlice']>[0];

const BLOCK_BYTES = 64 * 1024;
const CACHED_BLOCKS = 64;

/**
 * Byte ranges of a remote file (http, s3, ...) for geotiff, one range request each. Small reads (IFDs, tile
 * offsets, which a COG keeps together at the start) go through cached 64 KiB blocks so they cost a few requests,
 * not one per tile. Written here rather than using geotiff's BlockedSource because that one replaces every
 * failure with "Request failed", and a user needs to know a file is missing rather than have it retried.
 */
export class RangeSource implements TiffSource {
  private size: number | null = null;
  private readonly blocks = new Map<number, Promise<Uint8Array>>();

  constructor(private readonly file: RemoteFile) {}

  get fileSize(): number | null {
    return this.size;
  }

  async fetch(slices: Slice[], signal?: AbortSignal): Promise<ArrayBuffer[]> {
    return Promise.all(slices.map(async (slice) => (await this.fetchSlice(slice, signal)).data));
  }

  /** The bytes of `slice`, zero-padded past the end of the file (as geotiff's file source does). */
  async fetchSlice(slice: Slice, signal?: AbortSignal): Promise<Slice & { data: ArrayBuffer }> {
    const { offset, length } = slice;
    const out = new Uint8Array(length);
    if (length >= BLOCK_BYTES) {
      out.set(await this.request(offset, length, signal));
    } else {
      const first = Math.floor(offset / BLOCK_BYTES);
      const last = Math.floor((offset + length - 1) / BLOCK_BYTES);
      for (let id = first; id <= last; id++) {
        const block = await this.block(id, signal);
        const start = Math.max(offset, id * BLOCK_BYTES);
        const end = Math.min(offset + length, id * BLOCK_BYTES + block.length);
        if (end > start) out.set(block.subarray(start - id * BLOCK_BYTES, end - id * BLOCK_BYTES), start - offset);
      }
    }
    return { offset, length, data: out.buffer };
  }

  async close(): Promise<void> {
    this.blocks.clear();
  }

  private block(id: number, signal?: AbortSignal): Promise<Uint8Array> {
    const cached = this.blocks.get(id);
    if (cached) {
      this.blocks.delete(id);
      this.blocks.set(id, cached);
      return cached;
    }
    const block = this.request(id * BLOCK_BYTES, BLOCK_BYTES, signal);
    this.blocks.set(id, block);
    // A failed read is not cached; the check spares a newer read of the same block that replaced it meanwhile.
    block.catch(() => {
      if (this.blocks.get(id) === block) this.blocks.delete(id);
    });
    if (this.blocks.size > CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!);
    return block;
  }

  private async request(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const { bytes, size } = await this.file.read(offset, length, signal);
    if (size !== null) this.size = size;
    // Short of what was asked and of what the file holds there: the server's length is wrong.
    const expected = this.size === null ? length : Math.max(0, Math.min(length, this.size - offset));
    if (bytes.length < expected) {
      throw new InvalidInputError(
        `${this.file.uri}: the server sent ${bytes.length} bytes for bytes ${offset}-${offset + length - 1} of a file it says ` +
          `holds ${this.size ?? 'an unknown number of'} bytes: its length is wrong (or the file changed)`,
      );
    }
    return bytes;
  }
}
