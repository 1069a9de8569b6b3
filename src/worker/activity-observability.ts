import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { FailureType } from '../contracts/failure-types';
import { refuseUnreadable } from '../definitions/unreadable-payloads';
import { requestIdFrom } from '../infra/temporal/correlation';
import { withLogContext, type Logger } from '../infra/observability/logger';
import { capString } from '../infra/observability/redact';
import type { Metrics } from '../infra/observability/metrics';

/** What an activity's own result says for the domain metrics (cache outcomes, validation results). */
type Observer = {
  done?: (metrics: Metrics, output: unknown) => void;
  failed?: (metrics: Metrics, err: unknown) => void;
};

const observers: Record<string, Observer> = {
  cacheLookupWithVersion: {
    done(metrics, output) {
      const { hit, lineage } = output as {
        hit?: { layer?: string } | null;
        lineage?: { layer?: string | null } | null;
      };
      // An answer of the function's active version counts as a hit of the layer that held it, else of `lineage`.
      const layer = hit ? (hit.layer ?? 'other') : lineage ? (lineage.layer ?? 'lineage') : undefined;
      metrics.cacheRequests.inc(layer ? { layer, outcome: 'hit' } : { layer: 'all', outcome: 'miss' });
    },
  },
  validate: {
    done(metrics, output) {
      metrics.validationResults.inc({
        outcome: 'passed',
        safety_level: (output as { safety_level: string }).safety_level,
      });
    },
    failed(metrics, err) {
      const failure = err instanceof ApplicationFailure ? err : undefined;
      if (failure?.type !== FailureType.ValidationFailed) return;
      const details = failure.details?.[0] as { safety_level?: string } | undefined;
      metrics.validationResults.inc({ outcome: 'failed', safety_level: details?.safety_level ?? 'blocked' });
    },
  },
};

/**
 * Around every activity (local ones too): a log context with request_id, workflow_id, run_id and activity,
 * so every line the activity logs carries them; `poet_stage_duration_seconds{stage}`; the domain metrics above;
 * and one log line per attempt with its outcome and duration.
 */
export function activityObservability(deps: { logger: Logger; metrics: Metrics }): ActivityInterceptorsFactory {
  const { logger, metrics } = deps;
  return (ctx) => {
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        const { info } = ctx;
        const fields = {
          request_id: requestIdFrom(input.headers),
          workflow_id: info.workflowExecution?.workflowId,
          run_id: info.workflowExecution?.runId,
          activity: info.activityType,
        };
        return withLogContext(fields, async () => {
          const observer = observers[info.activityType];
          const started = performance.now();
          const stopTimer = metrics.stageDuration.startTimer({ stage: metrics.stage(info.activityType) });
          try {
            // An input the worker's codec could not decrypt fails the attempt for good, never reaching the activity.
            refuseUnreadable(input.args);
            const output = await next(input);
            observer?.done?.(metrics, output);
            logger.info('activity completed', { attempt: info.attempt, duration_ms: sinceMs(started) });
            return output;
          } catch (err) {
            capFailureMessage(err);
            observer?.failed?.(metrics, err);
            logger.warn('activity failed', {
              attempt: info.attempt,
              duration_ms: sinceMs(started),
              error: (err as Error).message,
            });
            throw err;
          } finally {
            stopTimer();
          }
        });
      },
    };
    return { inbound };
  };
}

/** Longest failure message an activity hands on: it is logged, stored in history and answered to the client. */
const MAX_FAILURE_MESSAGE = 4096;

/** A failure embedding what a request sent (a validation mismatch quotes the sample) stays a few KiB. */
function capFailureMessage(err: unknown): void {
  if (!(err instanceof Error) || err.message.length <= MAX_FAILURE_MESSAGE) return;
  const details = err instanceof ApplicationFailure && (err.details?.length ?? 0) > 0;
  err.message = capString(
    err.message,
    MAX_FAILURE_MESSAGE,
    details ? "this failure's details in the run's history" : 'nowhere: the activity attached no details',
  );
}

function sinceMs(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
