import { z } from 'zod';

/** One LLM provider of the fallback chain, as configured (LLM_PROVIDERS, a JSON list). */
export const ProviderSettings = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, - and _')
    .refine((name) => name !== 'template', '"template" is the built-in last provider'),
  /** Any OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://localhost:11434/v1. */
  base_url: z.url(),
  model: z.string().min(1),
  /** Name of the environment variable holding the key (not the key); absent: the endpoint needs none. */
  api_key_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/)
    .optional(),
  /** USD per 1000 prompt / completion tokens. */
  price_in_per_1k: z.number().min(0).default(0),
  price_out_per_1k: z.number().min(0).default(0),
  /** Per call; a hang past it is a transient fault that Temporal retries. */
  timeout_ms: z.number().int().min(100).max(110_000).default(30_000),
  max_tokens: z.number().int().min(256).max(128_000).default(8_192),
});
export type ProviderSettings = z.output<typeof ProviderSettings>;

/**
 * How one generation attempt ended. accepted: passed validation; invalid: failed it (repair follows);
 * bad_answer: not the JSON asked for (repair follows); retryable_error: 429/5xx/timeout (Temporal retries);
 * failed: auth, 4xx, context or content policy, model not found, retries spent (next provider); circuit_open and
 * over_budget (the tenant's daily LLM budget is spent): skipped, no call made.
 */
export const AttemptOutcome = z.enum([
  'accepted',
  'invalid',
  'bad_answer',
  'retryable_error',
  'failed',
  'circuit_open',
  'over_budget',
]);
export type AttemptOutcome = z.infer<typeof AttemptOutcome>;

export const GenerationAttempt = z.object({
  provider: z.string(),
  model: z.string().nullable(),
  /** 0 for the first answer, n for the n-th repair round. */
  round: z.number().int().min(0),
  /** Temporal's attempt number of the activity that made the call. */
  attempt: z.number().int().min(1),
  outcome: AttemptOutcome,
  reason: z.string().nullable(),
  prompt_tokens: z.number().int().min(0),
  completion_tokens: z.number().int().min(0),
  cost_usd: z.number().min(0),
  latency_ms: z.number().min(0),
});
export type GenerationAttempt = z.infer<typeof GenerationAttempt>;

export const GenerationUsage = z.object({
  calls: z.number().int().min(0),
  prompt_tokens: z.number().int().min(0),
  completion_tokens: z.number().int().min(0),
  cost_usd: z.number().min(0),
  latency_ms: z.number().min(0),
});
export type GenerationUsage = z.infer<typeof GenerationUsage>;

/** What the worker tells the workflow about its chain: LLM providers in order (the template follows them). */
export const GenerationPlan = z.object({
  providers: z.array(z.string()),
  max_repairs: z.number().int().min(0),
  max_attempts: z.number().int().min(1),
});
export type GenerationPlan = z.infer<typeof GenerationPlan>;

/** A repair round: the previous answer and why it was refused, for the model to correct. */
export const RepairRequest = z.object({ previous: z.string(), errors: z.string() });
export type RepairRequest = z.infer<typeof RepairRequest>;
