/**
 * Decoded blocks by index, least recently used first out, bounded in bytes. Holds promises so concurrent reads
 * of one block decode it once. geotiff's own `tiff.cache` does the same without a bound, which a long chunk of
 * windows over a large scene would turn into the whole decoded image in memory.
 */
export class BlockCache<T> {
  private readonly entries = new Map<number, { value: Promise<T>; bytes: number }>();
  private bytesHeld = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: number, bytes: number, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const value = load();
    if (!this.fits(bytes)) return value;
    const entry = { value, bytes };
    this.entries.set(key, entry);
    this.bytesHeld += bytes;
    // A failed decode is not cached: the next read retries it.
    value.catch(() => this.remove(key, entry));
    this.evict();
    return value;
  }

  /** Whether a value of this size is kept at all (a larger one is loaded for its reader alone). */
  fits(bytes: number): boolean {
    return bytes <= this.maxBytes;
  }

  has(key: number): boolean {
    return this.entries.has(key);
  }

  clear(): void {
    this.entries.clear();
    this.bytesHeld = 0;
  }

  private remove(key: number, entry: { value: Promise<T>; bytes: number }): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.bytesHeld -= entry.bytes;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytesHeld <= this.maxBytes) break;
      this.remove(key, entry);
    }
  }
}
