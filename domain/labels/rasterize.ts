/**
 * Polygon rasterization in pixel coordinates, with gdal_rasterize's rules (checked against GDAL in the tests):
 * - default (pixel-centre rule): a pixel is burned when its centre is inside the polygon, even-odd over all rings
 *   of all parts, so holes and multipolygons need no special case. Ties, for a centre exactly on an edge: on a
 *   left edge it is out, on a right edge in; on a horizontal edge it is in on the polygon's bottom edge (and on a
 *   top edge, which the half-open edge span counts). Rings must run clockwise in y-up world coordinates
 *   (LabelSource turns them), as GDAL turns them before burning.
 * - allTouched: those pixels plus every pixel an edge passes through, i.e. every pixel the polygon overlaps. A
 *   stretch of edge within PIXEL_EPSILON of a pixel boundary runs along it and burns neither side, so a polygon
 *   drawn on pixel corners burns exactly its pixels even after reprojection noise. Where this differs from
 *   gdal_rasterize -at (GDAL 3.6): GDAL burns some pixels an edge meets only at a corner (depending on the edge's
 *   direction), and the pixel beyond an edge lying on a pixel boundary when the edge's ends are not pixel corners;
 *   veda burns neither. Everywhere else (general position, polygons on pixel corners) the masks are equal.
 */

/** Coordinates within this many pixels of a pixel boundary count as on it (1 cm at 28.5 m is 3.5e-4 px). */
export const PIXEL_EPSILON = 1e-3;

/** Burns `value` into `mask` (row-major width x height) for one polygon given as flat closed rings. */
export function burnPolygon(
  mask: Uint8Array,
  width: number,
  height: number,
  rings: readonly Float64Array[],
  value: number,
  allTouched: boolean,
): void {
  fillPixelCentres(mask, width, height, rings, value);
  if (allTouched) for (const ring of rings) burnEdgeCells(mask, width, height, ring, value);
}

interface Edge {
  yTop: number;
  yBottom: number;
  xTop: number;
  xBottom: number;
}

function fillPixelCentres(mask: Uint8Array, width: number, height: number, rings: readonly Float64Array[], value: number): void {
  const edges: Edge[] = [];
  // Horizontal edges running right to left (the bottom of a clockwise ring) burn their row when they lie exactly on
  // a row of pixel centres; the half-open span [yTop, yBottom) of the other edges leaves those centres out.
  const bottoms: Array<{ y: number; xFrom: number; xTo: number }> = [];
  let minY = Infinity;
  let maxY = -Infinity;
  for (const ring of rings) {
    for (let i = 0; i + 3 < ring.length; i += 2) {
      const x1 = ring[i]!;
      const y1 = ring[i + 1]!;
      const x2 = ring[i + 2]!;
      const y2 = ring[i + 3]!;
      minY = Math.min(minY, y1);
      maxY = Math.max(maxY, y1);
      if (y1 < y2) edges.push({ yTop: y1, yBottom: y2, xTop: x1, xBottom: x2 });
      else if (y1 > y2) edges.push({ yTop: y2, yBottom: y1, xTop: x2, xBottom: x1 });
      else if (x1 > x2) bottoms.push({ y: y1, xFrom: x1, xTo: x2 });
    }
  }
  const firstRow = Math.max(0, Math.trunc(minY));
  const lastRow = Math.min(height - 1, Math.trunc(maxY));
  if (firstRow > lastRow) return;
  edges.sort((a, b) => a.yTop - b.yTop);

  const burnSpan = (row: number, from: number, to: number) => {
    const start = Math.max(0, from);
    const end = Math.min(width - 1, to);
    if (start <= end) mask.fill(value, row * width + start, row * width + end + 1);
  };
  let active: Edge[] = [];
  let next = 0;
  const crossings: number[] = [];
  for (let row = firstRow; row <= lastRow; row++) {
    const cy = row + 0.5;
    while (next < edges.length && edges[next]!.yTop <= cy) active.push(edges[next++]!);
    active = active.filter((e) => cy < e.yBottom);
    crossings.length = 0;
    for (const e of active) {
      // The pixel boundary nearest the crossing: columns between two boundaries have their centres inside.
      const x = ((cy - e.yTop) * (e.xBottom - e.xTop)) / (e.yBottom - e.yTop) + e.xTop;
      crossings.push(Math.floor(x + 0.5));
    }
    crossings.sort((a, b) => a - b);
    for (let i = 0; i + 1 < crossings.length; i += 2) {
      if (crossings[i]! <= width - 1 && crossings[i + 1]! > 0) burnSpan(row, crossings[i]!, crossings[i + 1]! - 1);
    }
    for (const b of bottoms) {
      if (b.y !== cy) continue;
      const from = Math.floor(b.xTo + 0.5);
      const to = Math.floor(b.xFrom + 0.5);
      if (from <= width - 1 && to > 0) burnSpan(row, from, to - 1);
    }
  }
}

