/**
 * Errors a user can act on. Each is mapped once: to a non-retryable Temporal failure in activities/,
 * and to an exit code in the CLI. Anything else is treated as transient and retried.
 */
export class VedaError extends Error {
  /** Stable machine-readable kind, also the Temporal failure type. */
  readonly kind: string = 'VedaError';
  readonly exitCode: number = 1;
}

/** The input is wrong: a bad file, option, geometry or argument. Retrying cannot help. */
export class InvalidInputError extends VedaError {
  override readonly kind: string = 'InvalidInputError';
  override readonly exitCode = 2;
}

/** A dataset, datapoint or file does not exist (or is not visible to this user). */
export class NotFoundError extends VedaError {
  override readonly kind = 'NotFoundError';
  override readonly exitCode = 3;
}

/** The acting user may not do this to this dataset. */
export class ForbiddenError extends VedaError {
  override readonly kind = 'ForbiddenError';
  override readonly exitCode = 4;
}

/** Something veda needs is missing from the machine (the Temporal CLI, GDAL for a test, ...). */
export class SetupError extends VedaError {
  override readonly kind = 'SetupError';
  override readonly exitCode = 5;
}

/** The run was cancelled (`veda cancel`, `run.cancel()`, or the Web UI) before it finished. */
export class CancelledError extends VedaError {
  override readonly kind = 'CancelledError';
  override readonly exitCode = 6;
}

/** The request names no valid API token (missing, unknown or revoked): who is asking is not known. */
export class UnauthorizedError extends VedaError {
  override readonly kind = 'UnauthorizedError';
  override readonly exitCode = 7;
}

/** The input is fine but clashes with what exists (a schedule of that name is there already). */
export class ConflictError extends InvalidInputError {
  override readonly kind: string = 'ConflictError';
}

export const NON_RETRYABLE_ERROR_KINDS = ['InvalidInputError', 'NotFoundError', 'ForbiddenError', 'SetupError'];

export function isVedaError(err: unknown): err is VedaError {
  return err instanceof VedaError;
}

const ERROR_TYPES: Record<string, new (message: string) => VedaError> = {
  InvalidInputError, NotFoundError, ForbiddenError, SetupError, CancelledError, UnauthorizedError, ConflictError,
};

/** The error a `{ kind, message }` pair names (an API answer), as its own type; a VedaError for other kinds. */
export function errorOfKind(kind: string, message: string): VedaError {
  const Type = ERROR_TYPES[kind] ?? VedaError;
  return new Type(message);
}

/**
 * The error's message followed by its causes' (`Failed to start Workflow: 3 INVALID_ARGUMENT: ...`): the SDK's
 * wrappers say what failed, their causes say why. Repeated messages are said once.
 */
export function messageWithCauses(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const message = (e instanceof Error ? e.message : String(e)).trim();
    if (message && !parts.some((p) => p.includes(message))) parts.push(message);
  }
  return parts.join(': ');
}
