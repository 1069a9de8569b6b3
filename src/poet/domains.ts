import { z } from 'zod';
import { DomainName, type OptimizeFor } from '../contracts/enhance';

const PythonClassName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/);

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
      retry_on: z.array(PythonClassName).default(['TimeoutError', 'ConnectionError']),
    })
    .prefault({}),
  enforce: z
    .object({
      /** The result must match a simple return annotation (the same types Perceive checks, and None). */
      check_return_type: z.boolean().default(true),
      /** A float result must be finite. */
      reject_non_finite: z.boolean().default(false),
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

const LLM_TRANSIENT = ['TimeoutError', 'ConnectionError', 'RateLimitError', 'APIConnectionError', 'APITimeoutError', 'InternalServerError'];

/**
 * The domains a user of the reference runtime expects to find. Each maps onto the generic P/O/E/T settings;
 * domain-specific intelligence (drift detection, prompt A/B, interlocks) is the LLM providers' job, not the template's.
 */
export const BUILTIN_DOMAINS: Readonly<Record<string, DomainSettings>> = Object.freeze(
  Object.fromEntries(
    [
      define({
        name: 'base_reliability',
        description: 'General-purpose reliability with the reference values: 3 retries on transient errors, 30 s timeout, backoff min(2^n, 8) s, basic learning at rate 0.05.',
      }),
      define({
        name: 'computation',
        description: 'Numeric computation: strict argument types, no NaN or infinities in or out, few retries since failures are deterministic.',
        perceive: { reject_none: true, reject_non_finite: true },
        operate: { retries: 1, timeout_s: 10 },
        enforce: { reject_non_finite: true },
      }),
      define({
        name: 'llm_optimization',
        description: 'Calls to language models: long timeouts, retries on rate limits, timeouts and server errors, statistical learning.',
        operate: { retries: 4, timeout_s: 60, backoff_base_s: 2, backoff_max_s: 30, retry_on: LLM_TRANSIENT },
        train: { algorithm: 'statistical' },
      }),
      define({
        name: 'prompt_optimization',
        description: 'Prompt construction and variants: string inputs checked, LLM-style transient retries, adaptive learning.',
        perceive: { reject_none: true },
        operate: { retries: 3, timeout_s: 45, backoff_base_s: 2, backoff_max_s: 20, retry_on: LLM_TRANSIENT },
        train: { algorithm: 'adaptive', learning_rate: 0.1 },
      }),
      define({
        name: 'ml_monitoring',
        description: 'Model monitoring: finite metrics in and out, statistical learning of thresholds.',
        perceive: { reject_non_finite: true },
        operate: { retries: 2, timeout_s: 20 },
        enforce: { reject_non_finite: true },
        train: { algorithm: 'statistical' },
      }),
      define({
        name: 'financial_services',
        description: 'Financial calculations: no missing or non-finite values, strict result types, conservative learning.',
        perceive: { reject_none: true, reject_non_finite: true },
        operate: { retries: 3, timeout_s: 30 },
        enforce: { reject_non_finite: true },
        train: { learning_rate: 0.02 },
      }),
      define({
        name: 'building_management',
        description: 'Building control (HVAC setpoints, interlocks): finite readings, short timeouts, quick retries.',
        perceive: { reject_none: true, reject_non_finite: true },
        operate: { retries: 2, timeout_s: 10, backoff_base_s: 0.5, backoff_max_s: 4 },
        enforce: { reject_non_finite: true },
      }),
      define({
        name: 'semiconductor',
        description: 'Process control: process parameters must be present and finite, results strictly typed.',
        perceive: { reject_none: true, reject_non_finite: true },
        operate: { retries: 2, timeout_s: 15 },
        enforce: { reject_non_finite: true },
        train: { algorithm: 'statistical' },
      }),
      define({
        name: 'healthcare',
        description: 'Clinical data: nothing missing or non-finite passes, results strictly typed, training off until reviewed.',
        perceive: { reject_none: true, reject_non_finite: true },
        operate: { retries: 2, timeout_s: 30 },
        enforce: { reject_non_finite: true },
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
