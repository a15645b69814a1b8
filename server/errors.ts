/**
 * Every error the service answers, mapped once: the domain's errors keep their kind (`{ error: { kind, message } }`,
 * as the CLI prints them) and get the HTTP status that fits; the framework's own (bad JSON, schema violations, a
 * body over the limit, too many requests) get theirs. A client turns the kind back into the same error type.
 */
import { isVedaError, messageWithCauses } from '../domain/errors.js';

/** HTTP status of each domain error kind. Another user's private dataset is NotFoundError: 404, never 403. */
const STATUS_OF_KIND: Record<string, number> = {
  InvalidInputError: 400,
  UnauthorizedError: 401,
  ForbiddenError: 403,
  NotFoundError: 404,
  ConflictError: 409,
  CancelledError: 409,
  SetupError: 503,
};

/** Kinds of the framework's own refusals, by status. */
const KIND_OF_STATUS: Record<number, string> = {
  400: 'InvalidInputError',
  401: 'UnauthorizedError',
  404: 'NotFoundError',
  405: 'InvalidInputError',
  413: 'PayloadTooLargeError',
  415: 'InvalidInputError',
  416: 'RangeNotSatisfiableError',
  429: 'RateLimitError',
};

export interface ErrorAnswer {
  status: number;
  body: { error: { kind: string; message: string } };
}

export function errorAnswer(err: unknown): ErrorAnswer {
  if (isVedaError(err)) return answer(STATUS_OF_KIND[err.kind] ?? 500, err.kind, err.message);
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return answer(status, KIND_OF_STATUS[status] ?? 'InvalidInputError', (err as Error).message);
  }
  return answer(500, 'Error', messageWithCauses(err));
}

function answer(status: number, kind: string, message: string): ErrorAnswer {
  return { status, body: { error: { kind, message } } };
}

interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** A schema violation in words: `body/pairs/0 must have required property 'label'`, `body has unknown property 'sorce'`. */
export function describeSchemaErrors(errors: SchemaError[], where: string): string {
  return errors
    .map((e) => {
      const at = `${where}${e.instancePath}`;
      if (e.keyword === 'additionalProperties') return `${at} has unknown property '${String(e.params.additionalProperty)}'`;
      if (e.keyword === 'enum') return `${at} must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
      return `${at} ${e.message ?? 'is not valid'}`;
    })
    .join('; ');
}
