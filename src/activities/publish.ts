import type { ErrorCategory, ErrorSeverity } from '../contracts/error-classes';
import type { PublishedEvent, PublishInput } from '../contracts/events';
import type { EventPublisher } from '../infra/events/publisher';
import type { Metrics } from '../infra/observability/metrics';

/**
 * Publishes a run's events, and counts its outcome on the way: the run's duration from its `enhancement.started`
 * (dated when the run started) to its outcome, and the class of its failure. Runs answered 202 count as much as
 * those answered 200. A retried publish that inserts nothing new was counted by its first attempt.
 */
export function createPublishActivity(events: EventPublisher, metrics: Metrics) {
  return {
    async publish(input: PublishInput): Promise<{ inserted: number; streamed: number }> {
      const published = await events.publish(input);
      if (published.inserted > 0) countOutcome(metrics, input.events);
      return published;
    },
  };
}

function countOutcome(metrics: Metrics, events: PublishedEvent[]): void {
  const started = events.find((e) => e.type === 'enhancement.started');
  const outcome = events.find((e) => e.type === 'enhancement.completed' || e.type === 'enhancement.failed');
  if (!started?.occurred_at || !outcome) return;
  const seconds = (Date.now() - Date.parse(started.occurred_at)) / 1000;
  metrics.runDuration.observe(
    {
      workflow_type: String(started.payload.workflow_type),
      outcome: outcome.type === 'enhancement.completed' ? 'completed' : 'failed',
    },
    Math.max(0, seconds),
  );
  if (outcome.type === 'enhancement.failed') {
    const { category, severity } = outcome.payload as { category: ErrorCategory; severity: ErrorSeverity };
    metrics.errors.inc({ category, severity });
  }
}
