import { z } from 'zod';
import { DomainName, type OptimizeFor } from '../contracts/enhance';

const PythonClassName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/);

/**
 * Exceptions that signal a bug or a bad argument, never a passing fault: Operate must let them through at once,
 * so no domain may list them (or a base class of them) as worth a retry.
 */
export const NEVER_RETRIED = [
  'BaseException',
  'Exception',
  'ValueError',
  'TypeError',
  'ArithmeticError',
  'ZeroDivisionError',
  'OverflowError',
  'LookupError',
  'KeyError',
  'IndexError',
  'AttributeError',
  'AssertionError',
  'NameError',
  'NotImplementedError',
  'RecursionError',
  'RuntimeError',
  'UnicodeError',
  'StopIteration',
] as const;

/** A numeric bound on the arguments whose lower-cased name fully matches `param` (a Python regular expression). */
export const RangeRule = z.strictObject({
  param: z.string().min(1).max(200),
  min: z.number().nullable().default(null),
  max: z.number().nullable().default(null),
});
export type RangeRule = z.infer<typeof RangeRule>;

/**
 * P/O/E/T settings of a domain. The schema defaults are the reference runtime's (aitomatic/dana POET):
 * retries 3, timeout 30 s, backoff min(2^attempt, 8) s, learning rate 0.05, basic learning.
 */
export const DomainSettings = z.object({
  name: DomainName,
  description: z.string(),
  perceive: z
    .object({
      /** Arguments annotated with int, float, str, bool, list, dict, tuple, set or bytes must have that type. */
      check_types: z.boolean().default(true),
      /** None is refused for parameters whose default is not None. */
      reject_none: z.boolean().default(false),
      /** NaN and infinities are refused as float arguments. */
      reject_non_finite: z.boolean().default(false),
      /** Numeric arguments named like a rule's `param` must lie within its bounds (sensor, clinical, money ranges). */
      ranges: z.array(RangeRule).max(50).default([]),
      /** String arguments over this many estimated tokens (4 characters each) are refused: a model's context limit. */
      max_input_tokens: z.number().int().positive().nullable().default(null),
      /** Input-distribution check: a numeric argument more than this many standard deviations from its running mean counts as drift. */
      drift_z: z.number().positive().nullable().default(null),
      drift_min_samples: z.number().int().min(2).default(30),
    })
    .prefault({}),
  operate: z
    .object({
      retries: z.number().int().min(0).max(10).default(3),
      /** Enforced per attempt, unlike the reference, whose timeout only logs. */
      timeout_s: z.number().positive().max(3600).default(30),
      /** Wait before retry n (0-based): min(backoff_base_s * 2^n, backoff_max_s). */
      backoff_base_s: z.number().min(0).default(1),
      backoff_max_s: z.number().min(0).default(8),
      /** Exception class names (matched along the raised exception's MRO) worth another attempt. */
      retry_on: z
        .array(PythonClassName)
        .max(20)
        .default(['TimeoutError', 'ConnectionError'])
        .refine((names) => !names.some((n) => (NEVER_RETRIED as readonly string[]).includes(n)), {
          message: `must not name ${NEVER_RETRIED.join(', ')}: the function's own errors propagate at once`,
        }),
      /** Results of this many distinct hashable argument sets are kept and returned again (0: no caching). */
      cache_size: z.number().int().min(0).max(100_000).default(0),
      /** After the retries for a transient failure are spent, answer the last good result instead (a safe hold). */
      fallback_last_good: z.boolean().default(false),
    })
    .prefault({}),
  enforce: z
    .object({
      /** The result must match a simple return annotation (the same types Perceive checks, and None). */
      check_return_type: z.boolean().default(true),
      /** A float result must be finite. */
      reject_non_finite: z.boolean().default(false),
      /** A numeric result must not exceed this magnitude (2^53 / 100: floats keep cent precision below it). */
      max_abs_result: z.number().positive().nullable().default(null),
      /** Every call is kept (bounded) in `<name>.poet_audit` and logged to the `poet.audit` logger. */
      audit_trail: z.boolean().default(false),
      /** Emails and long digit runs (IDs, phone and card numbers) are masked in the audit trail and failure logs. */
      mask_pii: z.boolean().default(false),
    })
    .prefault({}),
  train: z
    .object({
      enable_training: z.boolean().default(true),
      learning_rate: z.number().min(0).max(1).default(0.05),
      algorithm: z.enum(['basic', 'statistical', 'adaptive']).default('basic'),
    })
    .prefault({}),
});
export type DomainSettings = z.infer<typeof DomainSettings>;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const define = (input: z.input<typeof DomainSettings>): DomainSettings => deepFreeze(DomainSettings.parse(input));

