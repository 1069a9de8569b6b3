import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { REQUEST_ID_TEMPORAL_HEADER } from '../../contracts/correlation';
import { currentLogContext } from '../observability/logger';

type Headers = Record<string, Payload>;

function withRequestId<T extends { headers: Headers }>(input: T): T {
  const requestId = currentLogContext().request_id;
  if (!requestId) return input;
  return {
    ...input,
    headers: { ...input.headers, [REQUEST_ID_TEMPORAL_HEADER]: defaultPayloadConverter.toPayload(requestId) },
  };
}

/** The request id of the current log context, as a header on every workflow the client starts. */
export function correlationClientInterceptor(): WorkflowClientInterceptor {
  return {
    start: (input, next) => next(withRequestId(input)),
    startWithDetails: (input, next) => next(withRequestId(input)),
    signalWithStart: (input, next) => next(withRequestId(input)),
    startUpdateWithStart: (input, next) =>
      next({ ...input, workflowStartHeaders: withRequestId({ headers: input.workflowStartHeaders }).headers }),
  };
}

/** The request id a workflow, activity or child received in its headers, if any. */
export function requestIdFrom(headers: Headers): string | undefined {
  const payload = headers[REQUEST_ID_TEMPORAL_HEADER];
  if (!payload) return undefined;
  const value: unknown = defaultPayloadConverter.fromPayload(payload);
  return typeof value === 'string' ? value : undefined;
}
