import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/** Background syncs at once, at most: the thread pool's other users (chip reads) keep their threads. */
const MAX_IN_FLIGHT = 2;

/**
 * Flushes a file to disk while it is still being written: `kick` starts an fdatasync on the thread pool after
 * each slice, so the pages of earlier slices reach the disk while later ones are written and the fsync that makes
 * the file durable before its rename finds little left to do. Failures of a background sync are kept and thrown
 * by `sync`.
 */
export class WriteBehind {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | null = null;

  private background = true;

  private constructor(private readonly handle: FileHandle) {}

  /** Creates the file (failing if it exists); whoever writes it may open and truncate it again. */
  static async create(path: string): Promise<WriteBehind> {
    return new WriteBehind(await open(path, 'wx'));
  }

  /**
   * No more early syncs: the file's bytes now go around the page cache (direct writes), so there is next to nothing
   * to flush early, and a sync would only hold a thread of the pool that reads the next chips.
   */
  stopBackground(): void {
    this.background = false;
  }

  kick(): void {
    if (!this.background || this.inFlight.size >= MAX_IN_FLIGHT) return;
    const flushing: Promise<void> = this.handle
      .datasync()
      .catch((err: Error) => {
        this.failure ??= err;
      })
      .finally(() => this.inFlight.delete(flushing));
    this.inFlight.add(flushing);
  }

  /** Data and metadata on disk; call once the file is complete. */
  async sync(): Promise<void> {
    await this.settled();
    if (this.failure) throw this.failure;
    await this.handle.sync();
  }

  async close(): Promise<void> {
    await this.settled();
    await this.handle.close();
  }

  private async settled(): Promise<void> {
    await Promise.all(this.inFlight);
  }
}
