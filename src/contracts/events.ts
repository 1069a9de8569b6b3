import { z } from 'zod';

export const EventType = z.enum([
  'enhancement.completed',
  'enhancement.failed',
  'cache.hit',
  'version.created',
  'version.deprecated',
]);
export type EventType = z.infer<typeof EventType>;

export const PublishInput = z.object({
  tenant_id: z.string(),
  function_name: z.string(),
  workflow_id: z.string(),
  run_id: z.string(),
  events: z.array(z.object({ type: EventType, payload: z.record(z.string(), z.unknown()) })),
});
export type PublishInput = z.infer<typeof PublishInput>;
