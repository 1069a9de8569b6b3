import { z } from 'zod';
import { GenerationAttempt, GenerationUsage } from './generation';
import { ScanFinding } from './scan';

/** A Python identifier that is not a dunder: it names files under DATA_DIR, so nothing else may pass. */
export const FunctionName = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'must be a Python identifier (letters, digits, underscore; not starting with a digit)',
  )
  .refine((name) => !/^__.*__$/.test(name), 'dunder names are reserved');
export type FunctionName = z.infer<typeof FunctionName>;

export const OptimizeFor = z.enum(['reliability', 'performance', 'cost', 'accuracy']);
export type OptimizeFor = z.infer<typeof OptimizeFor>;

/** JSON values as they cross to python3: the sandbox calls the function with them. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export const JsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonValue), z.record(z.string(), JsonValue)]),
);

/** One call of the function under test: `{args, kwargs}`, or a bare list of positional arguments. */
export const Sample = z.union([
  z.strictObject({
    args: z.array(JsonValue).default([]),
    kwargs: z.record(z.string(), JsonValue).default({}),
  }),
  z.array(JsonValue).transform((args) => ({ args, kwargs: {} })),
]);
export type Sample = z.output<typeof Sample>;

/**
 * A call with the outcome a user expects: what feedback examples become, a regression test every later version of
 * the function must pass. `raises.message`, when given, must equal str() of the exception.
 */
export const FeedbackExample = z.union([
  z.strictObject({
    args: z.array(JsonValue).default([]),
    kwargs: z.record(z.string(), JsonValue).default({}),
    expected: JsonValue,
  }),
  z.strictObject({
    args: z.array(JsonValue).default([]),
    kwargs: z.record(z.string(), JsonValue).default({}),
    raises: z.strictObject({
      type: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
      message: z.string().max(2_000).optional(),
    }),
  }),
]);
export type FeedbackExample = z.output<typeof FeedbackExample>;

export const EnhanceContext = z.strictObject({
  imports: z.array(z.string().max(200)).max(50).optional(),
  dependencies: z.array(z.string().max(200)).max(50).optional(),
  environment: z.record(z.string().max(100), z.string().max(1000)).optional(),
  samples: z.array(Sample).max(50).optional(),
});
export type EnhanceContext = z.output<typeof EnhanceContext>;

export const DomainName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case');

export const EnhanceRequest = z.strictObject({
  function_name: FunctionName,
  original_code: z.string().min(1),
  domain: DomainName.default('base_reliability'),
  /** Absent: the domain's own settings; present: shifted toward that goal. */
  optimize_for: OptimizeFor.optional(),
  /** Annotation mismatches raise instead of being observed; absent: strict only under optimize_for reliability. */
  strict: z.boolean().optional(),
  context: EnhanceContext.optional(),
  /** Seconds validation spends on doctests and generated inputs; absent: VALIDATION_EVIDENCE_BUDGET_SECONDS. */
  evidence_budget_s: z.number().min(0).max(60).optional(),
});
export type EnhanceRequest = z.output<typeof EnhanceRequest>;

export const SafetyLevel = z.enum(['high', 'medium', 'low', 'blocked']);
export type SafetyLevel = z.infer<typeof SafetyLevel>;

export const CacheOutcome = z.enum(['hit', 'miss', 'bypass']);
export type CacheOutcome = z.infer<typeof CacheOutcome>;

/** What generate produces and the cache keeps: everything needed to store a version again. */
export const EnhancedArtifact = z.object({
  python: z.string(),
  dana: z.string(),
  params: z.record(z.string(), JsonValue),
  optimizations: z.array(z.string()),
  provider: z.string(),
  enhancer_version: z.string(),
  /** The poet_runtime the module imports, shipped beside it; absent on modules that embed their runtime. */
  runtime_version: z.string().optional(),
});
export type EnhancedArtifact = z.infer<typeof EnhancedArtifact>;

/** What validation tried beyond the interface: inputs per source, how many agreed, and its time. */
export const ValidationEvidence = z.object({
  inputs: z.object({
    samples: z.number().int(),
    doctests: z.number().int(),
    generated: z.number().int(),
    feedback: z.number().int(),
  }),
  /** Inputs on which original and enhanced gave the same result or exception; `high` needs at least 100. */
  agreed: z.number().int(),
  /** Doctest or generated inputs that ran past their share of the budget or the sandbox's limits: no evidence either way. */
  inconclusive: z.number().int(),
  /** Every distinct input the generator could make was tried (no parameters, or only booleans): high with fewer than 100. */
  exhaustive: z.boolean(),
  duration_ms: z.number(),
});
export type ValidationEvidence = z.infer<typeof ValidationEvidence>;

export const ValidationReport = z.object({
  safety_level: SafetyLevel,
  /** Optional: enhancements cached before the scan existed have none. */
  findings: z.array(ScanFinding).optional(),
  samples_run: z.number().int(),
  duration_ms: z.number(),
  /** The poet_runtime the sandbox validated the module with; absent for modules that embed their runtime. */
  runtime_version: z.string().optional(),
  /** Calls refused by a declared rule (a domain range, strict types, the timeout) where the original answered otherwise. */
  declared_rules: z.number().int().optional(),
  evidence: ValidationEvidence.optional(),
});
export type ValidationReport = z.infer<typeof ValidationReport>;

