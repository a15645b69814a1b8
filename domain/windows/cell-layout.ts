/**
 * Spatially separate groups: the image is cut into square cells and each cell belongs to one group (or to none).
 * A window lies wholly inside one cell and keeps `margin` pixels from every side that borders a cell of another
 * owner, so two windows of different groups never share a pixel and lie at least `buffer` pixels apart.
 *
 * The layout is drawn once per ingest (seeded, from the image size, the groups and the pixels other groups of the
 * dataset already hold) and then travels with every chunk, so the plan stays a pure function of its inputs.
 */
import { partitionCounts } from '../batches/partition.js';
import { InvalidInputError } from '../errors.js';
import type { GroupCount, PixelWindow } from '../types.js';
import { seededPermutation } from '../random/prng.js';
import { CELL_DRAW_STREAM, MAX_SPLIT_GROUPS } from '../random/streams.js';
import type { ImageSize } from './window-sequence.js';

/** Cells per layout at most: the layout is one character per cell and travels with every chunk of an ingest. */
export const MAX_CELLS = 4096;
/** A cell nobody of this ingest may use (held by another group, or outside the region of interest). */
export const BLOCKED = '-';
/** One character per group in a layout's cell string. */
const OWNER_CODES = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, MAX_SPLIT_GROUPS);

export interface CellLayout {
  /** Cell side in pixels. */
  cell: number;
  /** Minimum gap in pixels between windows of two groups. */
  buffer: number;
  columns: number;
  rows: number;
  /** The groups of this ingest; a cell's code is its index in this list. */
  groups: string[];
  /** One character per cell, row-major: an index into `groups` in base 36, or BLOCKED. */
  cells: string;
}

/** A window another group already holds, from earlier ingests or feeds of the dataset on the same image. */
export interface HeldWindow extends PixelWindow {
  group: string;
}

export interface LayoutRequest {
  image: ImageSize;
  tile: [number, number];
  /** Groups and their window counts: cells are drawn in proportion to the counts. */
  groups: readonly GroupCount[];
  seed: number;
  /** Cell side in pixels (default: twice the tile plus the buffer, grown to keep at most MAX_CELLS cells). */
  cell?: number;
  buffer?: number;
  /** Draw the cells among the groups (a spatial split); otherwise the single group takes every cell. */
  spatial: boolean;
  held?: readonly HeldWindow[];
  /** Cells to block whatever the draw (outside a region of interest), by cell index of the layout's grid. */
  blocked?: (grid: { cell: number; columns: number; rows: number }) => ReadonlySet<number>;
}

/**
 * Every cell is drawn for a group (cells shuffled with the seed, cut in proportion to the groups' counts), or all
 * go to the one group without a spatial split. Then cells outside the region of interest, and cells an existing
 * window of the dataset reaches whose drawn group is not that window's, are blocked.
 */
export function drawCellLayout(request: LayoutRequest): CellLayout {
  const { image, tile, groups, seed } = request;
  const buffer = request.buffer ?? 0;
  if (!Number.isInteger(buffer) || buffer < 0) throw new InvalidInputError(`buffer ${String(buffer)} must be a whole number of pixels >= 0`);
  const margin = Math.ceil(buffer / 2);
  const fit = Math.max(tile[0], tile[1]) + 2 * margin;
  const cell = request.cell ?? Math.max(2 * Math.max(tile[0], tile[1]) + 2 * margin, Math.ceil(Math.sqrt((image.width * image.height) / MAX_CELLS)) + 1);
  if (!Number.isInteger(cell) || cell < fit) {
    throw new InvalidInputError(`cell ${String(cell)} px must be a whole number of at least ${fit} (the tile plus the buffer on both sides)`);
  }
  const columns = Math.ceil(image.width / cell);
  const rows = Math.ceil(image.height / cell);
  if (columns * rows > MAX_CELLS) {
    throw new InvalidInputError(`cells of ${cell} px make ${columns * rows} cells in a ${image.width}x${image.height} image (at most ${MAX_CELLS}): use a larger cell`);
  }
  if (groups.length > OWNER_CODES.length) throw new InvalidInputError(`a spatial split takes at most ${OWNER_CODES.length} groups`);
  if (!request.spatial && groups.length !== 1) throw new InvalidInputError('without a spatial split, a layout has exactly one group');

  const index = new Map(groups.map((g, i) => [g.group, i]));
  // The draw depends on the image, cell, groups and seed only, so re-running an ingest redraws the same cells.
  const owner = new Array<number>(columns * rows).fill(0);
  if (request.spatial) {
    const order = seededPermutation(owner.length, seed, CELL_DRAW_STREAM);
    const ratios = Object.fromEntries(groups.map((g) => [g.group, Math.max(g.count, 0)]));
    if (!Object.values(ratios).some((r) => r > 0)) throw new InvalidInputError('a spatial split needs a positive count for at least one group');
    let at = 0;
    for (const [name, n] of Object.entries(partitionCounts(owner.length, ratios))) {
      for (let k = 0; k < n; k++) owner[order[at++]!] = index.get(name)!;
    }
  }
  for (const c of request.blocked?.({ cell, columns, rows }) ?? []) owner[c] = -1;
  // A held window, grown by the part of the buffer the new windows do not keep themselves, blocks every cell it
  // reaches that another group owns: new windows keep the rest of the buffer from blocked cells.
  const reach = buffer - margin;
  for (const w of request.held ?? []) {
    const mine = index.get(w.group) ?? -2;
    forCellsOf({ x: w.x - reach, y: w.y - reach, width: w.width + 2 * reach, height: w.height + 2 * reach }, cell, columns, rows, (c) => {
      if (owner[c] !== mine) owner[c] = -1;
    });
  }
  const cells = owner.map((o) => (o >= 0 ? OWNER_CODES[o]! : BLOCKED)).join('');
  return { cell, buffer, columns, rows, groups: groups.map((g) => g.group), cells };
}

