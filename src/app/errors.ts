import { ServiceError } from '@temporalio/client';
import type { ErrorClass } from '../contracts/error-classes';
import type { ErrorBody, ErrorDetail } from '../contracts/errors';
import { EncryptionKeyUnavailable } from '../infra/crypto/key-ring';
import { databaseFault } from '../infra/db/pool';
import { PythonAnalyzerError } from '../infra/sandbox/python-analyzer';
import { PayloadNotFoundError } from '../infra/temporal/claim-check';

/**
 * What a use case refuses, in terms of the request rather than of HTTP: the API's one error handler maps each
 * class to a status and the machine-readable error body. Anything that is not an AppError is a fault of ours.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly extra: Partial<ErrorBody['error']> = {},
  ) {
    super(message);
  }
}

/** The input breaks a rule a schema cannot state (a domain that does not exist, a refused webhook URL). */
export class InvalidInputError extends AppError {
  constructor(message: string, details?: ErrorDetail[], code = 'invalid_request') {
    super(code, message, details);
  }
}

export class NotFoundError extends AppError {}

export class ConflictError extends AppError {}

/** The caller may not do this, whatever its role (schedules belong to the operator tenant). */
export class ForbiddenError extends AppError {}

export class TooLargeError extends AppError {
  constructor(message: string) {
    super('payload_too_large', message);
  }
}

/** Understood, but this input cannot be processed (code that does not parse, a run that failed on it). */
export class UnprocessableError extends AppError {}

/** A dependency cannot serve now: the client waits `retryAfterSeconds` and tries again. */
export class UnavailableError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code = 'service_unavailable',
    extra: Partial<ErrorBody['error']> = {},
  ) {
    super(code, message, undefined, extra);
  }
}

/**
 * The database could not serve the request: a wait-and-retry for the client, never a 500, and never a 401 when it
 * was the key store that could not be read. `fault` names what failed, e.g. `connection_lost`.
 */
export class DatabaseUnavailableError extends UnavailableError {
  constructor(readonly fault: string) {
    super(`the database could not serve this request (${fault}), retry shortly`, 2, 'database_unavailable', { fault });
  }
}

/** A run ended without a result; `code` says why (`invalid_input`, `validation_failed`, `enhancement_failed`, ...). */
export class RunFailedError extends AppError {
  constructor(
    failure: Pick<ErrorBody['error'], 'code' | 'message' | 'category' | 'severity'>,
    run: { workflow_id: string; run_id?: string },
  ) {
    super(failure.code, failure.message, undefined, { run });
    this.errorClass = { category: failure.category, severity: failure.severity };
  }

  readonly errorClass: ErrorClass;
}

/**
 * The adapters' own failures that mean something to the caller, as AppErrors: a payload reference the caller may
 * not read answers like one that never existed; analysis that ran out of time is the request's fault (its timeout
 * counts only its own work), any other analyzer trouble a wait-and-retry; Temporal or the database unreachable
 * is a wait-and-retry too, not our crash.
 */
export function fromAdapters(err: unknown): AppError | undefined {
  if (err instanceof PayloadNotFoundError) return new NotFoundError('payload_not_found', err.message);
  if (err instanceof PythonAnalyzerError) {
    if (err.code === 'timeout')
      return new UnprocessableError('analysis_timeout', 'original_code took too long to parse');
    return new UnavailableError('python analysis is busy, retry shortly', 1);
  }
  if (err instanceof EncryptionKeyUnavailable)
    return new UnavailableError(err.message, 60, 'encryption_key_unavailable', { fault: `key ${err.keyId}` });
  if (err instanceof ServiceError) return new UnavailableError('workflow service unavailable, retry shortly', 5);
  const fault = databaseFault(err);
  return fault ? new DatabaseUnavailableError(fault) : undefined;
}
