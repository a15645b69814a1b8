/**
 * What an image says about its bands, as GDAL writes it into a GeoTIFF: a description per band and a colour
 * interpretation (GDAL_METADATA items `DESCRIPTION` / `COLORINTERP` of each sample, or PhotometricInterpretation
 * RGB for the first three samples). Used to pick natural colours for previews; pixels are not read.
 */
import { openTiff } from './tiff-source.js';

export interface BandLabel {
  /** 1-based band number, as GDAL counts. */
  band: number;
  description: string | null;
  /** GDAL's colour interpretation name in lower case ('red', 'green', 'blue', 'gray', ...), null when undefined. */
  colour: string | null;
}

const PHOTOMETRIC_RGB = 2;
const RGB = ['red', 'green', 'blue'];

export async function readBandLabels(uri: string): Promise<BandLabel[]> {
  const { tiff, image } = await openTiff(uri);
  try {
    const rgb = Number(await image.getFileDirectory().loadValue('PhotometricInterpretation')) === PHOTOMETRIC_RGB;
    const labels: BandLabel[] = [];
    for (let sample = 0; sample < image.getSamplesPerPixel(); sample++) {
      const items = ((await image.getGDALMetadata(sample)) ?? {}) as Record<string, unknown>;
      const text = (name: string) => (typeof items[name] === 'string' && (items[name] as string).trim() ? (items[name] as string).trim() : null);
      const interp = text('COLORINTERP')?.toLowerCase() ?? (rgb ? RGB[sample] : undefined) ?? null;
      labels.push({ band: sample + 1, description: text('DESCRIPTION'), colour: interp === 'undefined' ? null : interp });
    }
    return labels;
  } finally {
    await tiff.close();
  }
}
