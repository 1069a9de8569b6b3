import { CircuitState as BreakerState, type CircuitBreakerPolicy } from 'cockatiel';
import type { Config } from '../../config';
import { BrokenCircuitError, createBreaker } from './circuit-breaker';
import { LlmError, LlmProvider, type ChatMessage, type Completion } from './provider';
import type { CircuitState } from '../observability/metrics';

interface Entry {
  provider: LlmProvider;
  breaker: CircuitBreakerPolicy;
}

/** The configured LLM providers in chain order, each behind its own circuit breaker (one per worker process). */
export class ProviderChain {
  private readonly entries = new Map<string, Entry>();

  constructor(
    config: Pick<
      Config,
      'llmProviders' | 'LLM_BREAKER_FAILURES' | 'LLM_BREAKER_HALF_OPEN_SECONDS' | 'LANGSMITH_API_KEY'
    >,
  ) {
    for (const settings of config.llmProviders) {
      const breaker = createBreaker(
        { failures: config.LLM_BREAKER_FAILURES, halfOpenAfterMs: config.LLM_BREAKER_HALF_OPEN_SECONDS * 1000 },
        (error) => !(error instanceof LlmError) || error.countsAgainstProvider,
      );
      this.entries.set(settings.name, {
        provider: new LlmProvider(settings, config.LANGSMITH_API_KEY !== undefined),
        breaker,
      });
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Each provider's circuit, for readiness and `poet_circuit_breaker_state` (an isolated circuit counts as open). */
  states(): Record<string, CircuitState> {
    const state = (breaker: CircuitBreakerPolicy): CircuitState =>
      breaker.state === BreakerState.Closed ? 'closed' : breaker.state === BreakerState.HalfOpen ? 'half_open' : 'open';
    return Object.fromEntries([...this.entries].map(([name, entry]) => [name, state(entry.breaker)]));
  }

  get(name: string): LlmProvider | undefined {
    return this.entries.get(name)?.provider;
  }

  /** A call through the provider's breaker; an open circuit rejects at once with kind 'circuit_open'. `signal` aborts the request. */
  async complete(name: string, messages: ChatMessage[], signal?: AbortSignal): Promise<Completion> {
    const entry = this.entries.get(name);
    if (!entry) throw new LlmError('not_found', `no LLM provider named ${name} is configured on this worker`, 0);
    try {
      return await entry.breaker.execute(() => entry.provider.complete(messages, signal));
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw new LlmError('circuit_open', `the circuit of provider ${name} is open after repeated failures`, 0);
      }
      throw err;
    }
  }
}