const LLM_TRANSIENT = [
  'TimeoutError',
  'ConnectionError',
  'RateLimitError',
  'APIConnectionError',
  'APITimeoutError',
  'InternalServerError',
];

/** Money magnitude below which binary floats still hold cents exactly (2^53 / 100). */
const CENT_PRECISION_LIMIT = 90_071_992_547_409.91;

/**
 * Ranges are wide, physically plausible bounds, not clinical or operational targets: they catch unit mix-ups,
 * sentinel values and corrupt readings while every real input (and the sandbox's derived samples) passes.
 */
const FINANCE_RANGES = [
  { param: '.*(amount|price|balance|principal|income|payment|salary|revenue|cost|value)s?', min: -1e12, max: 1e12 },
  { param: '(.*_)?(rate|apr|yield|ratio)', min: -1, max: 100 },
  { param: 'credit_score|fico(_score)?', min: 0, max: 1000 },
  { param: '(term|years|months|periods)', min: 0, max: 1200 },
];
const HEALTH_RANGES = [
  { param: 'age(_years)?', min: 0, max: 150 },
  { param: '(heart_rate|pulse|hr|bpm)', min: 0, max: 400 },
  { param: '(spo2|oxygen_saturation|saturation)', min: 0, max: 100 },
  { param: '(systolic|diastolic)(_bp)?', min: 0, max: 400 },
  { param: '(body_)?temp(erature)?(_c)?', min: 0, max: 50 },
  { param: 'weight(_kg)?', min: 0, max: 700 },
  { param: 'height(_cm)?', min: 0, max: 300 },
  { param: '(glucose|blood_sugar)(_mg_dl)?', min: 0, max: 2000 },
];
const BUILDING_RANGES = [
  { param: '.*(temp|temperature|setpoint)(_c)?', min: -60, max: 150 },
  { param: '.*humidity', min: 0, max: 100 },
  { param: '.*co2(_ppm)?', min: 0, max: 50_000 },
  { param: '.*occupancy', min: 0, max: 1_000_000 },
  { param: '.*(valve|damper)(_position|_pct)?', min: 0, max: 100 },
];
const FAB_RANGES = [
  { param: '.*(temp|temperature)(_c)?', min: -273.15, max: 2000 },
  { param: '.*pressure(_pa|_torr)?', min: 0, max: 1e7 },
  { param: '.*(flow|flow_rate)(_sccm)?', min: 0, max: 1e5 },
  { param: '.*(power|rf_power)(_w)?', min: 0, max: 1e5 },
  { param: '.*(yield|uniformity)(_pct)?', min: 0, max: 100 },
];

/**
 * The domains a user of the reference runtime expects to find, each a documented set of P/O/E/T settings
 * that the template enhancer turns into working checks; LLM providers get the same settings in their prompt.
 */
