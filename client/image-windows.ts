/**
 * pyveda's `iterwindows`: windows of an image to feed a dataset, without looking up the image's size first.
 *
 *   const image = await openImage('examples/data/L7_ETMs.tif');
 *   for (const window of image.windows({ count: 100, shape: [64, 64], seed: 1 })) pairs.push([window, label]);
 *
 * Each window carries its image (`source`), so `coll.feed([[window, label]])` needs nothing else.
 */
import { z } from 'zod';
import { InvalidInputError } from '../domain/errors.js';
import { openImage as openImageSource } from '../domain/imagery/index.js';
import type { ImageInfo, PixelWindow, Raster } from '../domain/types.js';
import { gridWindows } from '../domain/windows/grid-windows.js';
import { randomWindows } from '../domain/windows/random-windows.js';
import type { WindowSequence } from '../domain/windows/window-sequence.js';
import { absoluteUri } from './ingest-options.js';
import { parseOptions } from '../domain/input-schema.js';

/** A pixel window of one image: what `feed` takes beside a label. */
export interface ImageWindow extends PixelWindow {
  /** The image the window is read from (an absolute path or a URL). */
  source: string;
}

/** Window size in pixels: [width, height] as a dataset's `tileSize`, or one number for a square. */
export type WindowShape = [width: number, height: number] | number;

/** `[width, height]` in whole pixels, or one number for a square. */
function pixelPair(what: string) {
  const message = { error: (issue: { input?: unknown }) => `windows: ${what} ${JSON.stringify(issue.input)} must be [width, height] in whole pixels (or one number)` };
  return z
    .union([z.number(), z.array(z.number())], message)
    .refine((v) => {
      const pair = typeof v === 'number' ? [v, v] : v;
      return pair.length === 2 && pair.every((n) => Number.isInteger(n) && n >= 1);
    }, message)
    .transform((v) => (typeof v === 'number' ? [v, v] : v) as [number, number]);
}

const countMessage = { error: (issue: { input?: unknown }) => `windows: count ${String(issue.input)} must be a whole number of at least 1` };
const seedMessage = { error: (issue: { input?: unknown }) => `windows: seed ${String(issue.input)} must be an integer` };

const randomWindowOptionsSchema = z.strictObject({
  count: z.int(countMessage).min(1, countMessage),
  shape: pixelPair('shape'),
  /** Same seed, same windows (default 0). Windows of one call never coincide. */
  seed: z.number(seedMessage).refine(Number.isSafeInteger, seedMessage).optional(),
});

const gridWindowOptionsSchema = z.strictObject({
  shape: pixelPair('shape'),
  /** Pixels between window origins, [x, y] or one number (default: the shape, so windows tile the image). */
  stride: pixelPair('stride').optional(),
});

export type RandomWindowOptions = z.input<typeof randomWindowOptionsSchema>;
export type GridWindowOptions = z.input<typeof gridWindowOptionsSchema>;

/** An image's metadata and the windows that fit inside it. Holds no open file. */
export class VedaImage {
  constructor(readonly info: ImageInfo) {}

  get source(): string {
    return this.info.uri;
  }
  get width(): number {
    return this.info.width;
  }
  get height(): number {
    return this.info.height;
  }

  /** `count` distinct windows at seeded random offsets, all inside the image. */
  *windows(options: RandomWindowOptions): Generator<ImageWindow> {
    const { count, shape, seed = 0 } = parseOptions(randomWindowOptionsSchema, options, 'windows');
    yield* this.located(randomWindows(this.info, this.fitting(shape), count, seed));
  }

  /** Row-major windows every `stride` pixels from the upper-left corner; only whole windows inside the image. */
  *grid(options: GridWindowOptions): Generator<ImageWindow> {
    const { shape, stride } = parseOptions(gridWindowOptionsSchema, options, 'grid');
    const fitting = this.fitting(shape);
    yield* this.located(gridWindows(this.info, fitting, stride ?? fitting));
  }

  /** The window's pixels [bands, h, w] (1-based `bands`, default all), to label it from what it shows. */
  async read(window: PixelWindow, bands?: number[]): Promise<Raster> {
    const source = await openImageSource(this.source);
    try {
      return await source.readWindow(window, bands);
    } finally {
      await source.close();
    }
  }

  private fitting([width, height]: [number, number]): [number, number] {
    if (width > this.info.width || height > this.info.height) {
      throw new InvalidInputError(`${this.source}: a ${width}x${height} window does not fit the ${this.info.width}x${this.info.height} image`);
    }
    return [width, height];
  }

  private *located(sequence: WindowSequence): Generator<ImageWindow> {
    for (let i = 0; i < sequence.size; i++) yield { source: this.source, ...sequence.at(i) };
  }
}

/** Reads an image's header (local path or http(s) URL) and closes it again. */
export async function openImage(uri: string): Promise<VedaImage> {
  const source = await openImageSource(absoluteUri(uri));
  try {
    return new VedaImage(source.info);
  } finally {
    await source.close();
  }
}
