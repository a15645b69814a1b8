/**
 * Seeded pseudo-random numbers. Window i of a plan draws from hash(seed, i, stream), a counter-based generator,
 * so any slice of a plan is computed without generating the windows before it.
 */

/** A uint32 from (seed, index, stream): splitmix32-style mixing, one round per input (seeds use all 53 bits). */
function hashUint32(seed: number, index: number, stream = 0): number {
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32(h ^ Math.floor(seed / 0x100000000));
  h = mix32(h ^ Math.imul(index | 0, 0x85ebca6b));
  return mix32(h ^ Math.imul(stream + 1, 0xc2b2ae35));
}

function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A uniform integer in [0, maxInclusive] from (seed, index, stream). */
export function uniformInt(seed: number, index: number, stream: number, maxInclusive: number): number {
  return Math.floor((hashUint32(seed, index, stream) / 0x100000000) * (maxInclusive + 1));
}

/** A seeded permutation of 0..n-1 (Fisher-Yates driven by the counter-based hash). */
export function seededPermutation(n: number, seed: number, stream: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(seed, i, stream, i);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}

/** Largest domain `indexPermutation` handles: 2^52, so every value stays an exact double. */
export const MAX_PERMUTATION_SIZE = 2 ** 52;

/**
 * A seeded bijection of 0..n-1 evaluated one index at a time: a 4-round balanced Feistel network over the smallest
 * power of four >= n, cycle-walking values that fall outside [0, n). Unlike seededPermutation it allocates nothing,
 * so a plan can draw distinct positions from billions without materialising them, and any slice stays O(slice).
 * Round r draws from stream firstStream + r.
 */
export function indexPermutation(n: number, seed: number, firstStream: number): (i: number) => number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PERMUTATION_SIZE) throw new RangeError(`permutation size ${n} out of range`);
  let halfBits = 1;
  while (2 ** (2 * halfBits) < n) halfBits++;
  const half = 2 ** halfBits;
  const mask = half - 1;
  const feistel = (value: number): number => {
    let left = Math.floor(value / half);
    let right = value % half;
    for (let round = 0; round < 4; round++) {
      const next = (left ^ (hashUint32(seed, right, firstStream + round) & mask)) >>> 0;
      left = right;
      right = next;
    }
    return left * half + right;
  };
  return (i: number) => {
    let value = feistel(i);
    while (value >= n) value = feistel(value);
    return value;
  };
}
