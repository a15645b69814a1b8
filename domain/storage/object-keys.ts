import { InvalidInputError } from '../errors.js';

/** A key segment that names one thing one way: not empty, '.', '..', and no '/', '\' or NUL. */
export function isPlainSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !/[/\\\0]/.test(segment);
}

/**
 * Checks a store key or prefix. Keys are relative, '/'-separated paths of plain segments: no absolute paths,
 * backslashes, '.', '..' or empty segments, so a key can never leave the store's root or name one object two ways.
 * A prefix may end with '/' or part way through a name; it cannot be empty. Returns the segments.
 */
export function checkKey(key: string, kind: 'key' | 'prefix'): string[] {
  const segments = key.split('/');
  if (kind === 'prefix' && segments.length > 1 && segments.at(-1) === '') segments.pop();
  if (!segments.every(isPlainSegment)) {
    throw new InvalidInputError(`store ${kind} "${key}" must be a relative path of plain segments inside the store`);
  }
  return segments;
}
