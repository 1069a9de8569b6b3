import { z } from 'zod';
import { ERROR_CATEGORIES, ERROR_SEVERITIES } from './error-classes';

/** Machine-readable error body of every 4xx/5xx answer. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    /** What kind of failure: input, validation, generation, deployment or system. */
    category: z.enum(ERROR_CATEGORIES),
    /** How much an operator should care: info, warning, error or critical. */
    severity: z.enum(ERROR_SEVERITIES),
    details: z.array(z.object({ path: z.string(), message: z.string() }).catchall(z.unknown())).optional(),
    run: z.object({ workflow_id: z.string(), run_id: z.string().optional() }).optional(),
    /** What failed beneath the answer, e.g. the database's fault class on `database_unavailable`. */
    fault: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
export type ErrorDetail = NonNullable<ErrorBody['error']['details']>[number];
