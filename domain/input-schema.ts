/**
 * Checking an external input against its zod schema: the one way veda turns what a caller gave (options, records,
 * fed pairs, the environment) into a typed value, or into an InvalidInputError that says what is wrong.
 */
import type { z } from 'zod';
import { InvalidInputError } from './errors.js';

/** A record whose problems are named by path: `invalid <what>: tileSize[0]: Too big; name: must not be empty`. */
export function parseRecord<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issuePath(issue.path) || 'value'}: ${issue.message}`);
  throw new InvalidInputError(`invalid ${what}: ${problems.join('; ')}`);
}

/**
 * A caller's options (`what`: `ingest`, `batch`, ...) against a strict object schema whose messages name the option
 * and its value themselves (`count 0 must be a whole number of at least 1`). Unknown option names come first and
 * alone (`ingest({ class_property })`, a pyveda habit, is the cause of whatever else looks wrong), with the
 * camelCase spelling when it is one. With `record`, other problems are named by path, as parseRecord names them.
 */
export function parseOptions<S extends z.ZodObject>(schema: S, value: unknown, what: string, record?: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const known = Object.keys(schema.shape);
  const unknown = result.error.issues.flatMap((issue) => (issue.code === 'unrecognized_keys' && issue.path.length === 0 ? issue.keys : []));
  if (unknown.length > 0) {
    const named = unknown.map((key) => {
      const camel = key.replace(/[_-]([a-z])/g, (_, c: string) => c.toUpperCase());
      return camel !== key && known.includes(camel) ? `${key} (did you mean ${camel}?)` : key;
    });
    throw new InvalidInputError(`unknown ${what} option${unknown.length > 1 ? 's' : ''}: ${named.join(', ')}; known: ${known.join(', ')}`);
  }
  // A record's options (`create`'s dataset) are named by path, as the catalog names them.
  if (record !== undefined) return parseRecord(schema, value, record);
  throw new InvalidInputError(result.error.issues.map((issue) => issue.message).join('; '));
}

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, '');
}
