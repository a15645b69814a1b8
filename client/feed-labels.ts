/**
 * Checks labels a user feeds directly (explicit pairs) against the dataset's ML type and classes, turning a
 * segmentation mask into the RLE form the catalog stores.
 */
import { InvalidInputError } from '../domain/errors.js';
import { isDetectionLabel, isOneHot, isSegmentationLabel } from '../domain/labels/label-shape.js';
import { decodeRle, encodeRle } from '../domain/labels/rle.js';
import type { Label, MlType } from '../domain/types.js';

/** A segmentation label may be fed as a class-index mask (row-major, length width x height) or as RLE. */
export type FedLabel = Label | Uint8Array | number[];

export function normalizeFedLabel(mlType: MlType, nclasses: number, tile: [number, number], label: FedLabel, where: string): Label {
  const [width, height] = tile;
  switch (mlType) {
    case 'classification': {
      if (!isOneHot(label, nclasses)) throw new InvalidInputError(`${where}: a classification label is a one-hot array of ${nclasses} zeros and ones`);
      return [...label];
    }
    case 'object_detection': {
      if (!isDetectionLabel(label, nclasses, { width, height })) {
        throw new InvalidInputError(
          `${where}: a detection label is, for each of the ${nclasses} classes, a list of pixel boxes ` +
            `[minx, miny, maxx, maxy] inside the ${width}x${height} window`,
        );
      }
      return label.map((perClass) => perClass.map((b) => [...b] as [number, number, number, number]));
    }
    case 'segmentation': {
      const mask = label instanceof Uint8Array ? label : Array.isArray(label) ? Uint8Array.from(label as number[]) : null;
      if (mask) {
        if (mask.length !== width * height || mask.some((v) => v > nclasses)) {
          throw new InvalidInputError(`${where}: a segmentation mask has ${width * height} values from 0 (background) to ${nclasses}`);
        }
        return encodeRle(mask, width, height);
      }
      if (!isSegmentationLabel(label) || label.width !== width || label.height !== height) {
        throw new InvalidInputError(`${where}: a segmentation label is a ${width}x${height} mask or its RLE { width, height, runs }`);
      }
      // Decoding checks the runs cover the mask exactly; then the values must be classes.
      if (decodeRle(label).some((v) => v > nclasses)) {
        throw new InvalidInputError(`${where}: segmentation values run from 0 (background) to ${nclasses}`);
      }
      return { width, height, runs: [...label.runs] };
    }
  }
}
