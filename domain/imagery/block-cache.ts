/**
 * Decoded blocks by index, least recently used first out, bounded in bytes. Holds promises so concurrent reads
 * of one block decode it once. geotiff's own `tiff.cache` does the same without a bound, which a long chunk of
 * windows over a large scene would turn into the whole decoded image in memory.
 *
 * A value may own memory that must be given back (a block kept in WebAssembly memory): `dispose` gets each value
 * once it has left the cache (evicted, cleared, or never cached for being too large) and no reader holds it.
 * Readers hold a value from `acquire` to `release`, so a block is never reused under a copy in progress.
 */
interface Entry<T> {
  value: Promise<T>;
  bytes: number;
  holds: number;
  /** Out of the cache (evicted or cleared): disposed when the last hold is released. */
  gone: boolean;
}

export interface Held<T> {
  value: Promise<T>;
  release(): void;
}

export class BlockCache<T> {
  private readonly entries = new Map<number, Entry<T>>();
  private bytesHeld = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly dispose: (value: T) => void = () => {},
  ) {}

  /** The value for `key`, loading it if absent, not held: for loading ahead (a value too large to cache is disposed). */
  get(key: number, bytes: number, load: () => Promise<T>): Promise<T> {
    const held = this.acquire(key, bytes, load);
    held.release();
    return held.value;
  }

  /** The value for `key`, loading it if absent, held until `release` (call it exactly once). */
  acquire(key: number, bytes: number, load: () => Promise<T>): Held<T> {
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      entry = { value: load(), bytes, holds: 0, gone: !this.fits(bytes) };
      if (!entry.gone) {
        const cached = entry;
        this.entries.set(key, cached);
        this.bytesHeld += bytes;
        // A failed decode is not cached: the next read retries it.
        cached.value.catch(() => this.remove(key, cached));
      }
    }
    entry.holds++;
    this.evict();
    const held = entry;
    return { value: held.value, release: () => this.release(held) };
  }

  /** Whether a value of this size is kept at all (a larger one is loaded for its reader alone). */
  fits(bytes: number): boolean {
    return bytes <= this.maxBytes;
  }

  has(key: number): boolean {
    return this.entries.has(key);
  }

  clear(): void {
    for (const [key, entry] of this.entries) this.remove(key, entry);
  }

  private release(entry: Entry<T>): void {
    entry.holds--;
    if (entry.holds > 0) return;
    if (entry.gone) this.disposeOf(entry);
    else if (this.bytesHeld > this.maxBytes) this.evict();
  }

  private remove(key: number, entry: Entry<T>): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.bytesHeld -= entry.bytes;
    entry.gone = true;
    if (entry.holds === 0) this.disposeOf(entry);
  }

  private disposeOf(entry: Entry<T>): void {
    entry.value.then(this.dispose, () => {});
  }

  /** Least recently used first; a held entry stays (over the bound for a moment) until its reader is done. */
  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytesHeld <= this.maxBytes) break;
      if (entry.holds === 0) this.remove(key, entry);
    }
  }
}