/**
 * Burns the cells one ring's edges pass through. Each edge is cut where it crosses pixel boundaries; each piece
 * burns the cell it lies in, unless the whole piece hugs one boundary (within PIXEL_EPSILON).
 */
function burnEdgeCells(mask: Uint8Array, width: number, height: number, ring: Float64Array, value: number): void {
  const ts: number[] = [];
  for (let i = 0; i + 3 < ring.length; i += 2) {
    const x1 = ring[i]!;
    const y1 = ring[i + 1]!;
    const x2 = ring[i + 2]!;
    const y2 = ring[i + 3]!;
    if ((x1 < 0 && x2 < 0) || (y1 < 0 && y2 < 0) || (x1 > width && x2 > width) || (y1 > height && y2 > height)) continue;
    const dx = x2 - x1;
    const dy = y2 - y1;
    // Only the part of the edge over the raster (one pixel of margin) needs cutting.
    let t0 = 0;
    let t1 = 1;
    if (dx !== 0) {
      const ta = (-1 - x1) / dx;
      const tb = (width + 1 - x1) / dx;
      t0 = Math.max(t0, Math.min(ta, tb));
      t1 = Math.min(t1, Math.max(ta, tb));
    }
    if (dy !== 0) {
      const ta = (-1 - y1) / dy;
      const tb = (height + 1 - y1) / dy;
      t0 = Math.max(t0, Math.min(ta, tb));
      t1 = Math.min(t1, Math.max(ta, tb));
    }
    if (t0 >= t1) continue;
    ts.length = 0;
    ts.push(t0, t1);
    addGridCrossings(ts, x1, dx, t0, t1);
    addGridCrossings(ts, y1, dy, t0, t1);
    ts.sort((a, b) => a - b);
    for (let k = 0; k + 1 < ts.length; k++) {
      const ta = ts[k]!;
      const tb = ts[k + 1]!;
      if (tb <= ta) continue;
      const ax = x1 + ta * dx;
      const ay = y1 + ta * dy;
      const bx = x1 + tb * dx;
      const by = y1 + tb * dy;
      if (onSameGridLine(ax, bx) || onSameGridLine(ay, by)) continue;
      const col = Math.floor((ax + bx) / 2);
      const row = Math.floor((ay + by) / 2);
      if (col >= 0 && col < width && row >= 0 && row < height) mask[row * width + col] = value;
    }
  }
}

/** Parameters t in (t0, t1) where start + t * delta crosses an integer. */
function addGridCrossings(ts: number[], start: number, delta: number, t0: number, t1: number): void {
  if (delta === 0) return;
  const a = start + t0 * delta;
  const b = start + t1 * delta;
  for (let k = Math.ceil(Math.min(a, b)); k <= Math.floor(Math.max(a, b)); k++) {
    const t = (k - start) / delta;
    if (t > t0 && t < t1) ts.push(t);
  }
}

/** Both values within PIXEL_EPSILON of the same integer: a piece running along that pixel boundary. */
function onSameGridLine(a: number, b: number): boolean {
  const k = Math.round(a);
  return Math.abs(a - k) < PIXEL_EPSILON && Math.abs(b - k) < PIXEL_EPSILON;
}
