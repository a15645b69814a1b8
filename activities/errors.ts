/**
 * The one place domain errors become Temporal failures: a VedaError (bad input, missing dataset, forbidden,
 * missing setup) is non-retryable with a message the user can act on; anything else is retried as transient.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isVedaError } from '../domain/errors.js';

export function toTemporalFailure(err: unknown): unknown {
  if (isVedaError(err)) {
    return ApplicationFailure.create({ type: err.kind, message: err.message, nonRetryable: true, cause: err });
  }
  return err;
}

/** Wraps every activity of a record so its domain errors are mapped once, here. */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toTemporalFailure(err);
      }
    };
  }
  return wrapped as T;
}
