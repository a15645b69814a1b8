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

/**
 * Closed flat rings [x0, y0, x1, y1, ...] packed in one buffer: ring i is coords[ends[i - 1] (0 for the first),
 * ends[i]). The buffer may run on past the last ring.
 */
export interface PackedRings {
  coords: Float64Array;
  ends: readonly number[];
}

/** Burns `value` into `mask` (row-major width x height) for one polygon: all its rings, even-odd. */
export function burnPolygon(mask: Uint8Array, width: number, height: number, rings: PackedRings, value: number, allTouched: boolean): void {
  fillPixelCentres(mask, width, height, rings, value);
  if (allTouched) burnTouchedAlongRings(mask, width, height, rings, value);
}

/**
 * The pixel-centre fill, a scanline over rows: each row's crossings are the pixel boundaries nearest to where the
 * edges cross the row of centres, clamped to [0, width], and each pair of them bounds a burned span (even-odd).
 * Clamping moves no span, so an edge wholly left (right) of the window needs no crossing computed: its crossing is 0
 * (width) on every row it spans, and only whether an odd number of such edges span a row matters.
 */
function fillPixelCentres(mask: Uint8Array, width: number, height: number, rings: PackedRings, value: number): void {
  scratch.reserve(rings.ends[rings.ends.length - 1] ?? 0, height);
  collectEdges(mask, width, height, rings, value);
  if (scratch.firstRow <= scratch.lastRow) burnRows(mask, width, value);
}

/**
 * Scratch space of the fill, reused from polygon to polygon and window to window and grown on demand: a window
 * burns hundreds of polygons with thousands of edges, and allocating per edge or per row cost more than the fill.
 */
class FillScratch {
  /** The edges the fill interpolates: upper end, x and y extent, last row, next edge starting on the same row. */
  yTop = new Float64Array(0);
  xTop = new Float64Array(0);
  dx = new Float64Array(0);
  dy = new Float64Array(0);
  lastRowOf = new Int32Array(0);
  next = new Int32Array(0);
  /** Per row: the first edge starting there (-1: none); a flip where an odd run of left (right) edges starts or ends. */
  head = new Int32Array(0);
  leftFlips = new Uint8Array(0);
  rightFlips = new Uint8Array(0);
  /** The edges spanning the current row, and its crossings (index 0 is kept for the left edges' crossing). */
  active = new Int32Array(0);
  crossings = new Int32Array(0);
  activeCount = 0;
  edgeCount = 0;
  /** The rows some edge spans; empty when firstRow > lastRow. */
  firstRow = 0;
  lastRow = -1;

  reserve(coordinates: number, height: number): void {
    const edges = coordinates >> 1;
    if (this.yTop.length < edges) {
      const size = Math.max(edges, 2 * this.yTop.length);
      this.yTop = new Float64Array(size);
      this.xTop = new Float64Array(size);
      this.dx = new Float64Array(size);
      this.dy = new Float64Array(size);
      this.lastRowOf = new Int32Array(size);
      this.next = new Int32Array(size);
      this.active = new Int32Array(size);
      this.crossings = new Int32Array(size + 2);
    }
    if (this.head.length < height + 1) {
      this.head = new Int32Array(height + 1).fill(-1);
      this.leftFlips = new Uint8Array(height + 1);
      this.rightFlips = new Uint8Array(height + 1);
    }
  }
}

const scratch = new FillScratch();

/**
 * Files every edge that is not horizontal under the first row whose centre it spans (half-open [yTop, yBottom)),
 * and burns the horizontal ones that burn a row of their own.
 */
function collectEdges(mask: Uint8Array, width: number, height: number, { coords, ends }: PackedRings, value: number): void {
  scratch.edgeCount = 0;
  scratch.firstRow = height;
  scratch.lastRow = -1;
  let start = 0;
  for (const end of ends) {
    for (let i = start; i + 3 < end; i += 2) {
      const y1 = coords[i + 1]!;
      const y2 = coords[i + 3]!;
      if (y1 < y2) addEdge(width, height, coords[i]!, y1, coords[i + 2]!, y2);
      else if (y1 > y2) addEdge(width, height, coords[i + 2]!, y2, coords[i]!, y1);
      else if (coords[i]! > coords[i + 2]!) burnBottomEdge(mask, width, height, coords[i + 2]!, coords[i]!, y1, value);
    }
    start = end;
  }
}

function addEdge(width: number, height: number, xTop: number, yTop: number, xBottom: number, yBottom: number): void {
  const first = Math.max(0, firstCentreRow(yTop));
  const last = Math.min(height - 1, firstCentreRow(yBottom) - 1);
  if (first > last) return;
  const s = scratch;
  s.firstRow = Math.min(s.firstRow, first);
  s.lastRow = Math.max(s.lastRow, last);
  // A crossing more than half a pixel outside the window clamps to its side; a pixel of margin covers rounding.
  if (Math.max(xTop, xBottom) < -1) flipRows(s.leftFlips, first, last);
  else if (Math.min(xTop, xBottom) > width + 1) flipRows(s.rightFlips, first, last);
  else {
    const e = s.edgeCount++;
    s.yTop[e] = yTop;
    s.xTop[e] = xTop;
    s.dx[e] = xBottom - xTop;
    s.dy[e] = yBottom - yTop;
    s.lastRowOf[e] = last;
    s.next[e] = s.head[first]!;
    s.head[first] = e;
  }
}

