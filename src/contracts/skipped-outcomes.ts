// Kept free of zod at run time: workflows import it, and each workflow evaluates its imports afresh in the sandbox.
import type { AttemptOutcome } from './generation';

/** Outcomes of attempts that never reached the provider: no call, no tokens, no cost. */
export const SKIPPED_OUTCOMES = ['circuit_open', 'over_budget'] as const satisfies readonly AttemptOutcome[];
export const isSkipped = (outcome: string): boolean => (SKIPPED_OUTCOMES as readonly string[]).includes(outcome);
