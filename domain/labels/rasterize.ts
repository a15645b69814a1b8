/**
 * Polygon rasterization in pixel coordinates, with gdal_rasterize's rules (GDAL 3.6.2; checked against GDAL in tests):
 * - default (pixel-centre rule): a pixel is burned when its centre is inside the polygon, even-odd over all rings
 *   of all parts, so holes and multipolygons need no special case. Ties, for a centre exactly on an edge: on a
 *   left edge it is out, on a right edge in; on a horizontal edge it is in on the polygon's bottom edge (and on a
 *   top edge, which the half-open edge span counts). Rings must run clockwise in y-up world coordinates
 *   (LabelSource turns them), as GDAL turns them before burning.
 * - allTouched: those pixels plus the pixels GDAL's edge walk (GDALdllImageLineAllTouched) visits along each edge
 *   of each ring, which is what gdal_rasterize -at burns. In general position (no edge end within 0.01 px of a
 *   pixel boundary, no edge through a pixel corner) that is every pixel the polygon overlaps. Otherwise GDAL has
 *   quirks, kept here so that the masks stay equal: an edge within one column (row), or narrower than 0.01 px,
 *   burns nothing when both its ends lie within 0.01 px of column (row) boundaries, so a polygon drawn along pixel
 *   boundaries burns just its pixels even with reprojection noise; a horizontal (vertical) edge off the boundaries
 *   whose right (bottom) end is on a column (row) boundary burns the pixel beyond that end; and a sloped edge
 *   through a pixel corner may burn a pixel it meets only at that corner, on a side set by the sign of its slope.
 */

/**
 * Coordinates within this many pixels of a pixel boundary count as on it, for boxes and window clipping (1 cm at
 * 28.5 m is 3.5e-4 px). The all-touched walk uses GDAL's own tolerance instead (GDAL_ON_BOUNDARY).
 */
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
  if (allTouched) for (const ring of rings) burnTouchedAlongRing(mask, width, height, ring, value);
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
 * GDAL 3.6's tolerances in its all-touched walk: an end this close to a pixel boundary counts as on it, and an edge
 * spanning less than this in x (y) is walked as vertical (horizontal).
 */
const GDAL_ON_BOUNDARY = 0.01;
/** The smallest step GDAL's walk takes across a row boundary, so that it always leaves the row it is in. */
const GDAL_MIN_ROW_STEP = 1e-9;

/** Burns the pixels GDAL's all-touched walk visits along each edge of a closed ring. */
function burnTouchedAlongRing(mask: Uint8Array, width: number, height: number, ring: Float64Array, value: number): void {
  for (let i = 0; i + 3 < ring.length; i += 2) {
    burnTouchedAlongEdge(mask, width, height, ring[i]!, ring[i + 1]!, ring[i + 2]!, ring[i + 3]!, value);
  }
}

/**
 * One edge, as GDAL walks it. The arithmetic follows GDAL's step for step (same operations in the same order), since
 * on the grid a last-bit difference moves a pixel. Edges within one column (or nearly vertical) and within one row
 * (or nearly horizontal) burn a run of pixels; the others are walked left to right, pixel boundary to boundary.
 */
function burnTouchedAlongEdge(
  mask: Uint8Array,
  width: number,
  height: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  value: number,
): void {
  if ((ay < 0 && by < 0) || (ay > height && by > height) || (ax < 0 && bx < 0) || (ax > width && bx > width)) return;
  const leftToRight = ax <= bx;
  let x0 = leftToRight ? ax : bx;
  let y0 = leftToRight ? ay : by;
  let x1 = leftToRight ? bx : ax;
  let y1 = leftToRight ? by : ay;

  if (Math.floor(x0) === Math.floor(x1) || x1 - x0 < GDAL_ON_BOUNDARY) {
    // Vertical (within one column, or narrower than the tolerance): its column, from the top end's row to the
    // bottom end's, both included. Unless both ends are on column boundaries: then it runs along one (or across
    // one, narrower than the tolerance, or from side to side of a column) and GDAL leaves it to the fill.
    if (onBoundary(x0) && onBoundary(x1)) return;
    const col = Math.floor(x1);
    if (col < 0 || col >= width) return;
    const top = Math.max(0, Math.floor(Math.min(y0, y1)));
    const bottom = Math.min(height - 1, Math.floor(Math.max(y0, y1)));
    for (let row = top; row <= bottom; row++) mask[row * width + col] = value;
    return;
  }
  if (Math.floor(y0) === Math.floor(y1) || Math.abs(y1 - y0) < GDAL_ON_BOUNDARY) {
    // Horizontal, likewise: its row, from the left end's column to the right end's, both included.
    if (onBoundary(y0) && onBoundary(y1)) return;
    const row = Math.floor(y0);
    if (row < 0 || row >= height) return;
    const from = Math.max(0, Math.floor(x0));
    const to = Math.min(width - 1, Math.floor(x1));
    if (from <= to) mask.fill(value, row * width + from, row * width + to + 1);
    return;
  }

  // Sloped: clip the edge to the raster as GDAL does, then walk from its left end, stepping to the next column
  // boundary or, when the row changes first, to the row boundary (at least GDAL_MIN_ROW_STEP past it), and burn
  // each pixel the walk stops in.
  const slope = (y1 - y0) / (x1 - x0);
  if (x1 > width) {
    y1 -= (x1 - width) * slope;
    x1 = width;
  }
  if (x0 < 0) {
    y0 += -x0 * slope;
    x0 = 0;
  }
  if (y1 > y0) {
    if (y0 < 0) {
      x0 += -y0 / slope;
      y0 = 0;
    }
    // Below the raster GDAL walks on (its clip moves the end the wrong way), burning nothing there: no clip needed.
  } else {
    if (y0 >= height) {
      x0 += (height - y0) / slope;
      y0 = height;
    }
    if (y1 < 0) x1 -= y1 / slope;
  }
  let x = x0;
  let y = y0;
  while (x >= 0 && x < x1) {
    const row = Math.floor(y);
    if (row >= 0 && row < height) mask[row * width + Math.floor(x)] = value;
    const dxToColumn = Math.floor(x + 1) - x;
    const dyToColumn = dxToColumn * slope;
    if (Math.floor(y + dyToColumn) === row) {
      x += dxToColumn;
      y += dyToColumn;
    } else {
      const dyToRow = slope < 0 ? Math.min(row - y, -GDAL_MIN_ROW_STEP) : Math.max(row + 1 - y, GDAL_MIN_ROW_STEP);
      x += dyToRow / slope;
      y += dyToRow;
    }
  }
}

/** Within GDAL_ON_BOUNDARY of an integer: on a pixel boundary for GDAL's walk. */
function onBoundary(v: number): boolean {
  return Math.abs(v - Math.round(v)) < GDAL_ON_BOUNDARY;
}
