import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../contracts/failure-types';
import type { DeliverWebhookInput, DeliveryResult } from '../contracts/webhooks';
import { sendWebhook } from '../infra/events/webhook-http';
import { attemptRecord, deliveryIdOf, type WebhooksRepo } from '../infra/db/webhooks-repo';

/** Counted per attempt: `retry` is a failed attempt another one follows; `failed` one that ends the delivery. */
export type AttemptOutcome = 'delivered' | 'retry' | 'failed' | 'blocked';

export interface WebhookSettings {
  repo: WebhooksRepo;
  /** Lets deliveries reach loopback, private and link-local addresses (tests, private networks). */
  allowPrivate: boolean;
  onAttempt(outcome: AttemptOutcome): void;
}

export function createWebhookActivities(deps: WebhookSettings) {
  return {
    /**
     * One attempt of one event to one webhook, logged as a row whatever happens; Temporal's retry policy is the
     * only retry loop. A webhook deleted meanwhile ends the delivery quietly.
     */
    async deliverWebhook(input: DeliverWebhookInput): Promise<DeliveryResult> {
      const { attempt } = Context.current().info;
      const skipped: DeliveryResult = { webhook_id: input.webhook_id, status: 'skipped' };
      const target = await deps.repo.target(input.tenant_id, input.webhook_id);
      const event = target && (await deps.repo.event(input.tenant_id, input.event_id));
      if (!target || !event) return skipped;

      const deliveryId = deliveryIdOf(target.id, event.id);
      const sent = await sendWebhook({
        url: target.url,
        secret: target.secret,
        eventType: event.type,
        deliveryId,
        attempt,
        body: JSON.stringify(event),
        timeoutMs: input.retry.timeout_ms,
        allowPrivate: deps.allowPrivate,
      });
      const willRetry = sent.retryable && attempt < input.retry.maximum_attempts;
      const logged = await deps.repo.recordAttempt(
        input.tenant_id,
        target.id,
        attemptRecord(
          { delivery_id: deliveryId, event_id: event.id, event_type: event.type, attempt, will_retry: willRetry },
          sent,
        ),
      );
      deps.onAttempt(sent.outcome === 'failed' && willRetry ? 'retry' : sent.outcome);
      if (sent.outcome === 'delivered') return { webhook_id: target.id, status: 'delivered' };
      if (!logged) return skipped;
      const message = `delivery ${deliveryId}, attempt ${attempt}: ${sent.error}`;
      if (!sent.retryable)
        throw ApplicationFailure.create({ type: FailureType.WebhookRejected, nonRetryable: true, message });
      throw ApplicationFailure.create({
        type: FailureType.WebhookTransient,
        message,
        // A receiver's Retry-After wins over the backoff, within the policy's longest interval.
        ...(sent.retry_after_ms !== undefined
          ? { nextRetryDelay: Math.min(sent.retry_after_ms, input.retry.maximum_interval_ms) }
          : {}),
      });
    },
  };
}
