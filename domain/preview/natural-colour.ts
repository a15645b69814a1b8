/**
 * Which chip bands show natural colour (red, green, blue), judged from what the image says about its bands and
 * what the dataset says about its sensor. Pure; the reason is for the user ("bands 3,2,1: band descriptions").
 */
import type { BandLabel } from '../imagery/band-labels.js';

export interface BandChoice {
  /** 1-based chip bands shown as red, green, blue (or one band as grey). */
  bands: number[];
  /** Why these bands, in a few words. */
  reason: string;
}

const COLOURS = ['red', 'green', 'blue'] as const;
/** Landsat 7 ETM+ bands 3, 2, 1 are red, green, blue. */
const LANDSAT7_RGB = [3, 2, 1];

const isLandsat7 = (sensors: readonly string[]) => sensors.some((s) => /landsat[\s_-]*0?7|\betm\+?/i.test(s));
/** 'red' but not 'red edge'; 'infrared' never matches (no word boundary before its 'red'). */
const namesColour = (description: string, colour: string) => new RegExp(`\\b${colour}\\b`, 'i').test(description) && !/edge/i.test(description);
/** The Landsat band number a description names: 'B3', 'SR_B3', 'band 3', 'Band_3'. */
const landsatBand = (description: string) => Number(/(?:^|[^a-z])(?:b|band)[\s_]*0?(\d)$/i.exec(description.trim())?.[1] ?? NaN);

/**
 * `chipBands` are the source bands of the chip's bands in order (chip band i + 1 is source band chipBands[i]);
 * `labels` what the source image says about each of its bands (empty when unknown).
 */
export function naturalColourBands(labels: readonly BandLabel[], chipBands: readonly number[], sensors: readonly string[]): BandChoice {
  const chipBandOf = (pick: (label: BandLabel) => boolean) => {
    const label = labels.find((l) => chipBands.includes(l.band) && pick(l));
    return label ? chipBands.indexOf(label.band) + 1 : 0;
  };
  const found = (bands: number[]) => bands.length === 3 && bands.every((b) => b > 0) && new Set(bands).size === 3;

  const byInterp = COLOURS.map((c) => chipBandOf((l) => l.colour === c));
  if (found(byInterp)) return { bands: byInterp, reason: 'natural colour from the bands’ colour interpretation' };
  const byName = COLOURS.map((c) => chipBandOf((l) => l.description !== null && namesColour(l.description, c)));
  if (found(byName)) return { bands: byName, reason: 'natural colour from the band descriptions' };
  if (isLandsat7(sensors)) {
    const byLandsatName = LANDSAT7_RGB.map((n) => chipBandOf((l) => l.description !== null && landsatBand(l.description) === n));
    if (found(byLandsatName)) return { bands: byLandsatName, reason: 'natural colour: Landsat 7 bands 3,2,1 by band description' };
    const described = labels.some((l) => l.description !== null);
    const allBands = chipBands.every((b, i) => b === i + 1);
    if (!described && allBands && chipBands.length >= 3) {
      return { bands: [...LANDSAT7_RGB], reason: 'natural colour: Landsat 7 bands 3,2,1 (the sensor; the image names no bands)' };
    }
  }
  if (chipBands.length >= 3) return { bands: [1, 2, 3], reason: 'bands 1,2,3: the image does not say which bands are red, green, blue' };
  return { bands: [1], reason: 'band 1 as grey: the chip has fewer than 3 bands' };
}
