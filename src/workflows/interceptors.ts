import type { Payload } from '@temporalio/common';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { REQUEST_ID_TEMPORAL_HEADER } from '../contracts/correlation';
import { refuseUnreadable } from '../definitions/unreadable-payloads';

/**
 * Fails a run whose input this worker could not decrypt (the worker's codec marks it), non-retryably, before the
 * workflow reads it. Passes the request id header the client set on the workflow to every activity, local activity and child
 * workflow it schedules, so their log lines join the request's. Headers are not part of the determinism check.
 */
export const interceptors: WorkflowInterceptorsFactory = () => {
  let requestId: Payload | undefined;
  const withRequestId = <T extends { headers: Record<string, Payload> }>(input: T): T =>
    requestId && !input.headers[REQUEST_ID_TEMPORAL_HEADER]
      ? { ...input, headers: { ...input.headers, [REQUEST_ID_TEMPORAL_HEADER]: requestId } }
      : input;
  return {
    inbound: [
      {
        // Async, so the failure rejects the run's promise (failing the run) instead of throwing out of the task; the
        // body still runs synchronously up to next(), as before.
        async execute(input, next) {
          refuseUnreadable(input.args);
          requestId = input.headers[REQUEST_ID_TEMPORAL_HEADER];
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next(withRequestId(input)),
        scheduleLocalActivity: (input, next) => next(withRequestId(input)),
        startChildWorkflowExecution: (input, next) => next(withRequestId(input)),
      },
    ],
  };
};
