import type { ErrorRequestHandler } from 'express';
import type { z } from 'zod';
import { classOfStatus } from '../contracts/error-classes';
import type { ErrorBody, ErrorDetail } from '../contracts/errors';
import {
  AppError,
  ConflictError,
  DatabaseUnavailableError,
  ForbiddenError,
  fromAdapters,
  InvalidInputError,
  NotFoundError,
  RunFailedError,
  TooLargeError,
  UnavailableError,
  UnprocessableError,
} from '../app/errors';
import type { Logger, Metrics } from '../http/observability';

/** An answer the HTTP layer itself gives (credentials, rate limits, unreadable requests), before any use case runs. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }
}

export function zodDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
}

/** body-parser raises these with a `type`; they are the client's fault. */
function fromBodyParser(err: unknown): AppError | HttpError | undefined {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') return new TooLargeError('request body exceeds the size limit');
  if (type === 'entity.parse.failed')
    return new InvalidInputError('request body is not valid JSON', undefined, 'invalid_json');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return new HttpError(415, 'unsupported_media_type', 'unsupported body encoding');
  return undefined;
}

/** The router could not percent-decode a path parameter (`/runs/%zz`): a malformed URL, not our fault. */
function fromRouter(err: unknown): AppError | undefined {
  if (err instanceof URIError && (err as { status?: unknown }).status === 400) {
    return new InvalidInputError('the request path is not validly percent-encoded', undefined, 'invalid_path');
  }
  return undefined;
}

/** Failed runs answer 422 (the input cannot be enhanced) unless the fault is ours. */
const FAILED_RUN_STATUS: Partial<Record<string, number>> = {
  enhancement_failed: 502,
  sandbox_unavailable: 503,
  encryption_key_unavailable: 503,
};

function statusOf(err: AppError): number {
  if (err instanceof InvalidInputError) return 400;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof TooLargeError) return 413;
  if (err instanceof UnprocessableError) return 422;
  if (err instanceof RunFailedError) return FAILED_RUN_STATUS[err.code] ?? 422;
  if (err instanceof UnavailableError) return 503;
  return 500;
}

/** The one error handler: every refusal of a use case or of the HTTP layer becomes its status and the error body. */
export function errorHandler(logger: Logger, metrics: Metrics): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const known =
      err instanceof HttpError || err instanceof AppError
        ? err
        : (fromBodyParser(err) ?? fromRouter(err) ?? fromAdapters(err));
    if (known instanceof DatabaseUnavailableError)
      logger.warn('database fault answered 503', {
        method: req.method,
        path: req.path,
        fault: known.fault,
        error: (err as Error).message,
      });
    if (!known)
      logger.error('unhandled request error', { method: req.method, path: req.path, error: (err as Error)?.message });
    // A stream (SSE) already under way cannot turn into an error body: cut it, the client reconnects.
    if (res.headersSent) {
      res.end();
      return;
    }
    const status = known instanceof HttpError ? known.status : known ? statusOf(known) : 500;
    const errorClass = (known instanceof RunFailedError && known.errorClass) || classOfStatus(status);
    // A failed run is counted by the worker that ran it, whether or not anyone waited for its answer.
    if (!(known instanceof RunFailedError)) metrics.errors.inc({ ...errorClass });
    res.locals.errorClass = errorClass;
    const body: ErrorBody = {
      error: {
        ...errorClass,
        ...(known instanceof AppError ? known.extra : {}),
        code: known?.code ?? 'internal',
        message: known?.message ?? 'internal error',
        ...(known?.details ? { details: known.details } : {}),
      },
    };
    if (known instanceof UnavailableError) res.setHeader('Retry-After', String(known.retryAfterSeconds));
    res.status(status).json(body);
  };
}