/** What the cache keeps: an artifact together with the validation that passed it. */
export const CachedEnhancement = z.object({
  artifact: EnhancedArtifact,
  validation: ValidationReport,
  /** The original code the artifact embeds: an L2 hit re-embeds the caller's own. Absent on older entries. */
  source: z.string().optional(),
});
export type CachedEnhancement = z.infer<typeof CachedEnhancement>;

/**
 * How a version came to be: an enhance request, feedback, or scheduled re-evaluation. An activation (rollback or roll
 * forward) makes no version; it is the trigger of activateVersion runs.
 */
export const VersionTrigger = z.enum(['request', 'feedback', 'reevaluation', 'activation']);
export type VersionTrigger = z.infer<typeof VersionTrigger>;

/**
 * Why the function's lineage answered rather than a version of this run's own making: the active version already
 * answers the input (`same_input`), answers it up to comments, layout and docstrings (`cosmetic_edit`: its
 * enhancement, with the caller's source, becomes a new version), or the new module is byte-identical to it
 * (`identical_code`).
 */
export const Lineage = z.object({
  /** The version whose enhancement answered: the active one. */
  version: z.number().int().positive(),
  relation: z.enum(['same_input', 'cosmetic_edit', 'identical_code']),
  /** How that version came to be, and the version it was made from. */
  trigger: VersionTrigger,
  parent_version: z.number().int().positive().nullable(),
  /** It was made active by a rollback (or roll forward) rather than by its creation. */
  reactivated: z.boolean(),
  reason: z.string(),
});
export type Lineage = z.infer<typeof Lineage>;

export const EnhanceMetadata = z.object({
  domain: z.string(),
  optimize_for: OptimizeFor.nullable(),
  optimizations: z.array(z.string()),
  safety_level: SafetyLevel,
  cache: CacheOutcome,
  provider: z.string(),
  enhancer_version: z.string(),
  samples_run: z.number().int(),
  params: z.record(z.string(), JsonValue),
  /** True when an earlier provider of the chain failed and a later one (ultimately the template) answered. */
  fallback: z.boolean(),
  /** Every generation attempt of this run, in order: provider, outcome and reason, tokens, cost, latency. Empty on a cache hit. */
  attempts: z.array(GenerationAttempt),
  usage: GenerationUsage,
  /** Static-scan findings of the enhanced code (python3 ast), with line numbers. */
  findings: z.array(ScanFinding),
  /** The poet_runtime shipped beside the version (poet_runtime.py); absent on versions that embed their runtime. */
  runtime_version: z.string().optional(),
  /**
   * What validation tried: inputs per source, agreement, time, and the calls a declared rule refused. A mismatch
   * refuses the version instead (the run's failure names the input). Absent on versions validated before it was reported.
   */
  validation: ValidationEvidence.extend({ declared_rules: z.number().int() }).optional(),
  /** Present when the function's lineage answered: which version, and why no version of this run's own was made. */
  lineage: Lineage.optional(),
});
export type EnhanceMetadata = z.infer<typeof EnhanceMetadata>;

export const RunRef = z.object({ workflow_id: z.string(), run_id: z.string() });
export type RunRef = z.infer<typeof RunRef>;

export const EnhanceResult = z.object({
  function_name: z.string(),
  enhanced_code: z.object({ python: z.string(), dana: z.string() }),
  version: z.number().int().positive(),
  metadata: EnhanceMetadata,
  run: RunRef,
});
export type EnhanceResult = z.infer<typeof EnhanceResult>;

/**
 * What a regeneration tells generate beyond the request: why it runs, what users suggested (into the LLM prompt),
 * and the Operate settings Train learned from feedback (they override the domain's).
 */
export const Guidance = z.object({
  reason: z.string(),
  suggestions: z.array(z.string().max(2_000)).max(20).default([]),
  operate: z
    .object({ retries: z.number().int().min(0).max(10), timeout_s: z.number().positive().max(3600) })
    .partial()
    .default({}),
  /** Tighter Perceive checks, learned when errors came from bad inputs. */
  perceive: z
    .object({ check_types: z.boolean(), reject_none: z.boolean(), reject_non_finite: z.boolean() })
    .partial()
    .default({}),
});
export type Guidance = z.output<typeof Guidance>;

/** Workflow input: the validated request plus the hash the API derived the workflow id from. */
export const EnhanceWorkflowInput = z.object({
  request: EnhanceRequest,
  input_hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** The input hash with the code replaced by its AST hash: the L2 cache key. Absent in runs started before L2. */
  normalized_input_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  tenant_id: z.string(),
});
export type EnhanceWorkflowInput = z.infer<typeof EnhanceWorkflowInput>;

export const RunStatus = z.enum(['running', 'completed', 'failed', 'canceled', 'terminated', 'timed_out']);
export type RunStatus = z.infer<typeof RunStatus>;
