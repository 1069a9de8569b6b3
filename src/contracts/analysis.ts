import { z } from 'zod';
import { FeedbackExample, FunctionName, JsonValue, Sample, SafetyLevel, ValidationEvidence } from './enhance';
import { EXAMPLE_LIMITS } from './feedback';
import { ScanFinding } from './scan';

/** Protocols of the two python3 helpers: python/analyze.py (persistent) and python/sandbox.py (one request, one
 * result: run one-shot, or in a child forked by python/sandbox_server.py). */

export const ParamKind = z.enum([
  'positional_only',
  'positional_or_keyword',
  'var_positional',
  'keyword_only',
  'var_keyword',
]);
export type ParamKind = z.infer<typeof ParamKind>;

/** Annotation and default are Python source text (ast.unparse), not evaluated values. */
export const ParamAnalysis = z.object({
  name: z.string(),
  kind: ParamKind,
  annotation: z.string().nullable(),
  default: z.string().nullable(),
});
export type ParamAnalysis = z.infer<typeof ParamAnalysis>;

/** One top-level `def` / `async def`; lines are 1-based and `lineno` is the `def` line, after decorators. */
export const FunctionAnalysis = z.object({
  name: z.string(),
  is_async: z.boolean(),
  is_generator: z.boolean(),
  lineno: z.number().int().positive(),
  end_lineno: z.number().int().positive(),
  params: z.array(ParamAnalysis),
  returns: z.string().nullable(),
  docstring: z.string().nullable(),
  decorators: z.array(z.string()),
});
export type FunctionAnalysis = z.infer<typeof FunctionAnalysis>;

export const AnalyzeRequest = z.object({ id: z.number().int(), code: z.string() });
export type AnalyzeRequest = z.infer<typeof AnalyzeRequest>;

export const SourceError = z.object({
  message: z.string(),
  line: z.number().int().nullable(),
  column: z.number().int().nullable(),
});
export type SourceError = z.infer<typeof SourceError>;

export const AnalyzeSuccess = z.object({
  id: z.number().int(),
  ok: z.literal(true),
  functions: z.array(FunctionAnalysis),
  /** sha256 of the AST without docstrings: equal for sources differing only in comments, layout, docstrings. */
  normalized_hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AnalyzeSuccess = z.infer<typeof AnalyzeSuccess>;

/** `id` is null only when the request line itself was unreadable. */
export const AnalyzeFailure = z.object({
  id: z.number().int().nullable(),
  ok: z.literal(false),
  error: SourceError,
});
export type AnalyzeFailure = z.infer<typeof AnalyzeFailure>;

export const AnalyzeResult = z.discriminatedUnion('ok', [AnalyzeSuccess, AnalyzeFailure]);
export type AnalyzeResult = z.infer<typeof AnalyzeResult>;

export const SandboxRequest = z.object({
  original_code: z.string(),
  enhanced_code: z.string(),
  function_name: FunctionName,
  /** Absent: the harness derives a few samples from type hints and defaults. */
  samples: z.array(Sample).optional(),
  /** Packages the code imports; each must be importable by the sandbox's interpreter before anything runs. */
  dependencies: z.array(z.string()).default([]),
  timeout_s: z.number().positive().max(600),
  memory_mb: z.number().int().min(32).max(16384),
  /** Outcomes users expect (feedback examples): the enhanced function must give each one, or the version is not stored. */
  examples: z.array(FeedbackExample).max(EXAMPLE_LIMITS.perFunction).default([]),
  /** Seconds for the doctests and generated inputs together, within timeout_s; absent: the harness's 2 s. */
  evidence_budget_s: z.number().min(0).max(600).optional(),
});
export type SandboxRequest = z.input<typeof SandboxRequest>;

export const SandboxStage = z.enum(['dependency', 'scan', 'compile', 'import', 'resolve', 'run']);
export type SandboxStage = z.infer<typeof SandboxStage>;

export const SandboxError = z.object({
  stage: SandboxStage,
  message: z.string(),
  line: z.number().int().nullable(),
});
export type SandboxError = z.infer<typeof SandboxError>;

/** `original` / `enhanced` are truncated reprs of the outcome ("raised ValueError('...')" for exceptions). */
export const SandboxMismatch = z.object({
  sample: JsonValue,
  original: z.string(),
  enhanced: z.string(),
});
export type SandboxMismatch = z.infer<typeof SandboxMismatch>;

export const SandboxResult = z.object({
  compiled: z.boolean(),
  imported: z.boolean(),
  samples_run: z.number().int().min(0),
  /** The poet_runtime the harness imported for the enhanced code; null where it has none. */
  runtime_version: z.string().nullable().default(null),
  /** Calls a declared rule refused (poet_runtime.PoetRuleError) where the original answered otherwise: no behaviour change. */
  declared_rules: z.array(SandboxMismatch).default([]),
  evidence: ValidationEvidence.default({
    inputs: { samples: 0, doctests: 0, generated: 0, feedback: 0 },
    agreed: 0,
    inconclusive: 0,
    exhaustive: false,
    duration_ms: 0,
  }),
  mismatches: z.array(SandboxMismatch),
  errors: z.array(SandboxError),
  findings: z.array(ScanFinding).default([]),
  safety_level: SafetyLevel,
  duration_ms: z.number().min(0),
});
export type SandboxResult = z.infer<typeof SandboxResult>;
