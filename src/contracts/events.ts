import { z } from 'zod';

export const EventType = z.enum([
  'enhancement.started',
  'enhancement.completed',
  'enhancement.failed',
  'cache.hit',
  'feedback.received',
  'version.created',
  'version.deprecated',
  'version.activated',
  // Scheduled re-evaluation: every function it looked at, and those it gave a new version.
  'function.evaluated',
  'function.regenerated',
  // Progressive rollout (rolloutVersion): each decision, with the figures that made it.
  'rollout.started',
  'rollout.advanced',
  'rollout.paused',
  'rollout.resumed',
  'rollout.promoted',
  'rollout.rolled_back',
]);
export type EventType = z.infer<typeof EventType>;

export const PublishInput = z.object({
  tenant_id: z.string(),
  function_name: z.string(),
  workflow_id: z.string(),
  run_id: z.string(),
  events: z.array(
    z.object({
      type: EventType,
      payload: z.record(z.string(), z.unknown()),
      /** When it happened, if not now (an enhancement's start is published with its outcome). */
      occurred_at: z.string().optional(),
      /** Distinguishes several events of one type in one run (one feedback.received per feedback row). */
      dedupe_suffix: z.string().optional(),
    }),
  ),
  /**
   * `inline` (the default): the events are on the stream when the publish returns, so an answer given after it means
   * they are all visible. `deferred`: the rows are committed and the stream follows from the process's background
   * relay, for a run that answered before publishing and should not wait for the stream.
   */
  relay: z.enum(['inline', 'deferred']).optional(),
});
export type PublishInput = z.infer<typeof PublishInput>;
export type PublishedEvent = PublishInput['events'][number];

export const EventsQuery = z.strictObject({
  start_time: z.iso.datetime({ offset: true }).optional(),
  end_time: z.iso.datetime({ offset: true }).optional(),
  event_type: EventType.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  page_token: z.string().max(500).optional(),
});
export type EventsQuery = z.infer<typeof EventsQuery>;
