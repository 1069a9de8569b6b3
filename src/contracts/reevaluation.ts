import { z } from 'zod';
import { FeedbackStatus } from './feedback';

/** A function's place in the scan: pages go in (tenant_id, function_name) order across every tenant of the schema. */
export const FunctionKey = z.object({ tenant_id: z.string(), function_name: z.string() });
export type FunctionKey = z.infer<typeof FunctionKey>;

export const ReevaluationTotals = z.object({
  evaluated: z.number().int().min(0),
  regenerated: z.number().int().min(0),
  /** A regeneration of that version was already running (started by feedback): it was left to finish. */
  joined: z.number().int().min(0),
  failed: z.number().int().min(0),
});
export type ReevaluationTotals = z.infer<typeof ReevaluationTotals>;

/** Input of reevaluateFunctions: the schedule gives the concurrency; continue-as-new adds the cursor and totals so far. */
export const ReevaluateInput = z.object({
  /** Regenerations at once (REEVALUATION_CONCURRENCY when the schedule was applied). */
  concurrency: z.number().int().min(1),
  after: FunctionKey.optional(),
  totals: ReevaluationTotals.optional(),
});
export type ReevaluateInput = z.infer<typeof ReevaluateInput>;

/** A function with feedback on its active version newer than its last evaluation, and Train's decision on it. */
export const ReevaluationCandidate = FunctionKey.extend({
  version: z.number().int().positive(),
  /** The active version's domain; absent in pages found before it was read. */
  domain: z.string().optional(),
  /** The newest feedback evaluated now: the function's cursor once recorded. */
  last_feedback_id: z.string(),
  status: FeedbackStatus,
  reasons: z.array(z.string()),
  feedback_count: z.number().int().min(0),
  /** The regeneration's workflow id, the one feedback uses, so a run already going is joined rather than doubled. */
  workflow_id: z.string(),
});
export type ReevaluationCandidate = z.infer<typeof ReevaluationCandidate>;

export const ReevaluationPage = z.object({
  candidates: z.array(ReevaluationCandidate),
  /** Where the next page starts; absent on the last page. */
  next: FunctionKey.optional(),
});
export type ReevaluationPage = z.infer<typeof ReevaluationPage>;

export const EvaluationOutcome = z.enum(['accepted', 'regenerated', 'joined', 'unchanged', 'failed']);
export type EvaluationOutcome = z.infer<typeof EvaluationOutcome>;

export const Evaluation = ReevaluationCandidate.omit({ workflow_id: true }).extend({
  outcome: EvaluationOutcome,
  new_version: z.number().int().positive().optional(),
  error: z.string().optional(),
  /** The regeneration run, when one was started or joined. */
  regeneration_workflow_id: z.string().optional(),
});
export type Evaluation = z.infer<typeof Evaluation>;

export const RecordEvaluationsInput = z.object({
  workflow_id: z.string(),
  run_id: z.string(),
  evaluations: z.array(Evaluation),
});
export type RecordEvaluationsInput = z.infer<typeof RecordEvaluationsInput>;

/** What GET /api/v1/schedules answers for one schedule. */
export const ScheduleView = z
  .object({
    id: z.string(),
    workflow_type: z.string(),
    cron: z.string().nullable(),
    jitter: z.string().nullable(),
    overlap: z.string(),
    paused: z.boolean(),
    note: z.string().nullable(),
    next_action_times: z.array(z.string()),
    recent_actions: z.array(
      z.object({ scheduled_at: z.string(), taken_at: z.string(), workflow_id: z.string(), run_id: z.string() }),
    ),
    running: z.array(z.object({ workflow_id: z.string(), run_id: z.string() })),
  })
  .meta({ id: 'Schedule' });
export type ScheduleView = z.infer<typeof ScheduleView>;

export const ScheduleList = z.object({ schedules: z.array(ScheduleView) });

export const ScheduleNoteBody = z.strictObject({ note: z.string().max(500).optional() });

export const ScheduleActionAnswer = z.object({ schedule: ScheduleView });
