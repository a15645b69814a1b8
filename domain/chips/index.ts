export { LocalChipStore, ObjectChipStore } from './object-chip-store.js';
export { chipKey, datasetChipPrefix } from './chip-keys.js';
export { encodeChip, decodeChip } from './chip-format.js';
export type { ChipStore } from './types.js';
