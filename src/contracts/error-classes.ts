// Kept free of zod: workflows import it through src/definitions/run-failures.ts.

/** What kind of thing went wrong: the caller's input, the function's validation, generating, deploying, or us. */
export const ERROR_CATEGORIES = ['input', 'validation', 'generation', 'deployment', 'system'] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/** How much an operator should care: `info` is the caller's to fix, `critical` pages someone. */
export const ERROR_SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type ErrorSeverity = (typeof ERROR_SEVERITIES)[number];

export interface ErrorClass {
  category: ErrorCategory;
  severity: ErrorSeverity;
}

/**
 * The class of an answer the API gives without a run behind it, from its status: refusals of the request are the
 * caller's (credentials and rate limits worth a look), unavailable dependencies are ours to watch, a 500 is a bug.
 */
export function classOfStatus(status: number): ErrorClass {
  if (status === 401 || status === 403 || status === 429) return { category: 'input', severity: 'warning' };
  if (status < 500) return { category: 'input', severity: 'info' };
  if (status === 503) return { category: 'system', severity: 'error' };
  return { category: 'system', severity: 'critical' };
}
