import type { ErrorRequestHandler } from 'express';
import { ServiceError } from '@temporalio/client';
import type { z } from 'zod';
import type { ErrorBody, ErrorDetail } from '../contracts/errors';
import { PayloadNotFoundError } from '../infra/temporal/claim-check';
import { databaseFault } from '../infra/db/pool';
import { PythonAnalyzerError } from '../infra/sandbox/python-analyzer';
import type { Logger } from '../infra/observability/logger';

/** An answer the client caused or must act on; everything else is a 500 with a generic message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly extra: Partial<ErrorBody['error']> = {},
  ) {
    super(message);
  }
}

export class BadRequestError extends HttpError {
  constructor(message: string, details?: ErrorDetail[], code = 'invalid_request') {
    super(400, code, message, details);
  }
}

export class NotFoundError extends HttpError {
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(message: string) {
    super(413, 'payload_too_large', message);
  }
}

export class UnprocessableError extends HttpError {
  constructor(code: string, message: string, details?: ErrorDetail[], extra?: Partial<ErrorBody['error']>) {
    super(422, code, message, details, extra);
  }
}

export class ServiceUnavailableError extends HttpError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code = 'service_unavailable',
    extra: Partial<ErrorBody['error']> = {},
  ) {
    super(503, code, message, undefined, extra);
  }
}

/**
 * The database could not serve the request: a wait-and-retry for the client, never a 500, and never a 401 when it
 * was the key store that could not be read. `fault` names what failed, e.g. `connection_lost`.
 */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  constructor(readonly fault: string) {
    super(`the database could not serve this request (${fault}), retry shortly`, 2, 'database_unavailable', { fault });
  }
}

export function zodDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
}

/** body-parser raises these with a `type`; they are the client's fault. */
function fromBodyParser(err: unknown): HttpError | undefined {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') return new PayloadTooLargeError('request body exceeds the size limit');
  if (type === 'entity.parse.failed') return new BadRequestError('request body is not valid JSON', undefined, 'invalid_json');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new HttpError(415, 'unsupported_media_type', 'unsupported body encoding');
  return undefined;
}

/** The router could not percent-decode a path parameter (`/runs/%zz`): a malformed URL, not our fault. */
function fromRouter(err: unknown): HttpError | undefined {
  if (err instanceof URIError && (err as { status?: unknown }).status === 400) {
    return new BadRequestError('the request path is not validly percent-encoded', undefined, 'invalid_path');
  }
  return undefined;
}

/** A payload reference the caller may not read answers like one that never existed. */
function fromPayloadStore(err: unknown): HttpError | undefined {
  if (err instanceof PayloadNotFoundError) return new NotFoundError('payload_not_found', err.message);
  return undefined;
}

/**
 * The code's own analysis ran out of time: the request's fault, since its timeout counts only its own work.
 * Anything else (a busy pool, a child lost) is a wait-and-retry.
 */
function fromAnalyzer(err: unknown): HttpError | undefined {
  if (!(err instanceof PythonAnalyzerError)) return undefined;
  if (err.code === 'timeout') return new UnprocessableError('analysis_timeout', 'original_code took too long to parse');
  return new ServiceUnavailableError('python analysis is busy, retry shortly', 1);
}

/** Temporal unreachable is a wait-and-retry for the client, not our crash. */
function fromTemporal(err: unknown): HttpError | undefined {
  if (err instanceof ServiceError) return new ServiceUnavailableError('workflow service unavailable, retry shortly', 5);
  return undefined;
}

function fromDatabase(err: unknown): HttpError | undefined {
  const fault = databaseFault(err);
  return fault ? new DatabaseUnavailableError(fault) : undefined;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const known = err instanceof HttpError ? err : (fromBodyParser(err) ?? fromRouter(err) ?? fromPayloadStore(err) ?? fromAnalyzer(err) ?? fromTemporal(err) ?? fromDatabase(err));
    if (known instanceof DatabaseUnavailableError) logger.warn('database fault answered 503', { method: req.method, path: req.path, fault: known.fault, error: (err as Error).message });
    if (!known) logger.error('unhandled request error', { method: req.method, path: req.path, error: (err as Error)?.message });
    // A stream (SSE) already under way cannot turn into an error body: cut it, the client reconnects.
    if (res.headersSent) {
      res.end();
      return;
    }
    const status = known?.status ?? 500;
    const body: ErrorBody = {
      error: {
        ...known?.extra,
        code: known?.code ?? 'internal',
        message: known?.message ?? 'internal error',
        ...(known?.details ? { details: known.details } : {}),
      },
    };
    if (known instanceof ServiceUnavailableError) res.setHeader('Retry-After', String(known.retryAfterSeconds));
    res.status(status).json(body);
  };
}
