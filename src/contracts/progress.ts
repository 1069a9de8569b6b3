import { z } from 'zod';
import { EnhanceRequest, RunRef } from './enhance';
import { ErrorBody } from './errors';

/**
 * Stages of one enhancement run, in the order a run passes them (a cache hit skips generate/validate).
 * completed, failed and canceled end a run.
 */
export const Stage = z.enum([
  'queued',
  'cache',
  'generate',
  'validate',
  'store',
  'publish',
  'completed',
  'failed',
  'canceled',
]);
export type Stage = z.infer<typeof Stage>;
export const TERMINAL_STAGES: readonly Stage[] = ['completed', 'failed', 'canceled'];

export const StageTransition = z.object({
  stage: Stage,
  /** Workflow time (ISO 8601) the run entered the stage. */
  at: z.string(),
  /** Free text: the provider asked, the repair round, a cache layer, the failure's message. */
  detail: z.string().optional(),
});
export type StageTransition = z.infer<typeof StageTransition>;

/** The current stage and every transition so far: what both kinds of progress share. */
const Stages = z.object({ stage: Stage, history: z.array(StageTransition) });

/** What the `progress` workflow query of enhanceFunction answers. */
export const RunProgress = Stages.extend({ kind: z.literal('single') });
export type RunProgress = z.infer<typeof RunProgress>;

/** One item of a batch: its child run and, once ended, its outcome. */
export const BatchItemOutcome = z.object({
  index: z.number().int().min(0),
  function_name: z.string(),
  workflow_id: z.string(),
  status: z.enum(['pending', 'running', 'completed', 'failed', 'canceled']),
  version: z.number().int().positive().optional(),
  error: z.string().optional(),
});
export type BatchItemOutcome = z.infer<typeof BatchItemOutcome>;

/** The `progress` query of enhanceBatch: done counts completed and failed items alike. */
export const BatchProgress = Stages.extend({
  kind: z.literal('batch'),
  done: z.number().int().min(0),
  total: z.number().int().min(0),
  succeeded: z.number().int().min(0),
  failed: z.number().int().min(0),
  items: z.array(BatchItemOutcome),
});
export type BatchProgress = z.infer<typeof BatchProgress>;

export const Progress = z.discriminatedUnion('kind', [RunProgress, BatchProgress]);
export type Progress = z.infer<typeof Progress>;

export const BATCH_MAX_ITEMS = 100;

/** POST /api/v1/functions/enhance:batch. */
export const BatchRequest = z.strictObject({
  functions: z.array(EnhanceRequest).min(1).max(BATCH_MAX_ITEMS),
});
export type BatchRequest = z.output<typeof BatchRequest>;

/** enhanceBatch's input: every item already checked and hashed by the API, so each child's id is the one a single enhance would use. */
export const BatchWorkflowInput = z.object({
  tenant_id: z.string(),
  items: z.array(
    z.object({
      request: EnhanceRequest,
      input_hash: z.string(),
      normalized_input_hash: z.string(),
      workflow_id: z.string(),
    }),
  ),
  concurrency: z.number().int().positive(),
});
export type BatchWorkflowInput = z.infer<typeof BatchWorkflowInput>;

/** What enhanceBatch returns: every item's outcome; failures are listed, never hidden. */
export const BatchResult = z.object({
  total: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  items: z.array(BatchItemOutcome),
});
export type BatchResult = z.infer<typeof BatchResult>;

/** 202 of POST /api/v1/functions/enhance:batch. */
export const BatchAccepted = z.object({
  status: z.literal('running'),
  run: RunRef,
  total: z.number().int(),
  links: z.object({ self: z.string(), events: z.string() }),
});
export type BatchAccepted = z.infer<typeof BatchAccepted>;

/**
 * GET /api/v1/runs/{id}/events (text/event-stream). Each SSE message has `id: <n>`, `event: <name>` and `data: <JSON>`:
 * - `stage`: a StageTransition (every transition so far is replayed first, then new ones as they happen);
 * - `progress`: the whole Progress after each change (batches: done/total and per-item outcomes);
 * - `end`: SseEnd, the last message; the server then closes the connection.
 * The id is the number of stage transitions sent so far: a reconnect with `Last-Event-ID: <n>` skips those.
 * The stream opens with `retry: <ms>`; `: ping` comment lines keep a quiet stream open through proxies.
 */
export const SseEnd = z.object({
  status: z.enum(['completed', 'failed', 'canceled', 'terminated', 'timed_out']),
  run: RunRef,
  error: ErrorBody.shape.error.optional(),
});
export type SseEnd = z.infer<typeof SseEnd>;
export const SSE_EVENTS = ['stage', 'progress', 'end'] as const;

/** 202 of DELETE /api/v1/runs/{id}: cancellation requested; the run ends as canceled (or had already ended). */
export const CancelAccepted = z.object({
  status: z.enum(['canceling', 'completed', 'failed', 'canceled', 'terminated', 'timed_out']),
  run: RunRef,
});
export type CancelAccepted = z.infer<typeof CancelAccepted>;
