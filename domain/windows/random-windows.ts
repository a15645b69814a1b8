import { InvalidInputError } from '../errors.js';
import { indexPermutation, MAX_PERMUTATION_SIZE } from '../random/prng.js';
import { RANDOM_POSITION_STREAMS } from '../random/streams.js';
import type { ImageSize, WindowSequence } from './window-sequence.js';


/**
 * `count` distinct windows at uniform random offsets: window i is position perm(i) of a seeded permutation of every
 * offset the tile can take, so no two windows of a plan coincide (a duplicate would collapse into one datapoint,
 * or leak between train and test) and window i still depends only on (seed, i).
 */
export function randomWindows(image: ImageSize, tile: [number, number], count: number, seed: number): WindowSequence {
  const [width, height] = tile;
  const columns = image.width - width + 1;
  const positions = columns * (image.height - height + 1);
  if (count > positions) {
    throw new InvalidInputError(
      `a random plan of ${count} windows needs that many distinct positions, but a ${width}x${height} tile has only ` +
        `${positions} in a ${image.width}x${image.height} image`,
    );
  }
  if (positions > MAX_PERMUTATION_SIZE) throw new InvalidInputError(`the image is too large for a random plan (${positions} positions)`);
  const position = indexPermutation(positions, seed, RANDOM_POSITION_STREAMS);
  return {
    size: count,
    at: (i) => {
      const p = position(i);
      return { x: p % columns, y: Math.floor(p / columns), width, height };
    },
  };
}
