/** Schedule names and ids (`veda-<dataset>-batches-<name>`), apart from the Temporal client so HTTP clients share them. */
import { InvalidInputError } from '../domain/errors.js';

export function checkScheduleName(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new InvalidInputError(`schedule name "${name}" may hold letters, digits, . _ and - only`);
  return name;
}

export function scheduleId(datasetId: string, name: string): string {
  return `veda-${datasetId}-batches-${name}`;
}
