/**
 * Space for the codecs' inputs and outputs in a WebAssembly memory, above what the module itself uses. Space is
 * handed out in classes of whole 4 KiB units and freed space is kept per class for the next request: an image's
 * blocks are nearly all one size, so a decoded block takes the place of an evicted one without touching new memory
 * (fresh pages cost more to fault in than a block costs to copy). WebAssembly memory never shrinks, so the arena
 * bounds what it reserves: kept blocks get new space only below `reserveLimit` (else freed space of their class or
 * up to twice its size, else they are not kept), and a decode's own space reuses any larger freed space before it
 * grows, so a worker that meets images of many block sizes does not reserve a class's worth for each.
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
  /** Freed space by class. */
  private readonly free = new Map<number, number[]>();
  /** The class of each piece of space handed out, by where it starts (a request may get a larger class). */
  private readonly given = new Map<number, number>();
  private kept = 0;

  /** `base`: the first byte the arena may use (the module's own data and heap lie below it). */
  constructor(
    private readonly memory: GrowableMemory,
    base: number,
    /** Bytes of blocks `keep` may hold at once; past it, callers copy blocks out and free them. */
    private readonly keepLimit: number,
    /** Bytes the arena reserves at most for kept blocks to use (it grows past it only for a decode's own space). */
    private readonly reserveLimit: number = keepLimit + keepLimit / 2,
  ) {
    this.top = Math.ceil(base / UNIT) * UNIT;
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

  /**
   * Space for at least `bytes` for a moment (a decode's input or output): freed space of the class, else the smallest
   * larger freed space, else new space.
   */
  alloc(bytes: number): number {
    const size = Arena.classOf(bytes);
    return this.reuse(size, Infinity) ?? this.extend(size);
  }

  /**
   * Space for a block to keep (counted against the keep limit until releaseKept): freed space of the class or up to
   * twice as large, else new space within the arena's bound; null when the limit or the bound says no.
   */
  allocKept(bytes: number): number | null {
    const size = Arena.classOf(bytes);
    if (this.kept + size > this.keepLimit) return null;
    const at = this.reuse(size, 2 * size) ?? (this.top + size <= this.reserveLimit ? this.extend(size) : null);
    if (at !== null) this.kept += this.given.get(at)!;
    return at;
  }

  /** Returns space from alloc for reuse. */
  release(at: number): void {
    const size = this.given.get(at);
    if (size === undefined) throw new Error(`codec arena: nothing was handed out at ${at}`);
    this.given.delete(at);
    const list = this.free.get(size);
    if (list) list.push(at);
    else this.free.set(size, [at]);
  }

  /** Returns space from allocKept for reuse. */
  releaseKept(at: number): void {
    this.kept -= this.given.get(at) ?? 0;
    this.release(at);
  }

  /** Bytes of memory the arena has reserved so far (kept, freed for reuse, or in use for a moment). */
  get reserved(): number {
    return this.top;
  }

  get keptBytes(): number {
    return this.kept;
  }

  /** Freed space of a class from `min` to `max` bytes, the smallest there is, or null. */
  private reuse(min: number, max: number): number | null {
    let best: number | null = this.free.get(min)?.length ? min : null;
    if (best === null) {
      for (const [size, list] of this.free) {
        if (list.length > 0 && size >= min && size <= max && (best === null || size < best)) best = size;
      }
    }
    if (best === null) return null;
    const at = this.free.get(best)!.pop()!;
    this.given.set(at, best);
    return at;
  }

  private extend(size: number): number {
    const at = this.top;
    const have = this.memory.buffer.byteLength;
    if (at + size > have) {
      const needed = Math.ceil((at + size - have) / PAGE);
      // Grown by a quarter at least: each grow of a large memory costs milliseconds (and a garbage collection).
      // Where that much is refused (the engine's or the machine's limit), what is needed may still be granted.
      try {
        this.memory.grow(Math.max(needed, Math.ceil(have / 4 / PAGE)));
      } catch {
        this.memory.grow(needed);
      }
    }
    this.top = at + size;
    this.given.set(at, size);
    return at;
  }
}