/** The first row whose pixel centre is at or below y: the smallest integer r with r + 0.5 >= y, exactly. */
function firstCentreRow(y: number): number {
  const r = Math.ceil(y - 0.5);
  if (r + 0.5 < y) return r + 1;
  return r - 0.5 >= y ? r - 1 : r;
}

function flipRows(flips: Uint8Array, first: number, last: number): void {
  flips[first]! ^= 1;
  flips[last + 1]! ^= 1;
}

/** The scanline proper; it leaves the per-row scratch as it found it (no edge filed, no flip set). */
function burnRows(mask: Uint8Array, width: number, value: number): void {
  const s = scratch;
  s.activeCount = 0;
  let leftOdd = 0;
  let rightOdd = 0;
  for (let row = s.firstRow; row <= s.lastRow; row++) {
    leftOdd ^= takeFlip(s.leftFlips, row);
    rightOdd ^= takeFlip(s.rightFlips, row);
    let count = crossRow(row, width);
    s.crossings[0] = 0;
    if (rightOdd) s.crossings[count++] = width;
    for (let i = leftOdd ? 0 : 1; i + 1 < count; i += 2) {
      const from = s.crossings[i]!;
      const to = s.crossings[i + 1]!;
      if (from < to) mask.fill(value, row * width + from, row * width + to);
    }
  }
  takeFlip(s.leftFlips, s.lastRow + 1);
  takeFlip(s.rightFlips, s.lastRow + 1);
}

function takeFlip(flips: Uint8Array, row: number): number {
  const flip = flips[row]!;
  flips[row] = 0;
  return flip;
}

/**
 * Updates the active edges for `row` (adds those starting there, drops those that ended above) and puts their
 * crossings, clamped and sorted, in crossings[1, count); returns count.
 */
function crossRow(row: number, width: number): number {
  const s = scratch;
  for (let e = s.head[row]!; e >= 0; e = s.next[e]!) s.active[s.activeCount++] = e;
  s.head[row] = -1;
  const cy = row + 0.5;
  let count = 1;
  let kept = 0;
  for (let i = 0; i < s.activeCount; i++) {
    const e = s.active[i]!;
    if (s.lastRowOf[e]! < row) continue;
    s.active[kept++] = e;
    // The pixel boundary nearest the crossing: columns between two boundaries have their centres inside.
    const x = ((cy - s.yTop[e]!) * s.dx[e]!) / s.dy[e]! + s.xTop[e]!;
    s.crossings[count++] = Math.min(width, Math.max(0, Math.floor(x + 0.5)));
  }
  s.activeCount = kept;
  sortRange(s.crossings, 1, count);
  return count;
}

/** Ascending sort of values[from, to): insertion sort for the few crossings a row usually has. */
function sortRange(values: Int32Array, from: number, to: number): void {
  if (to - from > 32) {
    values.subarray(from, to).sort();
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const v = values[i]!;
    let j = i - 1;
    while (j >= from && values[j]! > v) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = v;
  }
}

/**
 * A horizontal edge running right to left (the bottom of a clockwise ring) burns its row when it lies exactly on a
 * row of pixel centres; the half-open span [yTop, yBottom) of the other edges leaves those centres out.
 */
function burnBottomEdge(mask: Uint8Array, width: number, height: number, xLeft: number, xRight: number, y: number, value: number): void {
  const row = y - 0.5;
  if (!Number.isInteger(row) || row < 0 || row >= height || row + 0.5 !== y) return;
  const from = Math.max(0, Math.floor(xLeft + 0.5));
  const to = Math.min(width, Math.floor(xRight + 0.5));
  if (from < to) mask.fill(value, row * width + from, row * width + to);
}

/**
 * GDAL 3.6's tolerances in its all-touched walk: an end this close to a pixel boundary counts as on it, and an edge
 * spanning less than this in x (y) is walked as vertical (horizontal).
 */
const GDAL_ON_BOUNDARY = 0.01;
/** The smallest step GDAL's walk takes across a row boundary, so that it always leaves the row it is in. */
const GDAL_MIN_ROW_STEP = 1e-9;

/** Burns the pixels GDAL's all-touched walk visits along each edge of each closed ring. */
function burnTouchedAlongRings(mask: Uint8Array, width: number, height: number, { coords, ends }: PackedRings, value: number): void {
  let start = 0;
  for (const end of ends) {
    for (let i = start; i + 3 < end; i += 2) {
      burnTouchedAlongEdge(mask, width, height, coords[i]!, coords[i + 1]!, coords[i + 2]!, coords[i + 3]!, value);
    }
    start = end;
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
