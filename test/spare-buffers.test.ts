/**
 * Spare chip buffers on a reading thread: kept by size up to a cap, and a window read into one has exactly the
 * pixels of a window read into fresh memory (nothing of the buffer's old contents survives).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage, type ImageSource } from '../domain/imagery/index.js';
import { MAX_SPARE_BYTES, offerSpareBuffers, spareBufferBytes, takeSpareBuffer } from '../domain/imagery/spare-buffers.js';
import { OLINDA } from './support/stack.js';

let image: ImageSource;
beforeAll(async () => {
  image = await openImage(OLINDA.image);
});
afterAll(async () => {
  await image?.close();
});

/** Empties the thread's spares (other tests in this file must not see leftovers). */
function drain(): void {
  for (const size of [3 * 30 * 30, 6 * 30 * 30, 1024, MAX_SPARE_BYTES / 2]) while (takeSpareBuffer(size)) {}
}

describe('spare buffers', () => {
  it('are kept by size, up to a cap, and a moved-away (empty) buffer is not kept', () => {
    drain();
    const a = new ArrayBuffer(1024);
    const b = new ArrayBuffer(1024);
    const moved = new ArrayBuffer(1024);
    structuredClone(moved, { transfer: [moved] }); // detached: byteLength 0
    offerSpareBuffers([a, b, moved]);
    expect(spareBufferBytes()).toBe(2048);
    expect(takeSpareBuffer(512)).toBeUndefined();
    expect([takeSpareBuffer(1024), takeSpareBuffer(1024)]).toEqual(expect.arrayContaining([a, b]));
    expect(takeSpareBuffer(1024)).toBeUndefined();
    offerSpareBuffers([new ArrayBuffer(MAX_SPARE_BYTES / 2), new ArrayBuffer(MAX_SPARE_BYTES / 2), new ArrayBuffer(MAX_SPARE_BYTES / 2)]);
    expect(spareBufferBytes()).toBe(MAX_SPARE_BYTES); // the last one did not fit
    // Full of one size, a buffer of another size (a later dataset's windows) makes room by dropping the old size.
    const newer = new ArrayBuffer(1024);
    offerSpareBuffers([newer]);
    expect(spareBufferBytes()).toBe(1024);
    expect(takeSpareBuffer(MAX_SPARE_BYTES / 2)).toBeUndefined();
    expect(takeSpareBuffer(1024)).toBe(newer);
    expect(spareBufferBytes()).toBe(0);
  });

  it('carry a window read out of the codecs memory, with its pixels and nothing of their old contents', async () => {
    drain();
    const window = { x: 101, y: 57, width: 30, height: 30 };
    const fresh = await image.readWindow(window, [4, 2, 6]);
    const spare = new ArrayBuffer(3 * 30 * 30);
    new Uint8Array(spare).fill(0xab);
    offerSpareBuffers([spare, new ArrayBuffer(6 * 30 * 30)]);
    const reused = await image.readWindow(window, [4, 2, 6]);
    expect(reused.data.buffer).toBe(spare);
    expect(Buffer.from(spare)).toEqual(Buffer.from(fresh.data.buffer, fresh.data.byteOffset, fresh.data.byteLength));
    // The other size waits for a window of its size.
    expect(spareBufferBytes()).toBe(6 * 30 * 30);
    const all = await image.readWindow(window);
    expect(all.data.byteLength).toBe(6 * 30 * 30);
    expect(spareBufferBytes()).toBe(0);
    drain();
  });
});
