/**
 * Errors across the thread boundary. A thread's errors reach the caller as structured clones, which keep a message
 * but not the class: veda's errors (a bad input is not retried) travel as their kind and come back as themselves.
 */
import { CancelledError, ConflictError, ForbiddenError, InvalidInputError, NotFoundError, SetupError, UnauthorizedError, VedaError } from '../domain/errors.js';

/** A task's failure as it crosses threads. */
export interface TaskFailure {
  failed: true;
  kind: string;
  name: string;
  message: string;
  stack?: string;
}

const VEDA_ERRORS: Record<string, new (message: string) => VedaError> = {
  InvalidInputError,
  NotFoundError,
  ForbiddenError,
  SetupError,
  CancelledError,
  UnauthorizedError,
  ConflictError,
};

export function toTaskFailure(err: unknown): TaskFailure {
  const error = err instanceof Error ? err : new Error(String(err));
  const kind = error instanceof VedaError ? error.kind : 'Error';
  return { failed: true, kind, name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
}

export function isTaskFailure(value: unknown): value is TaskFailure {
  return typeof value === 'object' && value !== null && (value as Partial<TaskFailure>).failed === true;
}

/** The error the task threw, as its own class when it is one of veda's (anything else stays a plain, retryable Error). */
export function fromTaskFailure(failure: TaskFailure): Error {
  const VedaClass = VEDA_ERRORS[failure.kind];
  const error = VedaClass ? new VedaClass(failure.message) : new Error(failure.message);
  if (!VedaClass) error.name = failure.name;
  if (failure.stack) error.stack = failure.stack;
  return error;
}
