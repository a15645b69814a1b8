/**
 * Space for the codecs' inputs and outputs in a WebAssembly memory, above what the module itself uses. Space is
 * handed out in classes of whole 4 KiB units and freed space is kept per class for the next request of the same
 * class: an image's blocks are nearly all one size, so a decoded block takes the place of an evicted one without
 * touching new memory (fresh pages cost more to fault in than a block costs to copy). WebAssembly memory never
 * shrinks, so what a thread has used stays reserved for its next blocks.
 */

/** WebAssembly's page: the unit the memory grows by. */
const PAGE = 65536;
const UNIT = 4096;

export interface GrowableMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export class Arena {
  private top: number;
  private readonly free = new Map<number, number[]>();
  private kept = 0;

  /** `base`: the first byte the arena may use (the module's own data and heap lie below it). */
  constructor(
    private readonly memory: GrowableMemory,
    base: number,
    /** Bytes of blocks `keep` may hold at once; past it, callers copy blocks out and free them. */
    private readonly keepLimit: number,
  ) {
    this.top = Math.ceil(base / PAGE) * PAGE;
  }

  /** The class (bytes actually reserved) of a request for `bytes`. */
  static classOf(bytes: number): number {
    return Math.max(UNIT, Math.ceil(bytes / UNIT) * UNIT);
  }

  /**
   * A size for passing data of `bytes` in that leaves few classes: the next power of two (compressed blocks vary in
   * size, and a class per size would keep a freed input of each).
   */
  static inputSize(bytes: number): number {
    return 2 ** Math.ceil(Math.log2(Math.max(UNIT, bytes)));
  }

  /** Reserves at least `bytes` and returns where they start; grows the memory if no freed block of the class is left. */
  alloc(bytes: number): number {
    const size = Arena.classOf(bytes);
    const reused = this.free.get(size)?.pop();
    if (reused !== undefined) return reused;
    const at = this.top;
    const have = this.memory.buffer.byteLength;
    // Grown by a quarter at least: each grow of a large memory costs milliseconds (and a garbage collection).
    if (at + size > have) this.memory.grow(Math.max(Math.ceil((at + size - have) / PAGE), Math.ceil(have / 4 / PAGE)));
    this.top = at + size;
    return at;
  }

  /** Returns a block of `bytes` at `at` (from alloc) for reuse. */
  release(at: number, bytes: number): void {
    const size = Arena.classOf(bytes);
    const list = this.free.get(size);
    if (list) list.push(at);
    else this.free.set(size, [at]);
  }

  /** Whether a block of `bytes` may be kept (counted against the limit until `unkeep`); false when the limit is reached. */
  keep(bytes: number): boolean {
    const size = Arena.classOf(bytes);
    if (this.kept + size > this.keepLimit) return false;
    this.kept += size;
    return true;
  }

  unkeep(bytes: number): void {
    this.kept -= Arena.classOf(bytes);
  }

  /** Bytes of memory the arena has reserved so far (kept, freed for reuse, or in use for a moment). */
  get reserved(): number {
    return this.top;
  }

  get keptBytes(): number {
    return this.kept;
  }
}
