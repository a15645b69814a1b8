import { LRUCache } from 'lru-cache';

/**
 * Caches of things that are expensive to open and safe to share between activities or compute tasks: open images
 * (headers, block cache) and parsed, indexed label sources. Bounded (least recently used out, by lru-cache), so a
 * long-lived worker does not grow forever; values are leased, so an entry evicted while an activity still reads
 * it is disposed only when released.
 */
export class BoundedCache<V> {
  private readonly entries: LRUCache<string, LeasedEntry<V>>;

  constructor(
    capacity: number,
    private readonly dispose: (value: V) => Promise<void> | void = () => {},
  ) {
    this.entries = new LRUCache<string, LeasedEntry<V>>({
      max: capacity,
      // Evicted (or deleted after a failed open): disposed now if idle, else by its last release.
      dispose: (entry) => {
        entry.evicted = true;
        if (entry.users === 0) void this.disposeEntry(entry);
      },
    });
  }

  /** Leases the value for key, opening it once even when several activities ask at the same time. */
  acquire(key: string, open: () => Promise<V>): { value: Promise<V>; release(): void } {
    let entry = this.entries.get(key);
    if (!entry) {
      const opened: LeasedEntry<V> = { value: open(), users: 0, evicted: false, disposed: false };
      opened.value.catch(() => {
        if (this.entries.peek(key) === opened) this.entries.delete(key); // a failed open is not cached
      });
      entry = opened;
    }
    entry.users++;
    this.entries.set(key, entry); // after the lease is counted: a set that evicts never disposes a leased entry
    const leased = entry;
    let released = false;
    return {
      value: leased.value,
      release: () => {
        if (released) return;
        released = true;
        leased.users--;
        if (leased.evicted && leased.users === 0) void this.disposeEntry(leased);
      },
    };
  }

  private disposeEntry(entry: LeasedEntry<V>): Promise<void> {
    if (entry.disposed) return Promise.resolve();
    entry.disposed = true;
    return entry.value.then(this.dispose, () => {});
  }

  /** Disposes every entry, leased or not (the worker is shutting down). */
  async clear(): Promise<void> {
    const entries = [...this.entries.values()];
    for (const entry of entries) entry.disposed = true; // disposed below, awaited, not by the dispose hook
    this.entries.clear();
    await Promise.all(entries.map((entry) => entry.value.then(this.dispose, () => {})));
  }
}

interface LeasedEntry<V> {
  value: Promise<V>;
  users: number;
  evicted: boolean;
  disposed: boolean;
}
