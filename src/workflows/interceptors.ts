import type { Payload } from '@temporalio/common';
import {
  ContinueAsNew,
  isCancellation,
  upsertSearchAttributes,
  workflowInfo,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { REQUEST_ID_TEMPORAL_HEADER } from '../contracts/correlation';
import { OutcomeKey } from '../definitions/search-attributes';
import { refuseUnreadable } from '../definitions/unreadable-payloads';
import { takes } from './versioning';

/** How a run ended, for one whose workflow said nothing more precise: operators filter every type by Outcome. */
function settle(outcome: 'completed' | 'failed' | 'canceled'): void {
  if (workflowInfo().typedSearchAttributes.get(OutcomeKey) === undefined && takes('outcomeOnEnd'))
    upsertSearchAttributes([{ key: OutcomeKey, value: outcome }]);
}

/**
 * Sets Outcome on a run that ends without one (completed, failed or canceled; a continue-as-new page has not ended).
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
          try {
            refuseUnreadable(input.args);
            requestId = input.headers[REQUEST_ID_TEMPORAL_HEADER];
            const result = await next(input);
            settle('completed');
            return result;
          } catch (err) {
            if (!(err instanceof ContinueAsNew)) settle(isCancellation(err) ? 'canceled' : 'failed');
            throw err;
          }
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
