/**
 * A feature's rings in a window's pixels, less the vertices that cannot change its mask. A window meets a few hundred
 * label polygons whose rings run far past it (on the bench's scene, 30,000 vertices a window, 44% of them above or
 * below it), and each vertex cost a transform and an edge for the scanline. Rings are cut into runs of RUN_EDGES
 * edges with their bounding boxes, found as the feature is read; a run whose box lies wholly beyond one side of the window
 * (by more than a pixel) is replaced by the straight edge from its first vertex to its last.
 *
 * That changes no pixel, for the fill and for the all-touched walk (rasterize.ts): the run and its chord lie in the
 * same half-plane outside the window (a half-plane is convex), so above or below the window neither spans a row of
 * it, and beside it both flip the inside of the same rows (a closed path crosses each row line an even number of
 * times, so a path and its chord cross it with the same parity); edges beyond a side are never walked.
 */
import type { GeoTransform } from '../types.js';
import type { LabelFeature } from './label-source.js';
import type { PackedRings } from './rasterize.js';
import { coordinateCount, ringToPixels } from './window-features.js';

/** Edges a run holds: enough to skip most of a far ring in a few box tests, few enough to skip near its window. */
const RUN_EDGES = 32;
/** A run this many pixels beyond a side of the window counts as beyond it: more than any rounding. */
const MARGIN = 1;

/**
 * [minX, minY, maxX, maxY] of each run of each ring of each polygon, in ring order (a feature's `runBoxes`): found
 * as the feature is read, in the pass that also gives its bounding box.
 */
export function ringRunBoxes(polygons: readonly Float64Array[][]): Float64Array {
  let runs = 0;
  for (const polygon of polygons) for (const ring of polygon) runs += runCount(ring);
  const boxes = new Float64Array(4 * runs);
  let at = 0;
  for (const polygon of polygons) {
    for (const ring of polygon) {
      const last = ring.length / 2 - 1;
      for (let first = 0; first < last; first += RUN_EDGES, at += 4) {
        let minX = Infinity;
        let minY = Infinity;
        let maxX = -Infinity;
        let maxY = -Infinity;
        for (let v = first, end = Math.min(first + RUN_EDGES, last); v <= end; v++) {
          const x = ring[2 * v]!;
          const y = ring[2 * v + 1]!;
          if (x < minX) minX = x;
          if (x > maxX) maxX = x;
          if (y < minY) minY = y;
          if (y > maxY) maxY = y;
        }
        boxes[at] = minX;
        boxes[at + 1] = minY;
        boxes[at + 2] = maxX;
        boxes[at + 3] = maxY;
      }
    }
  }
  return boxes;
}

/** Runs of a closed flat ring of n vertices (the last repeating the first): ceil((n - 1) / RUN_EDGES). */
function runCount(ring: Float64Array): number {
  return Math.ceil(Math.max(0, ring.length / 2 - 1) / RUN_EDGES);
}

/** One feature's rings in window pixels, packed as rasterize.ts burns them; reused from call to call. */
export interface PackedPixelRings extends PackedRings {
  ends: number[];
}

/**
 * Packs all rings of all parts of `feature` into `out` through `inv` (geo -> window pixels), with the runs beyond
 * the window's sides replaced by their chords (see the module comment). `out` grows as needed and is returned.
 */
export function packWindowRings(feature: LabelFeature, inv: GeoTransform, width: number, height: number, out: PackedPixelRings): PackedPixelRings {
  const boxes = feature.runBoxes;
  const size = coordinateCount(feature);
  if (out.coords.length < size) out.coords = new Float64Array(Math.max(size, 2 * out.coords.length));
  out.ends.length = 0;
  let at = 0;
  let box = 0;
  for (const polygon of feature.polygons) {
    for (const ring of polygon) {
      const last = ring.length / 2 - 1;
      if (last >= 0) at = ringToPixels(ring, inv, out.coords, at, 0, 1);
      // Each run adds its vertices past its first (the last one's end), or only its own end when beyond the window.
      for (let first = 0; first < last; first += RUN_EDGES, box += 4) {
        const end = Math.min(first + RUN_EDGES, last);
        at = ringToPixels(ring, inv, out.coords, at, beyondWindow(boxes, box, inv, width, height) ? end : first + 1, end + 1);
      }
      out.ends.push(at);
    }
  }
  return out;
}

/** Whether the run's box, mapped to window pixels, lies wholly more than MARGIN beyond one side of the window. */
function beyondWindow(boxes: Float64Array, at: number, inv: GeoTransform, width: number, height: number): boolean {
  const minX = boxes[at]!;
  const minY = boxes[at + 1]!;
  const maxX = boxes[at + 2]!;
  const maxY = boxes[at + 3]!;
  // An affine map takes a box's extremes at its corners: per axis, the smaller and larger of each term.
  const [a0, a1, a2, b0, b1, b2] = inv;
  const py1 = minX * b1;
  const py2 = maxX * b1;
  const py3 = minY * b2;
  const py4 = maxY * b2;
  if (b0 + Math.max(py1, py2) + Math.max(py3, py4) < -MARGIN) return true;
  if (b0 + Math.min(py1, py2) + Math.min(py3, py4) > height + MARGIN) return true;
  const px1 = minX * a1;
  const px2 = maxX * a1;
  const px3 = minY * a2;
  const px4 = maxY * a2;
  if (a0 + Math.max(px1, px2) + Math.max(px3, px4) < -MARGIN) return true;
  return a0 + Math.min(px1, px2) + Math.min(px3, px4) > width + MARGIN;
}