/** Calls `fn` with every cell index the window (clipped to the grid) touches. */
function forCellsOf(w: PixelWindow, cell: number, columns: number, rows: number, fn: (c: number) => void): void {
  const c0 = Math.max(0, Math.floor(w.x / cell));
  const c1 = Math.min(columns - 1, Math.floor((w.x + w.width - 1) / cell));
  const r0 = Math.max(0, Math.floor(w.y / cell));
  const r1 = Math.min(rows - 1, Math.floor((w.y + w.height - 1) / cell));
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) fn(r * columns + c);
}

/** The group index owning a cell, or -1 when it is blocked. */
export function cellOwner(layout: CellLayout, c: number): number {
  const code = layout.cells[c];
  return code === undefined || code === BLOCKED ? -1 : OWNER_CODES.indexOf(code);
}

/** Where a window's upper-left corner may lie inside one cell: inclusive ranges, empty when xMax < xMin. */
export interface CellRange {
  cell: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/**
 * The corner range of cell c for tiles of `tile`: inside the cell (clipped to the image), `margin` pixels off every
 * side where any of the three neighbouring cells on that side has another owner (diagonals included, so windows in
 * cells that meet at a corner keep the gap too).
 */
export function cellRange(layout: CellLayout, image: ImageSize, tile: [number, number], c: number): CellRange {
  const { cell, columns, rows } = layout;
  const margin = Math.ceil(layout.buffer / 2);
  const col = c % columns;
  const row = Math.floor(c / columns);
  const mine = layout.cells[c];
  const foreign = (dc: number, dr: number): boolean => {
    const nc = col + dc;
    const nr = row + dr;
    return nc >= 0 && nr >= 0 && nc < columns && nr < rows && layout.cells[nr * columns + nc] !== mine;
  };
  const side = (pairs: Array<[number, number]>) => (pairs.some(([dc, dr]) => foreign(dc, dr)) ? margin : 0);
  const left = side([[-1, -1], [-1, 0], [-1, 1]]);
  const right = side([[1, -1], [1, 0], [1, 1]]);
  const top = side([[-1, -1], [0, -1], [1, -1]]);
  const bottom = side([[-1, 1], [0, 1], [1, 1]]);
  const x0 = col * cell;
  const y0 = row * cell;
  const x1 = Math.min(x0 + cell, image.width);
  const y1 = Math.min(y0 + cell, image.height);
  return { cell: c, xMin: x0 + left, xMax: x1 - right - tile[0], yMin: y0 + top, yMax: y1 - bottom - tile[1] };
}

/** Corner positions in a range (0 when empty). */
export function rangeSize(r: CellRange): number {
  return r.xMax < r.xMin || r.yMax < r.yMin ? 0 : (r.xMax - r.xMin + 1) * (r.yMax - r.yMin + 1);
}

/** The usable corner ranges of each group of the layout, in cell order. */
export function groupRanges(layout: CellLayout, image: ImageSize, tile: [number, number]): CellRange[][] {
  checkLayout(layout, image);
  const out = layout.groups.map((): CellRange[] => []);
  for (let c = 0; c < layout.cells.length; c++) {
    const g = cellOwner(layout, c);
    if (g < 0) continue;
    const r = cellRange(layout, image, tile, c);
    if (rangeSize(r) > 0) out[g]!.push(r);
  }
  return out;
}

/** Distinct window corners each group's cells hold (the most windows a random plan can draw there). */
export function groupCapacity(layout: CellLayout, image: ImageSize, tile: [number, number]): number[] {
  return groupRanges(layout, image, tile).map((ranges) => ranges.reduce((n, r) => n + rangeSize(r), 0));
}

/** The group index a window belongs to under the layout (it lies inside that group's corner range), or -1. */
export function windowOwner(layout: CellLayout, image: ImageSize, tile: [number, number], w: { x: number; y: number }): number {
  const col = Math.floor(w.x / layout.cell);
  const row = Math.floor(w.y / layout.cell);
  if (col >= layout.columns || row >= layout.rows) return -1;
  const c = row * layout.columns + col;
  const g = cellOwner(layout, c);
  if (g < 0) return -1;
  const r = cellRange(layout, image, tile, c);
  return w.x >= r.xMin && w.x <= r.xMax && w.y >= r.yMin && w.y <= r.yMax ? g : -1;
}

/** Cell indexes per group: what a manifest records as the split. */
export function cellsPerGroup(layout: CellLayout): Record<string, number[]> {
  const out: Record<string, number[]> = Object.fromEntries(layout.groups.map((g) => [g, [] as number[]]));
  for (let c = 0; c < layout.cells.length; c++) {
    const g = cellOwner(layout, c);
    if (g >= 0) out[layout.groups[g]!]!.push(c);
  }
  return out;
}

function checkLayout(layout: CellLayout, image: ImageSize): void {
  const ok =
    Number.isInteger(layout.cell) && layout.cell > 0 &&
    layout.columns === Math.ceil(image.width / layout.cell) &&
    layout.rows === Math.ceil(image.height / layout.cell) &&
    layout.cells.length === layout.columns * layout.rows;
  if (!ok) throw new InvalidInputError(`the cell layout (${layout.columns}x${layout.rows} cells of ${layout.cell} px) does not fit the ${image.width}x${image.height} image`);
}