export const BUILTIN_DOMAINS: Readonly<Record<string, DomainSettings>> = Object.freeze(
  Object.fromEntries(
    [
      define({
        name: 'base_reliability',
        description:
          'General-purpose reliability with the reference values: type checks, 3 retries on transient errors, 30 s enforced timeout, backoff min(2^n, 8) s, basic learning at rate 0.05.',
      }),
      define({
        name: 'computation',
        description:
          'Numeric computation: strict argument types, no missing values, no NaN or infinities in or out, few retries since failures are deterministic.',
        perceive: { reject_none: true, reject_non_finite: true },
        operate: { retries: 1, timeout_s: 10 },
        enforce: { reject_non_finite: true },
      }),
      define({
        name: 'llm_optimization',
        description:
          'Calls to language models: prompts over 32k estimated tokens refused before they cost money, identical calls answered from a 256-entry cache, long timeouts, retries on rate limits, timeouts and server errors, statistical learning.',
        perceive: { reject_none: true, max_input_tokens: 32_000 },
        operate: {
          retries: 4,
          timeout_s: 60,
          backoff_base_s: 2,
          backoff_max_s: 30,
          retry_on: LLM_TRANSIENT,
          cache_size: 256,
        },
        train: { algorithm: 'statistical' },
      }),
      define({
        name: 'prompt_optimization',
        description:
          'Prompt construction and variants: prompts present and under 16k estimated tokens, LLM-style transient retries, adaptive learning.',
        perceive: { reject_none: true, max_input_tokens: 16_000 },
        operate: { retries: 3, timeout_s: 45, backoff_base_s: 2, backoff_max_s: 20, retry_on: LLM_TRANSIENT },
        train: { algorithm: 'adaptive', learning_rate: 0.1 },
      }),
      define({
        name: 'ml_monitoring',
        description:
          'Model monitoring: finite metrics in and out, input drift flagged (a value over 4 standard deviations from the running mean after 30 calls) in poet_stats, latency p50/p95 tracked, statistical learning of thresholds.',
        perceive: { reject_non_finite: true, drift_z: 4, drift_min_samples: 30 },
        operate: { retries: 2, timeout_s: 20 },
        enforce: { reject_non_finite: true },
        train: { algorithm: 'statistical' },
      }),
      define({
        name: 'financial_services',
        description:
          'Financial calculations: no missing or non-finite values, amounts, rates, terms and credit scores within plausible ranges, results within cent precision of a float, an audit trail of every call, conservative learning.',
        perceive: { reject_none: true, reject_non_finite: true, ranges: FINANCE_RANGES },
        operate: { retries: 3, timeout_s: 30 },
        enforce: { reject_non_finite: true, max_abs_result: CENT_PRECISION_LIMIT, audit_trail: true },
        train: { learning_rate: 0.02 },
      }),
      define({
        name: 'building_management',
        description:
          'Building control (HVAC setpoints, interlocks): sensor readings within physical ranges, short timeouts, quick retries, and the last good result held when a transient fault outlasts the retries (a safe fallback).',
        perceive: { reject_none: true, reject_non_finite: true, ranges: BUILDING_RANGES },
        operate: { retries: 2, timeout_s: 10, backoff_base_s: 0.5, backoff_max_s: 4, fallback_last_good: true },
        enforce: { reject_non_finite: true },
      }),
      define({
        name: 'semiconductor',
        description:
          'Process control: process parameters present, finite and within equipment ranges (temperature, pressure, flow, power), results strictly typed, statistical learning.',
        perceive: { reject_none: true, reject_non_finite: true, ranges: FAB_RANGES },
        operate: { retries: 2, timeout_s: 15 },
        enforce: { reject_non_finite: true },
        train: { algorithm: 'statistical' },
      }),
      define({
        name: 'healthcare',
        description:
          'Clinical data, fail-safe by default: nothing missing or non-finite passes, vital signs and demographics within plausible ranges, PII masked in the audit trail and logs, results strictly typed, training off until reviewed.',
        perceive: { reject_none: true, reject_non_finite: true, ranges: HEALTH_RANGES },
        operate: { retries: 2, timeout_s: 30 },
        enforce: { reject_non_finite: true, audit_trail: true, mask_pii: true },
        train: { enable_training: false },
      }),
    ].map((domain) => [domain.name, domain]),
  ),
);

export function getDomain(name: string): DomainSettings | undefined {
  return Object.hasOwn(BUILTIN_DOMAINS, name) ? BUILTIN_DOMAINS[name] : undefined;
}

export function listDomainNames(): string[] {
  return Object.keys(BUILTIN_DOMAINS);
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** Shifts a domain's settings toward what the caller optimizes for; a pure function of its inputs. */
export function applyOptimizeFor(settings: DomainSettings, optimizeFor: OptimizeFor): DomainSettings {
  const { perceive, operate, enforce } = settings;
  switch (optimizeFor) {
    case 'reliability':
      return { ...settings, operate: { ...operate, retries: Math.min(operate.retries + 1, 5) } };
    case 'performance':
      return {
        ...settings,
        operate: {
          ...operate,
          retries: Math.max(operate.retries - 1, 0),
          timeout_s: round3(Math.max(operate.timeout_s / 2, 1)),
          backoff_max_s: round3(operate.backoff_max_s / 2),
        },
      };
    case 'cost':
      return { ...settings, operate: { ...operate, retries: Math.max(operate.retries - 2, 0) } };
    case 'accuracy':
      return {
        ...settings,
        perceive: { ...perceive, check_types: true, reject_none: true, reject_non_finite: true },
        enforce: { ...enforce, check_return_type: true, reject_non_finite: true },
      };
  }
}
