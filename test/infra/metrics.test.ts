import { Metrics } from '../../src/infra/observability/metrics';
import { parsePrometheus, sampleValue } from '../helpers/prometheus';

const scrape = async (metrics: Metrics) => parsePrometheus((await metrics.exposition()).body);

describe('Metrics', () => {
  test('generation tokens and cost by provider and model; unknown providers and models become "other"', async () => {
    const metrics = new Metrics({
      domains: ['computation'],
      stages: ['generate'],
      providers: ['openai'],
      models: ['gpt-4o-mini'],
    });
    metrics.recordGeneration({
      provider: 'openai',
      model: 'gpt-4o-mini',
      inputTokens: 120,
      outputTokens: 30,
      costUsd: 0.0004,
    });
    metrics.recordGeneration({
      provider: 'openai',
      model: 'gpt-4o-mini',
      inputTokens: 80,
      outputTokens: 20,
      costUsd: 0.0002,
    });
    metrics.recordGeneration({
      provider: 'someone-new',
      model: 'a-model-per-request-1234',
      inputTokens: 5,
      outputTokens: 5,
      costUsd: 0.1,
    });

    const samples = await scrape(metrics);
    expect(
      sampleValue(samples, 'poet_llm_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', direction: 'input' }),
    ).toBe(200);
    expect(
      sampleValue(samples, 'poet_llm_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', direction: 'output' }),
    ).toBe(50);
    expect(sampleValue(samples, 'poet_generation_cost_dollars_total', { provider: 'openai' })).toBeCloseTo(0.0006, 10);
    expect(
      sampleValue(samples, 'poet_generation_cost_dollars_total', { provider: 'other', model: 'other' }),
    ).toBeCloseTo(0.1, 10);
    expect(samples.some((s) => Object.values(s.labels).some((v) => v.includes('someone') || v.includes('1234')))).toBe(
      false,
    );
  });

  test('circuit states are 0 closed, 1 half-open, 2 open per provider', async () => {
    const metrics = new Metrics({ domains: [], stages: [], providers: ['openai', 'groq'] });
    metrics.setCircuitState('openai', 'open');
    metrics.setCircuitState('groq', 'half_open');
    metrics.setCircuitState('groq', 'closed');
    const samples = await scrape(metrics);
    expect(sampleValue(samples, 'poet_circuit_breaker_state', { provider: 'openai' })).toBe(2);
    expect(sampleValue(samples, 'poet_circuit_breaker_state', { provider: 'groq' })).toBe(0);
  });

  test('readiness becomes poet_ready and one status per check', async () => {
    const metrics = new Metrics({ domains: [], stages: [] });
    metrics.recordReadiness({
      status: 'degraded',
      checks: { postgres: { status: 'ok' }, redis: { status: 'degraded' }, llm: { status: 'disabled' } },
    });
    let samples = await scrape(metrics);
    expect(sampleValue(samples, 'poet_ready')).toBe(1);
    expect(
      ['postgres', 'redis', 'llm'].map((check) => sampleValue(samples, 'poet_health_check_status', { check })),
    ).toEqual([1, 0.5, 1]);
    metrics.recordReadiness({ status: 'failing', checks: { postgres: { status: 'failing' } } });
    samples = await scrape(metrics);
    expect(sampleValue(samples, 'poet_ready')).toBe(0);
    expect(sampleValue(samples, 'poet_health_check_status', { check: 'postgres' })).toBe(0);
  });
});
