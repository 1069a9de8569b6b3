import { z } from 'zod';
import { EventType } from './events';

/** `wh_` and 16 hex digits. */
export const WebhookId = z.string().regex(/^wh_[0-9a-f]{16}$/, 'a webhook id looks like wh_ and 16 hex digits');

/** An event type, or `*` for every type (also the ones added later). */
export const WebhookEventType = z.union([EventType, z.literal('*')]);

export const CreateWebhookRequest = z.strictObject({
  url: z.string().min(1).max(2048),
  // Plain strings here: the route checks them against EventType and answers `unknown_event_type` with the valid ones.
  event_types: z
    .array(z.string().max(100))
    .min(1)
    .max(EventType.options.length + 1),
  description: z.string().trim().max(200).optional(),
});
export type CreateWebhookRequest = z.infer<typeof CreateWebhookRequest>;

/** A webhook as lists show it: never its secret. */
export const WebhookView = z.object({
  id: WebhookId,
  url: z.string(),
  event_types: z.array(WebhookEventType),
  description: z.string().nullable(),
  created_at: z.string(),
});
export type WebhookView = z.infer<typeof WebhookView>;

/** The 201 of a registration: the signing secret, shown this once. */
export const WebhookCreated = WebhookView.extend({ secret: z.string() });
export type WebhookCreated = z.infer<typeof WebhookCreated>;

export const DeliveryOutcome = z.enum(['delivered', 'failed', 'blocked']);
export type DeliveryOutcome = z.infer<typeof DeliveryOutcome>;

/** One attempt of one delivery, as the log keeps it. */
export const DeliveryAttempt = z.object({
  id: z.string(),
  delivery_id: z.string(),
  event_id: z.string().nullable(),
  event_type: z.string(),
  attempt: z.number().int().positive(),
  outcome: DeliveryOutcome,
  will_retry: z.boolean(),
  status_code: z.number().int().nullable(),
  error: z.string().nullable(),
  /** The first bytes of the response body, for diagnosis; never more. */
  response_excerpt: z.string().nullable(),
  duration_ms: z.number().int().nonnegative(),
  created_at: z.string(),
});
export type DeliveryAttempt = z.infer<typeof DeliveryAttempt>;

export const DeliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  page_token: z.string().max(200).optional(),
});
export type DeliveriesQuery = z.infer<typeof DeliveriesQuery>;

export const DeliveriesPage = z.object({
  deliveries: z.array(DeliveryAttempt),
  next_page_token: z.string().nullable(),
});

/** Retry policy of deliveries, from config (the workflow cannot read it). */
export const WebhookRetry = z.object({
  initial_interval_ms: z.number().int().positive(),
  maximum_interval_ms: z.number().int().positive(),
  maximum_attempts: z.number().int().positive(),
  /** Bound on one attempt's HTTP exchange. */
  timeout_ms: z.number().int().positive(),
});
export type WebhookRetry = z.infer<typeof WebhookRetry>;

/** Input of `deliverWebhooks`: one event to the tenant's webhooks that subscribed to it when it was dispatched. */
export const DeliverWebhooksInput = z.object({
  tenant_id: z.string(),
  event_id: z.string(),
  webhook_ids: z.array(WebhookId),
  retry: WebhookRetry,
});
export type DeliverWebhooksInput = z.infer<typeof DeliverWebhooksInput>;

export const DeliverWebhookInput = z.object({
  tenant_id: z.string(),
  webhook_id: WebhookId,
  event_id: z.string(),
  retry: WebhookRetry,
});
export type DeliverWebhookInput = z.infer<typeof DeliverWebhookInput>;

/** What one delivery ended as: sent, given up on, or skipped because the webhook (or the event) is gone. */
export const DeliveryResult = z.object({ webhook_id: WebhookId, status: z.enum(['delivered', 'skipped', 'failed']) });
export type DeliveryResult = z.infer<typeof DeliveryResult>;

/** Answer of POST /api/v1/webhooks/{id}/test: the one attempt of a `ping`. */
export const WebhookTestResult = DeliveryAttempt.pick({
  delivery_id: true,
  outcome: true,
  status_code: true,
  error: true,
  duration_ms: true,
});
export type WebhookTestResult = z.infer<typeof WebhookTestResult>;
