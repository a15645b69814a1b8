import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
export const DATASET_ID_LENGTH = 12;

/**
 * A new dataset id: 12 random base36 characters (about 62 bits), short enough for URLs, workflow ids
 * (`veda-<id>-ingest-<n>`) and file names, and URL-safe without escaping. Bytes >= 252 are skipped so every
 * character is equally likely (252 = 7 * 36).
 */
export function newDatasetId(): string {
  let id = '';
  while (id.length < DATASET_ID_LENGTH) {
    for (const byte of randomBytes(DATASET_ID_LENGTH * 2)) {
      if (byte < 252 && id.length < DATASET_ID_LENGTH) id += ALPHABET[byte % 36];
    }
  }
  return id;
}
