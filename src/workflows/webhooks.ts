import { isCancellation } from '@temporalio/workflow';
import type { DeliverWebhooksInput, DeliveryResult } from '../contracts/webhooks';
import { activity } from './activities';
import { autoUpgrades } from './versioning';

/** Margin over the HTTP timeout for the activity's own reads and writes. */
const ACTIVITY_MARGIN_MS = 10_000;

// Deliveries retry with backoff for hours: pinned, a run would hold an old build up as long.
autoUpgrades(deliverWebhooks);

/**
 * One outbox event to each webhook that subscribed to it, in parallel; each delivery retries on its own with
 * exponential backoff (the policy comes from config through the input), and a refused one does not hold up the others.
 */
export async function deliverWebhooks(input: DeliverWebhooksInput): Promise<DeliveryResult[]> {
  const { retry } = input;
  const deliverWebhook = activity('deliverWebhook', {
    startToCloseTimeout: retry.timeout_ms + ACTIVITY_MARGIN_MS,
    retry: {
      initialInterval: retry.initial_interval_ms,
      maximumInterval: retry.maximum_interval_ms,
      maximumAttempts: retry.maximum_attempts,
    },
  });
  return Promise.all(
    input.webhook_ids.map(async (webhook_id): Promise<DeliveryResult> => {
      try {
        return await deliverWebhook({ tenant_id: input.tenant_id, webhook_id, event_id: input.event_id, retry });
      } catch (err) {
        if (isCancellation(err)) throw err;
        // Every attempt and why it failed is in the delivery log; the run itself succeeds.
        return { webhook_id, status: 'failed' };
      }
    }),
  );
}
