/**
 * Bands from several GeoTIFFs on one pixel grid, read as one image (what `gdalbuildvrt -separate` makes of single-
 * band files). The files must agree on size, geotransform, CRS, dtype and nodata: a stack with one dtype and one
 * nodata value is what chips and batches hold, so a mismatch is refused with the files and values named rather
 * than converted silently.
 */
import { InvalidInputError } from '../errors.js';
import type { ImageInfo, PixelWindow, Raster } from '../types.js';
import { allocateSamples } from './dtypes.js';
import type { ImageSource } from './open-image.js';
import { assertWindowInImage, resolveBands } from './window-checks.js';

/** One member of a stack: an open file and which of its bands (1-based) the stack takes, in order. */
export interface StackMember {
  image: ImageSource;
  bands: number[];
}

/** The members' bands in order, as one image named `uri`. Closing the stack closes every member. */
export function stackBands(uri: string, members: StackMember[], extra: Partial<ImageInfo> = {}): ImageSource {
  if (members.length === 0) throw new InvalidInputError(`${uri}: no band files to stack`);
  const first = members[0]!.image.info;
  for (const { image, bands } of members) {
    resolveBands(image.info, bands);
    checkSameGrid(first, image.info);
  }
  // Global band n (1-based) is band `local` of member `member`.
  const bandMap = members.flatMap(({ bands }, member) => bands.map((local) => ({ member, local })));
  const info: ImageInfo = { ...first, ...extra, uri, bands: bandMap.length };
  return {
    info,
    async readWindow(window: PixelWindow, bands?: number[]): Promise<Raster> {
      assertWindowInImage(info, window);
      const wanted = resolveBands(info, bands).map((band) => bandMap[band - 1]!);
      const out = allocateSamples(info.dtype, wanted.length * window.width * window.height);
      const planeSize = window.width * window.height;
      // One read per member, of just the bands wanted from it, then each plane to its place.
      await Promise.all(
        members.map(async ({ image }, member) => {
          const positions = wanted.flatMap((w, i) => (w.member === member ? [i] : []));
          if (positions.length === 0) return;
          const raster = await image.readWindow(window, positions.map((i) => wanted[i]!.local));
          positions.forEach((outBand, k) => out.set(raster.data.subarray(k * planeSize, (k + 1) * planeSize), outBand * planeSize));
        }),
      );
      return { dtype: info.dtype, bands: wanted.length, width: window.width, height: window.height, data: out };
    },
    async close() {
      await Promise.all(members.map(({ image }) => image.close()));
    },
  };
}

function describeGrid(info: ImageInfo): string {
  const gt = info.geoTransform;
  return `${info.width} x ${info.height} px, origin (${gt[0]}, ${gt[3]}), pixel ${gt[1]} x ${gt[5]}, ` +
    `${info.epsg === null ? 'no EPSG code' : `EPSG:${info.epsg}`}`;
}

function checkSameGrid(a: ImageInfo, b: ImageInfo): void {
  const sameGrid =
    a.width === b.width && a.height === b.height && a.epsg === b.epsg && a.geoTransform.every((v, i) => v === b.geoTransform[i]);
  if (!sameGrid) {
    throw new InvalidInputError(
      `band files are not on one pixel grid: ${a.uri} is ${describeGrid(a)}; ${b.uri} is ${describeGrid(b)} ` +
        '(resample one onto the other first, e.g. with gdalwarp -te/-tr)',
    );
  }
  if (a.dtype !== b.dtype) {
    throw new InvalidInputError(
      `band files differ in sample type: ${a.uri} is ${a.dtype}, ${b.uri} is ${b.dtype}; a chip holds one type, ` +
        'so convert them to one first (e.g. gdal_translate -ot)',
    );
  }
  const sameNodata = a.nodata === b.nodata || (Number.isNaN(a.nodata) && Number.isNaN(b.nodata));
  if (!sameNodata) {
    throw new InvalidInputError(
      `band files differ in nodata: ${a.uri} has ${String(a.nodata)}, ${b.uri} has ${String(b.nodata)}; ` +
        'set one value on all of them first (e.g. gdal_edit.py -a_nodata)',
    );
  }
}
