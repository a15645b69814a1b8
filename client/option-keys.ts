/**
 * Unknown option names are errors, not silently ignored: `ingest({ class_property: 'kind' })` from a pyveda habit
 * would otherwise ingest with the default class property and no word said.
 */
import { InvalidInputError } from '../domain/errors.js';

/** Throws InvalidInputError naming every key of `options` not in `known`, with the camelCase name when it is one. */
export function rejectUnknownOptions(options: object | undefined, known: readonly string[], what: string): void {
  if (!options) return;
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  const named = unknown.map((key) => {
    const camel = key.replace(/[_-]([a-z])/g, (_, c: string) => c.toUpperCase());
    return camel !== key && known.includes(camel) ? `${key} (did you mean ${camel}?)` : key;
  });
  throw new InvalidInputError(`unknown ${what} option${unknown.length > 1 ? 's' : ''}: ${named.join(', ')}; known: ${known.join(', ')}`);
}
