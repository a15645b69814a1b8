/**
 * A static grid index of bounding boxes: a window asks for the boxes that intersect it without scanning them all.
 * (flatbush would do the same job; a uniform grid is enough for label files and keeps a dependency out.)
 */
import type { Bounds } from '../geo/geotransform.js';

export interface BoxIndex {
  /** Indexes (ascending) of the boxes that intersect `bounds`, edges included. */
  search(bounds: Bounds): number[];
}

export function createBoxIndex(boxes: readonly Bounds[]): BoxIndex {
  if (boxes.length === 0) return { search: () => [] };
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const b of boxes) {
    minX = Math.min(minX, b[0]);
    minY = Math.min(minY, b[1]);
    maxX = Math.max(maxX, b[2]);
    maxY = Math.max(maxY, b[3]);
  }
  // About one box per cell on average; a box spanning many cells is listed in each (large ones are rare).
  const side = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(boxes.length))));
  const cellW = (maxX - minX) / side || 1;
  const cellH = (maxY - minY) / side || 1;
  const column = (x: number) => Math.min(side - 1, Math.max(0, Math.floor((x - minX) / cellW)));
  const row = (y: number) => Math.min(side - 1, Math.max(0, Math.floor((y - minY) / cellH)));
  const cells: number[][] = Array.from({ length: side * side }, () => []);
  boxes.forEach((b, i) => {
    for (let r = row(b[1]); r <= row(b[3]); r++) {
      for (let c = column(b[0]); c <= column(b[2]); c++) cells[r * side + c]!.push(i);
    }
  });
  const seen = new Uint32Array(boxes.length);
  let stamp = 0;
  return {
    search(bounds) {
      const [qMinX, qMinY, qMaxX, qMaxY] = bounds;
      if (qMaxX < minX || qMinX > maxX || qMaxY < minY || qMinY > maxY) return [];
      stamp++;
      const found: number[] = [];
      for (let r = row(qMinY); r <= row(qMaxY); r++) {
        for (let c = column(qMinX); c <= column(qMaxX); c++) {
          for (const i of cells[r * side + c]!) {
            if (seen[i] === stamp) continue;
            seen[i] = stamp;
            const b = boxes[i]!;
            if (b[0] <= qMaxX && b[2] >= qMinX && b[1] <= qMaxY && b[3] >= qMinY) found.push(i);
          }
        }
      }
      return found.sort((a, b) => a - b);
    },
  };
}
