import { z } from 'zod';
import { VersionNumber } from './feedback';
import { JsonValue } from './enhance';

/** Shapes of a function's progressive rollout (the rolloutVersion workflow) and its REST controls. */

const DAY_S = 86_400;

/** How a rollout proceeds: its steps, the calls a step needs, the interval between judgements and its time limit. */
const planFields = {
  steps: z
    .array(z.number().int().min(1).max(100))
    .min(2)
    .max(20)
    .default([5, 25, 50, 100])
    .meta({ description: 'Candidate shares in percent, rising, the last 100 (reaching it promotes the candidate)' }),
  min_calls: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .default(200)
    .meta({ description: 'Calls each version must have reported in a step before the step is judged' }),
  step_wait: z
    .number()
    .int()
    .min(1)
    .max(7 * DAY_S)
    .default(900)
    .meta({ description: 'Seconds between judgements (a durable timer)' }),
  max_duration: z
    .number()
    .int()
    .min(1)
    .max(30 * DAY_S)
    .default(DAY_S)
    .meta({
      description: 'Seconds the rollout may take, paused time not counted; short of calls then, it rolls back',
    }),
};

const stepsRiseToHundred = <T extends z.ZodType<{ steps: number[] }>>(schema: T) =>
  schema
    .refine((r) => r.steps.every((s, i) => i === 0 || s > r.steps[i - 1]!), {
      message: 'steps must rise',
      path: ['steps'],
    })
    .refine((r) => r.steps[r.steps.length - 1] === 100, { message: 'the last step must be 100', path: ['steps'] });

/** A rollout's plan without its candidate: what a tenant sets for the rollouts regeneration starts. */
export const RolloutPlan = stepsRiseToHundred(z.strictObject(planFields)).meta({ id: 'RolloutPlan' });
export type RolloutPlan = z.output<typeof RolloutPlan>;

export const RolloutRequest = stepsRiseToHundred(z.strictObject({ candidate_version: VersionNumber, ...planFields }));
export type RolloutRequest = z.output<typeof RolloutRequest>;

/** The rollout a regeneration starts when its tenant's settings ask for one: their plan, and the run's id. */
export interface AutoRollout {
  plan: RolloutPlan;
  workflow_id: string;
}

/** What the run is started with: the request, and the version the candidate is measured against. */
export interface RolloutInput extends RolloutRequest {
  tenant_id: string;
  function_name: string;
  baseline_version: number;
}

export const RolloutStatus = z.enum(['running', 'paused', 'promoted', 'rolled_back', 'aborted']);
export type RolloutStatus = z.infer<typeof RolloutStatus>;

/** One version's field reports over a step. */
export const VersionFigures = z.object({
  version: z.number().int(),
  calls: z.number().int().nonnegative(),
  successes: z.number().int().nonnegative(),
  success_rate: z.number().nullable(),
  p95_ms: z.number().nullable(),
});
export type VersionFigures = z.infer<typeof VersionFigures>;

export const RolloutVerdict = z.enum(['advance', 'worse', 'insufficient_calls']);

/** A judgement and the figures that decided it (also the payload of the event it publishes). */
export const RolloutJudgement = z.object({
  verdict: RolloutVerdict,
  reason: z.string(),
  candidate: VersionFigures,
  baseline: VersionFigures,
  /** One-sided z statistic of "the candidate's success rate is lower than the baseline's by more than the margin". */
  z: z.number().nullable(),
  p95_ratio: z.number().nullable(),
});
export type RolloutJudgement = z.infer<typeof RolloutJudgement>;

export const RolloutState = z.object({
  function_name: z.string(),
  workflow_id: z.string(),
  candidate_version: z.number().int(),
  baseline_version: z.number().int(),
  status: RolloutStatus,
  share_percent: z.number().int().min(0).max(100),
  steps: z.array(z.number().int()),
  step_index: z.number().int().nonnegative(),
  last_judgement: RolloutJudgement.nullable(),
});
export type RolloutState = z.infer<typeof RolloutState>;

export const RolloutControl = z.enum(['pause', 'resume', 'abort', 'promote']);
export type RolloutControl = z.infer<typeof RolloutControl>;

/** What the run records for resolve (a row per function in function_rollouts). */
export interface RecordRolloutInput {
  tenant_id: string;
  function_name: string;
  workflow_id: string;
  candidate_version: number;
  baseline_version: number;
  share_percent: number;
  status: RolloutStatus;
}

export interface RolloutFiguresInput {
  tenant_id: string;
  function_name: string;
  candidate_version: number;
  baseline_version: number;
  /** ISO time the step began: reports from its minute on count. */
  since: string;
}

export const RolloutStarted = z.object({
  function_name: z.string(),
  candidate_version: z.number().int(),
  baseline_version: z.number().int(),
  run: z.object({ workflow_id: z.string(), run_id: z.string() }),
});
export type RolloutStarted = z.infer<typeof RolloutStarted>;

export interface ShadowValidationInput {
  tenant_id: string;
  function_name: string;
  version: number;
}

/** A feedback example the candidate failed: the call, what was expected and what the candidate gave. */
export const FailingExample = z.object({
  example: z.number().int(),
  call: z.object({ args: JsonValue, kwargs: JsonValue }),
  expected: z.string(),
  got: z.string(),
});
export type FailingExample = z.infer<typeof FailingExample>;

/** The candidate's validation before exposure, with the function's feedback examples as they stand. */
export const ShadowValidation = z.object({
  passed: z.boolean(),
  /** Feedback examples the validation ran. */
  examples: z.number().int().nonnegative(),
  reason: z.string().optional(),
  failing_examples: z.array(FailingExample).optional(),
});
export type ShadowValidation = z.infer<typeof ShadowValidation>;
