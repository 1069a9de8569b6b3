import {
  BrokenCircuitError,
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';

export interface BreakerSettings {
  /** Consecutive counted failures that open the circuit. */
  failures: number;
  /** Time an open circuit waits before it lets one trial call through (half-open). */
  halfOpenAfterMs: number;
}

export { BrokenCircuitError };

/**
 * One breaker per provider and worker process (cockatiel's ConsecutiveBreaker): `counts` decides which errors
 * speak about the provider's health; a request-specific refusal (context too long, content policy) does not.
 */
export function createBreaker(settings: BreakerSettings, counts: (error: Error) => boolean): CircuitBreakerPolicy {
  return circuitBreaker(handleWhen(counts), {
    halfOpenAfter: settings.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(settings.failures),
  });
}
