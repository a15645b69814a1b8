/**
 * Buffers of chips their consumer is done with, handed back to the thread that reads windows so the next windows of
 * that size are copied into them instead of into fresh allocations. A 256 x 256 x 6 uint16 window is 768 KiB: a
 * fresh buffer for each is fresh memory to fault in and garbage for two threads to collect (see ComputePool.recycle).
 * Per thread (module state); a buffer is only ever offered by whoever owns it outright (moved here, never shared).
 */

/**
 * The buffer `data` alone uses (all of it, no other view's): one that can move to another thread, or carry later
 * windows, without emptying or overwriting anyone else's array. Undefined for a view of part of a buffer.
 */
export function soleBuffer(data: ArrayBufferView): ArrayBuffer | undefined {
  const { buffer } = data;
  return buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buffer.byteLength ? buffer : undefined;
}

/** Spare bytes a thread keeps at most: a few chunks' worth of windows; more are left to the garbage collector. */
export const MAX_SPARE_BYTES = 64 * 2 ** 20;

const spares = new Map<number, ArrayBuffer[]>();
let spareBytes = 0;

/**
 * Keeps `buffers` for later windows of their sizes, up to MAX_SPARE_BYTES in all. When full, buffers of other sizes
 * make room first: they were offered for windows of an earlier dataset or tile size, the new ones for the current.
 */
export function offerSpareBuffers(buffers: Iterable<ArrayBuffer>): void {
  for (const buffer of buffers) {
    const size = buffer.byteLength;
    // A detached buffer (moved on since) has no bytes left to reuse.
    if (size === 0) continue;
    if (spareBytes + size > MAX_SPARE_BYTES) dropSizesOtherThan(size);
    if (spareBytes + size > MAX_SPARE_BYTES) continue;
    const ofSize = spares.get(size);
    if (ofSize) ofSize.push(buffer);
    else spares.set(size, [buffer]);
    spareBytes += size;
  }
}

function dropSizesOtherThan(size: number): void {
  for (const [other, kept] of spares) {
    if (other === size) continue;
    spareBytes -= other * kept.length;
    spares.delete(other);
  }
}

/** A kept buffer of exactly `byteLength` bytes (its old contents still in it), or undefined. */
export function takeSpareBuffer(byteLength: number): ArrayBuffer | undefined {
  const buffer = spares.get(byteLength)?.pop();
  if (buffer) spareBytes -= byteLength;
  return buffer;
}

/** Bytes kept now (for tests). */
export function spareBufferBytes(): number {
  return spareBytes;
}
